import Foundation
import Samhand
import XCTest

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Full disks and missing permissions, on the shared folder and on the
/// local store: each fault gives a clear error (exit code 1, the system's
/// reason and the path), loses nothing committed, and the next command
/// after the fault is cleared completes.
///
/// A full disk is a 1 MiB tmpfs filled with a file; mounting one needs
/// root, and the tests skip (saying why) where it is not allowed.
/// Permissions are tested by running `samhand` as an unprivileged user:
/// `nobody` through `setpriv` when the tests run as root (root ignores
/// file modes), else the tests' own user.
final class FaultTests: CLITestCase {
  /// Whether `samhand` runs as the unprivileged user, for the next command.
  private var asUser = false

  override func setUp() {
    super.setUp()
    // The unprivileged user must be able to enter the test's folder.
    setMode(temp.url, 0o755)
    addTeardownBlock { [url = temp.url] in FaultTests.restoreModes(url) }
  }

  // MARK: - Full disk

  /// The shared folder's disk fills up: publishing fails with the system's
  /// reason, local writes and what was already imported stay, no partial
  /// file is left, and the sync after space is freed publishes it all.
  func testSharedFolderFull_syncFailsClearlyThenCompletes() throws {
    let disk = try mountSmallDisk("shared")
    try initOffice("ks")
    try initOffice("vestland")
    try succeed(["set", "--store", "ks", "cases", "k-1", "title=Fra KS"])
    try succeed(["sync", "--store", "ks"])
    try succeed(["set", "--store", "vestland", "cases", "sak-1", "title=Liten", "participants+=vestland"])
    // Large and hard to compress (about 50 KB in its file): the full disk
    // cuts it off part-way, after the small one has gone out.
    let big = FaultTests.randomHex(count: 100_000)
    try succeed(["set", "--store", "vestland", "cases", "sak-2", "title=\(big)", "participants+=vestland"])

    let filler = try fill(disk, leaving: 16 * 1024)
    let failed = try fail(
      ["sync", "--store", "vestland"], status: 1,
      messages: [
        "cannot write \(path("shared"))/changesets/vestland/000000000002.changeset: No space left on device"
      ])
    assertClear(failed)
    XCTAssertEqual(temporaryFiles(in: disk), [], "no partial file is left in the folder")

    // Nothing committed is lost, and what was imported before the failure stays.
    XCTAssertTrue(try succeed(["get", "--store", "vestland", "cases", "sak-1"]).stdout.contains("Liten"))
    XCTAssertTrue(try succeed(["get", "--store", "vestland", "cases", "sak-2"]).stdout.contains(big))
    XCTAssertTrue(try succeed(["get", "--store", "vestland", "cases", "k-1"]).stdout.contains("Fra KS"))
    let status = try succeed(["status", "--store", "vestland"])
    XCTAssertTrue(status.stdout.contains("not yet published"), status.stdout)
    XCTAssertTrue(status.stdout.contains("vestland#2"), status.stdout)

    try FileManager.default.removeItem(at: filler)
    let synced = try XCTUnwrap(
      try json(try succeed(["sync", "--store", "vestland", "--json"])) as? [String: Any])
    XCTAssertTrue((synced["published"] as? [String])?.contains("vestland#2") == true, "\(synced)")
    XCTAssertEqual(try openStore("vestland").outbox(), [])
    let imported = try XCTUnwrap(
      try json(try succeed(["sync", "--store", "ks", "--json"])) as? [String: Any])
    XCTAssertEqual(imported["imported"] as? [String], ["vestland#1", "vestland#2"])
    XCTAssertTrue(try succeed(["get", "--store", "ks", "cases", "sak-2"]).stdout.contains(big))
    XCTAssertTrue(try succeed(["verify", "--folder", "shared"]).stdout.contains("No problems found."))
    XCTAssertEqual(temporaryFiles(in: disk), [])
    XCTAssertEqual(try openStore("ks").snapshot().bytes, try openStore("vestland").snapshot().bytes)
  }

