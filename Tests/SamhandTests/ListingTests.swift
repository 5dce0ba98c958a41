import Foundation
import Samhand
import SamhandTestSupport
import Synchronization
import XCTest

#if canImport(Glibc)
  import Glibc
#endif

/// A local folder that records what is listed and read through it.
private final class CountingExchange: Exchange {
  let inner: LocalFolder
  private let log = Mutex<(listed: [String], read: [String])>(([], []))

  init(_ url: URL) { inner = LocalFolder(url) }

  var url: URL { inner.url }
  var listed: [String] { log.withLock { $0.listed } }
  var read: [String] { log.withLock { $0.read } }
  func reset() { log.withLock { $0 = ([], []) } }

  func list(_ directory: String) throws -> [ExchangeItem]? {
    log.withLock { $0.listed.append(directory) }
    return try inner.list(directory)
  }
  func read(_ path: String, kind: FolderFileKind, prefix: Int?) throws -> [UInt8]? {
    log.withLock { $0.read.append(path) }
    return try inner.read(path, kind: kind, prefix: prefix)
  }
  func create(_ path: String, _ bytes: [UInt8]) throws -> Bool { try inner.create(path, bytes) }
  func replace(_ path: String, _ bytes: [UInt8]) throws { try inner.replace(path, bytes) }
  func delete(_ path: String) throws { try inner.delete(path) }
}

/// A sync lists only the office folders where something may be new, and
/// reads only the heads that changed (`Store+Listing.swift`).
final class ListingTests: XCTestCase {
  static let offices: [ReplicaID] = ["ks", "kdd", "vestland", "agder", "nordland"]

  /// Five offices on one folder, all caught up; kdd syncs through a
  /// counting exchange.
  private func cooperation() throws -> (TemporaryDirectory, [ReplicaID: Store], SharedFolder, CountingExchange) {
    let root = TemporaryDirectory("listing")
    let folder = SharedFolder(root.path("shared"))
    var stores: [ReplicaID: Store] = [:]
    stores["ks"] = try Store.createListingTestKeys(folder: folder, at: root.path("ks"), replica: "ks", extra: Self.offices)
    for office in Self.offices.dropFirst() {
      stores[office] = try Store.joinWithTestKey(folder: folder, at: root.path(office.rawValue), replica: office).0
    }
    for office in Self.offices {
      try stores[office]!.transact { try $0.set("cases", "sak-\(office)", "title", .text("Sak fra \(office)")) }
    }
    for _ in 0..<2 { for office in Self.offices { try stores[office]!.sync(with: folder) } }
    return (root, stores, folder, CountingExchange(folder.url))
  }

  /// Vestland publishes one edit; with `keepingFolderTime`, its folder's
  /// time is then set back, as a sync tool that keeps folder times does,
  /// so that the folder looks unchanged.
  private func vestlandPublishes(_ stores: [ReplicaID: Store], _ shared: SharedFolder, keepingFolderTime: Bool) throws {
    let office = shared.changesetsURL(for: "vestland")
    let before = try times(of: office)
    try stores["vestland"]!.transact { try $0.set("cases", "sak-vestland", "status", .text("avsluttet")) }
    try stores["vestland"]!.sync(with: shared)
    if keepingFolderTime { try setTimes(of: office, before) }
  }

  private func officeFolders(_ listed: [String]) -> Set<String> {
    Set(listed.filter { $0.hasPrefix("changesets/") }.map { String($0.dropFirst("changesets/".count)) })
  }

  func testListing_aSyncWithNothingNewListsOnlyItsOwnFolderAndReadsNoOtherHead() throws {
    let (root, stores, _, counting) = try cooperation()
    _ = root
    let kdd = stores["kdd"]!
    let folder = SharedFolder(exchange: counting)
    XCTAssertEqual(try kdd.sync(with: folder).imported, [])
    XCTAssertEqual(officeFolders(counting.listed), ["kdd"])
    // The heads of the offices that synced after kdd's last sync, and its own.
    XCTAssertEqual(
      counting.read.filter { $0.hasPrefix("heads/") }, ["heads/agder.json", "heads/kdd.json", "heads/nordland.json", "heads/vestland.json"])
    counting.reset()
    XCTAssertEqual(try kdd.sync(with: folder).imported, [])
    XCTAssertEqual(officeFolders(counting.listed), ["kdd"])
    XCTAssertEqual(counting.read.filter { $0.hasPrefix("heads/") }, ["heads/kdd.json"], "only its own head, which it wrote since")

    // An office that publishes is listed, and only it.
    try stores["vestland"]!.transact { try $0.set("cases", "sak-vestland", "status", .text("under-arbeid")) }
    try stores["vestland"]!.sync(with: SharedFolder(counting.url))
    counting.reset()
    let report = try kdd.sync(with: folder)
    XCTAssertEqual(report.imported.map(\.author), ["vestland"])
    XCTAssertEqual(officeFolders(counting.listed), ["kdd", "vestland"])
    XCTAssertEqual(Set(counting.read.filter { $0.hasPrefix("heads/") }), ["heads/kdd.json", "heads/vestland.json"])
    XCTAssertEqual(try kdd.snapshotHash().1, try stores["vestland"]!.snapshotHash().1)
  }

