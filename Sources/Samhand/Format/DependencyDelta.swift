import Crypto

/// A changeset's dependencies written as what changed since the author's
/// previous changeset (changeset format 2).
///
/// Every changeset an office writes has seen at least what its previous
/// one saw, and that one: its dependencies include the previous one's
/// **promise**, the previous one's dependencies with the author's entry at
/// its number. With hundreds of offices the full vector is kilobytes in
/// every file, while what changed between two of one office's changesets
/// is mostly a counter or two per office. A format 2 header therefore
/// holds, against that base:
///
/// - a digest of the base (the first 8 bytes of the SHA-256 of the base in
///   the dependency encoding of format 1) and its number of entries, so a
///   reader that holds another base (a second installation wrote another
///   previous changeset under the same number) finds out instead of
///   misreading;
/// - how much each of the base's entries grew, in the base's order, dense
///   (one varint an entry) or as runs of equal increments, whichever is
///   smaller;
/// - the entries of offices the base does not name.
///
/// A reader resolves it once it knows the base: when it has applied the
/// previous changeset, or started from a checkpoint whose promises hold it.
/// Until then the dependencies it can name are a lower bound (the previous
/// changeset and the new entries), enough to know that the file must wait.
/// The format is specified in `Docs/FORMATS.md`, section 2.
public struct DependencyDelta: Hashable, Sendable {
  /// One stretch of base entries that all grew by the same amount.
  package struct Run: Hashable, Sendable {
    package var length: UInt64
    package var increment: UInt64
  }

  /// The first 8 bytes of the SHA-256 of the base's encoding.
  package var baseDigest: [UInt8]
  /// How many entries the base has.
  package var baseCount: UInt64
  /// How each base entry grew, in the base's order; the lengths add up to ``baseCount``.
  package var runs: [Run]
  /// Entries of offices the base does not name, in slug order.
  package var added: [VersionVector.Entry]

  static let digestSize = 8
  /// How increments are written: one varint per base entry.
  static let denseMode: UInt8 = 0
  /// How increments are written: a count of runs, then each run's length and increment.
  static let runsMode: UInt8 = 1

  /// The change from `base` to `dependencies`, or nil when `dependencies`
  /// does not include `base` (it cannot be written against it).
  package init?(base: VersionVector, dependencies: VersionVector) {
    var runs: [Run] = []
    var added: [VersionVector.Entry] = []
    let old = base.entries, new = dependencies.entries
    var i = 0, j = 0
    while i < old.count || j < new.count {
      if j == new.count || (i < old.count && old[i].replica < new[j].replica) {
        return nil  // a base entry the dependencies lack
      }
      if i == old.count || new[j].replica < old[i].replica {
        added.append(new[j])
        j += 1
        continue
      }
      guard new[j].counter >= old[i].counter else { return nil }
      let increment = new[j].counter - old[i].counter
      if let last = runs.last, last.increment == increment {
        runs[runs.count - 1].length += 1
      } else {
        runs.append(Run(length: 1, increment: increment))
      }
      i += 1
      j += 1
    }
    self.baseDigest = DependencyDelta.digest(of: base)
    self.baseCount = UInt64(old.count)
    self.runs = runs
    self.added = added
  }

  private init(baseDigest: [UInt8], baseCount: UInt64, runs: [Run], added: [VersionVector.Entry]) {
    self.baseDigest = baseDigest
    self.baseCount = baseCount
    self.runs = runs
    self.added = added
  }

  /// The digest a delta names its base by.
  package static func digest(of base: VersionVector) -> [UInt8] {
    var out = BinaryWriter()
    ChangesetFile.writeDependencies(base, to: &out)
    return Array(SHA256.hash(data: out.bytes).prefix(digestSize))
  }

  /// What a reader knows before it resolves the delta: the author's
  /// previous changeset and the offices the base does not name.
  func lowerBound(author: ReplicaID, sequence: UInt64) -> VersionVector {
    var vector = VersionVector(sortedPositive: added)
    if sequence > 1 { vector[author] = max(vector[author], sequence - 1) }
    return vector
  }

