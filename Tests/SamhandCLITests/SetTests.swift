import Foundation
import Samhand
import XCTest

final class SetTests: CLITestCase {
  override func setUp() {
    super.setUp()
    XCTAssertNoThrow(try initOffice("vestland"))
  }

  func testSet_everyKindOfAssignment() throws {
    try succeed([
      "set", "--store", "vestland", "cases", "sak-1", "title=Felles løft for samfunnsdelen",
      "deadline=2026-06-30",
      "participants+=vestland", "participants+=ks", "notes:=\"= med likhetstegn\"", "kommune=a=b",
    ])
    try succeed([
      "set", "--store", "vestland", "cases", "sak-1", "participants-=ks", "status:=null",
    ])
    try succeed([
      "set", "--store", "vestland", "projects", "p-1", "funding.vestland:=150000",
      "funding.more-og-romsdal:=75000",
      "name=Veilederkorpset",
    ])
    let record = try XCTUnwrap(
      try json(try succeed(["get", "--store", "vestland", "cases", "sak-1", "--json"]))
        as? [String: Any])
    let fields = try XCTUnwrap(record["fields"] as? [String: Any])
    XCTAssertEqual(fields["title"] as? String, "Felles løft for samfunnsdelen")
    XCTAssertEqual(fields["deadline"] as? String, "2026-06-30")
    XCTAssertEqual(fields["participants"] as? [String], ["vestland"])
    XCTAssertEqual(fields["notes"] as? String, "= med likhetstegn")
    XCTAssertEqual(fields["kommune"] as? String, "a=b")
    XCTAssertTrue(fields["status"] is NSNull)
    let project = try XCTUnwrap(
      try json(try succeed(["get", "--store", "vestland", "projects", "p-1", "--json"]))
        as? [String: Any])
    let funding = try XCTUnwrap((project["fields"] as? [String: Any])?["funding"] as? [String: Int])
    XCTAssertEqual(funding, ["vestland": 150000, "more-og-romsdal": 75000])
    XCTAssertEqual(try changesetCount("vestland"), 3)
  }

  func testSet_reportsTheChangeset() throws {
    let output = try succeed(["set", "--store", "vestland", "cases", "sak-1", "title=x", "--json"])
    let object = try XCTUnwrap(try json(output) as? [String: Any])
    XCTAssertEqual(object["changeset"] as? String, "vestland#1")
    XCTAssertEqual(object["edits"] as? Int, 1)
  }

  func testSet_unknownFieldWritesNothing() throws {
    try fail(
      ["set", "--store", "vestland", "cases", "sak-1", "title=ok", "tittel=feil"],
      messages: ["unknown field 'tittel'", "cases/sak-1"])
    XCTAssertEqual(try changesetCount("vestland"), 0)
  }

  func testSet_wrongTypeWritesNothing() throws {
    try fail(
      ["set", "--store", "vestland", "cases", "sak-1", "title=ok", "deadline=30.06.2026"],
      messages: ["field 'deadline'", "YYYY-MM-DD"])
    try fail(
      ["set", "--store", "vestland", "projects", "p-1", "funding.ks=mye"],
      messages: ["funding.ks", "expects integer", "funding.ks=150000"])
    try fail(
      ["set", "--store", "vestland", "cases", "sak-1", "participants=ks"],
      messages: ["'participants'", "set"])
    try fail(
      ["set", "--store", "vestland", "cases", "sak-1", "title+=x"],
      messages: ["'title'", "not a set"])
    XCTAssertEqual(try changesetCount("vestland"), 0)
  }

  func testSet_malformedAssignments() throws {
    try fail(
      ["set", "--store", "vestland", "cases", "sak-1", "title"], status: 64,
      messages: ["'title' is not an assignment"])
    try fail(
      ["set", "--store", "vestland", "cases", "sak-1", "title:=hei"], status: 64,
      messages: ["is not JSON"])
    try fail(
      ["set", "--store", "vestland", "cases", "sak-1", "=x"], status: 64,
      messages: ["field name is missing"])
    try fail(
      ["set", "--store", "vestland", "cases", "sak-1", "notes:=[1]"], status: 64,
      messages: ["not an array"])
    try fail(
      ["set", "--store", "vestland", "projects", "p", "funding.ks+=1"], status: 64,
      messages: ["map entry"])
    XCTAssertEqual(try changesetCount("vestland"), 0)
  }

  func testSet_missingStore() throws {
    try fail(
      ["set", "cases", "sak-1", "title=x"], status: 64,
      messages: ["no store given", "SAMHAND_STORE"])
  }

  func testSet_storePathIsAFile() throws {
    try Data("x".utf8).write(to: temp.path("afile"))
    try fail(
      ["set", "--store", "afile", "cases", "sak-1", "title=x"], messages: ["afile", "is a file"])
    XCTAssertEqual(try Data(contentsOf: temp.path("afile")), Data("x".utf8))
  }

  func testSet_noStoreThere() throws {
    try fail(
      ["set", "--store", "nowhere", "cases", "sak-1", "title=x"],
      messages: ["no store at", "nowhere"])
    XCTAssertFalse(FileManager.default.fileExists(atPath: temp.path("nowhere").path))
  }

  func testDelete_andGetAndList() throws {
    try succeed(["set", "--store", "vestland", "cases", "sak-1", "title=Første"])
    try succeed(["set", "--store", "vestland", "cases", "sak-2", "title=Andre"])
    try succeed([
      "set", "--store", "vestland", "membership", "m-1", "person=Ingrid Fjordvik",
      "groups+=reguleringsplan",
    ])
    let list = try succeed(["list", "--store", "vestland"])
    XCTAssertTrue(list.stdout.contains("cases: 2 records"), list.stdout)
    XCTAssertTrue(list.stdout.contains("membership: 1 record"), list.stdout)
    let cases = try XCTUnwrap(
      try json(try succeed(["list", "--store", "vestland", "cases", "--json"])) as? [[String: Any]])
    XCTAssertEqual(cases.map { $0["id"] as? String }, ["sak-1", "sak-2"])

    let deleted = try succeed(["delete", "--store", "vestland", "cases", "sak-1"])
    XCTAssertTrue(deleted.stdout.contains("Deleted cases/sak-1"))
    try fail(["get", "--store", "vestland", "cases", "sak-1"], messages: ["no record cases/sak-1"])
    try fail(
      ["delete", "--store", "vestland", "cases", "sak-1"], messages: ["no record cases/sak-1"])
    try fail(
      ["get", "--store", "vestland", "saker", "sak-2"], messages: ["unknown collection 'saker'"])
    try fail(["list", "--store", "vestland", "saker"], messages: ["unknown collection 'saker'"])
    let get = try succeed(["get", "--store", "vestland", "membership", "m-1"])
    XCTAssertTrue(get.stdout.contains("Ingrid Fjordvik"))
    XCTAssertTrue(get.stdout.contains("[\"reguleringsplan\"]"))
    XCTAssertEqual(try changesetCount("vestland"), 4)
  }
}
