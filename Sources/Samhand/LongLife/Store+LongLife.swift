import Crypto
import Foundation
import GRDB

/// How long this office keeps its changeset files in the shared folder
/// once a checkpoint covers them.
public enum Retention: Sendable, Hashable, CustomStringConvertible {
  /// Never delete a changeset file (the default).
  case keepEverything
  /// Delete a changeset file once it is this many days old and a
  /// checkpoint every active office has acknowledged covers it. An office
  /// whose head is older than this no longer holds pruning back: when it
  /// comes back, it catches up from a checkpoint.
  case days(Int)

  /// `keep everything` or `N days`.
  public var description: String {
    switch self {
    case .keepEverything: "keep everything"
    case .days(let days): days == 1 ? "1 day" : "\(days) days"
    }
  }
}

/// How far every active office has acknowledged, from their heads.
public struct Stability: Sendable, Hashable {
  /// The changesets every counted office has applied: the meet of their
  /// heads' frontiers and this replica's own.
  public var frontier: VersionVector
  /// Active offices whose heads count.
  public var counted: [ReplicaID]
  /// Active offices whose head is older than the retention: they do not
  /// hold pruning back.
  public var stale: [ReplicaID]
  /// Active offices with no head in the folder (not joined yet): they
  /// will start from a checkpoint, so they hold nothing back.
  public var withoutHead: [ReplicaID]
  /// Counted offices that have not applied everything this replica has:
  /// those holding the stable frontier back.
  public var behind: [ReplicaID]
}

/// What a pruning did, or why it did nothing.
public struct PruneReport: Sendable, Hashable {
  /// The checkpoint whose coverage allowed it.
  public var checkpoint: String?
  /// Files removed from the folder (paths relative to it); with a dry
  /// run, the files that would be.
  public var removed: [String] = []
  /// Why nothing could be pruned, when so.
  public var blocked: String?
}

/// A checkpoint in the folder that does not verify.
public struct CheckpointProblem: Sendable, Hashable {
  /// The checkpoint file, relative to the folder.
  public var path: String
  /// What is wrong.
  public var reason: String
}

extension Store {
  /// Changesets between automatic checkpoints when nothing else is set,
  /// in a cooperation of up to 100 offices.
  public static let defaultCheckpointInterval = 1000

  /// Changesets between automatic checkpoints when nothing else is set:
  /// ``defaultCheckpointInterval``, or 10 per active office where that is
  /// more. With every kommune (about 400 offices, each writing a few
  /// changesets a day) 1,000 would make a checkpoint of the whole
  /// cooperation's records every few hours; 4,000 keeps what a newcomer
  /// imports after the newest checkpoint to a few thousand changesets.
  public static func defaultCheckpointInterval(offices: Int) -> Int {
    max(defaultCheckpointInterval, 10 * offices)
  }

  // MARK: - Settings

  /// How long this office keeps its changeset files in the folder.
  public func retention() throws -> Retention {
    try read { db in try Store.meta(db, "retention_days").flatMap(Int.init).map(Retention.days) ?? .keepEverything }
  }

  /// Sets how long this office keeps its changeset files in the folder.
  ///
  /// - Throws: `SamhandError.invalidArgument` for a negative number of days.
  public func setRetention(_ retention: Retention) throws {
    try write { db in
      switch retention {
      case .keepEverything:
        try db.execute(sql: "DELETE FROM meta WHERE key = 'retention_days'")
      case .days(let days):
        guard days >= 0 else { throw SamhandError(.invalidArgument, "retention must be 0 days or more, not \(days)") }
        try Store.setMeta(db, "retention_days", String(days))
      }
    }
  }

  /// How many newly stable changesets make a sync write a checkpoint.
  public func checkpointInterval() throws -> Int {
    if let set = try read({ db in try Store.meta(db, "checkpoint_interval").flatMap(Int.init) }) { return set }
    let offices = try roster()?.members.values.count { !$0.isRetired } ?? 0
    return Store.defaultCheckpointInterval(offices: offices)
  }

  /// Sets how many newly stable changesets make a sync write a checkpoint;
  /// 0 turns automatic checkpoints off.
  public func setCheckpointInterval(_ changesets: Int) throws {
    guard changesets >= 0 else { throw SamhandError(.invalidArgument, "the checkpoint interval must be 0 or more, not \(changesets)") }
    try write { db in try Store.setMeta(db, "checkpoint_interval", String(changesets)) }
  }

  // MARK: - Acknowledgements

