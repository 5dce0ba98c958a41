import Foundation

/// What an office last said about itself in `heads/<office>.json`.
///
/// Only the office itself writes its head, replacing it atomically after
/// each sync. Two offices at the same frontier must report the same
/// snapshot hash; `status` and `verify` flag those that do not.
public struct Head: Sendable, Hashable {
  /// The head file format version this Samhand writes; newer ones are refused.
  public static let formatVersion = 1

  /// The office whose head this is: the only one that writes it.
  public var office: ReplicaID { didSet { signature?.fileBytes = nil } }
  /// Every changeset the office had applied.
  public var frontier: VersionVector { didSet { signature?.fileBytes = nil } }
  /// SHA-256 (hex) of the office's canonical snapshot at that frontier.
  public var snapshotHash: String { didSet { signature?.fileBytes = nil } }
  /// When the head was written (milliseconds since 1970): shown to people,
  /// and compared with the retention to tell an office that has been
  /// silent too long to wait for (it then catches up from a checkpoint).
  /// It decides nothing in the merge.
  public var timestamp: Int64 { didSet { signature?.fileBytes = nil } }

  /// The office's signature of the head, when it was signed: the key it
  /// names and the Ed25519 signature of ``signedBytes`` (`Docs/FORMATS.md`,
  /// section 1). Whether the key is the office's is for the roster to say.
  public var signature: Signature?

  /// A head's signature: the public key it names and the signature bytes.
  public struct Signature: Sendable, Hashable {
    public var key: PublicKey { didSet { fileBytes = nil } }
    public var bytes: [UInt8]
    /// What the signature covers, cut from the file it was read from (the
    /// file's bytes without the signature field, which for the canonical
    /// bytes is exactly ``Head/signedBytes(key:)``): checking hundreds of
    /// heads then encodes none of them again. Dropped when a field changes.
    package var fileBytes: [UInt8]?

    public init(key: PublicKey, bytes: [UInt8]) {
      self.key = key
      self.bytes = bytes
    }

    public static func == (lhs: Signature, rhs: Signature) -> Bool { lhs.key == rhs.key && lhs.bytes == rhs.bytes }

    public func hash(into hasher: inout Hasher) {
      hasher.combine(key)
      hasher.combine(bytes)
    }
  }

  /// What a signature covers comes after these bytes, so that no other
  /// file Samhand signs can pass for a head.
  static let signingDomain = Array("samhand head\n".utf8)

  /// Creates a head from its parts, without checking them.
  public init(office: ReplicaID, frontier: VersionVector, snapshotHash: String, timestamp: Int64, signature: Signature? = nil) {
    self.office = office
    self.frontier = frontier
    self.snapshotHash = snapshotHash
    self.timestamp = timestamp
    self.signature = signature
  }

  /// The head's fields as canonical JSON, with the key that signs (if
  /// any) and, when `signed`, the signature.
  private func json(key: PublicKey?, signature: [UInt8]?) -> Data {
    var fields: [(String, CanonicalJSON.Node)] = [
      ("format", .integer(Int64(Head.formatVersion))),
      ("office", .string(office.rawValue)),
      ("frontier", Snapshot.node(frontier)),
      ("snapshot", .string(snapshotHash)),
      ("time", .string(Timestamp.iso8601(milliseconds: timestamp))),
      ("time_ms", .integer(timestamp)),
    ]
    if let key { fields.append(("key", .string(key.hex))) }
    if let signature { fields.append(("signature", .string(Data(signature).hexString))) }
    return CanonicalJSON.encode(.object(fields))
  }

  /// The canonical JSON of the head file.
  public var canonicalJSON: Data { json(key: signature?.key, signature: signature?.bytes) }

  /// What the signature covers: ``signingDomain``, then the canonical JSON
  /// of the head with its `key` and without its `signature`.
  public func signedBytes(key: PublicKey) -> [UInt8] {
    Head.signingDomain + [UInt8](json(key: key, signature: nil))
  }

  /// The head signed with `key`.
  public func signed(by key: SigningKey) -> Head {
    var head = self
    head.signature = Signature(key: key.publicKey, bytes: key.sign(signedBytes(key: key.publicKey)))
    return head
  }

  /// Whether the head carries a signature that verifies under the key it
  /// names (not whether that key is the office's: see `Store.judge(_:)`).
  public var hasValidSignature: Bool {
    guard let signature else { return false }
    return signature.key.isValidSignature(signature.bytes, of: signature.fileBytes ?? signedBytes(key: signature.key))
  }

