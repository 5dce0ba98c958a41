import Foundation
import Samhand
import XCTest

/// `samhand key`, `samhand roster`, `init --trust/--key/--roster`, and how
/// `status`, `sync` and `verify` show what the roster and the rights refuse.
final class TrustCommandTests: CLITestCase {
  // MARK: - Helpers

  /// The office's public key in hex, as `key show --json` prints it.
  func publicKey(_ store: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
    let object = try XCTUnwrap(
      try json(try succeed(["key", "show", "--store", store, "--json"], file: file, line: line)) as? [String: Any])
    return try XCTUnwrap(object["public_key"] as? String, file: file, line: line)
  }

  /// The roster hash a created store printed (`roster: <hash>`).
  func rosterHash(_ output: Output, file: StaticString = #filePath, line: UInt = #line) throws -> String {
    let found = output.stdout.split(separator: "\n").first { $0.hasPrefix("roster: ") }
    let text = try XCTUnwrap(found, "no 'roster:' line in \(output.stdout)", file: file, line: line)
    return String(text.dropFirst("roster: ".count).prefix(64))
  }

  /// `roster show --json`, by slug.
  func roster(_ store: String) throws -> [String: [String: Any]] {
    let array = try XCTUnwrap(try json(try succeed(["roster", "show", "--store", store, "--json"])) as? [[String: Any]])
    var members: [String: [String: Any]] = [:]
    for member in array { members[try XCTUnwrap(member["slug"] as? String)] = member }
    return members
  }

  /// A changeset signed with the office's own key (or `key`) that its
  /// replica never committed, so no local check stopped it, put into the
  /// shared folder where its file belongs.
  @discardableResult
  func forge(_ storeName: String, key: SigningKey? = nil, _ edits: [Edit]) throws -> Changeset.ID {
    let store = try openStore(storeName)
    let frontier = try store.frontier()
    let sequence = frontier[store.replica] + 1
    let changeset = Changeset(
      storeID: store.storeID, author: store.replica, sequence: sequence, dependencies: frontier,
      lamport: 10_000 + sequence, timestamp: 1_780_300_800_000, edits: edits)
    let bytes = ChangesetFile.encode(changeset, signedBy: try key ?? store.exportSigningKey())
    let url = try XCTUnwrap(try store.folder()).changesetURL(changeset.id)
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    try Data(bytes).write(to: url)
    return changeset.id
  }

  func path(_ id: Changeset.ID) -> String {
    "changesets/\(id.author)/\(ChangesetFile.fileName(sequence: id.sequence))"
  }

  // MARK: - key

  func testKeyShow_printsTheKeyItsFingerprintAndWhetherTheRosterListsIt() throws {
    listTestKeys = false
    try initOffice("ks")
    let store = try openStore("ks")
    let key = try store.publicKey()
    let output = try succeed(["key", "show", "--store", "ks"])
    XCTAssertTrue(output.stdout.contains(key.hex), output.stdout)
    XCTAssertTrue(output.stdout.contains(key.fingerprint), output.stdout)
    XCTAssertTrue(output.stdout.contains("in force"), output.stdout)

    let object = try XCTUnwrap(try json(try succeed(["key", "show", "--store", "ks", "--json"])) as? [String: Any])
    XCTAssertEqual(object["office"] as? String, "ks")
    XCTAssertEqual(object["public_key"] as? String, key.hex)
    XCTAssertEqual(object["fingerprint"] as? String, key.fingerprint)
    XCTAssertEqual(object["status"] as? String, "in-force")
    XCTAssertEqual(key.fingerprint.split(separator: " ").count, 8)
    XCTAssertEqual(try PublicKey(text: try XCTUnwrap(object["public_key"] as? String)), key)

    // An office in the genesis roster without a key waits for an
    // administrator to confirm the key it claims; its own writes go on.
    try initOffice("vestland", confirmed: false)
    let before = try succeed(["key", "show", "--store", "vestland"])
    XCTAssertTrue(before.stdout.contains("WAITING for an administrator"), before.stdout)
    let waiting = try XCTUnwrap(try json(try succeed(["key", "show", "--store", "vestland", "--json"])) as? [String: Any])
    XCTAssertEqual(waiting["status"] as? String, "awaiting-confirmation")
    try succeed(["set", "--store", "vestland", "membership", "m-1", "organisation=vestland"])
    try succeed(["sync", "--store", "vestland"])
    try succeed(["sync", "--store", "ks"])
    let claims = try succeed(["roster", "confirm", "--store", "ks"])
    let vestlandKey = try openStore("vestland").publicKey()
    XCTAssertTrue(claims.stdout.contains(vestlandKey.fingerprint), claims.stdout)
    try succeed(["roster", "confirm", "--store", "ks", "vestland", "--fingerprint", vestlandKey.fingerprint])
    try succeed(["sync", "--store", "ks"])
    try succeed(["sync", "--store", "vestland"])
    let after = try XCTUnwrap(try json(try succeed(["key", "show", "--store", "vestland", "--json"])) as? [String: Any])
    XCTAssertEqual(after["status"] as? String, "in-force")
    XCTAssertEqual(after["in_force"] as? Bool, true)
    XCTAssertTrue(try succeed(["get", "--store", "ks", "membership", "m-1"]).stdout.contains("vestland"))
  }