  /// How far every active office has acknowledged, from the heads in `folder`.
  public func stability(in folder: SharedFolder, now: Date = Date()) throws -> Stability {
    // The heads this replica counts (signed by their offices), as a sync reads them.
    try stability(summaries: readHeads(folder).heads, now: now)
  }

  func stability(heads: [Head], now: Date) throws -> Stability {
    try stability(summaries: heads.map { HeadSummary($0) }, now: now)
  }

  /// The stability from heads whose frontiers are still encoded: with
  /// hundreds of offices, each sync meets every head's frontier.
  func stability(summaries heads: [HeadSummary], now: Date) throws -> Stability {
    let local = try frontier()
    let localBytes = [UInt8](Store.encodeVector(local))
    let retention = try retention()
    let offices: [ReplicaID]
    if let roster = try roster() {
      offices = roster.members.values.filter { !$0.isRetired }.map(\.office).sorted()
    } else {
      offices = Array(Set(heads.map(\.office) + [replica])).sorted()
    }
    let byOffice = Dictionary(heads.map { ($0.office, $0) }, uniquingKeysWith: { first, _ in first })
    let nowMilliseconds = Int64(now.timeIntervalSince1970 * 1000)
    var result = Stability(frontier: local, counted: [], stale: [], withoutHead: [], behind: [])
    var meet = localBytes
    for office in offices {
      if office == replica {
        result.counted.append(office)
        continue
      }
      guard let head = byOffice[office] else {
        result.withoutHead.append(office)
        continue
      }
      if case .days(let days) = retention, nowMilliseconds - head.timestamp > Int64(days) * 86_400_000 {
        result.stale.append(office)
        continue
      }
      result.counted.append(office)
      meet = try EncodedVector.meet(meet, head.frontier)
      if try !EncodedVector.isIncluded(localBytes, in: head.frontier) { result.behind.append(office) }
    }
    result.frontier = try Store.decodeVector(Data(meet))
    return result
  }

  // MARK: - Reading checkpoints from the folder

  /// How many offices must sign a checkpoint's exact bytes before it is
  /// used to start an office or to prune: two, or every active office
  /// when the roster has fewer. One member alone, its key stolen or its
  /// store damaged, then cannot make new offices start from a false state.
  public static func checkpointSignersNeeded(activeOffices: Int) -> Int { max(1, min(2, activeOffices)) }

  /// Reads a checkpoint from the folder and checks it: its checksums, its
  /// store, and the signatures of its exact bytes by enough active offices
  /// with a key in force in the roster at its frontier
  /// (``checkpointSignersNeeded(activeOffices:)``; one without a roster).
  public func verifiedCheckpoint(_ entry: SharedFolder.CheckpointEntry) throws -> (Checkpoint, [UInt8]) {
    // Everything that needs no inflating first: a forged or unsigned
    // checkpoint costs no more than its size.
    let bytes = try entry.folder.read(entry.url, kind: .checkpoint)
    let header = try Checkpoint.header(of: bytes, fileURL: entry.url)
    guard header.storeID == storeID else {
      throw SamhandError(.wrongStore, "belongs to store \(header.storeID), not \(storeID)", fileURL: entry.url)
    }
    let name = Checkpoint.fileName(frontier: header.frontier)
    guard name == entry.name else {
      throw SamhandError(.corruptChangeset, "renamed: its frontier makes the name \(name)", fileURL: entry.url)
    }
    let files = entry.signatures
    guard !files.isEmpty else {
      throw SamhandError(.untrusted, "unsigned: no \(entry.signatureURL.lastPathComponent) beside it or in another office's folder", fileURL: entry.url)
    }
    // Each office's signature of these bytes; a signature of another copy
    // of the name (other bytes) neither counts nor is a fault of this one.
    let hash = Data(SHA256.hash(data: bytes)).hexString
    var covering: [(signature: CheckpointSignature, url: URL)] = []
    var refusals: [SamhandError] = []
    for file in files {
      do {
        let signature = try CheckpointSignature(
          json: try entry.folder.read(file.url, kind: .checkpointSignature), fileURL: file.url)
        guard signature.office == file.office else {
          throw SamhandError(.untrusted, "signed as \(signature.office) under \(file.office)'s name", fileURL: file.url)
        }
        guard signature.checkpoint == hash || file.office == entry.office else { continue }
        guard signature.covers(bytes) else {
          throw SamhandError(.untrusted, "forged or altered: the signature does not verify", fileURL: file.url)
        }
        covering.append((signature, file.url))
      } catch let error as SamhandError {
        refusals.append(error)
      }
    }
    func fewSigners(_ signers: [ReplicaID], needed: Int) -> SamhandError {
      // One signature that fails says why; otherwise who signed, and who is missing.
      if signers.isEmpty, refusals.count == 1 { return refusals[0] }
      let by = signers.isEmpty ? "no office" : signers.map(\.rawValue).joined(separator: ", ")
      let refused = refusals.isEmpty ? "" : "; not counted: " + refusals.map { "\($0.fileURL?.lastPathComponent ?? "") (\($0.message))" }.joined(separator: "; ")
      return SamhandError(
        .untrusted,
        "signed by \(by) only: a checkpoint is used once \(needed) active offices have signed its exact bytes, and waits for another office to vouch for it\(refused)",
        fileURL: entry.url)
    }
    guard !covering.isEmpty else { throw fewSigners([], needed: 1) }
    let checkpoint = try Checkpoint(bytes: bytes, fileURL: entry.url, keys: try groupKeys())
    var signers: [ReplicaID] = []
    var needed = 1
    if let genesis {
      let roster = try Store.verifiedRoster(of: checkpoint, genesis: genesis, keys: try groupKeys())
      needed = Store.checkpointSignersNeeded(activeOffices: roster.members.values.filter { !$0.isRetired }.count)
      for (signature, url) in covering {
        guard let member = roster.members[signature.office], !member.isRetired else {
          refusals.append(SamhandError(.untrusted, "signed by \(signature.office), not an active office at its frontier", fileURL: url))
          continue
        }
        guard member.keys.contains(signature.key), member.revoked[signature.key] == nil else {
          refusals.append(
            SamhandError(
              .untrusted, "signed with key \(signature.key.fingerprint), not one of \(signature.office)'s keys in force",
              fileURL: url))
          continue
        }
        signers.append(signature.office)
      }
    } else {
      signers = covering.map(\.signature.office)
    }
    guard Set(signers).count >= needed else { throw fewSigners(signers, needed: needed) }
    return (checkpoint, bytes)
  }

