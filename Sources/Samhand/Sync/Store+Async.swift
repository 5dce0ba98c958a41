import Foundation
import Synchronization

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A flag a running sync checks between changesets.
///
/// A sync stops only between two changesets, each applied in its own
/// database transaction, so a cancelled sync never leaves one half-applied.
final class SyncCancellation: Sendable {
  private let cancelled = Atomic<Bool>(false)

  func cancel() { cancelled.store(true, ordering: .relaxed) }

  var isCancelled: Bool { cancelled.load(ordering: .relaxed) }

  /// Throws `CancellationError` once cancelled.
  func check() throws {
    if cancelled.load(ordering: .relaxed) { throw CancellationError() }
  }
}

// MARK: - Async

extension Store {
  /// Syncs without blocking the caller's task; cancel the task to stop early.
  ///
  /// The sync runs on a background thread. Cancelling the awaiting task
  /// stops it between two changesets (each applied whole, in a database
  /// transaction that commits before the sync stops), so nothing is left
  /// half-applied; what was applied stays,
  /// and the next sync carries on from there. Cancellation throws
  /// `CancellationError`.
  ///
  /// ```swift
  /// let report = try await store.sync(with: folder) { progress in
  ///   print("\(progress.phase): \(progress.done) of \(progress.total)")
  /// }
  /// ```
  ///
  /// - Parameters:
  ///   - folder: the shared folder (or this office's copy of it).
  ///   - progress: called with files done of total in each phase.
  /// - Returns: what the sync did.
  @discardableResult
  public func sync(
    with folder: SharedFolder, progress: (@Sendable (SyncProgress) -> Void)? = nil
  ) async throws -> SyncReport {
    let cancellation = SyncCancellation()
    return try await withTaskCancellationHandler {
      try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<SyncReport, any Error>) in
        DispatchQueue.global(qos: .utility).async {
          continuation.resume(
            with: Result {
              try self.synchronized { try self.exchange(with: folder, writing: true, progress: progress, cancellation: cancellation) }
            })
        }
      }
    } onCancel: {
      cancellation.cancel()
    }
  }
}

// MARK: - One sync at a time

extension Store {
  /// The lock file that keeps two syncs of one store, in any processes, apart.
  static let syncLockFileName = "sync.lock"

  /// Runs `body` holding the store's sync lock.
  ///
  /// Two processes (or two tasks) syncing one store take turns: the second
  /// waits up to `timeout` seconds for the first to finish, then gives up
  /// with a clear error. Writes and reads need no such lock: SQLite keeps
  /// them apart.
  func synchronized<T>(timeout: Double = 120, _ body: () throws -> T) throws -> T {
    let url = directory.appendingPathComponent(Store.syncLockFileName)
    // An in-memory reader has no folder of its own to lock.
    guard directory.path != "/dev/null" else { return try body() }
    let descriptor = systemOpen(url.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
    guard descriptor >= 0 else {
      throw SamhandError(.io, "cannot open the sync lock \(url.path): \(String(cString: strerror(errno)))", fileURL: url)
    }
    defer { close(descriptor) }
    let deadline = Date().addingTimeInterval(timeout)
    while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
      guard errno == EWOULDBLOCK || errno == EINTR else {
        throw SamhandError(.io, "cannot lock \(url.path): \(String(cString: strerror(errno)))", fileURL: url)
      }
      guard Date() < deadline else {
        let holder = (try? String(contentsOf: url, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
        throw SamhandError(
          .storage,
          "another sync of this store has been running for over \(Int(timeout)) s (process \(holder)); try again when it is done",
          fileURL: directory)
      }
      usleep(50_000)
    }
    defer { flock(descriptor, LOCK_UN) }
    let pid = "\(getpid())\n"
    _ = ftruncate(descriptor, 0)
    _ = pid.withCString { pwrite(descriptor, $0, strlen($0), 0) }
    return try body()
  }
}

private func systemOpen(_ path: String, _ flags: Int32, _ mode: mode_t) -> Int32 {
  #if canImport(Glibc)
    Glibc.open(path, flags, mode)
  #else
    Darwin.open(path, flags, mode)
  #endif
}
