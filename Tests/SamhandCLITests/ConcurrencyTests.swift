import Foundation
import Samhand
import XCTest

/// Two processes on one store: their writes and syncs take turns safely.
final class ConcurrencyTests: CLITestCase {
  func testTwoProcessesWritingAndSyncingOneStore() throws {
    try initOffice("ks")
    let samhand = CLITestCase.executable.path
    // Two writers and a syncer run at once on the same store.
    let script = """
      set -e
      writer() { for i in $(seq 1 15); do "\(samhand)" set --store ks cases "$1-$i" "title=Sak $1 $i" >/dev/null; done; }
      syncer() { for i in $(seq 1 6); do "\(samhand)" sync --store ks >/dev/null; done; }
      writer a & A=$!
      writer b & B=$!
      syncer & C=$!
      wait $A; wait $B; wait $C
      "\(samhand)" sync --store ks >/dev/null
      """
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", script]
    process.currentDirectoryURL = temp.url
    let errors = Pipe()
    process.standardError = errors
    try process.run()
    process.waitUntilExit()
    let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    XCTAssertEqual(process.terminationStatus, 0, stderr)

    let store = try openStore("ks")
    XCTAssertEqual(try store.frontier()["ks"], 30, "every write is one changeset with its own number")
    XCTAssertEqual(try store.records(in: "cases").count, 30)
    XCTAssertEqual(try store.outbox(), [])
    let verification = SharedFolder(temp.path("shared")).verify()
    XCTAssertEqual(verification.problems, [])
    XCTAssertEqual(verification.changesets, 30)
  }
}
