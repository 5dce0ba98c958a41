import Foundation
import Samhand

/// A deterministic simulation of many offices replicating through copies of
/// a shared folder under faults: offline periods and partitions, a sync
/// tool that delays, reorders, duplicates, tears files and makes conflict
/// copies, and crashes during a write, a publish and an import.
///
/// Everything random comes from one seed, so a failing run replays exactly.
/// At the end, with every office online and every file delivered, every
/// office must hold a byte-identical snapshot, nothing may wait, and every
/// acknowledged write must be present or superseded by a causally later
/// write (checked by ``Oracle`` from the changesets alone).
public final class Simulation {
  /// The size and length of a run.
  public struct Options: Sendable {
    /// The seed everything random comes from.
    public var seed: UInt64
    /// How many offices: 2 to 50 (the 13 of the cooperation, then the 7
    /// counties of 2024, then invented ones).
    public var offices: Int = 13
    /// How many rounds of work under faults before the final delivery.
    public var rounds: Int = 10
    /// Checkpoints and pruning: a round is a simulated day, every office
    /// writes a checkpoint every 25 stable changesets and keeps files 2
    /// days, so an office offline for more than two rounds stops holding
    /// pruning back and catches up from a checkpoint when it returns. The
    /// sync tool spreads the deletions to every copy at once.
    public var longLife = false

    /// Options for a run of the default size.
    public init(seed: UInt64, offices: Int = 13, rounds: Int = 10, longLife: Bool = false) {
      self.seed = seed
      self.offices = offices
      self.rounds = rounds
      self.longLife = longLife
    }

    /// The command that replays this run.
    public var replayCommand: String {
      "swift run -c release samhand-sim --seed \(seed) --offices \(offices) --rounds \(rounds)\(longLife ? " --long-life" : "")"
    }
  }

  /// What a run did.
  public struct Summary: Sendable, CustomStringConvertible {
    public var seed: UInt64 = 0
    public var offices = 0
    public var rounds = 0
    /// Transactions attempted (writes, deletes, resolutions).
    public var operations = 0
    /// Transactions that returned a changeset to their caller.
    public var acknowledged = 0
    /// Of those, conflict resolutions.
    public var resolutions = 0
    /// Syncs run.
    public var syncs = 0
    /// Conflicts open at some office after a sync, summed over syncs.
    public var conflictsSeen = 0
    /// Conflicts open at the end (the same at every office).
    public var conflictsAtEnd = 0
    /// Changeset files in the folder at the end.
    public var files = 0
    /// Files the sync tool delivered, tore, and copied as conflict copies.
    public var delivered = 0
    public var torn = 0
    public var conflictCopies = 0
    /// Crashes during a write, a publish and an import.
    public var crashesInWrite = 0
    public var crashesInPublish = 0
    public var crashesInImport = 0
    /// Rounds in which the offices were split in two partitions.
    public var partitionedRounds = 0
    /// Office-rounds spent offline.
    public var offlineRounds = 0
    /// Files pruned (long-life runs).
    public var pruned = 0
    /// Times an office started from a checkpoint after its files were pruned.
    public var caughtUp = 0
    /// Wall-clock time of the run.
    public var seconds = 0.0

    /// A summary with every count at zero.
    public init() {}

    /// One line for people.
    public var description: String {
      String(
        format:
          "seed %llu: %d offices, %d rounds, %d operations (%d acknowledged, %d resolutions), %d syncs, %d conflicts seen, %d open at the end, %d files, sync tool: %d delivered, %d torn, %d conflict copies; crashes: %d in a write, %d in a publish, %d in an import; %d partitioned rounds, %d offline office-rounds; %d files pruned, %d catch-ups from a checkpoint; %.2f s",
        seed, offices, rounds, operations, acknowledged, resolutions, syncs, conflictsSeen, conflictsAtEnd, files,
        delivered, torn, conflictCopies, crashesInWrite, crashesInPublish, crashesInImport, partitionedRounds,
        offlineRounds, pruned, caughtUp, seconds)
    }
  }

  /// A run that broke a promise: what, and how to replay it.
  public struct Failure: Error, CustomStringConvertible {
    public var message: String
    public var replay: String
    public var description: String { "\(message)\nreplay: \(replay)" }
  }