  func testListing_aHeadThatLiesDoesNotHideAChangedFolder() throws {
    let (root, stores, shared, counting) = try cooperation()
    _ = root
    let head = shared.headURL(for: "vestland")
    let oldHead = try Data(contentsOf: head)
    try vestlandPublishes(stores, shared, keepingFolderTime: false)
    // Someone puts the old head back: it says vestland published nothing new.
    try oldHead.write(to: head)
    let report = try stores["kdd"]!.sync(with: SharedFolder(exchange: counting))
    XCTAssertEqual(report.imported.map(\.author), ["vestland"], "the folder changed, so it was listed")
  }

  func testListing_aHeadThatMovedIsListedWhenTheFolderLooksUnchanged() throws {
    let (root, stores, shared, counting) = try cooperation()
    _ = root
    try vestlandPublishes(stores, shared, keepingFolderTime: true)
    let report = try stores["kdd"]!.sync(with: SharedFolder(exchange: counting))
    XCTAssertEqual(report.imported.map(\.author), ["vestland"], "its head says it published more")
  }

  func testListing_aMissingOrDamagedHeadMeansTheFolderIsListed() throws {
    for damage in ["missing", "damaged"] {
      let (root, stores, shared, counting) = try cooperation()
      _ = root
      try vestlandPublishes(stores, shared, keepingFolderTime: true)
      let head = shared.headURL(for: "vestland")
      if damage == "missing" { try FileManager.default.removeItem(at: head) } else { try Data("{".utf8).write(to: head) }
      let report = try stores["kdd"]!.sync(with: SharedFolder(exchange: counting))
      XCTAssertEqual(report.imported.map(\.author), ["vestland"], damage)
    }
  }

  func testListing_everyFolderIsListedAtLeastOnceADay() throws {
    let (root, stores, shared, counting) = try cooperation()
    _ = root
    let head = shared.headURL(for: "vestland")
    let oldHead = try Data(contentsOf: head)
    // Both hints lie: the folder's time is kept and the old head is back.
    try vestlandPublishes(stores, shared, keepingFolderTime: true)
    try oldHead.write(to: head)
    let kdd = stores["kdd"]!, folder = SharedFolder(exchange: counting)
    // The head's file changed, so it is read again; it still lies.
    XCTAssertEqual(try kdd.sync(with: folder, now: Date()).imported, [], "both hints lie: this sync does not look")
    XCTAssertEqual(officeFolders(counting.listed), ["kdd"])
    counting.reset()
    let report = try kdd.sync(with: folder, now: Date().addingTimeInterval(86_400 + 60))
    XCTAssertEqual(report.imported.map(\.author), ["vestland"], "the daily full listing finds it")
    XCTAssertEqual(officeFolders(counting.listed), Set(Self.offices.map(\.rawValue)))
  }

  func testListing_aFolderThatCouldNotBeListedIsListedAgain() throws {
    let (root, stores, shared, counting) = try cooperation()
    _ = root
    let office = shared.changesetsURL(for: "vestland")
    try vestlandPublishes(stores, shared, keepingFolderTime: false)
    let before = try times(of: office)
    // The folder cannot be read for a while.
    XCTAssertEqual(chmod(office.path, 0o000), 0)
    let denied = try stores["kdd"]!.sync(with: SharedFolder(exchange: counting))
    XCTAssertEqual(chmod(office.path, 0o755), 0)
    if getuid() == 0 {
      // Root reads it anyway: then it was simply imported.
      XCTAssertEqual(denied.imported.map(\.author), ["vestland"])
      return
    }
    XCTAssertEqual(denied.imported, [])
    XCTAssertTrue(denied.setAside.contains { $0.path == "changesets/vestland" }, "\(denied.setAside)")
    try setTimes(of: office, before)
    let report = try stores["kdd"]!.sync(with: SharedFolder(exchange: counting))
    XCTAssertEqual(report.imported.map(\.author), ["vestland"])
  }

  func testListing_storesAgreeWithFullListingsAfterManyRounds() throws {
    let (root, stores, shared, _) = try cooperation()
    _ = root
    var random = SeededRandom(seed: 18)
    for round in 0..<30 {
      let office = random.pick(Self.offices)
      try stores[office]!.transact { try $0.set("cases", "sak-\(round % 7)", "notes", .text("runde \(round) fra \(office)")) }
      for _ in 0..<random.int(1...3) { try stores[random.pick(Self.offices)]!.sync(with: shared) }
    }
    for _ in 0..<2 { for office in Self.offices { try stores[office]!.sync(with: shared) } }
    let hashes = Set(try Self.offices.map { try stores[$0]!.snapshotHash().1 })
    XCTAssertEqual(hashes.count, 1)
    // A reader that lists everything finds nothing the offices lack.
    XCTAssertEqual(try shared.snapshot().bytes, try stores["ks"]!.snapshot().bytes)
  }

