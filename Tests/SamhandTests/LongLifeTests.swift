import Crypto
import Foundation
import GRDB
import Samhand
import SamhandTestSupport
import XCTest

/// Three offices sharing one folder under a roster of just them, so that
/// every active office writes and tombstones can become stable.
final class LongLifeCooperation {
  let root: TemporaryDirectory
  let folder: SharedFolder
  var stores: [ReplicaID: Store] = [:]
  let offices: [ReplicaID]
  static let day: TimeInterval = 86_400

  init(_ offices: [ReplicaID] = ["ks", "vestland", "agder"], label: String = "long-life") throws {
    root = TemporaryDirectory(label)
    folder = SharedFolder(root.path("shared"))
    self.offices = offices
    // Every key listed in the genesis roster: nothing waits for a confirmation.
    let roster = Roster(
      offices.map {
        Roster.Member(
          office: $0, name: $0.rawValue, kind: $0 == "ks" ? "ks" : "fylkeskommune", isAdministrator: $0 == offices[0],
          keys: [TestKeys.key($0).publicKey])
      })
    stores[offices[0]] = try Store.create(
      folder: folder, at: root.path(offices[0].rawValue), replica: offices[0], schema: .planning, roster: roster,
      key: TestKeys.key(offices[0]))
    for office in offices.dropFirst() {
      stores[office] = try Store.joinWithTestKey(folder: folder, at: root.path(office.rawValue), replica: office).0
    }
  }

  subscript(office: ReplicaID) -> Store { stores[office]! }

  /// Every office syncs, twice over, so that every head has seen everything.
  func settle() throws {
    for _ in 0..<2 { for office in offices { try self[office].sync(with: folder) } }
  }

  /// Changeset files in the folder, as paths relative to it.
  func changesetFiles() -> [String] {
    let base = folder.url.appendingPathComponent("changesets")
    var paths: [String] = []
    for office in (try? FileManager.default.contentsOfDirectory(atPath: base.path)) ?? [] {
      for name in (try? FileManager.default.contentsOfDirectory(atPath: base.appendingPathComponent(office).path)) ?? [] {
        paths.append("\(office)/\(name)")
      }
    }
    return paths.sorted()
  }

  /// Some work: cases created, edited concurrently, one deleted; dated `daysAgo` days back.
  func work(round: Int, daysAgo: Double = 0) throws {
    let time = Int64((Date().timeIntervalSince1970 - daysAgo * LongLifeCooperation.day) * 1000)
    for (index, office) in offices.enumerated() {
      try self[office].transact(timestamp: time + Int64(index)) { tx in
        try tx.set("cases", "sak-\(round)-\(office)", "title", .text("Sak \(round) fra \(office)"))
        try tx.set("cases", "sak-\(round)-\(office)", "owner", .text(office.rawValue))
        try tx.add("cases", "sak-\(round)-\(office)", "participants", office.rawValue)
        try tx.set("cases", "felles", "status", .text("runde \(round) \(office)"))
      }
    }
    if round > 0 {
      try self[offices[0]].transact(timestamp: time + 10) { tx in try tx.delete("cases", "sak-\(round - 1)-\(offices[0])") }
    }
  }
}

final class LongLifeTests: XCTestCase {
  func testCheckpoint_isTheSameBytesWhoeverWritesItAndRoundTrips() throws {
    let co = try LongLifeCooperation(label: "checkpoint-identical")
    for round in 0..<3 {
      try co.work(round: round)
      try co.settle()
    }
    let stable = try co["ks"].stability(in: co.folder).frontier
    XCTAssertEqual(stable, try co["ks"].frontier(), "every office has applied everything")
    let fromKS = try co["ks"].makeCheckpoint(at: stable)
    let fromVestland = try co["vestland"].makeCheckpoint(at: stable)
    XCTAssertEqual(fromKS.bytes, fromVestland.bytes)
    XCTAssertEqual(fromKS.snapshotHash, try co["ks"].snapshotHash().1)
    let decoded = try Checkpoint(bytes: fromKS.bytes)
    XCTAssertEqual(decoded, fromKS)
    XCTAssertEqual(decoded.bytes, fromKS.bytes)

    // A checkpoint at an earlier frontier, while the writer has moved on.
    try co["ks"].transact { tx in try tx.set("cases", "felles", "status", .text("senere")) }
    let again = try co["ks"].makeCheckpoint(at: stable)
    XCTAssertEqual(again.bytes, fromKS.bytes)
  }

