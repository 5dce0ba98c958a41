import Foundation
import Samhand
import SamhandTestSupport
import XCTest

/// Offices, each with a store and its own copy of the shared folder.
private final class Cooperation {
  let root = TemporaryDirectory("sync")
  var stores: [ReplicaID: Store] = [:]
  var folders: [ReplicaID: SharedFolder] = [:]
  let offices: [ReplicaID]

  /// - Parameter shared: all offices use one folder (SMB style) instead of a copy each.
  init(_ offices: [ReplicaID], shared: Bool = false) throws {
    self.offices = offices
    let first = offices[0]
    let firstFolder = SharedFolder(root.path(shared ? "shared" : "folder-\(first)"))
    stores[first] = try Store.createListingTestKeys(folder: firstFolder, at: root.path("store-\(first)"), replica: first, extra: offices)
    folders[first] = firstFolder
    for office in offices.dropFirst() {
      let folder = SharedFolder(root.path(shared ? "shared" : "folder-\(office)"))
      if !shared {
        try FileManager.default.createDirectory(at: folder.url, withIntermediateDirectories: true)
        try FileManager.default.copyItem(
          at: firstFolder.url.appendingPathComponent("samhand.json"), to: folder.url.appendingPathComponent("samhand.json"))
      }
      stores[office] = try Store.joinWithTestKey(folder: folder, at: root.path("store-\(office)"), replica: office).0
      folders[office] = folder
    }
  }

  subscript(office: ReplicaID) -> Store { stores[office]! }

  @discardableResult
  func sync(_ office: ReplicaID) throws -> SyncReport { try self[office].sync(with: folders[office]!) }

  func syncAll() throws { for office in offices { try sync(office) } }

  /// Copies every file to every folder copy.
  func spreadAll(copier: inout FolderCopier) throws {
    for _ in 0..<2 {
      for from in offices {
        for to in offices where from != to { try copier.copy(from: folders[from]!.url, to: folders[to]!.url) }
      }
    }
  }
}

private let thirteen = Office.cooperation.map(\.slug)

final class SyncTests: XCTestCase {
  func testSync_thirteenOfficesWithOwnCopiesConverge() throws {
    let seed = UInt64(ProcessInfo.processInfo.environment["SAMHAND_SEED"] ?? "") ?? 20_261_121
    print("SyncTests seed \(seed) (replay with SAMHAND_SEED=\(seed))")
    var random = SeededRandom(seed: seed)
    var copier = FolderCopier(seed: seed &+ 1)
    let cooperation = try Cooperation(thirteen)
    // KS opens the shared records to every office, so that all may write them.
    try cooperation["ks"].transact { tx in
      for office in thirteen {
        for index in 0..<4 { try tx.add("cases", "sak-\(index)", "participants", office.rawValue) }
        try tx.add("projects", "veilederkorpset", "participants", office.rawValue)
      }
    }
    try cooperation.sync("ks")
    try cooperation.spreadAll(copier: &copier)
    try cooperation.syncAll()
    let statuses = ["ny", "under-arbeid", "avsluttet"]
    for round in 0..<6 {
      for office in thirteen where random.unit() < 0.6 {
        try cooperation[office].transact { tx in
          let shared = "sak-\(random.int(0..<4))"
          try tx.set("cases", shared, "status", .text(random.element(statuses)))
          try tx.add("cases", shared, "participants", office.rawValue)
          try tx.put("projects", "veilederkorpset", "funding", key: office.rawValue, .integer(Int64(10_000 * (round + 1))))
          try tx.set("membership", "\(office)-\(round)", "role", .text("planveileder"))
          if random.unit() < 0.2 { try tx.delete("cases", "sak-\(random.int(0..<4))") }
        }
        try cooperation.sync(office)
      }
      // The sync tool moves some files, some of them half-written.
      for _ in 0..<20 {
        let from = random.element(thirteen), to = random.element(thirteen)
        guard from != to else { continue }
        try copier.copy(from: cooperation.folders[from]!.url, to: cooperation.folders[to]!.url, fraction: 0.5, tornChance: 0.3)
      }
      for office in thirteen where random.unit() < 0.5 { try cooperation.sync(office) }
    }
    try cooperation.spreadAll(copier: &copier)
    try cooperation.syncAll()
    try cooperation.spreadAll(copier: &copier)
    try cooperation.syncAll()
    try cooperation.spreadAll(copier: &copier)

    let snapshots = try thirteen.map { try cooperation[$0].snapshot() }
    let reference = snapshots[0]
    XCTAssertGreaterThan(reference.frontier.total, 13)
    for (office, snapshot) in zip(thirteen, snapshots) {
      XCTAssertEqual(snapshot.bytes, reference.bytes, "\(office) differs")
      XCTAssertEqual(try cooperation[office].pending(), [], "\(office) still waits")
    }
    // Every head agrees, and a reader of the folder alone sees the same.
    let (heads, problems) = cooperation.folders["ks"]!.heads()
    XCTAssertEqual(problems, [])
    XCTAssertEqual(Set(heads.map(\.snapshotHash)), [reference.sha256])
    XCTAssertEqual(try cooperation.folders["kdd"]!.snapshot().bytes, reference.bytes)
  }

