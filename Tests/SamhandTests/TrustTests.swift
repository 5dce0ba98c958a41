import Foundation
import Samhand
import SamhandTestSupport
import XCTest

/// Offices sharing one folder, each with its replica: the SMB-share setting.
private final class Offices {
  let root = TemporaryDirectory("trust")
  let folder: SharedFolder
  var stores: [ReplicaID: Store] = [:]

  let founder: ReplicaID

  init(founder: ReplicaID = "ks", _ others: [ReplicaID]) throws {
    folder = SharedFolder(root.path("shared"))
    self.founder = founder
    stores[founder] = try Store.create(folder: folder, at: root.path(founder.rawValue), replica: founder, schema: .planning)
    for office in others { try join(office) }
  }

  /// Joins as `office`; unless told otherwise, the founder (an
  /// administrator) then confirms its key, as after comparing fingerprints
  /// by phone. The confirmation is published at the founder's next sync.
  @discardableResult
  func join(_ office: ReplicaID, confirmed: Bool = true) throws -> Store {
    let store = try Store.join(folder: folder, at: root.path(office.rawValue), replica: office).0
    stores[office] = store
    if confirmed, try store.roster()?.members[office] != nil, try store.ownKeyIsConfirmed() == false {
      try stores[founder]!.confirmKey(try store.publicKey(), of: office)
    }
    return store
  }

  subscript(office: ReplicaID) -> Store { stores[office]! }

  @discardableResult
  func sync(_ office: ReplicaID) throws -> SyncReport { try self[office].sync(with: folder) }

  /// Syncs everyone twice, so that everything published reaches everyone.
  func syncAll() throws {
    for _ in 0..<2 { for office in stores.keys.sorted() { try sync(office) } }
  }

  /// A changeset signed with `office`'s key that its replica never
  /// committed (so no local check stopped it), put where its file belongs.
  @discardableResult
  func forge(
    _ office: ReplicaID, key: SigningKey? = nil, dependencies: VersionVector? = nil, _ edits: [Edit]
  ) throws -> Changeset.ID {
    let store = self[office]
    var context = try dependencies ?? store.frontier()
    let sequence = context[office] + 1
    context[office] = sequence - 1
    let changeset = Changeset(
      storeID: store.storeID, author: office, sequence: sequence, dependencies: context,
      lamport: 10_000 + sequence, timestamp: 1_780_300_800_000, edits: edits)
    let bytes = ChangesetFile.encode(changeset, signedBy: try key ?? store.exportSigningKey())
    let url = folder.changesetURL(changeset.id)
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    try Data(bytes).write(to: url)
    return changeset.id
  }

  func snapshots() throws -> Set<Data> { Set(try stores.values.map { try $0.snapshot().bytes }) }
}

private func set(_ collection: String, _ id: String, _ field: String, _ text: String) -> Edit {
  .set(RecordRef(collection, id), field: field, value: .text(text))
}

private func problem(_ report: SyncReport, _ id: Changeset.ID) -> String? {
  report.setAside.first { $0.path == "changesets/\(id.author)/\(ChangesetFile.fileName(sequence: id.sequence))" }?.reason
}

final class TrustTests: XCTestCase {
  // MARK: - Keys and the genesis roster

  func testKeys_signEveryFileAndStayOutOfTheFolder() throws {
    let offices = try Offices(["vestland"])
    let key = try offices["vestland"].publicKey()
    try offices["vestland"].transact { try $0.set("membership", "m-1", "organisation", .text("vestland")) }
    try offices.sync("vestland")
    let bytes = try offices["vestland"].changesetBytes(Changeset.ID(author: "vestland", sequence: 1))!
    let changeset = try ChangesetFile.decode(bytes)
    XCTAssertEqual(changeset.signatures.map(\.keyID), [key.hex])
    XCTAssertTrue(key.isValidSignature(changeset.signatures[0].bytes, of: try ChangesetFile.signedBytes(of: bytes)))
    // The private key is nowhere in the shared folder.
    let seed = Data(try offices["vestland"].exportSigningKey().seed).base64EncodedString()
    for path in FolderCopier.files(under: offices.folder.url) {
      let text = String(decoding: try Data(contentsOf: offices.folder.url.appendingPathComponent(path)), as: UTF8.self)
      XCTAssertFalse(text.contains(seed), path)
    }
    // The store (which holds the key) is readable by its owner only.
    let mode = try FileManager.default.attributesOfItem(
      atPath: offices["vestland"].directory.appendingPathComponent(Store.databaseFileName).path)[.posixPermissions] as? Int
    XCTAssertEqual(mode, 0o600)
    XCTAssertEqual(key.fingerprint.count, 39)
  }

