import Foundation
import Samhand
import XCTest

final class InitTests: CLITestCase {
  func testInit_createsTheFolderAndTheStore() throws {
    let output = try succeed([
      "init", "--store", "vestland", "--replica", "vestland", "--folder", "shared",
    ])
    XCTAssertTrue(output.stdout.contains("Created a new store"))
    XCTAssertTrue(FileManager.default.fileExists(atPath: temp.path("shared/samhand.json").path))
    let store = try openStore("vestland")
    XCTAssertEqual(store.replica, "vestland")
    XCTAssertEqual(store.schema, Schema.planning)
    XCTAssertEqual(try store.folder()?.url.path, temp.path("shared").standardizedFileURL.path)
  }

  func testInit_joinsAnExistingFolder() throws {
    try initOffice("vestland")
    try succeed(["set", "--store", "vestland", "cases", "sak-1", "title=Felles løft"])
    try succeed(["sync", "--store", "vestland"])
    let output = try succeed([
      "init", "--store", "ks", "--replica", "ks", "--folder", "shared", "--json",
    ])
    let object = try XCTUnwrap(try json(output) as? [String: Any])
    XCTAssertEqual(object["action"] as? String, "joined")
    XCTAssertEqual(object["imported"] as? Int, 1)
    XCTAssertEqual(try openStore("ks").storeID, try openStore("vestland").storeID)
    let record = try succeed(["get", "--store", "ks", "cases", "sak-1"])
    XCTAssertTrue(record.stdout.contains("Felles løft"))
  }

  func testInit_recoversTheOfficesHistory() throws {
    try initOffice("vestland")
    try succeed(["set", "--store", "vestland", "cases", "sak-1", "title=Før krasjet"])
    try succeed(["sync", "--store", "vestland"])
    // The backup of the key, so the new installation signs as the roster expects.
    try succeed(["key", "export", "--store", "vestland", "--out", "vestland.key"])
    try FileManager.default.removeItem(at: temp.path("vestland"))
    let output = try succeed([
      "init", "--store", "vestland", "--replica", "vestland", "--folder", "shared",
      "--key", "vestland.key",
    ])
    XCTAssertTrue(output.stdout.contains("recovered:  1 changeset"), output.stdout)
    XCTAssertTrue(output.stdout.contains("in force"), output.stdout)
    XCTAssertFalse(output.stderr.contains("roster add"), output.stderr)
    let written = try succeed(["set", "--store", "vestland", "cases", "sak-1", "status=ny"])
    XCTAssertTrue(written.stdout.contains("vestland#2"), written.stdout)
  }

  func testInit_withASchemaFile() throws {
    let schema = #"{"collections": {"samlinger": {"fields": {"tema": "text", "dato": "date"}}}}"#
    try Data(schema.utf8).write(to: temp.path("schema.json"))
    try succeed([
      "init", "--store", "ks", "--replica", "ks", "--folder", "shared", "--schema", "schema.json",
    ])
    try succeed([
      "set", "--store", "ks", "samlinger", "s-1", "tema=Reguleringsplan", "dato=2025-06-12",
    ])
    try fail(
      ["set", "--store", "ks", "cases", "sak-1", "title=x"],
      messages: ["unknown collection 'cases'"])
  }

  func testInit_badSchemaFileWritesNothing() throws {
    try Data(#"{"collections": {"cases": {"fields": {"title": "txt"}}}}"#.utf8).write(
      to: temp.path("schema.json"))
    try fail(
      [
        "init", "--store", "ks", "--replica", "ks", "--folder", "shared", "--schema", "schema.json",
      ],
      messages: ["schema.json", "title"])
    XCTAssertFalse(FileManager.default.fileExists(atPath: temp.path("ks").path))
    XCTAssertFalse(FileManager.default.fileExists(atPath: temp.path("shared").path))
  }

  func testInit_rejectsABadSlug() throws {
    try fail(
      ["init", "--store", "x", "--replica", "Møre", "--folder", "shared"], status: 64,
      messages: ["'Møre' is not a valid office slug"])
    XCTAssertFalse(FileManager.default.fileExists(atPath: temp.path("shared").path))
  }