  func testSync_oneSharedDirectoryAsOnSMB() throws {
    let cooperation = try Cooperation(["ks", "kdd", "vestland"], shared: true)
    try cooperation["ks"].transact { try $0.set("cases", "sak-1", "title", .text("Regional planstrategi")) }
    try cooperation["vestland"].transact { try $0.add("cases", "sak-1", "participants", "vestland") }
    try cooperation.syncAll()
    try cooperation.syncAll()
    let snapshot = try cooperation["ks"].snapshot()
    XCTAssertEqual(try cooperation["kdd"].snapshot(), snapshot)
    XCTAssertEqual(try cooperation["vestland"].snapshot(), snapshot)
    XCTAssertEqual(
      try cooperation["kdd"].record("cases", "sak-1")?.fields,
      ["title": .value(.text("Regional planstrategi")), "participants": .set(["vestland"])])
  }

  /// A newcomer reads the folder's files in the order they were written
  /// (by their times, kept in each office's numbering), so a catch-up of
  /// chains of changesets across offices applies each as it is read; with
  /// times that lie, files wait in the buffer and the result is the same.
  func testSync_catchUpReadsFilesInWritingOrderAndTimesOnlyDecideTheBuffer() throws {
    let root = TemporaryDirectory("writing-order")
    let folder = SharedFolder(root.path("shared"))
    let offices: [ReplicaID] = ["ks", "kdd", "vestland", "agder"]
    var stores: [ReplicaID: Store] = [:]
    stores["ks"] = try Store.createListingTestKeys(folder: folder, at: root.path("ks"), replica: "ks", extra: offices + ["nordland", "innlandet"])
    for office in offices.dropFirst() {
      stores[office] = try Store.joinWithTestKey(folder: folder, at: root.path(office.rawValue), replica: office).0
    }
    // Six rounds; each office sees every earlier write before it writes.
    for round in 0..<6 {
      for office in offices {
        try stores[office]!.sync(with: folder)
        try stores[office]!.transact { try $0.set("cases", "sak-\(round)", "notes", .text("runde \(round) fra \(office)")) }
        try stores[office]!.sync(with: folder)
      }
    }
    let (joined, report) = try Store.joinWithTestKey(folder: folder, at: root.path("nordland"), replica: "nordland")
    XCTAssertGreaterThanOrEqual(report.imported.count, 24)
    XCTAssertEqual(report.buffered, 0, "in writing order, every file is ready when it is read")
    try stores["ks"]!.sync(with: folder)
    XCTAssertEqual(try joined.snapshotHash().1, try stores["ks"]!.snapshotHash().1)
    // Name order, as an older Samhand read them: later offices' files
    // come first for most of the history.
    XCTAssertNotEqual(
      offices.map(\.rawValue).sorted(), offices.map(\.rawValue), "the offices do not write in name order, or this tests nothing")
    // Times that say the newest files are the oldest: the buffer sorts it out.
    let files = try FileManager.default.subpathsOfDirectory(atPath: folder.url.appendingPathComponent("changesets").path)
      .filter { $0.hasSuffix(".changeset") }.sorted()
    let start = Date(timeIntervalSince1970: 1_800_000_000)
    for (index, path) in files.enumerated() {
      let url = folder.url.appendingPathComponent("changesets").appendingPathComponent(path)
      let sequence = Int(url.deletingPathExtension().lastPathComponent)!
      try FileManager.default.setAttributes([.modificationDate: start.addingTimeInterval(Double(1_000 - sequence * 10 - index % 7))], ofItemAtPath: url.path)
    }
    let (late, lateReport) = try Store.joinWithTestKey(folder: folder, at: root.path("innlandet"), replica: "innlandet")
    XCTAssertGreaterThan(lateReport.buffered, 0)
    XCTAssertTrue(lateReport.waiting.isEmpty)
    try stores["ks"]!.sync(with: folder)
    XCTAssertEqual(try late.snapshotHash().1, try stores["ks"]!.snapshotHash().1)
  }

