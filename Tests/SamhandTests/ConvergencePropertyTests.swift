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
    let problems = Oracle(changesets: Array(changesets.values), records: records).problems()
    if !problems.isEmpty {
      throw fail(
        "the final state breaks the oracle:\n  " + problems.joined(separator: "\n  ") + "\nfinal snapshot: "
          + String(decoding: reference ?? Data(), as: UTF8.self))
    }
  }
}

// MARK: - The oracle

/// Checks a final state against the changesets that made it, from the
/// changesets alone (their edits and dependencies), never from a store.
///
/// - No lost write: a write is visible (as the value or as a sibling in a
///   conflict) unless a later edit of its changeset, or a changeset that
///   had seen it, wrote the same path, removed it or deleted the record;
///   a record written stays alive unless such a changeset deleted it.
/// - No resurrection: a removed element or key, or a deleted record, shows
///   only if a write the remover had not seen brings it back.
/// - The exact state MERGE.md prescribes (`model()`), compared both ways.
/// - Conflicts: siblings are concurrent, in the documented order, carry
///   the values and stamps their changesets wrote, and the first is shown.
private struct Oracle {
  let changesets: [Changeset]
  let records: [RecordRef: Record]
  let byDot: [Dot: Changeset]

  init(changesets: [Changeset], records: [RecordRef: Record]) {
    self.changesets = changesets.sorted { $0.id < $1.id }
    self.records = records
    byDot = Dictionary(uniqueKeysWithValues: changesets.map { ($0.dot, $0) })
  }

  /// Whether an edit after `index` in the writer, or an edit of a changeset
  /// that had seen the writer, matches.
  func superseded(_ writer: Changeset, after index: Int, by matches: (Edit) -> Bool) -> Bool {
    if writer.edits[(index + 1)...].contains(where: matches) { return true }
    return changesets.contains { other in
      other.id != writer.id && other.dependencies.contains(writer.dot) && other.edits.contains(where: matches)
    }
  }

  /// Whether `other` happened outside what `changeset` had seen (concurrently or later).
  func unseen(_ other: Changeset, by changeset: Changeset) -> Bool {
    other.id != changeset.id && !changeset.dependencies.contains(other.dot)
  }

  static func isDelete(_ record: RecordRef) -> (Edit) -> Bool {
    { if case .delete(record) = $0 { true } else { false } }
  }

  /// Whether the changeset's last edit of the record deletes it.
  static func endsDeleted(_ changeset: Changeset, _ record: RecordRef) -> Bool? {
    guard let last = changeset.edits.last(where: { $0.record == record }) else { return nil }
    if case .delete = last { return true }
    return false
  }

  // Edits that write or clear one path.
  static func writesScalar(_ record: RecordRef, _ field: String) -> (Edit) -> Bool {
    { if case .set(record, field, _) = $0 { true } else { false } }
  }

  static func writesKey(_ record: RecordRef, _ field: String, _ key: String) -> (Edit) -> Bool {
    {
      switch $0 {
      case .put(record, field, key, _), .removeKey(record, field, key): true
      default: false
      }
    }
  }

  static func writesElement(_ record: RecordRef, _ field: String, _ element: String) -> (Edit) -> Bool {
    {
      switch $0 {
      case .add(record, field, element), .remove(record, field, element): true
      default: false
      }
    }
  }

  /// The documented order of siblings: higher Lamport stamp first, then
  /// the author slug that sorts later, then the higher sequence number.
  static func precedes(_ first: Sibling, _ second: Sibling) -> Bool {
    if first.lamport != second.lamport { return first.lamport > second.lamport }
    if first.author != second.author { return second.author < first.author }
    return first.sequence > second.sequence
  }

  func problems() -> [String] {
    var problems: [String] = []
    problems += lostWrites()
    problems += deadRecords()
    problems += resurrections()
    problems += modelProblems()
    problems += badConflicts()
    return problems
  }

