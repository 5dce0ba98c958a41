import Crypto
import Foundation
import GRDB

/// What happened to changesets handed to `Store.receive`.
public struct ReceiveResult: Sendable, Hashable {
  /// Applied now, in order (the one received and any it unblocked).
  public var applied: [Changeset.ID] = []
  /// Applied as rejected: they break the schema or the rules, so they count
  /// in the frontier but change nothing. Every replica rejects them alike.
  public var rejected: [Changeset.ID: String] = [:]
  /// Waiting in the buffer for changesets they depend on.
  public var buffered: [Changeset.ID] = []
  /// Already applied or already waiting: nothing to do.
  public var duplicates: [Changeset.ID] = []
  /// Set aside: the roster in force in their causal context does not let
  /// their author sign them (not a member, retired, a revoked or unknown
  /// key). Not applied and not in the frontier.
  public var setAside: [Changeset.ID: String] = [:]

  /// Creates an empty result.
  public init() {}

  mutating func merge(_ other: ReceiveResult) {
    applied += other.applied
    rejected.merge(other.rejected) { first, _ in first }
    buffered += other.buffered
    duplicates += other.duplicates
    setAside.merge(other.setAside) { first, _ in first }
  }
}

// MARK: - Local writes

extension Store {
  /// Runs `body` to collect writes, then commits them as one changeset.
  ///
  /// The changeset is applied to the local state and kept in the outbox in
  /// the same database transaction: either all of it is stored, or none.
  ///
  /// - Parameter body: makes the writes; throwing from it commits nothing.
  /// - Returns: the new changeset, or nil when the body wrote nothing.
  /// - Throws: `SamhandError.schemaViolation` for a write that breaks the schema.
  @discardableResult
  public func transact(_ body: (inout Transaction) throws -> Void) throws -> Changeset? {
    try transact(timestamp: Int64((Date().timeIntervalSince1970 * 1000).rounded()), body)
  }

  /// A transaction with a given wall-clock time, for fixed scenarios such as golden files.
  @discardableResult
  package func transact(timestamp: Int64, _ body: (inout Transaction) throws -> Void) throws -> Changeset? {
    try transact(timestamp: timestamp, expecting: nil, body)
  }

  /// A read of a record went stale before the write that depended on it committed.
  package struct StaleRead: Error {}

  /// A transaction that commits only if `expecting`'s record still reads
  /// as given, inside the write; otherwise it throws `StaleRead` and
  /// commits nothing. For read-modify-write such as saving a typed record.
  package func transact(
    timestamp: Int64 = Int64((Date().timeIntervalSince1970 * 1000).rounded()),
    expecting: (RecordRef, Record?)?, _ body: (inout Transaction) throws -> Void
  ) throws -> Changeset? {
    var transaction = Transaction(schema: schema)
    try body(&transaction)
    guard !transaction.edits.isEmpty else { return nil }
    let edits = transaction.edits
    guard edits.count <= ChangesetFile.maximumEditCount - 100_000 else {
      throw SamhandError(
        .invalidArgument,
        "a transaction may hold at most \(ChangesetFile.maximumEditCount - 100_000) edits, this one has \(edits.count): split it into several")
    }
    guard hasObservers else { return try commit(edits, timestamp: timestamp, expecting: expecting) }
    let before = try conflicts(of: Array(Set(edits.map(\.record))))
    let changeset = try commit(edits, timestamp: timestamp, expecting: expecting)
    try notify(.local, changesets: [changeset.id], conflictsBefore: before)
    return changeset
  }

