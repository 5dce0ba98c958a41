/// A reference to one record: its collection and id.
public struct RecordRef: Hashable, Comparable, Sendable, CustomStringConvertible {
  /// The name of the record's collection.
  public var collection: String
  /// The record's id within its collection.
  public var id: String

  /// Creates a reference from a collection name and a record id, used as given.
  public init(_ collection: String, _ id: String) {
    self.collection = collection
    self.id = id
  }

  /// The reference as `collection/id`.
  public var description: String { "\(collection)/\(id)" }

  /// Byte order of collection, then id: the same on every platform.
  public static func < (lhs: RecordRef, rhs: RecordRef) -> Bool {
    if lhs.collection != rhs.collection {
      return lhs.collection.utf8.lexicographicallyPrecedes(rhs.collection.utf8)
    }
    return lhs.id.utf8.lexicographicallyPrecedes(rhs.id.utf8)
  }
}

/// One write inside a changeset.
///
/// All edits of a changeset share its dot and its context (the
/// author's version vector when it wrote).
public enum Edit: Hashable, Sendable {
  /// Sets a scalar field. Supersedes the values the author had seen.
  case set(RecordRef, field: String, value: Value)
  /// Adds an element to a set field.
  case add(RecordRef, field: String, element: String)
  /// Removes an element from a set field, as far as the author had seen it added.
  case remove(RecordRef, field: String, element: String)
  /// Sets one key of a map field.
  case put(RecordRef, field: String, key: String, value: Value)
  /// Removes one key of a map field, as far as the author had seen it.
  case removeKey(RecordRef, field: String, key: String)
  /// Marks a record as existing without changing a field; creates an empty record.
  case touch(RecordRef)
  /// Deletes a record, as far as the author had seen it.
  case delete(RecordRef)

  /// The record the edit writes to.
  public var record: RecordRef {
    switch self {
    case .set(let record, _, _), .add(let record, _, _), .remove(let record, _, _),
      .put(let record, _, _, _), .removeKey(let record, _, _), .touch(let record),
      .delete(let record):
      record
    }
  }

  /// The field written, or nil for record-level edits.
  public var field: String? {
    switch self {
    case .set(_, let field, _), .add(_, let field, _), .remove(_, let field, _),
      .put(_, let field, _, _), .removeKey(_, let field, _):
      field
    case .touch, .delete: nil
    }
  }
}
