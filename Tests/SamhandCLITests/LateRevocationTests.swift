import Foundation
import Samhand
import XCTest

/// Issue 19, point 5: a write made offline with a key revoked meanwhile is
/// accepted (the limit stands, `Docs/FORMATS.md` section 9), and `status`
/// and `verify` name it with the records to review.
final class LateRevocationTests: CLITestCase {
  func testAWriteThatDidNotSeeItsKeysRevocation_isShownForReview() throws {
    try initOffice("ks")
    try initOffice("vestland")
    try succeed(["set", "--store", "vestland", "membership", "m-1", "organisation=vestland", "person=Åse Lind"])
    try succeed(["sync", "--store", "vestland"])
    try succeed(["sync", "--store", "ks"])
    // Vestland writes offline; meanwhile KS revokes its key (from vestland#2, one past what KS has seen).
    try succeed(["set", "--store", "vestland", "membership", "m-1", "role=leder"])
    let key = try XCTUnwrap(
      (try json(try succeed(["key", "show", "--store", "vestland", "--json"])) as? [String: Any])?["public_key"] as? String)
    try succeed(["roster", "revoke", "vestland", "--key", key, "--store", "ks"])
    try succeed(["sync", "--store", "ks"])
    try succeed(["sync", "--store", "vestland"])
    try succeed(["sync", "--store", "ks"])

    let status = try XCTUnwrap(try json(try succeed(["status", "--store", "ks", "--json"])) as? [String: Any])
    let late = try XCTUnwrap(status["late"] as? [[String: Any]])
    XCTAssertEqual(late.count, 1, "\(late)")
    XCTAssertEqual(late.first?["records"] as? [String], ["membership/m-1"])
    XCTAssertTrue((late.first?["reason"] as? String)?.contains("revokes from #2") == true, "\(late)")
    let text = try succeed(["status", "--store", "ks"]).stdout
    XCTAssertTrue(text.contains("Late:        1 changeset accepted"), text)
    XCTAssertTrue(text.contains("membership/m-1"), text)
    let verified = try samhand(["verify", "--folder", temp.path("shared").path])
    XCTAssertTrue(verified.stdout.contains("late: signed with key"), verified.stdout + verified.stderr)
    XCTAssertTrue(verified.stdout.contains("review what it wrote: membership/m-1"), verified.stdout)
  }
}