  /// The store's disk is nearly full: a write fails, saying the disk is
  /// full; reads go on; after space is freed, writes and syncs work again.
  func testStoreNearlyFull_writeFailsClearlyReadsGoOn() throws {
    let disk = try mountSmallDisk("disk")
    try initOffice("ks")
    try initOffice("vestland", store: "disk/vestland")
    let store = path("disk/vestland")
    try succeed(["set", "--store", "disk/vestland", "cases", "sak-1", "title=Delt", "participants+=vestland"])
    try succeed(["sync", "--store", "disk/vestland"])
    try succeed(["set", "--store", "disk/vestland", "cases", "sak-2", "title=Ikke delt", "participants+=vestland"])

    // Room for the database's shared-memory index (32 KiB), not for a write.
    let filler = try fill(disk, leaving: 40 * 1024)
    let failed = try fail(
      ["set", "--store", "disk/vestland", "cases", "sak-3", "title=For mye", "participants+=vestland"],
      status: 1, messages: ["database or disk is full", "The disk holding \(store) is full"])
    assertClear(failed)
    XCTAssertTrue(failed.stderr.contains("Nothing committed is lost"), failed.stderr)

    XCTAssertTrue(try succeed(["get", "--store", "disk/vestland", "cases", "sak-1"]).stdout.contains("Delt"))
    XCTAssertTrue(try succeed(["get", "--store", "disk/vestland", "cases", "sak-2"]).stdout.contains("Ikke delt"))
    try fail(["get", "--store", "disk/vestland", "cases", "sak-3"], status: 1, messages: ["no record"])
    let list = try succeed(["list", "--store", "disk/vestland", "cases"])
    XCTAssertTrue(list.stdout.contains("sak-2"), list.stdout)
    // 'status' may need to write (it caches the snapshot hash); if it
    // fails, it must say why. (That it fails at all is a library problem.)
    let status = try samhand(["status", "--store", "disk/vestland"])
    if status.status != 0 { XCTAssertTrue(status.stderr.contains("is full"), status.stderr) }
    assertClear(status)

    try FileManager.default.removeItem(at: filler)
    try succeed(["set", "--store", "disk/vestland", "cases", "sak-3", "title=Etterpå", "participants+=vestland"])
    try succeed(["status", "--store", "disk/vestland"])
    let synced = try XCTUnwrap(
      try json(try succeed(["sync", "--store", "disk/vestland", "--json"])) as? [String: Any])
    XCTAssertEqual(synced["published"] as? [String], ["vestland#2", "vestland#3"])
    try succeed(["sync", "--store", "ks"])
    for (id, title) in [("sak-1", "Delt"), ("sak-2", "Ikke delt"), ("sak-3", "Etterpå")] {
      XCTAssertTrue(try succeed(["get", "--store", "ks", "cases", id]).stdout.contains(title))
    }
    XCTAssertEqual(try openStore("ks").snapshot().bytes, try openStore("disk/vestland").snapshot().bytes)
  }

  /// The store's disk is completely full: even opening the database
  /// fails, saying the disk is full; once space is freed, everything
  /// committed is there and writes and syncs work again.
  func testStoreFull_failsClearlyThenRecovers() throws {
    let disk = try mountSmallDisk("disk")
    try initOffice("ks")
    try initOffice("vestland", store: "disk/vestland")
    let store = path("disk/vestland")
    try succeed(["set", "--store", "disk/vestland", "cases", "sak-1", "title=Delt", "participants+=vestland"])
    try succeed(["sync", "--store", "disk/vestland"])
    try succeed(["set", "--store", "disk/vestland", "cases", "sak-2", "title=Ikke delt", "participants+=vestland"])

    let filler = try fill(disk)
    let failed = try fail(
      ["set", "--store", "disk/vestland", "cases", "sak-3", "title=For mye", "participants+=vestland"],
      status: 1, messages: [store, "The disk holding \(store) is full"])
    assertClear(failed)
    // Reading a full store should work too, but SQLite cannot make its
    // shared-memory index for the write-ahead log (a library problem); if
    // it fails, it must say why.
    let read = try samhand(["get", "--store", "disk/vestland", "cases", "sak-1"])
    if read.status != 0 { XCTAssertTrue(read.stderr.contains("The disk holding \(store) is full"), read.stderr) }
    assertClear(read)
    let sync = try fail(["sync", "--store", "disk/vestland"], status: 1, messages: ["is full"])
    assertClear(sync)

    try FileManager.default.removeItem(at: filler)
    XCTAssertTrue(try succeed(["get", "--store", "disk/vestland", "cases", "sak-1"]).stdout.contains("Delt"))
    XCTAssertTrue(try succeed(["get", "--store", "disk/vestland", "cases", "sak-2"]).stdout.contains("Ikke delt"))
    try fail(["get", "--store", "disk/vestland", "cases", "sak-3"], status: 1, messages: ["no record"])
    try succeed(["set", "--store", "disk/vestland", "cases", "sak-3", "title=Etterpå", "participants+=vestland"])
    let synced = try XCTUnwrap(
      try json(try succeed(["sync", "--store", "disk/vestland", "--json"])) as? [String: Any])
    XCTAssertEqual(synced["published"] as? [String], ["vestland#2", "vestland#3"])
    try succeed(["sync", "--store", "ks"])
    XCTAssertTrue(try succeed(["get", "--store", "ks", "cases", "sak-2"]).stdout.contains("Ikke delt"))
    XCTAssertEqual(try openStore("ks").snapshot().bytes, try openStore("disk/vestland").snapshot().bytes)
  }