  func testSync_appliedFilesAreNotReadAgain() throws {
    let cooperation = try Cooperation(["ks", "kdd"], shared: true)
    for index in 0..<20 { try cooperation["ks"].transact { try $0.set("cases", "sak-\(index)", "title", .text("Sak \(index)")) } }
    try cooperation.sync("ks")
    XCTAssertEqual(try cooperation.sync("kdd").imported.count, 20)
    // Scramble the applied files but keep their size and time: a sync that
    // read them again would find them corrupt and set them aside.
    let folder = cooperation.folders["ks"]!.changesetsURL(for: "ks")
    for name in try FileManager.default.contentsOfDirectory(atPath: folder.path) {
      let url = folder.appendingPathComponent(name)
      let attributes = try FileManager.default.attributesOfItem(atPath: url.path)
      let size = try Data(contentsOf: url).count
      try Data(repeating: 0x5A, count: size).write(to: url)
      try FileManager.default.setAttributes([.modificationDate: attributes[.modificationDate]!], ofItemAtPath: url.path)
    }
    try cooperation["ks"].transact { try $0.set("cases", "sak-new", "title", .text("Ny")) }
    try cooperation.sync("ks")
    let report = try cooperation.sync("kdd")
    XCTAssertEqual(report.setAside, [])
    XCTAssertEqual(report.imported.map(\.sequence), [21])
  }

  func testSync_syncToolArtifactsAreHarmless() throws {
    let cooperation = try Cooperation(["ks", "vestland"], shared: true)
    try cooperation["ks"].transact { try $0.set("cases", "sak-1", "title", .text("Felles løft")) }
    try cooperation.sync("ks")
    let root = cooperation.folders["ks"]!.url
    let ks = root.appendingPathComponent("changesets/ks")
    let original = try Data(contentsOf: ks.appendingPathComponent("000000000001.changeset"))
    let junk = Data("not a changeset".utf8)
    let artifacts: [(String, Data)] = [
      ("changesets/ks/.syncthing.000000000002.changeset.tmp", junk),
      ("changesets/ks/~syncthing~000000000002.changeset.tmp", junk),
      ("changesets/ks/~$000000000002.changeset", junk),
      ("changesets/ks/.~lock.000000000002.changeset#", junk),
      ("changesets/ks/000000000001.sync-conflict-20261121-101500-ABCDEFG.changeset", original),
      ("changesets/ks/000000000001 (HOST's conflicted copy 2026-11-21).changeset", original),
      ("changesets/ks/000000000001-HOSTNAME.changeset", original),
      ("changesets 2/ks/000000000001.changeset", original),
      ("changesets/ks/desktop.ini", junk),
      ("changesets/.DS_Store", junk),
      ("Thumbs.db", junk),
      ("desktop.ini", junk),
      ("changesets/ks/.DS_Store", junk),
      ("changesets/unknown folder/file.txt", junk),
      ("changesets/ks/empty.changeset", Data()),
    ]
    for (path, bytes) in artifacts {
      let url = root.appendingPathComponent(path)
      try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
      try bytes.write(to: url)
    }
    try FileManager.default.createDirectory(at: root.appendingPathComponent("changesets/ks/subfolder"), withIntermediateDirectories: true)
    let report = try cooperation.sync("vestland")
    XCTAssertEqual(report.imported, [Changeset.ID(author: "ks", sequence: 1)])
    XCTAssertEqual(report.setAside, [])
    XCTAssertEqual(report.collisions, [])
    XCTAssertEqual(report.harmlessCopies, 3)
    XCTAssertGreaterThanOrEqual(report.ignored, 8)
    XCTAssertEqual(try cooperation["vestland"].record("cases", "sak-1")?.fields["title"], .value(.text("Felles løft")))
    // The owner sees its own conflict copies as harmless too, and keeps publishing.
    let own = try cooperation.sync("ks")
    XCTAssertEqual(own.collisions, [])
    XCTAssertNil(own.publishingBlocked)
    // A conflict copy that is not a good changeset is reported.
    try junk.write(to: ks.appendingPathComponent("000000000001 (other's conflicted copy).changeset"))
    let bad = try cooperation.sync("vestland")
    XCTAssertEqual(bad.setAside.map(\.path), ["changesets/ks/000000000001 (other's conflicted copy).changeset"])
    XCTAssertTrue(bad.setAside[0].reason.contains("conflict copy"), bad.setAside[0].reason)
  }

