import Foundation
import GRDB

// MARK: - Records

extension Store {
  /// The merged record, or nil when it does not exist or is deleted.
  public func record(_ collection: String, _ id: String) throws -> Record? {
    try schema.checkCollection(collection, recordID: id)
    let id = id.precomposedStringWithCanonicalMapping
    return try read { db in try loadRecord(RecordRef(collection, id), db) }
  }

  /// Reads one record's merge state and assembles it.
  func loadRecord(_ ref: RecordRef, _ db: Database) throws -> Record? {
    try merge(db).state(ref).record(ref, schema: schema)
  }

  /// Every visible record of a collection, sorted by id bytes.
  public func records(in collection: String) throws -> [Record] {
    try schema.checkCollection(collection)
    return try read { db in try allRecords(in: collection, db) }
  }

  func allRecords(in collection: String, _ db: Database) throws -> [Record] {
    try flushMerge(db)
    var records: [Record] = []
    // Row by row from SQLite, in the table's order: the ids' bytes.
    let rows = try Row.fetchCursor(
      db, sql: "SELECT record, state FROM records WHERE collection = ? AND body IS NOT NULL ORDER BY record",
      arguments: [collection])
    while let row = try rows.next() {
      let ref = RecordRef(collection, row[0] as String)
      if let record = try RecordState(encoded: [UInt8](row[1] as Data)).record(ref, schema: schema) { records.append(record) }
    }
    return records
  }

  /// Every open conflict, sorted by collection, record, field and key.
  public func conflicts() throws -> [Conflict] {
    try read { db in
      try flushMerge(db)
      var result: [Conflict] = []
      for collection in schema.collectionNames {
        let rows = try Row.fetchCursor(
          db, sql: "SELECT record, state FROM records WHERE collection = ? AND flags & 2 ORDER BY record",
          arguments: [collection])
        while let row = try rows.next() {
          let ref = RecordRef(collection, row[0] as String)
          result += try RecordState(encoded: [UInt8](row[1] as Data)).record(ref, schema: schema)?.conflicts ?? []
        }
      }
      return result
    }
  }
}

extension Store {
  /// How many conflicts are open: `conflicts().count`, without building them.
  ///
  /// Counted from the stored conflict pieces (canonical JSON objects joined
  /// by commas, `Docs/STORAGE.md`), so a sync can report the number without
  /// decoding every conflicted record.
  public func conflictCount() throws -> Int {
    try read { db in
      try flushMerge(db)
      var count = 0
      let rows = try Row.fetchCursor(db, sql: "SELECT conflicts FROM records WHERE flags & 2")
      while let row = try rows.next() {
        let piece: Data = row[0]
        count += piece.withUnsafeBytes { Store.topLevelObjects(in: $0) }
      }
      return count
    }
  }

  /// The number of JSON objects at the top level of `bytes` (objects joined
  /// by commas); braces inside strings do not count.
  static func topLevelObjects(in bytes: UnsafeRawBufferPointer) -> Int {
    var count = 0, depth = 0
    var inString = false, escaped = false
    for byte in bytes {
      if inString {
        if escaped {
          escaped = false
        } else if byte == UInt8(ascii: "\\") {
          escaped = true
        } else if byte == UInt8(ascii: "\"") {
          inString = false
        }
        continue
      }
      switch byte {
      case UInt8(ascii: "\""): inString = true
      case UInt8(ascii: "{"), UInt8(ascii: "["):
        if depth == 0 && byte == UInt8(ascii: "{") { count += 1 }
        depth += 1
      case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
      default: break
      }
    }
    return count
  }
}

// MARK: - History