  func testCheckpoint_builtFromAnEarlierOneEqualsOneBuiltFromNothing() throws {
    let co = try LongLifeCooperation(label: "checkpoint-chain")
    try co["ks"].setCheckpointInterval(0)
    try co.work(round: 0)
    try co.settle()
    _ = try co["ks"].writeCheckpoint(to: co.folder)
    for round in 1..<4 {
      try co.work(round: round)
      try co.settle()
    }
    let stable = try co["ks"].stability(in: co.folder).frontier
    let chained = try co["ks"].makeCheckpoint(at: stable)  // from the one ks keeps
    let fresh = try co["vestland"].makeCheckpoint(at: stable)  // vestland never wrote one
    XCTAssertEqual(chained.bytes, fresh.bytes)
  }

  func testJoin_startsFromTheNewestCheckpointAndConverges() throws {
    let co = try LongLifeCooperation(["ks", "vestland", "agder", "nordland"], label: "join-checkpoint")
    let late: ReplicaID = "nordland"
    // Nordland claims its key at once, then waits years.
    try co[late].transact { tx in try tx.set("cases", "nordland-start", "title", .text("Første sak")) }
    for round in 0..<4 {
      try co.work(round: round)
      try co.settle()
    }
    let written = try co["ks"].writeCheckpoint(to: co.folder)
    try co.work(round: 4)
    for office in co.offices { try co[office].sync(with: co.folder) }

    // Agder on a new machine: it starts from the checkpoint and reads only the files after it.
    let joiner = try Store.join(folder: co.folder, at: co.root.path("agder-new"), replica: "agder")
    XCTAssertEqual(joiner.1.adoptedCheckpoint?.name, written.fileName)
    XCTAssertEqual(try joiner.0.checkpointBase()?.frontier, written.frontier)
    let after = co.changesetFiles().filter { path in
      let parts = path.split(separator: "/")
      return UInt64(parts[1].prefix(12))! > written.frontier[ReplicaID(rawValue: String(parts[0]))!]
    }
    XCTAssertEqual(joiner.1.imported.count, after.count, "only the changesets after the checkpoint are applied")
    XCTAssertGreaterThan(after.count, 0)
    try co.settle()
    XCTAssertEqual(try joiner.0.frontier(), try co["ks"].frontier())
    XCTAssertEqual(try joiner.0.snapshot().bytes, try co["ks"].snapshot().bytes)
    XCTAssertEqual(try joiner.0.snapshotHash().1, try co["ks"].snapshotHash().1)
  }

  func testTombstones_arePurgedOnceEveryOfficeHasSeenTheDelete() throws {
    let co = try LongLifeCooperation(label: "tombstones")
    try co.work(round: 0)
    try co.settle()
    try co["ks"].transact { tx in try tx.delete("cases", "sak-0-vestland") }
    try co.settle()
    // Tombstones carry a flag in their row of the `records` table (`Docs/STORAGE.md`).
    func tombstones(_ store: Store, _ id: String) throws -> Int {
      let queue = try DatabaseQueue(path: store.directory.appendingPathComponent(Store.databaseFileName).path)
      defer { try? queue.close() }
      return try queue.read { db in
        try Int.fetchOne(
          db, sql: "SELECT count(*) FROM records WHERE collection = 'cases' AND record = ? AND flags & 1", arguments: [id])!
      }
    }
    XCTAssertEqual(try tombstones(co["vestland"], "sak-0-vestland"), 1, "the delete is kept until every office has seen it")
    // Every office has written after seeing the delete only once all wrote again.
    let before = try co["vestland"].snapshot()
    try co.work(round: 1)
    try co.settle()
    XCTAssertEqual(try tombstones(co["vestland"], "sak-0-vestland"), 0, "the tombstone is purged")
    XCTAssertNil(try co["vestland"].record("cases", "sak-0-vestland"))
    XCTAssertNotNil(before.records["cases"])
    // Purging changed no snapshot: all offices still agree.
    let hashes = try Set(co.offices.map { try co[$0].snapshotHash().1 })
    XCTAssertEqual(hashes.count, 1)
    XCTAssertEqual(try co["ks"].snapshot().sha256, try co["ks"].snapshotHash().1)
    // The record can be made again.
    try co["ks"].transact { tx in try tx.set("cases", "sak-0-vestland", "title", .text("Ny")) }
    try co.settle()
    XCTAssertEqual(try co["ks"].record("cases", "sak-0-vestland")?.fields["title"], .value(.text("Ny")))
  }

