import Crypto
import Foundation
import GRDB

/// The merge state at a frontier: what a new office loads instead of
/// replaying every changeset in it.
///
/// A checkpoint holds the rows of the merge state (entries, markers, the
/// roster changes and the facts the rights check reads) exactly as a
/// replica that applied the changesets of `frontier` and nothing else
/// holds them, less the tombstones every office has seen. It is a pure
/// function of that set of changesets: two offices that write a
/// checkpoint at the same frontier write the same bytes. Who wrote it is
/// in a separate signature file (``CheckpointSignature``).
///
/// The layout (format 1) is specified in `Docs/FORMATS.md` §10:
///
/// ```
/// magic "SHCP\r\n\u{1A}\n" | version u16 | header length u32 | header
/// | zlib payload | SHA-256 of every byte before it
/// ```
public struct Checkpoint: Sendable, Hashable {
  /// The checkpoint format version this Samhand writes; newer ones are refused.
  public static let formatVersion: UInt16 = 1
  /// The file name extension in `checkpoints/<office>/<name>.checkpoint`.
  public static let fileExtension = "checkpoint"
  static let magic: [UInt8] = Array("SHCP\r\n".utf8) + [0x1A, 0x0A]
  /// No checkpoint payload may inflate to more than this: twice what a
  /// changeset may hold, about 2.5 million records of the planning schema.
  static let maximumPayloadSize = 512 * 1024 * 1024
  /// The largest checkpoint file read from a folder (256 MiB): one for
  /// hundreds of thousands of records is tens of megabytes.
  static let maximumFileSize = 256 * 1024 * 1024

  /// The store the checkpoint belongs to.
  public var storeID: StoreID
  /// The changesets whose state it holds.
  public var frontier: VersionVector
  /// The highest Lamport stamp among them.
  public var lamport: UInt64
  /// The latest wall-clock time among them (milliseconds since 1970), for display.
  public var timestamp: Int64
  /// SHA-256 (hex) of the canonical snapshot at `frontier`.
  public var snapshotHash: String
  /// For each office with changesets in `frontier`: what every changeset
  /// it writes after them has seen (the dependencies of its last one,
  /// and that one). A tombstone all active offices have seen is purged.
  public var promises: [ReplicaID: VersionVector]
  /// The uncompressed payload: the promises, then the tables. Rows are
  /// read from it as they are needed, one at a time, so that a checkpoint
  /// of a large store is never held in memory as millions of values.
  private(set) var payload: [UInt8]
  /// Where each table's rows start in the payload, and how many there are.
  private var tableRows: [(start: Int, count: Int)]
  /// In an encrypted folder, the group key the file's payload is sealed
  /// with: the one in force in the roster at ``frontier``, so that every
  /// office writes the same bytes. Nil in a folder in plain form.
  public var groupKey: GroupKey?

  /// The rows of the merge state, table by table, in the order of
  /// ``Checkpoint/tables``, all at once (for tests and small tables).
  package var rows: [[[DatabaseValue]]] {
    get { (0..<Checkpoint.tables.count).map { table in rows(ofTable: table) } }
    set { (payload, tableRows) = Checkpoint.encodePayload(promises: promises, rows: newValue) }
  }

  /// One table's rows, all at once.
  func rows(ofTable table: Int) -> [[DatabaseValue]] {
    var rows: [[DatabaseValue]] = []
    rows.reserveCapacity(tableRows[table].count)
    forEachRow(ofTable: table) { rows.append($0) }
    return rows
  }

  /// Calls `body` with each row of a table, in order.
  func forEachRow(ofTable table: Int, _ body: ([DatabaseValue]) throws -> Void) rethrows {
    var reader = BinaryReader(payload, from: tableRows[table].start)
    let columns = Checkpoint.tables[table].columns.count
    var row: [DatabaseValue] = []
    row.reserveCapacity(columns)
    for _ in 0..<tableRows[table].count {
      row.removeAll(keepingCapacity: true)
      // Checked when the checkpoint was read or made: it cannot fail here.
      for _ in 0..<columns { row.append((try? Checkpoint.readValue(&reader)) ?? .null) }
      try body(row)
    }
  }

