import Foundation
import Samhand
import SamhandTestSupport
import XCTest

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

// Feeds every file in Fixtures/fuzz-regressions/ to every decoder that
// reads the shared folder: changeset files, head files, samhand.json, the
// schema JSON, checkpoints and their signature files, pack files, key
// files (`keys/<administrator>.keys`). Each decoder must throw or succeed; none may crash,
// hang or allocate without bound; the key file decoder may throw only a
// `SamhandError`. Changesets and checkpoints are decoded with the group
// key the fuzzer seals with, so that sealed ones are opened.
//
// The folder holds what Tools/fuzz.sh found (NAME.fuzz, the fuzzer's input,
// and NAME.changeset / NAME.head.json / ..., the bytes the decoder read)
// and hand-made nasty inputs (handmade-*, written by
// Tools/Fuzz/make-handmade-inputs.py).
//
// On Linux the files are decoded in a child process (this test binary,
// running only `testFuzzRegressions_childProcess`), so that a crash fails
// this test and names the file instead of ending the whole run, a hang is
// killed after `timeBound`, and the child's data size is capped at
// `memoryBound` above what it uses at the start (RLIMIT_DATA): an
// allocation past it fails and the child crashes. Elsewhere the files are
// decoded in this process, with the time bound only.

final class FuzzRegressionTests: XCTestCase {
  /// The longest any one file may take with all four decoders.
  static let timeBound: TimeInterval = 15
  /// What decoding any one file may allocate: twice the largest payload a
  /// changeset may declare (512 MiB), since the inflated payload and what
  /// is decoded from it live side by side.
  static let memoryBound = 1 << 30
  /// The group key `Tools/Fuzz` seals changesets and checkpoints with
  /// (`fuzzGroupKey`), and the hand-made sealed inputs too.
  static let groupKeys = GroupKeyring([try! GroupKey(bytes: [UInt8](repeating: 0x2A, count: 32))])
  /// The outcome of a decoder that threw what it must not: another error than a `SamhandError`.
  static let foreignError = "threw-not-a-SamhandError"

  func testFuzzRegressions_everyDecoderThrowsOrSucceeds() throws {
    let files = try Self.regressionFiles()
    XCTAssertGreaterThan(files.count, 0, "no files in \(Self.regressionsDirectory.path)")
    #if os(Linux)
      let failures = try Self.decodeInChildProcesses(files)
    #else
      let failures = Self.decodeInProcess(files)
    #endif
    for failure in failures { XCTFail(failure) }
    print("FuzzRegressionTests: \(files.count) files, \(failures.count) failures")
  }

  /// Only does something in the child process that the test above starts.
  func testFuzzRegressions_childProcess() throws {
    let environment = ProcessInfo.processInfo.environment
    guard let listPath = environment[Self.listVariable], let logPath = environment[Self.logVariable] else {
      throw XCTSkip("runs only as the child process of testFuzzRegressions_everyDecoderThrowsOrSucceeds")
    }
    let list = try String(contentsOfFile: listPath, encoding: .utf8)
    let log = try XCTUnwrap(FileHandle(forWritingAtPath: logPath))
    // One unbuffered write per line: a line is whole, or absent if the child dies.
    func say(_ line: String) { log.write(Data((line + "\n").utf8)) }
    Self.limitDataSize(to: Self.memoryBound)
    for path in list.split(separator: "\n").map(String.init) {
      say("begin \(path)")
      let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
      let start = Date()
      let outcomes = Self.decodeWithEveryDecoder(bytes)
      say("end \(Int(Date().timeIntervalSince(start) * 1000)) \(outcomes) \(path)")
    }
  }

  // MARK: - Decoding

