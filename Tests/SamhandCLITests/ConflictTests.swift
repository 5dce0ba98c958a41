import Foundation
import Samhand
import XCTest

/// Two offices edit the same things offline, sync, and resolve.
final class ConflictTests: CLITestCase {
  override func setUp() {
    super.setUp()
    XCTAssertNoThrow(try makeConflicts())
  }

  private func makeConflicts() throws {
    try initOffice("vestland")
    try initOffice("ks")
    try succeed(["set", "--store", "vestland", "cases", "sak-1", "title=Felles sak", "status=ny"])
    try succeed(["set", "--store", "vestland", "cases", "sak-2", "title=Skal bort"])
    try succeed(["set", "--store", "vestland", "cases", "sak-3", "title=Omstridt"])
    try syncBoth()
    // Offline:
    try succeed([
      "set", "--store", "vestland", "cases", "sak-1", "status=under-arbeid",
      "participants+=vestland",
    ])
    try succeed(["set", "--store", "ks", "cases", "sak-1", "status=avsluttet", "participants+=ks"])
    try succeed(["set", "--store", "vestland", "projects", "p-1", "funding.kdd:=200000"])
    try succeed(["set", "--store", "ks", "projects", "p-1", "funding.kdd:=500000"])
    try succeed(["delete", "--store", "ks", "cases", "sak-2"])
    try succeed(["set", "--store", "vestland", "cases", "sak-2", "notes=Oppdatert"])
    try succeed(["delete", "--store", "vestland", "cases", "sak-3"])
    try succeed(["set", "--store", "ks", "cases", "sak-3", "notes=Fortsatt aktuell"])
    try syncBoth()
  }

  private func syncBoth() throws {
    try succeed(["sync", "--store", "vestland"])
    try succeed(["sync", "--store", "ks"])
    try succeed(["sync", "--store", "vestland"])
  }

  private func conflicts(_ office: String) throws -> [[String: Any]] {
    try XCTUnwrap(
      try json(try succeed(["conflicts", "--store", office, "--json"])) as? [[String: Any]])
  }

  func testConflicts_listedTheSameOnBothOffices() throws {
    let vestland = try conflicts("vestland")
    XCTAssertEqual(vestland.count, 4)
    XCTAssertEqual(
      vestland.map {
        "\($0["id"]!) \($0["kind"]!) \($0["field"] as? String ?? "-") \($0["key"] as? String ?? "-")"
      },
      ["sak-1 value status -", "sak-2 delete - -", "sak-3 delete - -", "p-1 value funding kdd"])
    let status = vestland[0]
    let siblings = try XCTUnwrap(status["siblings"] as? [[String: Any]])
    XCTAssertEqual(Set(siblings.map { $0["author"] as! String }), ["vestland", "ks"])
    XCTAssertEqual(Set(siblings.map { $0["value"] as! String }), ["under-arbeid", "avsluttet"])
    XCTAssertTrue(siblings.allSatisfy { ($0["time"] as? String)?.hasSuffix("Z") == true })
    XCTAssertEqual(
      try succeed(["conflicts", "--store", "ks", "--json"]).stdout,
      try succeed(["conflicts", "--store", "vestland", "--json"]).stdout)

    let text = try succeed(["conflicts", "--store", "ks"])
    XCTAssertTrue(text.stdout.contains("4 open conflicts"), text.stdout)
    XCTAssertTrue(text.stdout.contains("cases/sak-1 field 'status'"), text.stdout)
    XCTAssertTrue(text.stdout.contains("\"avsluttet\""), text.stdout)
    XCTAssertTrue(text.stdout.contains("projects/p-1 field 'funding' key 'kdd'"), text.stdout)
    XCTAssertTrue(text.stdout.contains("samhand resolve --store ks cases sak-2 --keep"), text.stdout)
    let get = try succeed(["get", "--store", "ks", "cases", "sak-1"])
    XCTAssertTrue(get.stdout.contains("! status"), get.stdout)
    XCTAssertTrue(get.stdout.contains("participants  [\"ks\", \"vestland\"]"), get.stdout)
  }

  func testResolve_pickValueKeepDeleteThenSync() throws {
    var output = try succeed([
      "resolve", "--store", "vestland", "cases", "sak-1", "status", "--pick", "ks",
    ])
    XCTAssertTrue(output.stdout.contains("Resolved"), output.stdout)
    output = try succeed([
      "resolve", "--store", "vestland", "projects", "p-1", "funding.kdd", "--value", "350000",
    ])
    try succeed(["resolve", "--store", "vestland", "cases", "sak-2", "--keep"])
    try succeed(["resolve", "--store", "vestland", "cases", "sak-3", "--delete"])
    XCTAssertEqual(try conflicts("vestland").count, 0)
    try syncBoth()
    XCTAssertEqual(try conflicts("ks").count, 0)
    let store = try openStore("ks")
    XCTAssertEqual(try store.record("cases", "sak-1")?.fields["status"], .value(.text("avsluttet")))
    XCTAssertEqual(
      try store.record("projects", "p-1")?.fields["funding"], .map(["kdd": .integer(350000)]))
    XCTAssertEqual(try store.record("cases", "sak-2")?.fields["notes"], .value(.text("Oppdatert")))
    XCTAssertEqual(try store.record("cases", "sak-2")?.fields["title"], .value(.text("Skal bort")))
    XCTAssertNil(try store.record("cases", "sak-3"))
    XCTAssertEqual(try store.snapshot().bytes, try openStore("vestland").snapshot().bytes)
  }

