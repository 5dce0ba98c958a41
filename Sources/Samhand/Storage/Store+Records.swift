import Foundation
import GRDB

/// The `records` table (store format 6): one row per record, holding its
/// whole merge state, its history and its piece of the snapshot
/// (`Docs/STORAGE.md`).
extension Store {
  /// `flags` bits of a row, each with a partial index, so that syncs find
  /// tombstones and conflicts without reading every record.
  enum RecordFlags {
    static let tombstone: Int64 = 1
    static let conflict: Int64 = 2
  }

  static func createRecordsTable(_ db: Database) throws {
    try db.execute(
      sql: """
        CREATE TABLE IF NOT EXISTS records(
          collection TEXT NOT NULL, record TEXT NOT NULL,
          state BLOB NOT NULL, touches BLOB NOT NULL,
          body BLOB, conflicts BLOB NOT NULL, flags INTEGER NOT NULL DEFAULT 0,
          PRIMARY KEY(collection, record)) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS records_tombstones ON records(collection, record) WHERE flags & 1;
        CREATE INDEX IF NOT EXISTS records_conflicts ON records(collection, record) WHERE flags & 2;
        """)
  }

  /// Brings a store of format 5 or earlier to format 6: the entries,
  /// markers, ownership facts and touches of each record become its row,
  /// with the times of the changesets that wrote them; the old tables go.
  /// Snapshots and the snapshot hash do not change.
  static func migrateToRecords(_ db: Database) throws {
    guard let schemaText = try meta(db, "schema") else {
      throw SamhandError(.storage, "the store's schema is missing; cannot upgrade it")
    }
    let schema = try Schema(json: Data(schemaText.utf8))
    try createRecordsTable(db)
    let tables = Set(try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'"))
    // When each changeset was made: from history, else from the checkpoint this replica started from.
    var walls: [Dot: Int64] = [:]
    for row in try Row.fetchAll(db, sql: "SELECT author, seq, wall FROM changesets") {
      if let author = ReplicaID(rawValue: row[0]) { walls[Dot(author, UInt64(row[1] as Int64))] = row[2] }
    }
    if tables.contains("base_times") {
      for row in try Row.fetchAll(db, sql: "SELECT author, seq, wall FROM base_times") {
        if let author = ReplicaID(rawValue: row[0]) {
          let dot = Dot(author, UInt64(row[1] as Int64))
          if walls[dot] == nil { walls[dot] = row[2] }
        }
      }
    }
    func dot(_ row: Row, _ index: Int) throws -> Dot {
      guard let author = ReplicaID(rawValue: row[index]) else { throw SamhandError(.storage, "a stored slug is damaged") }
      return Dot(author, UInt64(row[index + 1] as Int64))
    }
    let engine = MergeState(db, schema: schema)
    // One table at a time, record by record in the tables' order; the
    // merge state writes the rows as its cache fills.
    if tables.contains("markers") {
      let rows = try Row.fetchCursor(
        db, sql: "SELECT collection, record, author, counter, lamport, deleted, context FROM markers ORDER BY collection, record, author, counter")
      while let row = try rows.next() {
        let marker = try dot(row, 2)
        let context = try (row[6] as Data?).map(decodeVector)
        try engine.update(RecordRef(row[0] as String, row[1] as String)) {
          $0.markers.append(
            RecordState.Marker(
              dot: marker, lamport: UInt64(row[4] as Int64), wall: walls[marker] ?? 0, deleted: (row[5] as Int64) != 0,
              context: context))
        }
      }
    }
    if tables.contains("entries") {
      let rows = try Row.fetchCursor(
        db,
        sql: "SELECT collection, record, field, key, author, counter, lamport, value, shadow FROM entries ORDER BY collection, record, field, key, author, counter")
      while let row = try rows.next() {
        let entry = try dot(row, 4)
        var value: Value?
        if let data = row[7] as Data? {
          var reader = BinaryReader([UInt8](data))
          value = try? ChangesetFile.decodeValue(&reader)
        }
        try engine.update(RecordRef(row[0] as String, row[1] as String)) {
          $0.entries.append(
            RecordState.Entry(
              field: row[2], key: row[3], dot: entry, lamport: UInt64(row[6] as Int64), wall: walls[entry] ?? 0,
              value: value, shadow: (row[8] as Int64) != 0))
        }
      }
    }
    if tables.contains("owner_facts") {
      // In the order written: facts of one changeset keep the order of its edits.
      let rows = try Row.fetchCursor(db, sql: "SELECT collection, record, field, value, op, author, counter FROM owner_facts ORDER BY rowid")
      while let row = try rows.next() {
        let fact = RecordState.Fact(field: row[2], value: row[3], op: UInt8(row[4] as Int64), dot: try dot(row, 5))
        try engine.update(RecordRef(row[0] as String, row[1] as String)) { $0.facts.append(fact) }
      }
    }
    if tables.contains("touches") {
      let rows = try Row.fetchCursor(db, sql: "SELECT collection, record, author, seq FROM touches ORDER BY collection, record, author, seq")
      while let row = try rows.next() {
        try engine.addTouch(RecordRef(row[0] as String, row[1] as String), try dot(row, 2))
      }
    }
    try engine.flush()
    for table in ["markers", "entries", "owner_facts", "touches", "snapshot_records", "snapshot_dirty", "base_times"]
    where tables.contains(table) {
      try db.execute(sql: "DROP TABLE \(table)")
    }
    try db.execute(sql: "DELETE FROM meta WHERE key = 'snapshot_pieces'")
  }
}
