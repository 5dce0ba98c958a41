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

  /// Reads one record's entries and markers and assembles it.
  func loadRecord(_ ref: RecordRef, _ db: Database) throws -> Record? {
    let entries = try Row.fetchAll(
      db, sql: "SELECT field, key, author, counter, lamport, value, shadow FROM entries WHERE collection = ? AND record = ?",
      arguments: [ref.collection, ref.id]
    ).map(RawEntry.init)
    let markers = try Row.fetchAll(
      db, sql: "SELECT author, counter, lamport, deleted FROM markers WHERE collection = ? AND record = ?",
      arguments: [ref.collection, ref.id]
    ).map(RawMarker.init)
    return try assemble(ref, entries: entries, markers: markers, db)
  }

  /// Every visible record of a collection, sorted by id bytes.
  public func records(in collection: String) throws -> [Record] {
    try schema.checkCollection(collection)
    return try read { db in try allRecords(in: collection, db) }
  }

  func allRecords(in collection: String, _ db: Database) throws -> [Record] {
    var markers: [String: [RawMarker]] = [:]
    for row in try Row.fetchAll(
      db, sql: "SELECT record, author, counter, lamport, deleted FROM markers WHERE collection = ?", arguments: [collection])
    {
      markers[row[0], default: []].append(RawMarker(row, offset: 1))
    }
    var entries: [String: [RawEntry]] = [:]
    for row in try Row.fetchAll(
      db, sql: "SELECT record, field, key, author, counter, lamport, value, shadow FROM entries WHERE collection = ?",
      arguments: [collection])
    {
      entries[row[0], default: []].append(RawEntry(row, offset: 1))
    }
    let ids = markers.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    return try ids.compactMap { id in
      try assemble(RecordRef(collection, id), entries: entries[id] ?? [], markers: markers[id]!, db)
    }
  }

  /// Every open conflict, sorted by collection, record, field and key.
  public func conflicts() throws -> [Conflict] {
    try read { db in
      var result: [Conflict] = []
      for collection in schema.collectionNames {
        let flagged = try String.fetchAll(
          db,
          sql: """
            SELECT record FROM markers WHERE collection = ?
              GROUP BY record HAVING MIN(deleted) != MAX(deleted)
            UNION
            SELECT record FROM entries WHERE collection = ?
              GROUP BY record, field, key HAVING COUNT(*) > 1
            """,
          arguments: [collection, collection])
        for id in flagged.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
          if let record = try loadRecord(RecordRef(collection, id), db) {
            result += record.conflicts
          }
        }
      }
      return result
    }
  }

  /// Builds a record's merged view from its entries and markers.
  func assemble(_ ref: RecordRef, entries: [RawEntry], markers: [RawMarker], _ db: Database) throws -> Record? {
    guard markers.contains(where: { !$0.deleted }) else { return nil }
    guard let collection = schema.collections[ref.collection] else { return nil }
    var timestamps: [Dot: Int64] = [:]
    func timestamp(_ dot: Dot) throws -> Int64 {
      if let known = timestamps[dot] { return known }
      let wall = try Int64.fetchOne(
        try db.cachedStatement(
          sql: "SELECT wall FROM changesets WHERE author = ? AND seq = ? UNION ALL SELECT wall FROM base_times WHERE author = ? AND seq = ?"),
        arguments: [dot.replica.rawValue, Int64(dot.counter), dot.replica.rawValue, Int64(dot.counter)]) ?? 0
      timestamps[dot] = wall
      return wall
    }

    var fields: [String: FieldValue] = [:]
    var conflicts: [Conflict] = []
    var grouped: [String: [String: [RawEntry]]] = [:]
    for entry in entries { grouped[entry.field, default: [:]][entry.key, default: []].append(entry) }

    for (field, byKey) in grouped {
      guard let definition = collection.fields[field] else { continue }
      switch definition.kind {
      case .set:
        fields[field] = .set(byKey.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
      case .map:
        var map: [String: Value] = [:]
        for (key, siblings) in byKey {
          guard siblings.count > 1 else {
            map[key] = siblings[0].value ?? .null
            continue
          }
          let ordered = try siblings.map { try $0.sibling(timestamp($0.dot)) }.sorted { $0.precedes($1) }
          map[key] = ordered[0].value ?? .null
          do {
            conflicts.append(Conflict(kind: .value, collection: ref.collection, recordID: ref.id, field: field, key: key, siblings: ordered))
          }
        }
        fields[field] = .map(map)
      default:
        guard let siblings = byKey[""] else { continue }
        // Times are looked up only for siblings in conflict.
        guard siblings.count > 1 else {
          fields[field] = .value(siblings[0].value ?? .null)
          continue
        }
        let ordered = try siblings.map { try $0.sibling(timestamp($0.dot)) }.sorted { $0.precedes($1) }
        fields[field] = .value(ordered[0].value ?? .null)
        do {
          conflicts.append(Conflict(kind: .value, collection: ref.collection, recordID: ref.id, field: field, key: nil, siblings: ordered))
        }
      }
    }
    if markers.contains(where: \.deleted) {
      let siblings = try markers.map { marker in
        Sibling(
          author: marker.dot.replica, sequence: marker.dot.counter, lamport: marker.lamport,
          timestamp: try timestamp(marker.dot), value: nil, deleted: marker.deleted)
      }.sorted { $0.precedes($1) }
      conflicts.append(Conflict(kind: .delete, collection: ref.collection, recordID: ref.id, field: nil, key: nil, siblings: siblings))
    }
    // Value conflicts first, by field and key; the record's delete conflict
    // last, since keeping the record needs its field conflicts settled.
    conflicts.sort { lhs, rhs in
      if (lhs.kind == .delete) != (rhs.kind == .delete) { return rhs.kind == .delete }
      let left = (lhs.field ?? "", lhs.key ?? ""), right = (rhs.field ?? "", rhs.key ?? "")
      if left.0 != right.0 { return left.0.utf8.lexicographicallyPrecedes(right.0.utf8) }
      return left.1.utf8.lexicographicallyPrecedes(right.1.utf8)
    }
    return Record(collection: ref.collection, id: ref.id, fields: fields, conflicts: conflicts)
  }
}

