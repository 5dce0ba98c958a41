import Foundation
import Samhand
import SamhandTestSupport
import XCTest

/// The roster of every kommune (`Fixtures/kommuner-2024.json` and the
/// roster file built from it), checked against the 2024 structure.
final class KommuneRosterTests: XCTestCase {
  /// Kommuner per fylke from 1 January 2024 (SSB, KLASS 131), by fylkesnummer.
  static let perFylke: [String: Int] = [
    "03": 1, "11": 23, "15": 27, "18": 41, "31": 12, "32": 21, "33": 18, "34": 46, "39": 6, "40": 17, "42": 25,
    "46": 43, "50": 38, "55": 21, "56": 18,
  ]

  func testStructure_is357KommunerIn15FylkerWithValidDistinctSlugs() throws {
    let structure = try MunicipalStructure.load()
    XCTAssertEqual(structure.date, "2024-01-01")
    XCTAssertTrue(structure.source.contains("ssb.no/klass"), "the source is named")
    XCTAssertEqual(structure.kommuner.count, 357)
    XCTAssertEqual(structure.fylker.count, 15)
    XCTAssertEqual(Set(structure.fylker.map(\.number)), Set(Self.perFylke.keys))
    let fylkeNumber = Dictionary(uniqueKeysWithValues: structure.fylker.map { ($0.slug, $0.number) })
    var counts: [String: Int] = [:]
    for kommune in structure.kommuner {
      XCTAssertEqual(kommune.number.count, 4, kommune.name)
      XCTAssertTrue(kommune.number.allSatisfy(\.isNumber), kommune.name)
      XCTAssertEqual(String(kommune.number.prefix(2)), fylkeNumber[kommune.fylke], "\(kommune.name) is in its number's fylke")
      XCTAssertFalse(kommune.name.isEmpty)
      counts[String(kommune.number.prefix(2)), default: 0] += 1
    }
    XCTAssertEqual(counts, Self.perFylke)
    XCTAssertEqual(Set(structure.kommuner.map(\.number)).count, 357, "numbers are distinct")
    XCTAssertEqual(structure.kommuner.map(\.number), structure.kommuner.map(\.number).sorted())
    // Slugs: distinct among kommuner, and none is a fylke's but Oslo's, which is both.
    XCTAssertEqual(Set(structure.kommuner.map(\.slug)).count, 357)
    let overlap = Set(structure.kommuner.map(\.slug)).intersection(structure.fylker.map(\.slug))
    XCTAssertEqual(overlap, ["oslo"])
    XCTAssertFalse(structure.kommuner.contains { ["ks", "kdd"].contains($0.slug) })
    // 2024: Haram split from Ålesund; names that occur twice carry their fylke.
    let byNumber = Dictionary(uniqueKeysWithValues: structure.kommuner.map { ($0.number, $0) })
    XCTAssertEqual(byNumber["1508"]?.slug, "alesund")
    XCTAssertEqual(byNumber["1580"]?.slug, "haram")
    XCTAssertNil(byNumber["1507"], "Ålesund's number until 2023")
    XCTAssertEqual(byNumber["1515"]?.slug, "heroy-more-og-romsdal")
    XCTAssertEqual(byNumber["1818"]?.slug, "heroy-nordland")
    XCTAssertEqual(byNumber["3114"]?.slug, "valer-ostfold")
    XCTAssertEqual(byNumber["3419"]?.slug, "valer-innlandet")
    XCTAssertEqual(byNumber["4601"]?.name, "Bergen")
  }

  func testRosterFile_isBuiltFromTheStructureAndReadsAsARoster() throws {
    let structure = try MunicipalStructure.load()
    let text = structure.rosterJSON
    if ProcessInfo.processInfo.environment["SAMHAND_WRITE_FIXTURES"] == "1" {
      try Data(text.utf8).write(to: MunicipalStructure.rosterURL)
    }
    let file = try String(contentsOf: MunicipalStructure.rosterURL, encoding: .utf8)
    XCTAssertEqual(
      file, text,
      "Fixtures/roster-kommuner-2024.json differs from Fixtures/kommuner-2024.json: SAMHAND_WRITE_FIXTURES=1 swift test --filter KommuneRosterTests")
    let roster = try Roster(json: Data(file.utf8))
    XCTAssertEqual(roster.members.count, 373, "KS, KDD, 14 fylkeskommuner, Oslo and 356 kommuner")
    XCTAssertEqual(Set(roster.members.values.filter(\.isAdministrator).map(\.office)), ["ks", "kdd"])
    XCTAssertEqual(roster.members.values.filter { $0.kind == "kommune" }.count, 356)
    XCTAssertEqual(roster.members.values.filter { $0.kind == "fylkeskommune" }.count, 15)
    XCTAssertEqual(roster.members["bergen"]?.name, "Bergen kommune")
    XCTAssertEqual(roster.members["vestland"]?.name, "Vestland fylkeskommune")
    XCTAssertEqual(roster.members["oslo"]?.name, "Oslo kommune")
    // Every county office of today's cooperation that still exists is in it.
    let retired: Set<ReplicaID> = ["viken", "vestfold-og-telemark", "troms-og-finnmark"]
    for office in Office.cooperation where !retired.contains(office.slug) {
      XCTAssertEqual(roster.members[office.slug]?.kind, office.kind, "\(office.slug)")
    }
  }

