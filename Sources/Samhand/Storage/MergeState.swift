import Foundation
import GRDB

/// The merge state of the store's records, as the `records` table holds it,
/// read and written one row per record (`Docs/STORAGE.md`).
///
/// Inside one write transaction, the records a changeset touches are read
/// once, merged in memory, and written back once at the end of the
/// transaction (or sooner, when many are held), so that a transaction that
/// applies many changesets writes each record it changed once, with its
/// piece of the snapshot (``RecordState/piece(_:schema:)``) beside it. Nothing
/// is written outside the transaction, so a crash loses nothing committed
/// and leaves nothing half-applied. ``savepoint(_:_:)`` makes a part of the
/// transaction (one changeset file of a sync) whole or nothing, here as in
/// the database.
///
/// Not `Sendable`: an instance belongs to the one write transaction (and
/// thread) that made it.
final class MergeState {
  struct Slot {
    var state: RecordState
    /// The `touches` column as read, and what this transaction adds to it.
    var touches: [UInt8]
    var newTouches: [Dot] = []
    var dirty = false
  }

  let db: Database
  let schema: Schema
  private var slots: [RecordRef: Slot] = [:]
  private var dirtyCount = 0
  /// In a savepoint: each slot as it was before the savepoint first changed it (nil: not held).
  private var undo: [RecordRef: Slot?]?
  /// Slots held before the cache is written and emptied.
  static let holdLimit = 20_000
  /// The `frontier` table as this transaction left it, once read: a sync
  /// judges each changeset against it, and with hundreds of offices it has
  /// hundreds of rows. Kept by `Store.recordApplied`; nil when not read or
  /// when the table was rewritten (starting from a checkpoint).
  var frontier: VersionVector?
  /// The promises of the checkpoint the store started from, decoded once
  /// per transaction when a format 2 file needs one as its base.
  var basePromises: [ReplicaID: VersionVector]?

  init(_ db: Database, schema: Schema) {
    self.db = db
    self.schema = schema
  }

  // MARK: - Reading

  private func slot(_ ref: RecordRef) throws -> Slot {
    if let slot = slots[ref] { return slot }
    let row = try Row.fetchOne(
      try db.cachedStatement(sql: "SELECT state, touches FROM records WHERE collection = ? AND record = ?"),
      arguments: [ref.collection, ref.id])
    let slot = Slot(
      state: try row.map { try RecordState(encoded: [UInt8]($0[0] as Data)) } ?? RecordState(),
      touches: row.map { [UInt8]($0[1] as Data) } ?? [])
    if slots.count >= MergeState.holdLimit { try flush() }
    slots[ref] = slot
    return slot
  }

  /// The record's merge state (empty when the store holds nothing of it).
  func state(_ ref: RecordRef) throws -> RecordState { try slot(ref).state }

  /// The changesets that touched the record, in the order applied.
  func touches(_ ref: RecordRef) throws -> [Dot] {
    let slot = try slot(ref)
    return try RecordState.decodeTouches(slot.touches) + slot.newTouches
  }

  // MARK: - Changing

  private func change(_ ref: RecordRef, _ body: (inout Slot) throws -> Void) throws {
    if slots[ref] == nil { slots[ref] = try slot(ref) }
    if undo != nil && undo![ref] == nil { undo![ref] = .some(slots[ref]) }
    // Changed in place: a copy of the slot would copy the record's arrays.
    try body(&slots[ref]!)
    if !slots[ref]!.dirty {
      slots[ref]!.dirty = true
      dirtyCount += 1
    }
  }

  /// Changes a record's state.
  func update(_ ref: RecordRef, _ body: (inout RecordState) throws -> Void) throws {
    try change(ref) { try body(&$0.state) }
  }

  /// Notes that a changeset touched the record (for its history).
  func addTouch(_ ref: RecordRef, _ dot: Dot) throws {
    try change(ref) { $0.newTouches.append(dot) }
  }

  /// Replaces a record's state (a checkpoint loaded, a tombstone purged),
  /// keeping its history.
  func replace(_ ref: RecordRef, with state: RecordState) throws {
    try change(ref) { $0.state = state }
  }

  /// Replaces a record's history (forgetting what a checkpoint covers).
  func replaceTouches(_ ref: RecordRef, with dots: [Dot]) throws {
    try change(ref) { slot in
      var writer = BinaryWriter()
      RecordState.encodeTouches(dots, to: &writer)
      slot.touches = writer.bytes
      slot.newTouches = []
    }
  }

