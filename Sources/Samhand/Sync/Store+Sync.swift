import Crypto
import Foundation
import GRDB

/// What one sync did.
public struct SyncReport: Sendable, Hashable {
  /// Own changesets written to the folder for the first time.
  public var published: [Changeset.ID] = []
  /// Own changesets written again because the folder had lost them.
  public var republished: [Changeset.ID] = []
  /// Changesets applied from the folder.
  public var imported: [Changeset.ID] = []
  /// Changesets applied as rejected (they break the schema), with the reason.
  public var rejected: [Changeset.ID: String] = [:]
  /// Changesets waiting in the buffer for dependencies not yet seen.
  public var waiting: [Changeset.ID] = []
  /// How many files read in this sync went to the buffer first because
  /// a dependency was not applied yet (most were applied before the sync
  /// ended; those still waiting are in ``waiting``). Files are read in the
  /// order they were written, so a catch-up buffers few.
  public var buffered: Int = 0
  /// Files not applied, with the reason; retried at the next sync.
  public var setAside: [FolderProblem] = []
  /// Different changesets under the same office and sequence number.
  public var collisions: [Collision] = []
  /// Conflict copies made by a sync tool that hold a changeset already known.
  public var harmlessCopies: Int = 0
  /// Names passed over: temporary files, `desktop.ini`, unknown folders, …
  public var ignored: Int = 0
  /// Why this office did not publish, when it did not.
  public var publishingBlocked: String?
  /// The head written at the end.
  public var head: Head?
  /// The checkpoint this replica started from in this sync: a new office
  /// does, and one that needed changesets the folder no longer holds.
  public var adoptedCheckpoint: Store.CheckpointAdoption?
  /// Checkpoints in the folder that do not verify, with the reason.
  public var badCheckpoints: [CheckpointProblem] = []
  /// The checkpoint this office wrote at the end of the sync, if one was due.
  public var wroteCheckpoint: String?
  /// The checkpoint another office wrote that this office signed too at
  /// the end of the sync, having built the same bytes at its frontier (a
  /// checkpoint is used once two offices sign it); when it built other
  /// bytes, it wrote its own and ``badCheckpoints`` names both.
  public var cosignedCheckpoint: String?
  /// Deleted records purged from the merge state: every office has seen their deletion.
  public var purgedTombstones: Int = 0
  /// Files this office pruned from the folder (its retention allowed it).
  public var pruned: [String] = []
  /// Pack files this office wrote at the end of the sync, and the files of
  /// its own they replaced (layout 6).
  public var packing = PackingReport()
  /// Why the checkpoint or pruning after the sync failed, when it did;
  /// the sync itself completed.
  public var maintenanceProblem: String?
  /// In an encrypted folder: changesets left unread because they are
  /// sealed with a group key this store does not hold yet.
  public var waitingForKey: Int = 0
  /// Group keys this office received from the folder's `keys/` files.
  public var groupKeysReceived: Int = 0
  /// For an administrator of an encrypted folder: how many wrapped keys
  /// it wrote into its `keys/` file (nil when the file was up to date).
  public var wrappedKeysWritten: Int?
}

/// Two different changesets claiming one office and sequence number.
public struct Collision: Sendable, Hashable, CustomStringConvertible {
  /// The id both changesets claim.
  public var changeset: Changeset.ID
  /// SHA-256 (hex) of the changeset this replica holds, or of the first one
  /// seen; empty when this installation holds none of that number (a file
  /// under its own name that it never wrote).
  public var knownHash: String
  /// SHA-256 (hex) of the other file.
  public var otherHash: String
  /// The other file, relative to the shared folder.
  public var path: String

  /// The collision in words, for people; the wording may change between versions.
  public var description: String {
    if knownHash.isEmpty {
      return "\(changeset): \(path) was not written by this installation, yet it is signed with \(changeset.author)'s key (file \(otherHash.prefix(12))); another installation is writing as '\(changeset.author)'"
    }
    return "\(changeset): two different changesets (\(knownHash.prefix(12)) and \(otherHash.prefix(12)) in \(path)); two installations may be writing as '\(changeset.author)'"
  }

  /// The known hash as stored: older stores wrote a sentence for "none".
  static func hash(fromStored data: Data) -> String {
    let text = String(decoding: data, as: UTF8.self)
    return text.hasPrefix("(") ? "" : text
  }
}

/// Progress of a long sync, for a progress bar.
///
/// The handler is called on the thread that syncs, at every file. While
/// files are applied the sync holds the store's database: a read of the
/// store from the handler sees the files applied so far, and a write
/// throws `invalid-argument` (it would stand or fall with the sync's
/// transaction). Hand the figures on, to a progress bar or a main-actor
/// task, and return.
public struct SyncProgress: Sendable, Hashable {
  /// A step of a sync.
  public enum Phase: String, Sendable {
    /// The steps, in the order a sync goes through them: `listing` the
    /// folder's files, `reading` and checking new ones, `applying` them,
    /// `publishing` this office's changesets, and `finishing` (the
    /// snapshot hash and the head).
    case listing, publishing, reading, applying, finishing
  }
  /// The phase the sync is in.
  public var phase: Phase
  /// How many of the phase's items are done: files read or applied,
  /// changesets published.
  public var done: Int
  /// How many items the phase has; zero while listing.
  public var total: Int
}

// MARK: - Joining