  // MARK: - Permissions on the shared folder

  /// The office may not write the shared folder: sync fails naming the
  /// folder and `Permission denied`; what it imported and wrote locally is
  /// kept; after the permission is given, the sync completes.
  func testSharedFolderNotWritable_syncFailsClearlyThenCompletes() throws {
    try requireUnprivilegedUser()
    try initOffice("ks")
    try initOffice("vestland")
    try succeed(["set", "--store", "ks", "cases", "k-1", "title=Fra KS"])
    try succeed(["sync", "--store", "ks"])
    try giveToUser(temp.path("vestland"))
    let shared = temp.path("shared")
    setFolderModes(shared, 0o555)

    try succeedAsUser(["set", "--store", "vestland", "cases", "sak-1", "title=Lokal", "participants+=vestland"])
    var failed = try failAsUser(
      ["sync", "--store", "vestland"],
      messages: ["cannot create folder \(path("shared"))/changesets/vestland: Permission denied"])
    assertClear(failed)
    XCTAssertTrue(try succeedAsUser(["get", "--store", "vestland", "cases", "sak-1"]).stdout.contains("Lokal"))
    XCTAssertTrue(try succeedAsUser(["get", "--store", "vestland", "cases", "k-1"]).stdout.contains("Fra KS"))
    XCTAssertTrue(
      try succeedAsUser(["status", "--store", "vestland"]).stdout.contains(
        "1 changeset not yet published (vestland#1)"))

    setFolderModes(shared, 0o777)
    XCTAssertTrue(
      try succeedAsUser(["sync", "--store", "vestland"]).stdout.contains("published:  1 changeset (vestland#1)"))

    // The head cannot be written: the changeset is out, the sync still fails.
    setMode(temp.path("shared/heads"), 0o555)
    try succeedAsUser(["set", "--store", "vestland", "cases", "sak-2", "title=Andre", "participants+=vestland"])
    failed = try failAsUser(
      ["sync", "--store", "vestland"],
      messages: ["cannot write vestland.json into \(path("shared"))/heads: Permission denied"])
    assertClear(failed)
    setMode(temp.path("shared/heads"), 0o777)
    try succeedAsUser(["sync", "--store", "vestland"])
    let head = try String(contentsOf: temp.path("shared/heads/vestland.json"), encoding: .utf8)
    XCTAssertTrue(head.contains("\"vestland\":2") || head.contains("\"vestland\": 2"), head)

    let imported = try XCTUnwrap(try json(try succeed(["sync", "--store", "ks", "--json"])) as? [String: Any])
    XCTAssertEqual(imported["imported"] as? [String], ["vestland#1", "vestland#2"])
    XCTAssertTrue(try succeed(["verify", "--folder", "shared"]).stdout.contains("No problems found."))
    XCTAssertEqual(temporaryFiles(in: shared), [])
  }

