/// The slug that names an office's replica, such as `vestland` or `kdd`.
///
/// Slugs are lowercase ASCII letters, digits and inner hyphens, 1 to 63
/// characters, because they become folder and file names in shared folders
/// that may ignore case or decompose letters.
public struct ReplicaID: RawRepresentable, Hashable, Comparable, Codable, Sendable,
  CustomStringConvertible, ExpressibleByStringLiteral
{
  /// The slug, such as `vestland`.
  public let rawValue: String

  /// Creates a replica id, or returns nil when `rawValue` is not a valid slug.
  public init?(rawValue: String) {
    guard ReplicaID.isValid(rawValue) else { return nil }
    self.rawValue = rawValue
  }

  /// Creates a replica id from a slug, throwing a clear error when it is not one.
  public init(validating slug: String) throws {
    guard let id = ReplicaID(rawValue: slug) else {
      throw SamhandError(
        .invalidArgument,
        "'\(slug)' is not a valid office slug: use 1–63 lowercase letters a–z, digits and inner hyphens")
    }
    self = id
  }

  /// Creates a replica id from a slug literal, such as `"vestland"`.
  ///
  /// A literal that is not a valid slug is a programming error and stops the
  /// program; use ``init(validating:)`` for slugs from input.
  public init(stringLiteral value: String) {
    precondition(ReplicaID.isValid(value), "invalid replica slug literal '\(value)'")
    self.rawValue = value
  }

  /// Decodes a replica id from its slug.
  ///
  /// - Throws: `DecodingError.dataCorrupted` when the text is not a valid slug.
  public init(from decoder: any Decoder) throws {
    let raw = try decoder.singleValueContainer().decode(String.self)
    guard let id = ReplicaID(rawValue: raw) else {
      throw DecodingError.dataCorrupted(
        .init(codingPath: decoder.codingPath, debugDescription: "invalid office slug '\(raw)'"))
    }
    self = id
  }

  /// Encodes the replica id as its slug.
  public func encode(to encoder: any Encoder) throws {
    var container = encoder.singleValueContainer()
    try container.encode(rawValue)
  }

  /// The slug, the same as `rawValue`.
  public var description: String { rawValue }

  /// Byte order of the slug, the same on every platform.
  public static func < (lhs: ReplicaID, rhs: ReplicaID) -> Bool {
    lhs.rawValue.utf8.lexicographicallyPrecedes(rhs.rawValue.utf8)
  }

  static func isValid(_ slug: String) -> Bool {
    // Checked on the UTF-8 view, without copying: every slug of every
    // version vector read passes here.
    let bytes = slug.utf8
    guard (1...63).contains(bytes.count) else { return false }
    guard bytes.first != UInt8(ascii: "-"), bytes.last != UInt8(ascii: "-") else { return false }
    return bytes.allSatisfy { byte in
      (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
        || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
        || byte == UInt8(ascii: "-")
    }
  }

}
