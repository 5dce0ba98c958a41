import Foundation
import Samhand
import SamhandTestSupport

/// The 13-office workload driven as users drive it: through the `samhand`
/// executable, one process per command. Per office and round one
/// `samhand apply` of its edits as one transaction (JSON Lines), then two
/// passes of `samhand sync` over all offices on one shared folder.
///
///   swift build -c release --product samhand
///   swift run -c release samhand-bench cli [--offices 13] [--rounds 10] [--edits 1000] [--records 2600] [--runs 3] [--json]
struct CLIWorkload {
  var offices = 13
  var rounds = 10
  var edits = 1_000
  var records = 2_600
  var seed: UInt64 = 2026
  var samhand = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
    .appendingPathComponent("samhand")
  var json = false
  /// Where to copy the stores and folder at the end, for a closer look.
  var keep: URL?

  struct Process: Codable {
    var command: String
    var seconds: Double
    var peakMemoryMB: Double
  }

  struct Result: Codable {
    var offices: Int
    var rounds: Int
    var editsPerOffice: Int
    var records: Int
    /// The rounds: every office's `apply` and both passes of `sync`.
    var totalSeconds: Double
    var applySeconds: Double
    var syncSeconds: Double
    /// Founding, joining, confirming keys, KS's records and one sync each: not in the total.
    var setupSeconds: Double
    var processes: Int
    var medianApplyMilliseconds: Double
    var medianSyncMilliseconds: Double
    /// The sync of the last office in the first pass of each round: it imports every other office's round.
    var medianImportRoundMilliseconds: Double
    var peakMemoryMB: Double
    var peakMemoryCommand: String
    var folderBytes: Int
    var converged: Bool
    var snapshotHash: String
  }

  /// Runs `samhand ARGUMENTS` under `/usr/bin/time`, failing loudly.
  func run(_ arguments: [String], in directory: TemporaryDirectory) throws -> Process {
    let run = try TimedProcess.run(samhand, arguments, in: directory.url)
    guard run.status == 0 else {
      throw SamhandError(.io, "samhand \(arguments.joined(separator: " ")) exited with \(run.status): \(run.stdout)\(run.stderr)")
    }
    return Process(command: arguments.prefix(3).joined(separator: " "), seconds: run.seconds, peakMemoryMB: run.peakMemoryMB)
  }

  mutating func runOnce() throws -> Result {
    let directory = TemporaryDirectory("bench-cli")
    let cluster = try OfficeCluster(offices: offices, seed: seed, stores: false)
    let names = cluster.names.map(\.rawValue)
    var processes: [Process] = []
    let setupStart = DispatchTime.now().uptimeNanoseconds
    // KS founds the folder; the others join and KS confirms their keys.
    processes.append(try run(["init", "--store", "ks", "--replica", "ks", "--folder", "delt", "--json"], in: directory))
    for office in names.dropFirst() {
      processes.append(try run(["init", "--store", office, "--replica", office, "--folder", "delt", "--json"], in: directory))
    }
    for office in names.dropFirst() {
      let key = try Store.open(at: directory.path(office)).publicKey()
      if try Store.open(at: directory.path("ks")).roster()?.members[ReplicaID(rawValue: office)!] == nil {
        processes.append(try run(["roster", "add", "--store", "ks", office, "--key", key.hex], in: directory))
      } else {
        processes.append(try run(["roster", "confirm", "--store", "ks", office, "--key", key.hex], in: directory))
      }
    }
    let membership = max(1, records * 20 / 26), cases = max(51, records * 5 / 26), projects = max(1, records / 26)
    var seedLines = JSONLinesSink()
    _ = try cluster.seedRecords(membership: membership, cases: cases, projects: projects, into: &seedLines)
    let seedFile = directory.path("seed.jsonl")
    try seedLines.lines.joined(separator: "\n").write(to: seedFile, atomically: true, encoding: .utf8)
    processes.append(try run(["apply", "--store", "ks", seedFile.path], in: directory))
    for office in names { processes.append(try run(["sync", "--store", office], in: directory)) }
    let setupSeconds = Double(DispatchTime.now().uptimeNanoseconds - setupStart) / 1e9
    let setup = processes.count

    var applies: [Double] = [], syncs: [Double] = [], imports: [Double] = []
    let roundsStart = DispatchTime.now().uptimeNanoseconds
    for round in 1...rounds {
      for office in names {
        var lines = JSONLinesSink()
        try cluster.editRound(ReplicaID(rawValue: office)!, round: round, edits: edits, into: &lines)
        let file = directory.path("round-\(round)-\(office).jsonl")
        try lines.lines.joined(separator: "\n").write(to: file, atomically: true, encoding: .utf8)
        let applied = try run(["apply", "--store", office, file.path], in: directory)
        applies.append(applied.seconds)
        processes.append(applied)
      }
      for pass in 0..<2 {
        for (index, office) in names.enumerated() {
          let synced = try run(["sync", "--store", office], in: directory)
          syncs.append(synced.seconds)
          if pass == 0 && index == names.count - 1 { imports.append(synced.seconds) }
          processes.append(synced)
        }
      }
      if !json {
        print(String(format: "round %2d: %.2f s so far", round, Double(DispatchTime.now().uptimeNanoseconds - roundsStart) / 1e9))
      }
    }
    let totalSeconds = Double(DispatchTime.now().uptimeNanoseconds - roundsStart) / 1e9
    if let keep {
      try? FileManager.default.removeItem(at: keep)
      try FileManager.default.copyItem(at: directory.url, to: keep)
    }
    let hashes = Set(try names.map { try Store.open(at: directory.path($0)).snapshotHash().1 })
    let peak = processes.dropFirst(setup).max { $0.peakMemoryMB < $1.peakMemoryMB }!
    let folderBytes = FolderCopier.files(under: directory.path("delt")).filter { $0.hasPrefix("changesets/") }.reduce(0) { total, path in
      total + ((try? FileManager.default.attributesOfItem(atPath: directory.path("delt").appendingPathComponent(path).path)[.size] as? Int) ?? 0)
    }
    return Result(
      offices: names.count, rounds: rounds, editsPerOffice: edits, records: membership + cases + projects, totalSeconds: totalSeconds,
      applySeconds: applies.reduce(0, +), syncSeconds: syncs.reduce(0, +), setupSeconds: setupSeconds,
      processes: processes.count - setup, medianApplyMilliseconds: median(applies) * 1000,
      medianSyncMilliseconds: median(syncs) * 1000, medianImportRoundMilliseconds: median(imports) * 1000,
      peakMemoryMB: peak.peakMemoryMB, peakMemoryCommand: peak.command, folderBytes: folderBytes,
      converged: hashes.count == 1, snapshotHash: hashes.count == 1 ? hashes.first! : "\(hashes.count) different")
  }
}

