import Crypto
import Foundation

/// Encoding and decoding of changeset files, format version 1.
///
/// The layout is specified in `Docs/FORMATS.md`:
///
/// ```
/// magic "SHCS\r\n\u{1A}\n" | version u16 | header length u32 | header
/// | zlib payload | signature block length u32 | signature block
/// | SHA-256 of every byte before it
/// ```
public enum ChangesetFile {
  /// The format version of a changeset that lists its dependencies in
  /// full: what every folder holds, and every Samhand reads.
  public static let formatVersion: UInt16 = 1
  /// The newest format version this Samhand reads and writes: version 2
  /// writes the dependencies as a change from the author's previous
  /// changeset (``DependencyDelta``), in folders of layout 5.
  public static let newestFormatVersion: UInt16 = 2
  /// The file name extension in `changesets/<office>/<seq>.changeset`.
  public static let fileExtension = "changeset"
  static let magic: [UInt8] = Array("SHCS\r\n".utf8) + [0x1A, 0x0A]
  /// No changeset payload may inflate to more than this (64 MiB): a file
  /// is read, checked and inflated whole, and a reader must stay within a
  /// few hundred megabytes whatever the folder holds. Writers refuse a
  /// transaction whose payload would be larger.
  public static let maximumPayloadSize = 64 * 1024 * 1024
  /// No changeset may hold more edits than this. An edit takes about 100
  /// bytes in memory but as few as 3 in a payload, so without a limit a
  /// small hostile file could make a reader allocate gigabytes.
  public static let maximumEditCount = 2_000_000
  static let digestSize = 32

  /// The file name of a changeset: its sequence number, zero-padded to 12 digits.
  public static func fileName(sequence: UInt64) -> String {
    let digits = String(sequence)
    return String(repeating: "0", count: max(0, 12 - digits.count)) + digits + "." + fileExtension
  }

  /// The sequence number in a changeset file name, or nil when the name is not one Samhand writes.
  public static func sequence(fromFileName name: String) -> UInt64? {
    let bytes = Array(name.utf8)
    let suffix = Array(("." + fileExtension).utf8)
    guard bytes.count == 12 + suffix.count, Array(bytes[12...]) == suffix else { return nil }
    guard bytes[0..<12].allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
    guard let value = UInt64(String(decoding: bytes[0..<12], as: UTF8.self)), value > 0 else { return nil }
    return value
  }

  // MARK: - Encoding

  /// Encodes a changeset as the bytes of its file, signed by `key`: the
  /// signature covers every byte before the signature block and is
  /// written there with the public key as its key id. Any signatures
  /// the changeset carried are replaced.
  public static func encode(_ changeset: Changeset, signedBy key: SigningKey) -> [UInt8] {
    signed(changeset, by: key).bytes
  }

  /// Encodes and signs a changeset for a folder of layout 5, in format 2
  /// when writing its dependencies against `base` is smaller: `base` is
  /// the author's promise at its previous changeset (that changeset's
  /// dependencies with the author's entry at its number). Writers that
  /// sign and drop changesets (simulations, benchmarks) keep it.
  public static func encode(_ changeset: Changeset, signedBy key: SigningKey, base: VersionVector?) -> [UInt8] {
    signed(changeset, by: key, base: base).bytes
  }

  /// Encodes and signs a changeset with its payload sealed with a group
  /// key (an encrypted folder, `Docs/FORMATS.md` §15): for writers that sign
  /// and drop changesets, and for tests of what readers make of them.
  package static func encode(
    _ changeset: Changeset, signedBy key: SigningKey, base: VersionVector?, sealedWith groupKey: GroupKey?
  ) -> [UInt8] {
    signed(changeset, by: key, base: base, sealedWith: groupKey).bytes
  }

  /// The changeset with `key`'s signature, and its file's bytes.
  ///
  /// - Parameter base: the author's promise at its previous changeset; when
  ///   given, the file is written in format 2 if that is smaller.
  static func signed(
    _ changeset: Changeset, by key: SigningKey, base: VersionVector? = nil, sealedWith groupKey: GroupKey? = nil
  ) -> (changeset: Changeset, bytes: [UInt8]) {
    var copy = changeset
    copy.signatures = []
    let bytes = encode(copy, base: base, sealedWith: groupKey)
    // The unsigned file ends with an empty signature block (4 + 1 bytes) and the digest.
    let signed = bytes[0..<(bytes.count - digestSize - 5)]
    copy.signatures = [Changeset.Signature(keyID: key.publicKey.hex, bytes: key.sign(signed))]
    return (copy, Array(signed) + encodeTrailer(copy.signatures, after: signed))
  }