  /// Stores and applies one local changeset in one database transaction.
  func commit(
    _ edits: [Edit], timestamp: Int64, expecting: (RecordRef, Record?)?,
    alsoInTransaction: ((Changeset, Database) throws -> Void)? = nil
  ) throws -> Changeset {
    try write { db in
      if let (ref, expected) = expecting, try loadRecord(ref, db) != expected { throw StaleRead() }
      let frontier = try Store.readFrontier(db)
      let lamport = UInt64(try Store.meta(db, "lamport") ?? "0") ?? 0
      let key = try signingKey(db)
      var changeset = Changeset(
        storeID: storeID, author: replica, sequence: frontier[replica] + 1, dependencies: frontier,
        lamport: lamport + 1, timestamp: timestamp, edits: edits + (try preservingEdits(for: edits, db)))
      guard changeset.edits.count <= ChangesetFile.maximumEditCount else {
        throw SamhandError(
          .invalidArgument,
          "the transaction grew to \(changeset.edits.count) edits, over the limit of \(ChangesetFile.maximumEditCount): split it")
      }
      // The same judgement every other replica will make of it.
      let rosterChanges: [Edit]
      switch try trustVerdict(changeset, signer: key.publicKey, db) {
      case .accept(let changes): rosterChanges = changes
      case .reject(let reason), .setAside(let reason): throw SamhandError(.notPermitted, reason)
      }
      if genesis == nil, changeset.edits.contains(where: { $0.record.collection == Roster.collection }) {
        throw SamhandError(.notPermitted, "this store has no roster to change: it was made without a shared folder")
      }
      let bytes: [UInt8]
      (changeset, bytes) = ChangesetFile.signed(changeset, by: key)
      try applyEffects(of: changeset, db)
      try recordTrustFacts(of: changeset, rosterChanges: rosterChanges, db)
      try Store.recordApplied(changeset, bytes: bytes, rejected: nil, published: false, db)
      try alsoInTransaction?(changeset, db)
      return changeset
    }
  }
}

// MARK: - Receiving

extension Store {
  /// Receives one changeset file from another replica (or this one's own, recovered).
  ///
  /// Verifies and decodes it; applies it if everything it depends on is
  /// applied, else buffers it; then applies every buffered changeset that
  /// is ready: those it unblocked, and any that an earlier call left behind
  /// when it was killed in the middle of draining the buffer. Each
  /// changeset is applied whole or not at all. Receiving the
  /// same file twice changes nothing else.
  ///
  /// - Throws: `SamhandError.corruptChangeset`, `.unsupportedFormat`,
  ///   `.wrongStore` for a file that is not a good changeset of this store;
  ///   `.slugCollision` when a different changeset with the same author and
  ///   sequence number is already known. Nothing is stored in these cases.
  @discardableResult
  public func receive(_ bytes: [UInt8], fileURL: URL? = nil) throws -> ReceiveResult {
    let changeset = try ChangesetFile.decode(bytes, fileURL: fileURL)
    if checksTrust { _ = try Store.checkSignature(changeset, bytes: bytes, fileURL: fileURL) }
    var result = try accept(changeset, bytes: bytes, fileURL: fileURL)
    // Drain after every file, even a duplicate or one that must wait: a drain
    // cut short by a crash leaves ready changesets in the buffer, and neither
    // their files (now duplicates) nor those that depend on them (buffered)
    // would ever apply them otherwise. One changeset to a transaction:
    // a program that hands over files one at a time sees each land.
    result.merge(try drainPending(batchSeconds: 0))
    return result
  }

  /// Receives many files, then drains the buffer once: the fast path for sync.
  ///
  /// Files that fail are reported in `failures` and do not stop the others.
  public func receive(files: [(bytes: [UInt8], url: URL?)]) throws -> (ReceiveResult, failures: [(URL?, SamhandError)]) {
    var result = ReceiveResult()
    var failures: [(URL?, SamhandError)] = []
    for file in files {
      do {
        let changeset = try ChangesetFile.decode(file.bytes, fileURL: file.url)
        if checksTrust { _ = try Store.checkSignature(changeset, bytes: file.bytes, fileURL: file.url) }
        result.merge(try accept(changeset, bytes: file.bytes, fileURL: file.url, applyNow: false))
      } catch let error as SamhandError where error.code != .storage {
        failures.append((file.url, error))
      }
    }
    result.merge(try drainPending())
    return (result, failures)
  }