func cliBenchmark(_ arguments: [String]) throws {
  var workload = CLIWorkload()
  var runs = 1
  var options = BenchOptions("cli", arguments)
  while let argument = options.next() {
    switch argument {
    case "--offices": workload.offices = options.number(argument)
    case "--rounds": workload.rounds = options.number(argument)
    case "--edits": workload.edits = options.number(argument)
    case "--records": workload.records = options.number(argument)
    case "--seed": workload.seed = UInt64(options.number(argument))
    case "--runs": runs = options.number(argument)
    case "--json": workload.json = true
    case "--keep":
      guard let path = options.next() else { options.fail("--keep needs a folder") }
      workload.keep = URL(fileURLWithPath: path).standardizedFileURL
    case "--samhand":
      guard let path = options.next() else { options.fail("--samhand needs a path") }
      workload.samhand = URL(fileURLWithPath: path).standardizedFileURL
    default:
      options.fail("unknown option \(argument) (use --offices --rounds --edits --records --seed --runs --samhand --json)")
    }
  }
  guard workload.offices >= 2 else { options.fail("--offices must be 2 or more") }
  guard FileManager.default.isExecutableFile(atPath: workload.samhand.path) else {
    options.fail("no samhand executable at \(workload.samhand.path): build it with 'swift build -c release --product samhand'")
  }
  var results: [CLIWorkload.Result] = []
  for run in 0..<runs {
    if !workload.json && runs > 1 { print("run \(run + 1) of \(runs)") }
    results.append(try workload.runOnce())
  }
  let result = results.sorted { $0.totalSeconds < $1.totalSeconds }[results.count / 2]
  if workload.json {
    try printJSON(result)
  } else {
    let standard = result.offices == 13 && result.rounds == 10 && result.editsPerOffice == 1_000 && result.records == 2_600
    func target(_ met: Bool, _ text: String) -> String { standard ? "  target \(text): \(met ? "met" : "MISSED")" : "" }
    print("")
    print("\(result.offices) offices through the samhand executable, \(result.records) records, \(result.rounds) rounds of \(result.editsPerOffice) edits per office (median of \(runs) run(s) by total time)")
    print(String(format: "  total time (rounds)                %8.2f s in %d processes", result.totalSeconds, result.processes) + target(result.totalSeconds <= 14, "<= 14 s"))
    print(String(format: "    apply                            %8.2f s (median %.1f ms a process)", result.applySeconds, result.medianApplyMilliseconds))
    print(String(format: "    sync                             %8.2f s (median %.1f ms a process)", result.syncSeconds, result.medianSyncMilliseconds))
    print(String(format: "  a sync that imports a round        %8.1f ms (median, the last office of the first pass)", result.medianImportRoundMilliseconds))
    print(String(format: "  setup (not in the total)           %8.2f s", result.setupSeconds))
    print(String(format: "  peak memory of one process         %8.1f MB (%@)", result.peakMemoryMB, result.peakMemoryCommand) + target(result.peakMemoryMB <= 64, "<= 64 MB"))
    print(String(format: "  changeset files in the folder      %8.2f MB", Double(result.folderBytes) / 1e6) + target(result.folderBytes < 1_600_000, "< 1.6 MB"))
    print("  same snapshot everywhere           \(result.converged ? "yes" : "NO") (\(result.snapshotHash.prefix(16)))")
  }
  if !result.converged { exit(1) }
}