  /// An office's folder, or `changesets/` itself, cannot be read: sync
  /// fails naming it and `Permission denied`; after the fix, it completes.
  func testSharedFolderNotReadable_officeFolderSetAsideWholeFolderFailsThenCompletes() throws {
    try requireUnprivilegedUser()
    try initOffice("ks")
    try initOffice("vestland")
    try succeed(["set", "--store", "ks", "cases", "k-1", "title=Fra KS"])
    try succeed(["sync", "--store", "ks"])
    try giveToUser(temp.path("vestland"))
    setFolderModes(temp.path("shared"), 0o777)
    try succeedAsUser(["set", "--store", "vestland", "cases", "sak-1", "title=Lokal", "participants+=vestland"])

    // One office's folder cannot be listed: it is set aside with the
    // reason, and the rest of the sync goes on (vestland publishes).
    setMode(temp.path("shared/changesets/ks"), 0o000)
    let partial = try succeedAsUser(["sync", "--store", "vestland"])
    XCTAssertTrue(
      partial.stdout.contains("cannot list \(path("shared"))/changesets/ks: Permission denied"), partial.stdout)
    assertClear(partial)
    XCTAssertTrue(
      FileManager.default.fileExists(atPath: temp.path("shared/changesets/vestland/000000000001.changeset").path))
    try succeedAsUser(["set", "--store", "vestland", "cases", "sak-1", "status=ny"])
    setMode(temp.path("shared/changesets/ks"), 0o755)
    // changesets/ itself cannot be listed: the sync fails clearly.
    setMode(temp.path("shared/changesets"), 0o000)
    let failed = try failAsUser(
      ["sync", "--store", "vestland"], messages: ["cannot list \(path("shared"))/changesets: Permission denied"])
    assertClear(failed)
    XCTAssertTrue(try succeedAsUser(["get", "--store", "vestland", "cases", "sak-1"]).stdout.contains("Lokal"))

    setMode(temp.path("shared/changesets"), 0o777)
    let synced = try XCTUnwrap(
      try json(try succeedAsUser(["sync", "--store", "vestland", "--json"])) as? [String: Any])
    XCTAssertEqual(synced["published"] as? [String], ["vestland#2"])
    XCTAssertEqual(synced["imported"] as? [String], ["ks#1"])
    let imported = try XCTUnwrap(try json(try succeed(["sync", "--store", "ks", "--json"])) as? [String: Any])
    XCTAssertEqual(imported["imported"] as? [String], ["vestland#1", "vestland#2"])
  }

  /// A changeset file cannot be read: it is set aside with the reason, the
  /// rest is synced, and the next sync after the fix imports it.
  func testChangesetNotReadable_setAsideWithTheReasonThenImported() throws {
    try requireUnprivilegedUser()
    try initOffice("ks")
    try initOffice("vestland")
    try succeed(["set", "--store", "ks", "cases", "k-1", "title=Første"])
    try succeed(["set", "--store", "ks", "cases", "k-2", "title=Andre"])
    try succeed(["sync", "--store", "ks"])
    try giveToUser(temp.path("vestland"))
    setFolderModes(temp.path("shared"), 0o777)
    let file = temp.path("shared/changesets/ks/000000000002.changeset")
    setMode(file, 0o000)

    let reason =
      "changesets/ks/000000000002.changeset: cannot read \(path("shared"))/changesets/ks/000000000002.changeset: "
      + "Permission denied"
    let synced = try succeedAsUser(["sync", "--store", "vestland"])
    XCTAssertTrue(synced.stdout.contains("imported:   1 changeset from ks"), synced.stdout)
    XCTAssertTrue(synced.stdout.contains("set aside:  1 file"), synced.stdout)
    XCTAssertTrue(synced.stdout.contains(reason), synced.stdout)
    assertClear(synced)
    let status = try succeedAsUser(["status", "--store", "vestland"])
    XCTAssertTrue(status.stdout.contains(reason), status.stdout)
    let verify = try failAsUser(["verify", "--folder", "shared"], messages: ["problem"])
    XCTAssertTrue(verify.stdout.contains(reason), verify.stdout)
    try failAsUser(["get", "--store", "vestland", "cases", "k-2"], messages: ["no record"])

    setMode(file, 0o644)
    let healed = try succeedAsUser(["sync", "--store", "vestland"])
    XCTAssertTrue(healed.stdout.contains("imported:   1 changeset from ks"), healed.stdout)
    XCTAssertTrue(healed.stdout.contains("set aside:  0 files"), healed.stdout)
    XCTAssertTrue(try succeedAsUser(["get", "--store", "vestland", "cases", "k-2"]).stdout.contains("Andre"))
    XCTAssertTrue(try succeedAsUser(["status", "--store", "vestland"]).stdout.contains("Set aside:   none"))
  }

  // MARK: - Permissions on the store

