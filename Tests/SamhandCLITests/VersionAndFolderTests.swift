import Foundation
import Samhand
import XCTest

/// `--version`, the version in `--help` and in JSON, URLs refused as
/// `--folder`, and the shell completion scripts.
final class VersionAndFolderTests: CLITestCase {
  // MARK: - Version

  func testVersion_printsTheLibraryVersion() throws {
    let output = try succeed(["--version"])
    XCTAssertEqual(output.stdout.trimmingCharacters(in: .whitespacesAndNewlines), SamhandVersion.string)
    XCTAssertTrue(SamhandVersion.string.split(separator: ".").count == 3, SamhandVersion.string)
  }

  func testVersion_inTheFirstLinesOfHelp() throws {
    let output = try succeed(["--help"])
    let firstLines = output.stdout.split(separator: "\n").prefix(3).joined(separator: "\n")
    XCTAssertTrue(firstLines.contains("Samhand \(SamhandVersion.string)"), firstLines)
  }

  func testVersion_inStatusAndSnapshotJSON() throws {
    try initOffice("ks")
    let status = try XCTUnwrap(try json(try succeed(["status", "--store", "ks", "--json"])) as? [String: Any])
    XCTAssertEqual(status["samhand_version"] as? String, SamhandVersion.string)
    // The fields that were there before are still there.
    XCTAssertNotNil(status["store_id"])
    XCTAssertNotNil(status["frontier"])
    let snapshot = try XCTUnwrap(
      try json(try succeed(["snapshot", "--store", "ks", "--out", "s.json", "--json"])) as? [String: Any])
    XCTAssertEqual(snapshot["samhand_version"] as? String, SamhandVersion.string)
    XCTAssertNotNil(snapshot["sha256"])
    let report = try XCTUnwrap(
      try json(try succeed(["report", "--store", "ks", "--out", "r.html", "--json"])) as? [String: Any])
    XCTAssertEqual(report["samhand_version"] as? String, SamhandVersion.string)
    let verify = try XCTUnwrap(try json(try succeed(["verify", "--folder", "shared", "--json"])) as? [String: Any])
    XCTAssertEqual(verify["samhand_version"] as? String, SamhandVersion.string)
  }

  // MARK: - URLs as folders

  func testFolder_urlsOtherThanWebDAVAreRefusedAndNothingIsCreated() throws {
    for url in ["smb://server/share/samhand", "webdav+https://x/y", "file:///srv/delt"] {
      try fail(
        ["init", "--store", "ks", "--replica", "ks", "--folder", url], status: 64,
        messages: ["--folder '\(url)' is a URL", "Nothing was created"])
    }
    // WebDAV URLs are folders (issue 20); plain http only on the loopback address.
    try fail(
      ["init", "--store", "ks", "--replica", "ks", "--folder", "http://host.invalid/delt"], status: 64,
      messages: ["plain http is only for the loopback address", "https://host.invalid/delt", "Nothing was created"])
    try fail(
      ["init", "--store", "ks", "--replica", "ks", "--folder", "https://host.invalid/delt/"],
      messages: ["cannot reach https://host.invalid/delt/"])
    let left = try FileManager.default.contentsOfDirectory(atPath: temp.url.path).filter { !$0.hasPrefix(".") }
    XCTAssertEqual(left, [], "init with a URL created \(left)")
  }

  func testFolder_aWebDAVURLIsTakenByEveryCommandThatTakesAFolder() throws {
    try initOffice("ks")
    let url = "https://host.invalid/delt/"
    let commands: [[String]] = [
      ["sync", "--store", "ks", "--folder", url],
      ["snapshot", "--folder", url, "--out", "s.json"],
      ["report", "--folder", url, "--out", "r.html"],
      ["verify", "--folder", url],
      ["upgrade-folder", "--folder", url],
    ]
    // (checkpoint and prune first look at what the store holds: with nothing
    // stable and the default retention they stop before the folder.)
    for arguments in commands {
      // Taken as a server to reach, never as a path: nothing named https: appears here.
      try fail(arguments, messages: ["https://host.invalid/delt/"])
      try fail(["sync", "--store", "ks", "--folder", "smb://host/delt/"], status: 64, messages: ["is a URL (smb://)"])
    }
    XCTAssertFalse(FileManager.default.fileExists(atPath: temp.path("https:").path))
    XCTAssertFalse(FileManager.default.fileExists(atPath: temp.path("r.html").path))
  }

  func testFolder_pathsThatAreNoURLsAreKept() throws {
    // A colon alone, or a Windows-style path, is a path.
    try succeed(["init", "--store", "ks", "--replica", "ks", "--folder", "delt:2026"])
    XCTAssertTrue(FileManager.default.fileExists(atPath: temp.path("delt:2026/samhand.json").path))
  }

  // MARK: - Shell completions

  func testCompletions_generateForEveryShell() throws {
    for shell in ["bash", "zsh", "fish"] {
      let output = try succeed(["--generate-completion-script", shell])
      XCTAssertGreaterThan(output.stdout.count, 500, "\(shell) completion script is nearly empty")
      XCTAssertTrue(output.stdout.contains("samhand"), shell)
      XCTAssertTrue(output.stdout.contains("snapshot"), "\(shell) completions lack the subcommands")
    }
  }
}
