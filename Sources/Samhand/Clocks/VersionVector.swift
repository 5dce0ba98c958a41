/// For each replica, the highest counter seen: a vector clock.
///
/// A missing replica counts as zero. Vectors compare by causality:
/// `a.isIncluded(in: b)` when every entry of `a` is at most the entry of `b`.
///
/// The entries are kept sorted by slug, the order of every encoding, so
/// that encoding, decoding, comparing and merging walk the entries once
/// (with hundreds of offices, every changeset and head carries one).
public struct VersionVector: Hashable, Sendable, CustomStringConvertible {
  /// One replica's counter, above zero.
  package struct Entry: Hashable, Sendable {
    package var replica: ReplicaID
    package var counter: UInt64
  }

  /// Entries with a counter above zero, in slug order, each replica once.
  package private(set) var entries: [Entry]

  /// Creates an empty vector, which covers no changesets.
  public init() { entries = [] }

  /// Creates a vector from counters by replica, leaving out entries of zero.
  public init(_ counters: [ReplicaID: UInt64]) {
    self.init(positive: counters.filter { $0.value > 0 })
  }

  /// Creates a vector from counters known to be above zero.
  init(positive counters: [ReplicaID: UInt64]) {
    entries = counters.map { Entry(replica: $0.key, counter: $0.value) }.sorted { $0.replica < $1.replica }
  }

  /// Creates a vector from entries in strictly increasing slug order, each
  /// above zero, as a decoder that checked the order has them.
  package init(sortedPositive entries: [Entry]) {
    self.entries = entries
  }

  /// Entries with a counter above zero.
  public var counters: [ReplicaID: UInt64] {
    Dictionary(uniqueKeysWithValues: entries.map { ($0.replica, $0.counter) })
  }

  /// Where the replica's entry is, or where it would go.
  private func position(of replica: ReplicaID) -> (index: Int, found: Bool) {
    var low = 0, high = entries.count
    while low < high {
      let middle = (low + high) / 2
      let slug = entries[middle].replica
      if slug == replica { return (middle, true) }
      if slug < replica { low = middle + 1 } else { high = middle }
    }
    return (low, false)
  }

  /// The counter of a replica, or zero when it has no entry.
  ///
  /// Setting a counter to zero removes the replica's entry.
  public subscript(replica: ReplicaID) -> UInt64 {
    get {
      let (index, found) = position(of: replica)
      return found ? entries[index].counter : 0
    }
    set {
      let (index, found) = position(of: replica)
      switch (found, newValue) {
      case (true, 0): entries.remove(at: index)
      case (true, _): entries[index].counter = newValue
      case (false, 0): break
      case (false, _): entries.insert(Entry(replica: replica, counter: newValue), at: index)
      }
    }
  }

  /// Whether the write with this dot is part of the history this vector describes.
  public func contains(_ dot: Dot) -> Bool {
    self[dot.replica] >= dot.counter
  }

  /// Walks both vectors' entries in slug order, calling `body` with each
  /// replica that either holds and the two counters (zero where absent).
  private func walk(_ other: VersionVector, _ body: (ReplicaID, UInt64, UInt64) -> Bool) {
    let mine = entries, theirs = other.entries
    var i = 0, j = 0
    while i < mine.count || j < theirs.count {
      if j == theirs.count || (i < mine.count && mine[i].replica < theirs[j].replica) {
        guard body(mine[i].replica, mine[i].counter, 0) else { return }
        i += 1
      } else if i == mine.count || theirs[j].replica < mine[i].replica {
        guard body(theirs[j].replica, 0, theirs[j].counter) else { return }
        j += 1
      } else {
        guard body(mine[i].replica, mine[i].counter, theirs[j].counter) else { return }
        i += 1
        j += 1
      }
    }
  }

  /// Raises each entry to the other vector's entry where that one is higher.
  public mutating func formUnion(_ other: VersionVector) {
    guard !other.entries.isEmpty else { return }
    var result: [Entry] = []
    result.reserveCapacity(Swift.max(entries.count, other.entries.count))
    walk(other) { replica, mine, theirs in
      result.append(Entry(replica: replica, counter: Swift.max(mine, theirs)))
      return true
    }
    entries = result
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
    var result: [Entry] = []
    result.reserveCapacity(Swift.min(entries.count, other.entries.count))
    walk(other) { replica, mine, theirs in
      let low = Swift.min(mine, theirs)
      if low > 0 { result.append(Entry(replica: replica, counter: low)) }
      return true
    }
    return VersionVector(sortedPositive: result)
  }

  /// Whether every entry is at most the other's: this history is included in the other.
  public func isIncluded(in other: VersionVector) -> Bool {
    var included = true
    walk(other) { _, mine, theirs in
      included = mine <= theirs
      return included
    }
    return included
  }

  /// Neither vector includes the other.
  public func isConcurrent(with other: VersionVector) -> Bool {
    !isIncluded(in: other) && !other.isIncluded(in: self)
  }

  /// The sum of all counters: how many changesets the vector covers.
  public var total: UInt64 { entries.reduce(0) { $0 + $1.counter } }

  /// Entries sorted by replica slug, the order used in every encoding.
  public var sorted: [(replica: ReplicaID, counter: UInt64)] {
    entries.map { ($0.replica, $0.counter) }
  }

  /// The entries in slug order, as `{ks:3, vestland:2}`.
  public var description: String {
    "{" + entries.map { "\($0.replica):\($0.counter)" }.joined(separator: ", ") + "}"
  }
}