  func testSync_badFilesAreSetAsideAndRetried() throws {
    let cooperation = try Cooperation(["ks", "vestland"], shared: true)
    for index in 1...8 { try cooperation["ks"].transact { try $0.set("cases", "sak-\(index)", "title", .text("Sak \(index)")) } }
    try cooperation.sync("ks")
    let ks = cooperation.folders["ks"]!.changesetsURL(for: "ks")
    func url(_ sequence: UInt64) -> URL { ks.appendingPathComponent(ChangesetFile.fileName(sequence: sequence)) }
    var originals: [UInt64: Data] = [:]
    for sequence: UInt64 in 3...8 { originals[sequence] = try Data(contentsOf: url(sequence)) }

    // 3: truncated; 4: a flipped bit; 5: a wrong trailing checksum;
    // 6: an unknown format version; 7: sequence does not match the name;
    // 8: another store's changeset.
    try originals[3]!.prefix(originals[3]!.count / 2).write(to: url(3))
    var flipped = originals[4]!
    flipped[flipped.count / 2] ^= 0x10
    try flipped.write(to: url(4))
    var checksum = originals[5]!
    checksum[checksum.count - 1] ^= 0xFF
    try checksum.write(to: url(5))
    var version = originals[6]!
    version[9] = 99
    try version.write(to: url(6))
    try originals[8]!.write(to: url(7))
    let other = TemporaryDirectory("other-store")
    let stranger = try Store.create(
      folder: SharedFolder(other.path("folder")), at: other.path("store"), replica: "ks", schema: .planning)
    for index in 1...8 { try stranger.transact { try $0.set("cases", "x\(index)", "title", .text("x")) } }
    try Data(try stranger.changesetBytes(Changeset.ID(author: "ks", sequence: 8))!).write(to: url(8))

    let report = try cooperation.sync("vestland")
    XCTAssertEqual(report.imported.map(\.sequence), [1, 2])
    let reasons = Dictionary(uniqueKeysWithValues: report.setAside.map { ($0.path, $0.reason) })
    XCTAssertEqual(reasons.count, 6, "\(reasons)")
    func reason(_ sequence: UInt64) -> String { reasons["changesets/ks/\(ChangesetFile.fileName(sequence: sequence))"] ?? "" }
    XCTAssertTrue(reason(3).contains("checksum"), reason(3))
    XCTAssertTrue(reason(4).contains("checksum"), reason(4))
    XCTAssertTrue(reason(5).contains("checksum"), reason(5))
    XCTAssertTrue(reason(6).contains("format version 99"), reason(6))
    XCTAssertTrue(reason(7).contains("the name says ks#7, the file's header says ks#8"), reason(7))
    XCTAssertTrue(reason(8).contains("another store"), reason(8))
    XCTAssertEqual(try cooperation["vestland"].setAsideFiles().count, 6)

    // Status-wise the rest keeps flowing: a new good changeset from another office applies.
    try cooperation["vestland"].transact { try $0.set("cases", "v-1", "title", .text("Vestland")) }
    try cooperation.sync("vestland")

    // The sync tool finishes its work: the files are good now and are retried.
    for sequence: UInt64 in 3...8 { try originals[sequence]!.write(to: url(sequence)) }
    let retried = try cooperation.sync("vestland")
    XCTAssertEqual(retried.imported.map(\.sequence), [3, 4, 5, 6, 7, 8])
    XCTAssertEqual(retried.setAside, [])
    XCTAssertEqual(try cooperation["vestland"].setAsideFiles(), [])
    try cooperation.sync("ks")
    XCTAssertEqual(try cooperation["ks"].snapshot(), try cooperation["vestland"].snapshot())
  }

