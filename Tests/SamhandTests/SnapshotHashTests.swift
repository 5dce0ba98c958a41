import Foundation
import GRDB
import Samhand
import SamhandTestSupport
import XCTest

/// The snapshot hash in heads is kept up to date record by record; it must
/// always be the SHA-256 of the full snapshot's bytes.
final class SnapshotHashTests: XCTestCase {
  func testSnapshotHash_matchesFullSnapshotAfterEveryChange() throws {
    let offices: [ReplicaID] = ["ks", "vestland", "agder"]
    let cluster = try ReplicaCluster(offices, label: "snapshot-hash")
    var random = SeededRandom(seed: 8)
    let ids = (1...6).map { "sak-\($0)" }
    var resolved = 0
    for step in 0..<120 {
      let office = random.pick(offices)
      let store = cluster[office]
      if random.chance(0.3) {
        try cluster.deliver(from: random.pick(offices), to: office)
      } else {
        let id = random.pick(ids)
        try store.transact { tx in
          switch random.int(0..<7) {
          case 0: try tx.delete("cases", id)
          case 1: try tx.add("cases", id, "participants", random.pick(offices).rawValue)
          case 2: try tx.remove("cases", id, "participants", random.pick(offices).rawValue)
          case 3: try tx.touch("cases", id)
          case 4: try tx.set("cases", id, "title", .text("Sak \(step): «felles løft» \"sitert\"\n"))
          case 5: try tx.put("projects", "p-\(id)", "funding", key: office.rawValue, .integer(Int64(step) * 1_000))
          default: try tx.set("cases", id, "status", .text(random.pick(["ny", "under-arbeid", "avsluttet"])))
          }
        }
      }
      if step % 10 == 9 {
        for conflict in try store.conflicts() where conflict.kind == .value {
          try store.resolve(
            conflict.collection, conflict.recordID, field: conflict.field!, key: conflict.key,
            pick: conflict.siblings.last!.author)
          resolved += 1
        }
      }
      // Only changed pieces are rebuilt; the hash must still be the whole snapshot's.
      let (frontier, hash) = try store.snapshotHash()
      let snapshot = try store.snapshot()
      XCTAssertEqual(frontier, snapshot.frontier, "step \(step)")
      XCTAssertEqual(hash, snapshot.sha256, "step \(step): \(office)'s hash differs from its snapshot's")
    }
    try cluster.syncAll()
    let hashes = Set(try offices.map { try cluster[$0].snapshotHash().1 })
    XCTAssertEqual(hashes.count, 1)
    XCTAssertEqual(hashes.first, try cluster["ks"].snapshot().sha256)
    XCTAssertGreaterThan(resolved, 0, "the run should have made and resolved conflicts")
  }

  func testSnapshotHash_storeOfFormat2IsUpgradedAndHashedWhole() throws {
    let cluster = try ReplicaCluster(["ks", "vestland"], label: "snapshot-upgrade")
    try cluster["ks"].transact { tx in
      try tx.set("cases", "sak-1", "title", .text("Felles løft for samfunnsdelen"))
      try tx.add("cases", "sak-1", "participants", "ks")
    }
    try cluster["vestland"].transact { tx in try tx.set("cases", "sak-1", "title", .text("Arealregnskap")) }
    try cluster.syncAll()
    let expected = try cluster["ks"].snapshot().sha256
    let directory = cluster["ks"].directory
    // Make it look as a version-2 store did: no pieces, no cache tables.
    let queue = try DatabaseQueue(path: directory.appendingPathComponent(Store.databaseFileName).path)
    try queue.write { db in
      try db.execute(
        sql: """
          DROP TABLE snapshot_records; DROP TABLE snapshot_dirty;
          DELETE FROM meta WHERE key IN ('snapshot_pieces', 'hash', 'hash_frontier');
          UPDATE meta SET value = '2' WHERE key = 'format';
          """)
    }
    try queue.close()
    let reopened = try Store.open(at: directory)
    XCTAssertEqual(try reopened.snapshotHash().1, expected)
    // Later changes are hashed piece by piece on top of the rebuilt pieces.
    try reopened.transact { tx in try tx.remove("cases", "sak-1", "participants", "ks") }
    XCTAssertEqual(try reopened.snapshotHash().1, try reopened.snapshot().sha256)
    XCTAssertNotEqual(try reopened.snapshotHash().1, expected)
  }
}
