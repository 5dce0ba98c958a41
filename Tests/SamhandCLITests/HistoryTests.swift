import Foundation
import Samhand
import XCTest

/// `log` and `inspect`: who changed what, and what a changeset file holds.
final class HistoryTests: CLITestCase {
  override func setUp() {
    super.setUp()
    XCTAssertNoThrow(try setUpHistory())
  }

  private func setUpHistory() throws {
    try initOffice("vestland")
    try initOffice("ks")
    try succeed([
      "set", "--store", "vestland", "cases", "sak-1", "title=Felles løft", "participants+=vestland",
    ])
    try succeed(["set", "--store", "vestland", "projects", "p-1", "funding.vestland:=150000"])
    try succeed(["sync", "--store", "vestland"])
    try succeed(["sync", "--store", "ks"])
    try succeed(["set", "--store", "ks", "cases", "sak-1", "status=ny"])
    try succeed(["delete", "--store", "ks", "projects", "p-1"])
  }

  func testLog_whoChangedWhatAndWhen() throws {
    let output = try succeed(["log", "--store", "ks"])
    XCTAssertTrue(output.stdout.contains("vestland#1  Vestland fylkeskommune"), output.stdout)
    XCTAssertTrue(output.stdout.contains("cases/sak-1 title = \"Felles løft\""), output.stdout)
    XCTAssertTrue(output.stdout.contains("cases/sak-1 participants += \"vestland\""), output.stdout)
    XCTAssertTrue(output.stdout.contains("projects/p-1 funding.vestland = 150000"), output.stdout)
    XCTAssertTrue(output.stdout.contains("ks#2  KS"), output.stdout)
    XCTAssertTrue(output.stdout.contains("projects/p-1 deleted"), output.stdout)

    let record = try XCTUnwrap(
      try json(try succeed(["log", "--store", "ks", "cases", "sak-1", "--json"]))
        as? [[String: Any]])
    XCTAssertEqual(record.map { $0["changeset"] as? String }, ["vestland#1", "ks#1"])
    XCTAssertEqual(record[1]["author"] as? String, "ks")
    XCTAssertNotNil(record[1]["time"] as? String)
    let edits = try XCTUnwrap(record[0]["edits"] as? [[String: Any]])
    XCTAssertEqual(edits.count, 2)
    XCTAssertEqual(edits[0]["op"] as? String, "set")
    XCTAssertEqual(edits[0]["fields"] as? [String: String], ["title": "Felles løft"])

    let projects = try XCTUnwrap(
      try json(try succeed(["log", "--store", "ks", "projects", "--json"])) as? [[String: Any]])
    XCTAssertEqual(projects.map { $0["changeset"] as? String }, ["vestland#2", "ks#2"])
    let last = try XCTUnwrap(
      try json(try succeed(["log", "--store", "ks", "--last", "1", "--json"])) as? [[String: Any]])
    XCTAssertEqual(last.map { $0["changeset"] as? String }, ["ks#2"])
    try fail(["log", "--store", "ks", "saker"], messages: ["unknown collection 'saker'"])
  }

  func testInspect_printsHeaderAndEdits() throws {
    let file = "shared/changesets/vestland/000000000001.changeset"
    let output = try succeed(["inspect", file])
    XCTAssertTrue(output.stdout.contains("Changeset:   vestland#1"), output.stdout)
    XCTAssertTrue(
      output.stdout.contains("Author:      vestland (Vestland fylkeskommune)"), output.stdout)
    XCTAssertTrue(output.stdout.contains("Depends on:  {}"), output.stdout)
    XCTAssertTrue(output.stdout.contains("Edits (2):"), output.stdout)
    XCTAssertTrue(output.stdout.contains("cases/sak-1 title = \"Felles løft\""), output.stdout)

    let object = try XCTUnwrap(
      try json(
        try succeed(["inspect", "--json", "shared/changesets/vestland/000000000002.changeset"]))
        as? [String: Any])
    XCTAssertEqual(object["changeset"] as? String, "vestland#2")
    XCTAssertEqual(object["dependencies"] as? [String: Int], ["vestland": 1])
    XCTAssertEqual(object["store_id"] as? String, try openStore("vestland").storeID.rawValue)
    let edits = try XCTUnwrap(object["edits"] as? [[String: Any]])
    XCTAssertEqual(edits.first?["op"] as? String, "put")
    XCTAssertEqual(edits.first?["value"] as? Int, 150000)
  }

  func testInspect_editsReadBackByApply() throws {
    let object = try XCTUnwrap(
      try json(
        try succeed(["inspect", "--json", "shared/changesets/vestland/000000000001.changeset"]))
        as? [String: Any])
    let edits = try XCTUnwrap(object["edits"] as? [Any])
    let lines = try edits.map {
      String(decoding: try JSONSerialization.data(withJSONObject: $0), as: UTF8.self)
    }
    // Vestland's own office in another store: the case names it, so it may write it.
    try initOffice("vestland", store: "vestland-elsewhere", folder: "elsewhere")
    try succeed(
      ["apply", "--store", "vestland-elsewhere", "-"], stdin: lines.joined(separator: "\n"))
    XCTAssertEqual(
      try openStore("vestland-elsewhere").record("cases", "sak-1")?.fields,
      try openStore("vestland").record("cases", "sak-1")?.fields)
  }

  func testInspect_damagedFile() throws {
    let source = temp.path("shared/changesets/vestland/000000000001.changeset")
    var bytes = [UInt8](try Data(contentsOf: source))
    bytes[bytes.count / 2] ^= 0xFF
    try Data(bytes).write(to: temp.path("damaged.changeset"))
    try fail(["inspect", "damaged.changeset"], messages: ["damaged.changeset", "checksum"])
    try Data(bytes.prefix(20)).write(to: temp.path("short.changeset"))
    try fail(["inspect", "short.changeset"], messages: ["short.changeset", "too short"])
    try fail(["inspect", "missing.changeset"], messages: ["cannot read", "missing.changeset"])
  }
}
