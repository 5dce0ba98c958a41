import Foundation
import Samhand
import SamhandTestSupport
import XCTest

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

// Kills a child process (`SamhandCrashChild`) with SIGKILL at random
// moments while it imports changeset files into a store, starts it again,
// and checks after every kill that the store holds exactly the changesets
// it says it applied, each one whole (invariant 6), and that a resumed
// import completes with the source's state.
//
// The source history and the order of the files come from a seed that is
// printed; replay them with SAMHAND_CRASH_SEED=0x… (the kill moments depend
// on timing and vary from run to run).

final class CrashTests: XCTestCase {
  func testCrash_killedImportsResumeWithoutHalfAppliedChangesets() throws {
    let seed: UInt64
    if let text = ProcessInfo.processInfo.environment["SAMHAND_CRASH_SEED"] {
      seed = try XCTUnwrap(
        text.lowercased().hasPrefix("0x") ? UInt64(text.dropFirst(2), radix: 16) : UInt64(text),
        "SAMHAND_CRASH_SEED must be a decimal or 0x-prefixed hex UInt64")
    } else {
      seed = UInt64.random(in: .min ... .max)
    }
    print("CrashTests: seed 0x\(String(seed, radix: 16)); replay with SAMHAND_CRASH_SEED=0x\(String(seed, radix: 16))")
    var random = CrashRandom(seed: seed)
    let childURL = try Self.childExecutable()

    // 300 changesets from three offices that exchange some of them as they go.
    let memory = TemporaryDirectory("crash-source", inMemory: true)
    let source = try CrashSource(changesets: 300, in: memory.url, random: &random)
    let disk = TemporaryDirectory("crash")
    let folder = disk.path("incoming")
    let plan = try source.writeFiles(to: folder, random: &random)

    // The store the child imports into, on disk, and a reference store that
    // is fed exactly the changesets the child's store holds after each kill.
    let storeURL = disk.path("kdd")
    _ = try Store.create(at: storeURL, replica: "kdd", storeID: source.storeID, schema: .planning)
    let reference = try Store.create(
      at: memory.url.appendingPathComponent("reference"), replica: "oslo", storeID: source.storeID, schema: .planning)
    var check = CrashCheck(source: source, storeURL: storeURL, reference: reference)

    var killed = 0
    var round = 0
    func crash(_ kill: Kill) throws {
      let child = try ChildRun(executable: childURL, store: storeURL, folder: folder, errors: disk.path("stderr-\(round).txt"))
      switch kill {
      case .afterLaunch(let milliseconds):
        usleep(useconds_t(milliseconds * 1000))
      case .atFile(let name, let microseconds):
        child.read(until: { $0 == "receive \(name)" })
        usleep(useconds_t(microseconds))
      case .whenApplied(let count):
        // Watch the store from here while the child writes to it.
        let watcher = try Store.open(at: storeURL)
        while child.isRunning, try watcher.frontier().total < UInt64(count) { usleep(200) }
      }
      let wasRunning = child.kill()
      child.readToEnd()
      let status = child.wait()
      if wasRunning && child.killedBySignal {
        killed += 1
      } else {
        XCTAssertEqual(status, 0, "round \(round): child failed: \(child.errorText)")
      }
      try check.afterRun(child, round: round, completed: child.lines.last?.hasPrefix("done ") == true, badFiles: plan.badFiles)
      print("CrashTests: round \(round), \(kill): \(wasRunning ? "killed" : "finished") with \(check.previous.count) changesets applied")
      round += 1
    }
    // Kill while the child starts; then at one of the next files that still
    // have work to do (often while a changeset is being buffered); then as
    // soon as the store holds a few more changesets (mostly in the middle of
    // a drain); and so on. The last file sets off the final drain, and only
    // the last kill falls inside it: the resumed run must finish it.
    let total = source.changesets.count
    let plannedCounts = plan.appliedCounts(source)
    let lastFile = plan.names.firstIndex(of: plan.blockers.last!)!
    let finalDrain = (lastFile == 0 ? 0 : plannedCounts[plan.names[lastFile - 1]]!) + 1
    XCTAssertEqual(plannedCounts[plan.names.last!], total)
    XCTAssertLessThan(finalDrain, total - 10, "the final drain is too short to kill in")
    var kills: [Kill] = [.afterLaunch(milliseconds: random.int(0...40))]
    try crash(kills[0])
    for index in 1...9 {
      let applied = check.previous.count
      if index == 9 {
        kills.append(.whenApplied(random.int(max(applied + 1, finalDrain)...(total - 1))))
      } else if index % 2 == 0 && applied + 1 < finalDrain {
        kills.append(.whenApplied(random.int((applied + 1)...min(applied + 60, finalDrain - 1))))
      } else {
        let waiting = plan.names[..<lastFile].filter { name in plan.ids[name].map { !check.previous.contains($0) } ?? false }
        guard !waiting.isEmpty else { continue }
        kills.append(.atFile(waiting[random.int(0...min(waiting.count - 1, 40))], microseconds: random.int(0...3000)))
      }
      try crash(kills.last!)
    }

    // A last run, left alone, completes the import.
    let final = try ChildRun(executable: childURL, store: storeURL, folder: folder, errors: disk.path("stderr-final.txt"))
    final.readToEnd()
    XCTAssertEqual(final.wait(), 0, "the resumed import failed: \(final.errorText)")
    XCTAssertEqual(final.lines.last?.hasPrefix("done "), true, "the resumed import did not finish: \(final.lines.suffix(5))")
    try check.afterRun(final, round: round, completed: true, badFiles: plan.badFiles)

    let store = try Store.open(at: storeURL)
    XCTAssertEqual(try store.pending(), [], "changesets still wait after a complete import")
    XCTAssertEqual(try store.frontier(), try source.hub.frontier())
    let snapshot = try store.snapshot()
    let expected = try source.hub.snapshot()
    XCTAssertEqual(snapshot.sha256, expected.sha256)
    if snapshot.bytes != expected.bytes {
      XCTFail(
        "the imported store differs from the source:\nimported: \(String(decoding: snapshot.bytes, as: UTF8.self))\n"
          + "source: \(String(decoding: expected.bytes, as: UTF8.self))")
    }
    print("CrashTests: \(killed) of \(kills.count) runs killed by SIGKILL, \(check.appliedCounts) changesets applied after each run")
    XCTAssertGreaterThanOrEqual(killed, 3, "too few runs were killed to test anything")
  }

