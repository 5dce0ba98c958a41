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
    let decode = FormerStateRows(source: "the store being upgraded", walls: walls, lenientValues: true)
    func values(_ row: Row) -> [DatabaseValue] { (0..<row.count).map { row[$0] as DatabaseValue } }
    let engine = MergeState(db, schema: schema)
    // One table at a time, record by record in the tables' order; the
    // merge state writes the rows as its cache fills.
    if tables.contains("markers") {
      let rows = try Row.fetchCursor(
        db, sql: "SELECT collection, record, author, counter, lamport, deleted, context FROM markers ORDER BY collection, record, author, counter")
      while let row = try rows.next() {
        let (ref, marker) = try decode.marker(values(row))
        try engine.update(ref) { $0.markers.append(marker) }
      }
    }
    if tables.contains("entries") {
      let rows = try Row.fetchCursor(
        db,
        sql: "SELECT collection, record, field, key, author, counter, lamport, value, shadow FROM entries ORDER BY collection, record, field, key, author, counter")
      while let row = try rows.next() {
        let (ref, entry) = try decode.entry(values(row))
        try engine.update(ref) { $0.entries.append(entry) }
      }
    }
    if tables.contains("owner_facts") {
      // In the order written: facts of one changeset keep the order of its edits.
      let rows = try Row.fetchCursor(db, sql: "SELECT collection, record, field, value, op, author, counter FROM owner_facts ORDER BY rowid")
      while let row = try rows.next() {
        let (ref, fact) = try decode.fact(values(row))
        try engine.update(ref) { $0.facts.append(fact) }
      }
    }
    if tables.contains("touches") {
      let rows = try Row.fetchCursor(db, sql: "SELECT collection, record, author, seq FROM touches ORDER BY collection, record, author, seq")
      while let row = try rows.next() {
        try engine.addTouch(try decode.ref(values(row)), try decode.dot(values(row), 2))
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

/// The rows of `owner_facts`, `markers` and `entries` as store format 5
/// kept them and checkpoint files still carry them (`Docs/FORMATS.md`
/// §10), made into the parts of a record's state: for upgrading a store
/// and for starting from a checkpoint.
struct FormerStateRows {
  /// Where the rows come from, for errors.
  let source: String
  /// When the changesets the rows name were made (0 when not known).
  var walls: [Dot: Int64] = [:]
  /// Whether a value that cannot be decoded reads as null, as format 5
  /// read its own rows, rather than failing (a checkpoint's rows).
  var lenientValues = false

  /// The record of a row whose first two columns are `collection`, `record`.
  func ref(_ row: [DatabaseValue]) throws -> RecordRef {
    guard let collection = String.fromDatabaseValue(row[0]), let record = String.fromDatabaseValue(row[1]) else {
      throw SamhandError(.storage, "\(source) names a record badly")
    }
    return RecordRef(collection, record)
  }

  /// The changeset named by the author and counter at `index` and `index + 1`.
  func dot(_ row: [DatabaseValue], _ index: Int) throws -> Dot {
    guard let slug = String.fromDatabaseValue(row[index]), let author = ReplicaID(rawValue: slug),
      let counter = Int64.fromDatabaseValue(row[index + 1])
    else { throw SamhandError(.storage, "\(source) names a changeset badly") }
    return Dot(author, UInt64(counter))
  }

  private func int(_ value: DatabaseValue) -> Int64 { Int64.fromDatabaseValue(value) ?? 0 }

  /// `collection`, `record`, `field`, `value`, `op`, `author`, `counter`.
  func fact(_ row: [DatabaseValue]) throws -> (RecordRef, RecordState.Fact) {
    let fact = RecordState.Fact(
      field: String.fromDatabaseValue(row[2]) ?? "", value: String.fromDatabaseValue(row[3]), op: UInt8(clamping: int(row[4])),
      dot: try dot(row, 5))
    return (try ref(row), fact)
  }

  /// `collection`, `record`, `author`, `counter`, `lamport`, `deleted`, `context`.
  func marker(_ row: [DatabaseValue]) throws -> (RecordRef, RecordState.Marker) {
    let marker = try dot(row, 2)
    let context = try Data.fromDatabaseValue(row[6]).map(Store.decodeVector)
    return (
      try ref(row),
      RecordState.Marker(
        dot: marker, lamport: UInt64(max(0, int(row[4]))), wall: walls[marker] ?? 0, deleted: int(row[5]) != 0, context: context)
    )
  }

  /// `collection`, `record`, `field`, `key`, `author`, `counter`, `lamport`, `value`, `shadow`.
  func entry(_ row: [DatabaseValue]) throws -> (RecordRef, RecordState.Entry) {
    let entry = try dot(row, 4)
    var value: Value?
    if let data = Data.fromDatabaseValue(row[7]) {
      var reader = BinaryReader([UInt8](data))
      do {
        value = try ChangesetFile.decodeValue(&reader)
      } catch {
        if !lenientValues { throw SamhandError(.storage, "\(source) holds a damaged value") }
      }
    }
    return (
      try ref(row),
      RecordState.Entry(
        field: String.fromDatabaseValue(row[2]) ?? "", key: String.fromDatabaseValue(row[3]) ?? "", dot: entry,
        lamport: UInt64(max(0, int(row[6]))), wall: walls[entry] ?? 0, value: value, shadow: int(row[8]) != 0)
    )
  }
}