  func testForgetHistory_keepsTheStateAndWhatCheckpointsNeed() throws {
    let co = try LongLifeCooperation(label: "forget-history")
    for office in co.offices { try co[office].setCheckpointInterval(0) }
    for round in 0..<3 {
      try co.work(round: round)
      try co.settle()
    }
    // An open conflict, whose siblings show when they were written.
    try co["ks"].transact { tx in try tx.set("cases", "felles", "notes", .text("fra ks")) }
    try co["vestland"].transact { tx in try tx.set("cases", "felles", "notes", .text("fra vestland")) }
    try co.settle()
    XCTAssertFalse(try co["ks"].conflicts().isEmpty)
    let checkpoint = try co["ks"].writeCheckpoint(to: co.folder)
    let before = try co["ks"].snapshot()
    let historyBefore = try co["ks"].history().count

    let (forgotten, name) = try co["ks"].forgetHistory()
    XCTAssertEqual(name, checkpoint.fileName)
    XCTAssertEqual(forgotten, Int(checkpoint.frontier.total))
    XCTAssertEqual(try co["ks"].history().count, historyBefore - forgotten)
    XCTAssertEqual(try co["ks"].snapshot().bytes, before.bytes, "the state, conflict times too, is unchanged")
    XCTAssertEqual(try co["ks"].checkpointBase()?.frontier, checkpoint.frontier)
    XCTAssertThrowsError(try co["ks"].snapshot(asOf: Date().addingTimeInterval(-3600)))

    // It goes on syncing, and its next checkpoint is the same bytes as one
    // from an office that kept everything.
    try co.work(round: 3)
    try co.settle()
    XCTAssertEqual(co.changesetFiles().count, Int(try co["ks"].frontier().total), "nothing was published again or lost")
    let stable = try co["ks"].stability(in: co.folder).frontier
    XCTAssertEqual(try co["ks"].makeCheckpoint(at: stable).bytes, try co["vestland"].makeCheckpoint(at: stable).bytes)
    XCTAssertEqual(Set(try co.offices.map { try co[$0].snapshotHash().1 }).count, 1)
  }

  func testCheckpointsNoOneOfWhichIncludesTheOthers_areJoinedByTheNextSync() throws {
    let co = try LongLifeCooperation(label: "checkpoint-join")
    try co.work(round: 0)
    try co.settle()
    // Apart, as during a partition: each writes, and checkpoints what it has.
    try co["ks"].transact { tx in try tx.set("cases", "felles", "notes", .text("fra ks")) }
    try co["vestland"].transact { tx in try tx.set("cases", "sak-0-vestland", "notes", .text("fra vestland")) }
    try co["ks"].sync(with: co.folder)
    let fromKS = try co["ks"].writeCheckpoint(to: co.folder, at: try co["ks"].frontier())
    let fromVestland = try co["vestland"].writeCheckpoint(to: co.folder, at: try co["vestland"].frontier())
    XCTAssertTrue(fromKS.frontier.isConcurrent(with: fromVestland.frontier))
    // Vestland's sync brings it KS's changeset: it holds both, and writes
    // one that includes them, due or not.
    let report = try co["vestland"].sync(with: co.folder)
    XCTAssertNil(report.maintenanceProblem)
    let joined = try XCTUnwrap(report.wroteCheckpoint)
    let written = try XCTUnwrap(co.folder.checkpoints().first { $0.name == joined && $0.office == "vestland" })
    let header = try Checkpoint.header(of: [UInt8](try Data(contentsOf: written.url)))
    XCTAssertTrue(fromKS.frontier.isIncluded(in: header.frontier) && fromVestland.frontier.isIncluded(in: header.frontier))
    // Once one includes them all, nothing more is written until one is due.
    XCTAssertNil(try co["agder"].sync(with: co.folder).wroteCheckpoint)
    XCTAssertNil(try co["ks"].sync(with: co.folder).wroteCheckpoint)
  }