  func testResolve_mapKeyWithTheKeyOption() throws {
    try succeed([
      "resolve", "--store", "ks", "projects", "p-1", "funding", "--key", "kdd", "--pick",
      "vestland", "--json",
    ])
    XCTAssertEqual(
      try openStore("ks").record("projects", "p-1")?.fields["funding"],
      .map(["kdd": .integer(200000)]))
  }

  /// Issue 22, point 4: a value is written the same way in `set`,
  /// `resolve --value` and `review`: text as typed, numbers as such.
  func testValueSyntax_isTheSameInSetResolveAndReview() throws {
    try succeed(["resolve", "--store", "ks", "cases", "sak-1", "status", "--value", "under-arbeid"])
    try succeed(["resolve", "--store", "ks", "projects", "p-1", "funding.kdd", "--value", "350000"])
    let ks = try openStore("ks")
    XCTAssertEqual(try ks.record("cases", "sak-1")?.fields["status"], .value(.text("under-arbeid")))
    XCTAssertEqual(try ks.record("projects", "p-1")?.fields["funding"], .map(["kdd": .integer(350000)]))
    // The JSON form still works: a quoted string is the text inside.
    try succeed(["resolve", "--store", "vestland", "cases", "sak-1", "status", "--value", "\"under-arbeid\""])
    XCTAssertEqual(
      try openStore("vestland").record("cases", "sak-1")?.fields["status"], .value(.text("under-arbeid")))
    // review's new value (v) reads the same way as set's '='.
    try succeed(["review", "--store", "vestland"], stdin: "s\ns\nv\n400000\nq\n")  // the two deletes first
    XCTAssertEqual(
      try openStore("vestland").record("projects", "p-1")?.fields["funding"], .map(["kdd": .integer(400000)]))
    // set's '=' reads a number for a number field, as --value does.
    try succeed(["set", "--store", "ks", "projects", "p-2", "funding.ks=150000", "funding.kdd:=5"])
    XCTAssertEqual(
      try openStore("ks").record("projects", "p-2")?.fields["funding"],
      .map(["ks": .integer(150000), "kdd": .integer(5)]))

    // Errors show the corrected command.
    try fail(
      ["set", "--store", "ks", "cases", "sak-9", "title=Ny", "participants=ks"],
      messages: [
        "'participants' is a set: add to it with participants+=ks",
        "Corrected: samhand set --store ks cases sak-9 title=Ny participants+=ks",
      ])
    try fail(
      ["set", "--store", "ks", "cases", "sak-9", "title+=Ny"],
      messages: ["'title' is not a set: write title=Ny", "Corrected: samhand set --store ks cases sak-9 title=Ny"])
    try fail(
      ["set", "--store", "ks", "projects", "p-2", "funding=5"],
      messages: ["'funding' is a map: set one entry with funding.KEY=VALUE"])
    try fail(
      ["set", "--store", "ks", "projects", "p-2", "funding.ks=mye"],
      messages: ["expects integer", "'funding.ks' holds a whole number", "funding.ks=150000"])
    // set with nothing to set writes nothing.
    let before = try changesetCount("ks")
    try fail(["set", "--store", "ks", "cases", "sak-9"], status: 64, messages: ["give at least one assignment"])
    XCTAssertEqual(try changesetCount("ks"), before)
  }

  func testResolve_errorsNameTheProblem() throws {
    try fail(
      ["resolve", "--store", "ks", "cases", "sak-1", "title", "--pick", "ks"],
      messages: ["cases/sak-1 field 'title' has no open conflict"])
    try fail(
      ["resolve", "--store", "ks", "cases", "sak-1", "status", "--pick", "agder"],
      messages: ["'agder' wrote none of the values"])
    try fail(
      ["resolve", "--store", "ks", "cases", "sak-1", "status", "--pick", "ks", "--value", "1"],
      status: 64,
      messages: ["only one of"])
    try fail(
      ["resolve", "--store", "ks", "cases", "sak-1", "status"], status: 64,
      messages: ["--pick SLUG or --value VALUE"])
    try fail(
      ["resolve", "--store", "ks", "projects", "p-1", "funding.kdd", "--value", "mye"],
      messages: ["funding.kdd", "expects integer", "for example --value 150000"])
    try fail(
      ["resolve", "--store", "ks", "cases", "sak-1", "--keep"],
      messages: ["no open update/delete conflict"])
    try fail(
      ["resolve", "--store", "ks", "cases", "sak-2", "notes", "--keep"], status: 64,
      messages: ["give no FIELD"])
    try fail(
      ["resolve", "--store", "ks", "projects", "p-1", "funding.kdd", "--value", "\"mye\""],
      messages: ["funding.kdd", "expects integer"])
    XCTAssertEqual(try conflicts("ks").count, 4)
  }
}
