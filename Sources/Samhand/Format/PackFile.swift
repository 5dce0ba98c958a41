import Crypto
import Foundation

/// Pack files: an office's older changeset files folded into one file, so
/// that a folder of hundreds of offices holds a few files per office
/// instead of one per changeset (`Docs/FORMATS.md`, section 14).
///
/// ```
/// magic "SHPK\r\n\u{1A}\n" | version u16 | store id | office | first varint
/// | count varint | count × (length varint, changeset file)
/// | key (32 bytes) | signature (64 bytes)
/// ```
///
/// A pack holds the office's changeset files `first` to `first + count - 1`,
/// each exactly once, in order, byte for byte as they were written: each
/// keeps its own signature and is judged as a changeset file is. The pack's
/// Ed25519 signature, by the key that signed every changeset in it, covers
/// every byte before it (after the domain `samhand pack 1` and a line feed),
/// so a pack is one office's work or nothing.
public enum PackFile {
  /// The format version this Samhand writes and reads.
  public static let formatVersion: UInt16 = 1
  /// The file name extension in `changesets/<office>/<first>-<last>.pack`.
  public static let fileExtension = "pack"
  /// No pack holds more changesets than this: its name alone says how many
  /// it holds, and a reader keeps one entry per changeset it reads from it.
  public static let maximumCount: UInt64 = 4096
  /// Writers keep a pack under this size (bytes), so that it is read
  /// whole within its limit (``FolderFileKind/pack``).
  static let targetSize = 64 * 1024 * 1024
  static let magic: [UInt8] = Array("SHPK\r\n".utf8) + [0x1A, 0x0A]
  static let signingDomain = Array("samhand pack 1\n".utf8)

  /// A pack, read and checked.
  public struct Contents: Sendable, Hashable {
    /// The store it belongs to.
    public var storeID: StoreID
    /// The office whose changesets it holds.
    public var office: ReplicaID
    /// The number of its first changeset.
    public var first: UInt64
    /// The changeset files, in order: `first`, `first + 1`, …
    public var members: [[UInt8]]
    /// The key that signed the pack (and, as readers check, every changeset in it).
    public var key: PublicKey

    /// The number of its last changeset.
    public var last: UInt64 { first + UInt64(members.count) - 1 }
  }

  /// The file name of a pack: its first and last numbers, each zero-padded to 12 digits.
  public static func fileName(first: UInt64, last: UInt64) -> String {
    "\(padded(first))-\(padded(last)).\(fileExtension)"
  }

  private static func padded(_ value: UInt64) -> String {
    let digits = String(value)
    return String(repeating: "0", count: max(0, 12 - digits.count)) + digits
  }

