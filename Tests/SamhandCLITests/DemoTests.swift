import Foundation
import XCTest

final class DemoTests: CLITestCase {
  func testDemo_runsToTheEnd() throws {
    let started = Date()
    let output = try succeed(["demo", "--dir", "demo"])
    let elapsed = Date().timeIntervalSince(started)
    print("demo: \(String(format: "%.1f", elapsed)) s")
    XCTAssertLessThan(elapsed, 30)
    let lines = output.stdout.split(separator: "\n")
    let last = try XCTUnwrap(lines.last)
    let snapshotPath = temp.path("demo/snapshot.json").standardizedFileURL.path
    XCTAssertEqual(String(last), "Snapshot: \(snapshotPath)")
    XCTAssertTrue(
      output.stdout.contains("The conflicts, the same on every replica (4)"), output.stdout)
    XCTAssertTrue(output.stdout.contains("All 13 replicas hold the same state"), output.stdout)
    XCTAssertTrue(
      output.stdout.contains(
        "the shared folder read on its own (no store) gives the same snapshot"), output.stdout)
    let snapshot = try XCTUnwrap(
      try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: snapshotPath)))
        as? [String: Any])
    XCTAssertEqual((snapshot["conflicts"] as? [Any])?.count, 0)
    XCTAssertEqual((snapshot["frontier"] as? [String: Int])?.count, 13)
    let collections = try XCTUnwrap(snapshot["collections"] as? [String: [String: Any]])
    XCTAssertEqual(collections["membership"]?.count, 23)
    // The folder the demo leaves behind is sound, and a replica can be used.
    try succeed(["verify", "--folder", "demo/shared-folder"])
    let status = try succeed(["status", "--store", "demo/offices/ks"])
    XCTAssertTrue(status.stdout.contains("Conflicts:   none"), status.stdout)
  }

  func testDemo_refusesAFolderInUse() throws {
    try Data("x".utf8).write(to: temp.path("notes.txt"))
    try fail(["demo", "--dir", "."], messages: ["is not empty"])
  }
}
