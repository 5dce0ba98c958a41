import Crypto
import Foundation
import GRDB

/// A checkpoint cannot be made at a frontier yet: a changeset inside it
/// counts only thanks to a key confirmed by a roster change outside it
/// (an office that wrote before its key was confirmed, and has not applied
/// the confirmation). The next sync tries again.
struct CheckpointNotReady: Error {
  var reason: String
}

/// Checkpoints in the store: making one at a frontier, loading one, and
/// purging the tombstones every office has seen.
extension Store {
  static func createLongLifeTables(_ db: Database) throws {
    try db.execute(
      sql: """
        -- Checkpoints this replica wrote or started from, newest kept, so
        -- that the next one is built from the last rather than from nothing.
        CREATE TABLE IF NOT EXISTS checkpoints(
          name TEXT PRIMARY KEY, total INTEGER NOT NULL, frontier BLOB NOT NULL, bytes BLOB NOT NULL) WITHOUT ROWID;
        -- The signed files of the roster changes inside the base checkpoint,
        -- which this replica does not otherwise hold: checkpoints it writes carry them on.
        CREATE TABLE IF NOT EXISTS roster_files(
          author TEXT NOT NULL, seq INTEGER NOT NULL, bytes BLOB NOT NULL, PRIMARY KEY(author, seq)) WITHOUT ROWID;
        """)
  }

  // MARK: - What the store started from

  /// The checkpoint this replica's history starts from: changesets inside
  /// its frontier are in the state, but this replica does not hold their
  /// files. Nil for a replica that holds its whole history.
  public func checkpointBase() throws -> (frontier: VersionVector, timestamp: Int64)? {
    try read { db in try Store.base(db) }
  }

  static func base(_ db: Database) throws -> (frontier: VersionVector, timestamp: Int64)? {
    guard let text = try meta(db, "base_frontier"), let data = Data(base64Encoded: text) else { return nil }
    return (try decodeVector(data), Int64(try meta(db, "base_time") ?? "0") ?? 0)
  }

  /// The promises the base checkpoint carried, for offices with nothing after it.
  static func basePromises(_ db: Database) throws -> [ReplicaID: VersionVector] {
    guard let text = try meta(db, "base_promises"), let data = Data(base64Encoded: text) else { return [:] }
    var reader = BinaryReader([UInt8](data))
    var encoded: [(String, Data)] = []
    do throws(BinaryReader.Failure) {
      for _ in 0..<(try reader.count(minimumSize: 2)) {
        let slug = try reader.string()
        let length = try reader.count()
        encoded.append((slug, Data(try reader.take(length))))
      }
    } catch {
      throw SamhandError(.storage, "the stored checkpoint promises are damaged: \(error.message)")
    }
    var promises: [ReplicaID: VersionVector] = [:]
    for (slug, data) in encoded {
      if let office = ReplicaID(rawValue: slug) { promises[office] = try decodeVector(data) }
    }
    return promises
  }

  static func encodePromises(_ promises: [ReplicaID: VersionVector]) -> Data {
    var writer = BinaryWriter()
    writer.varint(UInt64(promises.count))
    for office in promises.keys.sorted() {
      writer.string(office.rawValue)
      let vector = encodeVector(promises[office]!)
      writer.varint(UInt64(vector.count))
      writer.raw(vector)
    }
    return Data(writer.bytes)
  }

  // MARK: - Promises and tombstones

  /// For each office with changesets inside `frontier`: what every
  /// changeset it writes after them has seen. An office's changesets
  /// follow one another, each seeing at least what the one before saw, so
  /// that is the dependencies of its last changeset inside, and that one.
  static func promises(at frontier: VersionVector, _ db: Database) throws -> [ReplicaID: VersionVector] {
    let base = try Store.base(db)?.frontier ?? VersionVector()
    let basePromises = try Store.basePromises(db)
    var promises: [ReplicaID: VersionVector] = [:]
    let statement = try db.cachedStatement(sql: "SELECT deps FROM changesets WHERE author = ? AND seq = ?")
    for (office, top) in frontier.counters {
      if top <= base[office] {
        if let promise = basePromises[office] { promises[office] = promise }
        continue
      }
      guard let blob = try Data.fetchOne(statement, arguments: [office.rawValue, Int64(top)]) else {
        throw SamhandError(.storage, "the store holds no record of \(office)#\(top), inside its own frontier")
      }
      var promise = try decodeVector(blob)
      promise[office] = top
      promises[office] = promise
    }
    return promises
  }

