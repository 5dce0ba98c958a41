import Foundation
import Samhand
import SamhandTestSupport
import XCTest

/// The attacks of someone who can write to the shared folder but holds no
/// office's key, run through the `samhand` executable as offices use it.
final class HostileFolderTests: CLITestCase {
  /// Writes a changeset of `office` with number `sequence`, signed with a
  /// key nobody confirmed, where its file belongs.
  @discardableResult
  private func dropForged(
    as office: ReplicaID, sequence: UInt64, dependencies: VersionVector, storeID: StoreID, _ edits: [Edit],
    key: SigningKey = .generate()
  ) throws -> URL {
    var context = dependencies
    context[office] = sequence - 1
    let changeset = Changeset(
      storeID: storeID, author: office, sequence: sequence, dependencies: context, lamport: 1_000 + sequence,
      timestamp: 1_780_300_800_000, edits: edits)
    let url = SharedFolder(temp.path("shared")).changesetURL(changeset.id)
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    try Data(ChangesetFile.encode(changeset, signedBy: key)).write(to: url)
    return url
  }

  /// Attack 1: a file signed with a fresh key as `kdd#1` (KDD, an
  /// administrator, listed without a key) tries to rewrite a project and
  /// retire Vestland. No office applies it, every office names it, and
  /// Vestland goes on writing; an administrator sees the claim, and the
  /// real KDD, once confirmed, writes as KDD.
  func testAClaimForAKeylessAdministrator_isKeptUnappliedEverywhere() throws {
    listTestKeys = false
    let created = try succeed(["init", "--store", "ks", "--replica", "ks", "--folder", "shared"])
    let hash = try XCTUnwrap(created.stdout.split(separator: "\n").first { $0.hasPrefix("roster: ") }).dropFirst(8)
    try succeed(["init", "--store", "vestland", "--replica", "vestland", "--folder", "shared", "--trust", String(hash)])
    // Vestland's claim, published at init, is waiting at KS: KS confirms it.
    try succeed(["sync", "--store", "ks"])
    let vestlandKey = try openStore("vestland").publicKey()
    XCTAssertTrue(try succeed(["roster", "confirm", "--store", "ks"]).stdout.contains(vestlandKey.fingerprint))
    try succeed(["roster", "confirm", "--store", "ks", "vestland", "--fingerprint", vestlandKey.fingerprint])
    try succeed(["set", "--store", "ks", "projects", "p-1", "name=Veilederkorpset", "lead=ks"])
    try succeed(["sync", "--store", "ks"])
    try succeed(["sync", "--store", "vestland"])

    let ks = try openStore("ks")
    let forged = try dropForged(
      as: "kdd", sequence: 1, dependencies: try ks.frontier(), storeID: ks.storeID,
      [
        .set(RecordRef("projects", "p-1"), field: "name", value: .text("Kapret")),
        .set(RecordRef("_roster", "vestland"), field: "status", value: .text("retired")),
      ])
    for office in ["ks", "vestland"] {
      let synced = try XCTUnwrap(try json(try succeed(["sync", "--store", office, "--json"])) as? [String: Any])
      XCTAssertEqual(synced["imported"] as? [String], [], office)
      let status = try succeed(["status", "--store", office]).stdout
      XCTAssertTrue(status.contains("changesets/kdd/000000000001.changeset"), status)
      XCTAssertTrue(status.contains("no administrator has confirmed"), status)
      XCTAssertTrue(try succeed(["get", "--store", office, "projects", "p-1"]).stdout.contains("Veilederkorpset"))
    }
    XCTAssertEqual(try openStore("vestland").roster()?.members["vestland"]?.isRetired, false)
    // Vestland still writes, and KS applies it.
    try succeed(["set", "--store", "vestland", "membership", "m-v", "organisation=vestland", "person=Kari Fjord"])
    try succeed(["sync", "--store", "vestland"])
    try succeed(["sync", "--store", "ks"])
    XCTAssertTrue(try succeed(["get", "--store", "ks", "membership", "m-v"]).stdout.contains("Kari Fjord"))
    // KS sees the claim with its fingerprint, and does not confirm it.
    XCTAssertTrue(try succeed(["roster", "confirm", "--store", "ks", "kdd"]).stdout.contains("kdd"))

    // The real KDD joins: the forged file under its name is set aside and
    // written over, and once KS confirms KDD's key, KDD's writes count.
    try succeed(["init", "--store", "kdd", "--replica", "kdd", "--folder", "shared", "--trust", String(hash)])
    let kddSync = try XCTUnwrap(try json(try succeed(["sync", "--store", "kdd", "--json"])) as? [String: Any])
    XCTAssertEqual(kddSync["publishing_blocked"] as? String, nil)
    XCTAssertEqual(
      try Data(contentsOf: forged), try openStore("kdd").changesetBytes(Changeset.ID(author: "kdd", sequence: 1)).map { Data($0) },
      "KDD wrote its own claim over the forged file")
    try succeed(["sync", "--store", "ks"])
    let kddKey = try openStore("kdd").publicKey()
    try succeed(["roster", "confirm", "--store", "ks", "kdd", "--fingerprint", kddKey.fingerprint])
    try succeed(["set", "--store", "kdd", "cases", "sak-k", "title=KDDs sak"])
    for office in ["ks", "kdd", "vestland", "ks", "kdd", "vestland"] { try succeed(["sync", "--store", office]) }
    XCTAssertTrue(try succeed(["get", "--store", "vestland", "cases", "sak-k"]).stdout.contains("KDDs sak"))
    XCTAssertTrue(try succeed(["get", "--store", "vestland", "projects", "p-1"]).stdout.contains("Veilederkorpset"))
    XCTAssertEqual(try openStore("ks").snapshotHash().1, try openStore("vestland").snapshotHash().1)
    XCTAssertEqual(try openStore("ks").snapshotHash().1, try openStore("kdd").snapshotHash().1)
  }

