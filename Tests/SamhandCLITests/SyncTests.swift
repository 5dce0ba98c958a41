import Foundation
import Samhand
import XCTest

final class SyncTests: CLITestCase {
  override func setUp() {
    super.setUp()
    XCTAssertNoThrow(try initOffice("vestland"))
    XCTAssertNoThrow(try initOffice("ks"))
  }

  func testSync_twoOfficesEditOfflineThenSync() throws {
    try succeed([
      "set", "--store", "vestland", "membership", "vk-vestland-1", "person=Ingrid Fjordvik",
      "groups+=reguleringsplan",
    ])
    try succeed(["set", "--store", "ks", "cases", "sak-1", "title=Felles løft", "participants+=ks"])
    try succeed(["set", "--store", "ks", "cases", "sak-1", "status=ny"])

    let first = try XCTUnwrap(
      try json(try succeed(["sync", "--store", "vestland", "--json"])) as? [String: Any])
    XCTAssertEqual(first["published"] as? [String], ["vestland#1"])
    XCTAssertEqual(first["imported"] as? [String], [])
    let second = try XCTUnwrap(
      try json(try succeed(["sync", "--store", "ks", "--json"])) as? [String: Any])
    XCTAssertEqual(second["published"] as? [String], ["ks#1", "ks#2"])
    XCTAssertEqual(second["imported"] as? [String], ["vestland#1"])
    let counts = try XCTUnwrap(second["counts"] as? [String: Int])
    XCTAssertEqual(counts["imported"], 1)
    XCTAssertEqual(counts["set_aside"], 0)

    let third = try succeed(["sync", "--store", "vestland"])
    XCTAssertEqual(third.stderr, "", "no progress bar when stderr is not a terminal")
    XCTAssertTrue(third.stdout.contains("imported:   2 changesets from ks"), third.stdout)
    XCTAssertTrue(third.stdout.contains("set aside:  0 files"), third.stdout)

    for office in ["vestland", "ks"] {
      let record = try succeed(["get", "--store", office, "cases", "sak-1"])
      XCTAssertTrue(record.stdout.contains("Felles løft"), record.stdout)
      XCTAssertTrue(
        try succeed(["get", "--store", office, "membership", "vk-vestland-1"]).stdout.contains(
          "Ingrid Fjordvik"))
    }
    XCTAssertEqual(try openStore("vestland").snapshot().bytes, try openStore("ks").snapshot().bytes)
    let status = try XCTUnwrap(
      try json(try succeed(["status", "--store", "vestland", "--json"])) as? [String: Any])
    XCTAssertEqual(status["snapshots_agree"] as? Bool, true)
    XCTAssertEqual(status["outbox"] as? [String], [])
  }

  func testSync_setsABadFileAsideAndKeepsGoing() throws {
    try succeed(["set", "--store", "ks", "cases", "sak-1", "title=God"])
    try succeed(["sync", "--store", "ks"])
    let bad = temp.path("shared/changesets/ks/000000000002.changeset")
    try Data("ikke en endringsfil".utf8).write(to: bad)
    let output = try succeed(["sync", "--store", "vestland"])
    XCTAssertTrue(output.stdout.contains("imported:   1 changeset from ks"), output.stdout)
    XCTAssertTrue(output.stdout.contains("set aside:  1 file"), output.stdout)
    XCTAssertTrue(output.stdout.contains("changesets/ks/000000000002.changeset: "), output.stdout)
    let status = try succeed(["status", "--store", "vestland"])
    XCTAssertTrue(status.stdout.contains("Set aside:   1 file"), status.stdout)
    XCTAssertTrue(status.stdout.contains("changesets/ks/000000000002.changeset"), status.stdout)
  }

