import Foundation
import Samhand
import SamhandTestSupport
import Synchronization
import XCTest

/// The async sync, its cancellation, change notifications and folder watching.
final class AsyncAPITests: XCTestCase {
  private var directory: TemporaryDirectory!
  private var folder: SharedFolder!
  private var ks: Store!
  private var vestland: Store!

  override func setUpWithError() throws {
    directory = TemporaryDirectory("async")
    folder = SharedFolder(directory.path("folder"))
    ks = try Store.createListingTestKeys(folder: folder, at: directory.path("ks"), replica: "ks")
    vestland = try Store.joinWithTestKey(folder: folder, at: directory.path("vestland"), replica: "vestland").0
  }

  override func tearDown() {
    ks = nil
    vestland = nil
    directory = nil
  }

  func testAsyncSync_reportsProgressOfFilesDoneOfTotal() async throws {
    for index in 0..<12 { try ks.transact { try $0.set("cases", "sak-\(index)", "title", .text("Sak \(index)")) } }
    try await ks.sync(with: folder)
    let seen = Mutex<[SyncProgress]>([])
    let report = try await vestland.sync(with: folder) { progress in seen.withLock { $0.append(progress) } }
    XCTAssertEqual(report.imported.count, 12)
    let applying = seen.withLock { $0.filter { $0.phase == .applying } }
    XCTAssertEqual(applying.map(\.done), Array(0..<12))
    XCTAssertTrue(applying.allSatisfy { $0.total == 12 })
  }

  func testSyncProgress_handlerMayReadTheStoreButNotWriteToIt() throws {
    for index in 0..<5 { try ks.transact { try $0.set("cases", "sak-\(index)", "title", .text("Sak \(index)")) } }
    try ks.sync(with: folder)
    let store: Store = vestland
    let seen = Mutex<[UInt64]>([])
    let refused = Mutex<[String]>([])
    let report = try store.sync(with: folder) { progress in
      guard progress.phase == .applying else { return }
      // The sync holds the database while it applies files: a read runs
      // inside it (seeing the files applied so far), a write is refused.
      seen.withLock { $0.append((try? store.frontier()["ks"]) ?? 999) }
      do {
        try store.transact { try $0.set("cases", "under-sync", "title", .text("Skrevet midt i en synkronisering")) }
        refused.withLock { $0.append("accepted") }
      } catch let error as SamhandError {
        refused.withLock { $0.append(error.code.rawValue) }
      } catch {
        refused.withLock { $0.append("\(error)") }
      }
    }
    XCTAssertEqual(report.imported.count, 5)
    XCTAssertEqual(seen.withLock { $0 }, [0, 1, 2, 3, 4])
    XCTAssertEqual(refused.withLock { $0 }, Array(repeating: SamhandError.Code.invalidArgument.rawValue, count: 5))
    XCTAssertNil(try vestland.record("cases", "under-sync"))
    XCTAssertEqual(try vestland.frontier()["ks"], 5)
    // After the sync the same write goes through.
    XCTAssertNotNil(try vestland.transact { try $0.set("cases", "under-sync", "title", .text("Etterpå")) })
  }

  func testAsyncSync_cancelledBetweenChangesetsLeavesNothingHalfApplied() async throws {
    for index in 0..<60 {
      try ks.transact {
        try $0.set("cases", "sak-\(index % 7)", "status", .text("steg \(index)"))
        try $0.add("cases", "sak-\(index % 7)", "participants", "office-\(index)")
      }
    }
    try await ks.sync(with: folder)
    let reached = Atomic<Int>(0)
    let store: Store = vestland, shared: SharedFolder = folder
    let task = Task {
      try await store.sync(with: shared) { progress in
        guard progress.phase == .applying else { return }
        reached.store(progress.done, ordering: .relaxed)
        usleep(20_000)  // a slow disk: time to cancel mid-way
      }
    }
    while reached.load(ordering: .relaxed) < 10 { try await Task.sleep(for: .milliseconds(5)) }
    task.cancel()
    do {
      _ = try await task.value
      XCTFail("the sync should have been cancelled")
    } catch is CancellationError {
    }
    let frontier = try vestland.frontier()
    XCTAssertGreaterThanOrEqual(frontier["ks"], 10)
    XCTAssertLessThan(frontier["ks"], 60)
    // Exactly the changesets up to the frontier are applied, each whole.
    XCTAssertEqual(try vestland.snapshot().bytes, try ks.snapshot(at: frontier).bytes)
    let rest = try await vestland.sync(with: folder)
    XCTAssertEqual(rest.imported.count, 60 - Int(frontier["ks"]))
    XCTAssertEqual(try vestland.snapshot().bytes, try ks.snapshot().bytes)
  }

