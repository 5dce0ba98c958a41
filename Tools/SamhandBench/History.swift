import Foundation
import Samhand
import SamhandTestSupport

/// Whether import cost grows with history: the time for one office to
/// import a round (every other office's transaction of `edits` sets) after
/// one round of history and after `history` rounds.
///
/// History rounds and probes are sets only, so the state keeps its size
/// and what changes between the two measurements is the history: the
/// changesets applied, kept and indexed, and the files in the folder.
struct HistoryWorkload {
  var offices = 13
  var records = 2_600
  var history = 100
  var historyEdits = 100
  var edits = 1_000
  var probes = 3
  var seed: UInt64 = 2026
  var json = false

  struct Probe: Codable {
    /// Rounds of history before the probe.
    var rounds: Int
    /// Changesets the importing office had applied before the probe.
    var changesets: UInt64
    /// Each probe's import time, and their median.
    var seconds: [Double]
    var median: Double
  }

  struct Result: Codable {
    var offices: Int
    var records: Int
    var historyEdits: Int
    var edits: Int
    var importOffice: String
    var early: Probe
    var late: Probe
    /// late.median / early.median; the target is at most 1.5.
    var ratio: Double
    var totalSeconds: Double
    /// Whether every office ended with the same snapshot hash.
    var converged: Bool
  }

  func run() throws -> Result {
    let start = Date()
    let cluster = try OfficeCluster(offices: offices, seed: seed)
    _ = try cluster.seedRecords(membership: max(1, records * 20 / 26), cases: max(51, records * 5 / 26), projects: max(1, records / 26))
    for office in cluster.names { try cluster.stores[office]!.sync(with: cluster.folder) }
    var round = 0
    func historyRound() throws {
      round += 1
      for office in cluster.names { try cluster.editRound(office, round: round, edits: historyEdits, setsOnly: true) }
      for office in cluster.names { try cluster.stores[office]!.sync(with: cluster.folder) }
    }
    func probe() throws -> Probe {
      let rounds = round
      let changesets = try cluster.stores[cluster.importer]!.frontier().total
      var seconds: [Double] = []
      for _ in 0..<probes {
        round += 1
        for office in cluster.names where office != cluster.importer {
          try cluster.editRound(office, round: round, edits: edits, setsOnly: true)
          try cluster.stores[office]!.sync(with: cluster.folder)
        }
        seconds.append(try cluster.timedSync(cluster.importer).seconds)
        for office in cluster.names where office != cluster.importer { try cluster.stores[office]!.sync(with: cluster.folder) }
      }
      if !json {
        print(
          String(format: "after %3d rounds (%6llu changesets applied): import of a round ", rounds, changesets)
            + seconds.map { String(format: "%.1f", $0 * 1000) }.joined(separator: ", ") + " ms")
      }
      return Probe(rounds: rounds, changesets: changesets, seconds: seconds, median: median(seconds))
    }
    try historyRound()
    let early = try probe()
    while round < history {
      try historyRound()
      if !json, round % 10 == 0 {
        print(String(format: "… %d rounds of history, %.0f s", round, Date().timeIntervalSince(start)))
      }
    }
    let late = try probe()
    for office in cluster.names { try cluster.stores[office]!.sync(with: cluster.folder) }
    return Result(
      offices: cluster.names.count, records: records, historyEdits: historyEdits, edits: edits,
      importOffice: cluster.importer.rawValue, early: early, late: late, ratio: late.median / early.median,
      totalSeconds: Date().timeIntervalSince(start), converged: try cluster.snapshotHashes().count == 1)
  }
}

func historyBenchmark(_ arguments: [String]) throws {
  var workload = HistoryWorkload()
  var options = BenchOptions("history", arguments)
  while let argument = options.next() {
    switch argument {
    case "--history": workload.history = options.number(argument)
    case "--history-edits": workload.historyEdits = options.number(argument)
    case "--edits": workload.edits = options.number(argument)
    case "--probes": workload.probes = options.number(argument)
    case "--offices": workload.offices = options.number(argument)
    case "--records": workload.records = options.number(argument)
    case "--seed": workload.seed = UInt64(options.number(argument))
    case "--json": workload.json = true
    default:
      options.fail("unknown option \(argument) (use --history --history-edits --edits --probes --offices --records --seed --json)")
    }
  }
  guard workload.offices >= 2, workload.history >= 2 else { options.fail("needs --offices 2 or more and --history 2 or more") }
  let result = try workload.run()
  if workload.json {
    try printJSON(result)
    if !result.converged { exit(1) }
    return
  }
  print("")
  print("\(result.offices) offices, \(result.records) records; history rounds of \(result.historyEdits) sets per office; probes of \(result.edits) sets from each of the other offices")
  print(String(format: "  %@ imports a round after %3d rounds of history: %7.1f ms (median of %d; %llu changesets applied)", result.importOffice, result.early.rounds, result.early.median * 1000, result.early.seconds.count, result.early.changesets))
  print(String(format: "  %@ imports a round after %3d rounds of history: %7.1f ms (median of %d; %llu changesets applied)", result.importOffice, result.late.rounds, result.late.median * 1000, result.late.seconds.count, result.late.changesets))
  print(String(format: "  ratio %.2f (target at most 1.5: %@); %.0f s in all", result.ratio, result.ratio <= 1.5 ? "met" : "MISSED", result.totalSeconds))
  print("  same snapshot everywhere: \(result.converged ? "yes" : "NO")")
  if !result.converged { exit(1) }
}
