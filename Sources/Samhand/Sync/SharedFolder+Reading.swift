import Crypto
import Foundation

/// The result of checking every file in a shared folder.
public struct FolderVerification: Sendable, Hashable {
  /// Everything wrong, sorted by path. Empty when the folder is sound.
  public var problems: [FolderProblem] = []
  /// Good changeset files.
  public var changesets: Int = 0
  /// Offices with at least one changeset.
  public var offices: [ReplicaID] = []
  /// The heads that could be read, in file name order.
  public var heads: [Head] = []
  /// Groups of offices at the same frontier whose snapshot hashes differ.
  public var divergentHeads: [[Head]] = []
  /// Names passed over: temporary files and files Samhand does not own.
  public var ignored: Int = 0
  /// In an encrypted folder, changesets whose payload is sealed with a
  /// group key not given: their signatures, names and dependencies were
  /// checked, their contents not.
  public var sealedUnread: Int = 0

  /// Whether the check found no problem.
  public var isSound: Bool { problems.isEmpty }
}

// MARK: - Reading without a store

extension SharedFolder {
  /// Reads, verifies and merges the folder in memory, and returns the
  /// snapshot a replica at the same frontier would produce. Writes nothing.
  ///
  /// Bad files are left out, as a replica would set them aside.
  ///
  /// - Parameter keys: for an encrypted folder, the group keys its files
  ///   are sealed with (a store's, ``Store/groupKeys()``, or a key file's).
  /// - Throws: `SamhandError.missingKey` for an encrypted folder without
  ///   every key its files need: a snapshot without some of them would
  ///   be wrong, not partial.
  public func snapshot(keys: GroupKeyring = .empty) throws -> Snapshot {
    try snapshotWithReport(keys: keys).snapshot
  }

  /// The folder's snapshot and the report of reading it.
  public func snapshotWithReport(keys: GroupKeyring = .empty) throws -> (snapshot: Snapshot, report: SyncReport) {
    let (reader, report) = try self.reader(keys: keys, whole: true)
    return (try reader.snapshot(), report)
  }

  /// The folder's snapshot as it was at a frontier (for example one an
  /// office's head reported). See `Store.snapshot(at:)`.
  public func snapshot(at frontier: VersionVector, keys: GroupKeyring = .empty) throws -> Snapshot {
    try reader(keys: keys, whole: true).store.snapshot(at: frontier)
  }

  /// The folder's snapshot as it stood at a date. See `Store.snapshot(asOf:)`.
  public func snapshot(asOf date: Date, keys: GroupKeyring = .empty) throws -> Snapshot {
    try reader(keys: keys, whole: true).store.snapshot(asOf: date)
  }

  /// A replica in memory that has read everything good in the folder.
  ///
  /// - Parameter whole: refuse an encrypted folder that holds files
  ///   sealed with keys not in `keys` (what a snapshot needs).
  func reader(keys: GroupKeyring = .empty, whole: Bool = false) throws -> (store: Store, report: SyncReport) {
    let identity = try identity()
    let encrypted = identity.roster?.isEncrypted == true
    if whole, encrypted, keys.keys.isEmpty {
      throw SamhandError(
        .missingKey,
        "\(location) is an encrypted folder: it is read only with its group keys, from a store that holds them (--store) or a key file ('samhand key export-group', then --group-keys FILE)")
    }
    let reader = try Store.createInMemory(
      replica: "reader", storeID: identity.storeID, schema: identity.schema, genesis: identity.roster)
    if encrypted, !keys.keys.isEmpty { try reader.importGroupKeys(keys) }
    let report = try reader.exchange(with: self, writing: false, progress: nil)
    if whole, report.waitingForKey > 0 {
      throw SamhandError(
        .missingKey,
        "\(report.waitingForKey) changeset\(report.waitingForKey == 1 ? " is" : "s are") sealed with group keys not given: a snapshot without \(report.waitingForKey == 1 ? "it" : "them") would be wrong. Give a store or key file that holds every key (an administrator's store does)")
    }
    return (reader, report)
  }