  /// Whether two checkpoints hold the same: the same header and payload.
  public static func == (lhs: Checkpoint, rhs: Checkpoint) -> Bool {
    lhs.storeID == rhs.storeID && lhs.frontier == rhs.frontier && lhs.lamport == rhs.lamport
      && lhs.timestamp == rhs.timestamp && lhs.snapshotHash == rhs.snapshotHash && lhs.payload == rhs.payload
  }

  /// Hashes the frontier and the payload.
  public func hash(into hasher: inout Hasher) {
    hasher.combine(frontier)
    hasher.combine(payload)
  }

  /// The tables a checkpoint holds and their columns, in order. The merge
  /// state travels as the rows of the store format 5 tables it replaced
  /// (`owner_facts`, `markers`, `entries`), so that checkpoints do not
  /// depend on how a store keeps them (``Store/dumpState(promises:_:)``).
  /// `base_times` holds the wall-clock time of every changeset that wrote
  /// a marker or entry still held: conflicts show it. `roster_files` holds
  /// the signed changeset file of every roster change, so that a reader
  /// checks the roster from signatures rather than taking the checkpoint's
  /// word for it.
  static let tables: [(name: String, columns: [String])] = [
    ("roster_changes", ["author", "seq", "lamport", "edits"]),
    ("owner_facts", ["collection", "record", "field", "value", "op", "author", "counter"]),
    ("markers", ["collection", "record", "author", "counter", "lamport", "deleted", "context"]),
    ("entries", ["collection", "record", "field", "key", "author", "counter", "lamport", "value", "shadow"]),
    ("base_times", ["author", "seq", "wall"]),
    ("roster_files", ["author", "seq", "bytes"]),
  ]

  /// The index of a table in ``tables``.
  static func tableIndex(_ name: String) -> Int { tables.firstIndex { $0.name == name }! }

  /// The file name: how many changesets it covers (zero-padded, so names
  /// sort by age) and a digest of its frontier. Every office names a
  /// checkpoint at a given frontier alike.
  public var fileName: String { Checkpoint.fileName(frontier: frontier) }

  /// The file name of a checkpoint at `frontier`.
  static func fileName(frontier: VersionVector) -> String {
    let total = String(frontier.total)
    let digest = Data(SHA256.hash(data: Store.encodeVector(frontier))).hexString.prefix(16)
    return String(repeating: "0", count: max(0, 12 - total.count)) + total + "-" + digest + "." + Checkpoint.fileExtension
  }