  /// Writes that no later write superseded must be visible.
  func lostWrites() -> [String] {
    var problems: [String] = []
    for changeset in changesets {
      for (index, edit) in changeset.edits.enumerated() {
        let record = records[edit.record]
        switch edit {
        case .set(let ref, let field, let value):
          let writesPath = Self.writesScalar(ref, field), deletes = Self.isDelete(ref)
          guard !superseded(changeset, after: index, by: { writesPath($0) || deletes($0) }) else { continue }
          let shown = record?.fields[field] == .value(value)
          let sibling = record?.conflicts.contains { conflict in
            conflict.kind == .value && conflict.field == field && conflict.key == nil
              && conflict.siblings.contains { $0.dot == changeset.dot && $0.value == value }
          }
          if !shown && sibling != true {
            problems.append("lost write: \(changeset.id) set \(ref).\(field) = \(value); shown: \(describe(record))")
          }
        case .put(let ref, let field, let key, let value):
          let writesPath = Self.writesKey(ref, field, key), deletes = Self.isDelete(ref)
          guard !superseded(changeset, after: index, by: { writesPath($0) || deletes($0) }) else { continue }
          var shown = false
          if case .map(let map)? = record?.fields[field] { shown = map[key] == value }
          let sibling = record?.conflicts.contains { conflict in
            conflict.kind == .value && conflict.field == field && conflict.key == key
              && conflict.siblings.contains { $0.dot == changeset.dot && $0.value == value }
          }
          if !shown && sibling != true {
            problems.append("lost write: \(changeset.id) put \(ref).\(field)[\(key)] = \(value); shown: \(describe(record))")
          }
        case .add(let ref, let field, let element):
          let writesPath = Self.writesElement(ref, field, element), deletes = Self.isDelete(ref)
          guard !superseded(changeset, after: index, by: { writesPath($0) || deletes($0) }) else { continue }
          var shown = false
          if case .set(let elements)? = record?.fields[field] { shown = elements.contains(element) }
          if !shown {
            problems.append("lost write: \(changeset.id) add \(element) to \(ref).\(field); shown: \(describe(record))")
          }
        default:
          continue
        }
      }
    }
    return problems
  }

  /// A record that a changeset wrote stays alive unless a changeset that
  /// had seen that write deleted it.
  func deadRecords() -> [String] {
    var problems: [String] = []
    for changeset in changesets {
      for ref in Set(changeset.edits.map(\.record)).sorted() where Self.endsDeleted(changeset, ref) == false {
        let last = changeset.edits.lastIndex { $0.record == ref }!
        guard !superseded(changeset, after: last, by: Self.isDelete(ref)) else { continue }
        if records[ref] == nil {
          problems.append("lost record: \(changeset.id) wrote \(ref) and no changeset that saw it deleted it, yet it is gone")
        }
      }
    }
    return problems
  }

  /// Removed elements, removed keys and deleted records stay gone unless a
  /// write the remover had not seen brings them back.
  func resurrections() -> [String] {
    var problems: [String] = []
    for changeset in changesets {
      for (index, edit) in changeset.edits.enumerated() {
        let record = records[edit.record]
        switch edit {
        case .remove(let ref, let field, let element):
          guard case .set(let elements)? = record?.fields[field], elements.contains(element) else { continue }
          let readded = changesets.contains { other in
            (other.id == changeset.id
              ? other.edits[(index + 1)...].contains(.add(ref, field: field, element: element))
              : unseen(other, by: changeset) && other.edits.contains(.add(ref, field: field, element: element)))
          }
          if !readded {
            problems.append("resurrected: \(changeset.id) removed \(element) from \(ref).\(field), nothing re-added it, yet it shows")
          }
        case .removeKey(let ref, let field, let key):
          guard case .map(let map)? = record?.fields[field], map[key] != nil else { continue }
          let isPut: (Edit) -> Bool = { if case .put(ref, field, key, _) = $0 { true } else { false } }
          let reput = changesets.contains { other in
            other.id == changeset.id
              ? other.edits[(index + 1)...].contains(where: isPut)
              : unseen(other, by: changeset) && other.edits.contains(where: isPut)
          }
          if !reput {
            problems.append("resurrected: \(changeset.id) removed \(ref).\(field)[\(key)], nothing put it again, yet it shows")
          }
        case .delete(let ref):
          guard record != nil, Self.endsDeleted(changeset, ref) == true,
            changeset.edits.lastIndex(where: { $0.record == ref }) == index
          else { continue }
          let alive = changesets.contains { other in unseen(other, by: changeset) && Self.endsDeleted(other, ref) == false }
          if !alive {
            problems.append("resurrected: \(changeset.id) deleted \(ref), no write it had not seen touched it, yet it shows")
          }
        default:
          continue
        }
      }
    }
    return problems
  }

