import Foundation
import Samhand
import XCTest

/// The smaller points a careful new user tripped over (issue 22, point 8),
/// each through the command line.
final class CarefulUserTests: CLITestCase {
  override func setUp() {
    super.setUp()
    XCTAssertNoThrow(try initOffice("vestland"))
    XCTAssertNoThrow(try initOffice("ks"))
  }

  private func syncAll() throws {
    for store in ["vestland", "ks", "vestland"] { try succeed(["sync", "--store", store]) }
  }

  func testSnapshotAtADateBeforeAllHistory_warnsThatItIsEmpty() throws {
    try succeed(["set", "--store", "ks", "cases", "sak-1", "title=Felles løft"])
    let early = try succeed(["snapshot", "--store", "ks", "--at", "2001-01-01", "--out", "tidleg.json"])
    XCTAssertTrue(early.stderr.contains("no changeset here was committed by 2001-01-01"), early.stderr)
    XCTAssertTrue(early.stderr.contains("the snapshot is empty"), early.stderr)
    let now = try succeed(["snapshot", "--store", "ks", "--at", "2100-01-01", "--out", "no.json"])
    XCTAssertFalse(now.stderr.contains("empty"), now.stderr)
  }

  func testKeyWithoutASubcommand_showsTheKeyLikeRosterDoes() throws {
    let key = try openStore("ks").publicKey()
    let output = try succeed(["key", "--store", "ks"])
    XCTAssertTrue(output.stdout.contains(key.fingerprint), output.stdout)
    XCTAssertEqual(output.stdout, try succeed(["key", "show", "--store", "ks"]).stdout)
  }

  func testConflicts_theResolveLineCanBePastedAsItIs() throws {
    try succeed(["set", "--store", "vestland", "cases", "sak-1", "title=Felles"])
    try syncAll()
    try succeed(["set", "--store", "vestland", "cases", "sak-1", "status=ny"])
    try succeed(["set", "--store", "ks", "cases", "sak-1", "status=avsluttet"])
    try syncAll()
    let listed = try succeed(["conflicts", "--store", "ks"])
    let line = try XCTUnwrap(
      listed.stdout.split(separator: "\n").first { $0.contains("resolve: ") }, listed.stdout)
    let command = String(line.split(separator: ":", maxSplits: 1)[1]).trimmingCharacters(in: .whitespaces)
    XCTAssertTrue(command.hasPrefix("samhand resolve --store ks cases sak-1 status --pick "), command)
    // The command up to the comment in brackets runs as printed.
    let words = command.components(separatedBy: "   (")[0].split(separator: " ").dropFirst().map(String.init)
    try succeed(words)
    XCTAssertTrue(try succeed(["conflicts", "--store", "ks"]).stdout.contains("No open conflicts"))
  }

  func testExitCode_tellsScriptsThatConflictsAreOpen() throws {
    try succeed(["set", "--store", "vestland", "cases", "sak-1", "title=Felles"])
    try syncAll()
    try succeed(["conflicts", "--store", "ks", "--exit-code"])
    try succeed(["set", "--store", "vestland", "cases", "sak-1", "status=ny"])
    try succeed(["set", "--store", "ks", "cases", "sak-1", "status=avsluttet"])
    try succeed(["sync", "--store", "vestland", "--exit-code"])
    let synced = try samhand(["sync", "--store", "ks", "--exit-code"])
    XCTAssertEqual(synced.status, 2, synced.stderr)
    XCTAssertTrue(synced.stdout.contains("conflicts:  1 open"), synced.stdout)
    XCTAssertEqual(try samhand(["conflicts", "--store", "ks", "--exit-code"]).status, 2)
    XCTAssertEqual(try samhand(["conflicts", "--store", "ks", "--exit-code", "--json"]).status, 2)
    // Without the flag, open conflicts are not an error.
    try succeed(["sync", "--store", "ks"])
    try succeed(["conflicts", "--store", "ks"])
    XCTAssertTrue(try succeed(["--help"]).stdout.replacingOccurrences(of: "\n", with: " ").contains("exit with 2 when conflicts are open"))
    XCTAssertTrue(try succeed(["sync", "--help"]).stdout.contains("--exit-code"))
  }

  func testCollision_isSaidOnceWithHowToGoOnWithTheOfficesKey() throws {
    listTestKeys = false
    try initOffice("kdd", folder: "andre")
    try succeed(["key", "export", "--store", "kdd", "--out", "kdd.key"])
    try succeed(["init", "--store", "kdd-kopi", "--replica", "kdd", "--folder", "andre", "--key", "kdd.key"])
    try succeed(["set", "--store", "kdd", "cases", "a", "title=A"])
    try succeed(["set", "--store", "kdd-kopi", "cases", "b", "title=B"])
    try succeed(["sync", "--store", "kdd"])
    let output = try fail(
      ["sync", "--store", "kdd-kopi"], status: 1,
      messages: ["publishing is stopped", "samhand key export --out FILE", "samhand init --key FILE", "samhand collisions clear"])
    let said = output.stderr.components(separatedBy: "publishing is stopped").count - 1
    XCTAssertEqual(said, 1, "the stop is said once: \(output.stderr)")
    XCTAssertFalse(output.stderr.contains("((none"), output.stderr)
    let listed = try succeed(["collisions", "--store", "kdd-kopi"])
    XCTAssertTrue(listed.stdout.contains("two different changesets"), listed.stdout)
    XCTAssertTrue(listed.stdout.contains("samhand init --key FILE"), listed.stdout)
  }