  /// Checks every file in the folder without changing anything.
  ///
  /// Reports unreadable or damaged changeset files, names that disagree with
  /// headers, files of another store, different changesets under one
  /// office and sequence number, conflict copies that differ from the
  /// original, gaps in an office's sequence and missing dependencies,
  /// changesets that break the schema, malformed heads, and offices at the
  /// same frontier whose snapshot hashes differ. In a folder with a roster,
  /// also unsigned and forged files, changesets whose signer the roster
  /// does not allow (or whose key no administrator has confirmed), and
  /// changesets rejected for writing outside the rights or the limits.
  /// Links, FIFOs and other files that are not regular, and files over
  /// their size limit, are reported without being followed or read; so are
  /// checkpoints that do not verify, and checkpoints at one frontier whose
  /// bytes differ, with their signers.
  ///
  /// - Parameter keys: for an encrypted folder, the group keys to open its
  ///   payloads with; without them contents are not checked
  ///   (``FolderVerification/sealedUnread``), everything else is.
  public func verify(keys: GroupKeyring = .empty) -> FolderVerification {
    var result = FolderVerification()
    let identity: Identity
    do {
      identity = try self.identity()
    } catch let error as SamhandError {
      result.problems.append(FolderProblem(path: SharedFolder.identityFileName, reason: error.message))
      return result
    } catch {
      result.problems.append(FolderProblem(path: SharedFolder.identityFileName, reason: "\(error)"))
      return result
    }
    let entries: [Entry]
    do {
      let unreadable: [FolderProblem]
      (entries, result.ignored, unreadable, _) = try listChangesets()
      result.problems += unreadable
    } catch {
      result.problems.append(FolderProblem(path: SharedFolder.changesetsDirectory, reason: "\(error)"))
      return result
    }
    var hashes: [Changeset.ID: [(hash: Data, path: String)]] = [:]
    var good: [Changeset.ID: Changeset] = [:]
    var delta: [Changeset.ID: ChangesetEnvelope] = [:]
    for entry in entries {
      switch entry.kind {
      case .temporary, .foreign:
        result.ignored += 1
        continue
      case .changeset, .conflictCopy, .pack:
        break
      }
      // A changeset file, or each changeset in a pack.
      var files: [(entry: Entry, bytes: [UInt8])] = []
      var packKey: PublicKey?
      do {
        if case .pack(let range) = entry.kind {
          (packKey, files) = try openPack(entry, range, try read(entry.url, kind: .pack), storeID: identity.storeID)
        } else {
          files = [(entry, try read(entry.url, kind: .changeset))]
        }
      } catch let error as SamhandError {
        result.problems.append(FolderProblem(path: entry.relativePath, reason: Store.reason(error, entry: entry)))
        continue
      } catch {
        result.problems.append(FolderProblem(path: entry.relativePath, reason: "\(error)"))
        continue
      }
      for (entry, bytes) in files {
        do {
          // Type and size, checksum, name, store and signature before the
          // payload is inflated, as a sync checks them.
          let envelope = try ChangesetFile.open(bytes, fileURL: entry.url)
          try Store.checkName(entry, matches: envelope.header)
          guard envelope.header.storeID == identity.storeID else {
            throw SamhandError(.wrongStore, "belongs to another store (\(envelope.header.storeID))")
          }
          if identity.roster != nil {
            let key = try Store.checkSignature(envelope, fileURL: entry.url)
            if let packKey { try PackFile.checkSigner(key, of: envelope.id, packKey: packKey, fileURL: entry.url) }
          }
          var changeset: Changeset
          var sealed = false
          do {
            changeset = try envelope.changeset(fileURL: entry.url, keys: keys)
          } catch let error as SamhandError where error.code == .missingKey {
            // What the header says is checked; what the payload says cannot be.
            changeset = Changeset(header: envelope.header)
            sealed = true
            result.sealedUnread += 1
          }
          hashes[changeset.id, default: []].append((Data(SHA256.hash(data: bytes)), entry.relativePath))
          if case .changeset = entry.kind {
            good[changeset.id] = changeset
            if !envelope.header.dependenciesResolved { delta[changeset.id] = envelope }
            var data = changeset
            if identity.roster != nil { data.edits.removeAll { $0.record.collection == Roster.collection } }
            if !sealed, let violation = identity.schema.violation(in: data) {
              result.problems.append(FolderProblem(path: entry.relativePath, reason: "breaks the schema and will be rejected: \(violation)"))
            }
          }
        } catch let error as SamhandError {
          result.problems.append(FolderProblem(path: entry.relativePath, reason: Store.reason(error, entry: entry)))
        } catch {
          result.problems.append(FolderProblem(path: entry.relativePath, reason: "\(error)"))
        }
      }
    }
    for (id, copies) in hashes where Set(copies.map(\.hash)).count > 1 {
      let paths = copies.map(\.path).sorted().joined(separator: ", ")
      result.problems.append(
        FolderProblem(
          path: copies.map(\.path).sorted()[0],
          reason: "different changesets claim to be \(id) (\(paths)); two installations may be writing as '\(id.author)'"))
    }
    // Merged in memory: it starts from the newest checkpoint that
    // verifies, which covers the changesets pruned from the folder.
    let reading = try? reader(keys: keys)
    let covered = (try? reading?.store.checkpointBase()?.frontier) ?? VersionVector()
    for problem in reading?.report.badCheckpoints ?? [] {
      result.problems.append(FolderProblem(path: problem.path, reason: "checkpoint not used: \(problem.reason)"))
    }
    let reported = Set(result.problems.map(\.reason))
    for problem in Store.disagreeingCheckpoints(in: self) where !reported.contains(problem.reason) {
      result.problems.append(FolderProblem(path: problem.path, reason: problem.reason))
    }
    // Gaps and missing dependencies.
    var highest: [ReplicaID: UInt64] = [:]
    for id in good.keys { highest[id.author] = max(highest[id.author] ?? 0, id.sequence) }
    for (office, top) in highest {
      let missing = (1...top).filter { $0 > covered[office] && good[Changeset.ID(author: office, sequence: $0)] == nil }
      if !missing.isEmpty {
        let list = missing.prefix(10).map(String.init).joined(separator: ", ") + (missing.count > 10 ? ", …" : "")
        result.problems.append(
          FolderProblem(
            path: "\(SharedFolder.changesetsDirectory)/\(office.rawValue)",
            reason: "\(missing.count) changeset\(missing.count == 1 ? "" : "s") missing from the sequence (\(list)); offices will wait for them"))
      }
    }
    // Format 2 files name their dependencies against their author's
    // previous changeset: resolved along each office's files in order, or
    // from the checkpoint the reading started from.
    for id in delta.keys.sorted() {
      guard let envelope = delta[id], var changeset = good[id] else { continue }
      let previous = Changeset.ID(author: id.author, sequence: id.sequence - 1)
      var base = good[previous]?.dependencies
      if base != nil, delta[previous] != nil { base = nil }  // its own could not be resolved
      base?[id.author] = previous.sequence
      if base == nil, let store = reading?.store {
        base = try? store.read { db in try store.promise(of: id.author, at: previous.sequence, db) }
      }
      guard let base else { continue }
      do {
        changeset.dependencies = try envelope.resolved(against: base).header.dependencies
        good[id] = changeset
        delta[id] = nil
      } catch {
        result.problems.append(FolderProblem(path: Entry.relativePath(id), reason: (error as? SamhandError)?.message ?? "\(error)"))
      }
    }
    for (id, changeset) in good where delta[id] == nil {
      for entry in changeset.dependencies.sorted
      where entry.replica != id.author && entry.counter > max(highest[entry.replica] ?? 0, covered[entry.replica]) {
        result.problems.append(
          FolderProblem(
            path: Entry.relativePath(id),
            reason: "depends on \(entry.replica)#\(entry.counter), which the folder does not hold"))
      }
    }
    // What only merging tells: signers the roster does not allow, and
    // writes outside the rights.
    // (Not without the keys of an encrypted folder: the roster changes that
    // confirm keys may be sealed, so the judgement would be wrong.)
    if identity.roster != nil, result.sealedUnread == 0, let reader = reading {
      let report = reader.report
      let reported = Set(result.problems.map(\.path))
      for (id, _) in (try? reader.store.untrustedChangesets()) ?? [] where good[id] != nil {
        good[id] = nil
      }
      for problem in report.setAside where !reported.contains(problem.path) {
        result.problems.append(FolderProblem(path: problem.path, reason: "set aside: \(problem.reason)"))
      }
      for (id, reason) in report.rejected where !reported.contains(Entry.relativePath(id)) {
        result.problems.append(FolderProblem(path: Entry.relativePath(id), reason: "rejected by every office: \(reason)"))
      }
      // Accepted, but a revocation or retirement it did not see covers it: for an administrator to review.
      for late in (try? reader.store.lateChangesets()) ?? [] where !reported.contains(Entry.relativePath(late.changeset)) {
        let records = late.records.prefix(10).map { "\($0.collection)/\($0.id)" }.joined(separator: ", ")
          + (late.records.count > 10 ? ", …" : "")
        result.problems.append(
          FolderProblem(
            path: Entry.relativePath(late.changeset),
            reason: "late: \(late.reason) (review what it wrote: \(records.isEmpty ? "no records" : records))"))
      }
    }
    result.changesets = good.count
    result.offices = highest.keys.sorted()
    var (heads, headProblems) = self.heads()
    // Heads not signed by their office's key (judged by the roster the
    // folder's changesets make) are reported and left out.
    if identity.roster != nil, result.sealedUnread == 0, let store = reading?.store,
      let judged = try? store.judge(heads, layout: identity.formatVersion)
    {
      heads = judged.counted
      headProblems += judged.ignored
    }
    result.heads = heads
    result.problems += headProblems
    result.divergentHeads = SharedFolder.divergentHeads(heads)
    for group in result.divergentHeads {
      let offices = group.map { "\($0.office) (\($0.snapshotHash.prefix(12)))" }.joined(separator: ", ")
      result.problems.append(
        FolderProblem(
          path: SharedFolder.headsDirectory,
          reason: "offices at the same frontier report different snapshots: \(offices)"))
    }
    result.problems.sort { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
    return result
  }
}