  /// The roster at a checkpoint's frontier: the genesis roster and the
  /// roster changes it holds, in Lamport, author and sequence order, each
  /// checked against the signed changeset file it carries: signed by its
  /// author with a key in force in the roster of its own causal past, and
  /// within its author's powers there. A checkpoint cannot add a key.
  static func verifiedRoster(of checkpoint: Checkpoint, genesis: Roster, keys: GroupKeyring = .empty) throws -> Roster {
    func untrusted(_ message: String) -> SamhandError { SamhandError(.untrusted, "checkpoint: \(message)") }
    var recorded: [Changeset.ID: Data] = [:]
    for row in checkpoint.rows(ofTable: 0) {
      guard case .string(let slug) = row[0].storage, let author = ReplicaID(rawValue: slug),
        case .int64(let sequence) = row[1].storage, case .blob(let edits) = row[3].storage
      else { throw SamhandError(.corruptChangeset, "checkpoint: a roster change row is malformed") }
      recorded[Changeset.ID(author: author, sequence: UInt64(sequence))] = edits
    }
    var files: [(changeset: Changeset, signer: PublicKey)] = []
    for row in checkpoint.rows(ofTable: 5) {
      guard case .string(let slug) = row[0].storage, let author = ReplicaID(rawValue: slug),
        case .int64(let sequence) = row[1].storage, case .blob(let data) = row[2].storage
      else { throw untrusted("the signed file of a roster change is missing or malformed") }
      let bytes = [UInt8](data)
      let envelope = try ChangesetFile.open(bytes)
      guard envelope.header.dependenciesResolved else {
        throw untrusted("the signed file of roster change \(author)#\(sequence) does not list its dependencies in full")
      }
      let changeset = try envelope.changeset(keys: keys)
      guard changeset.id == Changeset.ID(author: author, sequence: UInt64(sequence)), changeset.storeID == checkpoint.storeID
      else { throw untrusted("the file held for roster change \(author)#\(sequence) is another changeset") }
      files.append((changeset, try Store.checkSignature(changeset, bytes: bytes, fileURL: nil)))
    }
    guard Set(files.map(\.changeset.id)) == Set(recorded.keys) else {
      throw untrusted("its roster changes and their signed files do not match")
    }
    files.sort { $0.changeset.lamport != $1.changeset.lamport ? $0.changeset.lamport < $1.changeset.lamport : $0.changeset.id < $1.changeset.id }
    // Judged in that order; a claim whose key a later change confirms
    // (roster format 2) waits for the next pass, as a replica keeps it
    // until the confirmation is applied.
    var accepted: [(id: Changeset.ID, lamport: UInt64, edits: [Edit])] = []
    func folded(_ changes: [(id: Changeset.ID, lamport: UInt64, edits: [Edit])]) -> Roster {
      genesis.applying(changes.sorted { $0.lamport != $1.lamport ? $0.lamport < $1.lamport : $0.id < $1.id }.flatMap(\.edits))
    }
    var remaining = files
    while !remaining.isEmpty {
      var waiting: [(changeset: Changeset, signer: PublicKey)] = []
      for (changeset, signer) in remaining {
        let context = changeset.dependencies
        let roster = folded(accepted.filter { context[$0.id.author] >= $0.id.sequence })
        let signed = signerVerdict(changeset.author, changeset.sequence, signer: signer, roster: roster) {
          folded(accepted).members[changeset.author]?.keys ?? []
        }
        switch rosterVerdict(changeset, signer: signer, roster: roster, signed: signed) {
        case .accept(let changes):
          guard Data(ChangesetFile.encodeEdits(changes)) == recorded[changeset.id] else {
            throw untrusted("roster change \(changeset.id) is not what its signed file says")
          }
          accepted.append((changeset.id, changeset.lamport, changes))
        case .unconfirmed:
          waiting.append((changeset, signer))
        case .reject, .setAside:
          throw untrusted("roster change \(changeset.id) was not its author's to make")
        }
      }
      guard waiting.count < remaining.count else {
        throw untrusted("roster change \(waiting[0].changeset.id) is signed with a key no administrator confirmed")
      }
      remaining = waiting
    }
    return folded(accepted)
  }