  func testSync_slugCollisionStopsPublishing() throws {
    let root = TemporaryDirectory("collision")
    let folder = SharedFolder(root.path("shared"))
    let first = try Store.create(folder: folder, at: root.path("vestland-a"), replica: "vestland", schema: .planning)
    try first.transact { try $0.set("cases", "sak-1", "title", .text("Fra maskin A")) }
    try first.sync(with: folder)
    // A second installation as vestland (its key restored from the first's
    // backup), joined before the first published more.
    let second = try Store.join(
      folder: folder, at: root.path("vestland-b"), replica: "vestland", key: try first.exportSigningKey()).0
    try first.transact { try $0.set("cases", "sak-2", "title", .text("A igjen")) }
    try second.transact { try $0.set("cases", "sak-3", "title", .text("Fra maskin B")) }
    try first.sync(with: folder)  // writes vestland #2
    let fileA = try Data(contentsOf: folder.changesetURL(Changeset.ID(author: "vestland", sequence: 2)))
    let report = try second.sync(with: folder)
    XCTAssertEqual(report.collisions.count, 1, "\(report)")
    let collision = try XCTUnwrap(report.collisions.first)
    XCTAssertEqual(collision.changeset, Changeset.ID(author: "vestland", sequence: 2))
    XCTAssertNotEqual(collision.knownHash, collision.otherHash)
    XCTAssertEqual(collision.knownHash.count, 64)
    XCTAssertEqual(collision.otherHash.count, 64)
    XCTAssertNotNil(report.publishingBlocked)
    XCTAssertEqual(report.published, [])
    // B wrote nothing over A's file, and merged nothing of it silently.
    XCTAssertEqual(try Data(contentsOf: folder.changesetURL(Changeset.ID(author: "vestland", sequence: 2))), fileA)
    XCTAssertNil(try second.record("cases", "sak-2"))
    try second.transact { try $0.set("cases", "sak-4", "title", .text("Venter")) }
    let blocked = try second.sync(with: folder)
    XCTAssertNotNil(blocked.publishingBlocked)
    XCTAssertEqual(blocked.published, [])
    XCTAssertEqual(try second.collisions().count, 1)
    XCTAssertFalse(FileManager.default.fileExists(atPath: folder.changesetURL(Changeset.ID(author: "vestland", sequence: 3)).path))
  }