// MARK: - History

extension Store {
  /// Every changeset that touched a record, oldest first (by Lamport stamp, then author).
  public func history(of collection: String, _ id: String) throws -> [HistoryEntry] {
    try schema.checkCollection(collection, recordID: id)
    let id = id.precomposedStringWithCanonicalMapping
    let rows = try read { db in
      try Row.fetchAll(
        db,
        sql: """
          SELECT c.author, c.seq, c.lamport, c.wall, f.bytes, c.rejected FROM touches t
          JOIN changesets c ON c.author = t.author AND c.seq = t.seq
          JOIN changeset_files f ON f.author = t.author AND f.seq = t.seq
          WHERE t.collection = ? AND t.record = ?
          """,
        arguments: [collection, id])
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
    try rows.map { row in
      let changeset = try ChangesetFile.decode([UInt8](row[4] as Data))
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

// MARK: - Rows

struct RawEntry {
  var field: String
  var key: String
  var dot: Dot
  var lamport: UInt64
  var value: Value?
  var shadow: Bool

  init(_ row: Row) { self.init(row, offset: 0) }

  init(_ row: Row, offset: Int) {
    field = row[offset]
    key = row[offset + 1]
    dot = Dot(ReplicaID(rawValue: row[offset + 2]) ?? "invalid", UInt64(row[offset + 3] as Int64))
    lamport = UInt64(row[offset + 4] as Int64)
    value = (row[offset + 5] as Data?).flatMap { data in
      var reader = BinaryReader([UInt8](data))
      return try? ChangesetFile.decodeValue(&reader)
    }
    shadow = (row[offset + 6] as Int64) != 0
  }

  func sibling(_ timestamp: Int64) -> Sibling {
    Sibling(author: dot.replica, sequence: dot.counter, lamport: lamport, timestamp: timestamp, value: value ?? .null, deleted: false)
  }
}

struct RawMarker {
  var dot: Dot
  var lamport: UInt64
  var deleted: Bool

  init(_ row: Row) { self.init(row, offset: 0) }

  init(_ row: Row, offset: Int) {
    dot = Dot(ReplicaID(rawValue: row[offset]) ?? "invalid", UInt64(row[offset + 1] as Int64))
    lamport = UInt64(row[offset + 2] as Int64)
    deleted = (row[offset + 3] as Int64) != 0
  }
}
