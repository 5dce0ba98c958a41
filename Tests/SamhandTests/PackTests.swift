import Foundation
import Samhand
import SamhandTestSupport
import XCTest

/// Pack files: an office folds its older changeset files into a few packs,
/// in folders of layout 6 (`Docs/FORMATS.md`, section 14).
final class PackTests: XCTestCase {
  private let root = TemporaryDirectory("packs")

  private func offices(_ names: [ReplicaID], layout: Int? = nil) throws -> (SharedFolder, [ReplicaID: Store]) {
    try Store.testOffices(names, in: root, layout: layout)
  }

  @discardableResult
  private func write(_ store: Store, _ note: String) throws -> Changeset {
    try XCTUnwrap(try store.transact { tx in try tx.set("cases", "sak-2025-014", "notes", .text(note)) })
  }

  private func names(_ folder: SharedFolder, _ office: ReplicaID) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: folder.changesetsURL(for: office).path).sorted()
  }

  private func changesets(_ count: Int, key: SigningKey = TestKeys.key("vestland")) -> [[UInt8]] {
    var members: [[UInt8]] = []
    for sequence in 1...count {
      let changeset = Changeset(
        storeID: GoldenScenario.storeID, author: "vestland", sequence: UInt64(sequence),
        dependencies: VersionVector(["vestland": UInt64(sequence - 1)]), lamport: UInt64(sequence), timestamp: 1_780_000_000_000,
        edits: [.set(RecordRef("cases", "sak-2025-014"), field: "notes", value: .text("notat \(sequence)"))])
      members.append(ChangesetFile.encode(changeset, signedBy: key))
    }
    return members
  }

  // MARK: - The file

  func testPackFile_roundTrips_andItsNameGivesItsRange() throws {
    let members = changesets(3)
    let bytes = PackFile.encode(
      storeID: GoldenScenario.storeID, office: "vestland", first: 1, members: members, signedBy: TestKeys.key("vestland"))
    let pack = try PackFile.decode(bytes, name: 1...3)
    XCTAssertEqual(pack.members, members)
    XCTAssertEqual(pack.office, "vestland")
    XCTAssertEqual(pack.first, 1)
    XCTAssertEqual(pack.last, 3)
    XCTAssertEqual(pack.key, TestKeys.key("vestland").publicKey)
    XCTAssertEqual(PackFile.fileName(first: 1, last: 3), "000000000001-000000000003.pack")
    XCTAssertEqual(PackFile.range(fromFileName: "000000000001-000000000003.pack"), 1...3)
    XCTAssertEqual(PackFile.range(fromFileName: "000000000017-000000004112.pack"), 17...4112, "4096 changesets")
    for name in [
      "000000000017-000000004113.pack", "000000000000-000000000003.pack", "000000000003-000000000001.pack",
      "000000000001-000000000003.changeset", "00000000001-000000000003.pack", "000000000001-000000000003.pack.tmp",
      "000000000001_000000000003.pack",
    ] {
      XCTAssertNil(PackFile.range(fromFileName: name), name)
    }
  }

  func testPackFile_damage_isNamed() throws {
    let bytes = PackFile.encode(
      storeID: GoldenScenario.storeID, office: "vestland", first: 1, members: changesets(3), signedBy: TestKeys.key("vestland"))
    func refusal(_ bytes: [UInt8], name: ClosedRange<UInt64>? = 1...3) -> SamhandError? {
      do {
        _ = try PackFile.decode(bytes, name: name)
        return nil
      } catch let error as SamhandError {
        return error
      } catch {
        XCTFail("\(error)")
        return nil
      }
    }
    XCTAssertEqual(refusal(bytes, name: 1...4)?.code, .corruptChangeset)
    XCTAssertTrue(refusal(bytes, name: 1...4)?.message.contains("its name says 1 to 4, it holds 1 to 3") ?? false)
    var flipped = bytes
    flipped[200] ^= 0x01
    XCTAssertEqual(refusal(flipped)?.code, .untrusted, "a changed byte breaks the pack's signature")
    XCTAssertEqual(refusal(Array(bytes.dropLast(10)))?.code, .corruptChangeset)
    XCTAssertEqual(refusal(Array(bytes.prefix(40)))?.code, .corruptChangeset)
    XCTAssertEqual(refusal(Array("not a pack at all".utf8))?.message, "not a good pack file: it does not start with the pack magic")
    var newer = bytes
    newer[9] = 2
    XCTAssertEqual(refusal(newer)?.code, .unsupportedFormat)
  }

  func testPackPlan_foldsSixteen_mergesFourOfAClass_andStopsThere() {
    XCTAssertEqual(PackPlan.plan(loose: Array(1...15), packs: []), [], "fewer than 16 stay loose")
    XCTAssertEqual(PackPlan.plan(loose: Array(1...16), packs: []), [1...16])
    XCTAssertEqual(PackPlan.plan(loose: Array(1...20), packs: []), [1...20], "all published loose files in one run")
    XCTAssertEqual(PackPlan.plan(loose: Array(1...10) + Array(12...30), packs: []), [], "the oldest run is too short")
    XCTAssertEqual(
      PackPlan.plan(loose: Array(49...64), packs: [1...16, 17...32, 33...48]), [49...64, 1...64], "the fourth pack of 16 makes one of 64")
    XCTAssertEqual(PackPlan.plan(loose: [], packs: [1...64, 65...80, 81...96, 97...112]), [], "packs of different classes stay")
    XCTAssertEqual(
      PackPlan.plan(loose: Array(241...256), packs: [1...64, 65...128, 129...192, 193...208, 209...224, 225...240]),
      [241...256, 193...256, 1...256], "merges cascade, smallest first")
    XCTAssertEqual(PackPlan.plan(loose: Array(1...5000), packs: []), [1...4096], "at most 4096 a pack")
  }

  // MARK: - Offices

  func testLayout6_anOfficeFoldsItsFilesIntoPacks_mergesThem_andEveryOfficeReadsThem() throws {
    let (folder, stores) = try offices(["ks", "vestland", "agder"])
    XCTAssertEqual(try folder.identity().formatVersion, 6)
    let vestland = stores["vestland"]!
    var packed = 0
    for round in 1...70 {
      try write(vestland, "notat \(round)")
      let report = try vestland.sync(with: folder)
      XCTAssertNil(report.maintenanceProblem)
      packed += report.packing.written.count
      if round % 10 == 0 { try stores["ks"]!.sync(with: folder) }
      if round == 20 {
        XCTAssertEqual(
          try names(folder, "vestland"),
          ["000000000001-000000000016.pack"] + (17...20).map { ChangesetFile.fileName(sequence: UInt64($0)) })
      }
    }
    // Four packs of 16 became one of 64; the last six wait loose.
    XCTAssertEqual(
      try names(folder, "vestland"), ["000000000001-000000000064.pack"] + (65...70).map { ChangesetFile.fileName(sequence: UInt64($0)) })
    XCTAssertEqual(packed, 5, "four packs of 16, then their merge")

    // Offices that were there read on; a new office reads everything from the packs.
    for name: ReplicaID in ["ks", "agder"] {
      let report = try stores[name]!.sync(with: folder)
      XCTAssertEqual(report.setAside, [], "\(name)")
    }
    let (nordland, joined) = try Store.joinWithTestKey(folder: folder, at: root.path("nordland"), replica: "nordland")
    XCTAssertEqual(joined.setAside, [])
    XCTAssertEqual(joined.imported.filter { $0.author == "vestland" }.count, 70)
    let expected = try vestland.snapshot().bytes
    for store in [stores["ks"]!, stores["agder"]!, nordland] {
      XCTAssertEqual(try store.snapshot().bytes, expected)
    }
    XCTAssertEqual(folder.verify().problems, [])
    XCTAssertEqual(try folder.snapshot().bytes, expected, "a reader of the folder reads the packs too")
    // Nothing is written again: the packs hold the numbers.
    let again = try vestland.sync(with: folder)
    XCTAssertEqual(again.republished, [])
    XCTAssertEqual(again.packing, PackingReport())
  }

  func testLayout5Folder_keepsItsLooseFiles_untilItIsUpgraded() throws {
    let (folder, stores) = try offices(["ks", "vestland"], layout: 5)
    let vestland = stores["vestland"]!
    for round in 1...20 {
      try write(vestland, "notat \(round)")
      try vestland.sync(with: folder)
    }
    XCTAssertEqual(try names(folder, "vestland").count, 20, "a Samhand that reads layout 5 does not read packs")
    XCTAssertEqual(try folder.upgradeLayout(), 5)
    // The sync notes the new layout, then packs.
    let report = try vestland.sync(with: folder)
    XCTAssertEqual(report.packing.written, ["changesets/vestland/000000000001-000000000020.pack"])
    XCTAssertEqual(try names(folder, "vestland"), ["000000000001-000000000020.pack"])
    try stores["ks"]!.sync(with: folder)
    XCTAssertEqual(try stores["ks"]!.snapshot().bytes, try vestland.snapshot().bytes)
  }

  /// Anyone who can write to the folder can drop a file named like a pack.
  func testAForgedOrDamagedPack_isSetAside_losesNothing_andCannotBlockTheOffice() throws {
    let (folder, stores) = try offices(["ks", "vestland", "agder"])
    let vestland = stores["vestland"]!, ks = stores["ks"]!
    for round in 1...3 {
      try write(vestland, "notat \(round)")
      try vestland.sync(with: folder)
    }
    // Junk where vestland's first pack will go, and a pack of vestland's
    // own changesets signed by someone else.
    let junk = folder.changesetsURL(for: "vestland").appendingPathComponent("000000000001-000000000016.pack")
    try Data("junk".utf8).write(to: junk)
    let own = try (1...3).map { try XCTUnwrap(try vestland.changesetBytes(Changeset.ID(author: "vestland", sequence: $0))) }
    let forged = PackFile.encode(storeID: vestland.storeID, office: "vestland", first: 1, members: own, signedBy: SigningKey.generate())
    try Data(forged).write(to: folder.changesetsURL(for: "vestland").appendingPathComponent("000000000001-000000000003.pack"))

    let (nordland, joined) = try Store.joinWithTestKey(folder: folder, at: root.path("nordland"), replica: "nordland")
    let reasons = joined.setAside.map { "\($0.path): \($0.reason)" }
    XCTAssertTrue(reasons.contains { $0.contains("000000000001-000000000016.pack: not a good pack file") }, "\(reasons)")
    XCTAssertTrue(
      reasons.contains { $0.contains("000000000001-000000000003.pack#1: signed with key") && $0.contains("in a pack signed with key") },
      "\(reasons)")
    XCTAssertEqual(try nordland.snapshot().bytes, try vestland.snapshot().bytes, "the loose files were read")
    let problems = folder.verify().problems.map(\.path)
    XCTAssertTrue(problems.contains("changesets/vestland/000000000001-000000000016.pack"), "\(problems)")

    // Vestland deletes what is not its own under its pack names, and packs as usual.
    for round in 4...16 {
      try write(vestland, "notat \(round)")
      try vestland.sync(with: folder)
    }
    XCTAssertEqual(try names(folder, "vestland"), ["000000000001-000000000016.pack"])
    let before = try ks.snapshot().bytes
    XCTAssertEqual(try ks.sync(with: folder).setAside, [])
    XCTAssertNotEqual(try ks.snapshot().bytes, before)
    XCTAssertEqual(try ks.snapshot().bytes, try vestland.snapshot().bytes)
  }

  /// A pack of another office that holds a changeset different from the one
  /// under its number (another installation writing as the office) is a
  /// collision for a replica that reads it.
  func testAPackOfDifferentBytesUnderAKnownNumber_isACollisionForAReplicaThatReadsIt() throws {
    let (folder, stores) = try offices(["ks", "vestland"])
    let vestland = stores["vestland"]!
    for round in 1...2 {
      try write(vestland, "notat \(round)")
      try vestland.sync(with: folder)
    }
    let first = try XCTUnwrap(try vestland.changesetBytes(Changeset.ID(author: "vestland", sequence: 1)))
    var other = try ChangesetFile.decode(try XCTUnwrap(try vestland.changesetBytes(Changeset.ID(author: "vestland", sequence: 2))))
    other.edits = [.set(RecordRef("cases", "sak-2025-014"), field: "notes", value: .text("en annen maskin"))]
    let pack = PackFile.encode(
      storeID: vestland.storeID, office: "vestland", first: 1,
      members: [first, ChangesetFile.encode(other, signedBy: TestKeys.key("vestland"))], signedBy: TestKeys.key("vestland"))
    let url = folder.changesetsURL(for: "vestland").appendingPathComponent("000000000001-000000000002.pack")
    try Data(pack).write(to: url)
    // A new office reads the loose files, then the pack.
    let (nordland, joined) = try Store.joinWithTestKey(folder: folder, at: root.path("nordland"), replica: "nordland")
    _ = nordland
    XCTAssertEqual(joined.collisions.map(\.changeset), [Changeset.ID(author: "vestland", sequence: 2)], "\(joined.setAside)")
  }

  func testPruning_deletesAPackOnceItsLastChangesetMayGo_andANewOfficeStartsFromTheCheckpoint() throws {
    let (folder, stores) = try offices(["ks", "vestland"])
    let ks = stores["ks"]!, vestland = stores["vestland"]!
    for store in [ks, vestland] {
      try store.setCheckpointInterval(0)
      try store.setRetention(.days(0))
    }
    for round in 1...20 {
      try write(vestland, "notat \(round)")
      try vestland.sync(with: folder)
    }
    XCTAssertEqual(try names(folder, "vestland").first, "000000000001-000000000016.pack")
    try ks.sync(with: folder)
    XCTAssertNotNil(try ks.writeCheckpoint(to: folder))
    XCTAssertNotNil(try vestland.cosignNewestCheckpoint(in: folder), "vestland builds the same bytes and signs them too")
    let report = try vestland.sync(with: folder)
    XCTAssertNil(report.maintenanceProblem)
    XCTAssertTrue(report.pruned.contains("changesets/vestland/000000000001-000000000016.pack"), "\(report.pruned)")
    XCTAssertEqual(try names(folder, "vestland"), [], "the checkpoint covers all 20")
    let (nordland, joined) = try Store.joinWithTestKey(folder: folder, at: root.path("nordland"), replica: "nordland")
    XCTAssertNotNil(joined.adoptedCheckpoint)
    XCTAssertEqual(try nordland.snapshot().bytes, try vestland.snapshot().bytes)
    // Nothing pruned is written again, as loose files or as a pack.
    try write(vestland, "etter")
    let after = try vestland.sync(with: folder)
    XCTAssertEqual(after.published.map(\.sequence), [21])
    XCTAssertEqual(after.republished, [])
    XCTAssertEqual(try names(folder, "vestland"), [ChangesetFile.fileName(sequence: 21)])
  }
}
