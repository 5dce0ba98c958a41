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