  /// The newest checkpoint in the folder that verifies, and what is wrong
  /// with the newer ones that do not. `where` narrows the choice by header.
  public func newestCheckpoint(
    in folder: SharedFolder, where include: (Checkpoint.Header) -> Bool = { _ in true }
  ) -> (found: (entry: SharedFolder.CheckpointEntry, checkpoint: Checkpoint, bytes: [UInt8])?, problems: [CheckpointProblem]) {
    newestCheckpoint(in: folder, skipping: [], where: include)
  }

  /// ``newestCheckpoint(in:where:)``, passing over the files at `skipped`
  /// (relative paths) that failed later checks.
  func newestCheckpoint(
    in folder: SharedFolder, skipping skipped: Set<String>, where include: (Checkpoint.Header) -> Bool
  ) -> (found: (entry: SharedFolder.CheckpointEntry, checkpoint: Checkpoint, bytes: [UInt8])?, problems: [CheckpointProblem]) {
    var problems: [CheckpointProblem] = []
    for entry in folder.checkpoints() where !skipped.contains(entry.relativePath) {
      do {
        // Chosen by a header peeked at (the first bytes only), then read
        // and checked whole; one that cannot even be peeked at is read
        // whole, to say what is wrong with it.
        let header = try Checkpoint.peekHeader(entry)
          ?? Checkpoint.header(of: try folder.read(entry.url, kind: .checkpoint), fileURL: entry.url)
        guard include(header) else { continue }
        let (checkpoint, bytes) = try verifiedCheckpoint(entry)
        return ((entry, checkpoint, bytes), problems)
      } catch let error as SamhandError {
        problems.append(CheckpointProblem(path: entry.relativePath, reason: error.message))
      } catch {
        problems.append(CheckpointProblem(path: entry.relativePath, reason: "\(error)"))
      }
    }
    return (nil, problems)
  }

