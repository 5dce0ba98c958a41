import Foundation

// MARK: - Typed records

extension Store {
  /// Saves a typed record in one transaction, writing only the fields whose
  /// values differ from what this replica shows.
  ///
  /// Saving an unchanged value writes nothing and returns nil. Because only
  /// changed fields are written, two offices that edit different fields of
  /// one record never conflict, and set and map fields merge element by
  /// element and key by key. See ``Transaction/save(_:over:)`` for the
  /// details, and to save inside a larger transaction.
  ///
  /// ```swift
  /// var ola = try store.load(Membership.self, id: "vestland-ola")!
  /// ola.role = "styremedlem"
  /// try store.save(ola)   // one changeset that sets `role`
  /// ```
  ///
  /// The comparison is with the replica as it is when `save` is called. A
  /// program that keeps a value for a long while (on screen, say) and wants
  /// to write back only what its user changed can save over the record as
  /// it was read instead: `store.transact { try $0.save(value, over: read) }`.
  ///
  /// - Returns: the new changeset, or nil when nothing differed.
  /// - Throws: `SamhandError.schemaViolation` when the type or a value does
  ///   not fit the schema (an unknown collection, a property that is not a
  ///   field, a wrong kind), naming the record and the field; nothing is
  ///   written then. `SamhandError.invalidArgument` for a bad record id.
  @discardableResult
  public func save<T: TypedRecord>(_ record: T) throws -> Changeset? {
    try schema.checkCollection(T.collection, recordID: record.id)
    // Read, diff, and commit only if the record did not change in between
    // (a sync landing at that moment): otherwise read and diff again, so a
    // concurrent write is never superseded unseen.
    for _ in 0..<10 {
      let current = try self.record(T.collection, record.id)
      let ref = RecordRef(T.collection, current?.id ?? record.id.precomposedStringWithCanonicalMapping)
      do {
        return try transact(expecting: (ref, current)) { transaction in try transaction.save(record, over: current) }
      } catch is StaleRead {
        continue
      }
    }
    throw SamhandError(
      .storage, "\(T.collection)/\(record.id) kept changing while it was being saved; try again",
      collection: T.collection, recordID: record.id)
  }

  /// Reads a typed record, or returns nil when the record does not exist
  /// or is deleted.
  ///
  /// A field in conflict reads as the value shown while the conflict is
  /// open; ``record(_:_:)`` lists the conflicts.
  ///
  /// ```swift
  /// if let ola = try store.load(Membership.self, id: "vestland-ola") {
  ///   print(ola.person, ola.groups.sorted())
  /// }
  /// ```
  ///
  /// - Throws: `SamhandError.schemaViolation` for an unknown collection, a
  ///   property that is not a field or whose type is of another kind;
  ///   `SamhandError.decodingFailed` when the record lacks a field that a
  ///   non-optional property needs, or a value does not fit its property.
  public func load<T: TypedRecord>(_ type: T.Type, id: String) throws -> T? {
    try schema.checkCollection(T.collection, recordID: id)
    return try record(T.collection, id).map { try decode(type, from: $0) }
  }

  /// Reads every record of the type's collection, sorted by id bytes.
  ///
  /// ```swift
  /// let board = try store.all(Membership.self).filter { $0.network == "sevs-styret" }
  /// ```
  ///
  /// - Throws: as ``load(_:id:)``, for the first record that cannot be
  ///   read. To skip such records instead, decode the records of
  ///   ``records(in:)`` one by one with ``decode(_:from:)``.
  public func all<T: TypedRecord>(_ type: T.Type) throws -> [T] {
    try records(in: T.collection).map { try decode(type, from: $0) }
  }

  /// Reads a record already fetched (with its conflicts) as a typed record.
  ///
  /// ```swift
  /// if let record = try store.record(Membership.collection, "vestland-ola") {
  ///   let ola = try store.decode(Membership.self, from: record)
  ///   for conflict in record.conflicts { print(conflict.field ?? "", conflict.siblings.count) }
  /// }
  /// ```
  ///
  /// - Throws: as ``load(_:id:)``; `SamhandError.invalidArgument` when the
  ///   record belongs to another collection.
  public func decode<T: TypedRecord>(_ type: T.Type, from record: Record) throws -> T {
    try schema.checkCollection(T.collection, recordID: record.id)
    guard record.collection == T.collection else {
      throw SamhandError(
        .invalidArgument,
        "\(record.ref) is not a record of \(T.collection), the collection of \(String(describing: T.self))",
        collection: record.collection, recordID: record.id)
    }
    let context = TypedRecordContext(collection: T.collection, recordID: record.id, typeName: String(describing: T.self))
    return try RecordDecoder.decode(type, from: record, definition: schema.collections[T.collection]!, context: context)
  }
}