  /// Checks a decoded changeset against what is known, then applies or buffers it.
  func accept(
    _ changeset: Changeset, bytes: [UInt8], fileURL: URL?, applyNow: Bool = true,
    alsoInTransaction: ((Database) throws -> Void)? = nil
  ) throws -> ReceiveResult {
    try ImportProfile.transaction { try write(durable: false) { db in
      try alsoInTransaction?(db)
      return try acceptInTransaction(changeset, bytes: bytes, fileURL: fileURL, applyNow: applyNow, db)
    } }
  }

  /// ``accept(_:bytes:fileURL:applyNow:alsoInTransaction:)`` inside a
  /// transaction the caller holds (a sync applies many files in one).
  func acceptInTransaction(
    _ changeset: Changeset, bytes: [UInt8], fileURL: URL?, applyNow: Bool = true, _ db: Database
  ) throws -> ReceiveResult {
    guard changeset.storeID == storeID else {
      throw SamhandError(
        .wrongStore, "changeset belongs to store \(changeset.storeID), this replica to \(storeID)",
        changesetID: changeset.id, fileURL: fileURL)
    }
    let hash = Data(SHA256.hash(data: bytes))
    do {
      var result = ReceiveResult()
      let known = try Row.fetchOne(
        try db.cachedStatement(
          sql: "SELECT hash FROM changesets WHERE author = ? AND seq = ? UNION ALL SELECT hash FROM pending WHERE author = ? AND seq = ?"),
        arguments: [changeset.author.rawValue, Int64(changeset.sequence), changeset.author.rawValue, Int64(changeset.sequence)])
      if let known {
        let knownHash: Data = known[0]
        guard knownHash == hash else {
          throw SamhandError(
            .slugCollision,
            "two different changesets claim to be \(changeset.id): known \(knownHash.hexString.prefix(16)), new \(hash.hexString.prefix(16)); two installations may be writing as '\(changeset.author)'",
            changesetID: changeset.id, fileURL: fileURL, replicaID: changeset.author)
        }
        result.duplicates.append(changeset.id)
        return result
      }
      let frontier = try Store.readFrontier(db)
      if changeset.sequence <= frontier[changeset.author] {
        // Inside the checkpoint this replica started from, which holds its
        // effects but not its file.
        result.duplicates.append(changeset.id)
        return result
      }
      if applyNow && Store.isReady(changeset.author, changeset.sequence, changeset.dependencies, frontier) {
        result.merge(try applyRemote(changeset, bytes: bytes, db))
      } else {
        try db.execute(
          sql: "INSERT INTO pending(author, seq, hash, bytes, deps) VALUES (?, ?, ?, ?, ?)",
          arguments: [changeset.author.rawValue, Int64(changeset.sequence), hash, Data(bytes), Store.encodeVector(changeset.dependencies)])
        result.buffered.append(changeset.id)
      }
      return result
    }
  }

  static func isReady(_ author: ReplicaID, _ sequence: UInt64, _ dependencies: VersionVector, _ frontier: VersionVector) -> Bool {
    frontier[author] == sequence - 1 && dependencies.isIncluded(in: frontier)
  }

  /// Applies every buffered changeset whose dependencies are met, each
  /// whole, several to a transaction.
  func drainPending(_ cancellation: SyncCancellation? = nil, batchSeconds: Double = Store.batchSeconds) throws -> ReceiveResult {
    var result = ReceiveResult()
    try drainPending(into: &result, cancellation, batchSeconds: batchSeconds)
    return result
  }