  func testJoinedFromACheckpoint_isNotToldTheFilesWerePruned() throws {
    try succeed(["set", "--store", "vestland", "cases", "sak-1", "title=Felles løft"])
    for store in ["vestland", "ks", "vestland", "ks"] { try succeed(["sync", "--store", store]) }
    try succeed(["checkpoint", "--store", "vestland"])
    // The same checkpoint from KS: the same bytes, so only KS's signature is written.
    let second = try succeed(["checkpoint", "--store", "ks"])
    XCTAssertTrue(second.stdout.contains("which vestland wrote with the same bytes"), second.stdout)
    XCTAssertTrue(second.stdout.contains("signed by:  ks, vestland"), second.stdout)
    try succeed(["init", "--store", "nordland", "--replica", "nordland", "--folder", "shared"])
    XCTAssertTrue(FileManager.default.fileExists(atPath: temp.path("shared/changesets/vestland/000000000001.changeset").path))
    let log = try succeed(["log", "--store", "nordland"])
    XCTAssertTrue(log.stdout.contains("did not import the changesets it covers"), log.stdout)
    XCTAssertFalse(log.stdout.contains("were pruned from the folder"), log.stdout)
  }

  /// Issue 22, point 1, as it stands: rights are judged by the writer's
  /// causal past (FORMATS section 9), so a county that has not synced
  /// writes a KDD-owned case it has never seen. `set` warns; the write
  /// meets KDD's value as a conflict that KDD sees and resolves; once the
  /// county has seen the case, it can no longer write it.
  func testWriteToAnUnseenRecordOfAnother_warnsBecomesAConflictAndIsRefusedOnceSeen() throws {
    try initOffice("kdd")
    try syncAll()
    try succeed(["sync", "--store", "kdd"])
    try succeed(["set", "--store", "kdd", "cases", "sak-1", "title=A", "owner=kdd"])
    try succeed(["sync", "--store", "kdd"])

    let blind = try succeed(["set", "--store", "vestland", "cases", "sak-1", "title=kapret"])
    XCTAssertTrue(blind.stderr.contains("cases/sak-1 was not on this replica"), blind.stderr)
    XCTAssertTrue(blind.stderr.contains("sync before editing others' records"), blind.stderr)
    XCTAssertTrue(blind.stderr.contains("owner=vestland"), blind.stderr)
    try succeed(["sync", "--store", "vestland"])
    try succeed(["sync", "--store", "kdd"])
    let conflicts = try XCTUnwrap(
      try json(try succeed(["conflicts", "--store", "kdd", "--json"])) as? [[String: Any]])
    XCTAssertEqual(conflicts.count, 1)
    XCTAssertEqual(conflicts.first?["field"] as? String, "title")
    let siblings = try XCTUnwrap(conflicts.first?["siblings"] as? [[String: Any]])
    XCTAssertEqual(Set(siblings.compactMap { $0["author"] as? String }), ["kdd", "vestland"])
    XCTAssertEqual(Set(siblings.compactMap { $0["value"] as? String }), ["A", "kapret"])
    try succeed(["resolve", "--store", "kdd", "cases", "sak-1", "title", "--pick", "kdd"])
    try succeed(["sync", "--store", "kdd"])
    try succeed(["sync", "--store", "vestland"])
    XCTAssertEqual(try openStore("vestland").record("cases", "sak-1")?.fields["title"], .value(.text("A")))

    // Seen now, the case is KDD's: Vestland's write is refused at once.
    try fail(
      ["set", "--store", "vestland", "cases", "sak-1", "title=igjen"], status: 1, messages: ["cases/sak-1"])
    XCTAssertEqual(try openStore("vestland").record("cases", "sak-1")?.fields["title"], .value(.text("A")))
    // No warning where it cannot happen: a record of its own, or an office with rights to all.
    let own = try succeed(["set", "--store", "vestland", "cases", "sak-2", "title=Vår", "owner=vestland"])
    XCTAssertFalse(own.stderr.contains("was not on this replica"), own.stderr)
    let ks = try succeed(["set", "--store", "ks", "cases", "sak-3", "title=Felles"])
    XCTAssertFalse(ks.stderr.contains("was not on this replica"), ks.stderr)
    let again = try succeed(["set", "--store", "vestland", "cases", "sak-2", "notes=Meir"])
    XCTAssertFalse(again.stderr.contains("was not on this replica"), again.stderr)
  }
}