  /// Checkpoints at one frontier (the same name) in several offices'
  /// folders whose bytes differ: every office writes the same bytes for a
  /// frontier, so one of them vouches for a state that is not the one the
  /// changesets make. Each group names its signers.
  ///
  /// - Parameter names: only these checkpoint names; nil for every one.
  public static func disagreeingCheckpoints(in folder: SharedFolder, names: Set<String>? = nil) -> [CheckpointProblem] {
    var byName: [String: [SharedFolder.CheckpointEntry]] = [:]
    for entry in folder.checkpoints() where names?.contains(entry.name) ?? true { byName[entry.name, default: []].append(entry) }
    var problems: [CheckpointProblem] = []
    for (name, entries) in byName.sorted(by: { $0.key < $1.key }) where entries.count > 1 {
      var hashes: [String: [ReplicaID]] = [:]
      for entry in entries {
        guard let bytes = try? folder.read(entry.url, kind: .checkpoint) else { continue }
        hashes[Data(SHA256.hash(data: bytes)).hexString, default: []].append(entry.office)
      }
      guard hashes.count > 1 else { continue }
      let sides = hashes.sorted { $0.key < $1.key }.map { hash, offices in
        "\(offices.sorted().map(\.rawValue).joined(separator: ", ")) (\(hash.prefix(12)))"
      }
      problems.append(
        CheckpointProblem(
          path: "\(SharedFolder.checkpointsDirectory)/*/\(name)",
          reason: "checkpoints at the same frontier differ, signed by \(sides.joined(separator: " and ")): at most one is the state the changesets make"))
    }
    return problems
  }

  // MARK: - Writing checkpoints

  /// Makes a checkpoint at `frontier` (by default the stable frontier),
  /// writes it and this office's signature into the folder, and keeps it.
  public func writeCheckpoint(to folder: SharedFolder, at frontier: VersionVector? = nil) throws -> Checkpoint {
    do {
      return try writeCheckpoint(to: folder, target: try frontier ?? stability(in: folder).frontier)
    } catch let error as CheckpointNotReady {
      throw SamhandError(.invalidArgument, "cannot make a checkpoint yet: \(error.reason)")
    }
  }

  private func writeCheckpoint(to folder: SharedFolder, target: VersionVector) throws -> Checkpoint {
    let checkpoint = try buildCheckpoint(at: target)
    let bytes = checkpoint.bytes
    let key = try read { db in try signingKey(db) }
    let signature = CheckpointSignature(office: replica, checkpointBytes: bytes, key: key)
    // Another office's copy of the same bytes needs only this office's
    // signature beside it in this office's folder: the same bytes everywhere
    // make a second signature cost a file of 300 bytes.
    let copies = folder.checkpoints().filter { $0.name == checkpoint.fileName }
    if !copies.contains(where: { $0.office == replica }),
      copies.contains(where: { (try? folder.read($0.url, kind: .checkpoint)) == bytes })
    {
      try folder.writeCheckpointSignature(name: checkpoint.fileName, signature: signature)
    } else {
      _ = try folder.writeCheckpoint(bytes, name: checkpoint.fileName, signature: signature)
    }
    try write { db in try keepCheckpoint(checkpoint, bytes: bytes, db) }
    return checkpoint
  }

  /// A checkpoint file in the folder and its header, peeked at (not verified).
  typealias PeekedCheckpoint = (entry: SharedFolder.CheckpointEntry, header: Checkpoint.Header)

  /// The checkpoints in the folder of this store whose name claims at most
  /// what this replica has applied, newest first, with their headers
  /// peeked at: what deciding to write or to co-sign one needs, read once
  /// per sync. (A name claiming more is not taken on trust: a real
  /// checkpoint at a stable frontier cannot be ahead of a counted office.)
  func peekedCheckpoints(in folder: SharedFolder) throws -> [PeekedCheckpoint] {
    let total = try frontier().total
    return folder.checkpoints().filter { $0.total <= total }.compactMap { entry in
      Checkpoint.peekHeader(entry).flatMap { $0.storeID == storeID ? (entry, $0) : nil }
    }
  }

  /// Whether the signature file under this office's name for the
  /// checkpoint's name is this office's own (its key, a signature that
  /// verifies). One planted there by someone else does not stop the office
  /// from signing: it writes over it.
  private func hasSigned(_ entry: SharedFolder.CheckpointEntry) throws -> Bool {
    guard let file = entry.signatures.first(where: { $0.office == replica }),
      let signature = try? CheckpointSignature(json: try entry.folder.read(file.url, kind: .checkpointSignature))
    else { return false }
    return try signature.office == replica && signature.key == publicKey()
      && signature.key.isValidSignature(
        signature.signature, of: CheckpointSignature.message(office: replica, checkpoint: signature.checkpoint))
  }

  /// Whether readers would accept this office's signature of a checkpoint
  /// at `frontier`: with a roster, the office is active there and its key
  /// is one of its keys without a revocation, confirmed by an
  /// administrator where the roster needs that.
  private func mayVouch(at frontier: VersionVector) throws -> Bool {
    guard genesis != nil else { return true }
    let signer = try publicKey()
    let listed = try read { db in
      try roster(at: frontier, db).members[replica].map { !$0.isRetired && $0.keys.contains(signer) && $0.revoked[signer] == nil } ?? false
    }
    return try listed && ownKeyIsConfirmed() != false
  }