  // MARK: - Pruning

  func testPrune_deletesOwnFilesCoveredByAnAcknowledgedCheckpointOnceOldEnough() throws {
    let co = try LongLifeCooperation(["ks", "vestland", "agder", "nordland"], label: "prune")
    let offices: [ReplicaID] = ["ks", "vestland", "agder"]
    for office in co.offices { try co[office].setCheckpointInterval(0) }
    try co[ "nordland"].transact { tx in try tx.set("cases", "nordland-start", "title", .text("Første sak")) }
    for round in 0..<3 {
      try co.work(round: round, daysAgo: 60)
      try co.settle()
    }
    let checkpoint = try co["ks"].writeCheckpoint(to: co.folder)
    XCTAssertEqual(try co["vestland"].prune(co.folder).removed, [], "signed by ks alone, it is not used yet")
    XCTAssertEqual(try co["vestland"].cosignNewestCheckpoint(in: co.folder), checkpoint.fileName)
    try co.work(round: 3)  // today: inside the retention
    try co.settle()
    let before = co.changesetFiles()

    // Keep everything (the default): nothing goes.
    let kept = try co["ks"].prune(co.folder)
    XCTAssertEqual(kept.removed, [])
    XCTAssertTrue(kept.blocked?.contains("keep everything") == true, kept.blocked ?? "")
    XCTAssertEqual(co.changesetFiles(), before)

    for office in co.offices { try co[office].setRetention(.days(30)) }
    XCTAssertEqual(try co["ks"].retention(), .days(30))
    let dry = try co["vestland"].prune(co.folder, dryRun: true)
    XCTAssertFalse(dry.removed.isEmpty)
    XCTAssertEqual(co.changesetFiles(), before, "a dry run deletes nothing")
    for office in co.offices {
      let report = try co[office].prune(co.folder)
      XCTAssertEqual(report.checkpoint, "checkpoints/ks/\(checkpoint.fileName)")
      XCTAssertTrue(report.removed.allSatisfy { $0.hasPrefix("changesets/\(office.rawValue)/") }, "only its own files")
    }
    let after = co.changesetFiles()
    // What stays: the changesets after the checkpoint, and those inside the retention.
    for path in after {
      let parts = path.split(separator: "/")
      let office = ReplicaID(rawValue: String(parts[0]))!
      let sequence = UInt64(parts[1].prefix(12))!
      let made = try XCTUnwrap(try co[office].history().first { $0.changeset == Changeset.ID(author: office, sequence: sequence) })
      let recent = made.timestamp > Int64(Date().timeIntervalSince1970 * 1000) - 30 * 86_400_000
      XCTAssertTrue(sequence > checkpoint.frontier[office] || recent, path)
    }
    XCTAssertLessThan(after.count, before.count)
    for office in offices { XCTAssertFalse(after.contains("\(office.rawValue)/000000000001.changeset")) }

    // Syncing does not write the pruned files again, and everyone still agrees.
    try co.settle()
    XCTAssertEqual(co.changesetFiles(), after)
    XCTAssertEqual(Set(try co.offices.map { try co[$0].snapshotHash().1 }).count, 1)
    // The local stores keep their whole history.
    XCTAssertEqual(try co["ks"].history().count, Int(try co["ks"].frontier().total))

    // A new machine starts from the checkpoint and the files after it
    // (with the office's key, restored from its backup: a key the roster
    // does not list would not sign a head the others count).
    let (fresh, report) = try Store.join(folder: co.folder, at: co.root.path("agder-new"), replica: "agder", key: TestKeys.key("agder"))
    XCTAssertEqual(report.adoptedCheckpoint?.name, checkpoint.fileName)
    XCTAssertEqual(try fresh.snapshotHash().1, try co["agder"].snapshotHash().1)
    XCTAssertEqual(co.folder.verify().problems, [])
  }