  func testHead_readsBackAndNamesWhatIsWrongWithABadOne() throws {
    let head = Head(
      office: "vestland", frontier: VersionVector(["ks": 3, "vestland": 12, "heroy-nordland": 1]),
      snapshotHash: String(repeating: "ab", count: 32), timestamp: 1_799_049_600_123)
    XCTAssertEqual(try Head(json: [UInt8](head.canonicalJSON)), head)
    XCTAssertEqual(Head(canonical: [UInt8](head.canonicalJSON)), head, "the bytes Samhand writes take the quick path")
    // Other spellings of the same head are read by the full reader, alike.
    let spaced = #"{ "format": 1, "frontier": {"heroy-nordland": 1, "ks": 3, "vestland": 12}, "office": "vestland", "#
      + #""snapshot": "\#(head.snapshotHash)", "time": "x", "time_ms": 1799049600123 }"#
    let reordered = #"{"office":"vestland","format":1,"time_ms":1799049600123,"snapshot":"\#(head.snapshotHash)","#
      + #""frontier":{"vestland":12,"ks":3,"heroy-nordland":1,"kdd":0}}"#
    for text in [spaced, reordered] {
      XCTAssertNil(Head(canonical: Array(text.utf8)), text)
      XCTAssertEqual(try Head(json: Array(text.utf8)), head, text)
    }
    // Whatever the quick path reads from damaged bytes, the full reader
    // reads the same; everything else it leaves to the full reader.
    let canonical = [UInt8](head.canonicalJSON)
    var random = SeededRandom(seed: 18)
    for _ in 0..<3_000 {
      var bytes = canonical
      switch random.int(0...2) {
      case 0: bytes[random.int(0..<bytes.count)] = UInt8(random.int(32...126))
      case 1: bytes.remove(at: random.int(0..<bytes.count))
      default: bytes.insert(UInt8(random.int(32...126)), at: random.int(0...bytes.count))
      }
      if let quick = Head(canonical: bytes) {
        XCTAssertEqual(try? Head(json: Array(String(decoding: bytes, as: UTF8.self).utf8)), quick, String(decoding: bytes, as: UTF8.self))
      }
    }
    func message(_ text: String) -> String {
      do {
        _ = try Head(json: Array(text.utf8))
        return "read"
      } catch {
        return "\(error)"
      }
    }
    let hash = String(repeating: "0", count: 64)
    XCTAssertTrue(message(#"{"format":1,"office":"ks","snapshot":"\#(hash)","time_ms":1}"#).contains("missing 'frontier'"))
    XCTAssertTrue(
      message(#"{"format":1,"office":"ks","frontier":{"ks":-1},"snapshot":"\#(hash)","time_ms":1}"#).contains("invalid frontier entry 'ks'"))
    XCTAssertTrue(
      message(#"{"format":1,"office":"ks","frontier":{"Ks":1},"snapshot":"\#(hash)","time_ms":1}"#).contains("invalid frontier entry 'Ks'"))
    XCTAssertTrue(message(#"{"format":1,"office":"ks","frontier":{},"snapshot":"xyz","time_ms":1}"#).contains("'snapshot' hash"))
    XCTAssertTrue(message(#"{"format":2,"office":"ks","frontier":{},"snapshot":"\#(hash)","time_ms":1}"#).contains("newer"))
    XCTAssertEqual(message(#"{"format":1,"office":"ks","frontier":{"ks":0},"snapshot":"\#(hash)","time_ms":1}"#), "read")
  }

  // MARK: - Folder times

  private func times(of url: URL) throws -> (timespec, Int64) {
    var info = stat()
    guard lstat(url.path, &info) == 0 else { throw POSIXError(.ENOENT) }
    return (info.st_mtim, Int64(info.st_size))
  }

  /// Sets a folder's times back, as a sync tool that keeps them would.
  /// Skips the test where a folder's size tells its entries (tmpfs): there
  /// the folder never looks unchanged.
  private func setTimes(of url: URL, _ time: (timespec, Int64)) throws {
    var times = [time.0, time.0]
    guard utimensat(AT_FDCWD, url.path, &times, 0) == 0 else { throw POSIXError(.EPERM) }
    var info = stat()
    guard lstat(url.path, &info) == 0 else { throw POSIXError(.ENOENT) }
    if Int64(info.st_size) != time.1 {
      throw XCTSkip("this file system gives folders a size by their entries, so a folder never looks unchanged")
    }
  }
}