  /// Co-signs the newest checkpoint in the folder inside this replica's
  /// frontier, as a sync does in its turn (``cosignCheckpointIfDue(in:stability:whoseTurn:)``),
  /// whoever's turn it is: after building it at its frontier and finding
  /// the same bytes, this office writes its signature beside its own name;
  /// finding other bytes, it writes its own checkpoint, and the folder then
  /// holds two that disagree (``disagreeingCheckpoints(in:names:)``).
  ///
  /// - Returns: the checkpoint's name, or nil when there is none to sign:
  ///   none inside this replica's frontier, this office signed the newest
  ///   one already, it has enough signatures, or this office's signature
  ///   would not count (retired, or its key not in force).
  public func cosignNewestCheckpoint(in folder: SharedFolder, now: Date = Date()) throws -> String? {
    try cosignCheckpointIfDue(in: folder, stability: try stability(in: folder, now: now), whoseTurn: false)
  }

  /// Co-signs the newest checkpoint in the folder inside this replica's
  /// frontier that does not have enough signatures yet, after building the
  /// checkpoint at its frontier and finding the same bytes (when the bytes
  /// differ, this office writes its own, and the two are reported as
  /// disagreeing). One office in turn does it, the one after the writer's
  /// turn that has not signed it (by slug among the counted offices,
  /// counting on from index `total` mod *n*); any office once the stable
  /// frontier is an interval past it.
  ///
  /// - Returns: the checkpoint's name, when this office signed it or wrote its own.
  func cosignCheckpointIfDue(
    in folder: SharedFolder, stability: Stability, whoseTurn: Bool = true, peeked: [PeekedCheckpoint]? = nil
  ) throws -> String? {
    let interval = UInt64(try checkpointInterval())
    guard !whoseTurn || interval > 0, !stability.counted.isEmpty else { return nil }
    let local = try frontier()
    for (entry, header) in try peeked ?? peekedCheckpoints(in: folder) where header.frontier.isIncluded(in: local) {
      // Only the newest one inside this replica's frontier: an older one
      // no longer matters once this one is used. (The note in the store
      // first: reading the office's own signature file costs I/O.)
      let signed = Set(entry.signatures.map(\.office))
      guard try read({ db in try Store.meta(db, "checkpoint_vouched") }) != entry.name, try !hasSigned(entry) else { return nil }
      let count = stability.counted.count
      let turn = (1...count).lazy.map { stability.counted[(Int(header.frontier.total % UInt64(count)) + $0) % count] }
        .first { !signed.contains($0) }
      guard !whoseTurn || turn == replica || stability.frontier.total >= header.frontier.total + interval else { return nil }
      // Signed enough already (verified, not counted by file names: a
      // planted signature file must not stop the real second one).
      if (try? verifiedCheckpoint(entry)) != nil {
        try write { db in try Store.setMeta(db, "checkpoint_vouched", entry.name) }
        return nil
      }
      guard try mayVouch(at: header.frontier) else { return nil }
      do {
        _ = try writeCheckpoint(to: folder, target: header.frontier)
      } catch is CheckpointNotReady {
        return nil
      }
      try write { db in try Store.setMeta(db, "checkpoint_vouched", entry.name) }
      return entry.name
    }
    return nil
  }