  /// Drains the buffer, adding to `result` as it goes, so a cancelled
  /// drain still reports what it applied.
  func drainPending(
    into result: inout ReceiveResult, _ cancellation: SyncCancellation?, batchSeconds: Double = Store.batchSeconds
  ) throws {
    while true {
      try cancellation?.check()
      let ready: [(ReplicaID, UInt64)] = try read { db in
        var frontier = try Store.readFrontier(db)
        var waiting: [(ReplicaID, UInt64, VersionVector)] = []
        for row in try Row.fetchAll(try db.cachedStatement(sql: "SELECT author, seq, deps FROM pending ORDER BY author, seq")) {
          guard let author = ReplicaID(rawValue: row[0]) else { continue }
          waiting.append((author, UInt64(row[1] as Int64), try Store.decodeVector(row[2])))
        }
        // Walk the buffer as the frontier grows, so a chain of waiting
        // changesets is found in one pass over the table.
        var chosen: [(ReplicaID, UInt64)] = []
        var progress = true
        while progress {
          progress = false
          waiting.removeAll { author, sequence, dependencies in
            guard Store.isReady(author, sequence, dependencies, frontier) else { return false }
            chosen.append((author, sequence))
            frontier[author] = sequence
            progress = true
            return true
          }
        }
        return chosen
      }
      if ready.isEmpty { return }
      try applyInBatches(ready, into: &result, cancellation, batchSeconds: batchSeconds) { _, item, db in
        let (author, sequence) = item
        guard let row = try Row.fetchOne(
          db, sql: "SELECT bytes FROM pending WHERE author = ? AND seq = ?",
          arguments: [author.rawValue, Int64(sequence)])
        else { return ReceiveResult() }
        let bytes = [UInt8](row[0] as Data)
        try db.execute(sql: "DELETE FROM pending WHERE author = ? AND seq = ?", arguments: [author.rawValue, Int64(sequence)])
        // The bytes were verified when they were buffered.
        let changeset = try ChangesetFile.decode(bytes)
        guard Store.isReady(author, sequence, changeset.dependencies, try Store.readFrontier(db)) else {
          throw SamhandError(.storage, "buffered changeset \(changeset.id) is not ready after all", changesetID: changeset.id)
        }
        return try applyRemote(changeset, bytes: bytes, db)
      }
    }
  }

  /// Applies `items` in turn, several to a write transaction (each whole
  /// or not at all, as `apply` makes it): a transaction commits once it
  /// has run `batchSeconds`, and at once when the sync is cancelled, so
  /// that what was applied stays; then `afterCommit` runs, outside it, and
  /// a cancelled run throws `CancellationError`. What `apply` returns is
  /// added to `result` as each transaction commits.
  func applyInBatches<Item>(
    _ items: [Item], into result: inout ReceiveResult, _ cancellation: SyncCancellation?,
    batchSeconds: Double = Store.batchSeconds,
    apply: (_ index: Int, _ item: Item, _ db: Database) throws -> ReceiveResult,
    afterCommit: () throws -> Void = {}
  ) throws {
    var next = 0
    while next < items.count {
      try cancellation?.check()
      var cancelled = false
      let batch = try ImportProfile.transaction { try write(durable: false) { db -> ReceiveResult in
        var batch = ReceiveResult()
        let started = DispatchTime.now().uptimeNanoseconds
        while next < items.count {
          if cancellation?.isCancelled == true {
            cancelled = true
            break
          }
          let index = next
          next += 1
          batch.merge(try apply(index, items[index], db))
          if Store.batchIsDue(since: started, after: batchSeconds) { break }
        }
        return batch
      } }
      result.merge(batch)
      try afterCommit()
      if cancelled { throw CancellationError() }
    }
  }

  /// How long one import transaction may run before it commits and the
  /// next begins: long enough that a round's changesets share a commit
  /// (each commit writes every page it changed to the log again), short
  /// enough that a cancelled or killed sync loses little work.
  static let batchSeconds = 0.5

  static func batchIsDue(since started: UInt64, after seconds: Double = batchSeconds) -> Bool {
    Double(DispatchTime.now().uptimeNanoseconds &- started) / 1e9 >= seconds
  }

