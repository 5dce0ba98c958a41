import Foundation
import GRDB

/// What one office did to fold its changeset files into packs after a sync.
public struct PackingReport: Sendable, Hashable {
  /// Pack files written, relative to the shared folder.
  public var written: [String] = []
  /// Its own files deleted because a pack it wrote holds them: loose
  /// changeset files, and smaller packs merged into a larger one.
  public var deleted: [String] = []

  /// Nothing written, nothing deleted.
  public init() {}
}

// MARK: - Reading

extension Store {
  /// The changeset files one entry of an office folder holds, each opened
  /// and checked as ``openEnvelope(_:_:)`` does: the file itself, or each
  /// changeset of a pack (read whole, once). Empty when the file is gone
  /// since the listing (its office packed or pruned it: the next listing
  /// finds what replaced it).
  ///
  /// - Throws: what makes the whole pack unreadable (damaged, forged,
  ///   another store's, misplaced); a changeset that does not open is a
  ///   failure in the list, and the others still count.
  func readFiles(_ file: SharedFolder.Entry, in folder: SharedFolder) throws
    -> [(entry: SharedFolder.Entry, envelope: Result<ChangesetEnvelope, SamhandError>)]
  {
    let kind: FolderFileKind = if case .pack = file.kind { .pack } else { .changeset }
    guard let bytes = try ImportProfile.measure(.reading, { try folder.exchange.read(folder.path(of: file.url), kind: kind, prefix: nil) })
    else { return [] }
    guard case .pack(let range) = file.kind else {
      do { return [(file, .success(try openEnvelope(bytes, file)))] } catch let error as SamhandError { return [(file, .failure(error))] }
    }
    let pack = try folder.openPack(file, range, bytes, storeID: storeID)
    return pack.members.map { entry, member in
      do {
        let envelope = try openEnvelope(member, entry)
        if checksTrust, let signer = Store.signer(envelope.header.signatures) {
          try PackFile.checkSigner(signer, of: envelope.id, packKey: pack.key, fileURL: file.url)
        }
        return (entry, .success(envelope))
      } catch let error as SamhandError {
        return (entry, .failure(error))
      } catch {
        return (entry, .failure(SamhandError(.corruptChangeset, "\(error)", fileURL: file.url)))
      }
    }
  }
}

extension SharedFolder {
  /// A pack found under `changesets/<office>/`, checked as a whole (format,
  /// signature, the range its name gives, the office whose folder holds it,
  /// the store), with each changeset in it as an entry of its own
  /// (`<pack path>#<number>`) and its bytes, to be judged as a changeset
  /// file of that number.
  func openPack(_ file: Entry, _ range: ClosedRange<UInt64>, _ bytes: [UInt8], storeID: StoreID) throws
    -> (key: PublicKey, members: [(entry: Entry, bytes: [UInt8])])
  {
    let pack = try PackFile.decode(bytes, name: range, fileURL: file.url)
    guard pack.office == file.office else {
      throw SamhandError(
        .corruptChangeset, "renamed or misplaced: a pack of \(pack.office)'s changesets in the folder of \(file.office)",
        fileURL: file.url)
    }
    guard pack.storeID == storeID else {
      throw SamhandError(.wrongStore, "belongs to another store (\(pack.storeID))", fileURL: file.url)
    }
    return (
      pack.key,
      pack.members.enumerated().map { index, bytes in
        var entry = file
        let sequence = pack.first + UInt64(index)
        entry.kind = .changeset(sequence: sequence)
        entry.member = sequence
        return (entry, bytes)
      }
    )
  }
}

extension PackFile {
  /// Refuses a changeset in a pack signed with another key than the pack:
  /// a pack is one key's work.
  static func checkSigner(_ signer: PublicKey, of id: Changeset.ID, packKey: PublicKey, fileURL: URL?) throws {
    guard signer != packKey else { return }
    throw SamhandError(
      .untrusted,
      "signed with key \(signer.fingerprint), in a pack signed with key \(packKey.fingerprint): a pack holds only changesets of the key that signed it",
      changesetID: id, fileURL: fileURL)
  }
}

// MARK: - Writing

/// Which pack files an office writes (`Docs/FORMATS.md`, section 14): the
/// rule, apart from the files, so that writers without a store (benchmarks,
/// simulations) fold their files as a store does.
public enum PackPlan {
  /// How many loose changeset files of its own an office lets gather
  /// before it folds them into a pack.
  public static let unit = 16
  /// How many packs of one size class an office merges into one.
  public static let fanIn = 4

