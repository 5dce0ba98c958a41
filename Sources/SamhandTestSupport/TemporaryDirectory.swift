import Foundation

/// A folder under the system's temporary directory, removed when released.
public final class TemporaryDirectory: @unchecked Sendable {
  // @unchecked: the only stored property is an immutable URL.
  public let url: URL

  /// - Parameter inMemory: put it in `/dev/shm` where the system has one,
  ///   for tests of merging rather than durability, where a synchronous
  ///   commit on disk would cost more than the work under test.
  public init(_ label: String = "samhand", inMemory: Bool = false) {
    let memory = URL(fileURLWithPath: "/dev/shm", isDirectory: true)
    let base =
      inMemory && FileManager.default.isWritableFile(atPath: memory.path) ? memory : FileManager.default.temporaryDirectory
    url = base.appendingPathComponent("\(label)-\(UUID().uuidString.prefix(8).lowercased())")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  }

  /// A path inside the folder (not created).
  public func path(_ component: String) -> URL { url.appendingPathComponent(component) }

  deinit { try? FileManager.default.removeItem(at: url) }
}

/// The repository's `Fixtures/` folder, found from this source file's place.
public func fixturesDirectory(file: StaticString = #filePath) -> URL {
  URL(fileURLWithPath: "\(file)").deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Fixtures")
}
