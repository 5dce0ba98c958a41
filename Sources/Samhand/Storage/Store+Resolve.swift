import Foundation

// MARK: - Resolving conflicts

extension Store {
  /// Resolves a value conflict with a new value: an ordinary write whose
  /// context covers every sibling this replica has seen.
  ///
  /// - Parameters:
  ///   - key: the map key, for a conflict inside a map field.
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
  /// - Throws: `SamhandError.notFound` when there is no such conflict or
  ///   that office wrote none of its siblings.
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
      // Re-write what the record shows, so the fields the delete had hidden
      // survive once the delete is superseded.
      try transaction.touch(collection, id)
      for (field, value) in record.fields.sorted(by: { $0.key < $1.key }) {
        switch value {
        case .value(let value): try transaction.set(collection, id, field, value)
        case .set(let elements): for element in elements { try transaction.add(collection, id, field, element) }
        case .map(let map):
          for (key, value) in map.sorted(by: { $0.key < $1.key }) { try transaction.put(collection, id, field, key: key, value) }
        }
      }
    }
  }
}
