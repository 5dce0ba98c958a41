import Foundation
import Samhand
import SamhandTestSupport
import Testing

// Random histories of several offices that write, exchange some of their
// changesets, and resolve conflicts; then every changeset reaches every
// replica (and a fresh one) in a random order, with duplicates and early
// arrivals. All replicas must end byte-identical, and no committed write
// may be lost unless a write that had seen it superseded it.
//
// Every run prints its seed. To replay a run:
//   SAMHAND_SEED=0x… swift test --filter ConvergencePropertyTests
// and one failing history alone (its seed is printed with the failure):
//   SAMHAND_SEED=0x… SAMHAND_HISTORIES=1 swift test --filter ConvergencePropertyTests
// SAMHAND_HISTORIES=N runs N histories instead of the default 200.

@Suite("Convergence")
struct ConvergencePropertyTests {
  static let defaultHistories = 200

  @Test("random histories converge and lose no write")
  func randomHistoriesConverge() async throws {
    let environment = ProcessInfo.processInfo.environment
    let baseSeed: UInt64
    if let text = environment["SAMHAND_SEED"] {
      let parsed = text.lowercased().hasPrefix("0x") ? UInt64(text.dropFirst(2), radix: 16) : UInt64(text)
      baseSeed = try #require(parsed, "SAMHAND_SEED must be a decimal or 0x-prefixed hex UInt64, not '\(text)'")
    } else {
      baseSeed = UInt64.random(in: .min ... .max)
    }
    let count = environment["SAMHAND_HISTORIES"].flatMap { Int($0) } ?? Self.defaultHistories
    let workers = max(1, min(4, ProcessInfo.processInfo.activeProcessorCount))
    print("ConvergencePropertyTests: \(count) random histories, seed \(hex(baseSeed)), \(workers) workers")
    print("  replay: SAMHAND_SEED=\(hex(baseSeed)) swift test --filter ConvergencePropertyTests")

    let started = Date()
    var total = HistoryStats()
    var failures: [(seed: UInt64, message: String)] = []
    try await withThrowingTaskGroup(of: (UInt64, Result<HistoryStats, HistoryFailure>).self) { group in
      var next = 0
      func launch() {
        // History i uses seed base + i, so that a failing history replays
        // alone with SAMHAND_SEED set to its own seed and SAMHAND_HISTORIES=1.
        let seed = baseSeed &+ UInt64(next)
        next += 1
        group.addTask {
          do {
            return (seed, .success(try History(seed: seed).run()))
          } catch let failure as HistoryFailure {
            return (seed, .failure(failure))
          } catch {
            return (seed, .failure(HistoryFailure(message: "unexpected error: \(error)", trace: [])))
          }
        }
      }
      for _ in 0..<min(workers, count) { launch() }
      while let (seed, result) = try await group.next() {
        switch result {
        case .success(let stats): total.add(stats)
        case .failure(let failure): failures.append((seed, failure.description))
        }
        if next < count && failures.count < 3 { launch() }
      }
    }
    let seconds = Date().timeIntervalSince(started)
    print(
      "ConvergencePropertyTests: \(total.histories) histories in \(String(format: "%.1f", seconds)) s, seed \(hex(baseSeed)): "
        + "\(total.changesets) changesets (\(total.resolutions) resolutions, \(total.deletes) with deletes), "
        + "\(total.deliveryOrders) delivery orders, \(total.buffered) early arrivals buffered, "
        + "\(total.duplicates) duplicates, \(total.conflictsAtEnd) conflicts open at the end, "
        + "\(total.snapshotComparisons) mid-history snapshot comparisons")
    for (seed, message) in failures {
      Issue.record(
        """
        history with seed \(hex(seed)) failed: \(message)
        replay this history alone: SAMHAND_SEED=\(hex(seed)) SAMHAND_HISTORIES=1 swift test --filter ConvergencePropertyTests
        replay the whole run: SAMHAND_SEED=\(hex(baseSeed)) swift test --filter ConvergencePropertyTests
        """)
    }
    if failures.isEmpty {
      // The histories must really exercise what they claim to.
      #expect(total.histories == count)
      if count >= 50 {
        #expect(total.buffered > 0, "no early arrival was ever buffered")
        #expect(total.duplicates > 0, "no duplicate was ever delivered")
        #expect(total.resolutions > 0, "no conflict was ever resolved")
        #expect(total.conflictsAtEnd > 0, "no conflict was ever left open")
        #expect(total.deletes > 0, "no record was ever deleted")
      }
    }
  }
}

private func hex(_ value: UInt64) -> String { "0x" + String(value, radix: 16) }

// MARK: - Randomness

private typealias HistoryRandom = SeededRandom


// MARK: - One history