extension Store {
  /// Creates a replica that joins the store in an existing shared folder.
  ///
  /// The replica pins the folder's genesis roster. Give `trust` (the
  /// roster's hash, as the founding office's `init` printed it) to make
  /// sure it is the right one; without it the roster is trusted as found,
  /// and its hash should be checked with the other offices.
  ///
  /// In a folder of roster format 2 (every folder this Samhand makes), the
  /// office's key counts for the others once an administrator confirms
  /// it (``confirmKey(_:of:)``); call ``claimKeyIfNeeded()`` and sync to
  /// show the administrators the claim at once, as `samhand init` does.
  ///
  /// If `replica` has published there before (a reinstalled machine), its
  /// history is recovered from the folder and its sequence continues. Its
  /// new writes are accepted only if it signs with a key in the roster:
  /// pass its backed-up `key`, or have an administrator add the new key.
  ///
  /// - Throws: `SamhandError.untrusted` when `trust` is given and the
  ///   folder's roster has another hash; nothing is created then.
  public static func join(
    folder: SharedFolder, at directory: URL, replica: ReplicaID, trust: String? = nil, key: SigningKey? = nil,
    progress: (@Sendable (SyncProgress) -> Void)? = nil
  ) throws -> (Store, SyncReport) {
    let identity = try folder.identity()
    if let trust {
      let expected = trust.lowercased().filter { !$0.isWhitespace }
      guard let roster = identity.roster else {
        throw SamhandError(
          .untrusted, "\(folder.location) has no roster (layout 1), so roster \(trust) cannot be checked",
          fileURL: folder.identityURL)
      }
      guard roster.hash == expected else {
        throw SamhandError(
          .untrusted,
          "the folder's roster is \(roster.hash), not the \(expected) you were told to trust; someone may have replaced samhand.json. Nothing was created",
          fileURL: folder.identityURL)
      }
    }
    let store = try Store.create(
      at: directory, replica: replica, storeID: identity.storeID, schema: identity.schema, genesis: identity.roster,
      key: key)
    try store.setFolder(folder)
    // Until a first sync completes, files under this office's own name are
    // its history to recover, not another installation's.
    try store.write { db in try Store.setMeta(db, "recovering", "1") }
    let report = try store.sync(with: folder, progress: progress)
    return (store, report)
  }

  /// Creates a new store: a shared folder initialised with `schema` and a
  /// genesis roster, and the first replica.
  ///
  /// - Parameters:
  ///   - roster: the genesis roster; by default the cooperation's
  ///     thirteen offices with this office's key (``Roster/cooperation(founder:key:)``).
  ///     A roster given must list `replica` with `key`'s public key.
  ///   - encrypted: make an encrypted folder (layout 7): every payload is
  ///     sealed with a group key that this office makes now and that
  ///     administrators give each office whose key they confirm
  ///     (`Docs/FORMATS.md` §15).
  public static func create(
    folder: SharedFolder, at directory: URL, replica: ReplicaID, schema: Schema, roster: Roster? = nil,
    key: SigningKey? = nil, encrypted: Bool = false
  ) throws -> Store {
    try create(
      folder: folder, at: directory, replica: replica, schema: schema, storeID: .random(), roster: roster, key: key,
      encrypted: encrypted)
  }

  /// Creates a new store with a given id, for fixed scenarios such as golden files.
  package static func create(
    folder: SharedFolder, at directory: URL, replica: ReplicaID, schema: Schema, storeID: StoreID,
    roster: Roster? = nil, key: SigningKey? = nil, encrypted: Bool = false
  ) throws -> Store {
    guard folder.isUninitialised else {
      throw SamhandError(.storeExists, "\(folder.location) already holds a Samhand store; join it instead", fileURL: folder.url)
    }
    let key = key ?? .generate()
    var genesis = roster ?? .cooperation(founder: replica, key: key.publicKey)
    // Every new folder confirms keys (roster format 2), whatever format a
    // roster file was written in.
    genesis.formatVersion = Roster.currentFormatVersion
    if encrypted { genesis.encryption = Roster.encryptionCipher }
    guard genesis.members[replica]?.keys.contains(key.publicKey) == true else {
      throw SamhandError(
        .invalidArgument,
        "the roster must list \(replica) with this installation's key \(key.publicKey.fingerprint), or its first changeset would be set aside")
    }
    guard genesis.members.values.contains(where: { $0.isAdministrator && !$0.keys.isEmpty }) else {
      throw SamhandError(
        .invalidArgument,
        "no administrator in the roster has a key, so nobody could confirm the other offices' keys: list an administrator's key, or make \(replica) an administrator (\"admin\": true)")
    }
    let identity = SharedFolder.Identity(storeID: storeID, schema: schema, roster: genesis)
    if FileManager.default.fileExists(atPath: directory.appendingPathComponent(databaseFileName).path) {
      throw SamhandError(.storeExists, "a store already exists in \(directory.path)", fileURL: directory)
    }
    // The folder first: if the store cannot be made, the folder is still a
    // valid, empty store that this office (or another) can join.
    try folder.initialise(identity)
    let store = try Store.create(
      at: directory, replica: replica, storeID: identity.storeID, schema: schema, genesis: genesis, key: key)
    try store.setFolder(folder)
    // The first group key, and this office's agreement key, are put in
    // force at once: its first sync publishes them.
    try store.setUpEncryptionIfNeeded()
    return store
  }

  /// Whether this replica's first sync with its folder has completed. A
  /// joined replica is still joining until then (an `init` that was
  /// interrupted leaves it so): its next sync finishes the join, taking
  /// files under its own name as its history to recover.
  public func hasFinishedFirstSync() throws -> Bool {
    try read { db in try Store.meta(db, "recovering") } != "1"
  }

  /// The shared folder this replica syncs with, set when it was created or joined.
  public func folder() throws -> SharedFolder? {
    try read { db in try Store.meta(db, "folder") }.map { SharedFolder(SharedFolder.url(stored: $0)) }
  }

  /// Points the replica at another copy of the shared folder (for example after a move).
  public func setFolder(_ folder: SharedFolder) throws {
    try write { db in try Store.setMeta(db, "folder", folder.location) }
  }
}

// MARK: - Syncing

extension Store {
  /// Publishes the outbox, imports what the folder holds, and writes this office's head.
  ///
  /// Files already applied are not read again (a file is re-read only if its
  /// size or time changes). Bad files are set aside with a reason and retried
  /// next time; they never stop good files.
  ///
  /// - Throws: `SamhandError.wrongStore` when the folder belongs to another
  ///   store, `.io` when the folder cannot be read or written. Nothing
  ///   committed locally is lost in either case.
  @discardableResult
  public func sync(with folder: SharedFolder, progress: (@Sendable (SyncProgress) -> Void)? = nil) throws -> SyncReport {
    try synchronized {
      try setUpEncryptionIfNeeded()
      return try exchange(with: folder, writing: true, progress: progress)
    }
  }