  // MARK: The exact model

  /// A place that holds values: a scalar field (key ""), a map key or a set element.
  struct Path: Hashable, Comparable {
    var record: RecordRef
    var field: String
    var key: String

    static func < (lhs: Path, rhs: Path) -> Bool {
      (lhs.record, lhs.field, lhs.key) < (rhs.record, rhs.field, rhs.key)
    }
  }

  /// The path an edit writes, whether it leaves a value there, and the value.
  static func path(of edit: Edit) -> (path: Path, writes: Bool, value: Value?)? {
    switch edit {
    case .set(let ref, let field, let value): (Path(record: ref, field: field, key: ""), true, value)
    case .put(let ref, let field, let key, let value): (Path(record: ref, field: field, key: key), true, value)
    case .removeKey(let ref, let field, let key): (Path(record: ref, field: field, key: key), false, nil)
    case .add(let ref, let field, let element): (Path(record: ref, field: field, key: element), true, nil)
    case .remove(let ref, let field, let element): (Path(record: ref, field: field, key: element), false, nil)
    case .touch, .delete: nil
    }
  }

  /// Whether a changeset's marker on a record survives: no changeset that
  /// touched the record had seen it.
  func markerSurvives(_ changeset: Changeset, _ ref: RecordRef) -> Bool {
    !changesets.contains { other in
      other.id != changeset.id && other.dependencies.contains(changeset.dot) && other.edits.contains { $0.record == ref }
    }
  }

  /// The state that MERGE.md prescribes, computed from the changesets alone:
  /// a path holds the writes that no other write to it had seen; a record is
  /// visible while one of its surviving markers is a write; a delete hides
  /// what it had seen, but keeps it while its own marker survives (the
  /// conflict is open) unless the same changeset went on to write the record.
  func model() -> (visible: Set<RecordRef>, deleteConflicts: [RecordRef: Set<Dot>], entries: [Path: [(Dot, Value?)]]) {
    var visible = Set<RecordRef>()
    var deleteConflicts: [RecordRef: Set<Dot>] = [:]
    let touched = Set(changesets.flatMap { $0.edits.map(\.record) })
    for ref in touched {
      let surviving = changesets.filter { $0.edits.contains { $0.record == ref } && markerSurvives($0, ref) }
      if surviving.contains(where: { Self.endsDeleted($0, ref) == false }) {
        visible.insert(ref)
        if surviving.contains(where: { Self.endsDeleted($0, ref) == true }) {
          deleteConflicts[ref] = Set(surviving.map(\.dot))
        }
      }
    }
    var entries: [Path: [(Dot, Value?)]] = [:]
    for changeset in changesets {
      var last: [Path: (index: Int, writes: Bool, value: Value?)] = [:]
      for (index, edit) in changeset.edits.enumerated() {
        if let (path, writes, value) = Self.path(of: edit) { last[path] = (index, writes, value) }
      }
      for (path, write) in last where write.writes && visible.contains(path.record) {
        let seenByWriter = changesets.contains { other in
          other.id != changeset.id && other.dependencies.contains(changeset.dot)
            && other.edits.contains { Self.path(of: $0)?.path == path }
        }
        if seenByWriter { continue }
        let hiders = changesets.filter { other in
          other.id == changeset.id
            ? other.edits[(write.index + 1)...].contains(where: Self.isDelete(path.record))
            : other.dependencies.contains(changeset.dot) && other.edits.contains(where: Self.isDelete(path.record))
        }
        let hidden = hiders.contains { hider in
          Self.endsDeleted(hider, path.record) == false || !markerSurvives(hider, path.record)
        }
        if hidden { continue }
        entries[path, default: []].append((changeset.dot, write.value))
      }
    }
    return (visible, deleteConflicts, entries)
  }