  let options: Options
  var random: SeededRandom
  let root = TemporaryDirectory("simulation", inMemory: true)
  /// The offices, the founder first.
  public let offices: [ReplicaID]
  /// Each office's replica, as it stands (replaced after each crash).
  public internal(set) var stores: [ReplicaID: Store] = [:]
  var folders: [ReplicaID: SharedFolder] = [:]
  /// The files each folder copy holds whole, by path relative to the folder.
  var held: [ReplicaID: Set<String>] = [:]
  /// Files left half-written in a copy, to be completed later.
  var tornFiles: [ReplicaID: Set<String>] = [:]
  /// The bytes of every file the sync tool has seen, by path (changeset
  /// files never change; heads are kept at their latest).
  var contents: [String: Data] = [:]
  var acknowledged: [Changeset.ID] = []
  var summary = Summary()
  /// The simulated time syncs run at (long-life runs): a day a round. It
  /// starts ten days ahead, so that every changeset (stamped with the real
  /// time) is older than the retention and a run does not depend on how
  /// fast it goes: heads, stamped with this clock, decide who is stale.
  var clock = Date().addingTimeInterval(10 * 86_400)
  var counter = 0

  static let cases = (0..<6).map { "sak-\($0)" }
  static let projects = ["prosjekt-a", "prosjekt-b"]
  static let statuses = ["ny", "under-arbeid", "avsluttet"]

  public init(_ options: Options) throws {
    precondition((2...50).contains(options.offices), "2 to 50 offices")
    self.options = options
    random = SeededRandom(seed: options.seed)
    var slugs = Office.cooperation.map(\.slug) + CountyReform.splits2024.flatMap { $0.successors.map(\.slug) }
    slugs += (slugs.count..<50).map { ReplicaID(rawValue: "kontor-\($0 + 1)")! }
    // KS founds the store; the others are the first of the list.
    offices = ["ks"] + slugs.filter { $0 != "ks" }.prefix(options.offices - 1)
    summary.seed = options.seed
    summary.offices = options.offices
    summary.rounds = options.rounds
  }

  func fail(_ message: String) -> Failure { Failure(message: message, replay: options.replayCommand) }

  /// Runs the simulation and checks its promises.
  public func run() throws -> Summary {
    let start = Date()
    try setUp()
    for _ in 0..<options.rounds { try round() }
    try settle()
    try checkConvergence()
    summary.seconds = Date().timeIntervalSince(start)
    return summary
  }

  // MARK: - Setting up

  func setUp() throws {
    let founder = offices[0]
    // Every office's key in the genesis roster: faults, not claims, are
    // what the simulator tries.
    let key = TestKeys.key(founder)
    let members = TestKeys.roster(founder: founder, extra: offices).sortedMembers
    for office in offices {
      folders[office] = SharedFolder(root.path("folder-\(office)"))
      held[office] = []
      tornFiles[office] = []
    }
    stores[founder] = try Store.create(
      folder: folders[founder]!, at: root.path("store-\(founder)"), replica: founder, schema: .planning,
      roster: Roster(members), key: key)
    let identity = try Data(contentsOf: folders[founder]!.url.appendingPathComponent("samhand.json"))
    for office in offices.dropFirst() {
      try FileManager.default.createDirectory(at: folders[office]!.url, withIntermediateDirectories: true)
      try identity.write(to: folders[office]!.url.appendingPathComponent("samhand.json"))
      stores[office] = try Store.joinWithTestKey(folder: folders[office]!, at: root.path("store-\(office)"), replica: office).0
    }
    if options.longLife {
      for office in offices {
        try stores[office]!.setCheckpointInterval(25)
        try stores[office]!.setRetention(.days(2))
      }
    }
    // KS opens the shared records to every office, so that every office may write them.
    try stores[founder]!.transact { tx in
      for office in offices {
        for id in Simulation.cases { try tx.add("cases", id, "participants", office.rawValue) }
        for id in Simulation.projects { try tx.add("projects", id, "participants", office.rawValue) }
      }
    }
    try sync(founder)
    try deliverEverything()
    for office in offices { try sync(office) }
  }

  // MARK: - A round