private struct HistoryStats: Sendable {
  var histories = 0
  var changesets = 0
  var resolutions = 0
  var deletes = 0
  var deliveryOrders = 0
  var buffered = 0
  var duplicates = 0
  var conflictsAtEnd = 0
  var snapshotComparisons = 0

  mutating func add(_ other: HistoryStats) {
    histories += other.histories
    changesets += other.changesets
    resolutions += other.resolutions
    deletes += other.deletes
    deliveryOrders += other.deliveryOrders
    buffered += other.buffered
    duplicates += other.duplicates
    conflictsAtEnd += other.conflictsAtEnd
    snapshotComparisons += other.snapshotComparisons
  }
}

private struct HistoryFailure: Error, CustomStringConvertible {
  var message: String
  var trace: [String]

  var description: String {
    trace.isEmpty ? message : message + "\nhistory:\n  " + trace.joined(separator: "\n  ")
  }
}

/// The records and fields the histories write: few, so that offices collide often.
private enum Plan {
  static let records: [RecordRef] = [
    RecordRef("cases", "sak-1"), RecordRef("cases", "sak-2"), RecordRef("projects", "p-1"), RecordRef("projects", "p-2"),
  ]
  static let textFields: [String: [String]] = ["cases": ["title", "status", "notes"], "projects": ["name", "status"]]
  static let dateFields: [String: String] = ["cases": "deadline", "projects": "start"]
  static let elements = ["agder", "ks", "kdd", "oslo"]
  static let fundingKeys = ["agder", "ks", "kdd"]
  static let offices: [ReplicaID] = [
    "agder", "innlandet", "more-og-romsdal", "nordland", "oslo", "rogaland", "troms-og-finnmark", "trondelag",
    "vestfold-og-telemark", "vestland", "viken", "ks", "kdd",
  ]
}

private final class History {
  let seed: UInt64
  var random: HistoryRandom
  let folder = TemporaryDirectory("convergence", inMemory: true)
  let storeID = StoreID.random()
  let replicas: [ReplicaID]
  let fresh: ReplicaID
  var stores: [ReplicaID: Store] = [:]
  /// Every changeset made, with its file bytes.
  var changesets: [Changeset.ID: Changeset] = [:]
  var files: [Changeset.ID: [UInt8]] = [:]
  var trace: [String] = []
  var stats = HistoryStats()
  /// Makes every written value unique, so the oracle can tell writes apart.
  var counter = 0

  init(seed: UInt64) throws {
    self.seed = seed
    random = HistoryRandom(seed: seed)
    var offices = Plan.offices
    offices.shuffle(using: &random)
    let count = random.chance(0.25) ? 6 : 5
    replicas = Array(offices[0..<count])
    fresh = offices[count]
    for replica in replicas + [fresh] {
      stores[replica] = try Store.create(
        at: folder.url.appendingPathComponent(replica.rawValue), replica: replica, storeID: storeID, schema: .planning)
    }
  }

  func fail(_ message: String) -> HistoryFailure { HistoryFailure(message: message, trace: trace) }

  func run() throws -> HistoryStats {
    stats.histories = 1
    let transactions = random.int(10...25)
    var made = 0
    while made < transactions {
      let roll = random.int(0...99)
      if roll < 50 {
        try write(at: random.pick(replicas))
        made += 1
      } else if roll < 82 {
        try exchange()
      } else if try resolveSomewhere() {
        made += 1
      } else {
        try exchange()
      }
    }
    try deliverEverything()
    try checkFinalState()
    return stats
  }

  // MARK: Writing

  func freshText() -> Value {
    counter += 1
    return .text("v\(counter)")
  }

  func freshDate() -> Value {
    counter += 1
    return .date(Day(year: 2000 + counter / 336, month: 1 + counter / 28 % 12, day: 1 + counter % 28)!)
  }

  func freshInteger() -> Value {
    counter += 1
    return .integer(Int64(counter) * 1000)
  }

  func value(for record: RecordRef, field: String) -> Value {
    if random.chance(0.05) { return .null }
    return field == Plan.dateFields[record.collection] ? freshDate() : freshText()
  }

