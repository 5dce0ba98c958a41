import Foundation
import Samhand
import XCTest

#if canImport(Glibc)
  import Glibc
#endif

/// Offices syncing through a real WebDAV server (Apache with `mod_dav_fs`,
/// started on the loopback address by `Tools/dav-server.sh`), through the
/// `samhand` executable. Skipped, with the reason, where Apache is not
/// installed (`.ci/run` installs it).
final class WebDAVTests: CLITestCase {
  var server: URL!
  var folderURL = ""
  static let user = "planlegger"
  static let password = "Hemmelig-17"

  static let script: URL = URL(fileURLWithPath: "\(#filePath)").deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Tools/dav-server.sh")

  /// Starts the server for this test, or skips it with the reason.
  func startServer() throws {
    server = temp.path("dav-server")
    var started = false
    var reason = ""
    for _ in 0..<5 {
      let port = Int.random(in: 20_000..<60_000)
      let (status, output) = try WebDAVTests.run(
        WebDAVTests.script.path, ["start", server.path, String(port), WebDAVTests.user, WebDAVTests.password])
      if status == 3 { throw XCTSkip("SKIP: \(output.trimmingCharacters(in: .whitespacesAndNewlines))") }
      if status == 0 {
        folderURL = "http://127.0.0.1:\(port)/dav/delt/"
        started = true
        break
      }
      reason = output
    }
    guard started else { throw XCTSkip("SKIP: Apache did not start: \(reason)") }
    environment = ["SAMHAND_DAV_USER": WebDAVTests.user, "SAMHAND_DAV_PASSWORD": WebDAVTests.password]
  }

  override func tearDown() {
    if let server { _ = try? WebDAVTests.run(WebDAVTests.script.path, ["stop", server.path]) }
    super.tearDown()
  }

  static func run(_ executable: String, _ arguments: [String]) throws -> (Int32, String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/bash")
    process.arguments = [executable] + arguments
    // A file, not a pipe: the server started in the background could hold
    // a pipe open, and reading it to its end would never finish.
    let log = FileManager.default.temporaryDirectory.appendingPathComponent("dav-\(UUID().uuidString).log")
    _ = FileManager.default.createFile(atPath: log.path, contents: nil)
    defer { try? FileManager.default.removeItem(at: log) }
    let handle = try FileHandle(forWritingTo: log)
    process.standardOutput = handle
    process.standardError = handle
    process.standardInput = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    try handle.close()
    return (process.terminationStatus, (try? String(contentsOf: log, encoding: .utf8)) ?? "")
  }

  /// The server's own directory for the shared folder: what it stores.
  var served: URL { server.appendingPathComponent("www/dav/delt") }

  func hash(_ store: String) throws -> String { try openStore(store).snapshotHash().1 }

  // MARK: - Three offices, as people work