  func round() throws {
    clock += 86_400
    // Some offices are offline this round: they neither write to the
    // folder nor receive from it; others may be split in two partitions.
    let offline = Set(offices.filter { _ in random.chance(0.15) })
    summary.offlineRounds += offline.count
    var partition: [ReplicaID: Int] = [:]
    if random.chance(0.3) {
      summary.partitionedRounds += 1
      for office in offices { partition[office] = random.chance(0.5) ? 1 : 0 }
    }
    for office in shuffled(offices) {
      let roll = random.unit()
      if roll < 0.45 {
        try write(office)
      } else if roll < 0.55 {
        try resolveSomething(office)
      } else if roll < 0.58 {
        try crashInWrite(office)
      }
      if !offline.contains(office), random.chance(0.6) {
        if random.chance(0.05) {
          try crashInPublish(office)
        } else if random.chance(0.05) {
          try crashInImport(office)
        } else {
          try sync(office)
        }
      }
      if random.chance(0.3) { try syncTool(offline: offline, partition: partition, fraction: 0.4) }
    }
    try syncTool(offline: offline, partition: partition, fraction: 0.6)
  }

  func shuffled(_ list: [ReplicaID]) -> [ReplicaID] {
    var copy = list
    random.shuffle(&copy)
    return copy
  }

  func unique(_ prefix: String) -> String {
    counter += 1
    return "\(prefix)-\(counter)"
  }

  /// One transaction of random writes within the office's rights.
  func write(_ office: ReplicaID) throws {
    summary.operations += 1
    let store = stores[office]!
    let changeset = try store.transact { tx in
      for _ in 0..<random.int(1...4) { try randomEdit(office, &tx) }
    }
    if let changeset { acknowledged.append(changeset.id) }
  }

  func randomEdit(_ office: ReplicaID, _ tx: inout Transaction) throws {
    let member = "m-\(office)-\(random.int(0..<3))"
    switch random.int(0..<10) {
    case 0, 1: try tx.set("cases", random.pick(Simulation.cases), "status", .text(random.pick(Simulation.statuses) + "-" + unique("s")))
    case 2: try tx.set("cases", random.pick(Simulation.cases), "notes", .text(unique("notat fra \(office)")))
    case 3: try tx.put("projects", random.pick(Simulation.projects), "funding", key: random.pick(offices).rawValue, .integer(Int64(counter * 1000 + random.int(1...999))))
    case 4: try tx.removeKey("projects", random.pick(Simulation.projects), "funding", key: random.pick(offices).rawValue)
    case 5:
      try tx.set("membership", member, "organisation", .text(office.rawValue))
      try tx.set("membership", member, "role", .text(unique("rolle")))
    case 6: try tx.add("membership", member, "groups", random.pick(["samfunnsdel", "arealdel", "regulering"]))
    case 7: try tx.remove("membership", member, "groups", random.pick(["samfunnsdel", "arealdel", "regulering"]))
    case 8:
      if random.chance(0.5) {
        try tx.delete("cases", random.pick(Simulation.cases))
      } else {
        try tx.delete("membership", member)
      }
    default: try tx.set("projects", random.pick(Simulation.projects), "status", .text(unique("status")))
    }
  }

  /// Resolves one open conflict the office sees, if any.
  func resolveSomething(_ office: ReplicaID) throws {
    let store = stores[office]!
    let conflicts = try store.conflicts()
    guard !conflicts.isEmpty else { return try write(office) }
    summary.operations += 1
    let conflict = random.pick(conflicts)
    let changeset: Changeset?
    switch conflict.kind {
    case .delete:
      changeset = try store.resolveDelete(conflict.collection, conflict.recordID, keep: random.chance(0.6))
    default:
      guard let field = conflict.field else { return }
      if random.chance(0.5), let author = conflict.siblings.map(\.author).randomElement(using: &random) {
        changeset = try store.resolve(conflict.collection, conflict.recordID, field: field, key: conflict.key, pick: author)
      } else {
        let value: Value = conflict.key != nil ? .integer(Int64(counter + 1)) : .text(unique("avgjort"))
        counter += 1
        changeset = try store.resolve(conflict.collection, conflict.recordID, field: field, key: conflict.key, with: value)
      }
    }
    if let changeset {
      acknowledged.append(changeset.id)
      summary.resolutions += 1
    }
  }

  // MARK: - Crashes

  struct Killed: Error {}

  /// The process dies during a transaction: before it commits (nothing is
  /// stored, nothing acknowledged), or after the commit but before the
  /// caller heard of it (stored, not acknowledged). Then it starts again.
  func crashInWrite(_ office: ReplicaID) throws {
    summary.operations += 1
    summary.crashesInWrite += 1
    let store = stores[office]!
    if random.chance(0.5) {
      do {
        try store.transact { tx in
          try randomEdit(office, &tx)
          throw Killed()
        }
      } catch is Killed {}
    } else {
      _ = try store.transact { tx in try randomEdit(office, &tx) }
    }
    try restart(office)
  }