  func testKeyRotate_theOtherOfficesAcceptTheNewKey() throws {
    try initOffice("ks")
    try initOffice("vestland")
    try succeed(["set", "--store", "vestland", "membership", "m-1", "organisation=vestland", "person=Kari Fjord"])
    let old = try publicKey("vestland")
    let rotated = try succeed(["key", "rotate", "--store", "vestland"])
    let new = try publicKey("vestland")
    XCTAssertNotEqual(old, new)
    let oldKey = try PublicKey(text: old)
    let newKey = try PublicKey(text: new)
    XCTAssertTrue(rotated.stdout.contains(oldKey.fingerprint), rotated.stdout)
    XCTAssertTrue(rotated.stdout.contains(newKey.fingerprint), rotated.stdout)
    XCTAssertTrue(rotated.stdout.contains("vestland#2"), rotated.stdout)
    XCTAssertTrue(rotated.stdout.contains("run 'samhand sync' to publish"), rotated.stdout)
    try succeed(["sync", "--store", "vestland"])

    let synced = try succeed(["sync", "--store", "ks", "--json"])
    let report = try XCTUnwrap(try json(synced) as? [String: Any])
    XCTAssertEqual((report["imported"] as? [String])?.sorted(), ["vestland#1", "vestland#2"])
    // The first write signed with the new key is accepted at KS.
    try succeed(["set", "--store", "vestland", "membership", "m-1", "role=planveileder"])
    try succeed(["sync", "--store", "vestland"])
    let second = try XCTUnwrap(try json(try succeed(["sync", "--store", "ks", "--json"])) as? [String: Any])
    XCTAssertEqual(second["imported"] as? [String], ["vestland#3"])
    XCTAssertEqual((second["set_aside"] as? [Any])?.count, 0)
    XCTAssertEqual((second["rejected"] as? [Any])?.count, 0)
    XCTAssertTrue(try succeed(["get", "--store", "ks", "membership", "m-1"]).stdout.contains("planveileder"))

    let keys = try XCTUnwrap(try roster("ks")["vestland"]?["keys"] as? [[String: Any]])
    XCTAssertEqual(keys.count, 2)
    XCTAssertEqual(keys.first { $0["public_key"] as? String == old }?["revoked_from"] as? Int, 3)
    XCTAssertTrue(keys.first { $0["public_key"] as? String == new }?["revoked_from"] is NSNull)
    let show = try succeed(["roster", "show", "--store", "ks"])
    XCTAssertTrue(show.stdout.contains("\(oldKey.fingerprint)  revoked from #3"), show.stdout)
  }

  func testKeyExport_writesAFileOnlyTheOwnerCanReadAndNeverOverwrites() throws {
    try initOffice("ks")
    let output = try succeed(["key", "export", "--store", "ks", "--out", "ks.key"])
    XCTAssertTrue(output.stderr.contains("keep"), output.stderr)
    let url = temp.path("ks.key")
    let mode = try XCTUnwrap(try FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions] as? Int)
    XCTAssertEqual(mode & 0o777, 0o600)
    let key = try SigningKey(fileText: try String(contentsOf: url, encoding: .utf8))
    XCTAssertEqual(key.publicKey, try openStore("ks").publicKey())

