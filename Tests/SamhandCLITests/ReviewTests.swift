import Foundation
import Samhand
import XCTest

/// `review` reads its answers from stdin, so the tests pipe them in.
final class ReviewTests: CLITestCase {
  override func setUp() {
    super.setUp()
    XCTAssertNoThrow(try makeConflicts())
  }

  /// Three conflicts, in this order: cases/sak-1 deadline, cases/sak-1
  /// status, cases/sak-2 (deleted and updated).
  private func makeConflicts() throws {
    try initOffice("vestland")
    try initOffice("ks")
    try succeed(["set", "--store", "ks", "cases", "sak-1", "title=Sak"])
    try succeed(["set", "--store", "ks", "cases", "sak-2", "title=Sak to"])
    try sync()
    try succeed([
      "set", "--store", "vestland", "cases", "sak-1", "status=under-arbeid", "deadline=2026-09-01",
    ])
    try succeed([
      "set", "--store", "ks", "cases", "sak-1", "status=avsluttet", "deadline=2026-10-15",
    ])
    try succeed(["delete", "--store", "vestland", "cases", "sak-2"])
    try succeed(["set", "--store", "ks", "cases", "sak-2", "notes=Viktig"])
    try sync()
  }

  private func sync() throws {
    for office in ["vestland", "ks", "vestland"] { try succeed(["sync", "--store", office]) }
  }

  private func status(_ office: String) throws -> Value? {
    guard case .value(let value)? = try openStore(office).record("cases", "sak-1")?.fields["status"]
    else { return nil }
    return value
  }

  func testReview_newValuePickAndKeep() throws {
    // Deadline: a new value (after a wrong one); status: ks's by slug; sak-2: keep.
    let answers = "v\nikke en dato\nv\n2026-12-01\nhva?\nks\nk\n"
    let output = try succeed(["review", "--store", "vestland"], stdin: answers)
    XCTAssertTrue(output.stdout.contains("3 open conflicts to review."), output.stdout)
    XCTAssertTrue(output.stdout.contains("[1/3] cases/sak-1 field 'deadline'"), output.stdout)
    XCTAssertTrue(output.stdout.contains("[1] "), output.stdout)
    XCTAssertTrue(output.stdout.contains("2026-10-15"), output.stdout)
    XCTAssertTrue(output.stdout.contains("Please answer"), output.stdout)
    XCTAssertTrue(output.stderr.contains("expects a date"), output.stderr)
    XCTAssertTrue(
      output.stdout.contains("Resolved 3, skipped 0; 0 conflicts still open."), output.stdout)
    let store = try openStore("vestland")
    XCTAssertEqual(try store.conflicts().count, 0)
    XCTAssertEqual(
      try store.record("cases", "sak-1")?.fields["deadline"],
      .value(.date(Day(year: 2026, month: 12, day: 1)!)))
    XCTAssertEqual(try status("vestland"), .text("avsluttet"))
    XCTAssertEqual(try store.record("cases", "sak-2")?.fields["notes"], .value(.text("Viktig")))
  }

  func testReview_pickByNumberSkipAndQuit() throws {
    let conflicts = try openStore("vestland").conflicts()
    let second = try XCTUnwrap(conflicts.dropFirst().first?.siblings.last)
    let output = try succeed(["review", "--store", "vestland", "--json"], stdin: "s\n2\nq\n")
    // The conflicts and prompts go to stderr; stdout is the JSON summary alone.
    let summary = try XCTUnwrap(try json(output) as? [String: Any])
    XCTAssertTrue(output.stderr.contains("Pick 1-"), output.stderr)
    XCTAssertTrue(output.stderr.contains("Skipped."), output.stderr)
    XCTAssertEqual(summary["resolved"] as? Int, 1)
    XCTAssertEqual(summary["skipped"] as? Int, 1)
    XCTAssertEqual(summary["remaining"] as? Int, 2)
    XCTAssertEqual(try status("vestland"), second.value)
  }

  func testReview_endOfInputStops() throws {
    let output = try succeed(["review", "--store", "ks"], stdin: "")
    XCTAssertTrue(
      output.stdout.contains("Resolved 0, skipped 0; 3 conflicts still open."), output.stdout)
    XCTAssertEqual(try openStore("ks").conflicts().count, 3)
  }

  func testReview_deleteTheRecord() throws {
    let output = try succeed(["review", "--store", "ks"], stdin: "s\ns\nd\n")
    XCTAssertTrue(output.stdout.contains("Deleted cases/sak-2"), output.stdout)
    XCTAssertNil(try openStore("ks").record("cases", "sak-2"))
  }

  func testReview_nothingToReview() throws {
    try initOffice("agder", folder: "elsewhere")
    let output = try succeed(["review", "--store", "agder"], stdin: "")
    XCTAssertTrue(output.stdout.contains("No open conflicts."))
  }
}