  /// Writes a checkpoint at the stable frontier when it has moved on by
  /// the interval since the newest checkpoint. One office in turn is
  /// chosen by the frontier, so offices do not all write the same one;
  /// any office writes it once the chosen one is a whole interval late.
  ///
  /// A checkpoint includes every checkpoint in the folder that is inside
  /// this replica's frontier (and the one it started from), so that an
  /// office that started from any of them can start from the next. When
  /// the folder holds checkpoints that no single one includes (offices
  /// that pruned apart, each against its own, during a partition longer
  /// than the retention), any office that holds them all writes one that
  /// does, at once: without it, an office that started from one of them
  /// could not catch up with what the others pruned.
  func writeCheckpointIfDue(to folder: SharedFolder, stability: Stability, peeked: [PeekedCheckpoint]? = nil) throws -> Checkpoint? {
    let interval = UInt64(try checkpointInterval())
    guard interval > 0, !stability.counted.isEmpty else { return nil }
    let local = try frontier()
    var known = try read { db -> [VersionVector] in
      var known: [VersionVector] = []
      if let start = try Store.base(db)?.frontier { known.append(start) }
      for row in try Row.fetchAll(db, sql: "SELECT frontier FROM checkpoints") { known.append(try Store.decodeVector(row[0])) }
      return known
    }
    // Headers peeked at, not verified: they only decide whether to write.
    // A name or header claiming more than this replica has applied is not
    // counted (a real one at a stable frontier cannot be ahead of a counted office).
    known += try (peeked ?? peekedCheckpoints(in: folder)).map(\.header.frontier)
    let inside = known.filter { $0.isIncluded(in: local) }
    var target = stability.frontier
    for vector in inside { target.formUnion(vector) }
    let newest = inside.map(\.total).max() ?? 0
    // Checkpoints inside this replica's frontier that no one of them includes all of.
    let merging = inside.count > 1 && !inside.contains { candidate in inside.allSatisfy { $0.isIncluded(in: candidate) } }
      && !known.contains { target.isIncluded(in: $0) }
    if !merging {
      guard target.total >= newest + interval else { return nil }
      let chosen = stability.counted[Int(target.total % UInt64(stability.counted.count))]
      guard chosen == replica || target.total >= newest + 2 * interval else { return nil }
    }
    // Others check the signature against the roster at the checkpoint: an
    // office whose key is not in it yet (it claims it with its first
    // changeset) leaves the checkpoint to another.
    // Nor does one whose key only it counts so far (waiting for an
    // administrator's confirmation): readers would not accept it.
    guard try mayVouch(at: target) else { return nil }
    do {
      return try writeCheckpoint(to: folder, target: target)
    } catch is CheckpointNotReady {
      return nil
    }
  }

  // MARK: - Pruning

  /// Deletes this office's changeset files (and its older checkpoints)
  /// from the folder once a checkpoint every counted office has
  /// acknowledged covers them and they are older than the retention.
  ///
  /// Nothing is deleted with `keep everything`, or in a folder of layout
  /// 2 or older, which older Samhands still read in full.
  public func prune(_ folder: SharedFolder, now: Date = Date(), dryRun: Bool = false) throws -> PruneReport {
    try prune(folder, stability: try stability(in: folder, now: now), now: now, dryRun: dryRun)
  }

  func prune(_ folder: SharedFolder, stability: Stability, now: Date, dryRun: Bool) throws -> PruneReport {
    var report = PruneReport()
    guard case .days(let days) = try retention() else {
      report.blocked = "retention is 'keep everything' (set a number of days with 'samhand retention DAYS')"
      return report
    }
    let colliding = try read { db in
      try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM collisions WHERE author = ? AND cleared = 0", arguments: [replica.rawValue]) ?? 0
    }
    guard colliding == 0 else {
      report.blocked = "another installation may be writing as '\(replica)': nothing is deleted until that is sorted out"
      return report
    }
    let layout = try folder.identity().formatVersion
    guard layout >= 3 else {
      report.blocked =
        "the folder has layout \(layout), which Samhand before checkpoints reads in full; pruning needs layout 3 ('samhand upgrade-folder' once every office runs this Samhand)"
      return report
    }
    let cutoff = Int64(now.timeIntervalSince1970 * 1000) - Int64(days) * 86_400_000
    // Most syncs find nothing old enough to delete: then the newest
    // acknowledged checkpoint's header is enough, and it is not read and
    // verified whole. (An older checkpoint covers less, so it would not
    // let more go.)
    let acknowledged: (Checkpoint.Header) -> Bool = { $0.storeID == self.storeID && $0.frontier.isIncluded(in: stability.frontier) }
    if let entry = folder.checkpoints().first(where: { Checkpoint.peekHeader($0).map(acknowledged) ?? false }),
      let header = Checkpoint.peekHeader(entry)
    {
      let plan = try pruningPlan(folder, covering: header.frontier, made: header.timestamp, cutoff: cutoff)
      if plan.files.isEmpty && plan.checkpoints.isEmpty && plan.cosignatures.isEmpty {
        report.checkpoint = entry.relativePath
        return report
      }
    }
    let (found, _) = newestCheckpoint(in: folder, where: acknowledged)
    guard let (entry, checkpoint, _) = found else {
      report.blocked = "no checkpoint that every active office has acknowledged yet"
      return report
    }
    report.checkpoint = entry.relativePath
    let (removed, oldCheckpoints, cosignatures) = try pruningPlan(
      folder, covering: checkpoint.frontier, made: checkpoint.timestamp, cutoff: cutoff)
    report.removed = removed.map(\.path) + oldCheckpoints.map(\.relativePath) + cosignatures.map(folder.path(of:))
    guard !dryRun else { return report }
    // First the note that these are gone on purpose, then the files: a
    // crash in between leaves files that the next pruning deletes, never
    // a pruned file that a sync would write again.
    let through = removed.map(\.sequence).max() ?? 0
    try write { db in
      for file in removed { try db.execute(sql: "DELETE FROM folder_files WHERE path = ?", arguments: [file.path]) }
      let before = UInt64(try Store.meta(db, "pruned_through") ?? "0") ?? 0
      if through > before { try Store.setMeta(db, "pruned_through", String(through)) }
    }
    for file in removed { try folder.delete(file.url) }
    for older in oldCheckpoints {
      try folder.delete(older.signatureURL)
      try folder.delete(older.url)
    }
    for url in cosignatures { try folder.delete(url) }
    return report
  }

