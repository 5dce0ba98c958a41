import Foundation
import Samhand
import SamhandTestSupport
import XCTest

private typealias Cluster = ReplicaCluster

final class MergeTests: XCTestCase {
  func testMerge_sequentialWriteSupersedes() throws {
    let cluster = try Cluster(["ks", "vestland"])
    try cluster["ks"].transact { try $0.set("cases", "sak-1", "title", .text("Første utkast")) }
    try cluster.deliver(from: "ks", to: "vestland")
    try cluster["vestland"].transact { try $0.set("cases", "sak-1", "title", .text("Felles løft for samfunnsdelen")) }
    try cluster.syncAll()
    for store in cluster.stores.values {
      let record = try XCTUnwrap(try store.record("cases", "sak-1"))
      XCTAssertEqual(record.fields["title"], .value(.text("Felles løft for samfunnsdelen")))
      XCTAssertEqual(record.conflicts, [])
    }
  }

  func testMerge_concurrentEditsKeepSiblingsAndAgreeOnWinner() throws {
    let cluster = try Cluster(["agder", "vestland"])
    try cluster["agder"].transact { try $0.set("cases", "sak-1", "status", .text("ny")) }
    try cluster.syncAll()
    try cluster["agder"].transact { try $0.set("cases", "sak-1", "status", .text("under-arbeid")) }
    try cluster["vestland"].transact { try $0.set("cases", "sak-1", "status", .text("avsluttet")) }
    try cluster.syncAll()
    let agder = try XCTUnwrap(try cluster["agder"].record("cases", "sak-1"))
    let vestland = try XCTUnwrap(try cluster["vestland"].record("cases", "sak-1"))
    XCTAssertEqual(agder, vestland)
    let conflict = try XCTUnwrap(agder.conflicts.first)
    XCTAssertEqual(conflict.kind, .value)
    XCTAssertEqual(conflict.field, "status")
    XCTAssertEqual(Set(conflict.siblings.map(\.value)), [.text("under-arbeid"), .text("avsluttet")])
    // Equal Lamport stamps: the later slug in byte order is shown.
    XCTAssertEqual(conflict.siblings.first?.author, "vestland")
    XCTAssertEqual(agder.fields["status"], .value(.text("avsluttet")))
    XCTAssertEqual(try cluster["agder"].snapshot().bytes, try cluster["vestland"].snapshot().bytes)
  }

  func testMerge_resolutionCoversAllSiblings() throws {
    let cluster = try Cluster(["agder", "vestland", "ks"])
    try cluster["agder"].transact { try $0.set("cases", "sak-1", "status", .text("a")) }
    try cluster["vestland"].transact { try $0.set("cases", "sak-1", "status", .text("b")) }
    try cluster.syncAll()
    XCTAssertEqual(try cluster["ks"].conflicts().count, 1)
    try cluster["ks"].transact { try $0.set("cases", "sak-1", "status", .text("avsluttet")) }
    try cluster.syncAll()
    for store in cluster.stores.values {
      XCTAssertEqual(try store.conflicts(), [])
      XCTAssertEqual(try store.record("cases", "sak-1")?.fields["status"], .value(.text("avsluttet")))
    }
  }

  func testMerge_setAddWinsOverConcurrentRemove() throws {
    let cluster = try Cluster(["agder", "vestland"])
    try cluster["agder"].transact { try $0.add("projects", "p1", "participants", "agder") }
    try cluster.syncAll()
    try cluster["agder"].transact { try $0.remove("projects", "p1", "participants", "agder") }
    try cluster["vestland"].transact {
      try $0.add("projects", "p1", "participants", "agder")
      try $0.add("projects", "p1", "participants", "vestland")
    }
    try cluster.syncAll()
    for store in cluster.stores.values {
      XCTAssertEqual(try store.record("projects", "p1")?.fields["participants"], .set(["agder", "vestland"]))
      XCTAssertEqual(try store.conflicts(), [])
    }
  }

