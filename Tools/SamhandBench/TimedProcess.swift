import Foundation

/// One run of an executable under `/usr/bin/time` (Debian package `time`):
/// its wall-clock time, peak memory (maximum resident set), output and exit status.
struct TimedProcess {
  var seconds: Double
  var peakMemoryMB: Double
  var stdout: String
  var stderr: String
  var status: Int32

  /// Runs `executable ARGUMENTS` in `directory` and waits for it.
  static func run(_ executable: URL, _ arguments: [String], in directory: URL) throws -> TimedProcess {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/time")
    process.arguments = ["-f", "samhand-time %M", executable.path] + arguments
    process.currentDirectoryURL = directory
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    let started = DispatchTime.now().uptimeNanoseconds
    try process.run()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
    var lines = stderr.split(separator: "\n", omittingEmptySubsequences: false)
    let kilobytes = lines.last { $0.hasPrefix("samhand-time ") }.flatMap { Double($0.dropFirst(13)) } ?? 0
    lines.removeAll { $0.hasPrefix("samhand-time ") }
    return TimedProcess(
      seconds: seconds, peakMemoryMB: kilobytes / 1024, stdout: String(decoding: stdout, as: UTF8.self),
      stderr: lines.joined(separator: "\n"), status: process.terminationStatus)
  }
}