  /// The child program, built by SwiftPM next to the test bundle.
  static func childExecutable() throws -> URL {
    var folders: [URL] = []
    let bundle = Bundle(for: CrashTests.self).bundleURL
    folders.append(bundle.pathExtension == "xctest" ? bundle.deletingLastPathComponent() : bundle)
    if let executable = Bundle.main.executableURL { folders.append(executable.deletingLastPathComponent()) }
    folders.append(URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent())
    for folder in folders {
      let candidate = folder.appendingPathComponent("SamhandCrashChild")
      if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
    }
    throw XCTSkip("SamhandCrashChild was not built next to the tests (looked in \(folders.map(\.path)))")
  }
}

// MARK: - Kills

private enum Kill {
  /// Some milliseconds after the child starts: while it opens the store.
  case afterLaunch(milliseconds: Int)
  /// Some microseconds after the child starts receiving a file.
  case atFile(String, microseconds: Int)
  /// As soon as the store holds this many changesets.
  case whenApplied(Int)
}

private typealias CrashRandom = SeededRandom


/// SIGKILL: no handler runs, no buffer is flushed, the process just stops.
private func sendKill(_ pid: Int32) -> Int32 { kill(pid, SIGKILL) }

private func pad(_ value: Int, _ width: Int) -> String {
  let digits = String(value)
  return String(repeating: "0", count: max(0, width - digits.count)) + digits
}

// MARK: - The source history

private struct CrashSource {
  let storeID = StoreID.random()
  /// The office that received everything: the state the import must reach.
  let hub: Store
  /// Every changeset in the order it was made (a causal order).
  let changesets: [Changeset]
  let bytes: [Changeset.ID: [UInt8]]
  let byID: [Changeset.ID: Changeset]

  static let records: [RecordRef] =
    (1...4).map { RecordRef("cases", "sak-\($0)") } + (1...3).map { RecordRef("projects", "p-\($0)") }
    + (1...2).map { RecordRef("membership", "m-\($0)") }

