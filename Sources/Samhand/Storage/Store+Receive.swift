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
      // In an encrypted folder: a revocation or retirement puts a new group key in force.
      let sealingRoster = isEncrypted ? try roster(at: frontier, db) : nil
      let rotated = sealingRoster.flatMap { rotation(for: changeset.edits, roster: $0) }
      if let rotated { changeset.edits.append(rotated.edit) }
      guard changeset.edits.count <= ChangesetFile.maximumEditCount else {
        throw SamhandError(
          .invalidArgument,
          "the transaction grew to \(changeset.edits.count) edits, over the limit of \(ChangesetFile.maximumEditCount): split it")
      }
      // The same judgement every other replica will make of it.
      let rosterChanges: [Edit]
      switch try trustVerdict(changeset, signer: key.publicKey, local: true, db) {
      case .accept(let changes): rosterChanges = changes
      case .reject(let reason), .setAside(let reason), .unconfirmed(let reason): throw SamhandError(.notPermitted, reason)
      }
      if let violation = Limits.recordViolation(in: changeset.edits) {
        throw SamhandError(.tooLarge, "\(violation): split the transaction")
      }
      if genesis == nil, changeset.edits.contains(where: { $0.record.collection == Roster.collection }) {
        throw SamhandError(.notPermitted, "this store has no roster to change: it was made without a shared folder")
      }
      let bytes: [UInt8]
      let sealing = try sealingRoster.flatMap { try sealingKey(for: changeset.edits, roster: $0, db) }
      (changeset, bytes) = ChangesetFile.signed(changeset, by: key, base: try writingBase(for: changeset, db), sealedWith: sealing)
      let payloadSize = try ChangesetFile.open(bytes).header.payloadSize
      guard payloadSize <= ChangesetFile.maximumPayloadSize else {
        throw SamhandError(
          .tooLarge,
          "the transaction's changeset would hold \(payloadSize) bytes of edits, over the limit of \(ChangesetFile.maximumPayloadSize): split it")
      }
      try applyEffects(of: changeset, db)
      try recordTrustFacts(of: changeset, rosterChanges: rosterChanges, db)
      try recordApplied(changeset, bytes: bytes, rejected: nil, published: false, db)
      if let rotated { try addGroupKey(rotated.key, db) }
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
  ///   sequence number is already applied and this one too is signed by a
  ///   key its author may sign with. Nothing is stored in these cases.
  @discardableResult
  public func receive(_ bytes: [UInt8], fileURL: URL? = nil) throws -> ReceiveResult {
    let envelope = try ChangesetFile.open(bytes, fileURL: fileURL)
    if checksTrust { _ = try Store.checkSignature(envelope, fileURL: fileURL) }
    var result = try accept(envelope, fileURL: fileURL)
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
        let envelope = try ChangesetFile.open(file.bytes, fileURL: file.url)
        if checksTrust { _ = try Store.checkSignature(envelope, fileURL: file.url) }
        result.merge(try accept(envelope, fileURL: file.url, applyNow: false))
      } catch let error as SamhandError where error.code != .storage {
        failures.append((file.url, error))
      }
    }
    result.merge(try drainPending())
    return (result, failures)
  }

  /// Checks a changeset file against what is known, then applies or buffers it.
  func accept(
    _ envelope: ChangesetEnvelope, fileURL: URL?, applyNow: Bool = true,
    alsoInTransaction: ((Database) throws -> Void)? = nil
  ) throws -> ReceiveResult {
    try ImportProfile.transaction { try write(durable: false) { db in
      try alsoInTransaction?(db)
      return try acceptInTransaction(envelope, fileURL: fileURL, applyNow: applyNow, db)
    } }
  }

  /// ``accept(_:fileURL:applyNow:alsoInTransaction:)`` inside a
  /// transaction the caller holds (a sync applies many files in one).
  ///
  /// Its signature was checked by the caller; its payload is inflated only
  /// once the roster lets its author sign it.
  func acceptInTransaction(
    _ envelope: ChangesetEnvelope, fileURL: URL?, applyNow: Bool = true, _ db: Database
  ) throws -> ReceiveResult {
    let header = envelope.header, id = envelope.id
    guard header.storeID == storeID else {
      throw SamhandError(
        .wrongStore, "changeset belongs to store \(header.storeID), this replica to \(storeID)",
        changesetID: id, fileURL: fileURL)
    }
    let hash = Data(SHA256.hash(data: envelope.bytes))
    var result = ReceiveResult()
    let author = header.author.rawValue, sequence = Int64(header.sequence)
    if let knownHash = try Data.fetchOne(
      try db.cachedStatement(sql: "SELECT hash FROM changesets WHERE author = ? AND seq = ?"), arguments: [author, sequence])
    {
      guard knownHash == hash else {
        // Another file under a number already applied: evidence of a
        // second installation only if its author's key signed it.
        try judgeSecondFile(envelope, hash: hash, knownHash: knownHash, fileURL: fileURL, into: &result, db)
        return result
      }
      result.duplicates.append(id)
      return result
    }
    if try Row.fetchOne(
      try db.cachedStatement(sql: "SELECT 1 FROM pending WHERE author = ? AND seq = ? AND hash = ?"),
      arguments: [author, sequence, hash]) != nil
    {
      result.duplicates.append(id)
      return result
    }
    let frontier = try transactionFrontier(db)
    if header.sequence <= frontier[header.author] {
      // Inside the checkpoint this replica started from, which holds its
      // effects but not its file.
      result.duplicates.append(id)
      return result
    }
    // A sealed payload is read only with its group key: without it the
    // file stays in the folder, unread, until the key has arrived.
    if let keyID = header.keyID, try keyring(db, needing: keyID)[keyID] == nil {
      guard isEncrypted else {
        throw SamhandError(
          .corruptChangeset, "it is sealed with a group key, and this folder is not encrypted", changesetID: id, fileURL: fileURL)
      }
      throw ChangesetFile.missingKey(keyID, header: header, fileURL: fileURL)
    }
    // A format 2 file names its dependencies against its author's previous
    // changeset: whole once that one is known here, else a lower bound
    // that makes it wait for it (and it is resolved when drained).
    let envelope = try resolvingDependencies(envelope, fileURL: fileURL, db)
    if applyNow && Store.isReady(header.author, header.sequence, envelope.header.dependencies, frontier) {
      result.merge(try applyRemote(envelope, fileURL: fileURL, db))
    } else {
      // Several files may wait under one number (a forged one beside the
      // real one): the first the roster lets its author sign is applied.
      try db.cachedStatement(sql: "INSERT OR IGNORE INTO pending(author, seq, hash, bytes, deps) VALUES (?, ?, ?, ?, ?)")
        .execute(arguments: [author, sequence, hash, Data(envelope.bytes), Store.encodeVector(envelope.header.dependencies)])
      result.buffered.append(id)
    }
    return result
  }

  /// A file claiming a changeset already applied, with other bytes: a
  /// collision (thrown as `slugCollision`) when the author may have signed
  /// it, else set aside as not the author's.
  private func judgeSecondFile(
    _ envelope: ChangesetEnvelope, hash: Data, knownHash: Data, fileURL: URL?, into result: inout ReceiveResult, _ db: Database
  ) throws {
    let id = envelope.id
    let signer = Store.signer(envelope.header.signatures)
    if try !checksTrust || mayHaveSigned(id.author, id.sequence, signer, db) {
      throw SamhandError(
        .slugCollision,
        "two different changesets claim to be \(id): known \(knownHash.hexString.prefix(16)), new \(hash.hexString.prefix(16)); two installations may be writing as '\(id.author)'",
        changesetID: id, fileURL: fileURL, replicaID: id.author)
    }
    let reason =
      "not \(id.author)'s: another changeset \(id) is applied, and this one is signed by \(signer.map { "key \($0.fingerprint)" } ?? "no key"), which is not a key of \(id.author)"
    try recordUntrusted(id, hash: hash, reason: reason, db)
    result.setAside[id] = reason
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
      // Claims an administrator confirmed meanwhile wait in the buffer too;
      // files under numbers already applied leave it.
      let tidy = try read { db in
        (try Int.fetchOne(db, sql: "SELECT (SELECT COUNT(*) FROM unconfirmed) + (SELECT COUNT(*) FROM pending p JOIN frontier f ON f.replica = p.author AND p.seq <= f.counter)") ?? 0) > 0
      }
      if tidy {
        let settled = try write(durable: false) { db -> ReceiveResult in
          try promoteConfirmedClaims(db)
          return try settleBufferedDuplicates(db)
        }
        result.merge(settled)
      }
      let ready: [(ReplicaID, UInt64, Data)] = try read { db in
        var frontier = try Store.readFrontier(db)
        var waiting: [(ReplicaID, UInt64, VersionVector, Data)] = []
        for row in try Row.fetchAll(try db.cachedStatement(sql: "SELECT author, seq, deps, hash FROM pending ORDER BY author, seq, hash")) {
          guard let author = ReplicaID(rawValue: row[0]) else { continue }
          waiting.append((author, UInt64(row[1] as Int64), try Store.decodeVector(row[2]), row[3]))
        }
        // Walk the buffer as the frontier grows, so a chain of waiting
        // changesets is found in one pass over the table.
        var chosen: [(ReplicaID, UInt64, Data)] = []
        var progress = true
        while progress {
          progress = false
          waiting.removeAll { author, sequence, dependencies, hash in
            guard Store.isReady(author, sequence, dependencies, frontier) else { return false }
            chosen.append((author, sequence, hash))
            frontier[author] = sequence
            progress = true
            return true
          }
        }
        return chosen
      }
      if ready.isEmpty { return }
      try applyInBatches(ready, into: &result, cancellation, batchSeconds: batchSeconds) { _, item, db in
        let (author, sequence, hash) = item
        guard let row = try Row.fetchOne(
          db, sql: "SELECT bytes FROM pending WHERE author = ? AND seq = ? AND hash = ?",
          arguments: [author.rawValue, Int64(sequence), hash])
        else { return ReceiveResult() }
        let bytes = [UInt8](row[0] as Data)
        try db.execute(
          sql: "DELETE FROM pending WHERE author = ? AND seq = ? AND hash = ?", arguments: [author.rawValue, Int64(sequence), hash])
        // The bytes were verified when they were buffered; a format 2 file
        // buffered before its base was known is resolved now.
        let envelope: ChangesetEnvelope
        do {
          envelope = try resolvingDependencies(try ChangesetFile.open(bytes), db)
        } catch let error as SamhandError where error.code != .storage {
          let id = Changeset.ID(author: author, sequence: sequence)
          try recordUntrusted(id, bytes: bytes, reason: error.message, db)
          var result = ReceiveResult()
          result.setAside[id] = error.message
          return result
        }
        guard Store.isReady(author, sequence, envelope.header.dependencies, try transactionFrontier(db)) else {
          // Another file under the same number went first in this batch;
          // it is judged when the buffer is tidied.
          try db.execute(
            sql: "INSERT OR IGNORE INTO pending(author, seq, hash, bytes, deps) VALUES (?, ?, ?, ?, ?)",
            arguments: [author.rawValue, Int64(sequence), hash, Data(bytes), Store.encodeVector(envelope.header.dependencies)])
          return ReceiveResult()
        }
        return try applyRemote(envelope, fileURL: nil, db)
      }
    }
  }

  /// Files in the buffer under a number already applied (a forged copy,
  /// or a second installation's): each leaves the buffer, as a collision
  /// when its author's key signed it, else set aside.
  private func settleBufferedDuplicates(_ db: Database) throws -> ReceiveResult {
    var result = ReceiveResult()
    let rows = try Row.fetchAll(
      db,
      sql: """
        SELECT p.author, p.seq, p.hash, p.bytes, c.hash FROM pending p
        JOIN frontier f ON f.replica = p.author AND p.seq <= f.counter
        LEFT JOIN changesets c ON c.author = p.author AND c.seq = p.seq
        """)
    for row in rows {
      let author: String = row[0], sequence: Int64 = row[1], hash: Data = row[2]
      try db.execute(sql: "DELETE FROM pending WHERE author = ? AND seq = ? AND hash = ?", arguments: [author, sequence, hash])
      guard let knownHash = row[4] as Data?, knownHash != hash else { continue }
      let envelope = try ChangesetFile.open([UInt8](row[3] as Data))
      do {
        try judgeSecondFile(envelope, hash: hash, knownHash: knownHash, fileURL: nil, into: &result, db)
      } catch let error as SamhandError where error.code == .slugCollision {
        try recordCollision(
          envelope.id, knownHash: knownHash.hexString, otherHash: hash.hexString,
          path: SharedFolder.Entry.relativePath(envelope.id), otherBytes: envelope.bytes, db)
      }
    }
    return result
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
        // Cancelled during the last item (inside a pack): what it applied is
        // committed, and the sync ends as cancelled.
        if next == items.count, cancellation?.isCancelled == true { cancelled = true }
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
  /// Its signature was verified when it was received. First, from its
  /// header alone, the roster in force in its causal context says whether
  /// its author may sign it with that key (else it is set aside, or kept
  /// as unconfirmed); only then is its payload inflated, and the rights
  /// and the schema say whether it may make its writes (else it is applied
  /// as rejected). A payload its author signed that does not decode, or
  /// breaks a limit, is rejected the same way on every replica.
  ///
  /// - Parameter ownWrite: whether it is this office's own write, applied
  ///   again (after starting from a checkpoint): its key counts as when it
  ///   was written, even while an administrator has not confirmed it.
  func applyRemote(_ envelope: ChangesetEnvelope, fileURL: URL?, ownWrite: Bool = false, _ db: Database) throws -> ReceiveResult {
    var result = ReceiveResult()
    let envelope = try resolvingDependencies(envelope, fileURL: fileURL, db)
    let header = envelope.header, id = envelope.id
    guard header.dependenciesResolved else {
      // Callers apply a changeset once its author's previous one is, whose
      // promise is then known.
      throw SamhandError(
        .storage, "changeset \(id) was applied before its dependencies could be resolved", changesetID: id, fileURL: fileURL)
    }
    if genesis != nil {
      let signer = Store.signer(header.signatures)
      let verdict = try ImportProfile.measure(.verifying) {
        try signerVerdict(
          header.author, header.sequence, signer: signer, roster: try roster(at: header.dependencies, db), local: ownWrite, db)
      }
      switch verdict {
      case .setAside(let reason):
        try recordUntrusted(id, bytes: envelope.bytes, reason: reason, db)
        result.setAside[id] = reason
        return result
      case .unconfirmed(let reason):
        if let signer { try recordUnconfirmed(envelope, key: signer, reason: reason, db) }
        result.setAside[id] = reason
        return result
      case .allowed:
        break
      }
    }
    let changeset: Changeset
    do {
      changeset = try envelope.changeset(fileURL: fileURL, keys: try keyring(db, needing: header.keyID))
    } catch let error as SamhandError where error.code != .storage && error.code != .missingKey {
      // Signed by its author: every replica fails on the same bytes alike.
      let reason = "its payload cannot be read: \(error.message)"
      try recordApplied(Changeset(header: header), bytes: envelope.bytes, rejected: reason, published: true, db)
      result.rejected[id] = reason
      return result
    }
    var rosterChanges: [Edit] = []
    var rejection = ImportProfile.measure(.verifying) { validate(changeset) }
    if genesis != nil, header.dependencyDelta != nil,
      changeset.edits.contains(where: { $0.record.collection == Roster.collection })
    {
      // A checkpoint carries roster changes as their files and judges
      // them alone, without the base a format 2 file needs.
      rejection = rejection ?? "a roster change must list its dependencies in full (changeset format 1)"
    }
    let verdict = try ImportProfile.measure(.verifying) {
      try trustVerdict(changeset, signer: Store.signer(of: changeset), local: ownWrite, db)
    }
    switch verdict {
    case .setAside(let reason), .unconfirmed(let reason):
      // Judged above from the same header: cannot differ.
      throw SamhandError(.storage, "changeset \(id) was judged twice with different results: \(reason)", changesetID: id)
    case .reject(let reason): rejection = reason
    case .accept(let changes): rosterChanges = changes
    }
    // Only an encrypted store has rules to judge here: a sealed file never
    // gets this far in a plain one (set aside when it is read).
    if rejection == nil, isEncrypted {
      rejection = Store.sealingViolation(keyID: header.keyID, edits: changeset.edits, roster: try roster(at: header.dependencies, db))
    }
    if let reason = rejection {
      try recordApplied(changeset, bytes: envelope.bytes, rejected: reason, published: true, db)
      result.rejected[changeset.id] = reason
    } else {
      try ImportProfile.measure(.merging) { try applyEffects(of: changeset, db) }
      try recordTrustFacts(of: changeset, rosterChanges: rosterChanges, db)
      // Our own changesets, recovered from the folder, are already published there.
      try recordApplied(changeset, bytes: envelope.bytes, rejected: nil, published: true, db)
      result.applied.append(changeset.id)
    }
    // Other files waiting under the same number are judged when the buffer is tidied.
    try db.cachedStatement(sql: "DELETE FROM unconfirmed WHERE author = ? AND seq = ? AND hash = ?")
      .execute(arguments: [id.author.rawValue, Int64(id.sequence), Data(SHA256.hash(data: envelope.bytes))])
    return result
  }

  /// Why a changeset breaks the schema or a limit, or nil. Roster changes
  /// are outside the schema; the roster's own rules judge them in a store
  /// that has one.
  func validate(_ changeset: Changeset) -> String? {
    guard genesis != nil, changeset.edits.contains(where: { $0.record.collection == Roster.collection }) else {
      return schema.violation(in: changeset)
    }
    var data = changeset
    data.edits.removeAll { $0.record.collection == Roster.collection }
    return schema.violation(in: data) ?? Limits.recordViolation(in: changeset.edits)
  }
}

