import Foundation
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// How `Store.watch(folder:options:)` notices new files.
public struct WatchOptions: Sendable, Hashable {
  /// How long to wait after a file appears before syncing, so a burst of
  /// files (a sync tool catching up) becomes one sync.
  public var debounce: Duration
  /// How often to look at the folder anyway: network shares (SMB, NFS)
  /// and some sync tools do not report changes made elsewhere.
  public var pollInterval: Duration
  /// Whether to use the system's file events (inotify on Linux) as well as polling.
  public var useFileEvents: Bool

  /// Creates watch options.
  ///
  /// - Parameters:
  ///   - debounce: how long to wait after a change before syncing.
  ///   - pollInterval: how often to look at the folder in any case.
  ///   - useFileEvents: whether to use the system's file events too.
  public init(debounce: Duration = .seconds(1), pollInterval: Duration = .seconds(30), useFileEvents: Bool = true) {
    self.debounce = debounce
    self.pollInterval = pollInterval
    self.useFileEvents = useFileEvents
  }
}

extension Store {
  /// Syncs now, then again whenever other offices' files appear in the folder.
  ///
  /// New files are noticed through file events where Samhand uses them
  /// (inotify, on Linux only) and by looking at the folder every
  /// `pollInterval` in any case, since network shares often report
  /// nothing. Syncs are debounced. The stream yields each sync's report
  /// and ends when the consumer stops iterating or its task is cancelled;
  /// a failing sync ends it with the error.
  ///
  /// ```swift
  /// for try await report in store.watch(folder: folder) {
  ///   if !report.imported.isEmpty { print("imported \(report.imported.count)") }
  /// }
  /// ```
  public func watch(folder: SharedFolder, options: WatchOptions = WatchOptions()) -> AsyncThrowingStream<SyncReport, any Error> {
    let (reports, output) = AsyncThrowingStream.makeStream(of: SyncReport.self)
    let (signals, signal) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    let events = options.useFileEvents ? FolderEvents(folder: folder, ignoring: replica, signal: signal) : nil
    let poller = Task {
      var last = FolderEvents.fingerprint(of: folder, ignoring: replica)
      while !Task.isCancelled {
        try? await Task.sleep(for: options.pollInterval)
        let now = FolderEvents.fingerprint(of: folder, ignoring: replica)
        if now != last {
          last = now
          signal.yield()
        }
      }
    }
    let worker = Task {
      do {
        output.yield(try await sync(with: folder))
        for await _ in signals {
          try await Task.sleep(for: options.debounce)
          output.yield(try await sync(with: folder))
        }
        output.finish()
      } catch is CancellationError {
        output.finish()
      } catch {
        output.finish(throwing: error)
      }
    }
    output.onTermination = { _ in
      worker.cancel()
      poller.cancel()
      events?.stop()
      signal.finish()
    }
    return reports
  }
}

/// File events for the office folders under `changesets/`, other than one's own.
final class FolderEvents: Sendable {
  private let stopped = Atomic<Bool>(false)

  init(folder: SharedFolder, ignoring own: ReplicaID, signal: AsyncStream<Void>.Continuation) {
    #if canImport(Glibc)
      let thread = Thread { [self] in self.run(folder: folder, ignoring: own, signal: signal) }
      thread.name = "samhand-watch"
      thread.start()
    #endif
  }

  func stop() { stopped.store(true, ordering: .relaxed) }

  #if canImport(Glibc)
    private func run(folder: SharedFolder, ignoring own: ReplicaID, signal: AsyncStream<Void>.Continuation) {
      // Only a folder on this machine has events to watch; polling covers the rest.
      guard folder.url.isFileURL else { return }
      let descriptor = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
      guard descriptor >= 0 else { return }  // polling still runs
      defer { close(descriptor) }
      let mask = UInt32(IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE | IN_DELETE_SELF)
      var watched = Set<String>()
      func watchFolders() {
        for path in [folder.url.path, folder.changesetsURL.path] where !watched.contains(path) {
          if inotify_add_watch(descriptor, path, mask) >= 0 { watched.insert(path) }
        }
        let offices = (try? FileManager.default.contentsOfDirectory(atPath: folder.changesetsURL.path)) ?? []
        for name in offices where name != own.rawValue && ReplicaID(rawValue: name) != nil {
          let path = folder.changesetsURL.appendingPathComponent(name).path
          if !watched.contains(path), inotify_add_watch(descriptor, path, mask) >= 0 { watched.insert(path) }
        }
      }
      watchFolders()
      var buffer = [UInt8](repeating: 0, count: 64 * 1024)
      while !stopped.load(ordering: .relaxed) {
        var request = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&request, 1, 200) > 0 else { continue }
        let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        guard count > 0 else { continue }
        // A new office folder (or changesets/ itself) may have appeared.
        watchFolders()
        signal.yield()
      }
    }
  #endif

  /// Names, sizes and times of the other offices' files: what polling compares.
  static func fingerprint(of folder: SharedFolder, ignoring own: ReplicaID) -> [String: [String]] {
    var result: [String: [String]] = [:]
    let offices = (try? folder.exchange.list(SharedFolder.changesetsDirectory)) ?? nil
    for office in offices ?? [] where office.name != own.rawValue && office.type == .directory {
      let items = (try? folder.exchange.list("\(SharedFolder.changesetsDirectory)/\(office.name)")) ?? nil
      result[office.name] = (items ?? []).sorted { $0.name < $1.name }.map { "\($0.name) \($0.size) \($0.modified)" }
    }
    return result
  }
}
