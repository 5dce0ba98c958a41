import Foundation

/// An error from Samhand, with a stable code and whatever context is known.
///
/// Match on the code with `catch SamhandError.schemaViolation { ... }`.
/// The `description` is meant for people and may change between versions.
/// It names the file, record and field; of a record's contents it shows at
/// most the single value that was refused (a malformed date, a number out
/// of range), so that people can find it.
public struct SamhandError: Error, Sendable, CustomStringConvertible {
  /// A stable identifier for the kind of failure.
  public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The code's stable text, such as `corrupt-changeset`.
    public var rawValue: String
    /// Creates a code from its text.
    public init(rawValue: String) { self.rawValue = rawValue }
    /// The code's text, the same as `rawValue`.
    public var description: String { rawValue }
  }

  /// The kind of failure: stable, so match on it rather than on the message.
  public var code: Code
  /// What went wrong, in words.
  public var message: String
  /// The collection involved, where known.
  public var collection: String?
  /// The id of the record involved, where known.
  public var recordID: String?
  /// The field involved, where known.
  public var field: String?
  /// The changeset involved, where known.
  public var changesetID: Changeset.ID?
  /// The file or folder involved, where known.
  public var fileURL: URL?
  /// The office involved, where known, such as the author of colliding changesets.
  public var replicaID: ReplicaID?
  /// Byte offset in the file or buffer where decoding failed.
  public var offset: Int?
  /// Line number (1-based) in a text input, where known.
  public var line: Int?

  /// Creates an error with a code, a message, and whatever context is known.
  ///
  /// Every context argument is optional: pass what is known about where the
  /// failure happened.
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

  /// The message for people, preceded by the file, line, changeset and byte
  /// offset where known.
  ///
  /// The wording is meant for people and is not stable: it may change
  /// between versions, so match on ``code`` instead of parsing it.
  public var description: String {
    var parts: [String] = []
    if let fileURL, !message.contains(SharedFolder.describe(fileURL)) { parts.append(SharedFolder.describe(fileURL)) }
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
  /// A write breaks the schema; see ``SamhandError/Code/schemaViolation``.
  public static let schemaViolation = Code.schemaViolation
  /// A schema file is malformed; see ``SamhandError/Code/invalidSchema``.
  public static let invalidSchema = Code.invalidSchema
  /// An argument is malformed; see ``SamhandError/Code/invalidArgument``.
  public static let invalidArgument = Code.invalidArgument
  /// A changeset file is damaged; see ``SamhandError/Code/corruptChangeset``.
  public static let corruptChangeset = Code.corruptChangeset
  /// A file's format version is unknown; see ``SamhandError/Code/unsupportedFormat``.
  public static let unsupportedFormat = Code.unsupportedFormat
  /// A changeset belongs to another store; see ``SamhandError/Code/wrongStore``.
  public static let wrongStore = Code.wrongStore
  /// Two changesets claim one id; see ``SamhandError/Code/slugCollision``.
  public static let slugCollision = Code.slugCollision
  /// No store where one was expected; see ``SamhandError/Code/storeNotFound``.
  public static let storeNotFound = Code.storeNotFound
  /// A store is already there; see ``SamhandError/Code/storeExists``.
  public static let storeExists = Code.storeExists
  /// The local database failed; see ``SamhandError/Code/storage``.
  public static let storage = Code.storage
  /// Something asked for does not exist; see ``SamhandError/Code/notFound``.
  public static let notFound = Code.notFound
  /// Reading or writing a file failed; see ``SamhandError/Code/io``.
  public static let io = Code.io
}

/// Lets callers write `catch SamhandError.corruptChangeset`.
public func ~= (pattern: SamhandError.Code, value: any Error) -> Bool {
  (value as? SamhandError)?.code == pattern
}