  /// Attack 2: a file signed with a random key, named as KS's next
  /// number. KS does not take it for another installation: it sets it
  /// aside, publishes its own changeset over it, and everyone receives it.
  func testAFileUnderAnOfficesNextNumber_doesNotStopItPublishing() throws {
    try initOffice("ks")
    try initOffice("vestland")
    try succeed(["set", "--store", "ks", "cases", "sak-1", "title=Første", "participants+=ks"])
    try succeed(["sync", "--store", "ks"])
    try succeed(["sync", "--store", "vestland"])
    let ks = try openStore("ks")
    let forged = try dropForged(
      as: "ks", sequence: 2, dependencies: try ks.frontier(), storeID: ks.storeID,
      [.set(RecordRef("cases", "sak-1"), field: "title", value: .text("Kapret"))])
    try succeed(["set", "--store", "ks", "cases", "sak-1", "status=ny"])
    let synced = try XCTUnwrap(try json(try succeed(["sync", "--store", "ks", "--json"])) as? [String: Any])
    XCTAssertEqual(synced["publishing_blocked"] as? String, nil)
    XCTAssertEqual(synced["published"] as? [String], ["ks#2"])
    XCTAssertEqual(try Data(contentsOf: forged), try ks.changesetBytes(Changeset.ID(author: "ks", sequence: 2)).map { Data($0) })
    XCTAssertEqual(try ks.collisions(), [])
    let status = try succeed(["status", "--store", "ks"]).stdout
    XCTAssertFalse(status.contains("Collisions:"), status)
    try succeed(["sync", "--store", "vestland"])
    let record = try succeed(["get", "--store", "vestland", "cases", "sak-1"]).stdout
    XCTAssertTrue(record.contains("Første") && record.contains("ny"), record)
    XCTAssertFalse(record.contains("Kapret"), record)
  }

  /// A real collision (another installation with KS's own key) stops
  /// publishing, and `collisions clear` lets it go on: KS's own changeset
  /// is published, and the other file's bytes stay in KS's store.
  func testACollisionWithTheOfficesOwnKey_stopsPublishingUntilCleared() throws {
    try initOffice("ks")
    try initOffice("vestland")
    try succeed(["set", "--store", "ks", "cases", "sak-1", "title=Første", "participants+=ks"])
    try succeed(["sync", "--store", "ks"])
    let ks = try openStore("ks")
    let copy = try dropForged(
      as: "ks", sequence: 2, dependencies: try ks.frontier(), storeID: ks.storeID,
      [.set(RecordRef("cases", "sak-1"), field: "status", value: .text("avsluttet"))], key: try ks.exportSigningKey())
    try succeed(["set", "--store", "ks", "cases", "sak-1", "status=ny"])
    let stopped = try samhand(["sync", "--store", "ks", "--json"])
    XCTAssertEqual(stopped.status, 1, "a sync that could not publish says so in its exit code")
    let blocked = try XCTUnwrap(try json(stopped) as? [String: Any])
    XCTAssertTrue((blocked["publishing_blocked"] as? String)?.contains("collisions clear") == true, "\(blocked)")
    let listed = try succeed(["collisions", "--store", "ks"]).stdout
    XCTAssertTrue(listed.contains("ks#2"), listed)
    XCTAssertFalse(listed.contains("(none"), "no garbled hash text: \(listed)")
    try fail(["collisions", "clear", "--store", "ks"], status: 64, messages: ["--all"])
    try fail(["collisions", "clear", "ks#9", "--store", "ks"], status: 1, messages: ["no open collision for ks#9"])
    try succeed(["collisions", "clear", "ks#2", "--store", "ks"])
    XCTAssertEqual(try ks.collisions(), [])
    let after = try XCTUnwrap(try json(try succeed(["sync", "--store", "ks", "--json"])) as? [String: Any])
    XCTAssertEqual(after["publishing_blocked"] as? String, nil)
    XCTAssertEqual(after["published"] as? [String], ["ks#2"])
    XCTAssertEqual(try Data(contentsOf: copy), try ks.changesetBytes(Changeset.ID(author: "ks", sequence: 2)).map { Data($0) })
    XCTAssertEqual(try ks.collisionEvidence(Changeset.ID(author: "ks", sequence: 2)).count, 1, "the other file's bytes are kept")
  }
}
