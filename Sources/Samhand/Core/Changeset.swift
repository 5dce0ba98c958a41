import Foundation

/// The identity of a store: a random id fixed when the shared folder is created.
public struct StoreID: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
  /// The id as a UUID in lowercase text.
  public let rawValue: String

  /// Creates a store id from its text, or returns nil unless the text is a
  /// UUID written in lowercase with hyphens.
  public init?(rawValue: String) {
    guard let uuid = UUID(uuidString: rawValue), uuid.uuidString.lowercased() == rawValue else {
      return nil
    }
    self.rawValue = rawValue
  }

  /// A new random store id.
  public static func random() -> StoreID {
    StoreID(rawValue: UUID().uuidString.lowercased())!
  }

  /// The id's text, the same as `rawValue`.
  public var description: String { rawValue }
}

/// One local transaction's writes, as it travels between replicas.
public struct Changeset: Hashable, Sendable {
  /// Author and sequence number: unique in a store.
  public struct ID: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The office that wrote the changeset.
    public var author: ReplicaID
    /// The changeset's place among its author's changesets, counting from 1.
    public var sequence: UInt64

    /// Creates the id of an author's changeset with the given sequence number.
    public init(author: ReplicaID, sequence: UInt64) {
      self.author = author
      self.sequence = sequence
    }

    /// The id as `author#sequence`, such as `vestland#3`.
    public var description: String { "\(author)#\(sequence)" }

    /// Orders ids by author slug in byte order, then by sequence number.
    public static func < (lhs: ID, rhs: ID) -> Bool {
      lhs.author == rhs.author ? lhs.sequence < rhs.sequence : lhs.author < rhs.author
    }
  }

  /// The store the changeset belongs to; replicas of other stores refuse it.
  public var storeID: StoreID
  /// The office whose replica wrote the changeset.
  public var author: ReplicaID
  /// 1 for an office's first changeset, then one more each time.
  public var sequence: UInt64
  /// The author's version vector when it wrote: what this changeset depends on.
  /// Always includes the author's own previous changeset.
  public var dependencies: VersionVector
  /// Lamport stamp: one more than the highest stamp the author had seen.
  public var lamport: UInt64
  /// Wall-clock time of the commit, in milliseconds since 1970. For display only.
  public var timestamp: Int64
  /// The writes, in the order they are applied.
  public var edits: [Edit]
  /// Signatures over the file's header and payload, by the author's key.
  /// Carried in the file's signature block; empty until trust is set up.
  public var signatures: [Signature] = []

  /// A signature in a changeset file.
  public struct Signature: Hashable, Sendable {
    /// The fingerprint of the signing key.
    public var keyID: String
    /// The signature's bytes.
    public var bytes: [UInt8]

    /// Creates a signature from the signing key's fingerprint and the signature's bytes.
    public init(keyID: String, bytes: [UInt8]) {
      self.keyID = keyID
      self.bytes = bytes
    }
  }

  /// Creates a changeset from its parts, with no signatures.
  ///
  /// Nothing is checked here. A store checks a changeset from another
  /// replica when it receives its file: the file's format and checksums
  /// and its store; it then waits for the changeset's dependencies and
  /// checks its edits against the schema before applying it.
  public init(
    storeID: StoreID, author: ReplicaID, sequence: UInt64, dependencies: VersionVector,
    lamport: UInt64, timestamp: Int64, edits: [Edit]
  ) {
    self.storeID = storeID
    self.author = author
    self.sequence = sequence
    self.dependencies = dependencies
    self.lamport = lamport
    self.timestamp = timestamp
    self.edits = edits
  }

  /// The changeset's id: its author and sequence number.
  public var id: ID { ID(author: author, sequence: sequence) }
  /// The dot that every edit of the changeset carries.
  public var dot: Dot { Dot(author, sequence) }

  /// The wall-clock time as a `Date`, for display.
  public var date: Date { Date(timeIntervalSince1970: Double(timestamp) / 1000) }

  /// Whether a write with this dot was known to the author (or is this changeset's own).
  func covers(_ dot: Dot) -> Bool {
    dot == self.dot || dependencies.contains(dot)
  }
}
