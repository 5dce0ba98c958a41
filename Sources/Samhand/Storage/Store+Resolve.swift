import Foundation
import GRDB

// MARK: - Resolving conflicts

extension Store {
  /// Resolves a value conflict with a new value: an ordinary write whose
  /// context covers every sibling this replica has seen.
  ///
  /// The value is written in its own transaction, whether or not the field
  /// is in conflict: a `set` of the field, or a `put` of the key when `key`
  /// is given. It replicates like any other write; a sibling this replica
  /// had not seen when it wrote stays in conflict with it.
  ///
  /// - Parameters:
  ///   - collection: the record's collection.
  ///   - id: the record's id.
  ///   - field: the field in conflict: a scalar field, or a map field when
  ///     `key` is given.
  ///   - key: the map key, for a conflict inside a map field.
  ///   - value: the value that replaces the siblings.
  /// - Returns: the changeset that resolves the conflict.
  /// - Throws: `SamhandError.schemaViolation` when the collection or field
  ///   is unknown or the value does not fit the field.
  @discardableResult
  public func resolve(_ collection: String, _ id: String, field: String, key: String? = nil, with value: Value) throws -> Changeset? {
    try transact { transaction in
      if let key {
        try transaction.put(collection, id, field, key: key, value)
      } else {
        try transaction.set(collection, id, field, value)
      }
    }
  }

  /// Resolves a value conflict by taking the value one office wrote.
  ///
  /// Writes that office's sibling value again with
  /// ``resolve(_:_:field:key:with:)``, so the other siblings are superseded.
  ///
  /// - Parameters:
  ///   - collection: the record's collection.
  ///   - id: the record's id.
  ///   - field: the field in conflict: a scalar field, or a map field when
  ///     `key` is given.
  ///   - key: the map key, for a conflict inside a map field.
  ///   - author: the office whose value to keep.
  /// - Returns: the changeset that resolves the conflict.
  /// - Throws: `SamhandError.notFound` when there is no such record or
  ///   conflict, or that office wrote none of its siblings.
  @discardableResult
  public func resolve(_ collection: String, _ id: String, field: String, key: String? = nil, pick author: ReplicaID) throws -> Changeset? {
    guard let record = try record(collection, id) else {
      throw SamhandError(.notFound, "no record \(collection)/\(id)", collection: collection, recordID: id)
    }
    guard let conflict = record.conflicts.first(where: { $0.kind == .value && $0.field == field && $0.key == key }) else {
      throw SamhandError(
        .notFound, "\(collection)/\(id) field '\(field)\(key.map { ".\($0)" } ?? "")' has no open conflict",
        collection: collection, recordID: id, field: field)
    }
    guard let sibling = conflict.siblings.first(where: { $0.author == author }) else {
      let authors = conflict.siblings.map(\.author.rawValue).joined(separator: ", ")
      throw SamhandError(
        .notFound, "'\(author)' wrote none of the values in conflict (they are from: \(authors))",
        collection: collection, recordID: id, field: field, replicaID: author)
    }
    return try resolve(collection, id, field: field, key: key, with: sibling.value ?? .null)
  }

  /// Resolves an update/delete conflict: keep the record with every field
  /// it shows now, or delete it as far as this replica has seen.
  ///
  /// Keeping is a write to the record, and any write to a record in a
  /// delete conflict keeps it (see `Store.transact(_:)`): open field
  /// conflicts on the record stay open for their own resolution.
  ///
  /// - Parameters:
  ///   - collection: the record's collection.
  ///   - id: the record's id.
  ///   - keep: true to keep the record, false to delete it.
  /// - Returns: the changeset that resolves the conflict.
  /// - Throws: `SamhandError.notFound` when the record has no delete conflict.
  @discardableResult
  public func resolveDelete(_ collection: String, _ id: String, keep: Bool) throws -> Changeset? {
    guard let record = try record(collection, id), record.hasDeleteConflict else {
      throw SamhandError(
        .notFound, "\(collection)/\(id) has no open update/delete conflict", collection: collection, recordID: id)
    }
    return try transact { transaction in
      guard keep else {
        try transaction.delete(collection, id)
        return
      }
      // Any write keeps a record in a delete conflict, with what it shows
      // (see `preservingEdits`); a touch is the smallest write.
      try transaction.touch(collection, id)
    }
  }
}

// MARK: - Writes to a record in a delete conflict

extension Store {
  /// Edits that carry a record in a delete conflict over into a write.
  ///
  /// A write to a record supersedes a concurrent delete, and the values
  /// that delete had hidden would go with it. So when a transaction writes
  /// to a record in a delete conflict (to resolve a field, or keep the
  /// record), it also writes again every value the record shows that the
  /// transaction does not write itself: scalar fields, set elements and map
  /// keys. Values in an open field conflict are left alone; their siblings
  /// stay in conflict.
  func preservingEdits(for edits: [Edit], _ db: Database) throws -> [Edit] {
    var last: [RecordRef: Edit] = [:]
    for edit in edits { last[edit.record] = edit }
    let writes = last.filter { if case .delete = $0.value { false } else { true } }.keys
    guard !writes.isEmpty else { return [] }
    // One look-up per record written: the cost follows the transaction,
    // not the number of deleted records in the store.
    let engine = merge(db)
    var extra: [Edit] = []
    for ref in writes.sorted() {
      let state = try engine.state(ref)
      guard state.markers.contains(where: \.deleted) else { continue }
      guard let record = state.record(ref, schema: schema), record.hasDeleteConflict else { continue }
      var written = Set<[String]>()
      for edit in edits where edit.record == ref {
        switch edit {
        case .set(_, let field, _): written.insert([field])
        case .add(_, let field, let key), .remove(_, let field, let key), .put(_, let field, let key, _),
          .removeKey(_, let field, let key):
          written.insert([field, key])
        case .touch, .delete: break
        }
      }
      for conflict in record.conflicts where conflict.kind == .value {
        written.insert(conflict.key.map { [conflict.field!, $0] } ?? [conflict.field!])
      }
      for (field, value) in record.fields.sorted(by: { $0.key < $1.key }) {
        switch value {
        case .value(let value) where !written.contains([field]):
          extra.append(.set(ref, field: field, value: value))
        case .set(let elements):
          for element in elements where !written.contains([field, element]) {
            extra.append(.add(ref, field: field, element: element))
          }
        case .map(let map):
          for (key, value) in map.sorted(by: { $0.key < $1.key }) where !written.contains([field, key]) {
            extra.append(.put(ref, field: field, key: key, value: value))
          }
        default: break
        }
      }
    }
    return extra
  }
}