  /// The store's files cannot be written: a write fails naming what may
  /// not be written; nothing is lost; after the fix, writes and syncs work.
  func testStoreNotWritable_writeFailsClearlyThenWorks() throws {
    try requireUnprivilegedUser()
    try initOffice("ks")
    try initOffice("vestland")
    try giveToUser(temp.path("vestland"))
    setFolderModes(temp.path("shared"), 0o777)
    let store = temp.path("vestland")
    let storePath = path("vestland")
    try succeedAsUser(["set", "--store", "vestland", "cases", "sak-1", "title=Første", "participants+=vestland"])
    try succeedAsUser(["sync", "--store", "vestland"])

    // The folder and every file read-only.
    setModes(store, folders: 0o555, files: 0o444)
    var failed = try failAsUser(
      ["set", "--store", "vestland", "cases", "sak-2", "title=Andre", "participants+=vestland"],
      messages: ["attempt to write a readonly database", "may not write \(storePath)"])
    assertClear(failed)
    XCTAssertTrue(failed.stderr.contains("Nothing committed is lost"), failed.stderr)
    // Reading should work too, but SQLite cannot make its shared-memory
    // index in a read-only folder (a library problem); if it fails, it must say why.
    let read = try samhandAsUser(["get", "--store", "vestland", "cases", "sak-1"])
    if read.status != 0 { XCTAssertTrue(read.stderr.contains("may not write \(storePath)"), read.stderr) }
    assertClear(read)
    setModes(store, folders: 0o700, files: 0o600)
    try succeedAsUser(["set", "--store", "vestland", "cases", "sak-2", "title=Andre", "participants+=vestland"])
    XCTAssertTrue(try succeedAsUser(["get", "--store", "vestland", "cases", "sak-1"]).stdout.contains("Første"))

    // Only the database file read-only: reads work, writes say which file.
    setMode(store.appendingPathComponent(Store.databaseFileName), 0o444)
    XCTAssertTrue(try succeedAsUser(["get", "--store", "vestland", "cases", "sak-2"]).stdout.contains("Andre"))
    failed = try failAsUser(
      ["set", "--store", "vestland", "cases", "sak-3", "title=Tredje", "participants+=vestland"],
      messages: ["attempt to write a readonly database", "may not write \(storePath)/\(Store.databaseFileName)"])
    assertClear(failed)
    // The fix the message suggests: every file of the store writable again
    // (SQLite made its -shm file read-only too, like the database).
    setModes(store, folders: 0o700, files: 0o600)
    try succeedAsUser(["set", "--store", "vestland", "cases", "sak-3", "title=Tredje", "participants+=vestland"])

    // The folder cannot be entered: the store cannot be seen, and it says why.
    setMode(store, 0o000)
    failed = try failAsUser(
      ["get", "--store", "vestland", "cases", "sak-1"],
      messages: ["cannot look inside the store folder \(storePath): Permission denied"])
    assertClear(failed)
    setMode(store, 0o700)

    let synced = try XCTUnwrap(
      try json(try succeedAsUser(["sync", "--store", "vestland", "--json"])) as? [String: Any])
    XCTAssertEqual(synced["published"] as? [String], ["vestland#2", "vestland#3"])
    try succeed(["sync", "--store", "ks"])
    for (id, title) in [("sak-1", "Første"), ("sak-2", "Andre"), ("sak-3", "Tredje")] {
      XCTAssertTrue(try succeed(["get", "--store", "ks", "cases", id]).stdout.contains(title))
    }
  }

  // MARK: - Running as the unprivileged user

  /// Where the unprivileged user is root's `nobody`.
  private static let nobody: (uid: uid_t, gid: gid_t) = (65534, 65534)
  private static var isRoot: Bool { geteuid() == 0 }

  /// Runs through `setpriv` as `nobody` when `asUser` is set and the tests run as root.
  override func samhand(
    _ arguments: [String], stdin: String? = nil, environment: [String: String] = [:],
    file: StaticString = #filePath, line: UInt = #line
  ) throws -> Output {
    guard asUser, FaultTests.isRoot else {
      return try super.samhand(arguments, stdin: stdin, environment: environment, file: file, line: line)
    }
    let setpriv = try XCTUnwrap(FaultTests.tool("setpriv"))
    return try run(
      setpriv,
      ["--reuid=\(FaultTests.nobody.uid)", "--regid=\(FaultTests.nobody.gid)", "--clear-groups", "--",
        CLITestCase.executable.path] + arguments)
  }