  /// The signature block and the digest that follow `prefix`.
  private static func encodeTrailer(_ list: [Changeset.Signature], after prefix: ArraySlice<UInt8>) -> [UInt8] {
    var signatures = BinaryWriter()
    signatures.varint(UInt64(list.count))
    for signature in list {
      signatures.string(signature.keyID)
      signatures.varint(UInt64(signature.bytes.count))
      signatures.raw(signature.bytes)
    }
    var trailer = BinaryWriter()
    trailer.uint32(UInt32(signatures.bytes.count))
    trailer.raw(signatures.bytes)
    var digest = SHA256()
    digest.update(data: prefix)
    digest.update(data: trailer.bytes)
    trailer.raw(digest.finalize())
    return trailer.bytes
  }

  /// Encodes a changeset as the bytes of its file, with the signatures it carries.
  public static func encode(_ changeset: Changeset) -> [UInt8] {
    encode(changeset, base: nil)
  }

  /// Encodes a changeset, in format 2 when `base` is given (the author's
  /// promise at its previous changeset: its dependencies, with its own
  /// entry at that number) and writing the dependencies against it is
  /// smaller than listing them; otherwise in format 1.
  package static func encode(_ changeset: Changeset, base: VersionVector?, sealedWith groupKey: GroupKey? = nil) -> [UInt8] {
    var payload = BinaryWriter()
    encodeEdits(changeset.edits, to: &payload)
    var compressed = Zlib.deflate(payload.bytes)

    var header = BinaryWriter()
    // Flags bit 0: the payload is sealed with the group key named next.
    header.varint(groupKey == nil ? 0 : 1)
    if let groupKey { header.raw(groupKey.id.rawValue) }
    header.string(changeset.storeID.rawValue)
    header.string(changeset.author.rawValue)
    header.varint(changeset.sequence)
    header.varint(changeset.lamport)
    header.signed(changeset.timestamp)
    var full = BinaryWriter()
    writeDependencies(changeset.dependencies, to: &full)
    var version = formatVersion
    if let base, changeset.sequence > 1, base[changeset.author] == changeset.sequence - 1,
      let delta = DependencyDelta(base: base, dependencies: changeset.dependencies)
    {
      var written = BinaryWriter()
      delta.encode(to: &written)
      if written.bytes.count < full.bytes.count {
        version = 2
        full = written
      }
    }
    header.raw(full.bytes)
    if let groupKey {
      // The seal authenticates the magic, the version and the header up to here.
      compressed = groupKey.seal(compressed, authenticating: magic + [UInt8(version >> 8), UInt8(version & 0xFF)] + header.bytes)
    }
    header.varint(UInt64(payload.bytes.count))
    header.varint(UInt64(compressed.count))
    // Sealed, the hash is of the sealed bytes: one of the plaintext would
    // let anyone test a guess of what a changeset says.
    header.raw(SHA256.hash(data: groupKey == nil ? payload.bytes : compressed))

    var file = BinaryWriter()
    file.raw(magic)
    file.uint16(version)
    file.uint32(UInt32(header.bytes.count))
    file.raw(header.bytes)
    file.raw(compressed)
    return file.bytes + encodeTrailer(changeset.signatures, after: file.bytes[...])
  }

  /// The bytes a signature covers: everything before the signature block
  /// (magic, version, header and compressed payload).
  public static func signedBytes(of bytes: [UInt8]) throws -> ArraySlice<UInt8> {
    try open(bytes).signedBytes
  }

  /// Dependencies as format 1 lists them: a count, then each slug and counter.
  static func writeDependencies(_ vector: VersionVector, to out: inout BinaryWriter) {
    let entries = vector.sorted
    out.varint(UInt64(entries.count))
    for entry in entries {
      out.string(entry.replica.rawValue)
      out.varint(entry.counter)
    }
  }

