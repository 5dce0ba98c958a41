// Figures for the store core and replication, printed as a table.
//
//   swift run -c release samhand-bench apply [COUNT] [RUNS]   time to apply COUNT single-field changesets
//   swift run -c release samhand-bench apply-unchecked [COUNT] [RUNS]   the same into replicas without a roster
//                                                             (no signature, roster or rights checks), for comparison
//   swift run -c release samhand-bench bytes [WRITES]          bytes per field write in changeset files
//   swift run -c release samhand-bench offices [--offices 13] [--rounds 10] [--edits 1000] [--records 2600]
//                                        [--seed N] [--runs 3] [--json]
//                                                             the 13-office workload of issue 8
//   swift run -c release samhand-bench offices --scale [--offices 400] [--records 200000] [--rounds 100] [--edits 25]
//                                        [--rounds-at-13 10] [--seed N] [--quiet] [--json]
//                                                             every kommune on one folder (issue 18): 3 replicas apply
//                                                             everything, the other offices sign and drop changesets,
//                                                             a new office joins at the end
//   swift run -c release samhand-bench bounds [--offices 13] [--edits 1000] [--records 2600] [--runs 3]
//                                                             a round imported through Store.sync against bare inserts; zlib, Ed25519
//   swift run -c release samhand-bench history [--history 100] [--history-edits 100] [--probes 3]
//                                                             import time of one round after 1 and after N rounds of history
//   swift run -c release samhand-bench cli [--offices 13] [--rounds 10] [--edits 1000] [--records 2600] [--runs 3] [--json]
//                                                             the same workload through the samhand executable, a process per command
//   swift run -c release samhand-bench hostile [--samhand PATH]  the attacks of a hostile folder user, run against
//                                                             the samhand executable: each sync's time and peak memory
import Foundation
import Samhand
import SamhandTestSupport

func median(_ values: [Double]) -> Double {
  let sorted = values.sorted()
  return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

func seconds(_ body: () throws -> Void) rethrows -> Double {
  let start = DispatchTime.now().uptimeNanoseconds
  try body()
  return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

/// The `--name N` options of a benchmark mode, read one by one.
struct BenchOptions {
  let mode: String
  var iterator: IndexingIterator<[String]>

  init(_ mode: String, _ arguments: [String]) {
    self.mode = mode
    iterator = arguments.makeIterator()
  }

  mutating func next() -> String? { iterator.next() }

  /// The positive number after option `name`, or exit 64 saying so.
  mutating func number(_ name: String) -> Int {
    guard let text = iterator.next(), let number = Int(text), number > 0 else {
      fail("\(name) needs a positive number")
    }
    return number
  }

  func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("samhand-bench \(mode): \(message)\n".utf8))
    exit(64)
  }
}