  func testSync_collisionOverwrittenOnSMBIsDetectedByTheOther() throws {
    let root = TemporaryDirectory("collision-smb")
    let folder = SharedFolder(root.path("shared"))
    let first = try Store.create(folder: folder, at: root.path("vestland-a"), replica: "vestland", schema: .planning)
    try first.transact { try $0.set("cases", "sak-1", "title", .text("A")) }
    try first.sync(with: folder)
    let other = TemporaryDirectory("collision-other")
    let second = try Store.join(folder: folder, at: other.path("b"), replica: "vestland", key: try first.exportSigningKey()).0
    try second.transact { try $0.set("cases", "sak-2", "title", .text("B")) }
    try first.transact { try $0.set("cases", "sak-3", "title", .text("A2")) }
    try second.sync(with: folder)
    // A's copy of #2 lands over B's (as a rename on an SMB share would).
    let bytesA = try XCTUnwrap(try first.changesetBytes(Changeset.ID(author: "vestland", sequence: 2)))
    try Data(bytesA).write(to: folder.changesetURL(Changeset.ID(author: "vestland", sequence: 2)))
    let report = try second.sync(with: folder)
    XCTAssertEqual(report.collisions.map(\.changeset), [Changeset.ID(author: "vestland", sequence: 2)])
    XCTAssertNotNil(report.publishingBlocked)
    // A third office sees a changeset it already applied change under the
    // same name (replaced by a rename, as a sync tool or an SMB client
    // does; a file rewritten in place is seen by the author's own
    // installations at once, by others at their daily full listing), and reports it.
    let third = TemporaryDirectory("collision-third")
    let ks = try Store.join(folder: folder, at: third.path("ks"), replica: "ks").0
    try Data(try second.changesetBytes(Changeset.ID(author: "vestland", sequence: 2))!).write(
      to: folder.changesetURL(Changeset.ID(author: "vestland", sequence: 2)), options: .atomic)
    let seen = try ks.sync(with: folder)
    XCTAssertEqual(seen.collisions.map(\.changeset), [Changeset.ID(author: "vestland", sequence: 2)])
    XCTAssertNil(seen.publishingBlocked, "ks itself is not colliding")
  }

  func testSync_recoveryOnNewMachineContinuesSequence() throws {
    let cooperation = try Cooperation(["ks", "vestland"], shared: true)
    for index in 1...3 { try cooperation["vestland"].transact { try $0.set("cases", "v-\(index)", "title", .text("V\(index)")) } }
    try cooperation["ks"].transact { try $0.set("cases", "k-1", "title", .text("K1")) }
    try cooperation.syncAll()
    let before = try cooperation["vestland"].snapshot()
    // The machine is lost; vestland is installed again against the same
    // folder, with its key restored from the backup.
    let backup = try cooperation["vestland"].exportSigningKey()
    let fresh = TemporaryDirectory("reinstall")
    let (recovered, report) = try Store.join(
      folder: cooperation.folders["vestland"]!, at: fresh.path("store"), replica: "vestland", key: backup)
    XCTAssertEqual(report.collisions, [])
    XCTAssertEqual(try recovered.frontier()["vestland"], 3)
    XCTAssertEqual(try recovered.snapshot().bytes, before.bytes)
    let next = try XCTUnwrap(try recovered.transact { try $0.set("cases", "v-4", "title", .text("V4")) })
    XCTAssertEqual(next.sequence, 4)
    let published = try recovered.sync(with: cooperation.folders["vestland"]!)
    XCTAssertEqual(published.published, [next.id])
    XCTAssertEqual(published.republished, [])
    XCTAssertEqual(published.collisions, [])
  }

  func testSync_wipedFolderIsRefilledByTheOffices() throws {
    let cooperation = try Cooperation(["ks", "kdd", "vestland"], shared: true)
    try cooperation["ks"].transact { try $0.set("projects", "p1", "name", .text("Veilederkorpset")) }
    try cooperation["kdd"].transact { try $0.put("projects", "p1", "funding", key: "kdd", .integer(500_000)) }
    try cooperation["vestland"].transact { try $0.add("projects", "p1", "participants", "vestland") }
    try cooperation.syncAll()
    try cooperation.syncAll()
    let expected = try cooperation["ks"].snapshot()
    let folder = cooperation.folders["ks"]!
    try FileManager.default.removeItem(at: folder.url)
    try FileManager.default.createDirectory(at: folder.url, withIntermediateDirectories: true)

    var republished = 0
    for office in cooperation.offices { republished += try cooperation.sync(office).republished.count }
    XCTAssertEqual(republished, 3)
    XCTAssertNoThrow(try folder.identity())
    let fresh = TemporaryDirectory("fresh")
    let (rebuilt, _) = try Store.join(folder: folder, at: fresh.path("store"), replica: "agder")
    XCTAssertEqual(try rebuilt.snapshot().bytes, expected.bytes)
    XCTAssertEqual(try folder.snapshot().bytes, expected.bytes)
  }

