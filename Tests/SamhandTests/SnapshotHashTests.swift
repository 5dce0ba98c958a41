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

  func testSnapshotHash_piecesMatchTheSnapshotForMapsSetsDatesAndNonASCIIPaths() throws {
    // Pieces are written straight from the merge state, without the
    // records the snapshot is built from: the two must agree byte for byte
    // for every kind of field, for concurrent map puts and scalar writes
    // (value conflicts), for deletes, and for paths that are not ASCII.
    let offices: [ReplicaID] = ["ks", "kdd"]
    let cluster = try ReplicaCluster(offices, label: "snapshot-pieces")
    var random = SeededRandom(seed: 21)
    let keys = ["ks", "kdd", "felles", "Trøndelag", "e\u{301}n", "\u{e9}n", "a\"b"]
    let groups = ["arbeidsgruppe", "Veilederkorpset – gruppe Ø", "styre", "A", "a"]
    var mapConflicts = 0, otherConflicts = 0
    for step in 0..<150 {
      let office = random.pick(offices)
      let store = cluster[office]
      if random.chance(0.15) {
        try cluster.deliver(from: random.pick(offices), to: office)
      } else {
        let project = "p-\(random.int(1..<3))", member = "m-\(random.int(1..<3))"
        try store.transact { tx in
          switch random.int(0..<9) {
          case 0: try tx.put("projects", project, "funding", key: random.pick(Array(keys.prefix(4))), .integer(Int64(step) * 500))
          case 1: try tx.put("projects", project, "funding", key: random.pick(keys), .integer(-Int64(step)))
          case 2: try tx.removeKey("projects", project, "funding", key: random.pick(keys))
          case 3: try tx.set("projects", project, "start", .date(Day(year: 2026, month: 1 + step % 12, day: 1)!))
          case 4: try tx.set("projects", project, "name", random.chance(0.2) ? .null : .text("Prosjekt \(step) – «spleiselag»"))
          case 5: try tx.add("membership", member, "groups", random.pick(groups))
          case 6: try tx.remove("membership", member, "groups", random.pick(groups))
          case 7: try tx.set("membership", member, "organisation", .text(office.rawValue))
          default: try tx.delete(random.chance(0.5) ? "projects" : "membership", random.chance(0.5) ? project : member)
          }
        }
      }
      for conflict in try store.conflicts() {
        if conflict.key != nil { mapConflicts += 1 } else { otherConflicts += 1 }
      }
      let (_, hash) = try store.snapshotHash()
      XCTAssertEqual(hash, try store.snapshot().sha256, "step \(step): \(office)'s pieces differ from its snapshot")
    }
    try cluster.syncAll()
    let hashes = Set(try offices.map { try cluster[$0].snapshotHash().1 })
    XCTAssertEqual(hashes, [try cluster["ks"].snapshot().sha256])
    XCTAssertGreaterThan(mapConflicts, 0, "the run should have made conflicts at map keys")
    XCTAssertGreaterThan(otherConflicts, 0, "the run should have made value and delete conflicts")
  }

  func testSnapshotHash_storeOfFormat5IsUpgradedAndHashedFromItsRecords() throws {
    // A store written by the last Samhand that kept entries and markers in
    // tables of their own, upgraded on open to one row per record.
    let directory = TemporaryDirectory("snapshot-upgrade")
    let fixture = directory.path("format-5")
    try FileManager.default.copyItem(
      at: fixturesDirectory().appendingPathComponent("stores/format-5"), to: fixture)
    let expected = try Data(contentsOf: fixture.appendingPathComponent("snapshot.json"))
    let reopened = try Store.open(at: fixture.appendingPathComponent("ks"))
    let expectedHash = try reopened.snapshot().sha256
    XCTAssertEqual(try reopened.snapshot().bytes, expected)
    XCTAssertEqual(try reopened.snapshotHash().1, expectedHash)
    // Later changes are hashed piece by piece on top of the migrated pieces.
    try reopened.transact { tx in try tx.remove("cases", "sak-1", "participants", "ks") }
    XCTAssertEqual(try reopened.snapshotHash().1, try reopened.snapshot().sha256)
    XCTAssertNotEqual(try reopened.snapshotHash().1, expectedHash)
  }
}
