import Crypto
import Foundation
import GRDB
import Samhand
import SamhandTestSupport
import XCTest

/// Stores written by an earlier Samhand, kept in `Fixtures/stores/`, must
/// open, upgrade and read as they did; a store of a newer format must be
/// refused, untouched.
final class StoreFormatTests: XCTestCase {
  private var directory: TemporaryDirectory!

  override func setUp() {
    directory = TemporaryDirectory("store-format")
  }

  override func tearDown() {
    directory = nil
  }

  /// A copy of a golden store fixture (two offices and their folder), to change freely.
  private func copyFixture(_ name: String) throws -> URL {
    let source = fixturesDirectory().appendingPathComponent("stores").appendingPathComponent(name)
    let copy = directory.path(name)
    try FileManager.default.copyItem(at: source, to: copy)
    return copy
  }

  private func meta(_ key: String, in store: URL) throws -> String? {
    let queue = try DatabaseQueue(path: store.appendingPathComponent(Store.databaseFileName).path)
    defer { try? queue.close() }
    return try queue.read { db in try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = ?", arguments: [key]) }
  }

  /// The store format this Samhand writes.
  private let currentFormat = "7"

  func testStoreFormat2_isUpgradedAndReadsAsItDid() throws {
    try checkUpgrade(of: "format-2", from: "2")
  }

  func testStoreFormat3_isUpgradedAndReadsAsItDid() throws {
    try checkUpgrade(of: "format-3", from: "3")
  }

  func testStoreFormat4_isUpgradedAndReadsAsItDid() throws {
    try checkUpgrade(of: "format-4", from: "4")
  }

  func testStoreFormat5_isUpgradedAndReadsAsItDid() throws {
    try checkUpgrade(of: "format-5", from: "5")
  }

  func testStoreFormat6_isUpgradedAndReadsAsItDid() throws {
    try checkUpgrade(of: "format-6", from: "6")
  }

  private func checkUpgrade(of name: String, from format: String) throws {
    let fixture = try copyFixture(name)
    let expected = try Data(contentsOf: fixture.appendingPathComponent("snapshot.json"))
    let expectedHash = Data(SHA256.hash(data: expected)).map { String(format: "%02x", $0) }.joined()
    XCTAssertEqual(try meta("format", in: fixture.appendingPathComponent("ks")), format)

    let ks = try Store.open(at: fixture.appendingPathComponent("ks"))
    XCTAssertEqual(try meta("format", in: fixture.appendingPathComponent("ks")), currentFormat)
    // The state reads byte for byte as the older version wrote it, and the
    // hash from the new per-record pieces is the one the old head carries.
    XCTAssertEqual(try ks.snapshot().bytes, expected)
    XCTAssertEqual(try ks.snapshotHash().1, expectedHash)
    let head = try JSONSerialization.jsonObject(
      with: Data(contentsOf: fixture.appendingPathComponent("folder/heads/ks.json"))) as? [String: Any]
    XCTAssertEqual(head?["snapshot"] as? String, expectedHash)
    let record = try XCTUnwrap(try ks.record("cases", "sak-1"))
    XCTAssertEqual(record.conflicts.map(\.field), ["status"], "the concurrent edit is still open for review")
    XCTAssertNil(try ks.record("cases", "sak-2"), "the deleted record stays deleted")

    // Both offices go on working with the upgraded stores through the old folder.
    let folder = SharedFolder(fixture.appendingPathComponent("folder"))
    let vestland = try Store.open(at: fixture.appendingPathComponent("vestland"))
    try ks.transact { tx in try tx.set("cases", "sak-1", "status", .text("avsluttet")) }
    try vestland.transact { tx in try tx.put("projects", "veilederkorpset", "funding", key: "vestland", .integer(350_000)) }
    try ks.sync(with: folder)
    try vestland.sync(with: folder)
    try ks.sync(with: folder)
    XCTAssertEqual(try ks.frontier(), try vestland.frontier())
    XCTAssertEqual(try ks.snapshotHash().1, try vestland.snapshotHash().1)
    XCTAssertEqual(try ks.snapshotHash().1, try ks.snapshot().sha256)
    XCTAssertEqual(try ks.record("cases", "sak-1")?.conflicts, [])
  }

  func testStoreFormatNewerThanThisSamhand_isRefusedAndLeftAlone() throws {
    let fixture = try copyFixture("format-2")
    let store = fixture.appendingPathComponent("ks")
    let queue = try DatabaseQueue(path: store.appendingPathComponent(Store.databaseFileName).path)
    try queue.write { db in try db.execute(sql: "UPDATE meta SET value = '8' WHERE key = 'format'") }
    try queue.close()
    let before = try Data(contentsOf: store.appendingPathComponent(Store.databaseFileName))
    XCTAssertThrowsError(try Store.open(at: store)) { error in
      guard let error = error as? SamhandError else { return XCTFail("\(error)") }
      XCTAssertEqual(error.code, .unsupportedFormat)
      XCTAssertTrue(error.message.contains("store format 8 is newer"), error.message)
    }
    XCTAssertEqual(try Data(contentsOf: store.appendingPathComponent(Store.databaseFileName)), before)
    XCTAssertEqual(try meta("format", in: store), "8")
  }
}