  init(changesets count: Int, in folder: URL, random: inout CrashRandom) throws {
    let authors: [ReplicaID] = ["vestland", "agder", "ks"]
    var stores: [ReplicaID: Store] = [:]
    var held: [ReplicaID: Set<Changeset.ID>] = [:]
    for author in authors {
      stores[author] = try Store.create(
        at: folder.appendingPathComponent(author.rawValue), replica: author, storeID: storeID, schema: .planning)
      held[author] = []
    }
    var made: [Changeset] = []
    var bytes: [Changeset.ID: [UInt8]] = [:]
    func sync(from: ReplicaID, to: ReplicaID) throws {
      for changeset in made where held[from]!.contains(changeset.id) && !held[to]!.contains(changeset.id) {
        let result = try stores[to]!.receive(bytes[changeset.id]!)
        guard result.applied == [changeset.id] else {
          throw SamhandError(.storage, "source: \(changeset.id) was not applied at \(to): \(result)")
        }
        held[to]!.insert(changeset.id)
      }
    }
    for number in 1...count {
      let author = random.pick(authors)
      let edits = Self.randomEdits(number, &random)
      guard let changeset = try stores[author]!.transact({ transaction in
        for edit in edits { try transaction.append(edit) }
      }) else { throw SamhandError(.storage, "source: an empty transaction") }
      made.append(changeset)
      bytes[changeset.id] = try stores[author]!.changesetBytes(changeset.id)
      held[author]!.insert(changeset.id)
      if random.chance(0.2) {
        let other = random.pick(authors.filter { $0 != author })
        try sync(from: other, to: author)
      }
    }
    for author in authors where author != "vestland" { try sync(from: author, to: "vestland") }
    hub = stores["vestland"]!
    changesets = made
    self.bytes = bytes
    byID = Dictionary(uniqueKeysWithValues: made.map { ($0.id, $0) })
  }

  static func randomEdits(_ number: Int, _ random: inout CrashRandom) -> [Edit] {
    let offices = ["agder", "ks", "kdd", "oslo", "vestland"]
    var edits: [Edit] = []
    for _ in 0..<random.int(1...4) {
      let record = random.pick(records)
      let roll = random.int(0...99)
      switch (record.collection, roll) {
      case (_, 90...94): edits.append(.delete(record))
      case (_, 95...99): edits.append(.touch(record))
      case ("cases", 0..<30):
        edits.append(.set(record, field: random.pick(["title", "status", "notes"]), value: .text("tekst \(number)")))
      case ("cases", 30..<45):
        edits.append(.set(record, field: "deadline", value: .date(Day(year: 2025, month: 1 + number % 12, day: 1 + number % 28)!)))
      case ("cases", 45..<70), ("projects", 45..<70):
        edits.append(.add(record, field: "participants", element: random.pick(offices)))
      case ("cases", _), ("projects", 70..<90):
        edits.append(.remove(record, field: "participants", element: random.pick(offices)))
      case ("projects", 0..<25):
        edits.append(.put(record, field: "funding", key: random.pick(offices), value: .integer(Int64(number) * 1000)))
      case ("projects", 25..<35):
        edits.append(.removeKey(record, field: "funding", key: random.pick(offices)))
      case ("projects", _):
        edits.append(.set(record, field: "status", value: .text(random.pick(["planlagt", "aktiv", "avsluttet"]))))
      case (_, 0..<40):
        edits.append(.set(record, field: "person", value: .text("Person \(number)")))
      case (_, 40..<70):
        edits.append(.add(record, field: "groups", element: random.pick(["reguleringsplan", "kommuneplanens-arealdel"])))
      default:
        edits.append(.set(record, field: "from", value: .date(Day(year: 2024, month: 1 + number % 12, day: 1)!)))
      }
    }
    return edits
  }

