import Crypto
import Foundation
import GRDB

/// The snapshot hash that every sync writes into the office's head, kept
/// up to date record by record.
///
/// Building the whole snapshot at every sync costs time in proportion to
/// the state, however little the sync changed. Instead the store keeps
/// each visible record's piece of the canonical snapshot (its member of
/// the collection object and its conflicts) in `snapshot_records`, and the
/// merge notes every changeset it applies in `snapshot_dirty`, in the same
/// transaction. Hashing rebuilds the pieces of the records those
/// changesets wrote and streams the pieces through SHA-256 in snapshot
/// order. The bytes hashed are exactly those of ``Snapshot/bytes`` (a test
/// holds the two together).
extension Store {
  static func createSnapshotCacheTables(_ db: Database) throws {
    try db.execute(
      sql: """
        CREATE TABLE IF NOT EXISTS snapshot_records(
          collection TEXT NOT NULL, record TEXT NOT NULL, body BLOB NOT NULL, conflicts BLOB NOT NULL,
          PRIMARY KEY(collection, record)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS snapshot_dirty(
          author TEXT NOT NULL, seq INTEGER NOT NULL,
          PRIMARY KEY(author, seq)) WITHOUT ROWID;
        """)
  }

  /// The statement that notes a changeset whose records' pieces are stale.
  static func markDirtyStatement(_ db: Database) throws -> Statement {
    try db.cachedStatement(sql: "INSERT OR IGNORE INTO snapshot_dirty(author, seq) VALUES (?, ?)")
  }

