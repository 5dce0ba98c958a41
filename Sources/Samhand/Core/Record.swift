/// The merged value of one field.
public enum FieldValue: Hashable, Sendable {
  /// A scalar field: the value shown (the winner, if siblings are in conflict).
  case value(Value)
  /// A set field's elements, sorted by their bytes.
  case set([String])
  /// A map field's entries: each key's shown value.
  case map([String: Value])
}

/// A record as merged on this replica.
public struct Record: Hashable, Sendable {
  /// The collection the record belongs to.
  public var collection: String
  /// The record's id within its collection.
  public var id: String
  /// Fields that hold something; a field never written is absent.
  public var fields: [String: FieldValue]
  /// Open conflicts on this record: field conflicts sorted by field and
  /// key, then the record's delete conflict, if any.
  public var conflicts: [Conflict]

  /// A reference to this record.
  public var ref: RecordRef { RecordRef(collection, id) }

  /// Whether a delete and a concurrent update of this record await review.
  public var hasDeleteConflict: Bool { conflicts.contains { $0.kind == .delete } }
}

/// A field, map key or record with more than one concurrent state.
public struct Conflict: Hashable, Sendable {
  /// What is in conflict: a value, or the record's existence.
  public enum Kind: String, Hashable, Sendable {
    /// Concurrent values of a scalar field or a map key.
    case value
    /// A delete concurrent with an update of the same record.
    case delete
  }

  /// Whether the conflict is over a value or over a delete.
  public var kind: Kind
  /// The collection of the record in conflict.
  public var collection: String
  /// The id of the record in conflict.
  public var recordID: String
  /// The field, for a value conflict.
  public var field: String?
  /// The map key, for a value conflict in a map field.
  public var key: String?
  /// The concurrent states, the one shown first (see `Sibling` for the order).
  public var siblings: [Sibling]

  /// A reference to the record in conflict.
  public var ref: RecordRef { RecordRef(collection, recordID) }
}

/// One of the concurrent states in a conflict.
///
/// Siblings are ordered the same way on every replica: the higher Lamport
/// stamp first, and for equal stamps the author slug that sorts later in
/// byte order. The first sibling is the value shown while the conflict is open.
public struct Sibling: Hashable, Sendable {
  /// The office that wrote this state.
  public var author: ReplicaID
  /// The author's changeset sequence number that wrote it.
  public var sequence: UInt64
  /// The Lamport stamp of the changeset that wrote it, which decides the order.
  public var lamport: UInt64
  /// When the author committed it (milliseconds since 1970), for display only.
  public var timestamp: Int64
  /// The value, for a value conflict; nil for the siblings of a delete conflict.
  public var value: Value?
  /// For a delete conflict: whether this sibling deleted the record.
  public var deleted: Bool

  /// The dot of the write: its author and sequence number.
  public var dot: Dot { Dot(author, sequence) }

  /// The fixed total order on siblings: true when `self` is shown before `other`.
  func precedes(_ other: Sibling) -> Bool {
    if lamport != other.lamport { return lamport > other.lamport }
    if author != other.author { return other.author < author }
    return sequence > other.sequence
  }
}

/// One changeset's writes to a record (or to the whole store), for history.
public struct HistoryEntry: Hashable, Sendable {
  /// The changeset's id.
  public var changeset: Changeset.ID
  /// The changeset's Lamport stamp, which orders the history.
  public var lamport: UInt64
  /// Commit time in milliseconds since 1970, for display only.
  public var timestamp: Int64
  /// The changeset's edits to what the history is about: the record, the
  /// collection, or (for the whole store) all of them.
  public var edits: [Edit]
  /// Why the changeset was rejected, if it was.
  public var rejected: String?
}