  /// The files the child imports, named so that their order is causal
  /// with local swaps (early arrivals), except for three changesets that
  /// come late: a quarter of the files later, and the last one at the very
  /// end. What depends on them waits and is then applied in one long drain.
  /// A few duplicates and bad files sit in between.
  func writeFiles(to folder: URL, random: inout CrashRandom) throws -> FilePlan {
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    var order = changesets.map(\.id)
    for index in order.indices where random.chance(0.3) {
      order.swapAt(index, min(order.count - 1, index + random.int(1...6)))
    }
    let blockers = [order.count / 10, order.count * 4 / 10, order.count * 7 / 10].map { order[$0] }
    for (index, blocker) in blockers.enumerated() {
      let from = order.firstIndex(of: blocker)!
      order.remove(at: from)
      order.insert(blocker, at: index == blockers.count - 1 ? order.count : min(order.count, from + order.count / 4))
    }
    var plan = FilePlan()
    func write(_ name: String, _ content: [UInt8], _ id: Changeset.ID?) throws {
      try Data(content).write(to: folder.appendingPathComponent(name))
      plan.names.append(name)
      plan.ids[name] = id
    }
    for (position, id) in order.enumerated() {
      let name = "\(pad(position, 4))-\(id.author)-\(pad(Int(id.sequence), 6)).changeset"
      try write(name, bytes[id]!, id)
      if blockers.contains(id) { plan.blockers.append(name) }
    }
    // Copies of anything but a blocker: a copy of the last blocker ahead of
    // it would unblock the final drain, which the test must be able to kill in.
    let copyable = order.filter { !blockers.contains($0) }
    for _ in 0..<5 {
      let id = random.pick(copyable)
      try write("\(pad(random.int(0...(order.count - 2)), 4))-copy-\(id.author)-\(pad(Int(id.sequence), 6)).changeset", bytes[id]!, id)
    }
    let torn = bytes[random.pick(order)]!
    try write("\(pad(random.int(0...(order.count - 2)), 4))-torn.changeset", Array(torn[0..<(torn.count / 2)]), nil)
    let garbage = (0..<200).map { _ in UInt8.random(in: 0...255, using: &random) }
    try write("\(pad(random.int(0...(order.count - 2)), 4))-garbage.changeset", garbage, nil)
    plan.badFiles = 2
    plan.names.sort { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    return plan
  }
}

/// The files in the child's folder.
private struct FilePlan {
  /// How many changesets a fresh store holds after each good file, when
  /// it receives the files one by one in order.
  func appliedCounts(_ source: CrashSource) -> [String: Int] {
    var frontier = VersionVector()
    var waiting: [Changeset] = []
    var counts: [String: Int] = [:]
    for name in names {
      if let id = ids[name], frontier[id.author] < id.sequence, !waiting.contains(where: { $0.id == id }) {
        waiting.append(source.byID[id]!)
        var progress = true
        while progress {
          progress = false
          for (index, changeset) in waiting.enumerated()
          where frontier[changeset.author] == changeset.sequence - 1 && changeset.dependencies.isIncluded(in: frontier) {
            frontier[changeset.author] = changeset.sequence
            waiting.remove(at: index)
            progress = true
            break
          }
        }
      }
      counts[name] = Int(frontier.total)
    }
    return counts
  }

  /// Every file name, in the order the child reads them.
  var names: [String] = []
  /// The changeset in each good file.
  var ids: [String: Changeset.ID] = [:]
  /// Files with a changeset that many others wait for, in file order.
  var blockers: [String] = []
  var badFiles = 0
}

// MARK: - A child run

/// One run of the child, reading its output line by line.
private final class ChildRun {
  let process = Process()
  let output = Pipe()
  let errorsURL: URL
  private(set) var lines: [String] = []
  private var buffer = Data()
  private var ended = false
  private let watchdog: DispatchWorkItem

  init(executable: URL, store: URL, folder: URL, errors: URL) throws {
    errorsURL = errors
    _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
    process.executableURL = executable
    process.arguments = [store.path, folder.path]
    process.standardOutput = output
    process.standardError = try FileHandle(forWritingTo: errors)
    try process.run()
    // A child that hangs must not hang the test.
    let pid = process.processIdentifier
    watchdog = DispatchWorkItem { _ = sendKill(pid) }
    DispatchQueue.global().asyncAfter(deadline: .now() + 180, execute: watchdog)
  }

  deinit { watchdog.cancel() }

  var errorText: String { (try? String(contentsOf: errorsURL, encoding: .utf8)) ?? "" }

  /// The next line, or nil when the output has ended.
  func nextLine() -> String? {
    while true {
      if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
        let line = String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self)
        buffer.removeSubrange(buffer.startIndex...newline)
        lines.append(line)
        return line
      }
      guard !ended else { return nil }
      let chunk = output.fileHandleForReading.availableData
      if chunk.isEmpty {
        ended = true
        if !buffer.isEmpty {
          // A line cut short by the kill: the child never finished writing it.
          buffer.removeAll()
        }
      } else {
        buffer.append(chunk)
      }
    }
  }

  /// Reads until a line matches; false when the output ended first.
  @discardableResult
  func read(until matches: (String) -> Bool) -> Bool {
    while let line = nextLine() {
      if matches(line) { return true }
    }
    return false
  }

  func readToEnd() { while nextLine() != nil {} }

  var isRunning: Bool { process.isRunning }

  /// Sends SIGKILL; returns whether the child was still running.
  func kill() -> Bool {
    guard process.isRunning else { return false }
    return sendKill(process.processIdentifier) == 0
  }

  func wait() -> Int32 {
    process.waitUntilExit()
    watchdog.cancel()
    return process.terminationStatus
  }

  var killedBySignal: Bool {
    process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGKILL
  }
}