  package static func encodeEdits(_ edits: [Edit]) -> [UInt8] {
    var writer = BinaryWriter()
    encodeEdits(edits, to: &writer)
    return writer.bytes
  }

  static func encodeEdits(_ edits: [Edit], to out: inout BinaryWriter) {
    out.varint(UInt64(edits.count))
    for operation in edits {
      switch operation {
      case .set(let record, let field, let value):
        out.byte(1); writeRecord(record, &out); out.string(field); encodeValue(value, to: &out)
      case .add(let record, let field, let element):
        out.byte(2); writeRecord(record, &out); out.string(field); out.string(element)
      case .remove(let record, let field, let element):
        out.byte(3); writeRecord(record, &out); out.string(field); out.string(element)
      case .put(let record, let field, let key, let value):
        out.byte(4); writeRecord(record, &out); out.string(field); out.string(key); encodeValue(value, to: &out)
      case .removeKey(let record, let field, let key):
        out.byte(5); writeRecord(record, &out); out.string(field); out.string(key)
      case .touch(let record):
        out.byte(6); writeRecord(record, &out)
      case .delete(let record):
        out.byte(7); writeRecord(record, &out)
      }
    }
  }

  private static func writeRecord(_ record: RecordRef, _ out: inout BinaryWriter) {
    out.string(record.collection)
    out.string(record.id)
  }

  static func encodeValue(_ value: Value, to out: inout BinaryWriter) {
    switch value {
    case .null: out.byte(0)
    case .bool(let flag): out.byte(flag ? 2 : 1)
    case .integer(let integer): out.byte(3); out.signed(integer)
    case .number(let double): out.byte(4); out.raw(withUnsafeBytes(of: double.bitPattern.bigEndian, Array.init))
    case .text(let text): out.byte(5); out.string(text)
    case .date(let day): out.byte(6); out.varint(UInt64(day.year * 10000 + day.month * 100 + day.day))
    }
  }

  // MARK: - Decoding

  /// What a file claims about itself, read without inflating the payload.
  public struct Header: Hashable, Sendable {
    /// The file's format version.
    public var formatVersion: UInt16
    /// The store the changeset belongs to.
    public var storeID: StoreID
    /// The office that wrote the changeset.
    public var author: ReplicaID
    /// The changeset's sequence number among its author's changesets.
    public var sequence: UInt64
    /// The changeset's Lamport stamp.
    public var lamport: UInt64
    /// Wall-clock time of the commit, in milliseconds since 1970.
    public var timestamp: Int64
    /// The author's version vector when it wrote: what the changeset
    /// depends on. For a format 2 file not yet resolved
    /// (``dependenciesResolved`` false), only what the file names without
    /// its base: the author's previous changeset and the offices the base
    /// lacks, a lower bound.
    public var dependencies: VersionVector
    /// The dependencies as a format 2 file writes them, against the
    /// author's previous changeset; nil in format 1.
    public var dependencyDelta: DependencyDelta?
    /// Whether ``dependencies`` is the whole vector: always in format 1,
    /// once resolved against its base in format 2.
    public var dependenciesResolved: Bool
    /// The size of the payload once inflated, in bytes.
    public var payloadSize: Int
    /// The size of the compressed payload in the file, in bytes.
    public var compressedSize: Int
    /// The signatures in the file's signature block (none before trust is set up).
    public var signatures: [Changeset.Signature]
    /// The group key the payload is sealed with, in a file of an encrypted
    /// folder (flags bit 0); nil for a payload in plain form.
    public var keyID: GroupKeyID?
    /// Where the bytes the seal authenticates end: the header up to its payload size.
    var sealContextEnd: Int = 0
  }

  /// Decodes and verifies a changeset file.
  ///
  /// - Throws: `SamhandError.corruptChangeset` for a truncated or damaged
  ///   file, `SamhandError.unsupportedFormat` for an unknown version; the
  ///   error carries the byte offset where decoding failed.
  public static func decode(_ bytes: [UInt8], fileURL: URL? = nil, keys: GroupKeyring = .empty) throws -> Changeset {
    try open(bytes, fileURL: fileURL).changeset(fileURL: fileURL, keys: keys)
  }