  func randomEdits(seenBy store: Store) throws -> [Edit] {
    var edits: [Edit] = []
    let main = random.pick(Plan.records)
    for _ in 0..<random.int(1...3) {
      let record = random.chance(0.6) ? main : random.pick(Plan.records)
      let shown = try store.record(record.collection, record.id)
      let roll = random.int(0...99)
      switch roll {
      case 0..<35:
        let fields = Plan.textFields[record.collection]! + [Plan.dateFields[record.collection]!]
        let field = random.pick(fields)
        edits.append(.set(record, field: field, value: value(for: record, field: field)))
      case 35..<52:
        edits.append(.add(record, field: "participants", element: random.pick(Plan.elements)))
      case 52..<64:
        var element = random.pick(Plan.elements)
        if case .set(let elements)? = shown?.fields["participants"], !elements.isEmpty, random.chance(0.75) {
          element = random.pick(elements)
        }
        edits.append(.remove(record, field: "participants", element: element))
      case 64..<87 where record.collection == "projects":
        if roll < 78 {
          edits.append(.put(record, field: "funding", key: random.pick(Plan.fundingKeys), value: freshInteger()))
        } else {
          var key = random.pick(Plan.fundingKeys)
          if case .map(let map)? = shown?.fields["funding"], !map.isEmpty, random.chance(0.75) {
            key = random.pick(map.keys.sorted())
          }
          edits.append(.removeKey(record, field: "funding", key: key))
        }
      case 64..<87:
        edits.append(.set(record, field: "title", value: freshText()))
      case 87..<95:
        edits.append(.delete(record))
      default:
        edits.append(.touch(record))
      }
    }
    return edits
  }

  func write(at replica: ReplicaID) throws {
    let store = stores[replica]!
    let edits = try randomEdits(seenBy: store)
    let changeset = try store.transact { transaction in
      for edit in edits { try transaction.append(edit) }
    }
    guard let changeset else { throw fail("a transaction with \(edits.count) edits made no changeset") }
    try keep(changeset, from: store, note: "")
  }

  func keep(_ changeset: Changeset, from store: Store, note: String) throws {
    guard changesets[changeset.id] == nil else { throw fail("\(changeset.id) was made twice") }
    guard let bytes = try store.changesetBytes(changeset.id) else { throw fail("\(changeset.id) has no bytes") }
    guard try ChangesetFile.decode(bytes) == changeset else { throw fail("\(changeset.id) does not decode to itself") }
    changesets[changeset.id] = changeset
    files[changeset.id] = bytes
    stats.changesets += 1
    if changeset.edits.contains(where: { if case .delete = $0 { true } else { false } }) { stats.deletes += 1 }
    trace.append("\(changeset.id) \(note)deps \(changeset.dependencies) lamport \(changeset.lamport): \(describe(changeset.edits))")
  }

  // MARK: Exchanging

  /// Delivers some of what one office has applied to another, in a random
  /// order: some changesets arrive before what they depend on.
  func exchange() throws {
    let from = random.pick(replicas)
    let to = random.pick(replicas.filter { $0 != from })
    let held = try applied(at: from)
    var chosen = random.chance(0.25) ? held : held.filter { _ in random.chance(0.5) }
    chosen.shuffle(using: &random)
    guard !chosen.isEmpty else { return }
    trace.append("\(from) → \(to): \(chosen.map(\.description).joined(separator: " "))")
    for id in chosen { try deliver(id, to: to) }
    try compareWithEqualFrontiers(to)
  }

  /// What a replica has applied: by causal delivery, everything up to its frontier.
  func applied(at replica: ReplicaID) throws -> [Changeset.ID] {
    try stores[replica]!.frontier().sorted.flatMap { entry in
      (1...entry.counter).map { Changeset.ID(author: entry.replica, sequence: $0) }
    }
  }

  func deliver(_ id: Changeset.ID, to replica: ReplicaID) throws {
    let result = try stores[replica]!.receive(files[id]!)
    stats.buffered += result.buffered.count
    stats.duplicates += result.duplicates.count
    guard result.rejected.isEmpty else { throw fail("\(replica) rejected \(result.rejected)") }
  }

  /// Invariant 8, in the middle of a history: replicas at the same frontier
  /// hold byte-identical snapshots.
  func compareWithEqualFrontiers(_ replica: ReplicaID) throws {
    let frontier = try stores[replica]!.frontier()
    for other in replicas where other != replica {
      guard try stores[other]!.frontier() == frontier else { continue }
      stats.snapshotComparisons += 1
      let mine = try stores[replica]!.snapshot().bytes
      let theirs = try stores[other]!.snapshot().bytes
      guard mine == theirs else {
        throw fail(
          "\(replica) and \(other) share frontier \(frontier) but their snapshots differ:\n"
            + "\(replica): \(String(decoding: mine, as: UTF8.self))\n\(other): \(String(decoding: theirs, as: UTF8.self))")
      }
    }
  }

  // MARK: Resolving

  /// Resolves one open conflict at an office that sees one, if any does.
  func resolveSomewhere() throws -> Bool {
    for replica in replicas.shuffled(using: &random) {
      let conflicts = try stores[replica]!.conflicts()
      if !conflicts.isEmpty {
        try resolve(random.pick(conflicts), at: replica)
        return true
      }
    }
    return false
  }

