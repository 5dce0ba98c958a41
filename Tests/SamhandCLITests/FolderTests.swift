import Foundation
import Samhand
import XCTest

/// `verify` and `snapshot`: reading the shared folder and the merged state.
final class FolderTests: CLITestCase {
  override func setUp() {
    super.setUp()
    XCTAssertNoThrow(try setUpFolder())
  }

  private func setUpFolder() throws {
    try initOffice("vestland")
    try initOffice("ks")
    try succeed(["set", "--store", "vestland", "cases", "sak-1", "title=Felles løft"])
    try succeed([
      "set", "--store", "ks", "membership", "m-1", "person=Liv Fossheim", "groups+=reguleringsplan",
    ])
    for office in ["vestland", "ks", "vestland"] { try succeed(["sync", "--store", office]) }
  }

  func testVerify_soundFolder() throws {
    let output = try succeed(["verify", "--folder", "shared"])
    XCTAssertTrue(output.stdout.contains("changesets:  2 good"), output.stdout)
    XCTAssertTrue(output.stdout.contains("No problems found."), output.stdout)
    let object = try XCTUnwrap(
      try json(try succeed(["verify", "--folder", "shared", "--json"])) as? [String: Any])
    XCTAssertEqual(object["sound"] as? Bool, true)
    XCTAssertEqual(object["changesets"] as? Int, 2)
    XCTAssertEqual((object["heads"] as? [Any])?.count, 2)
  }

  func testVerify_listsEveryProblemAndChangesNothing() throws {
    let bad = temp.path("shared/changesets/ks/000000000007.changeset")
    try Data("søppel".utf8).write(to: bad)
    try Data("x".utf8).write(to: temp.path("shared/changesets/ks/desktop.ini"))
    let before = try FileManager.default.subpathsOfDirectory(atPath: temp.path("shared").path)
      .sorted()
    let output = try fail(["verify", "--folder", "shared"], status: 1, messages: ["problem"])
    XCTAssertTrue(output.stdout.contains("changesets/ks/000000000007.changeset"), output.stdout)
    let object = try XCTUnwrap(
      try json(try samhand(["verify", "--folder", "shared", "--json"])) as? [String: Any])
    XCTAssertEqual(object["sound"] as? Bool, false)
    let problems = try XCTUnwrap(object["problems"] as? [[String: String]])
    XCTAssertTrue(
      problems.contains { $0["path"] == "changesets/ks/000000000007.changeset" }, "\(problems)")
    XCTAssertEqual(
      try FileManager.default.subpathsOfDirectory(atPath: temp.path("shared").path).sorted(), before
    )
  }

  /// A head its office did not sign (anyone who can write to the folder
  /// can drop one) is named by `verify` and `status`, and counts for nothing.
  func testVerify_andStatusNameAForgedHead() throws {
    let url = temp.path("shared/heads/ks.json")
    let real = try Data(contentsOf: url)
    let head = try Head(json: [UInt8](real))
    XCTAssertTrue(head.hasValidSignature, "ks signs its head")
    let forged = Head(office: "ks", frontier: VersionVector(), snapshotHash: head.snapshotHash, timestamp: head.timestamp + 1)
    try forged.canonicalJSON.write(to: url)
    let output = try fail(["verify", "--folder", "shared"], status: 1, messages: ["problem"])
    XCTAssertTrue(output.stdout.contains("heads/ks.json: not counted: not signed"), output.stdout)
    let status = try succeed(["status", "--store", "vestland"])
    XCTAssertTrue(status.stdout.contains("heads/ks.json: not counted: not signed"), status.stdout)
    // ks's next sync writes its own signed head again.
    try succeed(["sync", "--store", "ks"])
    try succeed(["verify", "--folder", "shared"])
  }

  func testVerify_needsAFolder() throws {
    try fail(["verify"], status: 64, messages: ["--folder"])
    try fail(["verify", "--folder", "nowhere"], messages: ["nowhere"])
    try succeed(["verify"], environment: ["SAMHAND_STORE": "ks"])
  }

