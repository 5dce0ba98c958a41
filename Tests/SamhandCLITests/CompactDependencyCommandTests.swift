import Foundation
import Samhand
import XCTest

/// Changeset format 2 through the CLI: `inspect` resolves a file's
/// dependencies from the files beside it, and `upgrade-folder` raises a
/// layout 4 folder to 5.
final class CompactDependencyCommandTests: CLITestCase {
  private let offices = ["ks", "vestland", "agder", "rogaland", "nordland", "oslo"]

  func testInspect_resolvesAFormat2FileFromTheFilesBesideIt() throws {
    for office in offices { try initOffice(office) }
    for round in 1...2 {
      for office in offices {
        try succeed(["set", "--store", office, "membership", "m-\(office)", "organisation=\(office)", "role=runde \(round)"])
        try succeed(["sync", "--store", office])
      }
    }
    for office in offices { try succeed(["sync", "--store", office]) }
    try succeed(["set", "--store", "vestland", "membership", "m-vestland", "role=leder"])
    try succeed(["sync", "--store", "vestland"])
    let directory = temp.path("shared/changesets/vestland")
    let newest = try XCTUnwrap(
      try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".changeset") }.sorted().last)
    let file = "shared/changesets/vestland/\(newest)"
    let inspected = try XCTUnwrap(try json(try succeed(["inspect", "--json", file])) as? [String: Any])
    XCTAssertEqual(inspected["format"] as? Int, 2, "\(inspected)")
    XCTAssertEqual(inspected["dependencies_resolved"] as? Bool, true)
    XCTAssertEqual(inspected["dependencies_written"] as? String, "against the previous changeset")
    let dependencies = try XCTUnwrap(inspected["dependencies"] as? [String: Any])
    XCTAssertEqual(Set(dependencies.keys), Set(offices), "every office it had seen, resolved: \(dependencies)")
    let text = try succeed(["inspect", file]).stdout
    XCTAssertTrue(text.contains("Format:      2"), text)
    XCTAssertTrue(text.contains("written against vestland#"), text)

    // Alone, without the files before it, it says what it knows.
    try FileManager.default.createDirectory(at: temp.path("alone/vestland"), withIntermediateDirectories: true)
    try FileManager.default.copyItem(at: directory.appendingPathComponent(newest), to: temp.path("alone/vestland/\(newest)"))
    let alone = try succeed(["inspect", "alone/vestland/\(newest)"]).stdout
    XCTAssertTrue(alone.contains("at least"), alone)
    XCTAssertTrue(alone.contains("a file not beside this one"), alone)
    let verified = try samhand(["verify", "--folder", temp.path("shared").path])
    XCTAssertEqual(verified.status, 0, verified.stdout + verified.stderr)
  }

  func testUpgradeFolder_raisesALayout4FolderToTheNewest() throws {
    let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent("Fixtures/golden/layout-4/folder")
    try FileManager.default.copyItem(at: golden, to: temp.path("old"))
    let upgraded = try XCTUnwrap(try json(try succeed(["upgrade-folder", "--folder", "old", "--json"])) as? [String: Any])
    XCTAssertEqual(upgraded["before"] as? Int, 4)
    XCTAssertEqual(upgraded["layout"] as? Int, 6)
    let identity = try String(contentsOf: temp.path("old/samhand.json"), encoding: .utf8)
    XCTAssertTrue(identity.hasPrefix(#"{"changeset_format":2,"format":6,"#), identity)
    let again = try succeed(["upgrade-folder", "--folder", "old"]).stdout
    XCTAssertTrue(again.contains("already has layout 6"), again)
    let verified = try samhand(["verify", "--folder", temp.path("old").path])
    XCTAssertEqual(verified.status, 0, verified.stdout + verified.stderr)
  }
}