  /// The first and last numbers in a pack's file name, or nil when the name
  /// is not one Samhand writes (including a range over ``maximumCount``).
  public static func range(fromFileName name: String) -> ClosedRange<UInt64>? {
    let bytes = Array(name.utf8)
    let suffix = Array(("." + fileExtension).utf8)
    guard bytes.count == 25 + suffix.count, Array(bytes[25...]) == suffix, bytes[12] == UInt8(ascii: "-") else { return nil }
    let isDigit = { (byte: UInt8) in byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
    guard bytes[0..<12].allSatisfy(isDigit), bytes[13..<25].allSatisfy(isDigit),
      let first = UInt64(String(decoding: bytes[0..<12], as: UTF8.self)),
      let last = UInt64(String(decoding: bytes[13..<25], as: UTF8.self)),
      first > 0, last >= first, last - first < maximumCount
    else { return nil }
    return first...last
  }

  /// The bytes of a pack of `members` (changeset files of `office`,
  /// numbered from `first`), signed with `key`.
  public static func encode(
    storeID: StoreID, office: ReplicaID, first: UInt64, members: [[UInt8]], signedBy key: SigningKey
  ) -> [UInt8] {
    precondition(!members.isEmpty && UInt64(members.count) <= maximumCount, "a pack holds 1 to \(maximumCount) changesets")
    var out = BinaryWriter()
    out.raw(magic)
    out.uint16(formatVersion)
    out.string(storeID.rawValue)
    out.string(office.rawValue)
    out.varint(first)
    out.varint(UInt64(members.count))
    for member in members {
      out.varint(UInt64(member.count))
      out.raw(member)
    }
    out.raw(key.publicKey.rawValue)
    let signature = key.sign(signingDomain + out.bytes)
    out.raw(signature)
    return out.bytes
  }

  /// Reads a pack and checks its structure and signature. Its changesets
  /// are not opened: each is judged as a changeset file is.
  ///
  /// - Parameters:
  ///   - name: the range its file name gives, which the pack must hold exactly.
  /// - Throws: `SamhandError.corruptChangeset` for a damaged or malformed
  ///   pack, `.unsupportedFormat` for a newer version, `.untrusted` when
  ///   its signature does not verify.
  public static func decode(_ bytes: [UInt8], name: ClosedRange<UInt64>? = nil, fileURL: URL? = nil) throws -> Contents {
    func corrupt(_ detail: String) -> SamhandError {
      SamhandError(.corruptChangeset, "not a good pack file: \(detail)", fileURL: fileURL)
    }
    guard bytes.count >= magic.count + 2, Array(bytes[0..<magic.count]) == magic else {
      throw corrupt("it does not start with the pack magic")
    }
    var reader = BinaryReader(bytes, from: magic.count)
    let contents: Contents
    do {
      let version = try reader.uint16()
      guard version >= 1 else { throw corrupt("format version 0") }
      guard version <= formatVersion else {
        throw SamhandError(
          .unsupportedFormat, "a pack of format \(version), newer than this Samhand reads (\(formatVersion)); upgrade Samhand",
          fileURL: fileURL)
      }
      let storeText = try reader.string()
      guard let storeID = StoreID(rawValue: storeText) else { throw corrupt("the store id '\(storeText.prefix(80))' is malformed") }
      let officeText = try reader.string()
      guard let office = ReplicaID(rawValue: officeText) else { throw corrupt("the office '\(officeText.prefix(80))' is not a slug") }
      let first = try reader.varint()
      let count = try reader.varint()
      guard first >= 1 else { throw corrupt("the first changeset is numbered 0") }
      guard count >= 1, count <= maximumCount, first <= UInt64.max - count else {
        throw corrupt("it holds \(count) changesets (1 to \(maximumCount) allowed)")
      }
      if let name, name.lowerBound != first || name.upperBound != first + count - 1 {
        throw corrupt("its name says \(name.lowerBound) to \(name.upperBound), it holds \(first) to \(first + count - 1)")
      }
      var members: [[UInt8]] = []
      members.reserveCapacity(Int(count))
      for index in 0..<count {
        let length = try reader.count()
        guard length > 0 else { throw corrupt("changeset \(first + index) is empty") }
        members.append(Array(try reader.take(length)))
      }
      guard reader.remaining == 32 + 64 else {
        throw corrupt("\(reader.remaining) bytes follow the changesets, where a key and a signature (96 bytes) should")
      }
      let signedEnd = reader.offset + 32
      guard let key = PublicKey(rawValue: Array(try reader.take(32))) else { throw corrupt("the key is malformed") }
      let signature = try reader.take(64)
      guard key.isValidSignature(Array(signature), of: signingDomain + bytes[0..<signedEnd]) else {
        throw SamhandError(
          .untrusted, "forged or altered: the pack's signature does not verify under key \(key.fingerprint) that it names",
          fileURL: fileURL)
      }
      contents = Contents(storeID: storeID, office: office, first: first, members: members, key: key)
    } catch let failure as BinaryReader.Failure {
      throw corrupt("\(failure.message) at byte \(failure.offset)")
    }
    return contents
  }
}