  /// Judges and applies a changeset whose dependencies are all applied.
  ///
  /// Its signature was verified when it was received; here the roster in
  /// force in its causal context says whether its author may sign it (else
  /// it is set aside), and the rights and the schema whether it may make
  /// its writes (else it is applied as rejected).
  func applyRemote(_ changeset: Changeset, bytes: [UInt8], _ db: Database) throws -> ReceiveResult {
    var result = ReceiveResult()
    var rosterChanges: [Edit] = []
    var rejection = ImportProfile.measure(.verifying) { validate(changeset) }
    let verdict = try ImportProfile.measure(.verifying) { try trustVerdict(changeset, signer: Store.signer(of: changeset), db) }
    switch verdict {
    case .setAside(let reason):
      try recordUntrusted(changeset, bytes: bytes, reason: reason, db)
      result.setAside[changeset.id] = reason
      return result
    case .reject(let reason): rejection = reason
    case .accept(let changes): rosterChanges = changes
    }
    if let reason = rejection {
      try Store.recordApplied(changeset, bytes: bytes, rejected: reason, published: true, db)
      result.rejected[changeset.id] = reason
    } else {
      try ImportProfile.measure(.merging) { try applyEffects(of: changeset, db) }
      try recordTrustFacts(of: changeset, rosterChanges: rosterChanges, db)
      // Our own changesets, recovered from the folder, are already published there.
      try Store.recordApplied(changeset, bytes: bytes, rejected: nil, published: true, db)
      result.applied.append(changeset.id)
    }
    return result
  }

  /// Why a changeset breaks the schema, or nil. Roster changes are outside
  /// the schema; the roster's own rules judge them in a store that has one.
  func validate(_ changeset: Changeset) -> String? {
    guard genesis != nil, changeset.edits.contains(where: { $0.record.collection == Roster.collection }) else {
      return schema.violation(in: changeset)
    }
    var data = changeset
    data.edits.removeAll { $0.record.collection == Roster.collection }
    return schema.violation(in: data)
  }

  static func recordApplied(_ changeset: Changeset, bytes: [UInt8], rejected: String?, published: Bool, _ db: Database) throws {
    try db.cachedStatement(
      sql: "INSERT INTO changesets(author, seq, lamport, wall, hash, deps, rejected, published) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    ).execute(
      arguments: [
        changeset.author.rawValue, Int64(changeset.sequence), Int64(changeset.lamport), changeset.timestamp,
        Data(SHA256.hash(data: bytes)), encodeVector(changeset.dependencies), rejected, published,
      ])
    try db.cachedStatement(sql: "INSERT INTO changeset_files(author, seq, bytes) VALUES (?, ?, ?)")
      .execute(arguments: [changeset.author.rawValue, Int64(changeset.sequence), Data(bytes)])
    try db.cachedStatement(
      sql: "INSERT INTO frontier(replica, counter) VALUES (?, ?) ON CONFLICT(replica) DO UPDATE SET counter = excluded.counter"
    ).execute(arguments: [changeset.author.rawValue, Int64(changeset.sequence)])
    let lamport = UInt64(try meta(db, "lamport") ?? "0") ?? 0
    if changeset.lamport > lamport { try setMeta(db, "lamport", String(changeset.lamport)) }
  }
}

// MARK: - Vectors in the database

extension Store {
  static func encodeVector(_ vector: VersionVector) -> Data {
    var writer = BinaryWriter()
    let entries = vector.sorted
    writer.varint(UInt64(entries.count))
    for entry in entries {
      writer.string(entry.replica.rawValue)
      writer.varint(entry.counter)
    }
    return Data(writer.bytes)
  }

  static func decodeVector(_ data: Data) throws -> VersionVector {
    var reader = BinaryReader([UInt8](data))
    var vector = VersionVector()
    do throws(BinaryReader.Failure) {
      for _ in 0..<(try reader.count(minimumSize: 2)) {
        let slug = try reader.string()
        let counter = try reader.varint()
        guard let replica = ReplicaID(rawValue: slug) else { throw BinaryReader.Failure(message: "bad slug", offset: 0) }
        vector[replica] = counter
      }
    } catch {
      throw SamhandError(.storage, "a stored version vector is damaged: \(error.message)")
    }
    return vector
  }
}

extension Data {
  var hexString: String { map { String(format: "%02x", $0) }.joined() }
}