  func testSync_wrongFolderIsRefused() throws {
    let cooperation = try Cooperation(["ks"], shared: true)
    let other = TemporaryDirectory("other")
    let otherFolder = SharedFolder(other.path("folder"))
    _ = try Store.create(folder: otherFolder, at: other.path("store"), replica: "kdd", schema: .planning)
    XCTAssertThrowsError(try cooperation["ks"].sync(with: otherFolder)) { error in
      XCTAssertTrue(SamhandError.wrongStore ~= error, "\(error)")
    }
  }

  func testSync_unmountedFolderIsAnErrorAndCreatesNothing() throws {
    let cooperation = try Cooperation(["ks"], shared: true)
    try cooperation["ks"].transact { try $0.set("cases", "sak-1", "title", .text("x")) }
    let gone = SharedFolder(cooperation.root.path("not-mounted"))
    XCTAssertThrowsError(try cooperation["ks"].sync(with: gone)) { error in
      XCTAssertTrue(SamhandError.io ~= error, "\(error)")
      XCTAssertTrue("\(error)".contains("not there"), "\(error)")
    }
    XCTAssertFalse(FileManager.default.fileExists(atPath: gone.url.path))
    XCTAssertEqual(try cooperation["ks"].outbox().count, 1, "the write waits for the next sync")
  }

  func testVerify_flagsOfficesAtOneFrontierWithDifferentSnapshots() throws {
    let cooperation = try Cooperation(["ks", "vestland"], shared: true)
    try cooperation["ks"].transact { try $0.set("cases", "sak-1", "title", .text("x")) }
    try cooperation.syncAll()
    try cooperation.syncAll()
    let folder = cooperation.folders["ks"]!
    XCTAssertEqual(SharedFolder.divergentHeads(folder.heads().heads), [])
    // vestland's head claims the same frontier with another snapshot hash.
    let ks = try XCTUnwrap(folder.heads().heads.first { $0.office == "ks" })
    // (Signed with vestland's key, so counted: a real divergence, as a bug
    // in one office's Samhand would make, not a forgery.)
    let forged = Head(
      office: "vestland", frontier: ks.frontier, snapshotHash: String(repeating: "0", count: 64), timestamp: ks.timestamp + 1
    ).signed(by: TestKeys.key("vestland"))
    try Data(forged.canonicalJSON).write(to: folder.headURL(for: "vestland"))
    let groups = SharedFolder.divergentHeads(folder.heads().heads)
    XCTAssertEqual(groups.map { $0.map(\.office) }, [["ks", "vestland"]])
    let problems = folder.verify().problems
    XCTAssertTrue(problems.contains { $0.reason.contains("different snapshots") }, "\(problems)")
  }

  func testVerify_reportsProblemsAndChangesNothing() throws {
    let cooperation = try Cooperation(["ks", "vestland"], shared: true)
    try cooperation["ks"].transact { try $0.set("cases", "sak-1", "title", .text("x")) }
    try cooperation["ks"].transact { try $0.set("cases", "sak-2", "title", .text("y")) }
    try cooperation.syncAll()
    let folder = cooperation.folders["ks"]!
    XCTAssertEqual(folder.verify().problems, [])
    XCTAssertEqual(folder.verify().changesets, 2)
    let first = folder.changesetURL(Changeset.ID(author: "ks", sequence: 1))
    try Data([1, 2, 3]).write(to: first)
    let before = FolderCopier.files(under: folder.url)
    let result = folder.verify()
    XCTAssertEqual(FolderCopier.files(under: folder.url), before)
    XCTAssertTrue(result.problems.contains { $0.path == "changesets/ks/000000000001.changeset" }, "\(result.problems)")
    XCTAssertTrue(result.problems.contains { $0.reason.contains("missing from the sequence") }, "\(result.problems)")
  }
}