  /// A sync as of a given time: the head carries it, and the retention
  /// and staleness are judged by it. For simulations that run years of
  /// work in minutes; wall-clock time decides nothing in the merge.
  @discardableResult
  public func sync(with folder: SharedFolder, now: Date, progress: (@Sendable (SyncProgress) -> Void)? = nil) throws -> SyncReport {
    try synchronized {
      try setUpEncryptionIfNeeded()
      return try exchange(with: folder, writing: true, progress: progress, now: now)
    }
  }

  /// A sync; with `writing` false it only reads the folder (no identity
  /// file, no publishing, no head).
  func exchange(
    with folder: SharedFolder, writing: Bool, progress: (@Sendable (SyncProgress) -> Void)?,
    cancellation: SyncCancellation? = nil, now: Date = Date()
  ) throws -> SyncReport {
    var report = SyncReport()
    let watching = hasObservers
    let conflictsBefore = watching ? try conflicts() : []
    let recovering = try read { db in try Store.meta(db, "recovering") } == "1"
    let identity = SharedFolder.Identity(storeID: storeID, schema: schema, roster: genesis)
    guard let top = try folder.exchange.list("") else {
      throw SamhandError(
        .io, "the shared folder \(folder.location) is not there (not mounted, moved, or offline?); nothing was synced",
        fileURL: folder.url)
    }
    if !writing {
      _ = try folder.identity()
    } else if top.contains(where: { $0.name == SharedFolder.identityFileName }) {
      let found = try folder.identity()
      guard found.storeID == storeID else {
        throw SamhandError(
          .wrongStore, "\(folder.location) belongs to store \(found.storeID), this replica to \(storeID)",
          fileURL: folder.identityURL)
      }
      if let genesis, found.roster != genesis {
        throw SamhandError(
          .untrusted,
          "\(SharedFolder.describe(folder.identityURL)) names roster \(found.roster?.hash ?? "(none)"), not the \(genesis.hash) this replica pinned: it has been replaced or altered. Nothing was synced; restore the file (delete it and this office writes it again)",
          fileURL: folder.identityURL)
      }
      // The layout is kept, so that a wiped samhand.json comes back as it was.
      if try read({ db in try Store.meta(db, "folder_layout") }) != String(found.formatVersion) {
        try write { db in try Store.setMeta(db, "folder_layout", String(found.formatVersion)) }
      }
    } else {
      // A wiped or new copy of the folder: restore the identity file, in
      // the layout it had (an older Samhand may still read a layout 2 folder).
      var restored = identity
      if let pinned = try read({ db in try Store.meta(db, "folder_layout") }).flatMap(Int.init), restored.roster != nil {
        restored.formatVersion = pinned
      }
      try folder.writeIdentity(restored)
    }

    // In an encrypted folder, the group keys wrapped for this office, when
    // it lacks one; after files waited for a key, every office folder is
    // listed again (their heads may not have moved).
    var waitedForKey = false
    if isEncrypted {
      waitedForKey = try read { db in try Store.meta(db, "waiting_for_key") } != nil
      let (added, problems) = try receiveGroupKeys(from: folder, force: false)
      report.groupKeysReceived = added
      report.setAside += problems
    }

    progress?(SyncProgress(phase: .listing, done: 0, total: 0))
    // Heads first: with them, a sync that writes lists only the office
    // folders where something may be new (`Store+Listing.swift`).
    let heads = writing ? readHeads(folder) : HeadReading()
    let checkpoints = folder.checkpoints()
    let only =
      writing && !recovering && !waitedForKey
      ? try officesToList(heads: heads, newestCheckpoint: checkpoints.first?.name, now: now) : nil
    let (entries, ignored, unreadable, listed) = try ImportProfile.measure(.listing) {
      try folder.listChangesets(top: top, only: only)
    }
    report.ignored = ignored
    report.setAside += unreadable

    // A new replica starts from the newest checkpoint, and one that needs
    // changesets the folder no longer holds catches up from one. A reader
    // of the folder (nothing written) starts from one only when it must,
    // so that it can still show history the folder holds.
    (report.adoptedCheckpoint, report.badCheckpoints) = try adoptCheckpointIfNeeded(
      folder, listed: checkpoints, entries: entries, fresh: recovering && writing)
    let base = try checkpointBase()?.frontier ?? VersionVector()

    // Which files need reading: those never settled, or changed since.
    // Only the listed office folders' rows are read: the table holds a row
    // for every file of the folder's history.
    let settled = try read { db in
      var settled: [String: (Int64, Int64)] = [:]
      func add(_ rows: [Row]) { for row in rows { settled[row[0]] = (row[1], row[2]) } }
      if only == nil {
        add(try Row.fetchAll(db, sql: "SELECT path, size, modified FROM folder_files"))
      } else {
        let statement = try db.cachedStatement(sql: "SELECT path, size, modified FROM folder_files WHERE path >= ? AND path < ?")
        for office in listed.keys {
          // Every path under `changesets/<office>/`: '0' follows '/'.
          let prefix = "\(SharedFolder.changesetsDirectory)/\(office.rawValue)"
          add(try Row.fetchAll(statement, arguments: [prefix + "/", prefix + "0"]))
        }
      }
      return settled
    }
    var candidates: [SharedFolder.Entry] = []
    // Another office's packs of changesets all applied here: nothing in them
    // is new (the loose files they replace were read, or the checkpoint this
    // replica started from covers them), so they are noted, not read.
    var appliedPacks: [SharedFolder.Entry] = []
    let appliedFrontier = try read { db in try Store.readFrontier(db) }
    // This office's numbers whose file in the folder is its own: the others
    // (missing, damaged, or written by someone else) it writes again.
    var ownPresent = Set<UInt64>()
    // This office's numbers with some file under their name, its own or not.
    var ownOccupied = Set<UInt64>()
    for entry in entries {
      if entry.office == replica, case .changeset(let sequence) = entry.kind { ownOccupied.insert(sequence) }
      switch entry.kind {
      case .temporary, .foreign:
        report.ignored += 1
        continue
      case .changeset, .conflictCopy, .pack:
        break
      }
      if let known = settled[entry.relativePath], known == (entry.size, entry.modified) {
        if entry.office == replica {
          // A pack is settled only when every changeset in it was good.
          if case .changeset(let sequence) = entry.kind { ownPresent.insert(sequence) }
          if case .pack(let range) = entry.kind { ownPresent.formUnion(range) }
        }
        continue
      }
      if case .pack(let range) = entry.kind, entry.office != replica, appliedFrontier[entry.office] >= range.upperBound {
        appliedPacks.append(entry)
        continue
      }
      candidates.append(entry)
    }

    // Originals, in the order they were written, before sync tools' copies.
    candidates = Store.writingOrder(candidates.filter { if case .conflictCopy = $0.kind { false } else { true } })
      + candidates.filter { if case .conflictCopy = $0.kind { true } else { false } }

    // Our own files first: anything we did not write is someone else's,
    // unless we are recovering our history onto a new machine. Only a file
    // signed with a key this office may sign with is evidence of another
    // installation (a collision); anything else is set aside and written
    // over, so that no file dropped into our folder blocks our numbering.
    var others: [SharedFolder.Entry] = []
    for (index, entry) in candidates.enumerated() {
      guard entry.office == replica && !recovering else {
        others.append(entry)
        continue
      }
      try cancellation?.check()
      progress?(SyncProgress(phase: .reading, done: index, total: candidates.count))
      try checkOwnFile(entry, in: folder, base: base, present: &ownPresent, &report)
    }

    // Apply what is ready at once (in writing order, most files are),
    // buffer the rest, then drain the buffer in causal order. Many files go to a
    // transaction, each read there and applied in a savepoint of its own
    // that also marks the file as read (a file that fails leaves no trace);
    // a transaction commits at least every `Store.batchSeconds`, and at
    // once when cancelled. Files are read one at a time, so memory holds
    // one file, however many the folder has.
    var applied = ReceiveResult()
    do {
      var colliding: [(entry: SharedFolder.Entry, envelope: ChangesetEnvelope)] = []
      // Progress counts changesets: a pack holds many.
      var before: [Int] = []
      var changesetCount = 0
      for file in others {
        before.append(changesetCount)
        if case .pack(let range) = file.kind { changesetCount += range.count } else { changesetCount += 1 }
      }
      try applyInBatches(others, into: &applied, cancellation) { index, file, db in
        progress?(SyncProgress(phase: .applying, done: before[index], total: changesetCount))
        // A changeset file, or each changeset of a pack (read whole, once).
        let opened: [(entry: SharedFolder.Entry, envelope: Result<ChangesetEnvelope, SamhandError>)]
        do {
          opened = try readFiles(file, in: folder)
        } catch let error as SamhandError where error.code != .storage {
          report.setAside.append(FolderProblem(path: file.relativePath, reason: Store.reason(error, entry: file)))
          return ReceiveResult()
        }
        var total = ReceiveResult()
        var allGood = true
        for (number, (entry, opening)) in opened.enumerated() {
          if number > 0 {
            // Cancelled inside a pack: what is applied stays, the pack is read again.
            if cancellation?.isCancelled == true {
              allGood = false
              break
            }
            progress?(SyncProgress(phase: .applying, done: before[index] + number, total: changesetCount))
          }
          let envelope: ChangesetEnvelope
          switch opening {
          case .success(let value): envelope = value
          case .failure(let error):
            guard error.code != .storage else { throw error }
            report.setAside.append(FolderProblem(path: entry.relativePath, reason: Store.reason(error, entry: entry)))
            allGood = false
            continue
          }
          do {
            var result = ReceiveResult()
            try merge(db).savepoint {
              if entry.member == nil { try Store.noteRead(entry, db) }
              result = try acceptInTransaction(envelope, fileURL: entry.url, db)
            }
            if !result.duplicates.isEmpty, case .conflictCopy = entry.kind { report.harmlessCopies += 1 }
            total.merge(result)
          } catch let error as SamhandError where error.code == .slugCollision {
            colliding.append((entry, envelope))
            allGood = false
          } catch let error as SamhandError where error.code == .missingKey {
            // Sealed with a group key not held yet: left unread, read again.
            report.waitingForKey += 1
            allGood = false
          } catch let error as SamhandError where error.code != .storage {
            // A format 2 file written against another previous changeset than
            // the one applied here: not applied, read again next time.
            report.setAside.append(FolderProblem(path: entry.relativePath, reason: Store.reason(error, entry: entry)))
            allGood = false
          }
        }
        // A pack is settled once every changeset in it was taken.
        if case .pack(let range) = file.kind, allGood, !opened.isEmpty {
          try Store.noteRead(file, db)
          // Recovering its history, an office finds its numbers in its packs.
          if file.office == replica { ownPresent.formUnion(range) }
        }
        return total
      } afterCommit: {
        // Collisions are recorded in transactions of their own, after the batch.
        for item in colliding {
          let known = try knownBytes(item.envelope.id) ?? []
          if let collision = try recordCollision(item.envelope.id, known: known, other: item.envelope.bytes, path: item.entry.relativePath) {
            report.collisions.append(collision)
          }
        }
        colliding = []
      }
      try drainPending(into: &applied, cancellation)
    } catch let error as CancellationError {
      if watching { try? notify(.sync, changesets: applied.applied, conflictsBefore: conflictsBefore) }
      throw error
    }
    if watching { try notify(.sync, changesets: applied.applied, conflictsBefore: conflictsBefore) }
    // A rotation applied in this sync puts a key in force that the keys
    // files may already hold for this office.
    var readAgain = false
    if isEncrypted {
      let (added, problems) = try receiveGroupKeys(from: folder, force: false)
      report.groupKeysReceived += added
      if added == 0 { report.setAside += problems }
      readAgain = added > 0 && report.waitingForKey > 0
      try write { db in
        if report.waitingForKey > 0 {
          try Store.setMeta(db, "waiting_for_key", String(report.waitingForKey))
        } else {
          try db.execute(sql: "DELETE FROM meta WHERE key = 'waiting_for_key'")
        }
      }
    }
    report.imported = applied.applied
    report.rejected = applied.rejected
    report.buffered = applied.buffered.count
    report.waiting = try pending()
    for (id, reason) in try untrustedChangesets() {
      report.setAside.append(FolderProblem(path: SharedFolder.Entry.relativePath(id), reason: reason))
    }
    for claim in try unconfirmedClaims() {
      report.setAside.append(
        FolderProblem(
          path: SharedFolder.Entry.relativePath(claim.changeset),
          reason: "\(claim.reason) (file \(claim.fileHash.prefix(12)))"))
    }

    report.setAside.sort { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
    guard writing else { return report }

    // Publish, unless another installation writes as this office.
    let blocked = try read { db in
      try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM collisions WHERE author = ? AND cleared = 0", arguments: [replica.rawValue]) ?? 0
    }
    if blocked > 0 {
      report.publishingBlocked =
        "another installation is writing as '\(replica)' with this office's key (\(blocked) colliding changeset\(blocked == 1 ? "" : "s")); publishing is stopped until this is sorted out: find the other installation, then 'samhand collisions clear'"
    } else {
      let unpublished = Set(try outbox())
      let own = try read { db in
        try Int64.fetchAll(db, sql: "SELECT seq FROM changesets WHERE author = ? ORDER BY seq", arguments: [replica.rawValue])
      }.map { Changeset.ID(author: replica, sequence: UInt64($0)) }
      // Files pruned on purpose are not written again.
      let pruned = try prunedThrough()
      // A changeset never published cannot have its file in the folder yet:
      // whatever is under its name is someone else's, and is written over
      // (a collision's file is kept in the store as evidence). The file is
      // created only if its name is free, so a file another installation
      // wrote since the listing is never overwritten: the next sync judges it.
      let missing = own.filter { $0.sequence > pruned && (!ownPresent.contains($0.sequence) || unpublished.contains($0)) }
      var written: [Changeset.ID] = []
      for (index, id) in missing.enumerated() {
        progress?(SyncProgress(phase: .publishing, done: index, total: missing.count))
        guard let bytes = try changesetBytes(id) else { continue }
        let url = folder.changesetURL(id)
        if ownOccupied.contains(id.sequence) { try folder.delete(url) }
        guard try folder.create(url, bytes) else { continue }
        written.append(id)
        if unpublished.contains(id) { report.published.append(id) } else { report.republished.append(id) }
      }
      try settle(written, in: folder)
      try markPublished(written.filter(unpublished.contains))
    }

    // Files set aside this time replace those of the last sync; what the
    // listing found is kept for the next one to judge what to list.
    try write { db in
      try Store.recordListing(db, listed: listed, entries: entries, full: only == nil, now: now)
      for entry in appliedPacks { try Store.noteRead(entry, db) }
      try db.execute(sql: "DELETE FROM set_aside")
      let now = Int64(Date().timeIntervalSince1970 * 1000)
      for problem in report.setAside {
        try db.execute(
          sql: "INSERT OR REPLACE INTO set_aside(path, code, reason, since) VALUES (?, ?, ?, ?)",
          arguments: [problem.path, "set-aside", problem.reason, now])
      }
    }

    progress?(SyncProgress(phase: .finishing, done: 0, total: 1))
    let (frontier, hash) = try ImportProfile.measure(.hashing) { try snapshotHash() }
    let head = try signedHead(
      Head(
        office: replica, frontier: frontier, snapshotHash: hash,
        timestamp: Int64((now.timeIntervalSince1970 * 1000).rounded())))
    try folder.replace(folder.headURL(for: replica), [UInt8](head.canonicalJSON))
    report.head = head
    if recovering { try write { db in try db.execute(sql: "DELETE FROM meta WHERE key = 'recovering'") } }
    do {
      report.wrappedKeysWritten = try distributeGroupKeys(to: folder)
    } catch let error as SamhandError where error.code != .storage {
      report.maintenanceProblem = "the group keys could not be written for the other offices: \(error.message)"
    }
    try maintain(folder, heads: heads.heads, now: now, &report)
    if readAgain {
      // What waited for the keys that just arrived is read now, not next time.
      var again = try exchange(with: folder, writing: writing, progress: progress, cancellation: cancellation, now: now)
      again.imported = report.imported + again.imported
      again.published = report.published + again.published
      again.groupKeysReceived += report.groupKeysReceived
      return again
    }
    return report
  }

  /// After a sync: purges tombstones every office has seen, writes a
  /// checkpoint when one is due, and prunes as the retention allows. A
  /// failure here (a full disk, say) is reported; the sync stands.
  private func maintain(_ folder: SharedFolder, heads: [HeadSummary], now: Date, _ report: inout SyncReport) throws {
    do {
      report.purgedTombstones = try purgeTombstones()
      let stability = try stability(summaries: heads, now: now)
      if try checkpointInterval() > 0 {
        // One listing of the checkpoints for both decisions.
        let peeked = try peekedCheckpoints(in: folder)
        report.wroteCheckpoint = try writeCheckpointIfDue(to: folder, stability: stability, peeked: peeked)?.fileName
        // An office that just wrote the newest one has signed it.
        if report.wroteCheckpoint == nil, let name = try cosignCheckpointIfDue(in: folder, stability: stability, peeked: peeked) {
          report.cosignedCheckpoint = name
          // Built with other bytes than the copy it came to sign: both are reported.
          report.badCheckpoints += Store.disagreeingCheckpoints(in: folder, names: [name])
        }
      }
      if case .days = try retention() {
        let pruning = try prune(folder, stability: stability, now: now, dryRun: false)
        report.pruned = pruning.removed
      }
      report.packing = try packOwnFiles(in: folder)
    } catch let error as SamhandError where error.code != .storage {
      report.maintenanceProblem = error.message
    }
  }

  /// Adopts the newest checkpoint that verifies when this replica is new
  /// (`fresh`), or when it needs a changeset the checkpoint covers that
  /// the folder no longer holds (its files were pruned while it was away).
  ///
  /// `entries` must be a full listing whenever the newest checkpoint is
  /// not yet settled (as ``officesToList(heads:newestCheckpoint:now:)`` ensures).
  private func adoptCheckpointIfNeeded(
    _ folder: SharedFolder, listed: [SharedFolder.CheckpointEntry], entries: [SharedFolder.Entry], fresh: Bool
  ) throws -> (Store.CheckpointAdoption?, [CheckpointProblem]) {
    guard let newest = listed.first else { return (nil, []) }
    // Without any group key, nothing sealed can be read yet.
    if isEncrypted, try groupKeys().keys.isEmpty { return (nil, []) }
    let (local, settled) = try read { db in (try Store.readFrontier(db), try Store.meta(db, "checkpoint_seen")) }
    let waiting = Set(try pending())
    // The newest checkpoint was already found inside this replica's frontier.
    if settled == newest.name { return (nil, []) }
    let isNew = fresh && local.counters.isEmpty
    var present = Set<Changeset.ID>()
    for entry in entries {
      if case .changeset(let sequence) = entry.kind { present.insert(Changeset.ID(author: entry.office, sequence: sequence)) }
      if case .pack(let range) = entry.kind {
        for sequence in range { present.insert(Changeset.ID(author: entry.office, sequence: sequence)) }
      }
    }
    // A checkpoint must include the one this replica started from: it holds
    // no files of the changesets inside that one, to apply again on top.
    let start = try checkpointBase()?.frontier ?? VersionVector()
    let include: (Checkpoint.Header) -> Bool = { header in
      guard !header.frontier.isIncluded(in: local), start.isIncluded(in: header.frontier) else { return false }
      if isNew { return true }
      return header.frontier.counters.contains { office, top in
        let next = Changeset.ID(author: office, sequence: local[office] + 1)
        return top > local[office] && !present.contains(next) && !waiting.contains(next)
      }
    }
    // The newest that verifies and whose state is what its header claims
    // (checked while adopting it); the next one when it is not.
    var problems: [CheckpointProblem] = []
    var skipped = Set<String>()
    var adoption: Store.CheckpointAdoption?
    while adoption == nil {
      let (found, more) = newestCheckpoint(in: folder, skipping: skipped, where: include)
      problems += more
      skipped.formUnion(more.map(\.path))
      guard let (entry, checkpoint, bytes) = found else { break }
      do {
        adoption = try adopt(checkpoint, bytes: bytes)
        problems += Store.disagreeingCheckpoints(in: folder, names: [entry.name])
      } catch let error as SamhandError where error.code == .untrusted {
        problems.append(CheckpointProblem(path: entry.relativePath, reason: error.message))
        skipped.insert(entry.relativePath)
      }
    }
    let now = try frontier()
    if let header = Checkpoint.peekHeader(newest), header.frontier.isIncluded(in: now) {
      try write { db in try Store.setMeta(db, "checkpoint_seen", newest.name) }
    }
    return (adoption, problems)
  }

  /// The frontier and the SHA-256 of the snapshot there, computed again
  /// only when the frontier has moved since the last time.
  public func snapshotHash() throws -> (VersionVector, String) {
    let frontier = try self.frontier()
    let key = String(decoding: Store.encodeVector(frontier).base64EncodedData(), as: UTF8.self)
    let cached = try read { db in (try Store.meta(db, "hash_frontier"), try Store.meta(db, "hash")) }
    if cached.0 == key, let hash = cached.1 { return (frontier, hash) }
    // From the per-record pieces, brought up to date in a write. Only a
    // cache: a full or read-only disk must not make reading fail, so then
    // the whole snapshot is built instead.
    if let (frontier, hash) = try? write(durable: false, { db -> (VersionVector, String) in
      let (frontier, hash) = try incrementalSnapshotHash(db)
      try Store.setMeta(db, "hash_frontier", String(decoding: Store.encodeVector(frontier).base64EncodedData(), as: UTF8.self))
      try Store.setMeta(db, "hash", hash)
      return (frontier, hash)
    }) {
      return (frontier, hash)
    }
    let snapshot = try snapshot()
    return (snapshot.frontier, snapshot.sha256)
  }

  /// Checks that a file's name agrees with its header.
  static func checkName(_ entry: SharedFolder.Entry, matches header: ChangesetFile.Header) throws {
    let sequence: UInt64
    switch entry.kind {
    case .changeset(let value), .conflictCopy(let value): sequence = value
    default: return
    }
    let id = Changeset.ID(author: header.author, sequence: header.sequence)
    guard header.author == entry.office, header.sequence == sequence else {
      throw SamhandError(
        .corruptChangeset,
        "renamed or misplaced: the name says \(entry.office)#\(sequence), the file's header says \(id)",
        changesetID: id, fileURL: entry.url)
    }
  }

  /// Changeset files in the order they were most likely written: by the
  /// time the folder gives them, kept in each office's numbering (a file
  /// counts as no older than the one its office wrote before it).
  ///
  /// An office writes a changeset only after the files it depends on were
  /// in the folder, so in this order a catch-up of thousands of files
  /// applies nearly every one as it is read, instead of buffering all but
  /// the first office's first file and draining the buffer level by level
  /// (name order). The order is a hint: clocks that disagree, or a file
  /// written again later, only send a file to the buffer, and the merge
  /// does not depend on the order in which files are applied.
  static func writingOrder(_ entries: [SharedFolder.Entry]) -> [SharedFolder.Entry] {
    var byOffice: [ReplicaID: [(sequence: UInt64, entry: SharedFolder.Entry)]] = [:]
    for entry in entries {
      switch entry.kind {
      case .changeset(let sequence): byOffice[entry.office, default: []].append((sequence, entry))
      case .pack(let range): byOffice[entry.office, default: []].append((range.lowerBound, entry))
      default: continue
      }
    }
    var timed: [(time: Int64, office: ReplicaID, sequence: UInt64, entry: SharedFolder.Entry)] = []
    timed.reserveCapacity(entries.count)
    for (office, files) in byOffice {
      var latest = Int64.min
      for file in files.sorted(by: { $0.sequence < $1.sequence }) {
        latest = max(latest, file.entry.modified)
        timed.append((latest, office, file.sequence, file.entry))
      }
    }
    timed.sort { ($0.time, $0.office, $0.sequence) < ($1.time, $1.office, $1.sequence) }
    return timed.map(\.entry)
  }

  /// Checks a changeset file of the folder, read as `entry`, all it can
  /// before the payload is inflated: its checksum and header, its name, its
  /// store and (with a roster) its signature. (Its type and size were
  /// checked when it was read: ``readFiles(_:in:)``.)
  func openEnvelope(_ bytes: [UInt8], _ entry: SharedFolder.Entry) throws -> ChangesetEnvelope {
    let envelope = try ChangesetFile.open(bytes, fileURL: entry.url)
    try Store.checkName(entry, matches: envelope.header)
    guard envelope.header.storeID == storeID else {
      throw SamhandError(
        .wrongStore, "belongs to another store (\(envelope.header.storeID))", changesetID: envelope.id, fileURL: entry.url)
    }
    if checksTrust { _ = try Store.checkSignature(envelope, fileURL: entry.url) }
    return envelope
  }

  /// Judges a file under this office's own name that it did not settle
  /// before: its own file (kept, and counted as present), a damaged copy
  /// of one it holds (written again when publishing), a file signed with
  /// one of its keys that it did not write (a collision: another
  /// installation), or anything else (set aside; written over if it
  /// holds that number, so nobody blocks its numbering by dropping a file).
  private func checkOwnFile(
    _ file: SharedFolder.Entry, in folder: SharedFolder, base: VersionVector, present: inout Set<UInt64>, _ report: inout SyncReport
  ) throws {
    let opened: [(entry: SharedFolder.Entry, envelope: Result<ChangesetEnvelope, SamhandError>)]
    do {
      opened = try readFiles(file, in: folder)
    } catch let error as SamhandError where error.code != .storage {
      // A pack under our name that does not read: its numbers are written
      // again as loose files, and the pack we write later replaces it.
      report.setAside.append(FolderProblem(path: file.relativePath, reason: Store.reason(error, entry: file)))
      return
    }
    // Gone since the listing: the next one finds what replaced it.
    guard !opened.isEmpty else { return }
    var allOurs = true
    for (entry, envelope) in opened {
      allOurs = try judgeOwnFile(entry, envelope, base: base, present: &present, &report) && allOurs
    }
    if allOurs { try settle(file) }
  }

  /// ``checkOwnFile(_:in:base:present:_:)`` for one changeset file, opened:
  /// true when it is this office's own.
  private func judgeOwnFile(
    _ entry: SharedFolder.Entry, _ opening: Result<ChangesetEnvelope, SamhandError>, base: VersionVector,
    present: inout Set<UInt64>, _ report: inout SyncReport
  ) throws -> Bool {
    let number: UInt64? = if case .changeset(let sequence) = entry.kind { sequence } else { nil }
    let envelope: ChangesetEnvelope
    switch opening {
    case .success(let value): envelope = value
    case .failure(let error):
      guard error.code != .storage else { throw error }
      if let number, try changesetBytes(Changeset.ID(author: replica, sequence: number)) != nil {
        // Our own file, damaged in the folder: we hold the good bytes, so write it again.
        return false
      }
      report.setAside.append(FolderProblem(path: entry.relativePath, reason: Store.reason(error, entry: entry)))
      return false
    }
    let id = envelope.id
    let mine = try changesetBytes(id)
    if let mine, mine == envelope.bytes {
      if case .conflictCopy = entry.kind { report.harmlessCopies += 1 }
      if let number { present.insert(number) }
      return true
    }
    if mine == nil, id.sequence <= base[replica] {
      // Ours, inside the checkpoint this replica started from.
      if let number { present.insert(number) }
      return true
    }
    let signer = Store.signer(envelope.header.signatures)
    if try read({ db in try mayHaveSigned(replica, id.sequence, signer, db) }) {
      if let collision = try recordCollision(id, known: mine ?? [], other: envelope.bytes, path: entry.relativePath) {
        report.collisions.append(collision)
      }
      // Once people cleared it, this installation is the office again: a
      // number it holds gets its own file back (the other's bytes stay in
      // the store, with the collision).
      return false
    }
    let key = signer.map { "key \($0.fingerprint)" } ?? "no key"
    report.setAside.append(
      FolderProblem(
        path: entry.relativePath,
        reason: "not written by \(replica): signed with \(key), which is not one of its keys"
          + (number == nil ? "" : mine != nil ? "; this office writes its own file over it" : "; this office writes its own file there when it reaches that number")))
    return false
  }

  static func reason(_ error: SamhandError, entry: SharedFolder.Entry) -> String {
    var reason = error.message
    if let offset = error.offset, error.code == .corruptChangeset { reason += " (at byte \(offset))" }
    if entry.size == 0 && entry.type == .regular { reason = "empty file (a sync tool may still be writing it)" }
    if case .conflictCopy = entry.kind { reason = "conflict copy that is not a good changeset: " + reason }
    return reason
  }

  private func settle(_ entry: SharedFolder.Entry) throws {
    try write { db in try Store.noteRead(entry, db) }
  }

  /// Notes a file of the folder as read, with the size and time it had:
  /// a sync reads it again only once they change (`folder_files`).
  static func noteRead(_ path: String, size: Int64, modified: Int64, _ db: Database) throws {
    try db.cachedStatement(sql: "INSERT OR REPLACE INTO folder_files(path, size, modified) VALUES (?, ?, ?)")
      .execute(arguments: [path, size, modified])
  }

  static func noteRead(_ entry: SharedFolder.Entry, _ db: Database) throws {
    try noteRead(entry.relativePath, size: entry.size, modified: entry.modified, db)
  }

  /// Notes the files just published as read, with the size and time the
  /// folder gives them: one listing of the office's folder for them all.
  private func settle(_ published: [Changeset.ID], in folder: SharedFolder) throws {
    guard !published.isEmpty else { return }
    let listed = (try? folder.exchange.list(folder.path(of: folder.changesetsURL(for: replica)))) ?? nil
    var items: [String: ExchangeItem] = [:]
    for item in listed ?? [] { items[item.name] = item }
    try write { db in
      for id in published {
        let item = items[ChangesetFile.fileName(sequence: id.sequence)]
        try Store.noteRead(SharedFolder.Entry.relativePath(id), size: item?.size ?? 0, modified: item?.modified ?? 0, db)
      }
    }
  }

  private func knownBytes(_ id: Changeset.ID) throws -> [UInt8]? {
    if let bytes = try changesetBytes(id) { return bytes }
    return try read { db in
      try Data.fetchOne(
        db, sql: "SELECT bytes FROM pending WHERE author = ? AND seq = ?", arguments: [id.author.rawValue, Int64(id.sequence)])
    }.map { [UInt8]($0) }
  }

  /// Records a collision, unless people cleared this very one.
  ///
  /// - Returns: the collision, or nil when it was cleared before.
  private func recordCollision(_ id: Changeset.ID, known: [UInt8], other: [UInt8], path: String) throws -> Collision? {
    let knownHash = known.isEmpty ? "" : Data(SHA256.hash(data: known)).hexString
    let otherHash = Data(SHA256.hash(data: other)).hexString
    return try write { db in
      try recordCollision(id, knownHash: knownHash, otherHash: otherHash, path: path, otherBytes: other, db)
    }
  }

  /// ``recordCollision(_:known:other:path:)`` inside a transaction, with the hashes in hex.
  @discardableResult
  func recordCollision(
    _ id: Changeset.ID, knownHash: String, otherHash: String, path: String, otherBytes: [UInt8], _ db: Database
  ) throws -> Collision? {
    // The other file's bytes are kept: the evidence outlives the file.
    try db.execute(
      sql: "INSERT OR IGNORE INTO collisions(author, seq, known_hash, other_hash, path, since, other_bytes) VALUES (?, ?, ?, ?, ?, ?, ?)",
      arguments: [
        id.author.rawValue, Int64(id.sequence), Data(knownHash.utf8), Data(otherHash.utf8), path,
        Int64(Date().timeIntervalSince1970 * 1000), Data(otherBytes),
      ])
    let cleared = try Bool.fetchOne(
      db, sql: "SELECT cleared FROM collisions WHERE author = ? AND seq = ? AND other_hash = ?",
      arguments: [id.author.rawValue, Int64(id.sequence), Data(otherHash.utf8)]) ?? false
    return cleared ? nil : Collision(changeset: id, knownHash: knownHash, otherHash: otherHash, path: path)
  }

  /// Collisions recorded by earlier syncs and not cleared.
  public func collisions() throws -> [Collision] {
    try read { db in
      try Row.fetchAll(
        db, sql: "SELECT author, seq, known_hash, other_hash, path FROM collisions WHERE cleared = 0 ORDER BY author, seq, path"
      ).compactMap { row in
        guard let author = ReplicaID(rawValue: row[0]) else { return nil }
        return Collision(
          changeset: Changeset.ID(author: author, sequence: UInt64(row[1] as Int64)),
          knownHash: Collision.hash(fromStored: row[2]),
          otherHash: String(decoding: row[3] as Data, as: UTF8.self), path: row[4])
      }
    }
  }

  /// The bytes of the other files recorded as collisions with a changeset,
  /// cleared or not: the evidence, kept after the files themselves change.
  public func collisionEvidence(_ id: Changeset.ID) throws -> [[UInt8]] {
    try read { db in
      try Data.fetchAll(
        db, sql: "SELECT other_bytes FROM collisions WHERE author = ? AND seq = ? AND other_bytes IS NOT NULL ORDER BY since",
        arguments: [id.author.rawValue, Int64(id.sequence)]
      ).map { [UInt8]($0) }
    }
  }

  /// Clears collisions once people have sorted them out (found the other
  /// installation and stopped it, or checked that the other file is
  /// harmless), so that publishing and pruning go on.
  ///
  /// Samhand deletes nothing: the other file's bytes stay in this store
  /// with the collision, and its file stays in the folder unless it holds
  /// a number this installation has written, which then gets this
  /// installation's file back (this installation is the office). A cleared
  /// collision is not reported again for the same file; a new file
  /// colliding again is a new collision.
  ///
  /// - Parameter ids: the changesets whose collisions to clear; nil for all.
  /// - Returns: the collisions cleared.
  @discardableResult
  public func clearCollisions(_ ids: [Changeset.ID]? = nil) throws -> [Collision] {
    let open = try collisions().filter { ids == nil || ids!.contains($0.changeset) }
    if let ids, let missing = ids.first(where: { id in !open.contains { $0.changeset == id } }) {
      throw SamhandError(.notFound, "no open collision for \(missing) (see 'samhand status')", changesetID: missing)
    }
    try write { db in
      for collision in open {
        try db.execute(
          sql: "UPDATE collisions SET cleared = 1 WHERE author = ? AND seq = ? AND other_hash = ?",
          arguments: [collision.changeset.author.rawValue, Int64(collision.changeset.sequence), Data(collision.otherHash.utf8)])
      }
    }
    return open
  }

  /// Files the last sync set aside, with the reasons.
  public func setAsideFiles() throws -> [FolderProblem] {
    try read { db in
      try Row.fetchAll(db, sql: "SELECT path, reason FROM set_aside ORDER BY path").map {
        FolderProblem(path: $0[0], reason: $0[1])
      }
    }
  }
}

extension SharedFolder.Entry {
  static func relativePath(_ id: Changeset.ID) -> String {
    "\(SharedFolder.changesetsDirectory)/\(id.author.rawValue)/\(ChangesetFile.fileName(sequence: id.sequence))"
  }
}
