/// For each replica, the highest counter seen: a vector clock.
///
/// A missing replica counts as zero. Vectors compare by causality:
/// `a.isIncluded(in: b)` when every entry of `a` is at most the entry of `b`.
public struct VersionVector: Hashable, Sendable, CustomStringConvertible {
  /// Entries with a counter above zero.
  public private(set) var counters: [ReplicaID: UInt64]

  /// Creates an empty vector, which covers no changesets.
  public init() { counters = [:] }

  /// Creates a vector from counters by replica, leaving out entries of zero.
  public init(_ counters: [ReplicaID: UInt64]) {
    self.counters = counters.filter { $0.value > 0 }
  }

  /// Creates a vector from counters known to be above zero.
  init(positive counters: [ReplicaID: UInt64]) {
    self.counters = counters
  }

  /// The counter of a replica, or zero when it has no entry.
  ///
  /// Setting a counter to zero removes the replica's entry.
  public subscript(replica: ReplicaID) -> UInt64 {
    get { counters[replica] ?? 0 }
    set {
      if newValue == 0 { counters[replica] = nil } else { counters[replica] = newValue }
    }
  }

  /// Whether the write with this dot is part of the history this vector describes.
  public func contains(_ dot: Dot) -> Bool {
    self[dot.replica] >= dot.counter
  }

  /// Raises each entry to the other vector's entry where that one is higher.
  public mutating func formUnion(_ other: VersionVector) {
    for (replica, counter) in other.counters where counter > self[replica] {
      self[replica] = counter
    }
  }

  /// The vector holding, for each replica, the higher of the two counters.
  public func union(_ other: VersionVector) -> VersionVector {
    var copy = self
    copy.formUnion(other)
    return copy
  }

  /// The vector holding, for each replica, the lower of the two counters:
  /// the history both include.
  public func meet(_ other: VersionVector) -> VersionVector {
    // Walk the smaller; with hundreds of offices this runs for every head
    // at every sync, so the result is sized once.
    let (small, large) = counters.count <= other.counters.count ? (counters, other.counters) : (other.counters, counters)
    var result = [ReplicaID: UInt64](minimumCapacity: small.count)
    for (replica, counter) in small {
      if let theirs = large[replica] { result[replica] = Swift.min(counter, theirs) }
    }
    return VersionVector(positive: result)
  }

  /// Whether every entry is at most the other's: this history is included in the other.
  public func isIncluded(in other: VersionVector) -> Bool {
    counters.allSatisfy { other[$0.key] >= $0.value }
  }

  /// Neither vector includes the other.
  public func isConcurrent(with other: VersionVector) -> Bool {
    !isIncluded(in: other) && !other.isIncluded(in: self)
  }

  /// The sum of all counters: how many changesets the vector covers.
  public var total: UInt64 { counters.values.reduce(0, +) }

  /// Entries sorted by replica slug, the order used in every encoding.
  public var sorted: [(replica: ReplicaID, counter: UInt64)] {
    counters.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
  }

  /// The entries in slug order, as `{ks:3, vestland:2}`.
  public var description: String {
    "{" + sorted.map { "\($0.replica):\($0.counter)" }.joined(separator: ", ") + "}"
  }
}
