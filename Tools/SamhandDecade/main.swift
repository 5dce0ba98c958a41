import ArgumentParser
import Foundation
import Samhand
import SamhandTestSupport

/// `swift run -c release samhand-decade`: ten years of a shared folder.
@main
struct Decade: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "samhand-decade",
    abstract: "Simulate years of a shared folder: file count and size with and without pruning, and a new office's bootstrap.",
    discussion: """
      KS is a real replica that syncs weekly, writes the checkpoints and \
      prunes its own files; the other offices sign and drop their \
      changesets as weekly-syncing replicas would, write their heads and \
      prune their own files by the same rule. At the end a new machine \
      joins and the time it takes is printed. Simulated time starts on \
      4 January 2027. The defaults are the cooperation's: 13 offices, 50 \
      changesets per office per week, 10 years, 90 days' retention, a \
      checkpoint every 13 weeks of changesets. Build with -c release; \
      the full run takes several minutes.

      Example (a smoke run, as .ci/run does):
        swift run -c release samhand-decade --years 2 --weeks-per-year 8 --per-week 5
      """)

  @Option(help: "Simulated years.") var years = 10
  @Option(help: "Weeks in a simulated year.") var weeksPerYear = 52
  @Option(help: "Changesets each office writes a week.") var perWeek = 50
  @Option(help: "Offices (2–374, KS always among them; beyond 13, KDD, the fylkeskommuner and the kommuner of 2024).") var offices = 13
  @Option(help: "Days each office keeps changeset files a checkpoint covers.") var retentionDays = 90
  @Option(help: "Newly stable changesets between checkpoints (default: 13 weeks' worth).") var checkpointEvery: Int?
  @Option(help: "Seed of the workload.") var seed: UInt64 = 1
  @Option(help: "Where to keep the folder and stores (default: a temporary folder, removed at the end).") var keep: String?
  @Flag(help: "Print the figures as JSON.") var json = false

  func validate() throws {
    guard years >= 1, weeksPerYear >= 3, perWeek >= 1, (2...374).contains(offices), retentionDays >= 0 else {
      throw ValidationError("years ≥ 1, weeks per year ≥ 3, per week ≥ 1, offices 2–374, retention ≥ 0")
    }
  }

  func run() throws {
    var options = DecadeOptions()
    options.years = years
    options.weeksPerYear = weeksPerYear
    options.perWeek = perWeek
    options.offices = offices
    options.retentionDays = retentionDays
    options.checkpointEvery = checkpointEvery
    options.seed = seed
    let directory: URL
    if let keep {
      directory = URL(fileURLWithPath: keep)
      try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    } else {
      directory = FileManager.default.temporaryDirectory.appendingPathComponent("samhand-decade-\(UUID().uuidString.prefix(8))")
    }
    defer { if keep == nil { try? FileManager.default.removeItem(at: directory) } }
    let started = Date()
    let result = try DecadeSimulation(options, directory: directory).run { line in
      if !json { FileHandle.standardError.write(Data((line + "\n").utf8)) }
    }
    let elapsed = Date().timeIntervalSince(started)
    if json {
      let years = result.years.map { year -> [String: Any] in
        [
          "year": year.year, "files": year.files, "bytes": year.bytes, "changeset_files": year.changesetFiles,
          "files_without_pruning": year.filesWithoutPruning, "bytes_without_pruning": year.bytesWithoutPruning,
          "changeset_files_without_pruning": year.changesetFilesWithoutPruning,
          "checkpoint_bytes_written": year.checkpointBytesWritten,
          "changesets": year.changesets, "records": year.records, "checkpoints": year.checkpoints,
          "checkpoint_bytes": year.checkpointBytes, "seconds": year.seconds,
        ]
      }
      let object: [String: Any] = [
        "offices": offices, "per_week": perWeek, "weeks_per_year": weeksPerYear, "retention_days": retentionDays,
        "years": years, "bootstrap_seconds": result.bootstrapSeconds, "bootstrap_imported": result.bootstrapImported,
        "bootstrap_checkpoint_covers": result.bootstrapCheckpointCovers, "bootstrap_agrees": result.bootstrapAgrees,
        "replay_seconds": result.replaySeconds, "rejected": result.rejected, "purged_tombstones": result.purgedTombstones,
        "seconds": elapsed,
      ]
      let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted])
      print(String(decoding: data, as: UTF8.self))
    } else {
      print("\(offices) offices, \(perWeek) changesets per office per week, \(weeksPerYear) weeks a year, retention \(retentionDays) days")
      print("           with pruning                  | without pruning (every file kept)")
      print("year   files  changesets      MB | files  changesets      MB  of which checkpoints MB | cases  checkpoints  newest MB  sim s")
      for year in result.years {
        print(
          String(
            format: "%4d  %6d  %10d  %6.2f | %6d  %10d  %6.2f  %23.2f | %5d  %11d  %9.2f  %5.1f", year.year, year.files,
            year.changesetFiles, Double(year.bytes) / 1e6, year.filesWithoutPruning, year.changesetFilesWithoutPruning,
            Double(year.bytesWithoutPruning) / 1e6, Double(year.checkpointBytesWritten) / 1e6, year.records,
            year.checkpoints, Double(year.checkpointBytes) / 1e6, year.seconds))
      }
      print(
        String(
          format: "bootstrap of a new office at the end: %.2f s (checkpoint of %llu changesets, then %d from files); %@",
          result.bootstrapSeconds, result.bootstrapCheckpointCovers, result.bootstrapImported,
          result.bootstrapAgrees ? "same frontier and snapshot as KS" : "DISAGREES with KS"))
      print(String(format: "KS's weekly syncs over the whole run (about a full replay): %.1f s", result.replaySeconds))
      print("rejected changesets: \(result.rejected); tombstones purged by KS: \(result.purgedTombstones)")
      print(String(format: "simulated in %.1f s", elapsed))
    }
    guard result.bootstrapAgrees, result.rejected == 0 else { throw ExitCode.failure }
  }
}