  /// What every changeset still to come has seen, given the promises at a
  /// frontier: the meet of the promises of the roster's active offices. An
  /// active office with no changeset yet promises nothing.
  func seenByAll(_ promises: [ReplicaID: VersionVector], at frontier: VersionVector, _ db: Database) throws -> VersionVector {
    let offices: [ReplicaID]
    if genesis != nil {
      offices = try roster(at: frontier, db).members.values.filter { !$0.isRetired }.map(\.office)
    } else {
      offices = Array(promises.keys)
    }
    guard var seen = offices.first.map({ promises[$0] ?? VersionVector() }) else { return VersionVector() }
    for office in offices.dropFirst() { seen = seen.meet(promises[office] ?? VersionVector()) }
    return seen
  }

  /// Removes deleted records whose every marker and entry lies inside
  /// `seen`: a tombstone every changeset still to come has seen, so no
  /// write can bring back what it hid or conflict with it. The snapshot
  /// does not change (a deleted record is not in it), nor does the
  /// record's history.
  ///
  /// - Returns: how many records were purged.
  @discardableResult
  func purgeTombstones(seenBy seen: VersionVector, _ db: Database) throws -> Int {
    guard !seen.counters.isEmpty else { return 0 }
    // Tombstones are found through the partial index of their flag rather
    // than by reading every record: this runs after every sync.
    let engine = merge(db)
    try engine.flush()
    var purgeable: [RecordRef] = []
    let rows = try Row.fetchCursor(db, sql: "SELECT collection, record, state FROM records WHERE flags & 1")
    while let row = try rows.next() {
      if try RecordState(encoded: [UInt8](row[2] as Data)).isPurgeable(seenBy: seen) {
        purgeable.append(RecordRef(row[0] as String, row[1] as String))
      }
    }
    for ref in purgeable { try engine.replace(ref, with: RecordState()) }
    return purgeable.count
  }