  func testGenesis_isPinnedByHashAndCheckedAtJoinAndSync() throws {
    let offices = try Offices([])
    let genesis = try XCTUnwrap(offices["ks"].genesisRoster)
    XCTAssertEqual(try offices.folder.identity().roster, genesis)
    XCTAssertEqual(genesis.members.count, 13)
    XCTAssertEqual(genesis.members["ks"]?.keys, [try offices["ks"].publicKey()])
    XCTAssertEqual(genesis.members["kdd"]?.isAdministrator, true)
    XCTAssertEqual(genesis.members["agder"]?.isAdministrator, false)

    // A wrong --trust creates nothing.
    let wrong = String(repeating: "ab", count: 32)
    XCTAssertThrowsError(
      try Store.join(folder: offices.folder, at: offices.root.path("agder"), replica: "agder", trust: wrong)
    ) { error in
      XCTAssertTrue(SamhandError.untrusted ~= error, "\(error)")
      XCTAssertTrue("\(error)".contains(genesis.hash), "\(error)")
    }
    XCTAssertFalse(FileManager.default.fileExists(atPath: offices.root.path("agder").path))
    let agder = try Store.join(folder: offices.folder, at: offices.root.path("agder"), replica: "agder", trust: genesis.hash).0
    XCTAssertEqual(agder.genesisRoster, genesis)

    // samhand.json replaced by one with another roster: nothing is synced.
    var other = genesis
    other.members["agder"]?.isAdministrator = true
    let forged = SharedFolder.Identity(storeID: agder.storeID, schema: agder.schema, roster: other)
    try forged.canonicalJSON.write(to: offices.folder.url.appendingPathComponent("samhand.json"))
    XCTAssertThrowsError(try agder.sync(with: offices.folder)) { error in
      XCTAssertTrue(SamhandError.untrusted ~= error, "\(error)")
    }
    // Deleted, it is written again from the pinned roster.
    try FileManager.default.removeItem(at: offices.folder.url.appendingPathComponent("samhand.json"))
    try agder.sync(with: offices.folder)
    XCTAssertEqual(try offices.folder.identity().roster, genesis)
  }