  /// The error for a sealed payload whose group key is not held.
  static func missingKey(_ keyID: GroupKeyID, header: Header, fileURL: URL?) -> SamhandError {
    SamhandError(
      .missingKey,
      "sealed with group key \(keyID.hex.prefix(12)), which this store does not hold (yet): it is read once an administrator has given this office the key",
      changesetID: Changeset.ID(author: header.author, sequence: header.sequence), fileURL: fileURL)
  }

  /// Checks a file's checksum and reads its header, without inflating the
  /// payload: what a reader needs to check the signature and the author
  /// before spending memory on the payload.
  ///
  /// - Throws: as ``decode(_:fileURL:)`` for the header.
  public static func open(_ bytes: [UInt8], fileURL: URL? = nil) throws -> ChangesetEnvelope {
    let (header, payloadRange) = try ImportProfile.measure(.verifying) { try decodeHeader(bytes, fileURL: fileURL) }
    return ChangesetEnvelope(header: header, bytes: bytes, payloadRange: payloadRange)
  }

  /// Opens (when sealed), inflates and decodes the payload of a file whose header was read.
  static func decodePayload(_ envelope: ChangesetEnvelope, fileURL: URL?, keys: GroupKeyring) throws -> Changeset {
    let header = envelope.header, bytes = envelope.bytes, payloadRange = envelope.payloadRange
    func corrupt(_ message: String, _ offset: Int?) -> SamhandError {
      SamhandError(
        .corruptChangeset, message,
        changesetID: Changeset.ID(author: header.author, sequence: header.sequence),
        fileURL: fileURL, offset: offset)
    }
    guard header.payloadSize <= maximumPayloadSize else {
      throw SamhandError(
        .tooLarge, "payload of \(header.payloadSize) bytes is over the limit of \(maximumPayloadSize) bytes: not inflated",
        changesetID: Changeset.ID(author: header.author, sequence: header.sequence), fileURL: fileURL,
        offset: payloadRange.lowerBound)
    }
    let digestStart = payloadRange.lowerBound - digestSize
    var compressed = bytes[payloadRange]
    if let keyID = header.keyID {
      guard Array(SHA256.hash(data: compressed)) == Array(bytes[digestStart..<payloadRange.lowerBound]) else {
        throw corrupt("sealed payload checksum does not match", digestStart)
      }
      guard let key = keys[keyID] else { throw ChangesetFile.missingKey(keyID, header: header, fileURL: fileURL) }
      guard let opened = key.open(compressed, authenticating: envelope.sealContext) else {
        throw corrupt("the payload does not open with group key \(keyID.hex.prefix(12)): altered, or sealed by someone without the key", payloadRange.lowerBound)
      }
      compressed = opened[...]
    }
    let payload: [UInt8]
    do {
      let start = ImportProfile.now()
      payload = try Zlib.inflate(compressed, expectedSize: header.payloadSize)
      ImportProfile.add(.inflating, since: start)
    } catch {
      throw corrupt(error.message, payloadRange.lowerBound)
    }
    if header.keyID == nil {
      let digest = ImportProfile.measure(.verifying) { Array(SHA256.hash(data: payload)) }
      guard digest == Array(bytes[digestStart..<payloadRange.lowerBound]) else {
        throw corrupt("payload checksum does not match", digestStart)
      }
    }
    var reader = BinaryReader(payload)
    let edits: [Edit]
    do throws(BinaryReader.Failure) {
      let start = ImportProfile.now()
      edits = try decodeEdits(&reader)
      ImportProfile.add(.decoding, since: start)
      guard reader.isAtEnd else {
        throw BinaryReader.Failure(message: "\(reader.remaining) stray bytes after the operations", offset: reader.offset)
      }
    } catch {
      throw corrupt("payload: \(error.message)", error.offset)
    }
    var changeset = Changeset(
      storeID: header.storeID, author: header.author, sequence: header.sequence,
      dependencies: header.dependencies, lamport: header.lamport, timestamp: header.timestamp,
      edits: edits)
    changeset.signatures = header.signatures
    return changeset
  }

  /// The header bytes and the inflated payload of a file: what must stay
  /// byte-identical for a format version, whatever zlib compresses to.
  package static func sections(_ bytes: [UInt8]) throws -> [[UInt8]] {
    let (header, payloadRange) = try decodeHeader(bytes)
    let payload = try Zlib.inflate(bytes[payloadRange], expectedSize: header.payloadSize)
    return [Array(bytes[0..<payloadRange.lowerBound]), payload]
  }