  func testMerge_observedRemoveRemoves() throws {
    let cluster = try Cluster(["agder", "vestland"])
    try cluster["agder"].transact {
      try $0.add("projects", "p1", "participants", "agder")
      try $0.add("projects", "p1", "participants", "ks")
    }
    try cluster.syncAll()
    try cluster["vestland"].transact { try $0.remove("projects", "p1", "participants", "ks") }
    try cluster.syncAll()
    XCTAssertEqual(try cluster["agder"].record("projects", "p1")?.fields["participants"], .set(["agder"]))
  }

  func testMerge_mapsMergeKeyByKey() throws {
    let cluster = try Cluster(["agder", "vestland"])
    try cluster["agder"].transact { try $0.put("projects", "p1", "funding", key: "agder", .integer(150_000)) }
    try cluster["vestland"].transact { try $0.put("projects", "p1", "funding", key: "vestland", .integer(200_000)) }
    try cluster.syncAll()
    let expected = FieldValue.map(["agder": .integer(150_000), "vestland": .integer(200_000)])
    XCTAssertEqual(try cluster["agder"].record("projects", "p1")?.fields["funding"], expected)
    XCTAssertEqual(try cluster["vestland"].record("projects", "p1")?.fields["funding"], expected)
    XCTAssertEqual(try cluster["agder"].conflicts(), [])
  }

  func testMerge_updateConcurrentWithDeleteKeepsRecordAndConflict() throws {
    let cluster = try Cluster(["kdd", "vestland"])
    try cluster["kdd"].transact {
      try $0.set("cases", "sak-1", "title", .text("Planstrategi"))
      try $0.set("cases", "sak-1", "notes", .text("Oppstart i mai"))
    }
    try cluster.syncAll()
    try cluster["kdd"].transact { try $0.delete("cases", "sak-1") }
    try cluster["vestland"].transact { try $0.set("cases", "sak-1", "status", .text("under-arbeid")) }
    try cluster.syncAll()
    for store in cluster.stores.values {
      let record = try XCTUnwrap(try store.record("cases", "sak-1"), "the record must stay alive")
      XCTAssertTrue(record.hasDeleteConflict)
      // Nothing is lost while the conflict is open.
      XCTAssertEqual(record.fields["title"], .value(.text("Planstrategi")))
      XCTAssertEqual(record.fields["status"], .value(.text("under-arbeid")))
      let conflict = try XCTUnwrap(record.conflicts.first { $0.kind == .delete })
      XCTAssertEqual(Set(conflict.siblings.map(\.deleted)), [true, false])
    }
    XCTAssertEqual(try cluster["kdd"].snapshot().bytes, try cluster["vestland"].snapshot().bytes)

    // Resolving by keeping: the conflict closes everywhere, every field stays.
    try cluster["kdd"].resolveDelete("cases", "sak-1", keep: true)
    try cluster.syncAll()
    for store in cluster.stores.values {
      XCTAssertEqual(try store.conflicts(), [])
      let record = try XCTUnwrap(try store.record("cases", "sak-1"))
      XCTAssertEqual(record.fields["title"], .value(.text("Planstrategi")))
      XCTAssertEqual(record.fields["notes"], .value(.text("Oppstart i mai")))
      XCTAssertEqual(record.fields["status"], .value(.text("under-arbeid")))
    }
  }

  func testMerge_writingToARecordInDeleteConflictKeepsItWhole() throws {
    let cluster = try Cluster(["kdd", "vestland", "agder"])
    try cluster["kdd"].transact { try $0.set("cases", "sak-1", "title", .text("Planstrategi")) }
    try cluster.syncAll()
    try cluster["kdd"].transact { try $0.delete("cases", "sak-1") }
    try cluster["vestland"].transact { try $0.set("cases", "sak-1", "title", .text("fra vestland")) }
    try cluster["agder"].transact { try $0.set("cases", "sak-1", "title", .text("fra agder")) }
    try cluster.syncAll()
    let record = try XCTUnwrap(try cluster["kdd"].record("cases", "sak-1"))
    XCTAssertEqual(record.conflicts.map(\.kind), [.value, .delete], "field conflicts come before the delete")
    // Keeping the record leaves the title conflict open for its own choice.
    try cluster["kdd"].resolveDelete("cases", "sak-1", keep: true)
    let kept = try XCTUnwrap(try cluster["kdd"].record("cases", "sak-1"))
    XCTAssertEqual(kept.conflicts.map(\.kind), [.value])
    XCTAssertEqual(Set(kept.conflicts[0].siblings.compactMap(\.value)), [.text("fra vestland"), .text("fra agder")])
    try cluster["kdd"].resolve("cases", "sak-1", field: "title", pick: "agder")
    try cluster.syncAll()
    for store in cluster.stores.values {
      XCTAssertEqual(try store.conflicts(), [])
      XCTAssertEqual(try store.record("cases", "sak-1")?.fields["title"], .value(.text("fra agder")))
    }
  }