  /// The packs to write, in order, given the numbers of an office's
  /// published changesets in loose files and in no pack, and its packs:
  /// first a fold of the oldest run of consecutive loose numbers, once
  /// there are ``unit`` of them (up to ``PackFile/maximumCount``); then
  /// merges of ``fanIn`` packs of one size class that follow each other,
  /// while any do. Each pack replaces the loose files and packs inside it.
  public static func plan(loose: [UInt64], packs: [ClosedRange<UInt64>]) -> [ClosedRange<UInt64>] {
    var plan: [ClosedRange<UInt64>] = []
    var packs = packs.sorted { $0.lowerBound < $1.lowerBound }
    let free = loose.sorted()
    if free.count >= unit {
      var run: [UInt64] = []
      for sequence in free where run.count < Int(PackFile.maximumCount) && (run.isEmpty || sequence == run[run.count - 1] + 1) {
        run.append(sequence)
      }
      if run.count >= unit {
        let range = run[0]...run[run.count - 1]
        plan.append(range)
        packs.append(range)
        packs.sort { $0.lowerBound < $1.lowerBound }
      }
    }
    merging: while packs.count >= fanIn {
      for start in 0...(packs.count - fanIn) {
        let group = Array(packs[start..<start + fanIn])
        guard Set(group.map(sizeClass)).count == 1,
          zip(group, group.dropFirst()).allSatisfy({ $0.upperBound + 1 == $1.lowerBound }),
          group[group.count - 1].upperBound - group[0].lowerBound < PackFile.maximumCount
        else { continue }
        let merged = group[0].lowerBound...group[group.count - 1].upperBound
        plan.append(merged)
        packs.replaceSubrange(start..<start + fanIn, with: [merged])
        continue merging
      }
      break
    }
    return plan
  }

  /// A pack's size class: 0 for up to 63 changesets, 1 for 64 to 255, …
  static func sizeClass(_ range: ClosedRange<UInt64>) -> Int {
    var sizeClass = 0
    var size = UInt64(unit * fanIn)
    while UInt64(range.count) >= size {
      sizeClass += 1
      size *= UInt64(fanIn)
    }
    return sizeClass
  }
}