  /// What pruning against a checkpoint at `frontier` (made at `made`)
  /// would delete: this office's changeset files (and conflict copies) and
  /// its older checkpoints that the checkpoint covers and the cutoff lets go.
  private func pruningPlan(_ folder: SharedFolder, covering frontier: VersionVector, made: Int64, cutoff: Int64) throws
    -> (files: [(path: String, url: URL, sequence: UInt64)], checkpoints: [SharedFolder.CheckpointEntry], cosignatures: [URL])
  {
    let covered = frontier[replica]
    let walls = try read { db in
      var walls: [UInt64: Int64] = [:]
      for row in try Row.fetchAll(
        db, sql: "SELECT seq, wall FROM changesets WHERE author = ? AND seq <= ?", arguments: [replica.rawValue, Int64(covered)])
      {
        walls[UInt64(row[0] as Int64)] = row[1]
      }
      return walls
    }
    var files: [(path: String, url: URL, sequence: UInt64)] = []
    let own = folder.changesetsURL(for: replica)
    let names = (try? folder.exchange.list(folder.path(of: own)))??.filter { $0.type != .directory }.map(\.name) ?? []
    for name in names.sorted() {
      let sequence: UInt64
      switch FolderName(name) {
      case .changeset(let value), .conflictCopy(let value): sequence = value
      // A pack goes when its last changeset may.
      case .pack(let range): sequence = range.upperBound
      default: continue
      }
      guard Store.mayPrune(sequence: sequence, made: walls[sequence] ?? made, covered: covered, cutoff: cutoff) else { continue }
      files.append(("\(SharedFolder.changesetsDirectory)/\(replica.rawValue)/\(name)", own.appendingPathComponent(name), sequence))
    }
    var checkpoints: [SharedFolder.CheckpointEntry] = []
    let (entries, signatures) = folder.checkpointListing()
    func mayGo(_ entry: SharedFolder.CheckpointEntry) -> Bool {
      guard entry.total < frontier.total, let header = Checkpoint.peekHeader(entry) else { return false }
      return header.frontier.isIncluded(in: frontier) && header.timestamp <= cutoff
    }
    for older in entries where older.office == replica && mayGo(older) { checkpoints.append(older) }
    // Its co-signatures of older checkpoints other offices wrote: once
    // every copy of the name is gone, or one that pruning lets go.
    var cosignatures: [URL] = []
    for (name, files) in signatures.sorted(by: { $0.key < $1.key }) {
      guard let own = files.first(where: { $0.office == replica }), !entries.contains(where: { $0.name == name && $0.office == replica }),
        let total = Checkpoint.total(fromFileName: name), total < frontier.total
      else { continue }
      let copies = entries.filter { $0.name == name }
      if copies.isEmpty || copies.contains(where: mayGo) { cosignatures.append(own.url) }
    }
    return (files, checkpoints, cosignatures)
  }

  /// The pruning rule for one of an office's own changeset files: the
  /// acknowledged checkpoint covers it (`covered`: the checkpoint's
  /// counter for the office) and it was made at or before `cutoff`
  /// (milliseconds since 1970: now less the retention).
  package static func mayPrune(sequence: UInt64, made: Int64, covered: UInt64, cutoff: Int64) -> Bool {
    sequence <= covered && made <= cutoff
  }

  /// The highest of this office's sequence numbers it has pruned from the
  /// folder: those are not published again.
  func prunedThrough() throws -> UInt64 {
    try read { db in UInt64(try Store.meta(db, "pruned_through") ?? "0") ?? 0 }
  }
}