  /// Issue 22, point 2: an unknown slug, founding or joining, and a new
  /// folder that looks like a mistyped path are refused before anything is
  /// created, naming the likely meaning and the flag that overrides.
  func testInit_typosAreCaughtBeforeAnythingIsCreated() throws {
    func nothing(_ paths: String...) {
      for path in paths {
        XCTAssertFalse(FileManager.default.fileExists(atPath: temp.path(path).path), "\(path) was created")
      }
    }
    // Founding with a misspelt slug.
    try fail(
      ["init", "--store", "vl", "--replica", "vestlnd", "--folder", "shared"], status: 1,
      messages: ["'vestlnd' is not one of the cooperation's offices (did you mean vestland?)", "--new-office"])
    nothing("vl", "shared")
    try succeed(["init", "--store", "vestland", "--replica", "vestland", "--folder", "shared"])

    // Joining with a misspelt slug.
    try fail(
      ["init", "--store", "rl", "--replica", "rogalnad", "--folder", "shared"], status: 1,
      messages: ["'rogalnad' is not in the roster", "(did you mean rogaland?)", "nothing was created", "--new-office"])
    nothing("rl")

    // A folder one letter off an existing shared folder, or under a missing parent.
    try fail(
      ["init", "--store", "ks", "--replica", "ks", "--folder", "sharde"], status: 1,
      messages: ["did you mean --folder \(temp.path("shared").path)?", "Nothing was created", "--create-folder"])
    try fail(
      ["init", "--store", "ks", "--replica", "ks", "--folder", "ikkje-montert/delt"], status: 1,
      messages: ["nor the folder it would be in", "is the share mounted", "--create-folder"])
    nothing("ks", "sharde", "ikkje-montert")
    try succeed(["init", "--store", "ks", "--replica", "ks", "--folder", "shared"])

    // Each override does what it says; a name that extends another is deliberate.
    try succeed(["init", "--store", "kdd", "--replica", "kdd", "--folder", "sharde", "--create-folder"])
    XCTAssertTrue(FileManager.default.fileExists(atPath: temp.path("sharde/samhand.json").path))
    try succeed(["init", "--store", "kdd-2", "--replica", "kdd", "--folder", "shared-2"])
    let new = try succeed(["init", "--store", "ny", "--replica", "nytt-kontor", "--folder", "ny-delt", "--new-office"])
    XCTAssertTrue(new.stdout.contains("Created a new store"), new.stdout)
    let joined = try succeed(["init", "--store", "rl", "--replica", "rogalnad", "--folder", "shared", "--new-office"])
    XCTAssertTrue(joined.stderr.contains("samhand roster add rogalnad"), joined.stderr)
  }

  /// Issue 22, point 7: Ctrl-C during a join says what state the store is
  /// in and what to run next; `init` again describes it, with the roster
  /// hash; `sync` finishes the join with nothing lost.
  func testInit_interruptedJoinSaysWhatToRunNext() throws {
    try initOffice("ks")
    let ks = try openStore("ks")
    for index in 0..<1500 {
      try ks.transact { try $0.set("cases", "sak-\(index)", "title", .text("Sak \(index)")) }
    }
    try ks.sync(with: SharedFolder(temp.path("shared")))
    let hash = try XCTUnwrap(ks.genesisRoster?.hash)

    let process = Process()
    process.executableURL = CLITestCase.executable
    process.arguments = ["init", "--store", "vestland", "--replica", "vestland", "--folder", "shared"]
    process.currentDirectoryURL = temp.url
    let errors = Pipe()
    process.standardError = errors
    process.standardOutput = FileHandle.nullDevice
    try process.run()
    let database = temp.path("vestland/\(Store.databaseFileName)").path
    let deadline = Date().addingTimeInterval(60)
    while !FileManager.default.fileExists(atPath: database), process.isRunning, Date() < deadline {
      usleep(2_000)
    }
    usleep(50_000)  // into the import, past the store's creation
    process.interrupt()
    let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    guard process.terminationStatus == 130 else {
      throw XCTSkip("the join finished before the interrupt arrived (exit \(process.terminationStatus)): \(stderr)")
    }
    XCTAssertTrue(stderr.contains("Interrupted."), stderr)
    XCTAssertTrue(stderr.contains("joining had not finished"), stderr)
    XCTAssertTrue(stderr.contains("samhand sync --store"), stderr)

    let again = try fail(
      ["init", "--store", "vestland", "--replica", "vestland", "--folder", "shared"], status: 1,
      messages: ["a store already exists", "office:     vestland", "roster: \(hash)", "joining had not finished"])
    XCTAssertTrue(again.stderr.contains("samhand sync --store"), again.stderr)
    XCTAssertFalse(try openStore("vestland").hasFinishedFirstSync())

    try succeed(["sync", "--store", "vestland"])
    let vestland = try openStore("vestland")
    XCTAssertTrue(try vestland.hasFinishedFirstSync())
    XCTAssertEqual(try vestland.frontier(), try ks.frontier())
    XCTAssertEqual(try vestland.snapshotHash().1, try ks.snapshotHash().1)
    let ready = try fail(
      ["init", "--store", "vestland", "--replica", "vestland", "--folder", "shared"], status: 1,
      messages: ["a store already exists", "It is ready"])
    XCTAssertFalse(ready.stderr.contains("had not finished"), ready.stderr)
  }

  func testInit_refusesAnExistingStore() throws {
    try initOffice("vestland")
    try fail(
      ["init", "--store", "vestland", "--replica", "vestland", "--folder", "other"],
      messages: ["already exists"])
    XCTAssertFalse(FileManager.default.fileExists(atPath: temp.path("other/samhand.json").path))
  }

  func testInit_storePathIsAFile() throws {
    try Data("not a store".utf8).write(to: temp.path("afile"))
    try fail(
      ["init", "--store", "afile", "--replica", "ks", "--folder", "shared"],
      messages: ["afile", "is a file"])
    XCTAssertEqual(try String(contentsOf: temp.path("afile"), encoding: .utf8), "not a store")
    XCTAssertFalse(FileManager.default.fileExists(atPath: temp.path("shared").path))
  }

  func testInit_missingStore() throws {
    try fail(
      ["init", "--replica", "ks", "--folder", "shared"], status: 64,
      messages: ["--store", "SAMHAND_STORE"])
  }

  func testInit_storeFromTheEnvironment() throws {
    try succeed(
      ["init", "--replica", "ks", "--folder", "shared"], environment: ["SAMHAND_STORE": "ks-store"])
    XCTAssertEqual(try openStore("ks-store").replica, "ks")
    let status = try succeed(["status"], environment: ["SAMHAND_STORE": "ks-store"])
    XCTAssertTrue(status.stdout.contains("ks (KS)"))
  }
}