  private func samhandAsUser(_ arguments: [String]) throws -> Output {
    asUser = true
    defer { asUser = false }
    return try samhand(arguments)
  }

  @discardableResult
  private func succeedAsUser(
    _ arguments: [String], file: StaticString = #filePath, line: UInt = #line
  ) throws -> Output {
    asUser = true
    defer { asUser = false }
    return try succeed(arguments, file: file, line: line)
  }

  /// Runs as the unprivileged user, expecting exit code 1 and every one of `messages` on stderr.
  @discardableResult
  private func failAsUser(
    _ arguments: [String], messages: [String], file: StaticString = #filePath, line: UInt = #line
  ) throws -> Output {
    asUser = true
    defer { asUser = false }
    return try fail(arguments, status: 1, messages: messages, file: file, line: line)
  }

  /// Skips unless `samhand` can run as a user that file modes apply to.
  private func requireUnprivilegedUser() throws {
    guard FaultTests.isRoot else { return }  // the tests' own user is unprivileged
    guard FaultTests.tool("setpriv") != nil else {
      throw XCTSkip(
        "running as root without setpriv: cannot run samhand as an unprivileged user, and root ignores file modes")
    }
    // nobody must reach the executable and the test's folder.
    let probe = try samhandAsUser(["--help"])
    guard probe.status == 0 else {
      throw XCTSkip("samhand cannot run as nobody (uid 65534) here: \(probe.stderr)")
    }
    var folder = temp.url.deletingLastPathComponent()
    while folder.path != "/" {
      guard FaultTests.othersMay(folder.path, S_IXOTH) else {
        throw XCTSkip("nobody cannot enter \(folder.path), which holds the test's folder")
      }
      folder = folder.deletingLastPathComponent()
    }
  }

  /// Gives `url` and everything in it to the unprivileged user (a no-op when not root).
  private func giveToUser(_ url: URL) throws {
    guard FaultTests.isRoot else { return }
    for path in [url.path] + (FileManager.default.subpaths(atPath: url.path) ?? []).map({ url.path + "/" + $0 }) {
      XCTAssertEqual(lchown(path, FaultTests.nobody.uid, FaultTests.nobody.gid), 0, "chown \(path)")
    }
  }

  // MARK: - Helpers

  /// Mounts a 1 MiB tmpfs at `name` in the test's folder, unmounted after the test.
  private func mountSmallDisk(_ name: String) throws -> URL {
    guard FaultTests.isRoot else {
      throw XCTSkip(
        "a full disk is simulated with a 1 MiB tmpfs, and mounting one needs root (running as uid \(geteuid()))")
    }
    guard let mount = FaultTests.tool("mount"), let umount = FaultTests.tool("umount") else {
      throw XCTSkip("no mount command to simulate a full disk with a tmpfs")
    }
    let url = temp.path(name)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    let result = try run(mount, ["-t", "tmpfs", "-o", "size=1m,mode=0777", "tmpfs", url.path])
    guard result.status == 0 else {
      let reason = result.stderr.split(whereSeparator: \.isNewline).first.map(String.init) ?? "exit \(result.status)"
      throw XCTSkip("cannot mount a tmpfs to simulate a full disk here (\(reason))")
    }
    addTeardownBlock { [weak self] in
      guard let self else { return }
      let unmounted = try? self.run(umount, [url.path])
      if unmounted?.status != 0 { _ = try? self.run(umount, ["-l", url.path]) }
    }
    return url
  }