  /// Runs every decoder that reads the shared folder on the bytes;
  /// returns what each did, as `changeset:threw,head:ok,...`.
  static func decodeWithEveryDecoder(_ bytes: [UInt8]) -> String {
    func outcome(onlySamhandErrors: Bool = false, _ decode: () throws -> Void) -> String {
      do {
        try decode()
        return "ok"
      } catch is SamhandError {
        return "threw"
      } catch {
        return onlySamhandErrors ? foreignError : "threw"
      }
    }
    return [
      "changeset:" + outcome {
        let envelope = try ChangesetFile.open(bytes)
        // A format 2 file against a base of what it names (its digest rarely matches).
        _ = try? envelope.resolved(against: envelope.header.dependencies)
        _ = try envelope.changeset(keys: groupKeys)
      },
      "head:" + outcome { _ = try Head(json: bytes) },
      "identity:" + outcome { _ = try SharedFolder.Identity(json: bytes) },
      "schema:" + outcome { _ = try Schema(json: Data(bytes)) },
      "checkpoint:" + outcome { _ = try Checkpoint(bytes: bytes, keys: groupKeys) },
      "checkpoint-signature:" + outcome { _ = try CheckpointSignature(json: bytes) },
      "pack:" + outcome {
        let pack = try PackFile.decode(bytes)
        for member in pack.members { _ = try? ChangesetFile.open(member).changeset(keys: groupKeys) }
      },
      "keyring:" + outcome(onlySamhandErrors: true) { _ = try KeyringFile(json: bytes, fileURL: nil) },
    ].joined(separator: ",")
  }

  static func decodeInProcess(_ files: [URL]) -> [String] {
    var failures: [String] = []
    for file in files {
      guard let data = try? Data(contentsOf: file) else {
        failures.append("\(file.lastPathComponent): cannot read")
        continue
      }
      let start = Date()
      let outcomes = decodeWithEveryDecoder([UInt8](data))
      let elapsed = Date().timeIntervalSince(start)
      if elapsed > timeBound {
        failures.append("\(file.lastPathComponent): took \(elapsed) s, more than \(timeBound) s")
      }
      if outcomes.contains(foreignError) {
        failures.append("\(file.lastPathComponent): a decoder threw another error than a SamhandError: \(outcomes)")
      }
    }
    return failures
  }

  // MARK: - The child process

  static let listVariable = "SAMHAND_FUZZ_REGRESSION_LIST"
  static let logVariable = "SAMHAND_FUZZ_REGRESSION_LOG"

  /// Decodes the files in child processes, starting a new child after the
  /// file that a child crashed or hung on; returns the failures.
  static func decodeInChildProcesses(_ files: [URL]) throws -> [String] {
    let executable = try testExecutable()
    let scratch = TemporaryDirectory("fuzz-regressions")
    var failures: [String] = []
    var pending = files.map(\.path)
    var round = 0
    while !pending.isEmpty {
      let child = try RegressionChild(
        executable: executable, files: pending, scratch: scratch.url, round: round, timeBound: timeBound)
      child.wait()
      let ended = Set(child.ended.map(\.path))
      for result in child.ended where result.milliseconds > Int(timeBound * 1000) {
        failures.append("\(name(result.path)): took \(result.milliseconds) ms, more than \(timeBound) s")
      }
      for result in child.ended where result.outcomes.contains(foreignError) {
        failures.append("\(name(result.path)): a decoder threw another error than a SamhandError: \(result.outcomes)")
      }
      guard let stopped = pending.firstIndex(where: { !ended.contains($0) }) else {
        if !child.exitedCleanly {
          failures.append("the child process failed after decoding every file: \(child.status)\n\(child.output)")
        }
        break
      }
      let culprit = pending[stopped]
      if child.began.contains(culprit) {
        let how = child.killedForTime ? "hung (killed after \(timeBound) s)" : "crashed (\(child.status))"
        failures.append("\(name(culprit)): a decoder \(how)\n\(child.output)")
      } else {
        // The child failed before it reached the file: nothing more to learn.
        failures.append("the child process stopped before \(name(culprit)): \(child.status)\n\(child.output)")
        break
      }
      pending.removeFirst(stopped + 1)
      round += 1
    }
    return failures
  }

  /// The executable these tests run in (on Linux, `<Package>PackageTests.xctest`).
  static func testExecutable() throws -> URL {
    let path = Bundle.main.executablePath ?? CommandLine.arguments[0]
    let url = URL(fileURLWithPath: path)
    guard FileManager.default.isExecutableFile(atPath: url.path) else {
      throw XCTSkip("cannot find the test executable to run a child process (\(path))")
    }
    return url
  }