  func testSnapshot_storeAndFolderGiveTheSameBytes() throws {
    let written = try succeed(["snapshot", "--store", "vestland", "--out", "vestland.json"])
    XCTAssertTrue(written.stdout.contains("sha256:"), written.stdout)
    try succeed(["snapshot", "--store", "ks", "--format", "json", "--out", "ks.json"])
    let fromFolder = try succeed([
      "snapshot", "--folder", "shared", "--format", "json", "--out", "-",
    ])
    let vestland = try Data(contentsOf: temp.path("vestland.json"))
    XCTAssertEqual(vestland, try Data(contentsOf: temp.path("ks.json")))
    XCTAssertEqual(fromFolder.stdout, String(decoding: vestland, as: UTF8.self) + "\n")
    XCTAssertEqual(vestland, try openStore("vestland").snapshot().bytes)
    let object = try XCTUnwrap(try json(fromFolder) as? [String: Any])
    XCTAssertEqual(object["frontier"] as? [String: Int], ["ks": 1, "vestland": 1])
    XCTAssertNotNil((object["collections"] as? [String: Any])?["cases"])
  }

  func testSnapshot_fromTheEnvironmentAsJSONSummary() throws {
    let output = try succeed(
      ["snapshot", "--out", "s.json", "--json"], environment: ["SAMHAND_STORE": "ks"])
    let object = try XCTUnwrap(try json(output) as? [String: Any])
    XCTAssertEqual(object["sha256"] as? String, try openStore("ks").snapshot().sha256)
  }

  func testSnapshot_badArguments() throws {
    try fail(
      ["snapshot", "--store", "ks", "--format", "csv", "--out", "-"], status: 64,
      messages: ["--out - prints JSON only"])
    try fail(
      ["snapshot", "--store", "ks", "--format", "csv", "--delimiter", "|", "--out", "x"], status: 64,
      messages: ["--delimiter must be"])
    try fail(
      ["snapshot", "--store", "ks", "--delimiter", ";", "--out", "x.json"], status: 64,
      messages: ["--delimiter goes with --format csv"])
    try fail(
      ["snapshot", "--store", "ks", "--at", "last tuesday", "--out", "x.json"], status: 64,
      messages: ["--at 'last tuesday'"])
    try fail(
      ["snapshot", "--store", "ks", "--at", "ks:99", "--out", "x.json"],
      messages: ["ahead of this replica"])
    try fail(
      ["snapshot", "--store", "ks", "--format", "xml", "--out", "x"], status: 64, messages: ["xml"])
    try fail(["snapshot", "--out", "x.json"], status: 64, messages: ["SAMHAND_STORE"])
    try fail(
      ["snapshot", "--store", "ks", "--folder", "shared", "--out", "-"], status: 64,
      messages: ["not both"])
    try fail(["snapshot", "--folder", "nowhere", "--out", "-"], messages: ["nowhere"])
    for name in ["x.csv", "x.db", "x", "x.json"] {
      XCTAssertFalse(FileManager.default.fileExists(atPath: temp.path(name).path))
    }
  }