extension Store {
  /// Folds this office's own published changeset files into pack files, so
  /// that its folder holds a few files instead of one per changeset
  /// (`Docs/FORMATS.md`, section 14). Runs after every sync in a folder of
  /// layout 6; does nothing in older layouts, in a store without a roster,
  /// or while a collision is open for the office (its files are evidence).
  ///
  /// Once ``PackPlan/unit`` loose files are published and not in a pack,
  /// they go into one; once ``PackPlan/fanIn`` packs of one size class
  /// follow each other, they are merged into one
  /// (``PackPlan/plan(loose:packs:)``). A pack is written (created only if
  /// its name is free), then the files it replaces are deleted: a crash in
  /// between leaves both, and the next run deletes what a pack holds. The
  /// bytes come from the store, so a file damaged in the folder is never
  /// copied. Anything else under a pack name in the office's folder (a pack
  /// the sync did not read back whole as its own) is deleted.
  @discardableResult
  public func packOwnFiles(in folder: SharedFolder) throws -> PackingReport {
    var report = PackingReport()
    let (layout, colliding) = try read { db in
      (
        Int(try Store.meta(db, "folder_layout") ?? "") ?? 0,
        try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM collisions WHERE author = ? AND cleared = 0", arguments: [replica.rawValue]) ?? 0
      )
    }
    guard layout >= SharedFolder.packLayout, checksTrust, colliding == 0 else { return report }
    let key = try read { db in try signingKey(db) }
    let directory = folder.path(of: folder.changesetsURL(for: replica))
    guard let items = try folder.exchange.list(directory) else { return report }
    let prefix = "\(directory)/"
    let settled = try read { db in
      var settled: [String: (Int64, Int64)] = [:]
      for row in try Row.fetchAll(
        db, sql: "SELECT path, size, modified FROM folder_files WHERE path >= ? AND path < ?",
        arguments: [prefix, "\(SharedFolder.changesetsDirectory)/\(replica.rawValue)0"])
      {
        settled[row[0]] = (row[1], row[2])
      }
      return settled
    }
    var loose: [UInt64] = []
    var packs: [ClosedRange<UInt64>] = []
    for item in items where item.type == .regular {
      switch FolderName(item.name) {
      case .changeset(let sequence): loose.append(sequence)
      case .pack(let range):
        // A pack of ours is one the sync read back and found whole; any
        // other under such a name (damaged, or dropped here) goes.
        if let known = settled[prefix + item.name], known == (item.size, item.modified) {
          packs.append(range)
        } else {
          try deleteOwn(folder.packURL(of: replica, range), in: folder, &report)
        }
      default: continue
      }
    }
    // A pack inside another (a merge that stopped before deleting what it
    // replaced) goes, and so do loose files a pack holds.
    packs.sort { ($0.lowerBound, $1.upperBound) < ($1.lowerBound, $0.upperBound) }
    var kept: [ClosedRange<UInt64>] = []
    for range in packs {
      if let outer = kept.last, outer.lowerBound <= range.lowerBound, range.upperBound <= outer.upperBound {
        try deleteOwn(folder.packURL(of: replica, range), in: folder, &report)
      } else {
        kept.append(range)
      }
    }
    packs = kept
    for sequence in loose where packs.contains(where: { $0.contains(sequence) }) {
      try deleteOwn(folder.changesetURL(Changeset.ID(author: replica, sequence: sequence)), in: folder, &report)
    }

    // Fold the published loose files, then merge, as the plan says; a pack
    // that cannot be written stops the plan (what follows builds on it).
    let unpublished = Set(try outbox().map(\.sequence))
    let free = loose.filter { sequence in !unpublished.contains(sequence) && !packs.contains { $0.contains(sequence) } }
    for range in PackPlan.plan(loose: free, packs: packs) {
      guard try writePack(range, key: key, in: folder, &report) != nil else { break }
      for inner in packs where range.contains(inner.lowerBound) && range.contains(inner.upperBound) {
        try deleteOwn(folder.packURL(of: replica, inner), in: folder, &report)
      }
      packs.removeAll { range.contains($0.lowerBound) && range.contains($0.upperBound) }
      packs.append(range)
      for sequence in free where range.contains(sequence) {
        try deleteOwn(folder.changesetURL(Changeset.ID(author: replica, sequence: sequence)), in: folder, &report)
      }
    }
    return report
  }

  /// Writes the pack of this office's changesets `range` from the store's
  /// bytes, and notes it as read back; nil when it cannot be written whole
  /// (a changeset the store no longer holds, one signed with another key,
  /// more bytes than a pack takes, or its name taken since the listing).
  /// ``writePack(_:key:in:_:)`` with this office's key, whatever the
  /// layout: for tests and golden files. Returns the pack's path.
  package func writePack(_ range: ClosedRange<UInt64>, in folder: SharedFolder) throws -> String? {
    var report = PackingReport()
    _ = try writePack(range, key: try read { db in try signingKey(db) }, in: folder, &report)
    return report.written.first
  }

  private func writePack(
    _ range: ClosedRange<UInt64>, key: SigningKey, in folder: SharedFolder, _ report: inout PackingReport
  ) throws -> ClosedRange<UInt64>? {
    var members: [[UInt8]] = []
    var size = 0
    for sequence in range {
      guard let bytes = try changesetBytes(Changeset.ID(author: replica, sequence: sequence)),
        let envelope = try? ChangesetFile.open(bytes), Store.signer(envelope.header.signatures) == key.publicKey
      else { return nil }
      size += bytes.count
      guard size <= PackFile.targetSize else { return nil }
      members.append(bytes)
    }
    let bytes = PackFile.encode(storeID: storeID, office: replica, first: range.lowerBound, members: members, signedBy: key)
    let url = folder.packURL(of: replica, range)
    guard try folder.create(url, bytes) else { return nil }
    guard let item = folder.status(url) else { return nil }
    let path = folder.path(of: url)
    try write { db in try Store.noteRead(path, size: item.size, modified: item.modified, db) }
    report.written.append(path)
    return range
  }

  /// Deletes one of this office's files and forgets it was read.
  private func deleteOwn(_ url: URL, in folder: SharedFolder, _ report: inout PackingReport) throws {
    let path = folder.path(of: url)
    try folder.delete(url)
    try write { db in try db.execute(sql: "DELETE FROM folder_files WHERE path = ?", arguments: [path]) }
    report.deleted.append(path)
  }
}