  func resolve(_ conflict: Conflict, at replica: ReplicaID) throws {
    let store = stores[replica]!
    let changeset: Changeset?
    let note: String
    switch conflict.kind {
    case .value:
      let field = conflict.field!
      if random.chance(0.5) {
        let author = random.pick(conflict.siblings).author
        note = "resolves \(conflict.ref).\(field)\(conflict.key.map { "[\($0)]" } ?? "") picking \(author), "
        changeset = try store.resolve(conflict.collection, conflict.recordID, field: field, key: conflict.key, pick: author)
      } else {
        let value = conflict.key != nil ? freshInteger() : value(for: conflict.ref, field: field)
        note = "resolves \(conflict.ref).\(field)\(conflict.key.map { "[\($0)]" } ?? "") with \(value), "
        changeset = try store.resolve(conflict.collection, conflict.recordID, field: field, key: conflict.key, with: value)
      }
    case .delete:
      let keep = random.chance(0.6)
      note = "resolves the delete of \(conflict.ref) by \(keep ? "keeping" : "deleting"), "
      changeset = try store.resolveDelete(conflict.collection, conflict.recordID, keep: keep)
    }
    guard let changeset else { throw fail("\(replica): resolving \(conflict) made no changeset") }
    stats.resolutions += 1
    try keep(changeset, from: store, note: note)
    // The office that resolved sees the conflict closed at once.
    let still = try store.conflicts().filter {
      $0.kind == conflict.kind && $0.ref == conflict.ref && $0.field == conflict.field && $0.key == conflict.key
    }
    guard still.isEmpty else { throw fail("\(replica) resolved \(conflict) but still sees \(still)") }
  }

  // MARK: Delivering everything

  /// Every changeset to every replica and to a fresh one, each in its own
  /// random order, with duplicates (of what the replica holds already and
  /// of what it receives now); some replicas take them in batches.
  func deliverEverything() throws {
    let all = changesets.keys.sorted()
    for replica in replicas + [fresh] {
      let held = Set(try applied(at: replica))
      let missing = all.filter { !held.contains($0) }
      var order = missing.shuffled(using: &random)
      for _ in 0..<random.int(1...max(1, all.count / 4)) {
        order.insert(random.pick(all), at: random.int(0...order.count))
      }
      stats.deliveryOrders += 1
      if random.chance(0.25) {
        var start = 0
        while start < order.count {
          let end = min(order.count, start + random.int(1...12))
          let batch = order[start..<end].map { (bytes: files[$0]!, url: URL?.none) }
          let (result, failures) = try stores[replica]!.receive(files: batch)
          guard failures.isEmpty else { throw fail("\(replica) failed on good files: \(failures)") }
          guard result.rejected.isEmpty else { throw fail("\(replica) rejected \(result.rejected)") }
          stats.buffered += result.buffered.count
          stats.duplicates += result.duplicates.count
          start = end
        }
      } else {
        for id in order { try deliver(id, to: replica) }
      }
    }
  }

  // MARK: Checking

  func checkFinalState() throws {
    var expected = VersionVector()
    for id in changesets.keys where id.sequence > expected[id.author] { expected[id.author] = id.sequence }
    var reference: Data?
    var referenceReplica: ReplicaID?
    for replica in replicas + [fresh] {
      let store = stores[replica]!
      let pending = try store.pending()
      guard pending.isEmpty else { throw fail("\(replica) still buffers \(pending) after receiving everything") }
      let rejected = try store.rejected()
      guard rejected.isEmpty else { throw fail("\(replica) rejected \(rejected)") }
      let snapshot = try store.snapshot()
      guard snapshot.frontier == expected else {
        throw fail("\(replica) ends at frontier \(snapshot.frontier), expected \(expected)")
      }
      if let reference, let referenceReplica {
        guard snapshot.bytes == reference else {
          throw fail(
            "snapshots differ after full delivery:\n\(referenceReplica): \(String(decoding: reference, as: UTF8.self))\n"
              + "\(replica): \(String(decoding: snapshot.bytes, as: UTF8.self))")
        }
      } else {
        reference = snapshot.bytes
        referenceReplica = replica
      }
    }
    let store = stores[fresh]!
    var records: [RecordRef: Record] = [:]
    for collection in Schema.planning.collectionNames {
      for record in try store.records(in: collection) { records[record.ref] = record }
    }
    let conflicts = try store.conflicts()
    stats.conflictsAtEnd += conflicts.count
    guard conflicts == records.values.sorted(by: { $0.ref < $1.ref }).flatMap(\.conflicts) else {
      throw fail("conflicts() \(conflicts) disagrees with the records' conflicts")
    }
    guard try store.conflictCount() == conflicts.count else {
      throw fail("conflictCount() \(try store.conflictCount()) is not the \(conflicts.count) conflicts open")
    }
    let problems = Oracle(changesets: Array(changesets.values), records: records).problems()
    if !problems.isEmpty {
      throw fail(
        "the final state breaks the oracle:\n  " + problems.joined(separator: "\n  ") + "\nfinal snapshot: "
          + String(decoding: reference ?? Data(), as: UTF8.self))
    }
  }
}
