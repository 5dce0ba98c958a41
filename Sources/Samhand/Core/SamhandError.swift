import Foundation

/// An error from Samhand, with a stable code and whatever context is known.
///
/// Match on the code with `catch SamhandError.schemaViolation { ... }`.
/// The `description` is meant for people and may change between versions;
/// it names the record and field but never includes document contents.
public struct SamhandError: Error, Sendable, CustomStringConvertible {
  /// A stable identifier for the kind of failure.
  public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }
  }

  public var code: Code
  /// What went wrong, in words.
  public var message: String
  public var collection: String?
  public var recordID: String?
  public var field: String?
  public var changesetID: Changeset.ID?
  public var fileURL: URL?
  public var replicaID: ReplicaID?
  /// Byte offset in the file or buffer where decoding failed.
  public var offset: Int?
  /// Line number (1-based) in a text input, where known.
  public var line: Int?

  public init(
    _ code: Code, _ message: String, collection: String? = nil,
    recordID: String? = nil, field: String? = nil,
    changesetID: Changeset.ID? = nil, fileURL: URL? = nil,
    replicaID: ReplicaID? = nil, offset: Int? = nil, line: Int? = nil
  ) {
    self.code = code
    self.message = message
    self.collection = collection
    self.recordID = recordID
    self.field = field
    self.changesetID = changesetID
    self.fileURL = fileURL
    self.replicaID = replicaID
    self.offset = offset
    self.line = line
  }

  public var description: String {
    var parts: [String] = []
    if let fileURL, !message.contains(fileURL.path) { parts.append(fileURL.path) }
    if let line { parts.append("line \(line)") }
    if let changesetID { parts.append("changeset \(changesetID)") }
    if let offset { parts.append("byte \(offset)") }
    var location = parts.joined(separator: ", ")
    if !location.isEmpty { location += ": " }
    return location + message
  }
}

// MARK: - Codes

extension SamhandError.Code {
  /// A write breaks the schema: unknown collection or field, wrong kind.
  public static let schemaViolation = Self(rawValue: "schema-violation")
  /// A schema file is malformed.
  public static let invalidSchema = Self(rawValue: "invalid-schema")
  /// An argument is malformed (a slug, a record id, a value).
  public static let invalidArgument = Self(rawValue: "invalid-argument")
  /// A changeset file is truncated, corrupt or fails its checksum.
  public static let corruptChangeset = Self(rawValue: "corrupt-changeset")
  /// A file uses a format version this Samhand does not know.
  public static let unsupportedFormat = Self(rawValue: "unsupported-format")
  /// A changeset belongs to another store.
  public static let wrongStore = Self(rawValue: "wrong-store")
  /// Two different changesets claim the same author and sequence number.
  public static let slugCollision = Self(rawValue: "slug-collision")
  /// No store at the given place, or the place is not a store.
  public static let storeNotFound = Self(rawValue: "store-not-found")
  /// A store already exists where one was to be created.
  public static let storeExists = Self(rawValue: "store-exists")
  /// The local database failed or is damaged.
  public static let storage = Self(rawValue: "storage")
  /// A record, conflict or changeset that was asked for does not exist.
  public static let notFound = Self(rawValue: "not-found")
  /// Reading or writing a file failed.
  public static let io = Self(rawValue: "io")
}

extension SamhandError {
  public static let schemaViolation = Code.schemaViolation
  public static let invalidSchema = Code.invalidSchema
  public static let invalidArgument = Code.invalidArgument
  public static let corruptChangeset = Code.corruptChangeset
  public static let unsupportedFormat = Code.unsupportedFormat
  public static let wrongStore = Code.wrongStore
  public static let slugCollision = Code.slugCollision
  public static let storeNotFound = Code.storeNotFound
  public static let storeExists = Code.storeExists
  public static let storage = Code.storage
  public static let notFound = Code.notFound
  public static let io = Code.io
}

/// Lets callers write `catch SamhandError.corruptChangeset`.
public func ~= (pattern: SamhandError.Code, value: any Error) -> Bool {
  (value as? SamhandError)?.code == pattern
}