  /// Reads a head file, checking every field.
  ///
  /// With hundreds of offices a sync reads hundreds of heads of hundreds
  /// of entries each, so the exact bytes Samhand writes (canonical JSON,
  /// keys in order) are read by a scanner that accepts nothing else; any
  /// other valid JSON is read field by field, which also says what is
  /// wrong with a file that is not a head.
  public init(json bytes: [UInt8], fileURL: URL? = nil) throws {
    if let head = Head(canonical: bytes) {
      self = head
      return
    }
    try self.init(checking: bytes, fileURL: fileURL)
  }

  /// The head in `bytes` if they are exactly what ``canonicalJSON`` writes
  /// for a head of this format, or nil.
  package init?(canonical bytes: [UInt8]) {
    var scanner = CanonicalScanner(bytes)
    guard scanner.take("{\"format\":"), let format = scanner.integer(), format == Int64(Head.formatVersion),
      scanner.take(",\"frontier\":{")
    else { return nil }
    var entries: [VersionVector.Entry] = []
    if !scanner.take("}") {
      repeat {
        guard let slug = scanner.string(), let replica = ReplicaID(rawValue: slug), scanner.take(":"),
          let counter = scanner.integer(), counter > 0,
          entries.last.map({ $0.replica < replica }) ?? true
        else { return nil }
        entries.append(VersionVector.Entry(replica: replica, counter: UInt64(counter)))
      } while scanner.take(",")
      guard scanner.take("}") else { return nil }
    }
    var key: PublicKey?
    if scanner.take(",\"key\":") {
      guard let text = scanner.string(), let found = try? PublicKey(text: text), found.hex == text else { return nil }
      key = found
    }
    guard scanner.take(",\"office\":"), let officeText = scanner.string(), let office = ReplicaID(rawValue: officeText)
    else { return nil }
    var signature: Signature?
    if let key {
      let cut = scanner.offset
      guard scanner.take(",\"signature\":"), let text = scanner.string(), let signed = PublicKey.bytes(hex: text), signed.count == 64
      else { return nil }
      signature = Signature(key: key, bytes: signed)
      signature?.fileBytes = Head.signingDomain + bytes[..<cut] + bytes[scanner.offset...]
    }
    guard scanner.take(",\"snapshot\":"), let hash = scanner.string(), Head.isHash(hash),
      scanner.take(",\"time\":"), let time = scanner.string(),
      scanner.take(",\"time_ms\":"), let milliseconds = scanner.integer(),
      scanner.take("}"), scanner.atEnd, time == Timestamp.iso8601(milliseconds: milliseconds)
    else { return nil }
    self.init(
      office: office, frontier: VersionVector(sortedPositive: entries), snapshotHash: hash, timestamp: milliseconds,
      signature: signature)
  }

  /// Reads the few shapes of canonical JSON a head holds: ASCII strings
  /// without escapes, integers without leading zeros, fixed punctuation.
  private struct CanonicalScanner {
    let bytes: [UInt8]
    var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var atEnd: Bool { offset == bytes.count }

    mutating func take(_ literal: StaticString) -> Bool {
      let count = literal.utf8CodeUnitCount
      guard bytes.count - offset >= count else { return false }
      let matches = literal.withUTF8Buffer { expected in
        bytes.withUnsafeBufferPointer { memcmp($0.baseAddress! + offset, expected.baseAddress!, count) == 0 }
      }
      if matches { offset += count }
      return matches
    }

    mutating func string() -> String? {
      guard offset < bytes.count, bytes[offset] == UInt8(ascii: "\"") else { return nil }
      let start = offset + 1
      var end = start
      while end < bytes.count, bytes[end] != UInt8(ascii: "\"") {
        // Printable ASCII only: no escapes, no control characters.
        guard bytes[end] >= 0x20, bytes[end] < 0x7f, bytes[end] != UInt8(ascii: "\\") else { return nil }
        end += 1
      }
      guard end < bytes.count else { return nil }
      offset = end + 1
      return String(decoding: bytes[start..<end], as: UTF8.self)
    }

    mutating func integer() -> Int64? {
      var negative = false
      if offset < bytes.count, bytes[offset] == UInt8(ascii: "-") {
        negative = true
        offset += 1
      }
      let start = offset
      var value: Int64 = 0
      while offset < bytes.count, (48...57).contains(bytes[offset]) {
        let (times, overflow1) = value.multipliedReportingOverflow(by: 10)
        let (sum, overflow2) = times.addingReportingOverflow(Int64(bytes[offset] - 48))
        guard !overflow1, !overflow2 else { return nil }
        value = sum
        offset += 1
      }
      let digits = offset - start
      // No leading zeros, and no "-0".
      guard digits > 0, digits == 1 || bytes[start] != UInt8(ascii: "0"), !(negative && value == 0) else { return nil }
      return negative ? -value : value
    }
  }

  static func isHash(_ text: String) -> Bool {
    text.utf8.count == 64 && text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
  }