  func testMerge_resolvingAFieldDuringADeleteConflictLosesNoOtherField() throws {
    let cluster = try Cluster(["kdd", "vestland", "agder"])
    try cluster["kdd"].transact {
      try $0.set("cases", "sak-1", "title", .text("Planstrategi"))
      try $0.set("cases", "sak-1", "notes", .text("Oppstart i mai"))
      try $0.add("cases", "sak-1", "participants", "kdd")
      try $0.put("projects", "p1", "funding", key: "kdd", .integer(1))
    }
    try cluster.syncAll()
    try cluster["kdd"].transact { try $0.delete("cases", "sak-1") }
    try cluster["vestland"].transact { try $0.set("cases", "sak-1", "status", .text("a")) }
    try cluster["agder"].transact { try $0.set("cases", "sak-1", "status", .text("b")) }
    try cluster.syncAll()
    // Resolving the status is a write: it keeps the record, with everything it showed.
    try cluster["vestland"].resolve("cases", "sak-1", field: "status", with: .text("avklart"))
    try cluster.syncAll()
    for store in cluster.stores.values {
      XCTAssertEqual(try store.conflicts(), [])
      let record = try XCTUnwrap(try store.record("cases", "sak-1"))
      XCTAssertEqual(record.fields["title"], .value(.text("Planstrategi")))
      XCTAssertEqual(record.fields["notes"], .value(.text("Oppstart i mai")))
      XCTAssertEqual(record.fields["participants"], .set(["kdd"]))
      XCTAssertEqual(record.fields["status"], .value(.text("avklart")))
    }
  }

  func testMerge_updateDeleteConflictResolvedByDeleting() throws {
    let cluster = try Cluster(["kdd", "vestland"])
    try cluster["kdd"].transact { try $0.set("cases", "sak-1", "title", .text("Planstrategi")) }
    try cluster.syncAll()
    try cluster["kdd"].transact { try $0.delete("cases", "sak-1") }
    try cluster["vestland"].transact { try $0.set("cases", "sak-1", "status", .text("under-arbeid")) }
    try cluster.syncAll()
    try cluster["vestland"].resolveDelete("cases", "sak-1", keep: false)
    try cluster.syncAll()
    for store in cluster.stores.values {
      XCTAssertNil(try store.record("cases", "sak-1"))
      XCTAssertEqual(try store.conflicts(), [])
    }
  }

  func testMerge_deleteSeenByEveryoneRemovesRecord() throws {
    let cluster = try Cluster(["kdd", "vestland"])
    try cluster["kdd"].transact { try $0.set("cases", "sak-1", "title", .text("Planstrategi")) }
    try cluster.syncAll()
    try cluster["vestland"].transact { try $0.delete("cases", "sak-1") }
    try cluster.syncAll()
    XCTAssertNil(try cluster["kdd"].record("cases", "sak-1"))
    XCTAssertEqual(try cluster["kdd"].records(in: "cases"), [])
    // Recreating after the delete starts afresh: old fields do not come back.
    try cluster["kdd"].transact { try $0.set("cases", "sak-1", "status", .text("ny")) }
    try cluster.syncAll()
    let record = try XCTUnwrap(try cluster["vestland"].record("cases", "sak-1"))
    XCTAssertEqual(record.fields, ["status": .value(.text("ny"))])
  }

