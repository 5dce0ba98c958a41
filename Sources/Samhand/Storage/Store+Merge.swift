import Foundation
import GRDB

/// The merge: how one changeset's edits change the stored state.
///
/// State is kept as *entries* and *markers*:
/// - An entry is one value at a path (field; field and set element; field
///   and map key) with the dot of the changeset that wrote it. A write at a
///   path removes the entries there whose dots the writer had seen (its
///   context) and adds its own; entries it had not seen stay as siblings.
/// - A marker records that a changeset touched a record, as a write (live)
///   or a delete. Only markers no later changeset has seen are kept, so a
///   record is visible when one of its markers is live, and a live and a
///   delete marker together are an update/delete conflict.
/// - A delete hides the entries it had seen as *shadow* entries. They stay
///   while the delete is in conflict with a concurrent update (so nothing is
///   lost during review) and are dropped once a later changeset has seen
///   the delete.
///
/// With causal delivery, the result is the same whatever order concurrent
/// changesets are applied in.
extension Store {
  func applyEffects(of changeset: Changeset, _ db: Database) throws {
    // Group edits by record, keeping their order within a record.
    var order: [RecordRef] = []
    var byRecord: [RecordRef: [Edit]] = [:]
    for operation in changeset.edits where operation.record.collection != Roster.collection {
      if byRecord[operation.record] == nil { order.append(operation.record) }
      byRecord[operation.record, default: []].append(operation)
    }
    let dot = changeset.dot
    let lamport = Int64(changeset.lamport)
    // The delete context includes the changeset's own dot, so entries it
    // wrote before deleting the record are covered too.
    var deleteContext = changeset.dependencies
    deleteContext[dot.replica] = dot.counter
    let deleteContextBlob = Store.encodeVector(deleteContext)
    let statements = try MergeStatements(db)
    // What the changeset covers (its dependencies and its own dot, which
    // is `deleteContext`), as a table the statements below compare with,
    // so that superseding is one DELETE in SQL rather than rows read into
    // Swift and deleted one by one.
    try statements.clearContext.execute()
    for (replica, counter) in deleteContext.counters {
      try statements.addContext.execute(arguments: [replica.rawValue, Int64(counter)])
    }

    for record in order {
      let edits = byRecord[record]!
      let endsDeleted: Bool = {
        if case .delete = edits.last! { return true }
        return false
      }()
      for operation in edits {
        switch operation {
        case .set(_, let field, let value):
          try supersede(record, field, "", statements)
          try insertEntry(record, field, "", dot, lamport, value, statements)
        case .put(_, let field, let key, let value):
          try supersede(record, field, key, statements)
          try insertEntry(record, field, key, dot, lamport, value, statements)
        case .add(_, let field, let element):
          try supersede(record, field, element, statements)
          try insertEntry(record, field, element, dot, lamport, nil, statements)
        case .remove(_, let field, let key), .removeKey(_, let field, let key):
          try supersede(record, field, key, statements)
        case .touch:
          break
        case .delete:
          try hideEntries(of: record, covered: deleteContext, shadow: endsDeleted, db)
        }
      }
      try replaceMarkers(
        of: record, dot: dot, lamport: lamport, deleted: endsDeleted,
        context: endsDeleted ? deleteContextBlob : nil, changeset: changeset, statements, db)
      try statements.touch.execute(arguments: [record.collection, record.id, dot.replica.rawValue, Int64(dot.counter)])
    }
    // The snapshot hash rebuilds the pieces of the records it wrote.
    try statements.markDirty.execute(arguments: [dot.replica.rawValue, Int64(dot.counter)])
  }

  /// The statements of the merge, looked up once per changeset rather than
  /// once per edit (finding a cached statement hashes its SQL).
  struct MergeStatements {
    let clearContext: Statement
    let addContext: Statement
    let deletePath: Statement
    let insertEntry: Statement
    let deleteMarkers: Statement
    let insertMarker: Statement
    let touch: Statement
    let markDirty: Statement

    /// Whether the changeset covers the dot of the row (`author`, `counter`).
    static let covered = "counter <= coalesce((SELECT counter FROM temp.merge_context WHERE replica = author), 0)"

