import Foundation
import Samhand
import XCTest

/// Pack files through the CLI: `sync` says what it folded, `inspect`
/// checks a pack and shows the changesets in it.
final class PackCommandTests: CLITestCase {
  func testSync_foldsSixteenFilesIntoAPack_andInspectShowsIt() throws {
    try initOffice("ks")
    try initOffice("vestland")
    var last = ""
    for round in 1...16 {
      try succeed(["set", "--store", "vestland", "membership", "m-vestland", "organisation=vestland", "role=runde \(round)"])
      last = try succeed(["sync", "--store", "vestland"]).stdout
    }
    XCTAssertTrue(last.contains("packed:     16 files of this office into 1 pack file"), last)
    let names = try FileManager.default.contentsOfDirectory(atPath: temp.path("shared/changesets/vestland").path)
    XCTAssertEqual(names, ["000000000001-000000000016.pack"])
    let pack = "shared/changesets/vestland/000000000001-000000000016.pack"

    let text = try succeed(["inspect", pack]).stdout
    XCTAssertTrue(text.contains("Pack:        vestland#1 to #16 (16 changesets)"), text)
    XCTAssertTrue(text.contains("(the signature verifies)"), text)
    XCTAssertFalse(text.contains("PROBLEM"), text)
    let inspected = try XCTUnwrap(try json(try succeed(["inspect", "--json", pack])) as? [String: Any])
    XCTAssertEqual(inspected["kind"] as? String, "pack")
    XCTAssertEqual((inspected["changesets"] as? [Any])?.count, 16)
    let member = try succeed(["inspect", pack, "--member", "3"]).stdout
    XCTAssertTrue(member.contains("Changeset:   vestland#3"), member)
    XCTAssertTrue(member.contains("role = \"runde 3\"") || member.contains("runde 3"), member)
    let outside = try samhand(["inspect", pack, "--member", "17"])
    XCTAssertNotEqual(outside.status, 0)
    XCTAssertTrue(outside.stderr.contains("holds vestland#1 to #16, not #17"), outside.stderr)

    // A damaged pack is named, and the other office reads the good one.
    try FileManager.default.copyItem(at: temp.path(pack), to: temp.path("damaged.pack"))
    let handle = try FileHandle(forUpdating: temp.path("damaged.pack"))
    try handle.seek(toOffset: 300)
    try handle.write(contentsOf: Data([0xFF, 0xFF]))
    try handle.close()
    let damaged = try samhand(["inspect", "damaged.pack"])
    XCTAssertEqual(damaged.status, 1)
    XCTAssertTrue(damaged.stderr.contains("forged or altered"), damaged.stderr)

    let synced = try XCTUnwrap(try json(try succeed(["sync", "--store", "ks", "--json"])) as? [String: Any])
    XCTAssertEqual((synced["counts"] as? [String: Any])?["imported"] as? Int, 16, "\(synced)")
    let verified = try samhand(["verify", "--folder", temp.path("shared").path])
    XCTAssertEqual(verified.status, 0, verified.stdout + verified.stderr)
  }
}
