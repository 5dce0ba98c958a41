import Foundation
import Samhand
import SamhandTestSupport
import XCTest

/// Heads signed by their offices (`Docs/FORMATS.md`, section 1): a head
/// that its office's key did not sign, or an older copy of one, counts for
/// nothing — not as an acknowledgement, for staleness or for pruning.
final class SignedHeadTests: XCTestCase {
  static let offices: [ReplicaID] = ["ks", "vestland", "agder"]

  /// The golden head: vestland's, signed with its test key.
  static var goldenHead: Head {
    Head(
      office: "vestland", frontier: VersionVector(["ks": 4, "vestland": 2, "heroy-nordland": 1]),
      snapshotHash: String(repeating: "3a", count: 32), timestamp: 1_780_301_400_000
    ).signed(by: TestKeys.key("vestland"))
  }

  func testSignedHead_isTheGoldenFileAndReadsBackWhateverTheSpelling() throws {
    let url = fixturesDirectory().appendingPathComponent("heads/signed-vestland.json")
    let head = Self.goldenHead
    if ProcessInfo.processInfo.environment["SAMHAND_WRITE_FIXTURES"] == "1" { try head.canonicalJSON.write(to: url) }
    let golden = try Data(contentsOf: url)
    XCTAssertEqual(golden, head.canonicalJSON, "Fixtures/heads/signed-vestland.json: SAMHAND_WRITE_FIXTURES=1 swift test --filter SignedHeadTests")
    let read = try Head(json: [UInt8](golden))
    XCTAssertEqual(read, head)
    XCTAssertTrue(read.hasValidSignature)
    XCTAssertEqual(read.signature?.key, TestKeys.key("vestland").publicKey)
    XCTAssertNotNil(Head(canonical: [UInt8](golden)), "the bytes Samhand writes take the quick path")
    XCTAssertEqual(
      Head(canonical: [UInt8](golden))?.signature?.fileBytes, head.signedBytes(key: TestKeys.key("vestland").publicKey),
      "what the quick path cuts from the file is what was signed")
    // Another spelling of the same JSON: the full reader, the same head.
    let spaced = String(decoding: golden, as: UTF8.self).replacingOccurrences(of: ",", with: ", ")
    XCTAssertNil(Head(canonical: Array(spaced.utf8)))
    XCTAssertEqual(try Head(json: Array(spaced.utf8)), head)
    // An older reader's fields are all still there, in format 1.
    let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: golden) as? [String: Any])
    XCTAssertEqual(object["format"] as? Int, 1)
    XCTAssertEqual(Set(object.keys), ["format", "frontier", "key", "office", "signature", "snapshot", "time", "time_ms"])
    // Any change to what it says breaks the signature.
    var moved = read
    moved.frontier["ks"] = 3
    XCTAssertFalse(moved.hasValidSignature)
    var later = read
    later.timestamp += 1
    XCTAssertFalse(later.hasValidSignature)
    XCTAssertFalse(Head(office: "vestland", frontier: read.frontier, snapshotHash: read.snapshotHash, timestamp: read.timestamp).hasValidSignature)
    // Half a signature is malformed, and says so.
    let halfSigned = String(decoding: golden, as: UTF8.self).replacingOccurrences(of: #""signature":"[0-9a-f]+","#, with: "", options: .regularExpression)
    XCTAssertThrowsError(try Head(json: Array(halfSigned.utf8))) { error in
      XCTAssertTrue("\(error)".contains("'key' and 'signature' go together"), "\(error)")
    }
  }

  /// Three offices caught up; returns them and the folder.
  private func cooperation(_ root: TemporaryDirectory) throws -> ([ReplicaID: Store], SharedFolder) {
    let folder = SharedFolder(root.path("shared"))
    var stores: [ReplicaID: Store] = [:]
    stores["ks"] = try Store.createListingTestKeys(folder: folder, at: root.path("ks"), replica: "ks", extra: Self.offices)
    for office in Self.offices.dropFirst() {
      stores[office] = try Store.joinWithTestKey(folder: folder, at: root.path(office.rawValue), replica: office).0
    }
    for (index, office) in Self.offices.enumerated() {
      try stores[office]!.transact { try $0.set("cases", "sak-\(index)", "title", .text("Sak fra \(office)")) }
    }
    for _ in 0..<2 { for office in Self.offices { try stores[office]!.sync(with: folder) } }
    return (stores, folder)
  }

  func testForgedHeads_countForNothing_andTheLastHeadCountedStays() throws {
    let root = TemporaryDirectory("signed-heads")
    let (stores, folder) = try cooperation(root)
    let ks = stores["ks"]!
    // Every office signs its head, with its own key.
    for office in Self.offices {
      let head = try folder.head(of: office)
      XCTAssertTrue(head.hasValidSignature, "\(office)")
      XCTAssertEqual(head.signature?.key, TestKeys.key(office).publicKey)
    }
    XCTAssertEqual(try ks.ignoredHeads(folder.heads().heads), [])
    let genuine = try ks.stability(in: folder)
    XCTAssertEqual(Set(genuine.counted), Set(Self.offices))
    XCTAssertEqual(genuine.frontier, try ks.frontier())
    let real = try Data(contentsOf: folder.headURL(for: "vestland"))
    let realHead = try folder.head(of: "vestland")

    // Each forgery of vestland's head: one that would hold pruning back
    // (it has applied nothing), or make it look long gone.
    let nothing = Head(office: "vestland", frontier: VersionVector(), snapshotHash: realHead.snapshotHash, timestamp: realHead.timestamp + 1)
    let longGone = Head(office: "vestland", frontier: realHead.frontier, snapshotHash: realHead.snapshotHash, timestamp: 1)
    var tampered = realHead
    tampered.frontier = VersionVector()
    let forgeries: [(String, Data, String)] = [
      ("unsigned", nothing.canonicalJSON, "not signed"),
      ("signed by agder", nothing.signed(by: TestKeys.key("agder")).canonicalJSON, "which the roster does not list for vestland"),
      ("signed by an unknown key", longGone.signed(by: SigningKey.generate()).canonicalJSON, "which the roster does not list for vestland"),
      ("altered after signing", tampered.canonicalJSON, "does not verify"),
      ("not a head", Data("{\"format\":1}".utf8), "malformed"),
    ]
    for (what, bytes, reason) in forgeries {
      try bytes.write(to: folder.headURL(for: "vestland"))
      let stability = try ks.stability(in: folder)
      XCTAssertEqual(stability.frontier, genuine.frontier, "\(what): pruning is not held back")
      XCTAssertEqual(Set(stability.counted), Set(Self.offices), "\(what): vestland still counts, by its last head")
      XCTAssertEqual(stability.stale, [], what)
      let report = try ks.sync(with: folder)
      XCTAssertTrue(report.setAside.isEmpty, what)
      // `verify` and `status` name the head and why it does not count.
      let problems = folder.verify().problems.filter { $0.path == "heads/vestland.json" }
      XCTAssertTrue(problems.contains { $0.reason.contains(reason) }, "\(what): \(problems)")
      XCTAssertFalse(folder.verify().heads.contains { $0.office == "vestland" }, what)
      XCTAssertFalse(try Report(folder: folder, title: "Rapport").heads.contains { $0.office == "vestland" }, "\(what): the report leaves it out")
      XCTAssertTrue(try Report(folder: folder, title: "Rapport").heads.contains { $0.office == "ks" }, what)
    }
    // Deleted: the last head counted stays in force.
    try FileManager.default.removeItem(at: folder.headURL(for: "vestland"))
    XCTAssertEqual(try ks.stability(in: folder).frontier, genuine.frontier)
    XCTAssertEqual(Set(try ks.stability(in: folder).counted), Set(Self.offices))

    // vestland syncs again: a newer head, which counts.
    try real.write(to: folder.headURL(for: "vestland"))
    try stores["vestland"]!.transact { try $0.set("cases", "sak-ny", "title", .text("Ny sak")) }
    for _ in 0..<2 { for office in Self.offices { try stores[office]!.sync(with: folder) } }
    let newer = try folder.head(of: "vestland")
    XCTAssertGreaterThan(newer.timestamp, realHead.timestamp)
    XCTAssertEqual(newer.frontier["vestland"], realHead.frontier["vestland"] + 1)
    XCTAssertEqual(try ks.stability(in: folder).frontier["vestland"], newer.frontier["vestland"], "every head has its new changeset")
    // Its own older head, put back: an old copy, not counted.
    try real.write(to: folder.headURL(for: "vestland"))
    let reading = try ks.stability(in: folder)
    XCTAssertEqual(reading.frontier["vestland"], newer.frontier["vestland"], "the older copy does not take the acknowledgement back")
    let report = try ks.sync(with: folder)
    XCTAssertNil(report.maintenanceProblem)
  }

  /// Folders of layout 3 were written by Samhands that did not sign heads:
  /// an unsigned head still counts there; a forged signature does not.
  func testLayout3_unsignedHeadsStillCount() throws {
    let directory = TemporaryDirectory("layout-3-heads")
    let folder = SharedFolder(directory.path("shared"))
    var roster = TestKeys.roster(founder: "ks", extra: ["agder"])
    roster.formatVersion = 1
    let identity = SharedFolder.Identity(storeID: .random(), schema: .planning, roster: roster)
    XCTAssertEqual(identity.formatVersion, 3)
    try folder.initialise(identity)
    let ks = try Store.join(folder: folder, at: directory.path("ks"), replica: "ks", key: TestKeys.key("ks")).0
    let agder = try Store.join(folder: folder, at: directory.path("agder"), replica: "agder", key: TestKeys.key("agder")).0
    try agder.transact { try $0.set("membership", "m-a", "organisation", .text("agder")) }
    for store in [agder, ks, agder, ks] { try store.sync(with: folder) }
    let signed = try folder.head(of: "agder")
    XCTAssertTrue(signed.hasValidSignature, "this Samhand signs its head in any layout")
    // An older Samhand's head: unsigned, and counted.
    let unsigned = Head(office: "agder", frontier: signed.frontier, snapshotHash: signed.snapshotHash, timestamp: signed.timestamp + 1)
    try unsigned.canonicalJSON.write(to: folder.headURL(for: "agder"))
    XCTAssertEqual(try ks.ignoredHeads([unsigned]), [])
    XCTAssertEqual(try ks.stability(in: folder).frontier, try ks.frontier())
    // A signature by another key is still a forgery.
    let forged = Head(office: "agder", frontier: VersionVector(), snapshotHash: signed.snapshotHash, timestamp: signed.timestamp + 2)
      .signed(by: TestKeys.key("ks"))
    XCTAssertEqual(try ks.ignoredHeads([forged]).count, 1)
    try forged.canonicalJSON.write(to: folder.headURL(for: "agder"))
    XCTAssertEqual(try ks.stability(in: folder).frontier, try ks.frontier())
  }
}
