import Dispatch
import Foundation
import Samhand

/// A progress bar on stderr, drawn only when stderr is a terminal and the
/// work has taken more than a moment.
///
/// The library reports progress as it goes; a timer redraws the bar ten
/// times a second, so a long step that reports nothing (such as hashing
/// the snapshot at the end of a sync) still shows a turning spinner.
///
/// `@unchecked Sendable`: the library calls `update` from whatever thread
/// syncs and the timer fires on another; every mutable property is guarded
/// by `lock`.
final class ProgressBar: @unchecked Sendable {
  private let lock = NSLock()
  private let label: String
  private let enabled: Bool
  private var latest: SyncProgress?
  private var timer: DispatchSourceTimer?
  private var drawn = false
  private var ticks = 0
  private static let width = 30
  private static let lineWidth = 72

  /// Starts the bar; it first appears after `delay` seconds of work.
  init(label: String, delay: TimeInterval = 0.5, enabled: Bool = Console.standardErrorIsTerminal) {
    self.label = label
    self.enabled = enabled
    guard enabled else { return }
    let timer = DispatchSource.makeTimerSource(queue: DispatchQueue.global(qos: .utility))
    timer.schedule(deadline: .now() + delay, repeating: 0.1)
    timer.setEventHandler { [weak self] in self?.draw() }
    timer.resume()
    self.timer = timer
  }

  deinit { timer?.cancel() }

  /// Takes one progress report from the library.
  func update(_ progress: SyncProgress) {
    guard enabled else { return }
    lock.lock()
    latest = progress
    lock.unlock()
  }

  private func draw() {
    lock.lock()
    defer { lock.unlock() }
    guard timer != nil else { return }
    ticks += 1
    var line = "\r\(label)"
    if let progress = latest {
      line += " \(progress.phase.rawValue)"
      if progress.total > 1 {
        let fraction = min(1, Double(progress.done) / Double(progress.total))
        let filled = Int((fraction * Double(ProgressBar.width)).rounded(.down))
        line +=
          " [" + String(repeating: "#", count: filled)
          + String(repeating: " ", count: ProgressBar.width - filled)
          + "] \(progress.done)/\(progress.total)"
      }
    }
    let spinner = ["|", "/", "-", "\\"][ticks % 4]
    line += " " + spinner
    FileHandle.standardError.write(
      Data(line.padding(toLength: ProgressBar.lineWidth, withPad: " ", startingAt: 0).utf8))
    drawn = true
  }

  /// Stops the bar and clears its line, if one was drawn.
  func finish() {
    lock.lock()
    defer { lock.unlock() }
    timer?.cancel()
    timer = nil
    guard drawn else { return }
    FileHandle.standardError.write(
      Data(("\r" + String(repeating: " ", count: ProgressBar.lineWidth) + "\r").utf8))
    drawn = false
  }
}