  private init(checking bytes: [UInt8], fileURL: URL?) throws {
    func malformed(_ detail: String) -> SamhandError {
      SamhandError(.invalidArgument, "head file is malformed: \(detail)", fileURL: fileURL)
    }
    let json: JSONValue
    do { json = try JSONValue.parse(Data(bytes)) } catch let error as SamhandError { throw malformed(error.message) }
    guard case .object(let top) = json else { throw malformed("expected an object") }
    guard case .integer(let format)? = top["format"] else { throw malformed("missing 'format'") }
    guard format >= 1 else { throw malformed("'format' must be 1 or more") }
    guard format <= Int64(Head.formatVersion) else {
      throw SamhandError(.unsupportedFormat, "head format \(format) is newer than this Samhand reads", fileURL: fileURL)
    }
    guard case .string(let officeText)? = top["office"], let office = ReplicaID(rawValue: officeText) else {
      throw malformed("missing or invalid 'office'")
    }
    guard case .object(let frontierJSON)? = top["frontier"] else { throw malformed("missing 'frontier'") }
    var frontier = VersionVector()
    for (slug, counter) in frontierJSON {
      guard let replica = ReplicaID(rawValue: slug), case .integer(let value) = counter, value >= 0 else {
        throw malformed("invalid frontier entry '\(slug)'")
      }
      frontier[replica] = UInt64(value)
    }
    guard case .string(let hash)? = top["snapshot"], Head.isHash(hash) else {
      throw malformed("missing or invalid 'snapshot' hash")
    }
    guard case .integer(let timestamp)? = top["time_ms"] else { throw malformed("missing 'time_ms'") }
    var signature: Signature?
    switch (top["key"], top["signature"]) {
    case (nil, nil):
      break
    case (.string(let keyText)?, .string(let signatureText)?):
      guard let key = try? PublicKey(text: keyText) else { throw malformed("invalid 'key'") }
      guard let bytes = PublicKey.bytes(hex: signatureText), bytes.count == 64 else {
        throw malformed("invalid 'signature': expected 128 hex digits")
      }
      signature = Signature(key: key, bytes: bytes)
    default:
      throw malformed("'key' and 'signature' go together, each a string")
    }
    self.init(office: office, frontier: frontier, snapshotHash: hash, timestamp: timestamp, signature: signature)
  }
}

extension SharedFolder {
  /// Every readable head in the folder, and the problems with unreadable ones.
  public func heads() -> (heads: [Head], problems: [FolderProblem]) {
    var heads: [Head] = []
    var problems: [FolderProblem] = []
    let names: [String]
    do {
      names = try exchange.list(SharedFolder.headsDirectory)?.map(\.name) ?? []
    } catch let error as SamhandError {
      return ([], [FolderProblem(path: SharedFolder.headsDirectory, reason: error.message)])
    } catch {
      return ([], [FolderProblem(path: SharedFolder.headsDirectory, reason: "\(error)")])
    }
    for name in names.sorted() where name.hasSuffix(".json") {
      guard let office = ReplicaID(rawValue: String(name.dropLast(5))) else { continue }
      do {
        heads.append(try head(of: office))
      } catch let error as SamhandError {
        problems.append(FolderProblem(path: "heads/\(name)", reason: error.message))
      } catch {
        problems.append(FolderProblem(path: "heads/\(name)", reason: "\(error)"))
      }
    }
    return (heads, problems)
  }

  /// The head in `heads/<office>.json`, read and checked.
  ///
  /// - Throws: `SamhandError` naming what is wrong: unreadable, malformed,
  ///   or naming another office.
  package func head(of office: ReplicaID) throws -> Head {
    let url = headURL(for: office)
    let head = try Head(json: try read(url, kind: .head), fileURL: url)
    guard head.office == office else {
      throw SamhandError(.invalidArgument, "head names office '\(head.office)', not '\(office)'", fileURL: url)
    }
    return head
  }

  /// Offices whose heads report the same frontier but different snapshot hashes.
  public static func divergentHeads(_ heads: [Head]) -> [[Head]] {
    var byFrontier: [VersionVector: [Head]] = [:]
    for head in heads { byFrontier[head.frontier, default: []].append(head) }
    return byFrontier.values.filter { Set($0.map(\.snapshotHash)).count > 1 }
      .map { $0.sorted { $0.office < $1.office } }
      .sorted { $0[0].office < $1[0].office }
  }
}

/// A problem found in a shared folder, by a sync or by `verify`.
public struct FolderProblem: Sendable, Hashable, CustomStringConvertible {
  /// The path relative to the shared folder.
  public var path: String
  /// What is wrong, in words.
  public var reason: String

  /// Creates a problem for a path relative to the shared folder.
  public init(path: String, reason: String) {
    self.path = path
    self.reason = reason
  }

  /// The problem as `path: reason`.
  public var description: String { "\(path): \(reason)" }
}