  func testMerge_applyingTwiceIsNoOp() throws {
    let cluster = try Cluster(["ks", "vestland"])
    let changeset = try XCTUnwrap(try cluster["ks"].transact { try $0.set("cases", "sak-1", "title", .text("x")) })
    let bytes = try XCTUnwrap(try cluster["ks"].changesetBytes(changeset.id))
    XCTAssertEqual(try cluster["vestland"].receive(bytes).applied, [changeset.id])
    let before = try cluster["vestland"].snapshot()
    XCTAssertEqual(try cluster["vestland"].receive(bytes).duplicates, [changeset.id])
    XCTAssertEqual(try cluster["vestland"].snapshot(), before)
  }

  func testMerge_earlyArrivalWaitsForDependencies() throws {
    let cluster = try Cluster(["ks", "vestland"])
    let first = try XCTUnwrap(try cluster["ks"].transact { try $0.set("cases", "sak-1", "title", .text("a")) })
    let second = try XCTUnwrap(try cluster["ks"].transact { try $0.set("cases", "sak-1", "title", .text("b")) })
    let vestland = cluster["vestland"]
    XCTAssertEqual(try vestland.receive(try cluster["ks"].changesetBytes(second.id)!).buffered, [second.id])
    XCTAssertNil(try vestland.record("cases", "sak-1"))
    XCTAssertEqual(try vestland.pending(), [second.id])
    let result = try vestland.receive(try cluster["ks"].changesetBytes(first.id)!)
    XCTAssertEqual(result.applied, [first.id, second.id])
    XCTAssertEqual(try vestland.record("cases", "sak-1")?.fields["title"], .value(.text("b")))
    XCTAssertEqual(try vestland.pending(), [])
  }

  func testSchema_violationsNameRecordFieldAndKindAndWriteNothing() throws {
    let cluster = try Cluster(["ks"])
    let store = cluster["ks"]
    func expectViolation(_ expected: String, _ body: (inout Transaction) throws -> Void) {
      XCTAssertThrowsError(try store.transact(body)) { error in
        XCTAssertTrue(SamhandError.schemaViolation ~= error, "\(error)")
        XCTAssertTrue("\(error)".contains(expected), "'\(error)' should mention '\(expected)'")
      }
    }
    expectViolation("unknown collection 'meetings'") { try $0.set("meetings", "m1", "title", .text("x")) }
    expectViolation("unknown field 'colour' in cases/sak-1") { try $0.set("cases", "sak-1", "colour", .text("x")) }
    expectViolation("cases/sak-1 field 'deadline' expects a date YYYY-MM-DD, got '2025-02-30'") {
      try $0.set("cases", "sak-1", "title", .text("fine"))
      try $0.set("cases", "sak-1", "deadline", .text("2025-02-30"))
    }
    expectViolation("projects/p1 field 'funding.ks' expects integer, got text") {
      try $0.put("projects", "p1", "funding", key: "ks", .text("mye"))
    }
    expectViolation("field 'participants' is a set") { try $0.set("projects", "p1", "participants", .text("ks")) }
    XCTAssertEqual(try store.frontier(), VersionVector())
    XCTAssertNil(try store.record("cases", "sak-1"))
    XCTAssertEqual(try store.outbox(), [])
  }

  func testSchema_builtInMatchesFixture() throws {
    let fixture = try Data(contentsOf: fixturesDirectory().appendingPathComponent("schema.json"))
    XCTAssertEqual(try Schema(json: fixture), Schema.planning)
    XCTAssertEqual(Office.cooperation.count, 13)
  }
}

final class ValueNormalisationTests: XCTestCase {
  func testNegativeZeroIsStoredAsZeroEverywhere() throws {
    let directory = TemporaryDirectory("zero")
    let store = try Store.create(
      folder: SharedFolder(directory.path("folder")), at: directory.path("store"), replica: "ks",
      schema: try Schema(json: Data(#"{"collections":{"c":{"fields":{"n":"number","m":"map"}}}}"#.utf8)))
    let changeset = try XCTUnwrap(try store.transact {
      try $0.set("c", "r", "n", .number(-0.0))
      try $0.put("c", "r", "m", key: "k", .number(-0.0))
    })
    for edit in changeset.edits {
      switch edit {
      case .set(_, _, .number(let value)), .put(_, _, _, .number(let value)):
        XCTAssertEqual(value.sign, .plus, "\(edit)")
      default: XCTFail("unexpected \(edit)")
      }
    }
  }
}
