import Foundation

/// A stand-in for a sync tool (OneDrive, Dropbox, Syncthing) between copies
/// of a shared folder: it copies files that one copy has and another lacks,
/// in a seeded random order, sometimes leaving a file half-written first.
public struct FolderCopier {
  public var random: SeededRandom
  /// Files this copier left half-written, which a real sync tool would never
  /// pass on (it writes to a temporary name and renames).
  private var torn: Set<String> = []

  public init(seed: UInt64) { random = SeededRandom(seed: seed) }

  /// Every regular file under `root`, as paths relative to it.
  public static func files(under root: URL) -> [String] {
    guard let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey]) else {
      return []
    }
    var result: [String] = []
    let prefix = root.standardizedFileURL.path + "/"
    for case let url as URL in enumerator {
      guard (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true else { continue }
      let path = url.standardizedFileURL.path
      if path.hasPrefix(prefix) { result.append(String(path.dropFirst(prefix.count))) }
    }
    return result.sorted()
  }

  static func modified(_ url: URL) -> Date? {
    try? url.resourceValues(forKeys: [.contentModificationDateKey]).contentModificationDate
  }

  /// Copies some of what `source` has that `destination` lacks (or holds
  /// half-written, or older for heads).
  ///
  /// - Parameters:
  ///   - fraction: the share of differing files to copy this time.
  ///   - tornChance: the chance a copied file is left half-written.
  /// - Returns: how many files were touched.
  @discardableResult
  public mutating func copy(from source: URL, to destination: URL, fraction: Double = 1, tornChance: Double = 0) throws -> Int {
    var touched = 0
    var differing: [String] = []
    for path in FolderCopier.files(under: source) where !torn.contains(source.appendingPathComponent(path).path) {
      let from = source.appendingPathComponent(path)
      let to = destination.appendingPathComponent(path)
      let sourceBytes = try Data(contentsOf: from)
      if let existing = try? Data(contentsOf: to) {
        if existing == sourceBytes { continue }
        // Like a real sync tool, the newer file wins (unless ours is torn).
        if !torn.contains(to.path), let sourceDate = FolderCopier.modified(from), let destinationDate = FolderCopier.modified(to),
          destinationDate >= sourceDate
        {
          continue
        }
      }
      differing.append(path)
    }
    random.shuffle(&differing)
    for path in differing {
      guard random.unit() < fraction else { continue }
      let from = source.appendingPathComponent(path)
      let to = destination.appendingPathComponent(path)
      try FileManager.default.createDirectory(at: to.deletingLastPathComponent(), withIntermediateDirectories: true)
      var bytes = try Data(contentsOf: from)
      if random.unit() < tornChance, bytes.count > 1 {
        bytes = bytes.prefix(Int(random.next() % UInt64(bytes.count)))
        torn.insert(to.path)
      } else {
        torn.remove(to.path)
      }
      try bytes.write(to: to)
      touched += 1
    }
    return touched
  }
}

/// A small, fast, seeded generator (SplitMix64) so tests replay exactly.
public struct SeededRandom: RandomNumberGenerator {
  private var state: UInt64

  public init(seed: UInt64) { state = seed }

  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// A number in [0, 1).
  public mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }

  public mutating func int(_ range: Range<Int>) -> Int { Int.random(in: range, using: &self) }

  public mutating func shuffle<T>(_ array: inout [T]) { array.shuffle(using: &self) }

  public mutating func element<T>(_ array: [T]) -> T { array[int(0..<array.count)] }

  /// True with the given probability.
  public mutating func chance(_ probability: Double) -> Bool { unit() < probability }

  public mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &self) }

  public mutating func pick<T>(_ items: [T]) -> T { element(items) }
}