  /// Verifies the whole-file checksum and reads the header.
  ///
  /// - Returns: the header and the byte range of the compressed payload.
  public static func decodeHeader(_ bytes: [UInt8], fileURL: URL? = nil) throws -> (Header, Range<Int>) {
    func corrupt(_ message: String, _ offset: Int?) -> SamhandError {
      SamhandError(.corruptChangeset, message, fileURL: fileURL, offset: offset)
    }
    let fixed = magic.count + 2 + 4
    guard bytes.count >= fixed + digestSize else {
      throw corrupt(bytes.isEmpty ? "empty file" : "file is too short (\(bytes.count) bytes) to be a changeset", bytes.count)
    }
    guard Array(bytes[0..<magic.count]) == magic else {
      throw corrupt("not a Samhand changeset (wrong magic bytes)", 0)
    }
    var reader = BinaryReader(bytes, from: magic.count, to: bytes.count - digestSize)
    do {
      let version = try reader.uint16()
      let digest = Array(SHA256.hash(data: bytes[0..<(bytes.count - digestSize)]))
      let sealed = digest == Array(bytes[(bytes.count - digestSize)...])
      guard version == formatVersion || version == newestFormatVersion else {
        // A whole file of a newer version is refused as such; damage to the
        // version bytes (or a torn newer file) shows in the checksum.
        guard sealed else {
          throw corrupt(
            "file checksum does not match and its format version \(version) is unknown: damaged, or still being written",
            magic.count)
        }
        throw SamhandError(
          .unsupportedFormat,
          "changeset format version \(version) is not supported (this Samhand reads versions \(formatVersion) and \(newestFormatVersion)); upgrade Samhand to read it",
          fileURL: fileURL, offset: magic.count)
      }
      guard sealed else {
        throw corrupt("file checksum does not match: truncated, still being written, or damaged", bytes.count - digestSize)
      }
      let headerLength = Int(try reader.uint32())
      let headerStart = reader.offset
      guard headerLength <= reader.remaining else {
        throw corrupt("header length \(headerLength) exceeds the file", headerStart - 4)
      }
      var header = BinaryReader(bytes, from: headerStart, to: headerStart + headerLength)
      let flags = try header.varint()
      guard flags & ~1 == 0 else {
        throw SamhandError(
          .unsupportedFormat, "changeset uses flags \(flags) that this Samhand does not know; upgrade Samhand to read it",
          fileURL: fileURL, offset: headerStart)
      }
      let keyID = flags & 1 == 1 ? GroupKeyID(rawValue: Array(try header.take(16))) : nil
      let storeText = try header.string()
      guard let storeID = StoreID(rawValue: storeText) else {
        throw corrupt("invalid store id '\(storeText)'", headerStart)
      }
      let authorText = try header.string()
      guard let author = ReplicaID(rawValue: authorText) else {
        throw corrupt("invalid author slug '\(authorText)'", headerStart)
      }
      let sequence = try header.varint()
      guard sequence > 0 else { throw corrupt("sequence number 0 is not allowed", header.offset) }
      let lamport = try header.varint()
      let timestamp = try header.signed()
      var dependencyDelta: DependencyDelta?
      var dependencies: VersionVector
      if version == 2 {
        let at = header.offset
        guard sequence > 1 else { throw corrupt("changeset \(author)#1 has no previous changeset to write its dependencies against", at) }
        let delta = try DependencyDelta.decode(&header)
        guard !delta.added.contains(where: { $0.replica == author }) else {
          throw corrupt("changeset \(author)#\(sequence) names its own author among the offices its base lacks", at)
        }
        dependencyDelta = delta
        dependencies = delta.lowerBound(author: author, sequence: sequence)
      } else {
        dependencies = try decodeDependencies(&header, corrupt)
        guard dependencies[author] == sequence - 1 else {
          throw corrupt(
            "changeset \(author)#\(sequence) must depend on its author's previous changeset \(sequence - 1), found \(dependencies[author])",
            headerStart)
        }
      }
      let sealContextEnd = header.offset
      let payloadSize = try header.varint()
      let compressedSize = try header.varint()
      _ = try header.take(digestSize)
      guard header.isAtEnd else { throw corrupt("\(header.remaining) stray bytes in the header", header.offset) }
      let payloadStart = headerStart + headerLength
      guard compressedSize <= UInt64(bytes.count - digestSize - payloadStart) else {
        throw corrupt("compressed payload of \(compressedSize) bytes exceeds the file", payloadStart)
      }
      let payloadEnd = payloadStart + Int(compressedSize)
      var trailer = BinaryReader(bytes, from: payloadEnd, to: bytes.count - digestSize)
      let signatureLength = Int(try trailer.uint32())
      guard signatureLength == trailer.remaining else {
        throw corrupt("signature block is \(trailer.remaining) bytes, its length says \(signatureLength)", payloadEnd)
      }
      var signatures: [Changeset.Signature] = []
      for _ in 0..<(try trailer.count(minimumSize: 2)) {
        let keyID = try trailer.string()
        let length = try trailer.count()
        signatures.append(Changeset.Signature(keyID: keyID, bytes: Array(try trailer.take(length))))
      }
      guard trailer.isAtEnd else { throw corrupt("stray bytes in the signature block", trailer.offset) }
      // zlib cannot expand by more than about 1032 to 1.
      // The limit itself (maximumPayloadSize) is checked before inflating:
      // a signed file over it is its author's, rejected alike everywhere.
      guard payloadSize <= compressedSize * 1100 + 64 else {
        throw corrupt("payload size \(payloadSize) is impossible for \(compressedSize) compressed bytes", payloadStart)
      }
      let result = Header(
        formatVersion: version, storeID: storeID, author: author, sequence: sequence, lamport: lamport,
        timestamp: timestamp, dependencies: dependencies, dependencyDelta: dependencyDelta,
        dependenciesResolved: dependencyDelta == nil, payloadSize: Int(payloadSize),
        compressedSize: Int(compressedSize), signatures: signatures, keyID: keyID, sealContextEnd: sealContextEnd)
      return (result, payloadStart..<payloadEnd)
    } catch let failure as BinaryReader.Failure {
      throw corrupt("header: \(failure.message)", failure.offset)
    }
  }

