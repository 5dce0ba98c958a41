import Foundation
import Samhand

/// Folds the files of writers without a store (benchmarks, simulations)
/// into pack files by the rule an office's store follows (``PackPlan``),
/// and prunes them by the library's rule, so that the folder holds what it
/// would if every office were a replica.
public final class WriterPacker {
  let folder: SharedFolder
  let storeID: StoreID
  private var loose: [ReplicaID: [UInt64]] = [:]
  private var packs: [ReplicaID: [ClosedRange<UInt64>]] = [:]
  /// When each changeset still in the folder was made, for pruning.
  private var made: [ReplicaID: [UInt64: Int64]] = [:]

  public init(folder: SharedFolder, storeID: StoreID) {
    self.folder = folder
    self.storeID = storeID
  }

  /// Notes a changeset file the writer wrote (made at `time`), and folds
  /// as the rule says, signing packs with `key`.
  public func wrote(_ sequence: UInt64, of office: ReplicaID, at time: Int64 = 0, key: SigningKey) throws {
    loose[office, default: []].append(sequence)
    made[office, default: [:]][sequence] = time
    for range in PackPlan.plan(loose: loose[office] ?? [], packs: packs[office] ?? []) {
      let inner = (packs[office] ?? []).filter { range.contains($0.lowerBound) && range.contains($0.upperBound) }
      let files = (loose[office] ?? []).filter(range.contains).sorted()
      var members: [UInt64: [UInt8]] = [:]
      for pack in inner {
        let contents = try PackFile.decode([UInt8](try Data(contentsOf: folder.packURL(of: office, pack))), name: pack)
        for (index, bytes) in contents.members.enumerated() { members[pack.lowerBound + UInt64(index)] = bytes }
      }
      for number in files {
        members[number] = [UInt8](try Data(contentsOf: folder.changesetURL(Changeset.ID(author: office, sequence: number))))
      }
      guard members.count == range.count else { return }
      let bytes = PackFile.encode(
        storeID: storeID, office: office, first: range.lowerBound, members: range.map { members[$0]! }, signedBy: key)
      try Data(bytes).write(to: folder.packURL(of: office, range))
      for pack in inner { try FileManager.default.removeItem(at: folder.packURL(of: office, pack)) }
      for number in files { try FileManager.default.removeItem(at: folder.changesetURL(Changeset.ID(author: office, sequence: number))) }
      packs[office] = (packs[office] ?? []).filter { !inner.contains($0) } + [range]
      loose[office] = (loose[office] ?? []).filter { !range.contains($0) }
    }
  }

  /// Deletes the office's loose files and packs that pruning lets go
  /// against a checkpoint whose counter for the office is `covered`: a
  /// pack goes when its last changeset may (``Store/mayPrune(sequence:made:covered:cutoff:)``).
  /// Returns how many changesets left the folder.
  @discardableResult
  public func prune(_ office: ReplicaID, covered: UInt64, cutoff: Int64) -> Int {
    var gone = 0
    let times = made[office] ?? [:]
    func may(_ sequence: UInt64) -> Bool {
      Store.mayPrune(sequence: sequence, made: times[sequence] ?? .max, covered: covered, cutoff: cutoff)
    }
    for number in loose[office] ?? [] where may(number) {
      try? FileManager.default.removeItem(at: folder.changesetURL(Changeset.ID(author: office, sequence: number)))
      made[office]?[number] = nil
      gone += 1
    }
    loose[office]?.removeAll(where: may)
    for pack in packs[office] ?? [] where may(pack.upperBound) {
      try? FileManager.default.removeItem(at: folder.packURL(of: office, pack))
      for number in pack { made[office]?[number] = nil }
      gone += pack.count
    }
    packs[office]?.removeAll { may($0.upperBound) }
    return gone
  }
}