  /// Compares the final state with the model, both ways.
  func modelProblems() -> [String] {
    var problems: [String] = []
    let (visible, deleteConflicts, entries) = model()
    let shownRecords = Set(records.keys)
    for ref in visible.subtracting(shownRecords).sorted() {
      problems.append("model: \(ref) should be visible (a write marker survives), but it is gone")
    }
    for ref in shownRecords.subtracting(visible).sorted() {
      problems.append("model: \(ref) should be gone (no write marker survives), but it shows")
    }
    for ref in visible.intersection(shownRecords).sorted() {
      let record = records[ref]!
      let shownDelete = record.conflicts.first { $0.kind == .delete }.map { Set($0.siblings.map(\.dot)) }
      if shownDelete != deleteConflicts[ref] {
        problems.append(
          "model: \(ref) delete conflict should be \(deleteConflicts[ref].map { $0.sorted().description } ?? "none"), "
            + "shows \(shownDelete.map { $0.sorted().description } ?? "none")")
      }
      // Every path the record shows or should show.
      var paths = Set(entries.keys.filter { $0.record == ref })
      for (field, value) in record.fields {
        switch value {
        case .value: paths.insert(Path(record: ref, field: field, key: ""))
        case .set(let elements): for element in elements { paths.insert(Path(record: ref, field: field, key: element)) }
        case .map(let map): for key in map.keys { paths.insert(Path(record: ref, field: field, key: key)) }
        }
      }
      for path in paths.sorted() {
        let expected = entries[path] ?? []
        let label = "\(ref).\(path.field)\(path.key.isEmpty ? "" : "[\(path.key)]")"
        var shown: [(Dot?, Value?)] = []
        let conflict = record.conflicts.first {
          $0.kind == .value && $0.field == path.field && ($0.key ?? "") == path.key
        }
        switch record.fields[path.field] {
        case .value(let value)?:
          shown = conflict.map { $0.siblings.map { ($0.dot, $0.value) } } ?? [(nil, value)]
        case .map(let map)?:
          if let value = map[path.key] { shown = conflict.map { $0.siblings.map { ($0.dot, $0.value) } } ?? [(nil, value)] }
        case .set(let elements)?:
          if elements.contains(path.key) { shown = [(nil, nil)] }
        case nil:
          break
        }
        let isSet = { if case .set? = record.fields[path.field] { true } else { false } }()
        if isSet || (expected.isEmpty && shown.isEmpty) {
          if expected.isEmpty != shown.isEmpty {
            problems.append("model: \(label) should \(expected.isEmpty ? "be absent" : "be present"), but \(shown.isEmpty ? "is absent" : "is present")")
          }
          continue
        }
        let expectedDots = Set(expected.map(\.0))
        if expected.count >= 2 || shown.count >= 2 {
          let shownDots = Set(shown.compactMap(\.0))
          if shownDots != expectedDots || shown.count != shownDots.count {
            problems.append("model: \(label) should hold siblings \(expectedDots.sorted()), holds \(shown.map { $0.0.map(\.description) ?? "?" })")
          }
        } else if expected.count == 1, shown.count == 1 {
          if shown[0].1 != expected[0].1 {
            problems.append("model: \(label) should show \(String(describing: expected[0].1)) from \(expected[0].0), shows \(String(describing: shown[0].1))")
          }
        } else {
          problems.append("model: \(label) should hold \(expected.count) value(s) \(expectedDots.sorted()), holds \(shown.count)")
        }
      }
    }
    return problems
  }