  func testRosterJSON_roundTripsAndRejectsBadInput() throws {
    let key = SigningKey.generate().publicKey
    let roster = Roster.cooperation(founder: "kdd", key: key)
    XCTAssertEqual(try Roster(json: roster.canonicalJSON), roster)
    XCTAssertEqual(try Roster(json: roster.canonicalJSON).hash, roster.hash)
    for (text, expected) in [
      (#"{"offices": []}"#, "non-empty"),
      (#"{"offices": [{"slug": "Vestland", "kind": "fylkeskommune"}]}"#, "slug"),
      (#"{"offices": [{"slug": "ks", "kind": "ks", "keys": ["zz"]}]}"#, "64 hex"),
      (#"{"offices": [{"slug": "vestland", "kind": "fylkeskommune"}]}"#, "administrator"),
      (#"{"offices": [{"slug": "ks", "kind": "ks", "colour": "red"}]}"#, "colour"),
      (#"{"offices": [{"slug": "ks", "kind": "ks"}, {"slug": "ks", "kind": "ks"}]}"#, "twice"),
    ] {
      XCTAssertThrowsError(try Roster(json: Data(text.utf8)), text) { error in
        XCTAssertTrue("\(error)".contains(expected), "\(text): \(error)")
      }
    }
    XCTAssertThrowsError(try PublicKey(text: "not a key"))
    XCTAssertEqual(try PublicKey(text: "ed25519:" + key.hex.uppercased()), key)
  }

  // MARK: - Files that are set aside

  func testForgedUnsignedAndRenamedFilesAreSetAside() throws {
    let offices = try Offices(["vestland", "agder"])
    try offices["vestland"].transact { try $0.set("membership", "m-1", "organisation", .text("vestland")) }
    try offices.sync("vestland")
    let good = offices.folder.changesetURL(Changeset.ID(author: "vestland", sequence: 1))
    let bytes = [UInt8](try Data(contentsOf: good))

    // Forged: the payload changed, the signature kept.
    var altered = try ChangesetFile.decode(bytes)
    altered.sequence = 2
    altered.dependencies["vestland"] = 1
    altered.edits = [set("membership", "m-1", "role", "styremedlem")]
    let forgedID = Changeset.ID(author: "vestland", sequence: 2)
    try Data(ChangesetFile.encode(altered)).write(to: offices.folder.changesetURL(forgedID))
    // Unsigned.
    var unsigned = altered
    unsigned.author = "agder"
    unsigned.sequence = 1
    unsigned.dependencies = VersionVector(["vestland": 1])
    unsigned.signatures = []
    let unsignedID = Changeset.ID(author: "agder", sequence: 1)
    try FileManager.default.createDirectory(
      at: offices.folder.changesetsURL(for: "agder"), withIntermediateDirectories: true)
    try Data(ChangesetFile.encode(unsigned)).write(to: offices.folder.changesetURL(unsignedID))
    // A good file copied under another office's name.
    let copied = offices.folder.changesetsURL(for: "rogaland").appendingPathComponent(ChangesetFile.fileName(sequence: 1))
    try FileManager.default.createDirectory(at: copied.deletingLastPathComponent(), withIntermediateDirectories: true)
    try Data(bytes).write(to: copied)

    let report = try offices.sync("ks")
    XCTAssertEqual(report.imported, [Changeset.ID(author: "vestland", sequence: 1)])
    XCTAssertTrue(problem(report, forgedID)?.contains("forged") == true, "\(report.setAside)")
    XCTAssertTrue(problem(report, unsignedID)?.contains("unsigned") == true, "\(report.setAside)")
    XCTAssertTrue(
      problem(report, Changeset.ID(author: "rogaland", sequence: 1))?.contains("renamed") == true, "\(report.setAside)")
    // KS's own changesets are its confirmations of the two keys.
    XCTAssertEqual(try offices["ks"].frontier(), VersionVector(["ks": 2, "vestland": 1]))
    XCTAssertEqual(try offices["ks"].setAsideFiles().count, 3)
    XCTAssertEqual(try offices["ks"].record("membership", "m-1")?.fields["role"], nil)
    // verify names them too.
    let verification = offices.folder.verify()
    XCTAssertTrue(verification.problems.contains { $0.reason.contains("forged") }, "\(verification.problems)")
    XCTAssertTrue(verification.problems.contains { $0.reason.contains("unsigned") }, "\(verification.problems)")

    // The office whose name was forged is not blocked: it rewrites its own
    // file over the forgery and carries on.
    try offices["vestland"].transact { try $0.set("membership", "m-1", "role", .text("planveileder")) }
    let own = try offices.sync("vestland")
    XCTAssertEqual(own.publishingBlocked, nil)
    try offices.sync("ks")
    XCTAssertEqual(try offices["ks"].record("membership", "m-1")?.fields["role"], .value(.text("planveileder")))
  }

  func testNonMember_isSetAsideAndCannotWriteLocally() throws {
    let offices = try Offices(["vestland"])
    let mallory = try offices.join("mallory")
    XCTAssertThrowsError(try mallory.transact { try $0.set("cases", "sak-1", "title", .text("Falsk sak")) }) { error in
      XCTAssertTrue(SamhandError.notPermitted ~= error, "\(error)")
      XCTAssertTrue("\(error)".contains("not in the roster"), "\(error)")
    }
    let id = try offices.forge("mallory", [set("cases", "sak-1", "title", "Falsk sak")])
    let report = try offices.sync("ks")
    XCTAssertTrue(problem(report, id)?.contains("mallory is not in the roster") == true, "\(report.setAside)")
    XCTAssertNil(try offices["ks"].record("cases", "sak-1"))
    XCTAssertEqual(try offices["ks"].frontier()["mallory"], 0)
    XCTAssertEqual(try offices["ks"].untrustedChangesets().map(\.changeset), [id])
    // Still shown at the next sync, without reading the file again.
    XCTAssertNotNil(problem(try offices.sync("ks"), id))
  }

  // MARK: - Rights

  func testRights_writesOutsideAreRefusedLocallyAndRejectedEverywhere() throws {
    let offices = try Offices(["vestland", "rogaland", "kdd"])
    // Local writes outside the rights commit nothing.
    XCTAssertThrowsError(
      try offices["vestland"].transact { try $0.set("membership", "m-r", "organisation", .text("rogaland")) }
    ) { error in
      XCTAssertTrue(SamhandError.notPermitted ~= error, "\(error)")
      XCTAssertTrue("\(error)".contains("organisation"), "\(error)")
    }
    XCTAssertEqual(try offices["vestland"].frontier(), VersionVector())
    // An owned case: the owner and participants may write, others not.
    try offices["vestland"].transact { tx in
      try tx.set("cases", "sak-1", "title", .text("Felles planstrategi"))
      try tx.set("cases", "sak-1", "owner", .text("vestland"))
      try tx.add("cases", "sak-1", "participants", "rogaland")
    }
    // An unowned case may be written by anyone.
    try offices["rogaland"].transact { try $0.set("cases", "sak-open", "title", .text("Åpen sak")) }
    try offices.syncAll()
    try offices["rogaland"].transact { try $0.set("cases", "sak-1", "status", .text("under-arbeid")) }
    try offices["kdd"].transact { try $0.set("cases", "sak-1", "notes", .text("KDD følger saken")) }
    try offices["vestland"].transact { try $0.set("cases", "sak-open", "status", .text("ny")) }
    XCTAssertNoThrow(try offices["ks"].transact { try $0.set("membership", "m-x", "organisation", .text("rogaland")) })
    try offices.syncAll()
    // Removed from the participants, rogaland may no longer write.
    try offices["vestland"].transact { try $0.remove("cases", "sak-1", "participants", "rogaland") }
    try offices.syncAll()
    XCTAssertThrowsError(try offices["rogaland"].transact { try $0.set("cases", "sak-1", "status", .text("avsluttet")) }) {
      error in XCTAssertTrue(SamhandError.notPermitted ~= error, "\(error)")
    }

    // Signed by a member, outside its rights: rejected as a whole, the same everywhere.
    let id = try offices.forge(
      "rogaland",
      [set("cases", "sak-open", "notes", "lovlig"), set("membership", "m-v", "organisation", "vestland")])
    try offices.syncAll()
    for office in ["ks", "vestland", "kdd"] as [ReplicaID] {
      let entry = try XCTUnwrap(try offices[office].history().first { $0.changeset == id }, "\(office)")
      XCTAssertTrue(entry.rejected?.contains("rogaland may not create membership/m-v") == true, "\(entry.rejected ?? "nil")")
      XCTAssertEqual(try offices[office].frontier()["rogaland"], id.sequence)
      XCTAssertNil(try offices[office].record("membership", "m-v"))
      // Rejected as a whole: its lawful edit is not applied either.
      XCTAssertEqual(try offices[office].record("cases", "sak-open")?.fields["notes"], nil)
    }
    XCTAssertTrue(
      offices.folder.verify().problems.contains { $0.reason.contains("rejected by every office") },
      "\(offices.folder.verify().problems)")
    // Rogaland's own replica never held the forged changeset: leave it out.
    offices.stores["rogaland"] = nil
    XCTAssertEqual(try offices.snapshots().count, 1)
  }

  func testRights_concurrentOwnerChangeIsJudgedByCausalPastOnly() throws {
    let offices = try Offices(["vestland", "agder"])
    try offices["vestland"].transact { tx in
      try tx.set("cases", "sak-1", "owner", .text("vestland"))
      try tx.add("cases", "sak-1", "participants", "agder")
    }
    try offices.syncAll()
    // Concurrently: vestland removes agder; agder edits, having seen only its own rights.
    try offices["vestland"].transact { try $0.remove("cases", "sak-1", "participants", "agder") }
    try offices["agder"].transact { try $0.set("cases", "sak-1", "status", .text("under-arbeid")) }
    try offices.syncAll()
    let snapshots = try offices.snapshots()
    XCTAssertEqual(snapshots.count, 1)
    XCTAssertEqual(try offices["ks"].record("cases", "sak-1")?.fields["status"], .value(.text("under-arbeid")))
  }

  // MARK: - Roster changes

  func testRosterAdd_letsANewOfficeWriteAndOnlyAdministratorsMayChangeTheRoster() throws {
    let offices = try Offices(["vestland"])
    let ostfold = try offices.join("ostfold")
    let key = try ostfold.publicKey()
    XCTAssertThrowsError(try ostfold.transact { try $0.set("membership", "m-o", "organisation", .text("ostfold")) })
    // A county may not change the roster.
    XCTAssertThrowsError(try offices["vestland"].transact { try $0.addOffice("ostfold", name: "Østfold", kind: "fylkeskommune", key: key) }) {
      error in XCTAssertTrue("\(error)".contains("only the roster's administrators"), "\(error)")
    }
    try offices["ks"].transact { try $0.addOffice("ostfold", name: "Østfold fylkeskommune", kind: "fylkeskommune", key: key) }
    try offices.syncAll()
    try ostfold.transact { try $0.set("membership", "m-o", "organisation", .text("ostfold")) }
    try offices.syncAll()
    XCTAssertEqual(try offices["vestland"].record("membership", "m-o")?.fields["organisation"], .value(.text("ostfold")))
    XCTAssertEqual(try offices["vestland"].roster()?.members["ostfold"]?.name, "Østfold fylkeskommune")
    XCTAssertEqual(try offices.snapshots().count, 1)
  }

  func testRotation_newKeySignsAndOldKeyIsRevoked() throws {
    let offices = try Offices(["vestland"])
    let oldKey = try offices["vestland"].exportSigningKey()
    try offices["vestland"].transact { try $0.set("membership", "m-1", "organisation", .text("vestland")) }
    let rotation = try offices["vestland"].rotateKey()
    XCTAssertEqual(rotation.old, oldKey.publicKey)
    XCTAssertEqual(try offices["vestland"].publicKey(), rotation.new)
    try offices["vestland"].transact { try $0.set("membership", "m-1", "role", .text("planveileder")) }
    try offices.syncAll()
    XCTAssertEqual(try offices["ks"].record("membership", "m-1")?.fields["role"], .value(.text("planveileder")))
    let member = try XCTUnwrap(try offices["ks"].roster()?.members["vestland"])
    XCTAssertEqual(member.activeKeys, [rotation.new])
    XCTAssertEqual(member.revoked[rotation.old], rotation.changeset.sequence + 1)
    // The old key, used after the rotation was seen: set aside.
    let id = try offices.forge("vestland", key: oldKey, [set("membership", "m-1", "role", "styremedlem")])
    let report = try offices.sync("ks")
    XCTAssertTrue(problem(report, id)?.contains("revoked") == true, "\(report.setAside)")
    XCTAssertEqual(try offices["ks"].record("membership", "m-1")?.fields["role"], .value(.text("planveileder")))
  }

  func testRevocation_byAnAdministratorStopsTheKeyAndANewKeyRestoresTheOffice() throws {
    let offices = try Offices(["vestland", "kdd"])
    try offices["vestland"].transact { try $0.set("membership", "m-1", "organisation", .text("vestland")) }
    try offices.syncAll()
    let stolen = try offices["vestland"].exportSigningKey()
    let seen = try offices["kdd"].frontier()["vestland"]
    try offices["kdd"].transact { try $0.revokeKey(stolen.publicKey, of: "vestland", from: seen + 1) }
    try offices.syncAll()
    XCTAssertThrowsError(try offices["vestland"].transact { try $0.set("membership", "m-1", "role", .text("x")) }) { error in
      XCTAssertTrue(SamhandError.notPermitted ~= error, "\(error)")
      XCTAssertTrue("\(error)".contains("revoked"), "\(error)")
    }
    let forged = try offices.forge("vestland", key: stolen, [set("membership", "m-1", "role", "falsk")])
    XCTAssertTrue(problem(try offices.sync("ks"), forged)?.contains("revoked") == true)
    try FileManager.default.removeItem(at: offices.folder.changesetURL(forged))
    // Vestland reinstalls with a new key, which an administrator adds.
    let fresh = try Store.join(folder: offices.folder, at: offices.root.path("vestland-new"), replica: "vestland").0
    let freshKey = try fresh.publicKey()
    try offices["ks"].transact { $0.addKey(freshKey, to: "vestland") }
    try offices.sync("ks")
    try fresh.sync(with: offices.folder)
    try fresh.transact { try $0.set("membership", "m-1", "role", .text("styremedlem")) }
    try fresh.sync(with: offices.folder)
    try offices.sync("kdd")
    XCTAssertEqual(try offices["kdd"].record("membership", "m-1")?.fields["role"], .value(.text("styremedlem")))
  }

  /// Issue 19, point 5: a changeset written with a stolen key before the
  /// revocation reached its writer, and one by an office retired meanwhile,
  /// stay applied alike everywhere (the limit stands, `Docs/FORMATS.md`
  /// section 9) and are listed, with the records they wrote, for review.
  func testRevocationAndRetirementThatArriveLate_areListedForReviewAlikeEverywhere() throws {
    let offices = try Offices(["vestland", "agder", "kdd"])
    try offices["vestland"].transact { try $0.set("membership", "m-1", "organisation", .text("vestland")) }
    try offices["agder"].transact { try $0.set("membership", "m-2", "organisation", .text("agder")) }
    try offices.syncAll()
    let stolen = try offices["vestland"].exportSigningKey()
    let seen = try offices["kdd"].frontier()["vestland"]
    let before = try offices["kdd"].frontier()
    // KDD revokes the key and retires Agder; the thief and Agder write without having seen either.
    try offices["kdd"].transact { tx in
      try tx.revokeKey(stolen.publicKey, of: "vestland", from: seen + 1)
      tx.retireOffice("agder", successors: [])
    }
    let forged = try offices.forge("vestland", key: stolen, dependencies: before, [set("membership", "m-1", "role", "falsk")])
    try offices["agder"].transact { try $0.set("membership", "m-2", "role", .text("leder")) }
    try offices.sync("agder")
    try offices.syncAll()
    let agderLate = Changeset.ID(author: "agder", sequence: try offices["ks"].frontier()["agder"])
    XCTAssertEqual(try offices["ks"].record("membership", "m-1")?.fields["role"], .value(.text("falsk")), "accepted: it did not see the revocation")
    for office: ReplicaID in ["ks", "kdd", "agder"] {
      let late = try offices[office].lateChangesets()
      XCTAssertEqual(late.map(\.changeset), [agderLate, forged].sorted(), "\(office)")
      let stolenEntry = try XCTUnwrap(late.first { $0.changeset == forged })
      XCTAssertTrue(stolenEntry.reason.contains("revokes from #\(seen + 1)"), stolenEntry.reason)
      XCTAssertEqual(stolenEntry.records, [RecordRef("membership", "m-1")])
      let retiredEntry = try XCTUnwrap(late.first { $0.changeset == agderLate })
      XCTAssertTrue(retiredEntry.reason.contains("without seeing agder's retirement"), retiredEntry.reason)
      XCTAssertEqual(retiredEntry.records, [RecordRef("membership", "m-2")])
    }
    // (Vestland's own replica meets a file under its own number that it did not write: a collision, issue 6.)
    XCTAssertEqual(Set(try ["ks", "kdd", "agder"].map { try offices[$0].snapshotHash().1 }).count, 1)
    let problems = offices.folder.verify().problems
    XCTAssertTrue(problems.contains { $0.path.hasSuffix("vestland/\(ChangesetFile.fileName(sequence: forged.sequence))") && $0.reason.hasPrefix("late: signed with key") }, "\(problems)")
    XCTAssertTrue(problems.contains { $0.reason.contains("agder's retirement") && $0.reason.contains("membership/m-2") }, "\(problems)")
    // What comes after it became known is set aside, as before.
    let after = try offices.forge(
      "vestland", key: stolen, dependencies: try offices["ks"].frontier(), [set("membership", "m-1", "role", "enda en")])
    XCTAssertTrue(problem(try offices.sync("ks"), after)?.contains("revoked") == true)
    XCTAssertEqual(try offices["ks"].lateChangesets().count, 2)
  }

  func testClaim_anOutsiderCannotTakeOverAKeylessOffice() throws {
    // KS founds the folder; KDD, an administrator, is listed without a key.
    let offices = try Offices(["vestland"])
    try offices.syncAll()
    // Someone with access to the folder signs as kdd before KDD joins: it
    // rewrites a case and retires Vestland.
    let impostor = try offices.join("kdd", confirmed: false)
    XCTAssertEqual(try impostor.ownKeyIsConfirmed(), false)
    try impostor.transact { tx in
      try tx.set("cases", "sak-1", "title", .text("Kapret"))
      tx.retireOffice("vestland", successors: [])
    }
    try impostor.sync(with: offices.folder)
    let attack = try offices.sync("ks")
    XCTAssertEqual(attack.imported, [], "nothing the claimant wrote is applied")
    XCTAssertTrue(
      attack.setAside.contains { $0.path.hasPrefix("changesets/kdd/") && $0.reason.contains("no administrator has confirmed") },
      "\(attack.setAside)")
    XCTAssertNil(try offices["ks"].record("cases", "sak-1"))
    XCTAssertEqual(try offices["ks"].roster()?.members["vestland"]?.isRetired, false)
    // Vestland still writes, and KS still applies it.
    try offices["vestland"].transact { try $0.set("membership", "m-v", "organisation", .text("vestland")) }
    try offices.syncAll()
    XCTAssertEqual(try offices["ks"].record("membership", "m-v")?.fields["organisation"], .value(.text("vestland")))

    // The real KDD joins and writes; KS sees two keys claiming kdd, and
    // confirms the one KDD gave it by phone.
    offices.stores["kdd"] = nil
    let real = try Store.join(folder: offices.folder, at: offices.root.path("kdd-real"), replica: "kdd").0
    XCTAssertNotNil(try real.claimKeyIfNeeded())
    try real.transact { try $0.set("cases", "sak-2", "title", .text("Ekte sak")) }
    let realReport = try real.sync(with: offices.folder)
    XCTAssertNil(realReport.publishingBlocked, "a file under its name signed by another key does not stop it")
    try offices.sync("ks")
    let claimed = Set(try offices["ks"].unconfirmedClaims().filter { $0.changeset.author == "kdd" }.map(\.key))
    XCTAssertEqual(claimed, [try impostor.publicKey(), try real.publicKey()])
    try offices["ks"].confirmKey(try real.publicKey(), of: "kdd")
    try offices.sync("ks")
    try real.sync(with: offices.folder)
    try offices.syncAll()
    for store in [offices["ks"], offices["vestland"], real] {
      XCTAssertEqual(try store.record("cases", "sak-2")?.fields["title"], .value(.text("Ekte sak")))
      XCTAssertNil(try store.record("cases", "sak-1"), "the impostor's write is never applied")
      XCTAssertEqual(try store.roster()?.members["vestland"]?.isRetired, false)
      XCTAssertEqual(try store.roster()?.members["kdd"]?.keys, [try real.publicKey()])
    }
    XCTAssertEqual(try real.ownKeyIsConfirmed(), true)
    XCTAssertEqual(Set(try [offices["ks"], offices["vestland"], real].map { try $0.snapshotHash().1 }).count, 1)
  }

  func testClaim_aRosterOfFormat1StillTrustsTheFirstKey() throws {
    // Folders made before claims needed confirming keep their rule: it is
    // part of what every office judged their changesets by.
    let directory = TemporaryDirectory("format-1-claims")
    let folder = SharedFolder(directory.path("shared"))
    let key = SigningKey.generate()
    var roster = Roster.cooperation(founder: "ks", key: key.publicKey)
    roster.formatVersion = 1
    let identity = SharedFolder.Identity(storeID: .random(), schema: .planning, roster: roster)
    XCTAssertEqual(identity.formatVersion, 3, "a roster of format 1 makes a layout 3 folder")
    try folder.initialise(identity)
    let ks = try Store.join(folder: folder, at: directory.path("ks"), replica: "ks", key: key).0
    let agder = try Store.join(folder: folder, at: directory.path("agder"), replica: "agder").0
    XCTAssertNil(try agder.claimKeyIfNeeded(), "no claim to publish: the first changeset claims the key")
    try agder.transact { try $0.set("membership", "m-a", "organisation", .text("agder")) }
    try agder.sync(with: folder)
    try ks.sync(with: folder)
    XCTAssertEqual(try ks.record("membership", "m-a")?.fields["organisation"], .value(.text("agder")))
    XCTAssertEqual(try ks.roster()?.members["agder"]?.keys, [try agder.publicKey()])
  }

  // MARK: - The county split of 2024

  func testCountySplit2024_elevenBecomeFifteenAndEveryReplicaConverges() throws {
    let thirteen = Office.cooperation.map(\.slug)
    let offices = try Offices(founder: "kdd", thirteen.filter { $0 != "kdd" })
    // Before the split, every county keeps a membership record, and the
    // three counties that will split own a case each.
    for office in thirteen {
      try offices[office].transact { tx in
        try tx.set("membership", "vk-\(office)", "organisation", .text(office.rawValue))
        try tx.set("membership", "vk-\(office)", "network", .text("veilederkorpset"))
      }
    }
    for split in CountySplit.all {
      try offices[split.retired].transact { tx in
        try tx.set("cases", "sak-\(split.retired)", "owner", .text(split.retired.rawValue))
        try tx.add("cases", "sak-\(split.retired)", "participants", split.retired.rawValue)
        try tx.add("cases", "sak-\(split.retired)", "participants", "vestland")
      }
    }
    try offices.syncAll()
    let before = try offices["kdd"].history().count

    // 1 January 2024: the new counties join with their keys, the old ones retire.
    for split in CountySplit.all {
      for successor in split.successors {
        let store = try offices.join(successor.slug)
        let key = try store.publicKey()
        try offices["ks"].transact { try $0.addOffice(successor.slug, name: successor.name, kind: "fylkeskommune", key: key) }
      }
      try offices["ks"].transact { $0.retireOffice(split.retired, successors: split.successors.map(\.slug)) }
    }
    // Viken, offline, writes before it has seen its retirement: accepted.
    try offices["viken"].transact { try $0.set("membership", "vk-viken", "role", .text("planveileder")) }
    try offices.syncAll()
    // KS hands the retired counties' records to their successors.
    for split in CountySplit.all {
      XCTAssertNotNil(try offices["ks"].transferRecords(from: split.retired))
    }
    try offices.syncAll()
    XCTAssertEqual(
      try offices["kdd"].record("cases", "sak-viken")?.fields["participants"],
      .set(["akershus", "buskerud", "ostfold", "vestland"]))
    XCTAssertEqual(try offices["kdd"].record("cases", "sak-viken")?.fields["owner"], .value(.text("akershus")))
    XCTAssertEqual(try offices["kdd"].record("membership", "vk-viken")?.fields["organisation"], .value(.text("akershus")))
    // The successors write to their records; the retired counties can no longer.
    try offices["ostfold"].transact { try $0.set("cases", "sak-viken", "status", .text("under-arbeid")) }
    try offices["telemark"].transact { try $0.set("cases", "sak-vestfold-og-telemark", "status", .text("ny")) }
    XCTAssertThrowsError(try offices["viken"].transact { try $0.set("membership", "vk-viken", "role", .text("x")) }) {
      error in XCTAssertTrue("\(error)".contains("retired"), "\(error)")
    }
    let late = try offices.forge("viken", [set("membership", "vk-viken", "role", "etter reformen")])
    try offices.syncAll()

    let snapshots = try offices.snapshots()
    XCTAssertEqual(snapshots.count, 1, "all 20 replicas hold the same state")
    let frontiers = Set(try offices.stores.values.map { try $0.frontier() })
    XCTAssertEqual(frontiers.count, 1)
    XCTAssertEqual(try offices["kdd"].record("cases", "sak-viken")?.fields["status"], .value(.text("under-arbeid")))
    XCTAssertEqual(try offices["kdd"].record("membership", "vk-viken")?.fields["role"], .value(.text("planveileder")))
    XCTAssertTrue(try offices["kdd"].untrustedChangesets().contains { $0.changeset == late && $0.reason.contains("retired") })
    // Nothing in history is lost.
    XCTAssertGreaterThan(try offices["kdd"].history().count, before)
    XCTAssertTrue(try offices["kdd"].history().contains { $0.changeset == Changeset.ID(author: "viken", sequence: 1) })
    let roster = try XCTUnwrap(try offices["kdd"].roster())
    XCTAssertEqual(roster.members.values.filter { !$0.isRetired && $0.kind == "fylkeskommune" }.count, 15)
    XCTAssertEqual(roster.members["viken"]?.successors, ["ostfold", "akershus", "buskerud"])
  }
}

/// The splits of 2024 from the fixture, checked against the built-in copy.
private enum CountySplit {
  static var all: [CountyReform.Split] { CountyReform.splits2024 }
}

final class CountyReformFixtureTests: XCTestCase {
  func testReformFixture_matchesTheBuiltInCopy() throws {
    let fixture = try String(contentsOf: fixturesDirectory().appendingPathComponent("reform-2024.json"), encoding: .utf8)
    XCTAssertEqual(fixture, CountyReform.reform2024JSON)
    XCTAssertEqual(CountyReform.splits2024.map(\.retired), ["viken", "vestfold-og-telemark", "troms-og-finnmark"])
    XCTAssertEqual(CountyReform.splits2024.flatMap(\.successors).count, 7)
  }
}