  /// Caps the process's data size at `bound` bytes above what it uses now.
  static func limitDataSize(to bound: Int) {
    #if os(Linux)
      let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
      let used =
        status.split(separator: "\n").first { $0.hasPrefix("VmData:") }
        .flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") }
        .map { $0 * 1024 } ?? 0
      let limit = rlim_t(used + bound)
      var current = rlimit()
      getrlimit(Int32(RLIMIT_DATA.rawValue), &current)
      var wanted = rlimit(rlim_cur: min(limit, current.rlim_max), rlim_max: current.rlim_max)
      setrlimit(Int32(RLIMIT_DATA.rawValue), &wanted)
    #endif
  }

  // MARK: - Files

  static var regressionsDirectory: URL { fixturesDirectory().appendingPathComponent("fuzz-regressions") }

  static func regressionFiles() throws -> [URL] {
    let names = try FileManager.default.contentsOfDirectory(atPath: regressionsDirectory.path)
    return names.filter { !$0.hasPrefix(".") }.sorted().map { regressionsDirectory.appendingPathComponent($0) }
  }

  static func name(_ path: String) -> String { URL(fileURLWithPath: path).lastPathComponent }
}

/// One child process decoding a list of files, watched from this process.
private final class RegressionChild {
  struct Result {
    var milliseconds: Int
    /// What each decoder did, as `changeset:threw,head:ok,...`.
    var outcomes: String
    var path: String
  }

  let process = Process()
  let logURL: URL
  let outputURL: URL
  let timeBound: TimeInterval
  private(set) var began: [String] = []
  private(set) var ended: [Result] = []
  private(set) var killedForTime = false

  init(executable: URL, files: [String], scratch: URL, round: Int, timeBound: TimeInterval) throws {
    let listURL = scratch.appendingPathComponent("list-\(round).txt")
    logURL = scratch.appendingPathComponent("log-\(round).txt")
    outputURL = scratch.appendingPathComponent("output-\(round).txt")
    self.timeBound = timeBound
    try files.joined(separator: "\n").write(to: listURL, atomically: true, encoding: .utf8)
    _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: outputURL.path, contents: nil)
    var environment = ProcessInfo.processInfo.environment
    environment[FuzzRegressionTests.listVariable] = listURL.path
    environment[FuzzRegressionTests.logVariable] = logURL.path
    // A crash ends the child at once, without a backtrace taking seconds.
    environment["SWIFT_BACKTRACE"] = "enable=no"
    process.executableURL = executable
    process.arguments = ["SamhandTests.FuzzRegressionTests/testFuzzRegressions_childProcess"]
    process.environment = environment
    let output = try FileHandle(forWritingTo: outputURL)
    process.standardOutput = output
    process.standardError = output
    try process.run()
  }

  /// Waits for the child to end, killing it when one file takes longer than the bound.
  func wait() {
    var current: (path: String, since: Date)?
    while process.isRunning {
      usleep(20_000)
      readLog()
      if let last = began.last, !ended.contains(where: { $0.path == last }) {
        if current?.path != last { current = (last, Date()) }
        if let current, Date().timeIntervalSince(current.since) > timeBound {
          killedForTime = true
          kill(process.processIdentifier, SIGKILL)
          break
        }
      }
    }
    process.waitUntilExit()
    readLog()
  }

  private func readLog() {
    let text = (try? String(contentsOf: logURL, encoding: .utf8)) ?? ""
    began = []
    ended = []
    for line in text.split(separator: "\n") {
      let parts = line.split(separator: " ", maxSplits: 3).map(String.init)
      if line.hasPrefix("begin ") {
        began.append(String(line.dropFirst("begin ".count)))
      } else if parts.count == 4, parts[0] == "end", let milliseconds = Int(parts[1]) {
        ended.append(Result(milliseconds: milliseconds, outcomes: parts[2], path: parts[3]))
      }
    }
  }

  var exitedCleanly: Bool { process.terminationReason == .exit && process.terminationStatus == 0 }

  var status: String {
    process.terminationReason == .uncaughtSignal
      ? "killed by signal \(process.terminationStatus)" : "exit status \(process.terminationStatus)"
  }

  /// What the child wrote besides XCTest's progress: a crash's message and
  /// the top of its stack.
  var output: String {
    let text = (try? String(contentsOf: outputURL, encoding: .utf8)) ?? ""
    let lines = text.split(separator: "\n")
      .filter { !$0.hasPrefix("Test Suite") && !$0.hasPrefix("Test Case") && !$0.hasPrefix("\t Executed") }
    return lines.prefix(16).joined(separator: "\n")
  }
}