  /// Purges the tombstones every active office has seen, as far as this
  /// replica's frontier tells.
  ///
  /// - Returns: how many deleted records were purged from the merge state.
  ///
  /// What can be purged follows from the frontier alone (the records and
  /// the roster change only with changesets), so after a sync that brought
  /// nothing new this reads one row: with hundreds of offices, working out
  /// what every office has seen costs a vector per office.
  @discardableResult
  public func purgeTombstones() throws -> Int {
    func key(_ frontier: VersionVector) -> String {
      String(decoding: Store.encodeVector(frontier).base64EncodedData(), as: UTF8.self)
    }
    let unchanged = try read { db in try Store.meta(db, "tombstones_checked") == key(try Store.readFrontier(db)) }
    if unchanged { return 0 }
    return try write(durable: false) { db in
      let frontier = try Store.readFrontier(db)
      defer { try? Store.setMeta(db, "tombstones_checked", key(frontier)) }
      guard try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM records WHERE flags & 1)") == true else { return 0 }
      let seen = try seenByAll(try Store.promises(at: frontier, db), at: frontier, db)
      return try purgeTombstones(seenBy: seen, db)
    }
  }

  // MARK: - Making a checkpoint

  /// The checkpoint at `target`, a frontier inside this replica's.
  ///
  /// Built in memory from the newest checkpoint this replica holds inside
  /// `target` (or from nothing) and the changesets after it, so it holds
  /// exactly the state of `target`'s changesets whatever this replica has
  /// applied since, and every office builds the same bytes.
  ///
  /// - Throws: `SamhandError.invalidArgument` when `target` is not inside
  ///   this replica's frontier, or reaches back before what it holds.
  ///   `.invalidArgument` too when a changeset inside `target` counts only
  ///   thanks to a key confirmed by a roster change outside it.
  public func makeCheckpoint(at target: VersionVector) throws -> Checkpoint {
    do {
      return try buildCheckpoint(at: target)
    } catch let error as CheckpointNotReady {
      throw SamhandError(.invalidArgument, "cannot make a checkpoint at \(target) yet: \(error.reason)")
    }
  }

  /// ``makeCheckpoint(at:)``, throwing ``CheckpointNotReady`` as it is.
  func buildCheckpoint(at target: VersionVector) throws -> Checkpoint {
    struct Delta {
      var id: Changeset.ID
      var lamport: Int64
      var wall: Int64
      var bytes: [UInt8]
    }
    let (base, deltas, promises) = try read { db -> (Checkpoint?, [Delta], [ReplicaID: VersionVector]) in
      let frontier = try Store.readFrontier(db)
      guard target.isIncluded(in: frontier) else {
        throw SamhandError(.invalidArgument, "cannot make a checkpoint at \(target): it is ahead of this replica's \(frontier)")
      }
      // The newest checkpoint held here inside the target that includes
      // what this replica started from (it holds nothing before that).
      let start = try Store.base(db)?.frontier ?? VersionVector()
      var base: Checkpoint?
      for row in try Row.fetchAll(db, sql: "SELECT frontier, bytes FROM checkpoints ORDER BY total DESC") {
        let vector = try Store.decodeVector(row[0])
        guard vector.isIncluded(in: target), start.isIncluded(in: vector) else { continue }
        base = try Checkpoint(bytes: [UInt8](row[1] as Data), keys: try keyring(db))
        break
      }
      let from = base?.frontier ?? VersionVector()
      if !start.isIncluded(in: from) {
        throw SamhandError(
          .invalidArgument,
          "cannot make a checkpoint at \(target): this replica started from a checkpoint at \(start) and holds nothing before it")
      }
      var deltas: [Delta] = []
      let rows = try Row.fetchCursor(
        db, sql: "SELECT c.author, c.seq, c.lamport, c.wall, f.bytes FROM changesets c JOIN changeset_files f ON f.author = c.author AND f.seq = c.seq")
      while let row = try rows.next() {
        guard let author = ReplicaID(rawValue: row[0]) else { continue }
        let sequence = UInt64(row[1] as Int64)
        guard sequence <= target[author], sequence > from[author] else { continue }
        deltas.append(Delta(id: Changeset.ID(author: author, sequence: sequence), lamport: row[2], wall: row[3], bytes: [UInt8](row[4] as Data)))
      }
      var promises = try Store.promises(at: target, db)
      for (office, promise) in base?.promises ?? [:] where target[office] <= from[office] { promises[office] = promise }
      return (base, deltas, promises)
    }
    // Lamport order is a causal order: every dependency has a lower stamp.
    let ordered = deltas.sorted { $0.lamport != $1.lamport ? $0.lamport < $1.lamport : $0.id < $1.id }
    let memory = try Store.createInMemory(replica: replica, storeID: storeID, schema: schema, genesis: genesis)
    let ring = try groupKeys()
    try memory.write(durable: false) { db in
      for id in ring.ids { try memory.addGroupKey(ring[id]!, db) }
      if let base { try memory.loadState(of: base, db) }
      // Lamport order is causal for every changeset Samhand writes; a
      // file that breaks it waits for a later pass rather than failing.
      var waiting = try ordered.map { try ChangesetFile.open($0.bytes) }
      var frontier = try Store.readFrontier(db)
      while !waiting.isEmpty {
        var next: [ChangesetEnvelope] = []
        for item in waiting {
          let item = try memory.resolvingDependencies(item, db)
          let header = item.header
          guard Store.isReady(header.author, header.sequence, header.dependencies, frontier) else {
            next.append(item)
            continue
          }
          let result = try memory.applyRemote(item, fileURL: nil, db)
          guard result.setAside.isEmpty else {
            // A claim whose confirmation comes later in Lamport order.
            next.append(item)
            continue
          }
          frontier[header.author] = header.sequence
        }
        guard next.count < waiting.count else {
          if try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM unconfirmed") ?? 0 > 0 {
            throw CheckpointNotReady(
              reason: "\(next[0].id) is signed with a key confirmed by a roster change outside \(target)")
          }
          throw SamhandError(
            .storage, "changeset \(next[0].id) depends on one this replica does not hold", changesetID: next[0].id)
        }
        waiting = next
      }
      let reached = try Store.readFrontier(db)
      guard reached == target else {
        throw SamhandError(.storage, "rebuilding the state at \(target) reached \(reached) instead")
      }
      try memory.purgeTombstones(seenBy: try memory.seenByAll(promises, at: target, db), db)
    }
    let (_, hash) = try memory.snapshotHash()
    let (payload, tableRows) = try memory.read { db in try memory.dumpState(promises: promises, db) }
    let lamport = max(base?.lamport ?? 0, UInt64(ordered.last?.lamport ?? 0))
    let timestamp = max(base?.timestamp ?? Int64.min, ordered.map(\.wall).max() ?? Int64.min)
    var checkpoint = Checkpoint(
      storeID: storeID, frontier: target, lamport: lamport, timestamp: timestamp == Int64.min ? 0 : timestamp,
      snapshotHash: hash, promises: promises, payload: payload, tableRows: tableRows)
    if isEncrypted {
      // Sealed with the key in force at its frontier: the same on every office.
      let id = try read { db in try roster(at: target, db).groupKeyID }
      guard let id, let key = ring[id] else {
        throw CheckpointNotReady(reason: "this folder is encrypted and this office does not hold the group key in force at \(target)")
      }
      checkpoint.groupKey = key
    }
    return checkpoint
  }

  /// The roster tables of a checkpoint, as read from the store, in the checkpoint's order.
  private static let rosterSelects = [
    "roster_changes": "SELECT author, seq, lamport, edits FROM roster_changes ORDER BY author, seq",
    "roster_files": """
      SELECT r.author, r.seq, coalesce(f.bytes, b.bytes)
      FROM roster_changes r
      LEFT JOIN changeset_files f ON f.author = r.author AND f.seq = r.seq
      LEFT JOIN roster_files b ON b.author = r.author AND b.seq = r.seq
      ORDER BY r.author, r.seq
      """,
  ]

  /// The payload of a checkpoint of the merge state.
  ///
  /// The records' states are read in the table's order (collection, then
  /// id bytes) once for each of the three tables they make, so that only
  /// one table's encoded rows are held at a time. Within a record, rows
  /// are sorted as SQLite's `ORDER BY` sorted the format 5 tables, so the
  /// bytes are those every version of Samhand writes for the same state.
  func dumpState(promises: [ReplicaID: VersionVector], _ db: Database) throws -> ([UInt8], [(start: Int, count: Int)]) {
    try flushMerge(db)
    var writer = Checkpoint.PayloadWriter(promises: promises)
    func bytesLess(_ lhs: String, _ rhs: String) -> Bool { lhs.utf8.lexicographicallyPrecedes(rhs.utf8) }
    func dotLess(_ lhs: Dot, _ rhs: Dot) -> Bool {
      lhs.replica.rawValue != rhs.replica.rawValue ? bytesLess(lhs.replica.rawValue, rhs.replica.rawValue) : lhs.counter < rhs.counter
    }
    /// Calls `body` with each record's state, in order.
    func eachState(_ body: (String, String, RecordState) throws -> Void) throws {
      let rows = try Row.fetchCursor(db, sql: "SELECT collection, record, state FROM records ORDER BY collection, record")
      while let row = try rows.next() {
        let state = try RecordState(encoded: [UInt8](row[2] as Data))
        if !state.isEmpty { try body(row[0], row[1], state) }
      }
    }
    var walls: [Dot: Int64] = [:]
    for (index, table) in Checkpoint.tables.enumerated() {
      var rows = 0
      var encoded = BinaryWriter()
      func put(_ values: [DatabaseValue]) {
        for value in values { Checkpoint.writeValue(value, to: &encoded) }
        rows += 1
      }
      switch table.name {
      case "owner_facts":
        try eachState { collection, record, state in
          let facts = state.facts.sorted { lhs, rhs in
            if lhs.field != rhs.field { return bytesLess(lhs.field, rhs.field) }
            if lhs.dot != rhs.dot { return dotLess(lhs.dot, rhs.dot) }
            if lhs.op != rhs.op { return lhs.op < rhs.op }
            switch (lhs.value, rhs.value) {
            case (nil, nil), (_, nil): return false
            case (nil, _): return true
            case (let left?, let right?): return bytesLess(left, right)
            }
          }
          for fact in facts {
            put([
              collection.databaseValue, record.databaseValue, fact.field.databaseValue, fact.value.databaseValue,
              Int64(fact.op).databaseValue, fact.dot.replica.rawValue.databaseValue, Int64(fact.dot.counter).databaseValue,
            ])
          }
        }
      case "markers":
        try eachState { collection, record, state in
          for marker in state.markers.sorted(by: { dotLess($0.dot, $1.dot) }) {
            walls[marker.dot] = marker.wall
            put([
              collection.databaseValue, record.databaseValue, marker.dot.replica.rawValue.databaseValue,
              Int64(marker.dot.counter).databaseValue, Int64(marker.lamport).databaseValue,
              Int64(marker.deleted ? 1 : 0).databaseValue, marker.context.map { Store.encodeVector($0) }.databaseValue,
            ])
          }
        }
      case "entries":
        try eachState { collection, record, state in
          let entries = state.entries.sorted { lhs, rhs in
            if lhs.field != rhs.field { return bytesLess(lhs.field, rhs.field) }
            if lhs.key != rhs.key { return bytesLess(lhs.key, rhs.key) }
            return dotLess(lhs.dot, rhs.dot)
          }
          for entry in entries {
            walls[entry.dot] = entry.wall
            let value = entry.value.map { value -> Data in
              var writer = BinaryWriter()
              ChangesetFile.encodeValue(value, to: &writer)
              return Data(writer.bytes)
            }
            put([
              collection.databaseValue, record.databaseValue, entry.field.databaseValue, entry.key.databaseValue,
              entry.dot.replica.rawValue.databaseValue, Int64(entry.dot.counter).databaseValue,
              Int64(entry.lamport).databaseValue, value.databaseValue, Int64(entry.shadow ? 1 : 0).databaseValue,
            ])
          }
        }
      case "base_times":
        for dot in walls.keys.sorted(by: dotLess) {
          put([dot.replica.rawValue.databaseValue, Int64(dot.counter).databaseValue, walls[dot]!.databaseValue])
        }
      default:
        let select = Store.rosterSelects[table.name]!
        let cursor = try Row.fetchCursor(db, sql: select)
        while let row = try cursor.next() { put((0..<table.columns.count).map { row[$0] as DatabaseValue }) }
      }
      writer.appendTable(index, rows: rows, encoded: encoded.bytes)
    }
    return writer.finish()
  }

  /// Replaces the merge state with a checkpoint's, and sets the frontier to its.
  ///
  /// History (changesets, their files, which records they touched) is left
  /// as it is; the caller deals with changesets outside the checkpoint.
  func loadState(of checkpoint: Checkpoint, _ db: Database) throws {
    let engine = merge(db)
    try engine.flush()
    // Every record's state goes; rows that hold history stay.
    try db.execute(
      sql: "UPDATE records SET state = ?, body = NULL, conflicts = X'', flags = 0",
      arguments: [Data(RecordState().encoded())])
    try db.execute(sql: "DELETE FROM records WHERE length(touches) = 0")
    try db.execute(sql: "DELETE FROM roster_changes; DELETE FROM roster_files; DELETE FROM frontier")
    engine.frontier = nil
    try insertRows(ofTable: Checkpoint.tableIndex("roster_changes"), from: checkpoint, db)
    try insertRows(ofTable: Checkpoint.tableIndex("roster_files"), from: checkpoint, db)
    var decode = FormerStateRows(source: "checkpoint \(checkpoint.fileName)")
    try checkpoint.forEachRow(ofTable: Checkpoint.tableIndex("base_times")) { row in
      decode.walls[try decode.dot(row, 0)] = Int64.fromDatabaseValue(row[2]) ?? 0
    }
    // Table by table, in the checkpoint's order: a record's facts keep
    // the order they have there.
    try checkpoint.forEachRow(ofTable: Checkpoint.tableIndex("owner_facts")) { row in
      let (ref, fact) = try decode.fact(row)
      try engine.update(ref) { $0.facts.append(fact) }
    }
    try checkpoint.forEachRow(ofTable: Checkpoint.tableIndex("markers")) { row in
      let (ref, marker) = try decode.marker(row)
      try engine.update(ref) { $0.markers.append(marker) }
    }
    try checkpoint.forEachRow(ofTable: Checkpoint.tableIndex("entries")) { row in
      let (ref, entry) = try decode.entry(row)
      try engine.update(ref) { $0.entries.append(entry) }
    }
    try engine.flush()
    let insertFrontier = try db.makeStatement(sql: "INSERT INTO frontier(replica, counter) VALUES (?, ?)")
    for (replica, counter) in checkpoint.frontier.counters {
      try insertFrontier.execute(arguments: [replica.rawValue, Int64(counter)])
    }
    let lamport = UInt64(try Store.meta(db, "lamport") ?? "0") ?? 0
    if checkpoint.lamport > lamport { try Store.setMeta(db, "lamport", String(checkpoint.lamport)) }
    try Store.setMeta(db, "base_frontier", Store.encodeVector(checkpoint.frontier).base64EncodedString())
    try Store.setMeta(db, "base_time", String(checkpoint.timestamp))
    try Store.setMeta(db, "base_promises", Store.encodePromises(checkpoint.promises).base64EncodedString())
    merge(db).basePromises = nil  // decoded again when a format 2 file needs it
    try db.execute(sql: "DELETE FROM meta WHERE key IN ('hash', 'hash_frontier')")
  }

  /// Inserts one of a checkpoint's tables into the store's table of the same name.
  private func insertRows(ofTable index: Int, from checkpoint: Checkpoint, orReplace: Bool = false, _ db: Database) throws {
    let table = Checkpoint.tables[index]
    let statement = try db.makeStatement(
      sql: "INSERT \(orReplace ? "OR REPLACE " : "")INTO \(table.name)(\(table.columns.joined(separator: ", "))) VALUES (\(Array(repeating: "?", count: table.columns.count).joined(separator: ", ")))")
    try checkpoint.forEachRow(ofTable: index) { row in try statement.execute(arguments: StatementArguments(row)) }
  }

  /// Keeps a checkpoint's bytes, and of the older ones only the one this
  /// replica started from.
  func keepCheckpoint(_ checkpoint: Checkpoint, bytes: [UInt8], _ db: Database) throws {
    try db.execute(
      sql: "INSERT OR REPLACE INTO checkpoints(name, total, frontier, bytes) VALUES (?, ?, ?, ?)",
      arguments: [checkpoint.fileName, Int64(checkpoint.frontier.total), Store.encodeVector(checkpoint.frontier), Data(bytes)])
    let base = try Store.base(db)?.frontier
    for row in try Row.fetchAll(db, sql: "SELECT name, frontier FROM checkpoints ORDER BY total DESC").dropFirst() {
      if let base, try Store.decodeVector(row[1]) == base { continue }
      try db.execute(sql: "DELETE FROM checkpoints WHERE name = ?", arguments: [row[0] as String])
    }
  }

  // MARK: - Forgetting history

  /// Forgets the local history that the newest checkpoint this replica
  /// keeps covers: the changesets inside it, their files and which records
  /// they touched. The state does not change; the checkpoint becomes what
  /// the replica started from, as if it had joined from it. Local stores
  /// keep their whole history unless told to forget it with this.
  ///
  /// History and snapshots at an earlier date or frontier are then no
  /// longer available here (they say so), and a lost shared folder is
  /// refilled from checkpoints rather than from this replica's files.
  ///
  /// - Returns: how many changesets' history was forgotten, and the checkpoint.
  @discardableResult
  public func forgetHistory() throws -> (forgotten: Int, checkpoint: String?) {
    try write { db in
      guard let row = try Row.fetchOne(db, sql: "SELECT bytes FROM checkpoints ORDER BY total DESC LIMIT 1") else {
        return (0, nil)
      }
      let checkpoint = try Checkpoint(bytes: [UInt8](row[0] as Data), keys: try keyring(db))
      let frontier = try Store.readFrontier(db)
      guard checkpoint.frontier.isIncluded(in: frontier) else { return (0, nil) }
      if let start = try Store.base(db)?.frontier, !start.isIncluded(in: checkpoint.frontier) { return (0, nil) }
      var forgotten: [(String, Int64)] = []
      for row in try Row.fetchAll(db, sql: "SELECT author, seq, published FROM changesets") {
        guard let author = ReplicaID(rawValue: row[0]), UInt64(row[1] as Int64) <= checkpoint.frontier[author] else { continue }
        guard (row[2] as Int64) != 0 else {
          throw SamhandError(.storage, "changeset \(author)#\(row[1] as Int64) is inside a checkpoint but not published")
        }
        forgotten.append((author.rawValue, row[1]))
      }
      // What the checkpoint carries for the changesets it covers: the
      // signed files of roster changes. (Their times are in the state.)
      try insertRows(ofTable: Checkpoint.tableIndex("roster_files"), from: checkpoint, orReplace: true, db)
      for (author, sequence) in forgotten {
        for table in ["changesets", "changeset_files"] {
          try db.execute(sql: "DELETE FROM \(table) WHERE author = ? AND seq = ?", arguments: [author, sequence])
        }
      }
      try forgetTouches(inside: checkpoint.frontier, db)
      try Store.setMeta(db, "base_frontier", Store.encodeVector(checkpoint.frontier).base64EncodedString())
      try Store.setMeta(db, "base_time", String(checkpoint.timestamp))
      try Store.setMeta(db, "base_promises", Store.encodePromises(checkpoint.promises).base64EncodedString())
      merge(db).basePromises = nil  // decoded again when a format 2 file needs it
      return (forgotten.count, checkpoint.fileName)
    }
  }

  // MARK: - Starting from a checkpoint

  /// What loading a checkpoint did.
  public struct CheckpointAdoption: Sendable, Hashable {
    /// The checkpoint's file name.
    public var name: String
    /// Its frontier.
    public var frontier: VersionVector
    /// This replica's changesets outside it, applied again on top: its
    /// own unpublished writes among them, which are kept.
    public var reapplied: [Changeset.ID]
  }

  /// Makes the checkpoint the base of this replica's state: the merge
  /// state becomes the checkpoint's, and every changeset this replica
  /// holds outside it (its own unpublished writes among them) is applied
  /// again on top, in one transaction. History already held is kept.
  ///
  /// For a new replica (a join) and one that comes back after the files
  /// it needed were pruned.
  ///
  /// - Throws: `SamhandError.invalidArgument` when the checkpoint lies
  ///   before what this replica started from.
  @discardableResult
  public func adopt(_ checkpoint: Checkpoint, bytes: [UInt8]) throws -> CheckpointAdoption {
    guard checkpoint.storeID == storeID else {
      throw SamhandError(.wrongStore, "the checkpoint belongs to store \(checkpoint.storeID), this replica to \(storeID)")
    }
    return try write { db in
      if let start = try Store.base(db)?.frontier, !start.isIncluded(in: checkpoint.frontier) {
        throw SamhandError(
          .invalidArgument,
          "checkpoint \(checkpoint.fileName) at \(checkpoint.frontier) does not include the one this replica started from (\(start))")
      }
      // This replica's changesets outside the checkpoint, to apply again.
      struct Held {
        var id: Changeset.ID
        var lamport: Int64
        var published: Bool
        var bytes: [UInt8]
      }
      var held: [Held] = []
      for row in try Row.fetchAll(
        db, sql: "SELECT c.author, c.seq, c.lamport, c.published, f.bytes FROM changesets c JOIN changeset_files f ON f.author = c.author AND f.seq = c.seq")
      {
        guard let author = ReplicaID(rawValue: row[0]) else { continue }
        let sequence = UInt64(row[1] as Int64)
        guard sequence > checkpoint.frontier[author] else { continue }
        held.append(Held(id: Changeset.ID(author: author, sequence: sequence), lamport: row[2], published: row[3], bytes: [UInt8](row[4] as Data)))
      }
      let engine = merge(db)
      for item in held {
        for table in ["changesets", "changeset_files"] {
          try db.execute(
            sql: "DELETE FROM \(table) WHERE author = ? AND seq = ?", arguments: [item.id.author.rawValue, Int64(item.id.sequence)])
        }
        // Applied again below, which notes what they touch again.
        let dot = Dot(item.id.author, item.id.sequence)
        for ref in Set(try ChangesetFile.decode(item.bytes, keys: try keyring(db)).edits.map(\.record)) {
          try engine.removeTouches(ref, [dot])
        }
      }
      // Buffered changesets the checkpoint covers are done with.
      for row in try Row.fetchAll(db, sql: "SELECT author, seq FROM pending UNION SELECT author, seq FROM unconfirmed") {
        guard let author = ReplicaID(rawValue: row[0]), UInt64(row[1] as Int64) <= checkpoint.frontier[author] else { continue }
        try db.execute(sql: "DELETE FROM pending WHERE author = ? AND seq = ?", arguments: [author.rawValue, row[1] as Int64])
        try db.execute(sql: "DELETE FROM unconfirmed WHERE author = ? AND seq = ?", arguments: [author.rawValue, row[1] as Int64])
      }
      try loadState(of: checkpoint, db)
      // The state must be what its header claims: a checkpoint whose rows
      // do not make the snapshot its signer vouched for is not used (the
      // transaction rolls back). The pieces built here serve the next hash.
      let (_, hash) = try incrementalSnapshotHash(db)
      guard hash == checkpoint.snapshotHash else {
        throw SamhandError(
          .untrusted,
          "checkpoint \(checkpoint.fileName) holds a state whose snapshot hash is \(hash.prefix(16))…, not the \(checkpoint.snapshotHash.prefix(16))… its header claims: not used")
      }
      try keepCheckpoint(checkpoint, bytes: bytes, db)
      var reapplied: [Changeset.ID] = []
      for item in held.sorted(by: { $0.lamport != $1.lamport ? $0.lamport < $1.lamport : $0.id < $1.id }) {
        let envelope = try resolvingDependencies(try ChangesetFile.open(item.bytes), db)
        let changeset = envelope.header
        guard Store.isReady(changeset.author, changeset.sequence, changeset.dependencies, try Store.readFrontier(db)) else {
          // Waits for what it depends on, as a file from the folder would.
          try db.execute(
            sql: "INSERT OR IGNORE INTO pending(author, seq, hash, bytes, deps) VALUES (?, ?, ?, ?, ?)",
            arguments: [
              changeset.author.rawValue, Int64(changeset.sequence), Data(SHA256.hash(data: item.bytes)), Data(item.bytes),
              Store.encodeVector(changeset.dependencies),
            ])
          continue
        }
        // This office's own writes count here as when it made them, even
        // while its key waits for an administrator's confirmation.
        _ = try applyRemote(envelope, fileURL: nil, ownWrite: changeset.author == replica, db)
        if !item.published {
          try db.execute(
            sql: "UPDATE changesets SET published = 0 WHERE author = ? AND seq = ?",
            arguments: [changeset.author.rawValue, Int64(changeset.sequence)])
        }
        reapplied.append(envelope.id)
      }
      return CheckpointAdoption(name: checkpoint.fileName, frontier: checkpoint.frontier, reapplied: reapplied)
    }
  }
}

extension Store {
  /// Forgets which records the changesets inside `frontier` touched.
  fileprivate func forgetTouches(inside frontier: VersionVector, _ db: Database) throws {
    try flushMerge(db)
    var changed: [(RecordRef, [UInt8])] = []
    let rows = try Row.fetchCursor(db, sql: "SELECT collection, record, touches FROM records WHERE length(touches) > 0")
    while let row = try rows.next() {
      let dots = try RecordState.decodeTouches([UInt8](row[2] as Data))
      let kept = dots.filter { $0.counter > frontier[$0.replica] }
      guard kept.count < dots.count else { continue }
      var writer = BinaryWriter()
      RecordState.encodeTouches(kept, to: &writer)
      changed.append((RecordRef(row[0] as String, row[1] as String), writer.bytes))
    }
    let update = try db.cachedStatement(sql: "UPDATE records SET touches = ? WHERE collection = ? AND record = ?")
    for (ref, touches) in changed { try update.execute(arguments: [Data(touches), ref.collection, ref.id]) }
    // Rows left with neither state nor history go.
    try db.execute(
      sql: "DELETE FROM records WHERE length(touches) = 0 AND state = ?", arguments: [Data(RecordState().encoded())])
  }
}