extension Store {
  func recordApplied(_ changeset: Changeset, bytes: [UInt8], rejected: String?, published: Bool, _ db: Database) throws {
    try db.cachedStatement(
      sql: "INSERT INTO changesets(author, seq, lamport, wall, hash, deps, rejected, published) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    ).execute(
      arguments: [
        changeset.author.rawValue, Int64(changeset.sequence), Int64(changeset.lamport), changeset.timestamp,
        Data(SHA256.hash(data: bytes)), Store.encodeVector(changeset.dependencies), rejected, published,
      ])
    try db.cachedStatement(sql: "INSERT INTO changeset_files(author, seq, bytes) VALUES (?, ?, ?)")
      .execute(arguments: [changeset.author.rawValue, Int64(changeset.sequence), Data(bytes)])
    try db.cachedStatement(
      sql: "INSERT INTO frontier(replica, counter) VALUES (?, ?) ON CONFLICT(replica) DO UPDATE SET counter = excluded.counter"
    ).execute(arguments: [changeset.author.rawValue, Int64(changeset.sequence)])
    let engine = merge(db)
    engine.frontier?[changeset.author] = changeset.sequence
    let lamport = UInt64(try Store.meta(db, "lamport") ?? "0") ?? 0
    if changeset.lamport > lamport { try Store.setMeta(db, "lamport", String(changeset.lamport)) }
  }
}

