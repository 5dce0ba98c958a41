import Dispatch
import Foundation
import Synchronization

/// What a long command says when it is interrupted (Ctrl-C, SIGINT), and
/// the short stretches it must not be cut in.
///
/// The default action of SIGINT ends the process without a word; a person
/// who pressed Ctrl-C during `init` then finds a store and no idea what
/// state it is in. With this installed, the command prints what has been
/// done and what to run next, then exits with 130 (128 + SIGINT), as
/// shells expect. Everything committed before is kept: the store is crash
/// safe, so stopping at any instant loses nothing committed.
final class Interruption: Sendable {
  private struct State {
    var message: (@Sendable () -> String)?
    var holding = false
    var pending = false
  }

  private let state = Mutex(State())
  private let source: Mutex<(any DispatchSourceSignal)?>

  init() {
    signal(SIGINT, SIG_IGN)
    source = Mutex(DispatchSource.makeSignalSource(signal: SIGINT, queue: .global()))
    source.withLock { source in
      source?.setEventHandler { [weak self] in self?.interrupted() }
      source?.resume()
    }
  }

  /// Sets what is said if the command is interrupted from now on.
  func say(_ message: @escaping @Sendable () -> String) {
    state.withLock { $0.message = message }
  }

  /// Runs `body` without interruption: a SIGINT during it takes effect
  /// when it returns (the founding of a store: folder and store together).
  func uninterrupted<T>(_ body: () throws -> T) rethrows -> T {
    state.withLock { $0.holding = true }
    defer {
      let pending = state.withLock { state -> Bool in
        state.holding = false
        return state.pending
      }
      if pending { interrupted() }
    }
    return try body()
  }

  /// Restores the default action: the command's work is done.
  func finish() {
    source.withLock { $0?.cancel() }
    signal(SIGINT, SIG_DFL)
  }

  private func interrupted() {
    let message = state.withLock { state -> (@Sendable () -> String)?? in
      if state.holding {
        state.pending = true
        return .none
      }
      return .some(state.message)
    }
    guard case .some(let said) = message else { return }
    Console.writeToStandardError("\nInterrupted. \(said?() ?? "")\n")
    exit(130)
  }
}