  func testPrune_inAFolderOfLayout2_waitsForTheUpgrade() throws {
    let directory = TemporaryDirectory("prune-layout-2")
    let fixture = fixturesDirectory().appendingPathComponent("stores/format-3")
    try FileManager.default.copyItem(at: fixture, to: directory.path("fixture"))
    let folder = SharedFolder(directory.path("fixture/folder"))
    let ks = try Store.open(at: directory.path("fixture/ks"))
    try ks.setRetention(.days(0))
    _ = try ks.writeCheckpoint(to: folder)
    let blocked = try ks.prune(folder)
    XCTAssertEqual(blocked.removed, [])
    XCTAssertTrue(blocked.blocked?.contains("layout 2") == true, blocked.blocked ?? "")
    XCTAssertEqual(try folder.upgradeLayout(), 2)
    // A roster of format 1 (claims on first use) keeps the folder at layout
    // 3: layout 4 needs a new genesis roster, which only a new folder has.
    XCTAssertEqual(try folder.identity().formatVersion, 3)
    XCTAssertEqual(try folder.upgradeLayout(), 3, "upgrading twice changes nothing")
    // Now a sync prunes as the retention says (0 days: it waits for no one).
    let vestland = try Store.open(at: directory.path("fixture/vestland"))
    try vestland.sync(with: folder)
    let synced = try ks.sync(with: folder)
    XCTAssertEqual(synced.maintenanceProblem, nil)
    XCTAssertTrue(synced.pruned.contains("changesets/ks/000000000001.changeset"), "\(synced.pruned)")
    XCTAssertFalse(FileManager.default.fileExists(atPath: folder.changesetURL(Changeset.ID(author: "ks", sequence: 1)).path))
    try vestland.sync(with: folder)
    XCTAssertEqual(try vestland.snapshotHash().1, try ks.snapshotHash().1)
  }

  // MARK: - Coming back after the retention

  func testOldReplica_comingBackAfterItsBaseWasPruned_catchesUpAndKeepsItsOfflineWrites() throws {
    let co = try LongLifeCooperation(["ks", "vestland", "agder", "nordland"], label: "come-back")
    let away: ReplicaID = "nordland"
    for office in co.offices {
      try co[office].setCheckpointInterval(0)
      try co[office].setRetention(.days(30))
    }
    try co[away].transact { tx in try tx.set("cases", "nordland-start", "title", .text("Første sak")) }
    try co.work(round: 0, daysAgo: 90)
    try co.settle()
    // Nordland goes offline for months, and writes there.
    try co[away].transact { tx in
      try tx.set("cases", "nordland-offline", "title", .text("Skrevet uten nett"))
      try tx.set("cases", "nordland-offline", "owner", .text("nordland"))
    }
    try co[away].transact { tx in try tx.set("cases", "felles", "status", .text("fra nordland")) }
    // The others go on for 60 days: its head, last written then, no longer
    // holds them back. (Heads are signed and never go back in time, so the
    // others' clock moves on, rather than its head being made older.)
    let later = Date().addingTimeInterval(60 * LongLifeCooperation.day)
    let others: [ReplicaID] = ["ks", "vestland", "agder"]
    for round in 1..<4 {
      try co.work(round: round, daysAgo: 60)
      for _ in 0..<2 { for office in others { try co[office].sync(with: co.folder, now: later) } }
    }
    let stability = try co["ks"].stability(in: co.folder, now: later)
    XCTAssertEqual(stability.stale, [away])
    let checkpoint = try co["ks"].writeCheckpoint(to: co.folder, at: stability.frontier)
    XCTAssertEqual(try co["vestland"].cosignNewestCheckpoint(in: co.folder, now: later), checkpoint.fileName)
    for office in others { _ = try co[office].prune(co.folder, now: later) }
    XCTAssertFalse(
      FileManager.default.fileExists(atPath: co.folder.changesetURL(Changeset.ID(author: "ks", sequence: 2)).path),
      "nordland's next changeset from ks is gone")

    // Offline all along: everything it wrote since round 0 is unpublished.
    let offline = try co[away].outbox()
    XCTAssertGreaterThanOrEqual(offline.count, 2)
    let report = try co[away].sync(with: co.folder)
    XCTAssertEqual(report.adoptedCheckpoint?.name, checkpoint.fileName)
    XCTAssertEqual(Set(report.adoptedCheckpoint?.reapplied ?? []), Set(offline), "its offline writes are applied again")
    XCTAssertEqual(Set(report.published), Set(offline), "and published")
    XCTAssertEqual(report.waiting, [])
    XCTAssertEqual(try co[away].record("cases", "nordland-offline")?.fields["title"], .value(.text("Skrevet uten nett")))
    for _ in 0..<2 { for office in co.offices { try co[office].sync(with: co.folder, now: later) } }
    XCTAssertEqual(Set(try co.offices.map { try co[$0].frontier() }).count, 1)
    XCTAssertEqual(Set(try co.offices.map { try co[$0].snapshotHash().1 }).count, 1)
    XCTAssertEqual(try co["ks"].record("cases", "nordland-offline")?.fields["title"], .value(.text("Skrevet uten nett")))
    // Its history from before it left is still there; the gap is not.
    XCTAssertNotNil(try co[away].checkpointBase())
    XCTAssertThrowsError(try co[away].snapshot(asOf: Date().addingTimeInterval(-100 * LongLifeCooperation.day))) { error in
      guard let error = error as? SamhandError else { return XCTFail("\(error)") }
      XCTAssertEqual(error.code, .notFound)
      XCTAssertTrue(error.message.contains("before the history this replica holds"), error.message)
    }
  }