extension Store {
  /// Every changeset that touched a record, oldest first (by Lamport stamp, then author).
  public func history(of collection: String, _ id: String) throws -> [HistoryEntry] {
    try schema.checkCollection(collection, recordID: id)
    let id = id.precomposedStringWithCanonicalMapping
    let rows = try read { db in
      let statement = try db.cachedStatement(
        sql: """
          SELECT c.author, c.seq, c.lamport, c.wall, f.bytes, c.rejected FROM changesets c
          JOIN changeset_files f ON f.author = c.author AND f.seq = c.seq
          WHERE c.author = ? AND c.seq = ?
          """)
      return try Set(try merge(db).touches(RecordRef(collection, id))).sorted().compactMap { dot in
        try Row.fetchOne(statement, arguments: [dot.replica.rawValue, Int64(dot.counter)])
      }
    }
    return try historyEntries(rows) { $0.record == RecordRef(collection, id) }
  }

  /// Every changeset, or those touching one collection, oldest first.
  public func history(collection: String? = nil) throws -> [HistoryEntry] {
    if let collection { try schema.checkCollection(collection) }
    let rows = try read { db in
      try Row.fetchAll(
        db,
        sql: """
          SELECT c.author, c.seq, c.lamport, c.wall, f.bytes, c.rejected FROM changesets c
          JOIN changeset_files f ON f.author = c.author AND f.seq = c.seq
          """)
    }
    return try historyEntries(rows) { collection == nil || $0.record.collection == collection }
      .filter { !$0.edits.isEmpty || collection == nil }
  }

  private func historyEntries(_ rows: [Row], including: (Edit) -> Bool) throws -> [HistoryEntry] {
    let keys = try groupKeys()
    return try rows.map { row in
      let changeset = try ChangesetFile.decode([UInt8](row[4] as Data), keys: keys)
      return HistoryEntry(
        changeset: changeset.id, lamport: changeset.lamport, timestamp: changeset.timestamp,
        edits: changeset.edits.filter(including), rejected: row[5])
    }.sorted { lhs, rhs in
      lhs.lamport != rhs.lamport ? lhs.lamport < rhs.lamport : lhs.changeset < rhs.changeset
    }
  }
}

// MARK: - Changesets

extension Store {
  /// The file bytes of a changeset this replica holds (created or applied).
  public func changesetBytes(_ id: Changeset.ID) throws -> [UInt8]? {
    try read { db in
      try Data.fetchOne(
        db, sql: "SELECT bytes FROM changeset_files WHERE author = ? AND seq = ?",
        arguments: [id.author.rawValue, Int64(id.sequence)]
      ).map { [UInt8]($0) }
    }
  }

  /// This replica's own changesets not yet marked as published, oldest first.
  public func outbox() throws -> [Changeset.ID] {
    try read { db in
      try Int64.fetchAll(
        db, sql: "SELECT seq FROM changesets WHERE author = ? AND published = 0 ORDER BY seq",
        arguments: [replica.rawValue]
      ).map { Changeset.ID(author: replica, sequence: UInt64($0)) }
    }
  }

  /// Marks own changesets as published to the shared folder.
  package func markPublished(_ ids: [Changeset.ID]) throws {
    try write { db in
      for id in ids {
        try db.execute(
          sql: "UPDATE changesets SET published = 1 WHERE author = ? AND seq = ?",
          arguments: [id.author.rawValue, Int64(id.sequence)])
      }
    }
  }

  /// Changesets waiting in the buffer for their dependencies.
  public func pending() throws -> [Changeset.ID] {
    try read { db in
      try Row.fetchAll(db, sql: "SELECT author, seq FROM pending ORDER BY author, seq").compactMap { row in
        ReplicaID(rawValue: row[0]).map { Changeset.ID(author: $0, sequence: UInt64(row[1] as Int64)) }
      }
    }
  }

  /// Changesets applied as rejected, with the reason.
  public func rejected() throws -> [Changeset.ID: String] {
    try read { db in
      var result: [Changeset.ID: String] = [:]
      for row in try Row.fetchAll(db, sql: "SELECT author, seq, rejected FROM changesets WHERE rejected IS NOT NULL") {
        if let author = ReplicaID(rawValue: row[0]) {
          result[Changeset.ID(author: author, sequence: UInt64(row[1] as Int64))] = row[2]
        }
      }
      return result
    }
  }
}