  /// Fills the disk holding `folder` with a file, leaving about `leaving` bytes free.
  private func fill(_ folder: URL, leaving: Int = 0) throws -> URL {
    let filler = folder.appendingPathComponent("filler")
    let descriptor = open(filler.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    guard descriptor >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    defer { close(descriptor) }
    let chunk = [UInt8](repeating: 0xA5, count: 4096)
    var remaining = leaving == 0 ? Int.max : Int(try freeBytes(folder)) - leaving
    while remaining > 0 {
      let written = chunk.withUnsafeBytes { write(descriptor, $0.baseAddress!, min(chunk.count, remaining)) }
      if written <= 0 { break }  // full
      remaining -= written
    }
    let free = try freeBytes(folder)
    XCTAssertLessThanOrEqual(free, UInt64(leaving + 8192), "the disk should be full now")
    return filler
  }

  private func freeBytes(_ folder: URL) throws -> UInt64 {
    var info = statvfs()
    guard statvfs(folder.path, &info) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    return UInt64(info.f_bavail) * UInt64(info.f_frsize)
  }

  /// Samhand's temporary files anywhere under `folder`.
  private func temporaryFiles(in folder: URL) -> [String] {
    (FileManager.default.subpaths(atPath: folder.path) ?? []).filter {
      ($0 as NSString).lastPathComponent.hasPrefix(".samhand-")
    }
  }

  /// The absolute path of `name` in the test's folder, as `samhand` prints it.
  private func path(_ name: String) -> String {
    temp.url.resolvingSymlinksInPath().appendingPathComponent(name).path
  }

  /// Fails the test if a message is Foundation's vague wording or a crash.
  private func assertClear(_ output: Output, file: StaticString = #filePath, line: UInt = #line) {
    for vague in ["could not be completed", "Fatal error", "Stack dump", "Current stack trace", "SQLite error"] {
      XCTAssertFalse(output.stderr.contains(vague), "unclear: \(output.stderr)", file: file, line: line)
    }
  }

  private func setMode(_ url: URL, _ mode: mode_t) {
    XCTAssertEqual(chmod(url.path, mode), 0, "chmod \(url.path): \(String(cString: strerror(errno)))")
  }

  /// Sets the mode of `folder` and every folder under it.
  private func setFolderModes(_ folder: URL, _ mode: mode_t) {
    setModes(folder, folders: mode, files: nil)
  }

  /// Sets the modes of `folder`, the folders and (unless nil) the files under it.
  private func setModes(_ folder: URL, folders: mode_t, files: mode_t?) {
    // Children first, while the folders can still be listed by root or the owner.
    for name in (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [] {
      let child = folder.appendingPathComponent(name)
      var isDirectory: ObjCBool = false
      guard FileManager.default.fileExists(atPath: child.path, isDirectory: &isDirectory) else { continue }
      if isDirectory.boolValue {
        setModes(child, folders: folders, files: files)
      } else if let files {
        setMode(child, files)
      }
    }
    setMode(folder, folders)
  }

  /// Makes everything under `url` removable again after a test.
  private static func restoreModes(_ url: URL) {
    var status = stat()
    guard lstat(url.path, &status) == 0, status.st_mode & S_IFMT == S_IFDIR else { return }
    chmod(url.path, 0o755)
    for name in (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? [] {
      restoreModes(url.appendingPathComponent(name))
    }
  }

  private static func othersMay(_ path: String, _ bit: mode_t) -> Bool {
    var status = stat()
    return stat(path, &status) == 0 && status.st_mode & bit != 0
  }

  /// `count` random hex digits: text that compresses to about half.
  private static func randomHex(count: Int) -> String {
    var generator = SystemRandomNumberGenerator()
    return String((0..<count).map { _ in "0123456789abcdef".randomElement(using: &generator)! })
  }

  /// A system tool, found in the usual places.
  private static func tool(_ name: String) -> URL? {
    for folder in ["/usr/bin", "/bin", "/usr/sbin", "/sbin"] {
      let url = URL(fileURLWithPath: folder).appendingPathComponent(name)
      if FileManager.default.isExecutableFile(atPath: url.path) { return url }
    }
    return nil
  }

  /// Runs a program in the test's folder and collects what it printed.
  private func run(_ executable: URL, _ arguments: [String]) throws -> Output {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    process.currentDirectoryURL = temp.url
    var environment = ProcessInfo.processInfo.environment
    environment["SAMHAND_STORE"] = nil
    process.environment = environment
    let id = UUID().uuidString.prefix(8)
    let outURL = temp.path(".out-\(id)")
    let errURL = temp.path(".err-\(id)")
    _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
    defer {
      try? FileManager.default.removeItem(at: outURL)
      try? FileManager.default.removeItem(at: errURL)
    }
    let out = try FileHandle(forWritingTo: outURL)
    let err = try FileHandle(forWritingTo: errURL)
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    try out.close()
    try err.close()
    return Output(
      status: process.terminationStatus,
      stdout: String(decoding: try Data(contentsOf: outURL), as: UTF8.self),
      stderr: String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
  }
}