  /// The process dies while publishing: some of the files this sync wrote
  /// never got renamed into place, a temporary file is left behind, and the
  /// head is not written. The store believes they were published.
  func crashInPublish(_ office: ReplicaID) throws {
    summary.crashesInPublish += 1
    let folder = folders[office]!
    let report = try syncStore(office)
    summary.syncs += 1
    try spreadPruning(report)
    let published = report.published + report.republished
    if !published.isEmpty {
      let lost = published.suffix(random.int(1...published.count))
      for id in lost {
        let url = folder.changesetURL(id)
        // Written and then pruned in the same sync (a lost file, written again, that a checkpoint covers).
        guard let bytes = try? Data(contentsOf: url) else { continue }
        try FileManager.default.removeItem(at: url)
        // What AtomicFile had written of it under its temporary name.
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".samhand-\(url.lastPathComponent).dead0000.tmp")
        try bytes.prefix(bytes.count / 2).write(to: temporary)
      }
    }
    try restart(office)
    try discover(office)
  }

  /// The process dies while importing: some of the folder's files were
  /// applied (each in its own transaction), the rest not, and the record of
  /// which files were read was not written.
  func crashInImport(_ office: ReplicaID) throws {
    summary.crashesInImport += 1
    let folder = folders[office]!
    var files: [(bytes: [UInt8], url: URL?)] = []
    for path in held[office]!.sorted() where path.hasPrefix("changesets/") && !path.hasPrefix("changesets/\(office)/") {
      guard random.chance(0.5), let data = contents[path] else { continue }
      files.append(([UInt8](data), folder.url.appendingPathComponent(path)))
    }
    random.shuffle(&files)
    _ = try stores[office]!.receive(files: Array(files.prefix(random.int(0...files.count))))
    try restart(office)
  }

  func restart(_ office: ReplicaID) throws {
    let directory = stores[office]!.directory
    stores[office] = nil
    stores[office] = try Store.open(at: directory)
  }

  // MARK: - Syncing and the sync tool

  /// A sync, at the simulated time in long-life runs.
  func syncStore(_ office: ReplicaID) throws -> SyncReport {
    options.longLife
      ? try stores[office]!.sync(with: folders[office]!, now: clock) : try stores[office]!.sync(with: folders[office]!)
  }

  func sync(_ office: ReplicaID) throws {
    let report = try syncStore(office)
    summary.syncs += 1
    if let problem = report.maintenanceProblem { throw fail("\(office): checkpointing or pruning failed: \(problem)") }
    try spreadPruning(report)
    if let blocked = report.publishingBlocked { throw fail("\(office) stopped publishing: \(blocked)") }
    summary.conflictsSeen += try stores[office]!.conflictCount()
    try discover(office)
  }

  /// Notes the files an office wrote into its own copy of the folder.
  func discover(_ office: ReplicaID) throws {
    let folder = folders[office]!
    let own = folder.changesetsURL(for: office)
    let names = (try? FileManager.default.contentsOfDirectory(atPath: own.path)) ?? []
    for name in names where !name.hasPrefix(".") {
      let path = "changesets/\(office)/\(name)"
      if held[office]!.contains(path) { continue }
      contents[path] = try Data(contentsOf: own.appendingPathComponent(name))
      held[office]!.insert(path)
    }
    // Its checkpoints and their signatures.
    let checkpoints = folder.url.appendingPathComponent("checkpoints/\(office.rawValue)")
    for name in (try? FileManager.default.contentsOfDirectory(atPath: checkpoints.path)) ?? [] where !name.hasPrefix(".") {
      let path = "checkpoints/\(office)/\(name)"
      if held[office]!.contains(path) { continue }
      contents[path] = try Data(contentsOf: checkpoints.appendingPathComponent(name))
      held[office]!.insert(path)
    }
    let headPath = "heads/\(office).json"
    if let head = try? Data(contentsOf: folder.url.appendingPathComponent(headPath)) {
      contents[headPath] = head
      held[office]!.insert(headPath)
    }
  }

  /// Files an office pruned: the sync tool deletes them from every copy
  /// (at once: the hardest case for an office that still needed them).
  func spreadPruning(_ report: SyncReport) throws {
    if ProcessInfo.processInfo.environment["SAMHAND_SIM_TRACE"] != nil, let head = report.head {
      let office = head.office
      var line = "\(office) at \(head.frontier)"
      if let adopted = report.adoptedCheckpoint { line += "\n   adopted \(adopted.name) \(adopted.frontier)" }
      if let written = report.wroteCheckpoint { line += "\n   wrote \(written)" }
      if let cosigned = report.cosignedCheckpoint { line += "\n   co-signed \(cosigned)" }
      if !report.pruned.isEmpty { line += "\n   pruned \(report.pruned)" }
      for problem in report.badCheckpoints { line += "\n   bad \(problem.path): \(problem.reason)" }
      print(line)
    }
    for path in report.pruned {
      var paths = [path]
      if path.hasSuffix(".checkpoint") {
        paths.append(String(path.dropLast("checkpoint".count)) + "signature")
      }
      for path in paths {
        contents[path] = nil
        for office in offices {
          held[office]!.remove(path)
          tornFiles[office]!.remove(path)
          try? FileManager.default.removeItem(at: folders[office]!.url.appendingPathComponent(path))
        }
        summary.pruned += 1
      }
    }
    if report.adoptedCheckpoint != nil { summary.caughtUp += 1 }
  }

  /// The sync tool moves files between the copies that are online and in
  /// the same partition: a share of what each lacks, in random order, some
  /// torn (completed later), some again as conflict copies.
  func syncTool(offline: Set<ReplicaID>, partition: [ReplicaID: Int], fraction: Double, allHeads: Bool = false) throws {
    let online = offices.filter { !offline.contains($0) }
    for destination in shuffled(online) {
      var reachable = Set<String>()
      for source in online where source != destination && partition[source] == partition[destination] {
        reachable.formUnion(held[source]!)
      }
      var missing = Array(reachable.subtracting(held[destination]!).sorted())
      // Heads change: deliver a newer one again now and then.
      // (In name order before drawing: a set's order changes from process
      // to process, and the draws must not, or a seed would not replay.)
      missing += reachable.filter { $0.hasPrefix("heads/") && held[destination]!.contains($0) }.sorted()
        .filter { _ in allHeads || random.chance(0.2) }
      random.shuffle(&missing)
      for path in missing where random.chance(fraction) {
        guard let data = contents[path] else { continue }
        let url = folders[destination]!.url.appendingPathComponent(path)
        // Another office's own files are never written by the sync tool into
        // its own folder under its own name (single writer): skip those.
        if path.hasPrefix("changesets/\(destination)/") || path == "heads/\(destination).json" { continue }
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        if random.chance(0.08), data.count > 1, !tornFiles[destination]!.contains(path) {
          try data.prefix(random.int(1..<data.count)).write(to: url)
          tornFiles[destination]!.insert(path)
          summary.torn += 1
          continue
        }
        try data.write(to: url)
        tornFiles[destination]!.remove(path)
        held[destination]!.insert(path)
        summary.delivered += 1
        if path.hasPrefix("changesets/"), random.chance(0.03) {
          // A sync tool's conflict copy next to it: sometimes whole, sometimes torn.
          let name = url.lastPathComponent.replacingOccurrences(
            of: ".changeset", with: ".sync-conflict-20261121-101500-SIMTOOL.changeset")
          let copy = random.chance(0.7) ? data : data.prefix(data.count / 2)
          try copy.write(to: url.deletingLastPathComponent().appendingPathComponent(name))
          summary.conflictCopies += 1
        }
      }
    }
  }

  func deliverEverything() throws {
    try syncTool(offline: [], partition: [:], fraction: 1.1, allHeads: true)
    // Complete what was torn on the way.
    for office in offices {
      for path in tornFiles[office]! {
        guard let data = contents[path] else { continue }
        try data.write(to: folders[office]!.url.appendingPathComponent(path))
        held[office]!.insert(path)
      }
      tornFiles[office] = []
    }
  }

  // MARK: - The end

  /// Everyone online, every file delivered, every office syncing, until
  /// the folder holds no news.
  func settle() throws {
    for _ in 0..<8 {
      let before = contents.count
      for office in offices { try sync(office) }
      try deliverEverything()
      if contents.count == before, try offices.allSatisfy({ try stores[$0]!.pending().isEmpty }) {
        let frontiers = Set(try offices.map { try stores[$0]!.frontier() })
        if frontiers.count == 1 { break }
      }
    }
    for office in offices { try sync(office) }
  }

  /// What an office that waits had to go on: the checkpoints in its copy of
  /// the folder and the one it started from (long-life runs).
  func checkpointsSeen(by office: ReplicaID) throws -> String {
    guard options.longLife else { return "" }
    let store = stores[office]!
    var lines = ["", "  its frontier: \(try store.frontier())", "  it started from: \(try store.checkpointBase().map { "\($0.frontier)" } ?? "nothing")"]
    for entry in folders[office]!.checkpoints() {
      let header = try? Checkpoint.header(of: [UInt8](try Data(contentsOf: entry.url)))
      lines.append("  \(entry.relativePath): \(header.map { "\($0.frontier)" } ?? "does not read")")
    }
    let (_, problems) = store.newestCheckpoint(in: folders[office]!)
    for problem in problems { lines.append("  not used: \(problem.path): \(problem.reason)") }
    return lines.joined(separator: "\n")
  }

  /// Checks the promises: every office at the same snapshot, nothing
  /// waiting, every acknowledged write applied and not rejected, the final
  /// state right by ``Oracle``, and every head agreeing.
  ///
  /// - Throws: ``Failure`` naming the first promise broken.
  public func checkConvergence() throws {
    let reference = try stores[offices[0]]!.snapshot()
    for office in offices {
      let store = stores[office]!
      let waiting = try store.pending()
      guard waiting.isEmpty else {
        throw fail("\(office) still waits for dependencies of \(waiting)\(try checkpointsSeen(by: office))")
      }
      let snapshot = try store.snapshot()
      guard snapshot.bytes == reference.bytes else {
        throw fail(
          "\(office) differs from \(offices[0]) at frontier \(snapshot.frontier) vs \(reference.frontier): snapshot \(snapshot.sha256.prefix(12)) vs \(reference.sha256.prefix(12))\(try checkpointsSeen(by: office))")
      }
      let problems = try store.setAsideFiles().filter { !$0.reason.contains("conflict copy") && !$0.reason.contains("half-written") }
      guard problems.isEmpty else { throw fail("\(office) set aside good files: \(problems)") }
    }
    // Every acknowledged write is applied, and not as rejected. Each office
    // keeps its own changesets (one that started from a checkpoint holds
    // no others from before it), so together they hold every changeset.
    let store = stores[offices[0]]!
    var history: [Changeset.ID: HistoryEntry] = [:]
    var changesets: [Changeset] = []
    for office in offices {
      for entry in try stores[office]!.history() where entry.changeset.author == office {
        history[entry.changeset] = entry
        guard entry.rejected == nil, let changeset = try stores[office]!.changeset(entry.changeset) else { continue }
        changesets.append(changeset)
      }
    }
    let frontier = try store.frontier()
    for office in offices {
      let own = history.keys.filter { $0.author == office }.count
      guard own == Int(frontier[office]) else {
        throw fail("\(office) holds \(own) of its own changesets, the frontier has \(frontier[office])")
      }
    }
    for id in acknowledged {
      guard let entry = history[id] else { throw fail("acknowledged \(id) is missing at the end") }
      if let reason = entry.rejected { throw fail("acknowledged \(id) was rejected: \(reason)") }
    }
    // Nothing lost: the final state against every changeset, from the changesets alone.
    var records: [RecordRef: Record] = [:]
    for collection in Schema.planning.collectionNames {
      for record in try store.records(in: collection) { records[record.ref] = record }
    }
    let problems = Oracle(changesets: changesets, records: records).problems()
    guard problems.isEmpty else {
      throw fail("the final state loses or invents writes:\n  " + problems.prefix(10).joined(separator: "\n  "))
    }
    summary.conflictsAtEnd = try store.conflictCount()
    summary.files = contents.keys.filter { $0.hasPrefix("changesets/") }.count
    summary.acknowledged = acknowledged.count
    let (heads, headProblems) = folders[offices[0]]!.heads()
    guard headProblems.isEmpty, Set(heads.map(\.snapshotHash)) == [reference.sha256] else {
      throw fail("heads disagree: \(headProblems) \(Set(heads.map(\.snapshotHash)))")
    }
  }
}