  // MARK: - Bad and newer checkpoints

  func testJoin_passesOverCheckpointsThatDoNotVerify() throws {
    let co = try LongLifeCooperation(label: "bad-checkpoints")
    try co["ks"].setCheckpointInterval(0)
    // A roster change for the checkpoint to carry (and a forger to alter).
    try co["vestland"].rotateKey()
    try co.work(round: 0)
    try co.settle()
    let good = try co["ks"].writeCheckpoint(to: co.folder)
    try co.work(round: 1)
    try co.settle()
    let newer = try co["ks"].writeCheckpoint(to: co.folder)
    let newerURL = co.folder.url.appendingPathComponent("checkpoints/ks/\(newer.fileName)")
    var bytes = [UInt8](try Data(contentsOf: newerURL))

    // Damaged: the older one is used, and the reason is reported.
    bytes[bytes.count / 2] ^= 0xFF
    try Data(bytes).write(to: newerURL)
    let damaged = try Store.join(folder: co.folder, at: co.root.path("one"), replica: "vestland")
    XCTAssertEqual(damaged.1.adoptedCheckpoint?.name, good.fileName)
    XCTAssertEqual(damaged.1.badCheckpoints.map(\.path), ["checkpoints/ks/\(newer.fileName)"])
    XCTAssertTrue(damaged.1.badCheckpoints[0].reason.contains("checksum"), damaged.1.badCheckpoints[0].reason)
    XCTAssertEqual(try damaged.0.snapshotHash().1, try co["vestland"].snapshotHash().1)

    // A newer format: refused with a message to upgrade, never misread.
    bytes = newer.bytes
    bytes[8] = 0
    bytes[9] = 2
    try Data(bytes).write(to: newerURL)
    let future = try Store.join(folder: co.folder, at: co.root.path("two"), replica: "vestland")
    XCTAssertEqual(future.1.adoptedCheckpoint?.name, good.fileName)
    XCTAssertTrue(future.1.badCheckpoints[0].reason.contains("checkpoint format 2 is newer"), future.1.badCheckpoints[0].reason)

    // Signed by a key the roster does not know: not trusted.
    try Data(newer.bytes).write(to: newerURL)
    let stranger = SigningKey.generate()
    let digest = SHA256Hex.of(newer.bytes)
    let signature = SHA256Hex.hex(stranger.sign(Array("samhand checkpoint 1\nks\n\(digest)\n".utf8)))
    let text = #"{"checkpoint":"\#(digest)","format":1,"key":"\#(stranger.publicKey.hex)","office":"ks","signature":"\#(signature)"}"#
    try Data(text.utf8).write(to: newerURL.deletingPathExtension().appendingPathExtension("signature"))
    let untrusted = try Store.join(folder: co.folder, at: co.root.path("three"), replica: "vestland")
    XCTAssertEqual(untrusted.1.adoptedCheckpoint?.name, good.fileName)
    XCTAssertTrue(untrusted.1.badCheckpoints[0].reason.contains("not one of ks's keys"), untrusted.1.badCheckpoints[0].reason)
    XCTAssertEqual(try untrusted.0.snapshotHash().1, try co["vestland"].snapshotHash().1)

    // A checkpoint whose roster gives KS the stranger's key, signed with it:
    // the roster changes are checked against their signed files.
    var forged = try Checkpoint(bytes: newer.bytes)
    let index = try XCTUnwrap(forged.rows[0].firstIndex { $0[0] == "vestland".databaseValue })
    forged.rows[0][index][3] = Data(
      ChangesetFile.encodeEdits([.put(RecordRef("_roster", "ks"), field: "keys", key: stranger.publicKey.hex, value: .bool(true))])
    ).databaseValue
    let forgedBytes = forged.bytes
    let forgedDigest = SHA256Hex.of(forgedBytes)
    let forgedSignature = SHA256Hex.hex(stranger.sign(Array("samhand checkpoint 1\nks\n\(forgedDigest)\n".utf8)))
    try Data(forgedBytes).write(to: newerURL)
    try Data(#"{"checkpoint":"\#(forgedDigest)","format":1,"key":"\#(stranger.publicKey.hex)","office":"ks","signature":"\#(forgedSignature)"}"#.utf8)
      .write(to: newerURL.deletingPathExtension().appendingPathExtension("signature"))
    let cheated = try Store.join(folder: co.folder, at: co.root.path("four"), replica: "vestland")
    XCTAssertEqual(cheated.1.adoptedCheckpoint?.name, good.fileName)
    XCTAssertTrue(cheated.1.badCheckpoints[0].reason.contains("roster change vestland#1 is not what its signed file says"), cheated.1.badCheckpoints[0].reason)
  }

  func testHandmadeCheckpoints_areRefusedWithTheReason() throws {
    let directory = fixturesDirectory().appendingPathComponent("fuzz-regressions")
    func reason(_ name: String) throws -> String {
      let bytes = [UInt8](try Data(contentsOf: directory.appendingPathComponent(name)))
      do {
        _ = try Checkpoint(bytes: bytes)
        return "decoded"
      } catch let error as SamhandError {
        XCTAssertEqual(error.code, .corruptChangeset, name)
        return error.message
      }
    }
    XCTAssertTrue(try reason("handmade-inflate-claim.checkpoint").contains("more than zlib can expand"))
    XCTAssertTrue(try reason("handmade-huge-row-count.checkpoint").contains("exceeds the remaining data"))
    XCTAssertTrue(try reason("handmade-repeated-slug.checkpoint").contains("invalid or repeated vector entry"))
    XCTAssertTrue(try reason("handmade-zero-counter.checkpoint").contains("invalid or repeated vector entry"))
    XCTAssertThrowsError(try CheckpointSignature(json: [UInt8](try Data(contentsOf: directory.appendingPathComponent("handmade-bad-key.signature"))))) { error in
      XCTAssertTrue((error as? SamhandError)?.message.contains("'key'") == true, "\(error)")
    }
  }

  func testFolderLayoutNewerThanThisSamhand_isRefusedClearly() throws {
    let directory = TemporaryDirectory("layout-newer")
    let folder = SharedFolder(directory.path("folder"))
    _ = try Store.create(folder: folder, at: directory.path("ks"), replica: "ks", schema: .planning)
    let url = folder.url.appendingPathComponent("samhand.json")
    let text = try String(contentsOf: url, encoding: .utf8)
    // A plain folder is made at layout 6; the newest this Samhand reads is 7 (encrypted).
    let made = try folder.identity().formatVersion
    try text.replacingOccurrences(of: #""format":\#(made)"#, with: #""format":\#(SharedFolder.formatVersion + 1)"#)
      .write(to: url, atomically: true, encoding: .utf8)
    XCTAssertThrowsError(try Store.join(folder: folder, at: directory.path("vestland"), replica: "vestland")) { error in
      guard let error = error as? SamhandError else { return XCTFail("\(error)") }
      XCTAssertEqual(error.code, .unsupportedFormat)
      XCTAssertTrue(error.message.contains("layout format \(SharedFolder.formatVersion + 1), newer than this Samhand reads"), error.message)
    }
    XCTAssertFalse(FileManager.default.fileExists(atPath: directory.path("vestland").path), "nothing was created")
  }
}

/// SHA-256 in hex, for writing signature files by hand.
enum SHA256Hex {
  static func of(_ bytes: [UInt8]) -> String { hex(Array(SHA256.hash(data: bytes))) }
  static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
}