  func testSync_reportsChangesetsWaitingForDependencies() throws {
    try succeed(["set", "--store", "ks", "cases", "sak-1", "title=En"])
    try succeed(["set", "--store", "ks", "cases", "sak-1", "title=To"])
    try succeed(["sync", "--store", "ks"])
    try FileManager.default.removeItem(at: temp.path("shared/changesets/ks/000000000001.changeset"))
    let report = try XCTUnwrap(
      try json(try succeed(["sync", "--store", "vestland", "--json"])) as? [String: Any])
    XCTAssertEqual(report["waiting"] as? [String], ["ks#2"])
    XCTAssertEqual(report["imported"] as? [String], [])
    let text = try succeed(["sync", "--store", "vestland"])
    XCTAssertTrue(text.stdout.contains("waiting:    1 changeset"), text.stdout)
    // ks writes the lost file again at its next sync; then it all arrives.
    try succeed(["sync", "--store", "ks"])
    let healed = try XCTUnwrap(
      try json(try succeed(["sync", "--store", "vestland", "--json"])) as? [String: Any])
    XCTAssertEqual(healed["imported"] as? [String], ["ks#1", "ks#2"])
    XCTAssertEqual(healed["waiting"] as? [String], [])
  }

  func testSync_withAnotherCopyOfTheFolder() throws {
    try succeed(["set", "--store", "ks", "cases", "sak-1", "title=Via USB"])
    try succeed(["sync", "--store", "ks"])
    try FileManager.default.copyItem(at: temp.path("shared"), to: temp.path("usb"))
    try FileManager.default.removeItem(at: temp.path("shared"))
    let output = try succeed(["sync", "--store", "vestland", "--folder", "usb"])
    XCTAssertTrue(output.stdout.contains("imported:   1 changeset from ks"), output.stdout)
  }

  /// Issue 22, point 3: an empty directory where the shared folder was (a
  /// share not mounted) is refused, so that nobody believes an edit was
  /// shared; `--folder` names a deliberate new copy.
  func testSync_anEmptyDirectoryWhereTheFolderWasIsRefused() throws {
    try succeed(["set", "--store", "ks", "cases", "sak-1", "title=Ikkje delt"])
    try FileManager.default.moveItem(at: temp.path("shared"), to: temp.path("mounted-elsewhere"))
    try FileManager.default.createDirectory(at: temp.path("shared"), withIntermediateDirectories: false)
    try fail(
      ["sync", "--store", "ks"], status: 1,
      messages: ["has no samhand.json", "not mounted", "Nothing was synced", "samhand sync --folder"])
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: temp.path("shared").path), [], "nothing written")
    XCTAssertTrue(
      try succeed(["status", "--store", "ks"]).stdout.contains("1 changeset not yet published"))
    // Checkpoints and pruning refuse it alike.
    try fail(["checkpoint", "--store", "ks"], status: 1, messages: ["has no samhand.json"])
    // Named deliberately, the new copy is written.
    let output = try succeed(["sync", "--store", "ks", "--folder", temp.path("shared").path])
    XCTAssertTrue(output.stdout.contains("published:  1 changeset"), output.stdout)
    XCTAssertTrue(FileManager.default.fileExists(atPath: temp.path("shared/samhand.json").path))
    try succeed(["sync", "--store", "ks"])
  }

  func testStatus_showsOutboxAndWhoIsBehind() throws {
    try succeed(["sync", "--store", "vestland"])
    try succeed(["set", "--store", "ks", "cases", "sak-1", "title=Ny"])
    var text = try succeed(["status", "--store", "ks"])
    XCTAssertTrue(text.stdout.contains("Office:      ks (KS)"), text.stdout)
    XCTAssertTrue(
      text.stdout.contains("Outbox:      1 changeset not yet published (ks#1)"), text.stdout)
    try succeed(["sync", "--store", "ks"])
    text = try succeed(["status", "--store", "ks"])
    XCTAssertTrue(text.stdout.contains("Outbox:      empty"), text.stdout)
    let status = try XCTUnwrap(
      try json(try succeed(["status", "--store", "ks", "--json"])) as? [String: Any])
    let offices = try XCTUnwrap(status["offices"] as? [[String: Any]])
    let behind = Dictionary(
      uniqueKeysWithValues: offices.map { ($0["office"] as! String, $0["behind"] as! Int) })
    XCTAssertEqual(behind, ["ks": 0, "vestland": 1])
    XCTAssertEqual(status["frontier"] as? [String: Int], ["ks": 1])
    XCTAssertEqual(status["conflicts"] as? Int, 0)
    XCTAssertTrue(text.stdout.contains("behind by 1 (ks 1)"), text.stdout)
  }

  func testSync_missingStore() throws {
    try fail(["sync"], status: 64, messages: ["SAMHAND_STORE"])
    try fail(["status", "--store", "nowhere"], messages: ["no store at"])
  }
}