/// Prints a result as sorted, indented JSON.
func printJSON<T: Encodable>(_ value: T) throws {
  let encoder = JSONEncoder()
  encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
  print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// COUNT changesets of one field each, applied to a fresh replica, several runs.
func applyBenchmark(count: Int, runs: Int, checked: Bool = true) throws {
  let directory = TemporaryDirectory("bench-apply")
  let storeID = StoreID.random()
  let source = try checked
    ? Store.create(folder: SharedFolder(directory.path("folder")), at: directory.path("source"), replica: "ks", schema: .planning)
    : Store.create(at: directory.path("source"), replica: "ks", storeID: storeID, schema: .planning)
  var files: [[UInt8]] = []
  for index in 0..<count {
    let changeset = try source.transact {
      try $0.set("cases", "sak-\(index % 500)", "status", .text(["ny", "under-arbeid", "avsluttet"][index % 3]))
    }!
    files.append(try source.changesetBytes(changeset.id)!)
  }
  var times: [Double] = []
  for run in 0..<runs {
    let target = try checked
      ? Store.join(folder: SharedFolder(directory.path("folder")), at: directory.path("target-\(run)"), replica: "kdd").0
      : Store.create(at: directory.path("target-\(run)"), replica: "kdd", storeID: storeID, schema: .planning)
    let elapsed = try seconds {
      for file in files { try target.receive(file) }
    }
    let applied = try target.frontier()["ks"]
    precondition(applied == UInt64(count), "applied \(applied) of \(count)")
    times.append(elapsed)
    print(String(format: "run %d: %.3f s (%.0f changesets/s)", run + 1, elapsed, Double(count) / elapsed))
  }
  let what = checked ? " (signatures, roster and rights checked)" : " (no roster: nothing checked)"
  print("apply \(count) single-field changesets\(what): " + String(format: "median %.3f s over %d runs (%.1f µs each)", median(times), runs, median(times) / Double(count) * 1e6))
}

/// A realistic batch of field writes (membership, cases, projects), in one
/// changeset and in changesets of 10 writes, compressed and not.
func bytesBenchmark(writes: Int) throws {
  let directory = TemporaryDirectory("bench-bytes")
  let store = try Store.create(
    folder: SharedFolder(directory.path("folder")), at: directory.path("store"), replica: "vestland", schema: .planning)
  var random = SeededRandom(seed: 42)
  let first = ["Solveig", "Anders", "Marit", "Håkon", "Ingrid", "Eirik", "Kari", "Ola", "Sigrid", "Torbjørn"]
  let last = ["Brekke", "Lien", "Haugen", "Fjeld", "Nygård", "Strand", "Bakke", "Aasen", "Moen", "Dahl"]
  let groups = ["kommuneplanens-samfunnsdel", "kommuneplanens-arealdel", "reguleringsplan"]
  let sentences = [
    "Oppstartsamling med fylkesplansjefene i Oslo.", "Gruppen har ansvar for faglig opplegg innenfor sin plantype.",
    "Erfaringsutveksling om regionalt planforum og plannettverk.", "Felles løft for samfunnsdelen med kobling til fireårshjulet.",
  ]
  func edits(_ count: Int, into tx: inout Transaction, offset: Int) throws {
    for index in 0..<count {
      let n = offset + index
      switch n % 8 {
      case 0: try tx.set("membership", "m-\(n / 8)", "person", .text("\(random.element(first)) \(random.element(last))"))
      case 1: try tx.set("membership", "m-\(n / 8)", "email", .text("\(random.element(first).lowercased()).\(random.element(last).lowercased())@vestland.example"))
      case 2: try tx.add("membership", "m-\(n / 8)", "groups", random.element(groups))
      case 3: try tx.set("membership", "m-\(n / 8)", "role", .text("planveileder"))
      case 4: try tx.set("cases", "sak-\(n / 8)", "notes", .text(random.element(sentences)))
      case 5: try tx.set("cases", "sak-\(n / 8)", "deadline", .text("2026-0\(random.int(1..<10))-1\(random.int(0..<10))"))
      case 6: try tx.put("projects", "p-\(n / 80)", "funding", key: random.element(Office.cooperation).slug.rawValue, .integer(Int64(random.int(1..<60)) * 10_000))
      default: try tx.set("cases", "sak-\(n / 8)", "status", .text("under-arbeid"))
      }
    }
  }
  let one = try store.transact { try edits(writes, into: &$0, offset: 0) }!
  let oneBytes = try store.changesetBytes(one.id)!
  let (header, payload) = try headerAndPayload(oneBytes)
  var tenTotal = 0
  for batch in 0..<(writes / 10) {
    let changeset = try store.transact { try edits(10, into: &$0, offset: writes + batch * 10) }!
    tenTotal += try store.changesetBytes(changeset.id)!.count
  }
  print("\(writes) realistic field writes (membership, cases, projects):")
  print(String(format: "  one changeset:   %7d bytes on disk = %.1f bytes/write (uncompressed payload %d = %.1f bytes/write, header %d)", oneBytes.count, Double(oneBytes.count) / Double(writes), payload, Double(payload) / Double(writes), header))
  print(String(format: "  10 writes each:  %7d bytes on disk = %.1f bytes/write", tenTotal, Double(tenTotal) / Double(writes)))
}

func headerAndPayload(_ bytes: [UInt8]) throws -> (Int, Int) {
  let (header, range) = try ChangesetFile.decodeHeader(bytes)
  return (range.lowerBound, header.payloadSize)
}

let arguments = CommandLine.arguments.dropFirst()
switch arguments.first {
case "apply":
  try applyBenchmark(count: arguments.dropFirst().first.flatMap(Int.init) ?? 10_000, runs: arguments.dropFirst(2).first.flatMap(Int.init) ?? 3)
case "apply-unchecked":
  try applyBenchmark(
    count: arguments.dropFirst().first.flatMap(Int.init) ?? 10_000, runs: arguments.dropFirst(2).first.flatMap(Int.init) ?? 3,
    checked: false)
case "offices":
  try officesBenchmark(Array(arguments.dropFirst()))
case "history":
  try historyBenchmark(Array(arguments.dropFirst()))
case "bounds":
  try boundsBenchmark(Array(arguments.dropFirst()))
case "sync-one":
  try syncOne(Array(arguments.dropFirst()))
case "join-one":
  try joinOne(Array(arguments.dropFirst()))
case "cli":
  try cliBenchmark(Array(arguments.dropFirst()))
case "hostile":
  try hostileBenchmark(Array(arguments.dropFirst()))
case "bytes":
  try bytesBenchmark(writes: arguments.dropFirst().first.flatMap(Int.init) ?? 1_000)
default:
  print(
    """
    usage: samhand-bench apply [COUNT] [RUNS]
           samhand-bench apply-unchecked [COUNT] [RUNS]
           samhand-bench bytes [WRITES]
           samhand-bench offices [--offices N] [--rounds N] [--edits N] [--records N] [--seed N] [--runs N] [--json]
           samhand-bench offices --scale [--offices N] [--records N] [--rounds N] [--edits N] [--rounds-at-13 N] [--seed N] [--quiet] [--json]
           samhand-bench bounds [--offices N] [--edits N] [--records N] [--runs N]
           samhand-bench history [--history N] [--history-edits N] [--edits N] [--probes N] [--offices N] [--records N] [--json]
           samhand-bench hostile [--samhand PATH]
           samhand-bench cli [--offices N] [--rounds N] [--edits N] [--records N] [--seed N] [--runs N] [--samhand PATH] [--json]
    """)
}