  /// Forgets that the changesets `dots` touched the record (they are
  /// applied again, or their history is forgotten).
  func removeTouches(_ ref: RecordRef, _ dots: Set<Dot>) throws {
    let kept = try touches(ref).filter { !dots.contains($0) }
    try replaceTouches(ref, with: kept)
  }

  // MARK: - Writing

  /// Writes every changed record, with its snapshot piece, and empties the
  /// cache. Called before the transaction commits,
  /// and before anything reads the `records` table with SQL.
  func flush() throws {
    guard dirtyCount > 0 else {
      slots.removeAll(keepingCapacity: true)
      return
    }
    let upsert = try db.cachedStatement(
      sql: "INSERT OR REPLACE INTO records(collection, record, state, touches, body, conflicts, flags) VALUES (?, ?, ?, ?, ?, ?, ?)")
    let remove = try db.cachedStatement(sql: "DELETE FROM records WHERE collection = ? AND record = ?")
    for (ref, slot) in slots where slot.dirty {
      // In a savepoint, a record changed before it is restored as it was
      // (its write here rolls back with the savepoint).
      if undo != nil, undo![ref] == nil { undo![ref] = .some(slot) }
      var touches = BinaryWriter()
      touches.raw(slot.touches)
      RecordState.encodeTouches(slot.newTouches, to: &touches)
      if slot.state.isEmpty && touches.bytes.isEmpty {
        try remove.execute(arguments: [ref.collection, ref.id])
        continue
      }
      var body: Data?
      var conflicts = Data()
      if let piece = slot.state.piece(ref, schema: schema) { (body, conflicts) = piece }
      let flags =
        (slot.state.isTombstone ? Store.RecordFlags.tombstone : 0) | (conflicts.isEmpty ? 0 : Store.RecordFlags.conflict)
      try upsert.execute(
        arguments: [ref.collection, ref.id, Data(slot.state.encoded()), Data(touches.bytes), body, conflicts, flags])
    }
    // What was written is read again from the table when needed, so that
    // SQL that changes the table after a flush is never shadowed here.
    dirtyCount = 0
    slots.removeAll(keepingCapacity: true)
  }

  /// Runs `body` in a database savepoint; if it throws, the database and
  /// the records held here are as they were before it.
  func savepoint<T>(_ body: () throws -> T) throws -> T {
    precondition(undo == nil, "savepoints do not nest")
    undo = [:]
    let frontierBefore = frontier
    var result: T?
    do {
      try db.inSavepoint {
        result = try body()
        return .commit
      }
    } catch {
      for (ref, previous) in undo ?? [:] {
        if let previous {
          slots[ref] = previous
        } else {
          slots[ref] = nil
        }
      }
      dirtyCount = slots.values.filter(\.dirty).count
      undo = nil
      frontier = frontierBefore
      throw error
    }
    undo = nil
    return result!
  }

  /// Forgets everything held (the transaction was rolled back).
  func discard() {
    frontier = nil
    slots.removeAll()
    dirtyCount = 0
    undo = nil
  }
}

// MARK: - The store's access to it

extension Store {
  /// The merge state of the write transaction this thread is in, or a
  /// reader's for a read: records changed in the transaction but not yet
  /// written are seen through it.
  func merge(_ db: Database) -> MergeState {
    let key = mergeKey
    if let engine = Thread.current.threadDictionary[key] as? MergeState, engine.db === db { return engine }
    let engine = MergeState(db, schema: schema)
    Thread.current.threadDictionary[key] = engine
    return engine
  }

  /// The frontier as this transaction sees it, read once per transaction.
  func transactionFrontier(_ db: Database) throws -> VersionVector {
    let engine = merge(db)
    if let frontier = engine.frontier { return frontier }
    let frontier = try Store.readFrontier(db)
    engine.frontier = frontier
    return frontier
  }

  /// Writes what the transaction's merge state holds, before a read of the
  /// `records` table in SQL.
  func flushMerge(_ db: Database) throws {
    if let engine = Thread.current.threadDictionary[mergeKey] as? MergeState, engine.db === db { try engine.flush() }
  }

  /// Ends the thread's merge state: written when the transaction commits,
  /// forgotten when it does not.
  func endMerge(commit: Bool) throws {
    let key = mergeKey
    guard let engine = Thread.current.threadDictionary[key] as? MergeState else { return }
    defer { Thread.current.threadDictionary.removeObject(forKey: key) }
    if commit { try engine.flush() } else { engine.discard() }
  }
}