  /// With every kommune the default checkpoint interval grows with the
  /// roster (1,000 changesets would make a checkpoint every few hours);
  /// at 13 offices it stays 1,000, and a setting overrides it.
  func testCheckpointInterval_growsWithTheRosterUnlessSet() throws {
    let structure = try MunicipalStructure.load()
    let root = TemporaryDirectory("kommuner-interval")
    var members = try Roster(json: Data(structure.rosterJSON.utf8)).sortedMembers
    for index in members.indices { members[index].keys.insert(TestKeys.key(members[index].office).publicKey) }
    let ks = try Store.create(
      folder: SharedFolder(root.path("shared")), at: root.path("ks"), replica: "ks", schema: .planning, roster: Roster(members),
      key: TestKeys.key("ks"))
    XCTAssertEqual(try ks.checkpointInterval(), 3_730, "10 per active office of 373")
    try ks.transact { tx in tx.retireOffice("haram", successors: ["alesund"]) }
    XCTAssertEqual(try ks.checkpointInterval(), 3_720, "a retired office does not count")
    try ks.setCheckpointInterval(500)
    XCTAssertEqual(try ks.checkpointInterval(), 500)
    let small = try Store.createListingTestKeys(folder: SharedFolder(root.path("shared-small")), at: root.path("small"), replica: "ks")
    XCTAssertEqual(try small.checkpointInterval(), Store.defaultCheckpointInterval)
  }

  func testKommune_writesItsOwnMembershipAndTheCasesThatNameItAsCountiesDo() throws {
    let structure = try MunicipalStructure.load()
    let root = TemporaryDirectory("kommuner")
    let folder = SharedFolder(root.path("shared"))
    var members = try Roster(json: Data(structure.rosterJSON.utf8)).sortedMembers
    for index in members.indices { members[index].keys.insert(TestKeys.key(members[index].office).publicKey) }
    let ks = try Store.create(
      folder: folder, at: root.path("ks"), replica: "ks", schema: .planning, roster: Roster(members), key: TestKeys.key("ks"))
    let bergen = try Store.joinWithTestKey(folder: folder, at: root.path("bergen"), replica: "bergen").0
    let kautokeino = try Store.joinWithTestKey(folder: folder, at: root.path("kautokeino"), replica: "kautokeino").0
    // Its own membership record, and a case it owns that names another kommune.
    try bergen.transact { tx in
      try tx.set("membership", "m-bergen-1", "person", .text("Solveig Brekke"))
      try tx.set("membership", "m-bergen-1", "organisation", .text("bergen"))
      try tx.set("cases", "sak-bergen-1", "title", .text("Kommuneplanens arealdel, Bergen"))
      try tx.set("cases", "sak-bergen-1", "owner", .text("bergen"))
      try tx.add("cases", "sak-bergen-1", "participants", "kautokeino")
    }
    // Another kommune's membership is outside its rights.
    XCTAssertThrowsError(
      try bergen.transact { try $0.set("membership", "m-oslo-1", "organisation", .text("oslo")) }
    ) { error in XCTAssertTrue(SamhandError.notPermitted ~= error, "\(error)") }
    try bergen.sync(with: folder)
    // A participant may write the case; KS sees both.
    try kautokeino.sync(with: folder)
    try kautokeino.transact { try $0.set("cases", "sak-bergen-1", "status", .text("under-arbeid")) }
    try kautokeino.sync(with: folder)
    try ks.sync(with: folder)
    try bergen.sync(with: folder)
    XCTAssertEqual(try ks.record("cases", "sak-bergen-1")?.fields["status"], .value(.text("under-arbeid")))
    XCTAssertEqual(try ks.record("membership", "m-bergen-1")?.fields["organisation"], .value(.text("bergen")))
    XCTAssertEqual(try bergen.record("cases", "sak-bergen-1")?.fields["status"], .value(.text("under-arbeid")))
    XCTAssertEqual(try ks.snapshotHash().1, try bergen.snapshotHash().1)
  }
}
