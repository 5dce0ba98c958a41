import Foundation
import Synchronization

/// Where import time goes, for the benchmark: nanoseconds per phase,
/// summed over every import in the process while switched on. Off by
/// default; when off, measuring costs one atomic load.
package enum ImportProfile {
  /// The phases of importing changeset files.
  package enum Phase: Int, CaseIterable, Sendable {
    /// Listing the folder; reading files; inflating payloads; decoding
    /// headers and edits; checking checksums, signatures, the roster and
    /// rights; merging into the records' state; the rest of each SQLite
    /// transaction (the records written back, bookkeeping rows, commit); the snapshot hash for the
    /// head (`hashing`); and the rest of the sync (`other`: settling
    /// files, publishing, the head), which the benchmark works out.
    case listing, reading, inflating, decoding, verifying, merging, writing, hashing, other

    /// The phase's name as printed.
    package var name: String { "\(self)" }
  }

  private static let enabled = Atomic<Bool>(false)
  private static let totals = Mutex<[UInt64]>(Array(repeating: 0, count: Phase.allCases.count))

  /// Switches measuring on or off, and clears the totals.
  package static func start(_ on: Bool = true) {
    totals.withLock { $0 = Array(repeating: 0, count: Phase.allCases.count) }
    enabled.store(on, ordering: .relaxed)
  }

  /// The totals so far, in seconds, by phase.
  package static var seconds: [Phase: Double] {
    totals.withLock { values in
      Dictionary(uniqueKeysWithValues: Phase.allCases.map { ($0, Double(values[$0.rawValue]) / 1e9) })
    }
  }

  /// Runs `body`, adding its time to `phase` when measuring is on.
  @inline(__always)
  package static func measure<T>(_ phase: Phase, _ body: () throws -> T) rethrows -> T {
    guard enabled.load(ordering: .relaxed) else { return try body() }
    let start = DispatchTime.now().uptimeNanoseconds
    defer { add(phase, DispatchTime.now().uptimeNanoseconds - start) }
    return try body()
  }

  /// A start time for ``add(_:since:)``; 0 when measuring is off.
  @inline(__always)
  package static func now() -> UInt64 {
    enabled.load(ordering: .relaxed) ? DispatchTime.now().uptimeNanoseconds : 0
  }

  /// Adds the time since `start` (from ``now()``) to a phase.
  @inline(__always)
  package static func add(_ phase: Phase, since start: UInt64) {
    guard start != 0 else { return }
    add(phase, DispatchTime.now().uptimeNanoseconds &- start)
  }

  /// Adds time to a phase when measuring is on.
  package static func add(_ phase: Phase, _ nanoseconds: UInt64) {
    guard enabled.load(ordering: .relaxed) else { return }
    totals.withLock { $0[phase.rawValue] &+= nanoseconds }
  }

  package static var isOn: Bool { enabled.load(ordering: .relaxed) }

  /// Runs one import transaction: its time, less what inner phases
  /// (inflating, decoding, verifying, merging) counted meanwhile, is
  /// SQLite's share (`writing`).
  @inline(__always)
  package static func transaction<T>(_ body: () throws -> T) rethrows -> T {
    guard enabled.load(ordering: .relaxed) else { return try body() }
    let inner: () -> UInt64 = {
      totals.withLock { values in
        [Phase.inflating, .decoding, .verifying, .merging].reduce(0) { $0 &+ values[$1.rawValue] }
      }
    }
    let before = inner()
    let start = DispatchTime.now().uptimeNanoseconds
    defer {
      let elapsed = DispatchTime.now().uptimeNanoseconds - start
      let counted = inner() &- before
      add(.writing, elapsed > counted ? elapsed - counted : 0)
    }
    return try body()
  }
}