// MARK: - Checks

/// What must hold after every run, killed or not.
private struct CrashCheck {
  let source: CrashSource
  let storeURL: URL
  let reference: Store
  /// Every changeset a child reported as applied, over all runs.
  var reported: Set<Changeset.ID> = []
  /// The changesets the store held after the previous run.
  var previous: Set<Changeset.ID> = []
  var appliedCounts: [Int] = []

  mutating func afterRun(_ run: ChildRun, round: Int, completed: Bool, badFiles: Int) throws {
    for line in run.lines where line.hasPrefix("applied ") {
      let parts = line.dropFirst("applied ".count).split(separator: "#")
      guard parts.count == 2, let author = ReplicaID(rawValue: String(parts[0])), let sequence = UInt64(parts[1]) else {
        XCTFail("round \(round): malformed line '\(line)'")
        continue
      }
      reported.insert(Changeset.ID(author: author, sequence: sequence))
    }
    XCTAssertFalse(run.lines.contains { $0.hasPrefix("rejected ") }, "round \(round): a good changeset was rejected")

    let store = try Store.open(at: storeURL)
    let history = try store.history()
    let applied = Set(history.map(\.changeset))
    XCTAssertEqual(applied.count, history.count, "round \(round): a changeset is recorded twice")
    appliedCounts.append(applied.count)

    // The frontier is exactly the set of changesets recorded as applied.
    let frontier = try store.frontier()
    var covered = Set<Changeset.ID>()
    for (replica, counter) in frontier.counters {
      for sequence in 1...counter { covered.insert(Changeset.ID(author: replica, sequence: sequence)) }
    }
    XCTAssertEqual(applied, covered, "round \(round): frontier \(frontier) does not match the applied changesets")
    // Only what the source made, each with its own bytes, and with all it depends on.
    for id in applied.subtracting(previous).sorted() {
      guard let changeset = source.byID[id] else {
        XCTFail("round \(round): \(id) is not a changeset of the source")
        continue
      }
      XCTAssertTrue(changeset.dependencies.isIncluded(in: frontier), "round \(round): \(id) is applied without its dependencies")
      XCTAssertEqual(try store.changesetBytes(id), source.bytes[id], "round \(round): \(id) is stored with other bytes")
    }
    // Nothing a child reported is lost, nothing applied comes undone.
    XCTAssertTrue(reported.isSubset(of: applied), "round \(round): reported but lost: \(reported.subtracting(applied).sorted())")
    XCTAssertTrue(previous.isSubset(of: applied), "round \(round): applied earlier but lost: \(previous.subtracting(applied).sorted())")
    let pending = Set(try store.pending())
    XCTAssertTrue(pending.isDisjoint(with: applied), "round \(round): both applied and waiting: \(pending.intersection(applied).sorted())")
    XCTAssertEqual(try store.rejected(), [:], "round \(round)")

    // Each applied changeset's effects are all there, and nothing else:
    // the same state as a store that applied exactly these changesets.
    for id in applied.subtracting(previous).sorted() {
      try reference.receive(source.bytes[id]!)
    }
    XCTAssertEqual(try reference.pending(), [], "round \(round): the applied set is not causally closed")
    XCTAssertEqual(try reference.frontier(), frontier, "round \(round)")
    let mine = try store.snapshot().bytes
    let theirs = try reference.snapshot().bytes
    if mine != theirs {
      XCTFail(
        "round \(round): the store's state is not that of its applied changesets:\nstore: \(String(decoding: mine, as: UTF8.self))\n"
          + "reference: \(String(decoding: theirs, as: UTF8.self))")
    }

    if completed {
      let done = run.lines.last ?? ""
      XCTAssertEqual(done, "done \(source.changesets.count) 0", "round \(round): a completed import must apply everything")
      XCTAssertEqual(run.lines.filter { $0.hasPrefix("bad ") }.count, badFiles, "round \(round): bad files reported")
    }
    previous = applied
  }
}
