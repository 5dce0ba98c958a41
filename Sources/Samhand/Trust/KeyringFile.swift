import Foundation

/// `keys/<administrator>.keys` in an encrypted folder: the group keys an
/// administrator holds, each wrapped for every agreement key of an active
/// office (`Docs/FORMATS.md` §15). Canonical JSON:
///
/// ```json
/// {"by":"ks","format":1,"store":"<uuid>","wrapped":[
///  {"ephemeral":"<64 hex>","key":"<32 hex>","office":"agder","recipient":"<64 hex>","sealed":"<120 hex>"}, …]}
/// ```
///
/// The file is not signed: a wrapping opens only with the recipient's
/// private key, and a key that opens counts only if it hashes to the id
/// it names, which the roster (signed changesets) puts in force. A forged
/// or damaged file can withhold a key, never give a wrong one.
package struct KeyringFile: Hashable, Sendable {
  static let formatVersion = 1
  static let directory = "keys"
  static let fileExtension = "keys"

  var storeID: StoreID
  /// The administrator that wrote it.
  var author: ReplicaID
  /// Sorted by office, recipient, key id.
  var wrapped: [WrappedGroupKey]

  static func fileName(of office: ReplicaID) -> String { "\(office.rawValue).\(fileExtension)" }

  /// The office a file name belongs to, or nil when it is not a keyring's name.
  static func office(fromFileName name: String) -> ReplicaID? {
    guard name.hasSuffix("." + fileExtension) else { return nil }
    return ReplicaID(rawValue: String(name.dropLast(fileExtension.count + 1)))
  }

  var canonicalJSON: Data {
    let sorted = wrapped.sorted {
      ($0.office.rawValue, Data($0.recipient).hexString, $0.keyID.hex) < ($1.office.rawValue, Data($1.recipient).hexString, $1.keyID.hex)
    }
    return CanonicalJSON.encode(
      .object([
        ("by", .string(author.rawValue)),
        ("format", .integer(Int64(KeyringFile.formatVersion))),
        ("store", .string(storeID.rawValue)),
        (
          "wrapped",
          .array(
            sorted.map { item in
              .object([
                ("ephemeral", .string(Data(item.ephemeral).hexString)),
                ("key", .string(item.keyID.hex)),
                ("office", .string(item.office.rawValue)),
                ("recipient", .string(Data(item.recipient).hexString)),
                ("sealed", .string(Data(item.sealed).hexString)),
              ])
            })
        ),
      ]))
  }

  init(storeID: StoreID, author: ReplicaID, wrapped: [WrappedGroupKey]) {
    self.storeID = storeID
    self.author = author
    self.wrapped = wrapped
  }

  /// Reads a keyring file, checking every field.
  ///
  /// - Throws: `SamhandError.corruptChangeset` naming the field,
  ///   `.unsupportedFormat` for a newer format.
  package init(json data: [UInt8], fileURL: URL?) throws {
    func bad(_ detail: String) -> SamhandError {
      SamhandError(.corruptChangeset, "key file: \(detail)", fileURL: fileURL)
    }
    let root: JSONValue
    do { root = try JSONValue.parse(Data(data)) } catch let error as SamhandError { throw bad(error.message) }
    guard case .object(let top) = root else { throw bad("expected a JSON object") }
    let unknown = top.keys.filter { !["by", "format", "store", "wrapped"].contains($0) }.sorted()
    guard unknown.isEmpty else { throw bad("unknown key '\(unknown[0])'") }
    guard case .integer(let format)? = top["format"], format >= 1 else { throw bad("needs a 'format' of 1") }
    guard format <= Int64(KeyringFile.formatVersion) else {
      throw SamhandError(.unsupportedFormat, "key file format \(format) is newer than this Samhand reads (1); upgrade Samhand", fileURL: fileURL)
    }
    guard case .string(let store)? = top["store"], let storeID = StoreID(rawValue: store) else { throw bad("needs a valid 'store'") }
    guard case .string(let by)? = top["by"], let author = ReplicaID(rawValue: by) else { throw bad("needs a valid 'by'") }
    guard case .array(let items)? = top["wrapped"] else { throw bad("needs an array 'wrapped'") }
    var wrapped: [WrappedGroupKey] = []
    for (index, item) in items.enumerated() {
      guard case .object(let fields) = item, fields.count == 5 else { throw bad("wrapped key \(index + 1) must be an object of five fields") }
      func bytes(_ name: String, _ count: Int) throws -> [UInt8] {
        guard case .string(let text)? = fields[name], let bytes = PublicKey.bytes(hex: text), bytes.count == count else {
          throw bad("wrapped key \(index + 1): '\(name)' must be \(count * 2) hex digits")
        }
        return bytes
      }
      guard case .string(let slug)? = fields["office"], let office = ReplicaID(rawValue: slug) else {
        throw bad("wrapped key \(index + 1): 'office' must be an office slug")
      }
      let sealed = try bytes("sealed", 32 + GroupKey.overhead)
      wrapped.append(
        WrappedGroupKey(
          office: office, recipient: try bytes("recipient", 32), keyID: GroupKeyID(rawValue: try bytes("key", 16))!,
          ephemeral: try bytes("ephemeral", 32), sealed: sealed))
    }
    self.init(storeID: storeID, author: author, wrapped: wrapped)
  }
}