  /// How many changesets a checkpoint file name says it covers, or nil
  /// when the name is not one Samhand writes.
  static func total(fromFileName name: String) -> UInt64? {
    let bytes = Array(name.utf8)
    let suffix = Array(("." + fileExtension).utf8)
    guard bytes.count == 12 + 1 + 16 + suffix.count, Array(bytes[29...]) == suffix, bytes[12] == UInt8(ascii: "-"),
      bytes[0..<12].allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
      bytes[13..<29].allSatisfy({ ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "f")) })
    else { return nil }
    return UInt64(String(decoding: bytes[0..<12], as: UTF8.self))
  }

  /// How many rows the checkpoint holds, by table.
  public var rowCounts: [String: Int] {
    Dictionary(uniqueKeysWithValues: zip(Checkpoint.tables.map(\.name), tableRows.map(\.count)))
  }

  // MARK: - Encoding

  /// The bytes of the checkpoint file.
  public var bytes: [UInt8] {
    var compressed = Zlib.deflate(payload)

    var header = BinaryWriter()
    // Flags bit 0: the payload is sealed with the group key named next.
    header.varint(groupKey == nil ? 0 : 1)
    if let groupKey { header.raw(groupKey.id.rawValue) }
    header.string(storeID.rawValue)
    Checkpoint.writeVector(frontier, to: &header)
    header.varint(lamport)
    header.signed(timestamp)
    header.raw(PublicKey.bytes(hex: snapshotHash) ?? [UInt8](repeating: 0, count: 32))
    if let groupKey {
      // Sealed with a nonce derived from the key and the bytes: the same
      // checkpoint gives the same file on every office.
      compressed = groupKey.seal(
        compressed, authenticating: Checkpoint.magic + [0, UInt8(Checkpoint.formatVersion)] + header.bytes, deterministic: true)
    }
    header.varint(UInt64(payload.count))
    header.varint(UInt64(compressed.count))
    header.raw(SHA256.hash(data: groupKey == nil ? payload : compressed))

    var file = BinaryWriter()
    file.raw(Checkpoint.magic)
    file.uint16(Checkpoint.formatVersion)
    file.uint32(UInt32(header.bytes.count))
    file.raw(header.bytes)
    file.raw(compressed)
    file.raw(SHA256.hash(data: file.bytes))
    return file.bytes
  }

  /// The payload of given promises and rows, and where each table's rows start.
  static func encodePayload(promises: [ReplicaID: VersionVector], rows: [[[DatabaseValue]]]) -> ([UInt8], [(start: Int, count: Int)]) {
    var writer = PayloadWriter(promises: promises)
    for (index, tableRows) in rows.enumerated() {
      writer.beginTable(index, rows: tableRows.count)
      for row in tableRows { writer.append(row) }
    }
    return writer.finish()
  }

  /// Writes a payload table by table, row by row.
  struct PayloadWriter {
    private var out = BinaryWriter()
    private var starts: [(start: Int, count: Int)] = []

    init(promises: [ReplicaID: VersionVector]) {
      let offices = promises.keys.sorted()
      out.varint(UInt64(offices.count))
      for office in offices {
        out.string(office.rawValue)
        Checkpoint.writeVector(promises[office]!, to: &out)
      }
      out.varint(UInt64(Checkpoint.tables.count))
    }

    /// Starts table `index` (in order) with its number of rows.
    mutating func beginTable(_ index: Int, rows: Int) {
      precondition(index == starts.count, "tables are written in order")
      let table = Checkpoint.tables[index]
      out.string(table.name)
      out.varint(UInt64(table.columns.count))
      for column in table.columns { out.string(column) }
      out.varint(UInt64(rows))
      starts.append((out.bytes.count, rows))
    }

    mutating func append(_ row: [DatabaseValue]) {
      for value in row { Checkpoint.writeValue(value, to: &out) }
    }

    /// Writes table `index` whole: its number of rows and their encoded values.
    mutating func appendTable(_ index: Int, rows: Int, encoded: [UInt8]) {
      beginTable(index, rows: rows)
      out.raw(encoded)
    }

    func finish() -> ([UInt8], [(start: Int, count: Int)]) { (out.bytes, starts) }
  }

  private static func writeVector(_ vector: VersionVector, to out: inout BinaryWriter) {
    let entries = vector.sorted
    out.varint(UInt64(entries.count))
    for entry in entries {
      out.string(entry.replica.rawValue)
      out.varint(entry.counter)
    }
  }

  static func writeValue(_ value: DatabaseValue, to out: inout BinaryWriter) {
    switch value.storage {
    case .null:
      out.byte(0)
    case .int64(let number):
      out.byte(1)
      out.signed(number)
    case .string(let text):
      out.byte(2)
      out.string(text)
    case .blob(let data):
      out.byte(3)
      out.varint(UInt64(data.count))
      out.raw(data)
    case .double(let number):
      // The merge state holds no floating-point columns; kept exact all the same.
      out.byte(4)
      out.raw(withUnsafeBytes(of: number.bitPattern.bigEndian) { Array($0) })
    }
  }

  // MARK: - Decoding

  /// The header of a checkpoint file: enough to choose one without inflating it.
  public struct Header: Sendable, Hashable {
    /// The store it belongs to.
    public var storeID: StoreID
    /// The changesets whose state it holds.
    public var frontier: VersionVector
    /// The highest Lamport stamp among them.
    public var lamport: UInt64
    /// The latest wall-clock time among them, for display.
    public var timestamp: Int64
    /// SHA-256 (hex) of the canonical snapshot at `frontier`.
    public var snapshotHash: String
    /// The group key the payload is sealed with (flags bit 0), or nil.
    public var keyID: GroupKeyID?
    /// Where the bytes the seal authenticates end.
    var sealContextEnd: Int = 0
  }

  /// Reads and checks a checkpoint file; a sealed one is opened with its
  /// group key from `keys`.
  ///
  /// - Throws: `SamhandError.corruptChangeset` for a damaged file (the
  ///   error names what and where), `.unsupportedFormat` for a newer
  ///   format, `.missingKey` for a sealed one whose key is not in `keys`.
  public init(bytes: [UInt8], fileURL: URL? = nil, keys: GroupKeyring = .empty) throws {
    func corrupt(_ message: String, _ offset: Int?) -> SamhandError {
      SamhandError(.corruptChangeset, "checkpoint: \(message)", fileURL: fileURL, offset: offset)
    }
    let (header, payloadRange, expected) = try Checkpoint.decodeHeader(bytes, fileURL: fileURL)
    var compressed = bytes[payloadRange]
    var groupKey: GroupKey?
    if let keyID = header.keyID {
      guard Array(SHA256.hash(data: compressed)) == expected.digest else {
        throw corrupt("sealed payload checksum does not match", payloadRange.lowerBound)
      }
      guard let key = keys[keyID] else {
        throw SamhandError(
          .missingKey,
          "checkpoint: sealed with group key \(keyID.hex.prefix(12)), which is not held here (yet): it is read once an administrator has given this office the key",
          fileURL: fileURL)
      }
      let context = Array(bytes[0..<(Checkpoint.magic.count + 2)]) + Array(bytes[(Checkpoint.magic.count + 6)..<header.sealContextEnd])
      guard let opened = key.open(compressed, authenticating: context) else {
        throw corrupt("the payload does not open with group key \(keyID.hex.prefix(12)): altered, or sealed without the key", payloadRange.lowerBound)
      }
      compressed = opened[...]
      groupKey = key
    }
    let payload: [UInt8]
    do {
      payload = try Zlib.inflate(compressed, expectedSize: expected.size)
    } catch {
      throw corrupt("payload does not inflate: \(error.message)", payloadRange.lowerBound)
    }
    guard header.keyID != nil || Array(SHA256.hash(data: payload)) == expected.digest else {
      throw corrupt("payload checksum does not match", payloadRange.lowerBound)
    }
    var reader = BinaryReader(payload)
    do throws(BinaryReader.Failure) {
      var promises: [ReplicaID: VersionVector] = [:]
      for _ in 0..<(try reader.count(minimumSize: 2)) {
        let slug = try reader.string()
        guard let office = ReplicaID(rawValue: slug) else { throw BinaryReader.Failure(message: "invalid office '\(slug)'", offset: reader.offset) }
        promises[office] = try Checkpoint.readVector(&reader)
      }
      let tableCount = try reader.count()
      guard tableCount == Checkpoint.tables.count else {
        throw BinaryReader.Failure(message: "\(tableCount) tables, format 1 has \(Checkpoint.tables.count)", offset: reader.offset)
      }
      var starts: [(start: Int, count: Int)] = []
      for table in Checkpoint.tables {
        let name = try reader.string()
        guard name == table.name else { throw BinaryReader.Failure(message: "table '\(name)' where '\(table.name)' belongs", offset: reader.offset) }
        let columnCount = try reader.count()
        var columns: [String] = []
        for _ in 0..<columnCount { columns.append(try reader.string()) }
        guard columns == table.columns else {
          throw BinaryReader.Failure(message: "table \(name) has columns \(columns), format 1 has \(table.columns)", offset: reader.offset)
        }
        let rowCount = try reader.count(minimumSize: columns.count)
        starts.append((reader.offset, rowCount))
        // Every value is checked now; rows are read again when used.
        for _ in 0..<(rowCount * columns.count) { _ = try Checkpoint.readValue(&reader) }
      }
      guard reader.isAtEnd else { throw BinaryReader.Failure(message: "\(reader.remaining) bytes after the last table", offset: reader.offset) }
      self.init(
        storeID: header.storeID, frontier: header.frontier, lamport: header.lamport, timestamp: header.timestamp,
        snapshotHash: header.snapshotHash, promises: promises, payload: payload, tableRows: starts)
      self.groupKey = groupKey
    } catch {
      throw corrupt("payload: \(error.message)", payloadRange.lowerBound + error.offset)
    }
  }

  init(
    storeID: StoreID, frontier: VersionVector, lamport: UInt64, timestamp: Int64, snapshotHash: String,
    promises: [ReplicaID: VersionVector], payload: [UInt8], tableRows: [(start: Int, count: Int)]
  ) {
    self.storeID = storeID
    self.frontier = frontier
    self.lamport = lamport
    self.timestamp = timestamp
    self.snapshotHash = snapshotHash
    self.promises = promises
    self.payload = payload
    self.tableRows = tableRows
  }

  /// Reads and checks the header and the file's checksum, without inflating the payload.
  public static func header(of bytes: [UInt8], fileURL: URL? = nil) throws -> Header {
    try decodeHeader(bytes, fileURL: fileURL).header
  }

  /// The header of a checkpoint file from the first bytes of it, without
  /// checking the file: for choosing which checkpoints to read, never for
  /// trusting one.
  static func peekHeader(_ entry: SharedFolder.CheckpointEntry) -> Header? {
    // Never a link, a FIFO (opening one would block) or a device.
    guard let prefix = try? entry.folder.readPrefix(entry.url, count: 64 * 1024, kind: .checkpoint) else { return nil }
    return try? decodeHeader(prefix, fileURL: entry.url, verifying: false).header
  }

  static func decodeHeader(_ bytes: [UInt8], fileURL: URL?, verifying: Bool = true) throws
    -> (header: Header, payload: Range<Int>, expected: (size: Int, digest: [UInt8]))
  {
    func corrupt(_ message: String, _ offset: Int?) -> SamhandError {
      SamhandError(.corruptChangeset, "checkpoint: \(message)", fileURL: fileURL, offset: offset)
    }
    guard bytes.count >= magic.count + 2 + 4 + 32 else { throw corrupt("truncated: \(bytes.count) bytes", bytes.count) }
    guard Array(bytes[0..<magic.count]) == magic else { throw corrupt("not a Samhand checkpoint (bad magic)", 0) }
    let version = UInt16(bytes[magic.count]) << 8 | UInt16(bytes[magic.count + 1])
    guard version <= formatVersion else {
      throw SamhandError(
        .unsupportedFormat, "checkpoint format \(version) is newer than this Samhand reads (\(formatVersion)); upgrade Samhand",
        fileURL: fileURL)
    }
    guard version >= 1 else { throw corrupt("format version 0", magic.count) }
    guard !verifying || Array(SHA256.hash(data: bytes[0..<(bytes.count - 32)])) == Array(bytes[(bytes.count - 32)...]) else {
      throw corrupt("file checksum does not match (truncated or altered)", bytes.count - 32)
    }
    var reader = BinaryReader(bytes, from: magic.count + 2, to: verifying ? bytes.count - 32 : bytes.count)
    let parsed: (Header, Int, UInt64, UInt64, [UInt8])
    do throws(BinaryReader.Failure) {
      let headerLength = Int(try reader.uint32())
      let headerStart = reader.offset
      guard headerLength <= reader.remaining else {
        throw BinaryReader.Failure(message: "length \(headerLength) exceeds the file", offset: headerStart)
      }
      var header = BinaryReader(bytes, from: headerStart, to: headerStart + headerLength)
      let flags = try header.varint()
      guard flags & ~1 == 0 else {
        throw BinaryReader.Failure(message: "unknown flags \(flags) (written by a newer Samhand?)", offset: headerStart)
      }
      let keyID = flags & 1 == 1 ? GroupKeyID(rawValue: Array(try header.take(16))) : nil
      let storeText = try header.string()
      guard let storeID = StoreID(rawValue: storeText) else { throw BinaryReader.Failure(message: "invalid store id", offset: headerStart) }
      let frontier = try readVector(&header)
      let lamport = try header.varint()
      let timestamp = try header.signed()
      let hash = Data(try header.take(32)).hexString
      let sealContextEnd = header.offset
      let size = try header.varint()
      let compressedSize = try header.varint()
      let digest = Array(try header.take(32))
      guard header.isAtEnd else { throw BinaryReader.Failure(message: "\(header.remaining) unknown bytes at its end", offset: header.offset) }
      parsed = (
        Header(
          storeID: storeID, frontier: frontier, lamport: lamport, timestamp: timestamp, snapshotHash: hash, keyID: keyID,
          sealContextEnd: sealContextEnd),
        headerStart + headerLength, size, compressedSize, digest
      )
    } catch {
      throw corrupt("header: \(error.message)", error.offset)
    }
    let (header, payloadStart, size, compressedSize, digest) = parsed
    guard verifying else { return (header, payloadStart..<payloadStart, (Int(size), digest)) }
    guard size <= UInt64(maximumPayloadSize) else { throw corrupt("payload of \(size) bytes is over the limit", payloadStart) }
    // zlib expands at most about 1,032 times: a larger claim is a lie, and
    // would make the reader allocate for it before the signature is checked.
    guard size <= compressedSize * 1100 + 64 else {
      throw corrupt("payload claims \(size) bytes from \(compressedSize) compressed, more than zlib can expand", payloadStart)
    }
    guard compressedSize == UInt64(bytes.count - 32 - payloadStart) else {
      throw corrupt("payload is \(bytes.count - 32 - payloadStart) bytes, the header says \(compressedSize)", payloadStart)
    }
    return (header, payloadStart..<(bytes.count - 32), (Int(size), digest))
  }

  private static func readVector(_ reader: inout BinaryReader) throws(BinaryReader.Failure) -> VersionVector {
    var vector = VersionVector()
    for _ in 0..<(try reader.count(minimumSize: 2)) {
      let start = reader.offset
      let slug = try reader.string()
      let counter = try reader.varint()
      guard let replica = ReplicaID(rawValue: slug), vector[replica] == 0, counter > 0 else {
        throw BinaryReader.Failure(message: "invalid or repeated vector entry '\(slug)'", offset: start)
      }
      vector[replica] = counter
    }
    return vector
  }

  static func readValue(_ reader: inout BinaryReader) throws(BinaryReader.Failure) -> DatabaseValue {
    let start = reader.offset
    switch try reader.byte() {
    case 0: return .null
    case 1: return (try reader.signed()).databaseValue
    case 2: return (try reader.string()).databaseValue
    case 3:
      let length = try reader.count()
      return Data(try reader.take(length)).databaseValue
    case 4:
      let raw = try reader.take(8)
      var bits: UInt64 = 0
      for byte in raw { bits = bits << 8 | UInt64(byte) }
      return Double(bitPattern: bits).databaseValue
    case let tag:
      throw BinaryReader.Failure(message: "unknown value tag \(tag)", offset: start)
    }
  }
}

