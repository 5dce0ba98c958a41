import Foundation
import Samhand
import SamhandTestSupport
import XCTest

/// Changeset format 2: dependencies written against the author's previous
/// changeset, in folders of layout 5 (`Docs/FORMATS.md`, section 2).
final class CompactDependencyTests: XCTestCase {
  private let root = TemporaryDirectory("compact-deps")

  /// Offices on one shared folder; the first founds it.
  private func offices(_ names: [ReplicaID], layout: Int? = nil) throws -> (SharedFolder, [ReplicaID: Store]) {
    try Store.testOffices(names, in: root, layout: layout)
  }

  /// Six offices that have each written twice and seen one another: their
  /// vectors are long enough that writing them against a base is smaller.
  private let six: [ReplicaID] = ["ks", "vestland", "agder", "rogaland", "nordland", "oslo"]

  private func warmedUp(layout: Int? = nil) throws -> (SharedFolder, [ReplicaID: Store]) {
    let (folder, stores) = try offices(six, layout: layout)
    for round in 1...2 {
      for name in six {
        _ = try write(stores[name]!, "notat \(round) fra \(name)")
        try stores[name]!.sync(with: folder)
      }
    }
    for name in six { try stores[name]!.sync(with: folder) }
    return (folder, stores)
  }

  private func write(_ store: Store, _ note: String) throws -> Changeset {
    try XCTUnwrap(try store.transact { tx in try tx.set("cases", "sak-1", "notes", .text(note)) })
  }

  private func format(_ store: Store, _ id: Changeset.ID) throws -> UInt16 {
    try ChangesetFile.open(try XCTUnwrap(try store.changesetBytes(id))).header.formatVersion
  }

  func testLayout5_writesDependenciesAgainstThePreviousChangeset_smaller_andEveryOfficeReadsThem() throws {
    let names = Office.cooperation.map(\.slug)
    let (folder, stores) = try offices(names)
    XCTAssertEqual(try folder.identity().formatVersion, SharedFolder.plainLayout)
    for _ in 0..<2 {
      for name in names {
        _ = try write(stores[name]!, "notat fra \(name)")
        try stores[name]!.sync(with: folder)
      }
    }
    for name in names { try stores[name]!.sync(with: folder) }
    let vestland = stores["vestland"]!
    let latest = try write(vestland, "vestland igjen")
    try vestland.sync(with: folder)
    let bytes = try XCTUnwrap(try vestland.changesetBytes(latest.id))
    XCTAssertEqual(try ChangesetFile.open(bytes).header.formatVersion, 2)
    XCTAssertEqual(latest.dependencies.sorted.count, 13, "it has seen every office")
    let full = ChangesetFile.encode(latest, signedBy: TestKeys.key("vestland"))
    XCTAssertLessThan(bytes.count + 60, full.count, "written against #\(latest.sequence - 1), the header is smaller")
    for name in names { try stores[name]!.sync(with: folder) }
    let reference = try vestland.snapshot()
    for name in names {
      XCTAssertEqual(try stores[name]!.snapshot().bytes, reference.bytes, "\(name)")
      XCTAssertEqual(try stores[name]!.changeset(latest.id)?.dependencies, latest.dependencies, "\(name) resolved it alike")
      XCTAssertEqual(try stores[name]!.pending(), [])
    }
    XCTAssertEqual(folder.verify().problems, [])
  }

  func testAFileBeforeItsBase_waits_thenResolvesAndWaitsForWhatItNames() throws {
    let (folder, stores) = try warmedUp()
    let ks = stores["ks"]!, vestland = stores["vestland"]!
    let first = try write(vestland, "første")
    try vestland.sync(with: folder)
    let fromKS = try write(ks, "fra KS")
    try ks.sync(with: folder)
    try vestland.sync(with: folder)
    let second = try write(vestland, "andre")
    XCTAssertEqual(try format(vestland, second.id), 2)
    XCTAssertEqual(second.dependencies["ks"], fromKS.sequence)

    // Agder, which has synced nothing since it joined, gets vestland#2
    // first, then vestland#1, then ks's file.
    let agder = stores["agder"]!
    var result = try agder.receive(try XCTUnwrap(try vestland.changesetBytes(second.id)))
    XCTAssertEqual(result.buffered, [second.id], "its base, vestland#1, is not known yet")
    result = try agder.receive(try XCTUnwrap(try vestland.changesetBytes(first.id)))
    XCTAssertEqual(result.applied, [first.id], "resolved, vestland#2 names ks#\(fromKS.sequence), which agder lacks")
    XCTAssertEqual(try agder.pending(), [second.id])
    result = try agder.receive(try XCTUnwrap(try ks.changesetBytes(fromKS.id)))
    XCTAssertEqual(Set(result.applied), [fromKS.id, second.id])
    XCTAssertEqual(try agder.changeset(second.id)?.dependencies, second.dependencies)
    try vestland.sync(with: folder)
    XCTAssertEqual(try agder.snapshot().bytes, try vestland.snapshot().bytes)
  }