  func testThreeOfficesOnWebDAV_editSyncResolveKillPruneAndJoin() throws {
    try startServer()
    try initOffice("ks", folder: folderURL)
    try initOffice("vestland", folder: folderURL)
    try initOffice("agder", folder: folderURL)
    XCTAssertTrue(FileManager.default.fileExists(atPath: served.appendingPathComponent("samhand.json").path))
    XCTAssertEqual(try openStore("vestland").folder()?.location, folderURL, "the store keeps the URL to sync with")

    // Edits, some of them concurrent, and syncs in a random order.
    try succeed(["set", "--store", "ks", "cases", "sak-1", "title=Regional planstrategi", "owner=ks"])
    try succeed(["set", "--store", "vestland", "cases", "sak-2", "title=Kystsoneplan", "participants+=vestland"])
    try succeed(["set", "--store", "agder", "membership", "m-1", "organisation=agder", "network=veilederkorpset"])
    var generator = SystemRandomNumberGenerator()
    for _ in 0..<3 {
      for store in ["ks", "vestland", "agder"].shuffled(using: &generator) { try succeed(["sync", "--store", store]) }
    }
    try succeed(["set", "--store", "ks", "cases", "sak-2", "status=under-arbeid"])
    try succeed(["set", "--store", "vestland", "cases", "sak-2", "status=avsluttet"])
    for store in ["vestland", "ks", "agder", "vestland"] { try succeed(["sync", "--store", store]) }

    // The conflict, seen and resolved through the server.
    let conflicts = try succeed(["conflicts", "--store", "agder"])
    XCTAssertTrue(conflicts.stdout.contains("sak-2"), conflicts.stdout)
    try succeed(["resolve", "--store", "ks", "cases", "sak-2", "status", "--value", "under-arbeid"])
    for store in ["ks", "agder", "vestland", "ks"] { try succeed(["sync", "--store", store]) }
    XCTAssertEqual(try openStore("vestland").conflictCount(), 0)
    XCTAssertEqual(try openStore("ks").record("cases", "sak-2")?.fields["status"], .value(.text("under-arbeid")))

    // A sync killed part way (while it publishes many edits) loses nothing.
    var lines: [String] = []
    for index in 1...400 {
      lines.append(#"{"op":"set","collection":"cases","id":"sak-v\#(index)","fields":{"title":"Sak \#(index)","participants":["vestland"]}}"#)
    }
    try lines.joined(separator: "\n").write(to: temp.path("many.jsonl"), atomically: true, encoding: .utf8)
    try succeed(["apply", "--store", "vestland", "many.jsonl"])
    for delay in [0.05, 0.15, 0.3] {
      try killedSync("ks", after: delay)
      try killedSync("vestland", after: delay)
    }
    for store in ["vestland", "ks", "agder", "ks", "vestland"] { try succeed(["sync", "--store", store]) }
    XCTAssertNotNil(try openStore("agder").record("cases", "sak-v400"))
    XCTAssertEqual(try hash("ks"), try hash("vestland"))
    XCTAssertEqual(try hash("ks"), try hash("agder"))

    // The server holds a shared folder like any other: the same files read
    // from a directory make the same snapshot, as does reading the URL.
    let local = try json(try succeed(["snapshot", "--folder", served.path, "--out", "local.json", "--json"])) as? [String: Any]
    let remote = try json(try succeed(["snapshot", "--folder", folderURL, "--out", "remote.json", "--json"])) as? [String: Any]
    let localBytes = try Data(contentsOf: temp.path("local.json"))
    XCTAssertEqual(localBytes, try Data(contentsOf: temp.path("remote.json")))
    XCTAssertEqual(localBytes, try openStore("ks").snapshot().bytes)
    XCTAssertNotNil(local)
    XCTAssertNotNil(remote)
    let verified = try succeed(["verify", "--folder", folderURL])
    XCTAssertTrue(verified.stdout.contains("Checked \(folderURL)"), verified.stdout)

    // Pruning against a checkpoint, and a new office joining from it.
    for store in ["ks", "vestland", "agder"] {
      try succeed(["retention", "--store", store, "0", "--checkpoint-every", "0"])
    }
    let checkpoint = try XCTUnwrap(try json(try succeed(["checkpoint", "--store", "vestland", "--json"])) as? [String: Any])
    let path = try XCTUnwrap(checkpoint["path"] as? String)
    XCTAssertTrue(FileManager.default.fileExists(atPath: served.appendingPathComponent(path).path))
    let vouched = try XCTUnwrap(try json(try succeed(["checkpoint", "--store", "agder", "--cosign", "--json"])) as? [String: Any])
    XCTAssertEqual(vouched["signers"] as? [String], ["agder", "vestland"])
    for store in ["ks", "agder", "vestland"] { try succeed(["sync", "--store", store]) }
    let pruned = try succeed(["prune", "--store", "vestland"])
    XCTAssertTrue(pruned.stdout.contains("Deleted"), pruned.stdout)
    XCTAssertFalse(
      FileManager.default.fileExists(atPath: served.appendingPathComponent("changesets/vestland/000000000001.changeset").path))
    try initOffice("nordland", folder: folderURL)
    let log = try succeed(["log", "--store", "nordland"])
    XCTAssertTrue(log.stdout.contains("started from a checkpoint"), log.stdout)
    for store in ["nordland", "ks", "agder", "vestland", "nordland"] { try succeed(["sync", "--store", store]) }
    XCTAssertEqual(try hash("nordland"), try hash("ks"))
    XCTAssertEqual(try hash("nordland"), try hash("vestland"))
  }

  /// Starts a sync and kills it with SIGKILL after `delay` seconds.
  func killedSync(_ store: String, after delay: TimeInterval) throws {
    let process = Process()
    process.executableURL = CLITestCase.executable
    process.arguments = ["sync", "--store", store]
    process.currentDirectoryURL = temp.url
    var env = ProcessInfo.processInfo.environment
    for (key, value) in environment { env[key] = value }
    process.environment = env
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    Thread.sleep(forTimeInterval: delay)
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
  }

  // MARK: - What goes wrong

  func testWrongPasswordMissingCredentialsAndBadURLsAreClearErrors() throws {
    try startServer()
    environment = ["SAMHAND_DAV_USER": WebDAVTests.user, "SAMHAND_DAV_PASSWORD": "feil", "NETRC": "/nonexistent"]
    let wrong = try fail(["init", "--store", "ks", "--replica", "ks", "--folder", folderURL, "--create-folder"], messages: ["401"])
    XCTAssertTrue(wrong.stderr.contains("401"), wrong.stderr)
    XCTAssertTrue(wrong.stderr.contains(folderURL), wrong.stderr)
    XCTAssertFalse(wrong.stderr.contains("feil"), "the password is never shown")
    XCTAssertFalse(FileManager.default.fileExists(atPath: temp.path("ks/replica.sqlite").path), "nothing was created")

    let withUser = folderURL.replacingOccurrences(of: "http://", with: "http://planlegger:hemmelig@")
    let inURL = try fail(["init", "--store", "ks", "--replica", "ks", "--folder", withUser], status: 64, messages: ["SAMHAND_DAV_USER"])
    XCTAssertTrue(inURL.stderr.contains("SAMHAND_DAV_USER"), inURL.stderr)
    XCTAssertFalse(inURL.stderr.contains("hemmelig"), inURL.stderr)
    let plain = try fail(["init", "--store", "ks", "--replica", "ks", "--folder", "http://dav.example.no/delt/"], status: 64, messages: ["plain http"])
    XCTAssertTrue(plain.stderr.contains("https://dav.example.no/delt/"), plain.stderr)
    try fail(["init", "--store", "ks", "--replica", "ks", "--folder", "smb://server/delt"], status: 64, messages: ["smb://"])

    // Credentials from a netrc file work as well as the environment.
    let netrc = temp.path("netrc")
    try "machine 127.0.0.1 login \(WebDAVTests.user) password \(WebDAVTests.password)\n".write(
      to: netrc, atomically: true, encoding: .utf8)
    environment = ["NETRC": netrc.path]
    let missing = try fail(["init", "--store", "ks", "--replica", "ks", "--folder", folderURL], messages: ["is not on the server"])
    XCTAssertTrue(missing.stderr.contains("is not on the server"), missing.stderr)
    try succeed(["init", "--store", "ks", "--replica", "ks", "--folder", folderURL, "--create-folder"])
    try succeed(["sync", "--store", "ks"])

    // A server that is gone: the sync says so, after its retries, and nothing is lost.
    try succeed(["set", "--store", "ks", "cases", "sak-1", "title=Kommer fram"])
    _ = try WebDAVTests.run(WebDAVTests.script.path, ["stop", server.path])
    Thread.sleep(forTimeInterval: 0.5)
    let gone = try fail(["sync", "--store", "ks"], messages: ["cannot reach"])
    XCTAssertTrue(gone.stderr.contains(folderURL), gone.stderr)
    XCTAssertEqual(try openStore("ks").outbox().count, 1, "the edit waits to be published")
  }
}