    try Data("mine".utf8).write(to: temp.path("notes.txt"))
    try fail(["key", "export", "--store", "ks", "--out", "notes.txt"], status: 1, messages: ["already exists"])
    XCTAssertEqual(try String(contentsOf: temp.path("notes.txt"), encoding: .utf8), "mine")
    try fail(["key", "export", "--store", "ks"], status: 64, messages: ["--out"])
  }

  // MARK: - roster add

  func testRosterAdd_aNewOfficeJoinsIsAddedAndItsWriteReachesKS() throws {
    let created = try succeed(["init", "--store", "ks", "--replica", "ks", "--folder", "shared"])
    let hash = try rosterHash(created)
    XCTAssertTrue(created.stdout.contains("--trust \(hash)"), created.stdout)
    try initOffice("vestland")

    let joined = try succeed([
      "init", "--store", "ostfold", "--replica", "ostfold", "--folder", "shared", "--trust", hash, "--new-office",
    ])
    let key = try publicKey("ostfold")
    let addLine = "samhand roster add ostfold --key \(key)"
    XCTAssertTrue(joined.stderr.contains(addLine), joined.stderr)
    XCTAssertTrue(
      try succeed(["key", "show", "--store", "ostfold"]).stdout.contains("not a member"))
    try fail(
      ["set", "--store", "ostfold", "membership", "m-o", "organisation=ostfold"], status: 1,
      messages: ["ostfold is not in the roster"])

    // Only an administrator may add it.
    try fail(
      ["roster", "add", "ostfold", "--key", key, "--store", "vestland"], status: 1,
      messages: ["only the roster's administrators"])
    let added = try succeed(Array(addLine.split(separator: " ").dropFirst().map(String.init)) + ["--store", "ks"])
    XCTAssertTrue(added.stdout.contains("Added ostfold"), added.stdout)
    XCTAssertTrue(added.stdout.contains("Østfold fylkeskommune"), added.stdout)
    XCTAssertTrue(added.stdout.contains("ks#1"), added.stdout)
    XCTAssertTrue(added.stdout.contains("samhand sync"), added.stdout)
    let member = try XCTUnwrap(try roster("ks")["ostfold"])
    XCTAssertEqual(member["kind"] as? String, "fylkeskommune")
    XCTAssertEqual(member["admin"] as? Bool, false)
    XCTAssertEqual((member["keys"] as? [[String: Any]])?.first?["public_key"] as? String, key)
    // Adding the same key again writes nothing.
    let again = try succeed(["roster", "add", "ostfold", "--key", key, "--store", "ks"])
    XCTAssertTrue(again.stdout.contains("nothing written"), again.stdout)

    try succeed(["sync", "--store", "ks"])
    try succeed(["sync", "--store", "ostfold"])
    XCTAssertTrue(try succeed(["key", "show", "--store", "ostfold"]).stdout.contains("in force"))
    try succeed(["set", "--store", "ostfold", "membership", "m-o", "organisation=ostfold", "person=Åse Lind"])
    try succeed(["sync", "--store", "ostfold"])
    let synced = try succeed(["sync", "--store", "ks"])
    XCTAssertTrue(synced.stdout.contains("imported:   1 changeset from ostfold"), synced.stdout)
    XCTAssertTrue(try succeed(["get", "--store", "ks", "membership", "m-o"]).stdout.contains("Åse Lind"))
    // Vestland, which syncs after, accepts it too.
    try succeed(["sync", "--store", "vestland"])
    XCTAssertTrue(try succeed(["get", "--store", "vestland", "membership", "m-o"]).stdout.contains("Åse Lind"))
  }

  func testRosterAdd_checksItsArguments() throws {
    try initOffice("ks")
    try fail(["roster", "add", "ostfold", "--key", "abc", "--store", "ks"], status: 64, messages: ["64 hex digits"])
    try fail(["roster", "add", "Østfold", "--key", String(repeating: "0", count: 64), "--store", "ks"], status: 64, messages: ["slug"])
    // A key another office already has.
    let own = try publicKey("ks")
    try fail(["roster", "add", "ostfold", "--key", own, "--store", "ks"], status: 1, messages: ["already ks's"])
    let custom = try succeed([
      "roster", "add", "statsforvalteren", "--key", "ed25519:" + SigningKey.generate().publicKey.hex,
      "--name", "Statsforvalteren i Vestland", "--kind", "other", "--admin", "--store", "ks", "--json",
    ])
    let object = try XCTUnwrap(try json(custom) as? [String: Any])
    XCTAssertEqual(object["action"] as? String, "added")
    XCTAssertEqual(object["changeset"] as? String, "ks#1")
    let member = try XCTUnwrap(try roster("ks")["statsforvalteren"])
    XCTAssertEqual(member["name"] as? String, "Statsforvalteren i Vestland")
    XCTAssertEqual(member["kind"] as? String, "other")
    XCTAssertEqual(member["admin"] as? Bool, true)
  }

  // MARK: - What the roster and the rights refuse

  func testNonMember_cannotWriteAndItsForgedFileIsSetAsideAndShown() throws {
    try initOffice("ks")
    let joined = try succeed(["init", "--store", "mallory", "--replica", "mallory", "--folder", "shared", "--new-office"])
    XCTAssertTrue(joined.stderr.contains("not a member"), joined.stderr)
    try fail(
      ["set", "--store", "mallory", "cases", "sak-1", "title=Falsk sak"], status: 1,
      messages: ["mallory is not in the roster", "samhand roster add mallory"])
    XCTAssertEqual(try changesetCount("mallory"), 0)

    // Written past the local check, straight into the folder.
    let id = try forge("mallory", [.set(RecordRef("cases", "sak-1"), field: "title", value: .text("Falsk sak"))])
    let synced = try succeed(["sync", "--store", "ks"])
    XCTAssertTrue(synced.stdout.contains("set aside:  1 file"), synced.stdout)
    XCTAssertTrue(synced.stdout.contains("\(path(id)): mallory is not in the roster"), synced.stdout)
    try fail(["get", "--store", "ks", "cases", "sak-1"], messages: ["sak-1"])

    let status = try succeed(["status", "--store", "ks"])
    XCTAssertTrue(status.stdout.contains("Set aside:   1 file"), status.stdout)
    XCTAssertTrue(status.stdout.contains("\(path(id)): mallory is not in the roster"), status.stdout)
    let object = try XCTUnwrap(try json(try succeed(["status", "--store", "ks", "--json"])) as? [String: Any])
    let setAside = try XCTUnwrap(object["set_aside"] as? [[String: Any]])
    XCTAssertEqual(setAside.map { $0["path"] as? String }, [path(id)])
    XCTAssertTrue((setAside[0]["reason"] as? String)?.contains("not in the roster") == true)
    // Still shown after the next sync.
    try succeed(["sync", "--store", "ks"])
    XCTAssertTrue(try succeed(["status", "--store", "ks"]).stdout.contains("mallory is not in the roster"))

    // verify names it, and fails; mallory's head, which its sync wrote,
    // counts for nothing either.
    let verified = try fail(["verify", "--folder", "shared"], status: 1, messages: ["2 problems"])
    XCTAssertTrue(verified.stdout.contains(path(id)), verified.stdout)
    XCTAssertTrue(verified.stdout.contains("not in the roster"), verified.stdout)
    XCTAssertTrue(verified.stdout.contains("heads/mallory.json: not counted: mallory is not in the roster"), verified.stdout)
  }

  func testForgedFile_isSetAsideWithItsReason() throws {
    try initOffice("ks")
    try initOffice("vestland")
    try succeed(["set", "--store", "vestland", "membership", "m-1", "organisation=vestland"])
    try succeed(["sync", "--store", "vestland"])
    // Signed by a key that is not vestland's: the signature verifies, the roster refuses it.
    let id = try forge(
      "vestland", key: SigningKey.generate(),
      [.set(RecordRef("membership", "m-1"), field: "role", value: .text("styremedlem"))])
    try succeed(["sync", "--store", "ks"])
    let status = try succeed(["status", "--store", "ks"])
    XCTAssertTrue(status.stdout.contains("\(path(id)): signed with key"), status.stdout)
    XCTAssertTrue(status.stdout.contains("not a key of vestland"), status.stdout)
    // Bytes changed after signing: forged.
    let url = temp.path("shared/" + path(id))
    var bytes = [UInt8](try Data(contentsOf: url))
    bytes[bytes.count / 2] ^= 0x01
    try Data(bytes).write(to: url)
    let synced = try succeed(["sync", "--store", "ks"])
    XCTAssertTrue(synced.stdout.contains(path(id)), synced.stdout)
    let status2 = try succeed(["status", "--store", "ks"])
    XCTAssertTrue(status2.stdout.contains(path(id)), status2.stdout)
    XCTAssertFalse(try succeed(["get", "--store", "ks", "membership", "m-1"]).stdout.contains("styremedlem"))
  }

  func testRights_aWriteOutsideThemFailsLocallyAndARemoteOneIsShownAsRejected() throws {
    try initOffice("ks")
    try initOffice("vestland")
    try initOffice("rogaland")
    let refused = try fail(
      ["set", "--store", "vestland", "membership", "m-r", "organisation=rogaland", "person=Ola"], status: 1,
      messages: ["vestland may not create membership/m-r for rogaland", "organisation"])
    XCTAssertTrue(refused.stdout.isEmpty, refused.stdout)
    XCTAssertEqual(try changesetCount("vestland"), 0)
    // Within the rights: its own record, and a case it is named in.
    try succeed(["set", "--store", "vestland", "membership", "m-v", "organisation=vestland"])
    try succeed(["set", "--store", "vestland", "cases", "sak-1", "owner=vestland", "participants+=rogaland"])
    try succeed(["sync", "--store", "vestland"])
    try succeed(["sync", "--store", "rogaland"])
    try succeed(["set", "--store", "rogaland", "cases", "sak-1", "status=under-arbeid"])
    try fail(
      ["set", "--store", "rogaland", "membership", "m-v", "role=styremedlem"], status: 1,
      messages: ["rogaland may not write membership/m-v", "organisation"])

    // Signed by a member, outside its rights: applied as rejected everywhere, shown with the reason.
    let id = try forge("vestland", [.set(RecordRef("membership", "m-x"), field: "organisation", value: .text("rogaland"))])
    let synced = try succeed(["sync", "--store", "ks"])
    XCTAssertTrue(synced.stdout.contains("rejected:   \(id): vestland may not create membership/m-x"), synced.stdout)
    let status = try succeed(["status", "--store", "ks"])
    XCTAssertTrue(status.stdout.contains("Rejected:    1 changeset broke the schema or the writer's rights"), status.stdout)
    XCTAssertTrue(status.stdout.contains("\(id): vestland may not create membership/m-x for rogaland"), status.stdout)
    let object = try XCTUnwrap(try json(try succeed(["status", "--store", "ks", "--json"])) as? [String: Any])
    let rejected = try XCTUnwrap(object["rejected"] as? [[String: Any]])
    XCTAssertEqual(rejected.map { $0["changeset"] as? String }, [id.description])
    let log = try succeed(["log", "--store", "ks"])
    XCTAssertTrue(log.stdout.contains("REJECTED (changed nothing): vestland may not create membership/m-x"), log.stdout)
    try fail(["get", "--store", "ks", "membership", "m-x"], messages: ["m-x"])
    let verified = try fail(["verify", "--folder", "shared"], status: 1, messages: [])
    XCTAssertTrue(verified.stdout.contains("\(path(id)): rejected by every office"), verified.stdout)
  }

  // MARK: - roster retire, transfer, revoke

  func testRosterRetireAndTransfer_handTheRecordsToTheSuccessors() throws {
    try initOffice("ks")
    try initOffice("viken")
    try succeed(["set", "--store", "viken", "cases", "sak-v", "title=Vikens sak", "owner=viken", "participants+=viken"])
    try succeed(["set", "--store", "viken", "projects", "p-v", "name=Vikens prosjekt", "lead=viken"])
    try succeed(["sync", "--store", "viken"])
    try succeed(["sync", "--store", "ks"])

    try fail(["roster", "retire", "viken", "--store", "ks"], status: 64, messages: ["--successor"])
    try fail(
      ["roster", "retire", "viken", "--successor", "ostfold", "--store", "viken"], status: 1,
      messages: ["only the roster's administrators"])
    let retired = try succeed([
      "roster", "retire", "viken", "--successor", "ostfold", "--successor", "akershus", "--store", "ks",
    ])
    XCTAssertTrue(retired.stdout.contains("Retired viken (Viken fylkeskommune); successors: akershus, ostfold"), retired.stdout)
    XCTAssertTrue(retired.stdout.contains("ks#1"), retired.stdout)
    XCTAssertTrue(retired.stdout.contains("samhand roster transfer viken"), retired.stdout)
    XCTAssertTrue(retired.stderr.contains("ostfold is not in the roster yet"), retired.stderr)
    let member = try XCTUnwrap(try roster("ks")["viken"])
    XCTAssertEqual(member["status"] as? String, "retired")
    XCTAssertEqual(member["successors"] as? [String], ["akershus", "ostfold"])
    XCTAssertTrue(try succeed(["roster", "--store", "ks"]).stdout.contains("retired → akershus, ostfold"))

    let moved = try succeed(["roster", "transfer", "viken", "--store", "ks"])
    XCTAssertTrue(moved.stdout.contains("Moved 2 records from viken to akershus, ostfold"), moved.stdout)
    XCTAssertTrue(moved.stdout.contains("cases/sak-v"), moved.stdout)
    XCTAssertTrue(moved.stdout.contains("ks#2"), moved.stdout)
    let record = try XCTUnwrap(try openStore("ks").record("cases", "sak-v"))
    XCTAssertEqual(record.fields["owner"], .value(.text("akershus")))
    XCTAssertEqual(record.fields["participants"], .set(["akershus", "ostfold"]))
    XCTAssertEqual(try openStore("ks").record("projects", "p-v")?.fields["lead"], .value(.text("akershus")))
    let none = try succeed(["roster", "transfer", "viken", "--store", "ks"])
    XCTAssertTrue(none.stdout.contains("No record names viken"), none.stdout)

    // Viken, having seen its retirement, can no longer write.
    try succeed(["sync", "--store", "ks"])
    try succeed(["sync", "--store", "viken"])
    try fail(["set", "--store", "viken", "cases", "sak-ny", "title=x"], status: 1, messages: ["viken has retired"])
    XCTAssertTrue(try succeed(["key", "show", "--store", "viken"]).stdout.contains("viken has retired"))

    // --to names the successors itself.
    try succeed(["set", "--store", "ks", "cases", "sak-t", "participants+=troms-og-finnmark"])
    let explicit = try succeed([
      "roster", "transfer", "troms-og-finnmark", "--to", "troms", "--to", "finnmark", "--store", "ks", "--json",
    ])
    let object = try XCTUnwrap(try json(explicit) as? [String: Any])
    XCTAssertEqual(object["records"] as? [String], ["cases/sak-t"])
    XCTAssertEqual(object["successors"] as? [String], ["troms", "finnmark"])
    XCTAssertEqual(
      try openStore("ks").record("cases", "sak-t")?.fields["participants"], .set(["finnmark", "troms"]))
  }

  func testRosterRevoke_stopsTheKeyAndANewKeyLetsTheOfficeWriteAgain() throws {
    try initOffice("ks")
    try initOffice("kdd")
    try initOffice("vestland")
    try succeed(["set", "--store", "vestland", "membership", "m-1", "organisation=vestland"])
    try succeed(["sync", "--store", "vestland"])
    try succeed(["sync", "--store", "ks"])
    let stolen = try publicKey("vestland")
    let fingerprint = try PublicKey(text: stolen).fingerprint

    try fail(["roster", "revoke", "vestland", "--key", stolen, "--from", "0", "--store", "ks"], status: 64, messages: ["--from"])
    try fail(
      ["roster", "revoke", "vestland", "--key", try publicKey("ks"), "--store", "ks"], status: 1,
      messages: ["is not a key of vestland"])
    let revoked = try succeed(["roster", "revoke", "vestland", "--key", stolen, "--store", "ks"])
    XCTAssertTrue(revoked.stdout.contains("from vestland#2 on"), revoked.stdout)
    XCTAssertTrue(revoked.stdout.contains("vestland#1 stays valid"), revoked.stdout)
    XCTAssertTrue(revoked.stdout.contains("ks#1"), revoked.stdout)
    XCTAssertTrue(revoked.stdout.contains("samhand roster add vestland --key"), revoked.stdout)
    XCTAssertTrue(try succeed(["roster", "show", "--store", "ks"]).stdout.contains("\(fingerprint)  revoked from #2"))
    let again = try succeed(["roster", "revoke", "vestland", "--key", stolen, "--store", "ks"])
    XCTAssertTrue(again.stdout.contains("already revoked"), again.stdout)

    try succeed(["sync", "--store", "ks"])
    try succeed(["sync", "--store", "vestland"])
    try fail(["set", "--store", "vestland", "membership", "m-1", "role=x"], status: 1, messages: ["revoked"])
    XCTAssertTrue(try succeed(["key", "show", "--store", "vestland"]).stdout.contains("REVOKED from vestland#2"))

    // Vestland reinstalls with a new key; KS adds it to vestland's entry.
    let fresh = try succeed(["init", "--store", "vestland-ny", "--replica", "vestland", "--folder", "shared"])
    XCTAssertTrue(fresh.stdout.contains("recovered:  1 changeset"), fresh.stdout)
    let newKey = try publicKey("vestland-ny")
    XCTAssertTrue(fresh.stderr.contains("samhand roster add vestland --key \(newKey)"), fresh.stderr)
    try fail(
      ["roster", "add", "vestland", "--key", stolen, "--store", "ks"], status: 1,
      messages: ["revoked", "needs a new key"])
    let rekeyed = try succeed(["roster", "add", "vestland", "--key", newKey, "--store", "ks"])
    XCTAssertTrue(rekeyed.stdout.contains("vestland is already in the roster: added the key"), rekeyed.stdout)
    XCTAssertTrue(rekeyed.stdout.contains("revoked from #2"), rekeyed.stdout)
    try succeed(["sync", "--store", "ks"])
    try succeed(["sync", "--store", "vestland-ny"])
    let written = try succeed(["set", "--store", "vestland-ny", "membership", "m-1", "role=styremedlem"])
    XCTAssertTrue(written.stdout.contains("vestland#2"), written.stdout)
    try succeed(["sync", "--store", "vestland-ny"])
    try succeed(["sync", "--store", "kdd"])
    XCTAssertTrue(try succeed(["get", "--store", "kdd", "membership", "m-1"]).stdout.contains("styremedlem"))
  }

  // MARK: - init

  func testInitTrust_aWrongHashFailsAndCreatesNothing() throws {
    let created = try succeed(["init", "--store", "ks", "--replica", "ks", "--folder", "shared"])
    let hash = try rosterHash(created)
    let wrong = String(repeating: "0", count: 64)
    try fail(
      ["init", "--store", "vestland", "--replica", "vestland", "--folder", "shared", "--trust", wrong], status: 1,
      messages: [hash, "Nothing was created"])
    XCTAssertFalse(FileManager.default.fileExists(atPath: temp.path("vestland").path))
    try fail(
      ["init", "--store", "vestland", "--replica", "vestland", "--folder", "shared", "--trust", "abc"], status: 64,
      messages: ["not a roster hash"])
    XCTAssertFalse(FileManager.default.fileExists(atPath: temp.path("vestland").path))
    // --trust on a folder that holds no store: not silently a new store.
    try fail(
      ["init", "--store", "vestland", "--replica", "vestland", "--folder", "elsewhere", "--trust", hash], status: 1,
      messages: ["holds none yet"])
    XCTAssertFalse(FileManager.default.fileExists(atPath: temp.path("vestland").path))
    XCTAssertFalse(FileManager.default.fileExists(atPath: temp.path("elsewhere/samhand.json").path))

    let joined = try succeed([
      "init", "--store", "vestland", "--replica", "vestland", "--folder", "shared", "--trust", hash.uppercased(),
      "--json",
    ])
    let object = try XCTUnwrap(try json(joined) as? [String: Any])
    XCTAssertEqual(object["action"] as? String, "joined")
    XCTAssertEqual(object["roster_hash"] as? String, hash)
    XCTAssertEqual(object["public_key"] as? String, try publicKey("vestland"))
    // Joined with --trust: its claim is published at once, for an administrator to confirm.
    XCTAssertEqual(object["key_status"] as? String, "awaiting-confirmation")
    // Without --trust, the hash is shown to confirm.
    let untrusted = try succeed(["init", "--store", "kdd", "--replica", "kdd", "--folder", "shared"])
    XCTAssertTrue(untrusted.stdout.contains("roster: \(hash)"), untrusted.stdout)
    XCTAssertTrue(untrusted.stdout.contains("Confirm this roster hash with the founding office"), untrusted.stdout)
    XCTAssertTrue(try succeed(["roster", "show", "--store", "kdd"]).stdout.contains("pinned roster: \(hash)"))
  }

  func testInitRosterAndKey_aGenesisRosterFromAFileAndAKeyFromABackup() throws {
    // A key made elsewhere, and a roster that lists the founder without a key.
    try initOffice("ks", store: "old-ks", folder: "old-shared")
    try succeed(["key", "export", "--store", "old-ks", "--out", "ks.key"])
    let keyHex = try publicKey("old-ks")
    let roster = """
      {"format": 1, "offices": [
        {"slug": "ks", "name": "KS", "kind": "ks"},
        {"slug": "vestland", "name": "Vestland fylkeskommune", "kind": "fylkeskommune"},
        {"slug": "ostfold", "name": "Østfold fylkeskommune", "kind": "fylkeskommune"}]}
      """
    try Data(roster.utf8).write(to: temp.path("roster.json"))
    let created = try succeed([
      "init", "--store", "ks", "--replica", "ks", "--folder", "shared", "--roster", "roster.json", "--key", "ks.key",
      "--json",
    ])
    let object = try XCTUnwrap(try json(created) as? [String: Any])
    XCTAssertEqual(object["action"] as? String, "created")
    XCTAssertEqual(object["public_key"] as? String, keyHex)
    let hash = try XCTUnwrap(object["roster_hash"] as? String)
    let members = try self.roster("ks")
    XCTAssertEqual(Set(members.keys), ["ks", "vestland", "ostfold"])
    XCTAssertEqual((members["ks"]?["keys"] as? [[String: Any]])?.first?["public_key"] as? String, keyHex)
    XCTAssertEqual(members["ks"]?["admin"] as? Bool, true)
    XCTAssertEqual(try openStore("ks").genesisRoster?.hash, hash)

    // Joining: --roster is ignored with a warning; the roster's ostfold may write.
    let joined = try succeed([
      "init", "--store", "ostfold", "--replica", "ostfold", "--folder", "shared", "--trust", hash,
      "--roster", "roster.json",
    ])
    XCTAssertTrue(joined.stderr.contains("--roster roster.json is ignored"), joined.stderr)
    try succeed(["set", "--store", "ostfold", "membership", "m-o", "organisation=ostfold"])
    // An office not in this roster joins only when told it is new, and is not a member.
    try fail(
      ["init", "--store", "rogaland", "--replica", "rogaland", "--folder", "shared"], status: 1,
      messages: ["'rogaland' is not in the roster", "nothing was created", "--new-office"])
    XCTAssertFalse(FileManager.default.fileExists(atPath: temp.path("rogaland").path))
    let rogaland = try succeed([
      "init", "--store", "rogaland", "--replica", "rogaland", "--folder", "shared", "--new-office",
    ])
    XCTAssertTrue(rogaland.stderr.contains("samhand roster add rogaland --key"), rogaland.stderr)

    // A roster that leaves out the founder is refused before anything is written.
    try fail(
      ["init", "--store", "kdd", "--replica", "kdd", "--folder", "shared-2", "--roster", "roster.json"], status: 1,
      messages: ["does not list kdd"])
    XCTAssertFalse(FileManager.default.fileExists(atPath: temp.path("shared-2/samhand.json").path))
    XCTAssertFalse(FileManager.default.fileExists(atPath: temp.path("kdd").path))
    try Data("not a key".utf8).write(to: temp.path("bad.key"))
    try fail(
      ["init", "--store", "kdd", "--replica", "kdd", "--folder", "shared-3", "--key", "bad.key"], status: 1,
      messages: ["bad.key", "not a Samhand key file"])
    XCTAssertFalse(FileManager.default.fileExists(atPath: temp.path("shared-3/samhand.json").path))
  }

  // MARK: - Help

  func testHelp_everyNewCommandExplainsItself() throws {
    let commands: [([String], [String])] = [
      (["key"], ["show", "rotate", "export"]),
      (["key", "show"], ["--store", "--json"]),
      (["key", "rotate"], ["--store", "--json", "samhand sync"]),
      (["key", "export"], ["--out", "--store", "0600"]),
      (["roster"], ["show", "add", "retire", "revoke", "transfer"]),
      (["roster", "show"], ["--store", "--json", "unclaimed"]),
      (["roster", "add"], ["--key", "--name", "--kind", "--admin", "--store", "--json"]),
      (["roster", "retire"], ["--successor", "--store", "--json"]),
      (["roster", "revoke"], ["--key", "--from", "--store", "--json"]),
      (["roster", "transfer"], ["--to", "--store", "--json"]),
      (["init"], ["--trust", "--key", "--roster"]),
    ]
    for (command, words) in commands {
      let output = try succeed(command + ["--help"])
      XCTAssertTrue(output.stdout.contains("Example"), "\(command) --help has no example")
      // The help is wrapped to the width of a terminal.
      let text = output.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
      for word in words {
        XCTAssertTrue(text.contains(word), "\(command.joined(separator: " ")) --help lacks \(word)")
      }
    }
    let root = try succeed(["--help"])
    XCTAssertTrue(root.stdout.contains("  key"), root.stdout)
    XCTAssertTrue(root.stdout.contains("  roster"), root.stdout)
  }
}