  func testARosterChangeWrittenAgainstItsBase_isRejectedAlikeEverywhere() throws {
    let (folder, stores) = try warmedUp()
    let vestland = stores["vestland"]!
    let first = try write(vestland, "første")
    try vestland.sync(with: folder)
    for name: ReplicaID in ["ks", "agder"] { try stores[name]!.sync(with: folder) }
    // Crafted with vestland's own key: a key added to its own entry (a
    // change it may make), but in format 2, which a checkpoint cannot judge.
    let newKey = SigningKey.generate().publicKey
    var base = first.dependencies
    base["vestland"] = first.sequence
    let crafted = Changeset(
      storeID: first.storeID, author: "vestland", sequence: first.sequence + 1, dependencies: base,
      lamport: first.lamport + 1, timestamp: first.timestamp + 1,
      edits: [.put(RecordRef(Roster.collection, "vestland"), field: "keys", key: newKey.hex, value: .bool(true))])
    let bytes = ChangesetFile.encode(crafted, signedBy: TestKeys.key("vestland"), base: base)
    XCTAssertEqual(try ChangesetFile.open(bytes).header.formatVersion, 2)
    try Data(bytes).write(to: folder.changesetURL(crafted.id))
    for name: ReplicaID in ["ks", "agder"] {
      let report = try stores[name]!.sync(with: folder)
      XCTAssertTrue(report.rejected[crafted.id]?.contains("must list its dependencies in full") == true, "\(report.rejected)")
      XCTAssertFalse(try XCTUnwrap(try stores[name]!.roster()).members["vestland"]!.keys.contains(newKey))
    }
  }

  func testAFileWrittenAgainstAnotherBase_isNotApplied() throws {
    let (folder, stores) = try warmedUp()
    let vestland = stores["vestland"]!, agder = stores["agder"]!
    let first = try write(vestland, "første")
    try vestland.sync(with: folder)
    try agder.sync(with: folder)
    // A second installation's #2, written on another #1 than the one in the folder.
    var otherBase = first.dependencies
    otherBase["vestland"] = first.sequence
    otherBase["ks"] = 7
    var dependencies = otherBase
    dependencies["agder"] = 5
    let crafted = Changeset(
      storeID: first.storeID, author: "vestland", sequence: first.sequence + 1, dependencies: dependencies, lamport: 9,
      timestamp: first.timestamp + 1, edits: [.set(RecordRef("cases", "sak-1"), field: "notes", value: .text("annen"))])
    let bytes = ChangesetFile.encode(crafted, signedBy: TestKeys.key("vestland"), base: otherBase)
    XCTAssertThrowsError(try agder.receive(bytes)) { error in
      XCTAssertEqual((error as? SamhandError)?.code, .corruptChangeset)
      XCTAssertTrue("\(error)".contains("another previous changeset"), "\(error)")
    }
    XCTAssertEqual(try agder.pending(), [])
    XCTAssertEqual(try agder.frontier()["vestland"], first.sequence)
    // Met in the folder, it is reported and the sync goes on.
    try Data(bytes).write(to: folder.changesetURL(crafted.id))
    let ks = stores["ks"]!
    _ = try write(ks, "fra KS")
    try ks.sync(with: folder)
    let report = try agder.sync(with: folder)
    XCTAssertTrue(
      report.setAside.contains { $0.path.hasSuffix("vestland/\(ChangesetFile.fileName(sequence: crafted.sequence))") && $0.reason.contains("another previous changeset") },
      "\(report.setAside)")
    XCTAssertEqual(try agder.frontier()["ks"], try ks.frontier()["ks"], "the rest of the folder is imported")
    XCTAssertEqual(try agder.frontier()["vestland"], first.sequence)
  }

  func testAnOfficeJoiningFromACheckpoint_resolvesTheFirstFileAfterItFromTheCheckpointsPromises() throws {
    let (folder, stores) = try warmedUp()
    let frontier = try stores["ks"]!.frontier()
    _ = try stores["ks"]!.writeCheckpoint(to: folder, at: frontier)
    XCTAssertNotNil(try stores["vestland"]!.cosignNewestCheckpoint(in: folder))
    let after = try write(stores["vestland"]!, "etter sjekkpunktet")
    try stores["vestland"]!.sync(with: folder)
    let previous = try stores["vestland"]!.changeset(Changeset.ID(author: "vestland", sequence: after.sequence - 1))
    XCTAssertEqual(try format(stores["vestland"]!, after.id), 2, "\(after.dependencies) \(String(describing: previous?.dependencies))")
    // The files the checkpoint covers go, as pruning would remove them.
    for entry in frontier.counters {
      for sequence in 1...entry.value {
        try? FileManager.default.removeItem(at: folder.changesetURL(Changeset.ID(author: entry.key, sequence: sequence)))
      }
    }
    let (kdd, report) = try Store.joinWithTestKey(folder: folder, at: root.path("kdd"), replica: "kdd")
    XCTAssertEqual(report.adoptedCheckpoint?.frontier, frontier)
    XCTAssertTrue(report.imported.contains(after.id), "\(report.imported)")
    XCTAssertEqual(try kdd.changeset(after.id)?.dependencies, after.dependencies)
    XCTAssertEqual(try kdd.snapshot().bytes, try stores["vestland"]!.snapshot().bytes)
  }

  func testALayout4Folder_getsFormat1Files_untilItIsUpgraded() throws {
    let (folder, stores) = try warmedUp(layout: 4)
    let vestland = stores["vestland"]!
    _ = try write(vestland, "første")
    try vestland.sync(with: folder)
    let second = try write(vestland, "andre")
    XCTAssertEqual(try format(vestland, second.id), 1, "older Samhands reading layout 4 read only format 1")
    try vestland.sync(with: folder)
    XCTAssertEqual(try folder.upgradeLayout(), 4)
    XCTAssertEqual(try folder.identity().formatVersion, 6)
    XCTAssertEqual(try folder.identity().changesetFormat, 2)
    try vestland.sync(with: folder)
    let third = try write(vestland, "tredje")
    XCTAssertEqual(try format(vestland, third.id), 2)
    try vestland.sync(with: folder)
    for name: ReplicaID in ["ks", "agder"] {
      try stores[name]!.sync(with: folder)
      XCTAssertEqual(try stores[name]!.snapshot().bytes, try vestland.snapshot().bytes)
    }
  }
}