  /// Dependencies as format 1 lists them, checked: slugs valid, strictly
  /// ascending, counters above zero.
  static func decodeDependencies(
    _ header: inout BinaryReader, _ corrupt: (String, Int?) -> SamhandError
  ) throws -> VersionVector {
    let dependencyCount = try header.count(minimumSize: 2)
    var entries: [VersionVector.Entry] = []
    entries.reserveCapacity(dependencyCount)
    var previous: ReplicaID?
    for _ in 0..<dependencyCount {
      let at = header.offset
      let slug = try header.string()
      guard let replica = ReplicaID(rawValue: slug) else { throw corrupt("invalid slug '\(slug)' in dependencies", at) }
      if let previous, !(previous < replica) { throw corrupt("dependencies are not sorted or repeat '\(slug)'", at) }
      previous = replica
      let counter = try header.varint()
      guard counter > 0 else { throw corrupt("dependency on '\(slug)' is zero", at) }
      entries.append(VersionVector.Entry(replica: replica, counter: counter))
    }
    return VersionVector(sortedPositive: entries)
  }

  static func decodeEdits(_ reader: inout BinaryReader) throws(BinaryReader.Failure) -> [Edit] {
    let countOffset = reader.offset
    let count = try reader.count(minimumSize: 3)
    guard count <= maximumEditCount else {
      throw BinaryReader.Failure(message: "\(count) edits exceed the limit of \(maximumEditCount)", offset: countOffset)
    }
    var edits: [Edit] = []
    edits.reserveCapacity(min(count, 4096))
    for _ in 0..<count {
      let at = reader.offset
      let tag = try reader.byte()
      let record = RecordRef(try reader.string(), try reader.string())
      switch tag {
      case 1: edits.append(.set(record, field: try reader.string(), value: try decodeValue(&reader)))
      case 2: edits.append(.add(record, field: try reader.string(), element: try reader.string()))
      case 3: edits.append(.remove(record, field: try reader.string(), element: try reader.string()))
      case 4:
        edits.append(
          .put(record, field: try reader.string(), key: try reader.string(), value: try decodeValue(&reader)))
      case 5: edits.append(.removeKey(record, field: try reader.string(), key: try reader.string()))
      case 6: edits.append(.touch(record))
      case 7: edits.append(.delete(record))
      default: throw BinaryReader.Failure(message: "unknown operation tag \(tag)", offset: at)
      }
    }
    return edits
  }