  /// The frontier and the snapshot hash there, from the pieces, after
  /// bringing the dirty ones up to date. Runs inside a write transaction.
  func incrementalSnapshotHash(_ db: Database) throws -> (VersionVector, String) {
    try refreshSnapshotPieces(db)
    let frontier = try Store.readFrontier(db)
    var hasher = SHA256()
    var conflicts: [UInt8] = []
    var out: [UInt8] = Array(#"{"collections":{"#.utf8)
    let pieces = try db.cachedStatement(
      sql: "SELECT body, conflicts FROM snapshot_records WHERE collection = ? ORDER BY record")
    for (index, name) in schema.collectionNames.enumerated() {
      if index > 0 { out.append(UInt8(ascii: ",")) }
      CanonicalJSON.writeString(name, to: &out)
      out.append(contentsOf: Array(":{".utf8))
      hasher.update(data: out)
      out.removeAll(keepingCapacity: true)
      var first = true
      let rows = try Row.fetchCursor(pieces, arguments: [name])
      while let row = try rows.next() {
        if !first { hasher.update(data: [UInt8(ascii: ",")]) }
        first = false
        // Borrow the blobs without copying them.
        try row.withUnsafeData(atIndex: 0) { if let body = $0 { hasher.update(data: body) } }
        try row.withUnsafeData(atIndex: 1) { piece in
          guard let piece, !piece.isEmpty else { return }
          if !conflicts.isEmpty { conflicts.append(UInt8(ascii: ",")) }
          conflicts.append(contentsOf: piece)
        }
      }
      out.append(UInt8(ascii: "}"))
    }
    out.append(contentsOf: Array(#"},"conflicts":["#.utf8))
    hasher.update(data: out)
    hasher.update(data: conflicts)
    out.removeAll(keepingCapacity: true)
    out.append(contentsOf: Array(#"],"format":"#.utf8))
    out.append(contentsOf: Array(String(Snapshot.formatVersion).utf8))
    out.append(contentsOf: Array(#","frontier":"#.utf8))
    CanonicalJSON.write(Snapshot.node(frontier), to: &out)
    out.append(UInt8(ascii: "}"))
    hasher.update(data: out)
    return (frontier, Data(hasher.finalize()).hexString)
  }

  /// Rebuilds the pieces of the records changed since the last time, or
  /// every piece when the cache was never filled (a new or upgraded store).
  private func refreshSnapshotPieces(_ db: Database) throws {
    let upsert = try db.cachedStatement(
      sql: "INSERT OR REPLACE INTO snapshot_records(collection, record, body, conflicts) VALUES (?, ?, ?, ?)")
    func store(_ record: Record) throws {
      let (body, conflicts) = Store.snapshotPiece(record)
      try upsert.execute(arguments: [record.collection, record.id, body, conflicts])
    }
    if try Store.meta(db, "snapshot_pieces") != "complete" {
      // Every record, in chunks as below: a store that starts from a
      // checkpoint of tens of thousands of records must not load them all
      // at once (it took 117 MB for 34,000 cases).
      try db.execute(sql: "DELETE FROM snapshot_records; DELETE FROM snapshot_dirty")
      var all: [RecordRef] = []
      let rows = try Row.fetchCursor(db, sql: "SELECT DISTINCT collection, record FROM markers ORDER BY collection, record")
      while let row = try rows.next() {
        let ref = RecordRef(row[0] as String, row[1] as String)
        if schema.collections[ref.collection] != nil { all.append(ref) }
      }
      for start in stride(from: 0, to: all.count, by: 500) {
        let chunk = all[start..<min(start + 500, all.count)]
        let loaded = try loadRecords(Set(chunk), db)
        for ref in chunk { if let record = loaded[ref] { try store(record) } }
      }
      try Store.setMeta(db, "snapshot_pieces", "complete")
      return
    }
    // The records that the changesets applied since the last time wrote.
    var refs = Set<RecordRef>()
    let files = try Row.fetchAll(
      db,
      sql: """
        SELECT f.bytes FROM snapshot_dirty d JOIN changeset_files f ON f.author = d.author AND f.seq = d.seq
        """)
    guard !files.isEmpty else { return }
    for file in files {
      for edit in try ChangesetFile.decode([UInt8](file[0] as Data)).edits where schema.collections[edit.record.collection] != nil {
        refs.insert(edit.record)
      }
    }
    // In chunks, so that memory stays bounded however much changed.
    let remove = try db.cachedStatement(sql: "DELETE FROM snapshot_records WHERE collection = ? AND record = ?")
    let ordered = refs.sorted()
    for start in stride(from: 0, to: ordered.count, by: 500) {
      let chunk = ordered[start..<min(start + 500, ordered.count)]
      let loaded = try loadRecords(Set(chunk), db)
      for ref in chunk {
        if let record = loaded[ref] {
          try store(record)
        } else {
          try remove.execute(arguments: [ref.collection, ref.id])
        }
      }
    }
    try db.execute(sql: "DELETE FROM snapshot_dirty")
  }

  /// The visible records among `refs`, read with one query for the entries
  /// and one for the markers rather than two per record. CROSS JOIN keeps
  /// SQLite from scanning every entry to find them.
  func loadRecords(_ refs: Set<RecordRef>, _ db: Database) throws -> [RecordRef: Record] {
    try db.execute(
      sql: """
        CREATE TEMP TABLE IF NOT EXISTS wanted_records(
          collection TEXT NOT NULL, record TEXT NOT NULL, PRIMARY KEY(collection, record)) WITHOUT ROWID;
        DELETE FROM temp.wanted_records;
        """)
    let want = try db.cachedStatement(sql: "INSERT OR IGNORE INTO temp.wanted_records(collection, record) VALUES (?, ?)")
    for ref in refs { try want.execute(arguments: [ref.collection, ref.id]) }
    // Cursors, not fetchAll: rows are read straight from SQLite, not copied.
    var markers: [RecordRef: [RawMarker]] = [:]
    let markerRows = try Row.fetchCursor(
      db,
      sql: """
        SELECT m.collection, m.record, m.author, m.counter, m.lamport, m.deleted
        FROM temp.wanted_records w CROSS JOIN markers m ON m.collection = w.collection AND m.record = w.record
        ORDER BY w.collection, w.record, m.author, m.counter
        """)
    while let row = try markerRows.next() {
      markers[RecordRef(row[0] as String, row[1] as String), default: []].append(RawMarker(row, offset: 2))
    }
    var entries: [RecordRef: [RawEntry]] = [:]
    let entryRows = try Row.fetchCursor(
      db,
      sql: """
        SELECT e.collection, e.record, e.field, e.key, e.author, e.counter, e.lamport, e.value, e.shadow
        FROM temp.wanted_records w CROSS JOIN entries e ON e.collection = w.collection AND e.record = w.record
        ORDER BY w.collection, w.record, e.field, e.key, e.author, e.counter
        """)
    while let row = try entryRows.next() {
      entries[RecordRef(row[0] as String, row[1] as String), default: []].append(RawEntry(row, offset: 2))
    }
    try db.execute(sql: "DELETE FROM temp.wanted_records")
    var records: [RecordRef: Record] = [:]
    for (ref, list) in markers {
      records[ref] = try assemble(ref, entries: entries[ref] ?? [], markers: list, db)
    }
    return records
  }

  /// A record's member of its collection object (`"id":{fields}`) and its
  /// conflicts (canonical objects joined by commas), as in ``Snapshot``.
  static func snapshotPiece(_ record: Record) -> (body: Data, conflicts: Data) {
    var body: [UInt8] = []
    CanonicalJSON.writeString(record.id, to: &body)
    body.append(UInt8(ascii: ":"))
    CanonicalJSON.write(Snapshot.node(record.fields), to: &body)
    var conflicts: [UInt8] = []
    for (index, conflict) in record.conflicts.enumerated() {
      if index > 0 { conflicts.append(UInt8(ascii: ",")) }
      CanonicalJSON.write(Snapshot.node(conflict), to: &conflicts)
    }
    return (Data(body), Data(conflicts))
  }
}