  /// The dependencies, given the base the writer wrote against.
  ///
  /// - Throws: a message when `base` is not the one the delta was written
  ///   against, or the result overflows.
  func resolve(base: VersionVector) throws(BinaryReader.Failure) -> VersionVector {
    guard UInt64(base.entries.count) == baseCount, DependencyDelta.digest(of: base) == baseDigest else {
      throw BinaryReader.Failure(
        message: "its dependencies are written against another previous changeset than the one this replica holds (\(base.entries.count) entries, digest differs)",
        offset: 0)
    }
    var grown: [VersionVector.Entry] = []
    grown.reserveCapacity(base.entries.count + added.count)
    var index = 0
    for run in runs {
      for _ in 0..<run.length {
        let entry = base.entries[index]
        let (counter, overflow) = entry.counter.addingReportingOverflow(run.increment)
        guard !overflow else { throw BinaryReader.Failure(message: "dependency on '\(entry.replica)' overflows", offset: 0) }
        grown.append(VersionVector.Entry(replica: entry.replica, counter: counter))
        index += 1
      }
    }
    // Merge the added entries in; the decoder checked they are sorted and
    // the resolver that none is in the base.
    var merged: [VersionVector.Entry] = []
    merged.reserveCapacity(grown.count + added.count)
    var i = 0, j = 0
    while i < grown.count || j < added.count {
      if j == added.count || (i < grown.count && grown[i].replica < added[j].replica) {
        merged.append(grown[i])
        i += 1
      } else if i == grown.count || added[j].replica < grown[i].replica {
        merged.append(added[j])
        j += 1
      } else {
        throw BinaryReader.Failure(message: "dependencies name '\(added[j].replica)' twice", offset: 0)
      }
    }
    return VersionVector(sortedPositive: merged)
  }

  // MARK: - Encoding

  func encode(to out: inout BinaryWriter) {
    out.raw(baseDigest)
    out.varint(baseCount)
    var dense = BinaryWriter()
    for run in runs { for _ in 0..<run.length { dense.varint(run.increment) } }
    var packed = BinaryWriter()
    packed.varint(UInt64(runs.count))
    for run in runs {
      packed.varint(run.length)
      packed.varint(run.increment)
    }
    if dense.bytes.count <= packed.bytes.count {
      out.byte(DependencyDelta.denseMode)
      out.raw(dense.bytes)
    } else {
      out.byte(DependencyDelta.runsMode)
      out.raw(packed.bytes)
    }
    out.varint(UInt64(added.count))
    for entry in added {
      out.string(entry.replica.rawValue)
      out.varint(entry.counter)
    }
  }

  static func decode(_ reader: inout BinaryReader) throws(BinaryReader.Failure) -> DependencyDelta {
    let digest = Array(try reader.take(digestSize))
    let countAt = reader.offset
    let baseCount = try reader.varint()
    var runs: [Run] = []
    let modeAt = reader.offset
    switch try reader.byte() {
    case denseMode:
      // One byte at least per entry: bounded by the header.
      guard baseCount <= UInt64(reader.remaining) else {
        throw BinaryReader.Failure(message: "base of \(baseCount) entries exceeds the header", offset: countAt)
      }
      for _ in 0..<baseCount {
        let increment = try reader.varint()
        if let last = runs.last, last.increment == increment {
          runs[runs.count - 1].length += 1
        } else {
          runs.append(Run(length: 1, increment: increment))
        }
      }
    case runsMode:
      var total: UInt64 = 0
      for _ in 0..<(try reader.count(minimumSize: 2)) {
        let at = reader.offset
        let length = try reader.varint()
        let increment = try reader.varint()
        guard length > 0 else { throw BinaryReader.Failure(message: "a run of no dependencies", offset: at) }
        let (sum, overflow) = total.addingReportingOverflow(length)
        guard !overflow, sum <= baseCount else {
          throw BinaryReader.Failure(message: "runs cover more than the base's \(baseCount) entries", offset: at)
        }
        total = sum
        runs.append(Run(length: length, increment: increment))
      }
      guard total == baseCount else {
        throw BinaryReader.Failure(message: "runs cover \(total) of the base's \(baseCount) entries", offset: modeAt)
      }
    case let mode:
      throw BinaryReader.Failure(message: "unknown dependency mode \(mode)", offset: modeAt)
    }
    var added: [VersionVector.Entry] = []
    var previous: ReplicaID?
    for _ in 0..<(try reader.count(minimumSize: 2)) {
      let at = reader.offset
      let slug = try reader.string()
      guard let replica = ReplicaID(rawValue: slug) else {
        throw BinaryReader.Failure(message: "invalid slug '\(slug)' in dependencies", offset: at)
      }
      if let previous, !(previous < replica) {
        throw BinaryReader.Failure(message: "dependencies are not sorted or repeat '\(slug)'", offset: at)
      }
      previous = replica
      let counter = try reader.varint()
      guard counter > 0 else { throw BinaryReader.Failure(message: "dependency on '\(slug)' is zero", offset: at) }
      added.append(VersionVector.Entry(replica: replica, counter: counter))
    }
    return DependencyDelta(baseDigest: digest, baseCount: baseCount, runs: runs, added: added)
  }
}