extension Changeset {
  /// A changeset with a header's fields and no edits: what a rejected
  /// changeset whose payload cannot be read is recorded as.
  init(header: ChangesetFile.Header) {
    self.init(
      storeID: header.storeID, author: header.author, sequence: header.sequence, dependencies: header.dependencies,
      lamport: header.lamport, timestamp: header.timestamp, edits: [])
    signatures = header.signatures
  }
}

// MARK: - Vectors in the database

extension Store {
  package static func encodeVector(_ vector: VersionVector) -> Data {
    var writer = BinaryWriter()
    let entries = vector.sorted
    writer.varint(UInt64(entries.count))
    for entry in entries {
      writer.string(entry.replica.rawValue)
      writer.varint(entry.counter)
    }
    return Data(writer.bytes)
  }

  package static func decodeVector(_ data: Data) throws -> VersionVector {
    var reader = BinaryReader([UInt8](data))
    do throws(BinaryReader.Failure) {
      let count = try reader.count(minimumSize: 2)
      var entries: [VersionVector.Entry] = []
      entries.reserveCapacity(count)
      var sorted = true
      for _ in 0..<count {
        let slug = try reader.string()
        let counter = try reader.varint()
        guard let replica = ReplicaID(rawValue: slug) else { throw BinaryReader.Failure(message: "bad slug", offset: 0) }
        guard counter > 0 else { continue }
        if let last = entries.last, !(last.replica < replica) { sorted = false }
        entries.append(VersionVector.Entry(replica: replica, counter: counter))
      }
      // Written in slug order; anything else is put in order (a repeated
      // slug keeps its last counter, as a dictionary would).
      if sorted { return VersionVector(sortedPositive: entries) }
      return VersionVector(positive: Dictionary(entries.map { ($0.replica, $0.counter) }, uniquingKeysWith: { $1 }))
    } catch {
      throw SamhandError(.storage, "a stored version vector is damaged: \(error.message)")
    }
  }
}

extension Data {
  var hexString: String { map { String(format: "%02x", $0) }.joined() }
}
