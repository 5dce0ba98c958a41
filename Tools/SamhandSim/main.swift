// The deterministic simulator of many offices under faults (issue 7).
//
//   swift run -c release samhand-sim                       1 run, 13 offices, a random seed
//   swift run -c release samhand-sim --seeds 1000          1,000 runs from seed 1
//   swift run -c release samhand-sim --seed 42 --verbose   replay one run
import ArgumentParser
import Foundation
import Samhand
import SamhandTestSupport

@main
struct SamhandSim: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "samhand-sim",
    abstract: "Simulate many offices replicating through copies of a shared folder under faults.",
    discussion: """
      Each office has its own replica and its own copy of the shared folder. A \
      simulated sync tool moves files between the copies: late, out of order, \
      duplicated, half-written (completed later) and as conflict copies. \
      Offices go offline, the network splits in two partitions, and offices \
      crash during a write, a publish and an import. They write, delete and \
      resolve conflicts within their rights. At the end every file is \
      delivered and every office must hold a byte-identical snapshot, with \
      every acknowledged write present or superseded by a causally later one.

      Everything random comes from the seed, so a failing run prints the \
      command that replays it exactly. Exit code 1 when a run fails.
      """)

  @Option(help: "The seed of a single run (default: a random one), or the first seed with --seeds.")
  var seed: UInt64?

  @Option(help: "How many runs, with consecutive seeds.")
  var seeds: Int = 1

  @Option(help: "How many offices, 2 to 50.")
  var offices: Int = 13

  @Option(help: "Rounds of work under faults before the final delivery.")
  var rounds: Int = 10

  @Flag(help: "Checkpoints every 25 stable changesets and 0 days' retention in every office: files pruned at once, offices catching up from checkpoints.")
  var longLife = false

  @Flag(help: "Print each run's summary, not only failures and the total.")
  var verbose = false

  func validate() throws {
    guard (2...50).contains(offices) else { throw ValidationError("--offices must be 2 to 50") }
    guard seeds >= 1 else { throw ValidationError("--seeds must be 1 or more") }
    guard rounds >= 1 else { throw ValidationError("--rounds must be 1 or more") }
  }

  func run() throws {
    let first = seed ?? (seeds == 1 ? UInt64.random(in: 1...UInt64(UInt32.max)) : 1)
    let start = Date()
    var failures: [String] = []
    var totals = Simulation.Summary()
    for index in 0..<seeds {
      let options = Simulation.Options(seed: first &+ UInt64(index), offices: offices, rounds: rounds, longLife: longLife)
      do {
        let summary = try Simulation(options).run()
        if verbose || seeds == 1 { print(summary) }
        totals.operations += summary.operations
        totals.acknowledged += summary.acknowledged
        totals.resolutions += summary.resolutions
        totals.conflictsSeen += summary.conflictsSeen
        totals.conflictsAtEnd += summary.conflictsAtEnd
        totals.files += summary.files
        totals.delivered += summary.delivered
        totals.torn += summary.torn
        totals.conflictCopies += summary.conflictCopies
        totals.crashesInWrite += summary.crashesInWrite
        totals.crashesInPublish += summary.crashesInPublish
        totals.crashesInImport += summary.crashesInImport
        totals.pruned += summary.pruned
        totals.caughtUp += summary.caughtUp
      } catch let failure as Simulation.Failure {
        failures.append("seed \(options.seed): \(failure.message)\n  replay: \(failure.replay)")
        print("FAILED seed \(options.seed): \(failure.message)\n  replay: \(failure.replay)")
      } catch {
        failures.append("seed \(options.seed): \(error)\n  replay: \(options.replayCommand)")
        print("FAILED seed \(options.seed): \(error)\n  replay: \(options.replayCommand)")
      }
      if seeds > 1, !verbose, (index + 1) % 50 == 0 {
        print(String(format: "… %d of %d runs, %.0f s", index + 1, seeds, Date().timeIntervalSince(start)))
      }
    }
    let seconds = Date().timeIntervalSince(start)
    print(
      String(
        format:
          "%d run(s) of %d offices (seeds %llu–%llu): %d operations, %d acknowledged, %d resolutions, %d conflicts seen, %d open at the end, %d files, %d delivered, %d torn, %d conflict copies, crashes %d/%d/%d (write/publish/import); %d files pruned, %d catch-ups from a checkpoint; %.1f s in all, %.2f s per run",
        seeds, offices, first, first &+ UInt64(seeds - 1), totals.operations, totals.acknowledged,
        totals.resolutions, totals.conflictsSeen, totals.conflictsAtEnd, totals.files, totals.delivered, totals.torn,
        totals.conflictCopies, totals.crashesInWrite, totals.crashesInPublish, totals.crashesInImport, totals.pruned,
        totals.caughtUp, seconds,
        seconds / Double(seeds)))
    if failures.isEmpty {
      print("RESULT: every run converged and lost no acknowledged write")
    } else {
      print("RESULT: \(failures.count) of \(seeds) runs FAILED")
      throw ExitCode.failure
    }
  }
}