/// Who vouches for a checkpoint: an office's signature over its digest,
/// in `checkpoints/<office>/<name>.signature` beside it.
public struct CheckpointSignature: Sendable, Hashable {
  /// The signature file format version this Samhand writes.
  public static let formatVersion = 1
  /// The file name extension of a signature file.
  public static let fileExtension = "signature"

  /// The office that signed.
  public var office: ReplicaID
  /// SHA-256 (hex) of the checkpoint file.
  public var checkpoint: String
  /// The key that signed.
  public var key: PublicKey
  /// The Ed25519 signature.
  public var signature: [UInt8]

  /// The bytes the signature covers.
  static func message(office: ReplicaID, checkpoint: String) -> [UInt8] {
    Array("samhand checkpoint 1\n\(office.rawValue)\n\(checkpoint)\n".utf8)
  }

  /// Signs a checkpoint's bytes as `office`: the signature file an office
  /// writes beside its checkpoint, or alone under its own name to vouch for
  /// the same bytes another office wrote.
  public init(office: ReplicaID, checkpointBytes: [UInt8], key: SigningKey) {
    self.office = office
    self.checkpoint = Data(SHA256.hash(data: checkpointBytes)).hexString
    self.key = key.publicKey
    self.signature = key.sign(CheckpointSignature.message(office: office, checkpoint: checkpoint))
  }