  func badConflicts() -> [String] {
    var problems: [String] = []
    for (ref, record) in records.sorted(by: { $0.key < $1.key }) {
      for conflict in record.conflicts {
        let label = "\(conflict.kind) conflict on \(ref)\(conflict.field.map { ".\($0)" } ?? "")\(conflict.key.map { "[\($0)]" } ?? "")"
        guard conflict.siblings.count >= 2 else {
          problems.append("\(label) has \(conflict.siblings.count) sibling(s)")
          continue
        }
        let writers = conflict.siblings.compactMap { byDot[$0.dot] }
        guard writers.count == conflict.siblings.count else {
          problems.append("\(label) names a sibling no changeset wrote: \(conflict.siblings.map(\.dot))")
          continue
        }
        for (first, second) in zip(conflict.siblings, conflict.siblings.dropFirst()) where !Self.precedes(first, second) {
          problems.append("\(label): sibling \(first.dot) is shown before \(second.dot), against the documented order")
        }
        for first in writers {
          for second in writers where first.id < second.id {
            if first.dependencies.contains(second.dot) || second.dependencies.contains(first.dot) {
              problems.append("\(label): siblings \(first.id) and \(second.id) are not concurrent")
            }
          }
        }
        for (sibling, writer) in zip(conflict.siblings, writers) where sibling.lamport != writer.lamport {
          problems.append("\(label): sibling \(sibling.dot) has Lamport \(sibling.lamport), its changeset \(writer.lamport)")
        }
        switch conflict.kind {
        case .value:
          guard let field = conflict.field else {
            problems.append("\(label) has no field")
            continue
          }
          for (sibling, writer) in zip(conflict.siblings, writers) {
            let last = writer.edits.last { edit in
              switch edit {
              case .set(ref, field, _): conflict.key == nil
              case .put(ref, field, conflict.key ?? "", _): conflict.key != nil
              default: false
              }
            }
            let written: Value? = {
              switch last {
              case .set(_, _, let value)?, .put(_, _, _, let value)?: value
              default: nil
              }
            }()
            if written != sibling.value {
              problems.append("\(label): sibling \(sibling.dot) shows \(String(describing: sibling.value)), its changeset wrote \(String(describing: written))")
            }
            let writesPath = conflict.key.map { Self.writesKey(ref, field, $0) } ?? Self.writesScalar(ref, field)
            let index = writer.edits.lastIndex(where: writesPath) ?? 0
            if superseded(writer, after: index, by: writesPath) {
              problems.append("\(label): sibling \(sibling.dot) was superseded by a later write")
            }
          }
          let shown: Value? = {
            switch record.fields[field] {
            case .value(let value)?: value
            case .map(let map)?: conflict.key.flatMap { map[$0] }
            default: nil
            }
          }()
          if shown != conflict.siblings[0].value {
            problems.append("\(label): shows \(String(describing: shown)), but the first sibling is \(String(describing: conflict.siblings[0].value))")
          }
        case .delete:
          for (sibling, writer) in zip(conflict.siblings, writers) where Self.endsDeleted(writer, ref) != sibling.deleted {
            problems.append("\(label): sibling \(sibling.dot) says deleted \(sibling.deleted), its changeset disagrees")
          }
          if !conflict.siblings.contains(where: \.deleted) || conflict.siblings.allSatisfy(\.deleted) {
            problems.append("\(label) needs a delete and a live sibling")
          }
        }
      }
    }
    return problems
  }
}

// MARK: - Descriptions

private func describe(_ edits: [Edit]) -> String {
  edits.map { edit in
    switch edit {
    case .set(let ref, let field, let value): "set \(ref).\(field)=\(value)"
    case .add(let ref, let field, let element): "add \(ref).\(field)+\(element)"
    case .remove(let ref, let field, let element): "remove \(ref).\(field)-\(element)"
    case .put(let ref, let field, let key, let value): "put \(ref).\(field)[\(key)]=\(value)"
    case .removeKey(let ref, let field, let key): "removeKey \(ref).\(field)[\(key)]"
    case .touch(let ref): "touch \(ref)"
    case .delete(let ref): "delete \(ref)"
    }
  }.joined(separator: "; ")
}

private func describe(_ record: Record?) -> String {
  guard let record else { return "no record" }
  let fields = record.fields.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
  let conflicts = record.conflicts.map { conflict in
    "\(conflict.kind)(\(conflict.field ?? "")\(conflict.key.map { "[\($0)]" } ?? ""): "
      + conflict.siblings.map { "\($0.dot)=\($0.deleted ? "deleted" : String(describing: $0.value))" }.joined(separator: ", ") + ")"
  }
  return "{\(fields)}" + (conflicts.isEmpty ? "" : " conflicts \(conflicts)")
}