  func testSnapshot_csvAndSQLite() throws {
    try succeed(["snapshot", "--store", "ks", "--format", "csv", "--delimiter", ";", "--out", "csv"])
    let cases = try String(contentsOf: temp.path("csv/cases.csv"), encoding: .utf8)
    XCTAssertTrue(cases.contains("sak-1;"), cases)
    XCTAssertTrue(cases.contains("Felles løft"), cases)
    XCTAssertTrue(FileManager.default.fileExists(atPath: temp.path("csv/frontier.csv").path))
    // The funding map as a long table (issue 21): a header row at least, even with no pledges.
    let funding = [UInt8](try Data(contentsOf: temp.path("csv/projects_funding.csv")))
    XCTAssertTrue(funding.starts(with: [0xEF, 0xBB, 0xBF] + Array("id;key;value\r\n".utf8)), "\(funding)")
    try fail(
      ["snapshot", "--store", "ks", "--format", "csv", "--out", "csv"], messages: ["--replace"])
    try succeed(["snapshot", "--store", "ks", "--format", "csv", "--out", "csv", "--replace"])

    try succeed(["snapshot", "--folder", "shared", "--format", "sqlite", "--out", "s.sqlite"])
    let database = try Data(contentsOf: temp.path("s.sqlite"))
    XCTAssertEqual(String(decoding: database.prefix(15), as: UTF8.self), "SQLite format 3")
    try fail(
      ["snapshot", "--folder", "shared", "--format", "sqlite", "--out", "s.sqlite"], messages: ["s.sqlite"])
    XCTAssertEqual(try Data(contentsOf: temp.path("s.sqlite")), database, "nothing was overwritten")
  }

  func testSnapshot_asOfAnEarlierFrontier() throws {
    let before = try openStore("ks").snapshot()
    try succeed(["set", "--store", "ks", "cases", "sak-1", "status=avsluttet"])
    let frontier = before.frontier.sorted.map { "\($0.replica):\($0.counter)" }.joined(separator: ",")
    let output = try succeed(["snapshot", "--store", "ks", "--at", frontier, "--out", "-"])
    XCTAssertEqual(output.stdout, String(decoding: before.bytes, as: UTF8.self) + "\n")
    let tomorrow = try succeed(["snapshot", "--store", "ks", "--at", "2999-01-01", "--out", "-"])
    XCTAssertEqual(tomorrow.stdout, String(decoding: try openStore("ks").snapshot().bytes, as: UTF8.self) + "\n")
  }

  func testReport_fromStoreAndFolder() throws {
    try succeed(["set", "--store", "vestland", "cases", "sak-1", "status=ny"])
    try succeed(["set", "--store", "ks", "cases", "sak-1", "status=avsluttet"])
    for office in ["vestland", "ks", "vestland"] { try succeed(["sync", "--store", office]) }
    let output = try succeed(["report", "--store", "ks", "--out", "r.html"])
    XCTAssertTrue(output.stdout.contains("conflicts: 1 open"), output.stdout)
    let html = try String(contentsOf: temp.path("r.html"), encoding: .utf8)
    XCTAssertTrue(html.contains("<svg"), "activity chart")
    XCTAssertTrue(html.contains("sak-1"))
    XCTAssertFalse(html.contains("<script"))
    try succeed(["report", "--folder", "shared", "--out", "f.html", "--title", "Samarbeid <test>"])
    let folderHTML = try String(contentsOf: temp.path("f.html"), encoding: .utf8)
    XCTAssertTrue(folderHTML.contains("Samarbeid &lt;test&gt;"))
    try fail(["report", "--store", "ks"], status: 64, messages: ["--out"])
    // --since: what changed since a frontier or a day, by office.
    let since = try succeed(["report", "--store", "ks", "--out", "s.html", "--since", "vestland:1"])
    XCTAssertTrue(since.stdout.contains("Wrote the report"), since.stdout)
    let changes = try String(contentsOf: temp.path("s.html"), encoding: .utf8)
    XCTAssertTrue(changes.contains("What changed since frontier vestland&nbsp;1"), changes)
    XCTAssertTrue(changes.contains("<code>cases/sak-1</code>"), changes)
    try succeed(["report", "--store", "ks", "--out", "d.html", "--since", "2001-01-01"])
    XCTAssertTrue(try String(contentsOf: temp.path("d.html"), encoding: .utf8).contains("What changed since 2001-01-01 00:00"))
    try fail(
      ["report", "--store", "ks", "--out", "x.html", "--since", "i går"], status: 64,
      messages: ["--since 'i går' is neither a frontier"])
    XCTAssertFalse(FileManager.default.fileExists(atPath: temp.path("x.html").path))
  }
}