    init(_ db: Database) throws {
      try db.execute(
        sql: "CREATE TEMP TABLE IF NOT EXISTS merge_context(replica TEXT PRIMARY KEY, counter INTEGER NOT NULL) WITHOUT ROWID")
      clearContext = try db.cachedStatement(sql: "DELETE FROM temp.merge_context")
      addContext = try db.cachedStatement(sql: "INSERT INTO temp.merge_context(replica, counter) VALUES (?, ?)")
      deletePath = try db.cachedStatement(
        sql: "DELETE FROM entries WHERE collection = ? AND record = ? AND field = ? AND key = ? AND \(MergeStatements.covered)")
      insertEntry = try db.cachedStatement(
        sql: "INSERT OR REPLACE INTO entries(collection, record, field, key, author, counter, lamport, value, shadow) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)")
      deleteMarkers = try db.cachedStatement(
        sql: "DELETE FROM markers WHERE collection = ? AND record = ? AND \(MergeStatements.covered) RETURNING deleted, context")
      insertMarker = try db.cachedStatement(
        sql: "INSERT OR REPLACE INTO markers(collection, record, author, counter, lamport, deleted, context) VALUES (?, ?, ?, ?, ?, ?, ?)")
      touch = try db.cachedStatement(
        sql: "INSERT OR IGNORE INTO touches(collection, record, author, seq) VALUES (?, ?, ?, ?)")
      markDirty = try Store.markDirtyStatement(db)
    }
  }

  /// Removes the entries at a path that the changeset had seen (its
  /// context is in `temp.merge_context`).
  private func supersede(_ record: RecordRef, _ field: String, _ key: String, _ statements: MergeStatements) throws {
    try statements.deletePath.execute(arguments: [record.collection, record.id, field, key])
  }

  private func insertEntry(
    _ record: RecordRef, _ field: String, _ key: String, _ dot: Dot, _ lamport: Int64, _ value: Value?,
    _ statements: MergeStatements
  ) throws {
    let blob = value.map { value -> Data in
      var writer = BinaryWriter()
      ChangesetFile.encodeValue(value, to: &writer)
      return Data(writer.bytes)
    }
    try statements.insertEntry.execute(
      arguments: [record.collection, record.id, field, key, dot.replica.rawValue, Int64(dot.counter), lamport, blob])
  }

  /// A delete: entries it had seen become shadow entries (or go, when the
  /// same changeset writes the record again afterwards).
  private func hideEntries(of record: RecordRef, covered context: VersionVector, shadow: Bool, _ db: Database) throws {
    let rows = try Row.fetchAll(
      try db.cachedStatement(sql: "SELECT field, key, author, counter FROM entries WHERE collection = ? AND record = ?"),
      arguments: [record.collection, record.id])
    let change = try db.cachedStatement(
      sql: shadow
        ? "UPDATE entries SET shadow = 1 WHERE collection = ? AND record = ? AND field = ? AND key = ? AND author = ? AND counter = ?"
        : "DELETE FROM entries WHERE collection = ? AND record = ? AND field = ? AND key = ? AND author = ? AND counter = ?")
    for row in rows {
      let author: String = row[2]
      let counter: Int64 = row[3]
      guard let replica = ReplicaID(rawValue: author), context.contains(Dot(replica, UInt64(counter))) else { continue }
      try change.execute(arguments: [record.collection, record.id, row[0] as String, row[1] as String, author, counter])
    }
  }

  /// Adds the changeset's marker and removes the markers it had seen; a
  /// delete marker that is seen drops the shadow entries it kept.
  private func replaceMarkers(
    of record: RecordRef, dot: Dot, lamport: Int64, deleted: Bool, context: Data?, changeset: Changeset,
    _ statements: MergeStatements, _ db: Database
  ) throws {
    // The delete markers it had seen, removed, still to drop their shadows.
    var seenDeletes: [Data] = []
    let removed = try Row.fetchCursor(statements.deleteMarkers, arguments: [record.collection, record.id])
    while let row = try removed.next() {
      if (row[0] as Int64) != 0, let blob = row[1] as Data? { seenDeletes.append(blob) }
    }
    for blob in seenDeletes {
      try dropShadows(of: record, seenBy: try Store.decodeVector(blob), db)
    }
    try statements.insertMarker.execute(
      arguments: [record.collection, record.id, dot.replica.rawValue, Int64(dot.counter), lamport, deleted, context])
  }

  private func dropShadows(of record: RecordRef, seenBy context: VersionVector, _ db: Database) throws {
    let rows = try Row.fetchAll(
      try db.cachedStatement(sql: "SELECT field, key, author, counter FROM entries WHERE collection = ? AND record = ? AND shadow = 1"),
      arguments: [record.collection, record.id])
    for row in rows {
      let author: String = row[2]
      let counter: Int64 = row[3]
      guard let replica = ReplicaID(rawValue: author), context.contains(Dot(replica, UInt64(counter))) else { continue }
      try db.execute(
        sql: "DELETE FROM entries WHERE collection = ? AND record = ? AND field = ? AND key = ? AND author = ? AND counter = ?",
        arguments: [record.collection, record.id, row[0] as String, row[1] as String, author, counter])
    }
  }
}