  static func decodeValue(_ reader: inout BinaryReader) throws(BinaryReader.Failure) -> Value {
    let at = reader.offset
    switch try reader.byte() {
    case 0: return .null
    case 1: return .bool(false)
    case 2: return .bool(true)
    case 3: return .integer(try reader.signed())
    case 4:
      var bits: UInt64 = 0
      for byte in try reader.take(8) { bits = bits << 8 | UInt64(byte) }
      let double = Double(bitPattern: bits)
      guard double.isFinite else { throw BinaryReader.Failure(message: "number is not finite", offset: at) }
      return .number(double)
    case 5: return .text(try reader.string())
    case 6:
      let packed = try reader.varint()
      guard packed <= 99_991_231,
        let day = Day(year: Int(packed / 10000), month: Int(packed / 100 % 100), day: Int(packed % 100))
      else { throw BinaryReader.Failure(message: "invalid date \(packed)", offset: at) }
      return .date(day)
    case let tag: throw BinaryReader.Failure(message: "unknown value tag \(tag)", offset: at)
    }
  }
}

/// A changeset file whose checksum and header have been read and checked,
/// and whose payload is not inflated yet.
///
/// Readers judge a file by its envelope first (its author, number,
/// dependencies and signature), and inflate the payload only for a file
/// that is worth it: a forged or unsigned file costs no more than its size.
public struct ChangesetEnvelope: Sendable {
  /// What the header says.
  public internal(set) var header: ChangesetFile.Header
  /// The whole file.
  public let bytes: [UInt8]
  /// Where the compressed payload lies in ``bytes``.
  let payloadRange: Range<Int>

  /// The changeset's id, from the header.
  public var id: Changeset.ID { Changeset.ID(author: header.author, sequence: header.sequence) }

  /// The bytes a signature covers: everything before the signature block.
  var signedBytes: ArraySlice<UInt8> { bytes[0..<payloadRange.upperBound] }

  /// The envelope with its dependencies whole: for a format 2 file,
  /// resolved against `base`, the author's promise at its previous
  /// changeset (its dependencies, with its own entry at that number).
  ///
  /// - Throws: `SamhandError.corruptChangeset` when the file was written
  ///   against another base (the digest differs) or does not depend on
  ///   its author's previous changeset.
  public func resolved(against base: VersionVector, fileURL: URL? = nil) throws -> ChangesetEnvelope {
    guard let delta = header.dependencyDelta, !header.dependenciesResolved else { return self }
    func corrupt(_ message: String) -> SamhandError {
      SamhandError(.corruptChangeset, message, changesetID: id, fileURL: fileURL)
    }
    let dependencies: VersionVector
    do throws(BinaryReader.Failure) {
      dependencies = try delta.resolve(base: base)
    } catch {
      throw corrupt(error.message)
    }
    guard dependencies[header.author] == header.sequence - 1 else {
      throw corrupt(
        "changeset \(id) must depend on its author's previous changeset \(header.sequence - 1), found \(dependencies[header.author])")
    }
    var copy = self
    copy.header.dependencies = dependencies
    copy.header.dependenciesResolved = true
    return copy
  }

  /// Inflates and decodes the payload.
  ///
  /// - Throws: `SamhandError.corruptChangeset` for a payload that does not
  ///   inflate to its size and hash, or does not decode.
  public func changeset(fileURL: URL? = nil, keys: GroupKeyring = .empty) throws -> Changeset {
    try ChangesetFile.decodePayload(self, fileURL: fileURL, keys: keys)
  }

  /// What the seal of a sealed payload authenticates: the magic, the
  /// version and the header up to the payload size.
  var sealContext: [UInt8] {
    Array(bytes[0..<(ChangesetFile.magic.count + 2)]) + Array(bytes[(ChangesetFile.magic.count + 6)..<header.sealContextEnd])
  }
}