  /// Whether the signature is good and covers these checkpoint bytes.
  func covers(_ checkpointBytes: [UInt8]) -> Bool {
    Data(SHA256.hash(data: checkpointBytes)).hexString == checkpoint
      && key.isValidSignature(signature, of: CheckpointSignature.message(office: office, checkpoint: checkpoint))
  }

  /// The canonical JSON of the signature file.
  public var canonicalJSON: Data {
    CanonicalJSON.encode(
      .object([
        ("format", .integer(Int64(CheckpointSignature.formatVersion))),
        ("office", .string(office.rawValue)),
        ("checkpoint", .string(checkpoint)),
        ("key", .string(key.hex)),
        ("signature", .string(Data(signature).hexString)),
      ]))
  }

  /// Reads a signature file, checking every field.
  public init(json bytes: [UInt8], fileURL: URL? = nil) throws {
    func malformed(_ detail: String) -> SamhandError {
      SamhandError(.invalidArgument, "checkpoint signature is malformed: \(detail)", fileURL: fileURL)
    }
    let json: JSONValue
    do { json = try JSONValue.parse(Data(bytes)) } catch let error as SamhandError { throw malformed(error.message) }
    guard case .object(let top) = json else { throw malformed("expected an object") }
    guard case .integer(let format)? = top["format"], format >= 1 else { throw malformed("missing or invalid 'format'") }
    guard format <= Int64(CheckpointSignature.formatVersion) else {
      throw SamhandError(.unsupportedFormat, "checkpoint signature format \(format) is newer than this Samhand reads", fileURL: fileURL)
    }
    guard case .string(let officeText)? = top["office"], let office = ReplicaID(rawValue: officeText) else {
      throw malformed("missing or invalid 'office'")
    }
    guard case .string(let digest)? = top["checkpoint"], digest.utf8.count == 64, PublicKey.bytes(hex: digest) != nil else {
      throw malformed("missing or invalid 'checkpoint' digest")
    }
    guard case .string(let keyText)? = top["key"], let key = try? PublicKey(text: keyText) else {
      throw malformed("missing or invalid 'key'")
    }
    guard case .string(let signatureText)? = top["signature"], let signature = PublicKey.bytes(hex: signatureText),
      signature.count == 64
    else { throw malformed("missing or invalid 'signature'") }
    self.office = office
    self.checkpoint = digest
    self.key = key
    self.signature = signature
  }
}