  func testChanges_localWritesSyncsAndConflicts() async throws {
    let stream = vestland.changes()
    var iterator = stream.makeAsyncIterator()
    try vestland.transact { try $0.set("cases", "sak-1", "status", .text("ny")) }
    let next_local = await iterator.next()
    let local = try XCTUnwrap(next_local)
    XCTAssertEqual(local.origin, .local)
    XCTAssertEqual(local.records.map(\.record), [RecordRef("cases", "sak-1")])
    XCTAssertEqual(local.records.first?.fields, ["status"])
    XCTAssertEqual(local.conflictsOpened, [])

    try await vestland.sync(with: folder)
    try await ks.sync(with: folder)
    try ks.transact { try $0.set("cases", "sak-1", "status", .text("avsluttet")) }
    try vestland.transact { try $0.set("cases", "sak-1", "status", .text("under-arbeid")) }
    _ = await iterator.next()  // vestland's own write
    try await ks.sync(with: folder)
    try await vestland.sync(with: folder)
    let next_synced = await iterator.next()
    let synced = try XCTUnwrap(next_synced)
    XCTAssertEqual(synced.origin, .sync)
    XCTAssertEqual(synced.changesets, [Changeset.ID(author: "ks", sequence: 1)])
    XCTAssertEqual(synced.conflictsOpened.map(\.field), ["status"])

    try vestland.resolve("cases", "sak-1", field: "status", pick: "ks")
    let next_resolved = await iterator.next()
    let resolved = try XCTUnwrap(next_resolved)
    XCTAssertEqual(resolved.conflictsClosed.map(\.field), ["status"])
    XCTAssertEqual(resolved.conflictsOpened, [])

    try vestland.transact { try $0.delete("cases", "sak-1") }
    let next_deleted = await iterator.next()
    let deleted = try XCTUnwrap(next_deleted)
    XCTAssertEqual(deleted.records.first?.exists, false)
  }

  func testWatch_syncsWhenAnotherOfficePublishes() async throws {
    try await watchTest(options: WatchOptions(debounce: .milliseconds(100), pollInterval: .seconds(60)))
  }

  func testWatch_pollingAloneForSharesWithoutEvents() async throws {
    try await watchTest(options: WatchOptions(debounce: .milliseconds(50), pollInterval: .milliseconds(200), useFileEvents: false))
  }

  private func watchTest(options: WatchOptions) async throws {
    let reports = vestland.watch(folder: folder, options: options)
    var iterator = reports.makeAsyncIterator()
    let first = try await iterator.next()
    XCTAssertEqual(first?.imported, [])
    try ks.transact { try $0.set("cases", "sak-1", "title", .text("Ny sak")) }
    try await ks.sync(with: folder)
    let deadline = Date().addingTimeInterval(20)
    var imported: [Changeset.ID] = []
    while imported.isEmpty && Date() < deadline {
      guard let report = try await iterator.next() else { break }
      imported += report.imported
    }
    XCTAssertEqual(imported, [Changeset.ID(author: "ks", sequence: 1)])
    XCTAssertEqual(try vestland.record("cases", "sak-1")?.fields["title"], .value(.text("Ny sak")))
  }
}
