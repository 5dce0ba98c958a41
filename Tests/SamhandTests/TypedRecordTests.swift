import Foundation
import Samhand
import SamhandTestSupport
import XCTest

// MARK: - Fixtures (invented people)

private struct Membership: TypedRecord, Equatable {
  static let collection = "membership"
  var id: String
  var person: String
  var email: String?
  var organisation: ReplicaID
  var network: String
  var groups: Set<String>
  var role: String?
  var from: Day?
  var to: Day?
}

private struct Case: TypedRecord, Equatable {
  enum Status: String, Codable { case ny, underArbeid = "under-arbeid", avsluttet }

  static let collection = "cases"
  var id: String
  var title: String
  var kommune: String?
  var planType: String?
  var status: Status
  var owner: ReplicaID
  var participants: [String]
  var deadline: Day?
  var notes: String?

  enum CodingKeys: String, CodingKey {
    case id, title, kommune, planType = "plan_type", status, owner, participants, deadline, notes
  }
}

private struct Project: TypedRecord, Equatable {
  static let collection = "projects"
  var id: String
  var name: String?
  var lead: ReplicaID?
  var participants: Set<String> = []
  var funding: [String: Int] = [:]
  var status: String?
  var start: Day?
  var end: Day?
  var description: String?
}

/// A partial view of membership: saving it leaves the other fields alone.
private struct MembershipContact: TypedRecord, Equatable {
  static let collection = "membership"
  var id: String
  var email: String?
}

private func day(_ text: String) -> Day { Day(iso8601: text)! }

private let ola = Membership(
  id: "vestland-ola", person: "Ola Fjordbotn", email: "ola@example.org", organisation: "vestland",
  network: "veilederkorpset", groups: ["kommuneplanens-arealdel", "reguleringsplan"], role: "planveileder",
  from: day("2025-01-01"), to: nil)

private typealias Offices = ReplicaCluster

final class TypedRecordTests: XCTestCase {
  // MARK: - Round trips

  func testRoundTrip_membership() throws {
    let offices = try Offices(["vestland"])
    let store = offices["vestland"]
    let changeset = try XCTUnwrap(try store.save(ola))
    XCTAssertEqual(changeset.edits.count, 8)  // six values and two set elements; the nil `to` writes nothing
    XCTAssertEqual(try store.load(Membership.self, id: ola.id), ola)
    XCTAssertEqual(try store.all(Membership.self), [ola])

    let record = try XCTUnwrap(try store.record("membership", ola.id))
    XCTAssertEqual(record.fields["person"], .value(.text("Ola Fjordbotn")))
    XCTAssertEqual(record.fields["organisation"], .value(.text("vestland")))
    XCTAssertEqual(record.fields["groups"], .set(["kommuneplanens-arealdel", "reguleringsplan"]))
    XCTAssertEqual(record.fields["from"], .value(.date(day("2025-01-01"))))
    XCTAssertNil(record.fields["to"], "a nil property of a new record writes nothing")
    XCTAssertNil(record.fields["id"], "the id is the record id, not a field")
    XCTAssertNil(try store.load(Membership.self, id: "nobody"))
  }

  func testRoundTrip_cases() throws {
    let store = try Offices(["agder"])["agder"]
    let sak = Case(
      id: "sak-1", title: "Felles løft for samfunnsdelen", kommune: "Kvinesdal",
      planType: "kommuneplanens-samfunnsdel", status: .underArbeid, owner: "agder",
      participants: ["agder", "ks"], deadline: day("2026-06-30"), notes: nil)
    try store.save(sak)
    XCTAssertEqual(try store.load(Case.self, id: "sak-1"), sak)
    let record = try XCTUnwrap(try store.record("cases", "sak-1"))
    XCTAssertEqual(record.fields["plan_type"], .value(.text("kommuneplanens-samfunnsdel")))
    XCTAssertEqual(record.fields["status"], .value(.text("under-arbeid")))
    XCTAssertEqual(record.fields["participants"], .set(["agder", "ks"]))
    XCTAssertEqual(record.fields["deadline"], .value(.date(day("2026-06-30"))))

    // An array reads back sorted by bytes, without duplicates.
    var unsorted = sak
    unsorted.participants = ["vestland", "agder", "vestland"]
    try store.save(unsorted)
    XCTAssertEqual(try store.load(Case.self, id: "sak-1")?.participants, ["agder", "vestland"])
  }

  func testRoundTrip_projects() throws {
    let store = try Offices(["ks"])["ks"]
    let project = Project(
      id: "veilederkorpset", name: "Veilederkorpset 2026–2029", lead: "ks", participants: ["ks", "vestland"],
      funding: ["ks": 250_000, "vestland": 300_000], status: "planlagt", start: day("2026-01-01"),
      end: day("2029-12-31"), description: "Spleiselag")
    try store.save(project)
    XCTAssertEqual(try store.load(Project.self, id: "veilederkorpset"), project)
    let record = try XCTUnwrap(try store.record("projects", "veilederkorpset"))
    XCTAssertEqual(record.fields["funding"], .map(["ks": .integer(250_000), "vestland": .integer(300_000)]))
  }

  func testRoundTrip_textsAreStoredInNFC() throws {
    let store = try Offices(["trondelag"])["trondelag"]
    var member = ola
    member.id = "tro\u{0308}ndelag-kari"  // decomposed ö… stored composed
    member.person = "Kari Nordva\u{030A}k"
    try store.save(member)
    let loaded = try XCTUnwrap(try store.load(Membership.self, id: member.id))
    XCTAssertEqual(Array(loaded.id.unicodeScalars), Array("tr\u{00F6}ndelag-kari".unicodeScalars))
    XCTAssertEqual(Array(loaded.person.unicodeScalars), Array("Kari Nordv\u{00E5}k".unicodeScalars))
    XCTAssertNil(try store.save(member), "the same texts in another normal form are no change")
  }

  // MARK: - Writing only what changed

  func testSave_unchangedRecordWritesNothing() throws {
    let store = try Offices(["vestland"])["vestland"]
    XCTAssertNotNil(try store.save(ola))
    let before = try store.history().count
    XCTAssertNil(try store.save(ola))
    XCTAssertNil(try store.save(try XCTUnwrap(try store.load(Membership.self, id: ola.id))))
    XCTAssertEqual(try store.history().count, before)
    XCTAssertEqual(try store.outbox().count, 1)
  }

  func testSave_writesOnlyChangedFields() throws {
    let store = try Offices(["vestland"])["vestland"]
    try store.save(ola)
    var edited = ola
    edited.role = "styremedlem"
    let changeset = try XCTUnwrap(try store.save(edited))
    XCTAssertEqual(
      changeset.edits, [.set(RecordRef("membership", ola.id), field: "role", value: .text("styremedlem"))])
  }

  func testSave_setAndMapDiffs() throws {
    let store = try Offices(["ks"])["ks"]
    var project = Project(
      id: "p", name: "Samling 2026", participants: ["agder", "ks"], funding: ["agder": 100, "ks": 200, "oslo": 50])
    try store.save(project)
    project.participants = ["ks", "vestland"]
    project.funding = ["ks": 200, "oslo": 75, "vestland": 300]
    let ref = RecordRef("projects", "p")
    let changeset = try XCTUnwrap(try store.save(project))
    XCTAssertEqual(
      changeset.edits,
      [
        .put(ref, field: "funding", key: "oslo", value: .integer(75)),
        .put(ref, field: "funding", key: "vestland", value: .integer(300)),
        .removeKey(ref, field: "funding", key: "agder"),
        .add(ref, field: "participants", element: "vestland"),
        .remove(ref, field: "participants", element: "agder"),
      ])
    XCTAssertEqual(try store.load(Project.self, id: "p"), project)
  }

  func testSave_nilClearsWhatTheReplicaShows() throws {
    let store = try Offices(["vestland"])["vestland"]
    var member = ola
    member.to = day("2026-12-31")
    try store.save(member)
    member.to = nil
    member.groups = []
    let ref = RecordRef("membership", ola.id)
    let changeset = try XCTUnwrap(try store.save(member))
    XCTAssertEqual(
      changeset.edits,
      [
        .remove(ref, field: "groups", element: "kommuneplanens-arealdel"),
        .remove(ref, field: "groups", element: "reguleringsplan"),
        .set(ref, field: "to", value: .null),
      ])
    XCTAssertEqual(try store.load(Membership.self, id: ola.id), member)
    XCTAssertNil(try store.save(member), "nil over null writes nothing")
  }

  func testSave_partialTypeLeavesOtherFieldsAlone() throws {
    let store = try Offices(["vestland"])["vestland"]
    try store.save(ola)
    let changeset = try XCTUnwrap(try store.save(MembershipContact(id: ola.id, email: "ola.fjordbotn@example.org")))
    XCTAssertEqual(changeset.edits.count, 1)
    var expected = ola
    expected.email = "ola.fjordbotn@example.org"
    XCTAssertEqual(try store.load(Membership.self, id: ola.id), expected)
  }

  func testSave_createsARecordWithNoFields() throws {
    let store = try Offices(["ks"])["ks"]
    let changeset = try XCTUnwrap(try store.save(Project(id: "tom")))
    XCTAssertEqual(changeset.edits, [.touch(RecordRef("projects", "tom"))])
    XCTAssertEqual(try store.load(Project.self, id: "tom"), Project(id: "tom"))
    XCTAssertNil(try store.save(Project(id: "tom")))
  }

  func testSave_insideALargerTransaction() throws {
    let store = try Offices(["vestland"])["vestland"]
    try store.save(ola)
    var kari = ola
    kari.id = "vestland-kari"
    kari.person = "Kari Nordvik"
    var edited = ola
    edited.role = "styremedlem"
    let changeset = try XCTUnwrap(
      try store.transact { tx in
        try tx.save(kari, over: try store.record(Membership.collection, kari.id))
        try tx.save(edited, over: try store.record(Membership.collection, ola.id))
        try tx.set("cases", "sak-1", "title", .text("Nytt nettverk"))
      })
    XCTAssertEqual(Set(changeset.edits.map(\.record.id)), ["vestland-kari", "vestland-ola", "sak-1"])
    XCTAssertEqual(try store.all(Membership.self), [kari, edited])
  }

  func testSave_countsEditsAlreadyInTheTransaction() throws {
    let store = try Offices(["vestland"])["vestland"]
    try store.save(ola)
    let current = try store.record(Membership.collection, ola.id)
    try store.transact { tx in
      try tx.set("membership", ola.id, "role", .text("observatør"))
      try tx.remove("membership", ola.id, "groups", "reguleringsplan")
      // Saving the value as it was undoes those edits, because they count.
      try tx.save(ola, over: current)
    }
    XCTAssertEqual(try store.load(Membership.self, id: ola.id), ola)
  }

  func testSave_overTheRecordAsReadKeepsOtherOfficesEdits() throws {
    let offices = try Offices(["ks", "vestland"])
    try offices["vestland"].save(ola)
    try offices.deliver(from: "vestland", to: "ks")
    let read = try XCTUnwrap(try offices["vestland"].record(Membership.collection, ola.id))
    var edited = try offices["vestland"].decode(Membership.self, from: read)

    var fromKS = ola
    fromKS.role = "styremedlem"
    try offices["ks"].save(fromKS)
    try offices.deliver(from: "ks", to: "vestland")

    // Vestland edits the email of the value it read before the role changed.
    edited.email = "ola.fjordbotn@example.org"
    try offices["vestland"].transact { try $0.save(edited, over: read) }
    let shown = try XCTUnwrap(try offices["vestland"].load(Membership.self, id: ola.id))
    XCTAssertEqual(shown.role, "styremedlem")
    XCTAssertEqual(shown.email, "ola.fjordbotn@example.org")
  }

  // MARK: - Replication

  func testConcurrentEditsOfDifferentFields_mergeWithoutConflict() throws {
    let offices = try Offices(["ks", "vestland"])
    try offices["vestland"].save(ola)
    try offices.syncAll()

    var atKS = try XCTUnwrap(try offices["ks"].load(Membership.self, id: ola.id))
    atKS.role = "styremedlem"
    atKS.groups.insert("kommuneplanens-samfunnsdel")
    try offices["ks"].save(atKS)

    var atVestland = try XCTUnwrap(try offices["vestland"].load(Membership.self, id: ola.id))
    atVestland.email = "ola.fjordbotn@example.org"
    atVestland.to = day("2027-12-31")
    atVestland.groups.remove("reguleringsplan")
    try offices["vestland"].save(atVestland)

    try offices.syncAll()
    var expected = ola
    expected.role = "styremedlem"
    expected.email = "ola.fjordbotn@example.org"
    expected.to = day("2027-12-31")
    expected.groups = ["kommuneplanens-arealdel", "kommuneplanens-samfunnsdel"]
    for store in offices.stores.values {
      XCTAssertEqual(try store.load(Membership.self, id: ola.id), expected)
      XCTAssertEqual(try store.conflicts(), [])
    }
    XCTAssertEqual(try offices["ks"].snapshot().bytes, try offices["vestland"].snapshot().bytes)
  }

  func testConcurrentEditsOfOneField_decodeTheShownValue() throws {
    let offices = try Offices(["agder", "vestland"])
    try offices["vestland"].save(ola)
    try offices.syncAll()
    var atAgder = ola
    atAgder.role = "observatør"
    try offices["agder"].save(atAgder)
    var atVestland = ola
    atVestland.role = "prosjektleder"
    try offices["vestland"].save(atVestland)
    try offices.syncAll()

    for store in offices.stores.values {
      // Equal Lamport stamps: the later slug in byte order is shown.
      XCTAssertEqual(try store.load(Membership.self, id: ola.id)?.role, "prosjektleder")
      let record = try XCTUnwrap(try store.record(Membership.collection, ola.id))
      XCTAssertEqual(record.conflicts.map(\.field), ["role"])
      XCTAssertEqual(try store.decode(Membership.self, from: record), atVestland)
    }
    // Saving the value as read changes nothing, so the conflict stays open.
    XCTAssertNil(try offices["agder"].save(try offices["agder"].load(Membership.self, id: ola.id)!))
    XCTAssertEqual(try offices["agder"].conflicts().count, 1)
  }

  func testEditConcurrentWithDelete_keepsTheRecordReadable() throws {
    let offices = try Offices(["ks", "vestland"])
    try offices["vestland"].save(ola)
    try offices.syncAll()
    try offices["ks"].transact { try $0.delete("membership", ola.id) }
    var edited = ola
    edited.role = "styremedlem"
    try offices["vestland"].save(edited)
    try offices.syncAll()
    for store in offices.stores.values {
      XCTAssertEqual(try store.load(Membership.self, id: ola.id), edited)
      XCTAssertEqual(try store.record(Membership.collection, ola.id)?.hasDeleteConflict, true)
    }
  }

  // MARK: - Schema checks

  func testSchema_wrongKindFailsNamingTheFieldAndWritesNothing() throws {
    struct GroupsAsText: TypedRecord {
      static let collection = "membership"
      var id: String
      var person: String
      var groups: String
    }
    struct FromAsText: TypedRecord {
      static let collection = "membership"
      var id: String
      var from: String?
    }
    struct FundingAsText: TypedRecord {
      static let collection = "projects"
      var id: String
      var funding: [String: String]
    }
    struct NameAsInteger: TypedRecord {
      static let collection = "projects"
      var id: String
      var name: Int
    }
    let store = try Offices(["vestland"])["vestland"]
    try assertSchemaViolation(field: "groups", mentioning: ["set", "text (String)", "GroupsAsText.groups"]) {
      try store.save(GroupsAsText(id: "m", person: "Ola Fjordbotn", groups: "reguleringsplan"))
    }
    try assertSchemaViolation(field: "from", mentioning: ["date", "text (String)"]) {
      try store.save(FromAsText(id: "m", from: "2025-01-01"))
    }
    try assertSchemaViolation(field: "funding", mentioning: ["map of integer", "map of text ([String: String])"]) {
      try store.save(FundingAsText(id: "p", funding: ["ks": "mye"]))
    }
    try assertSchemaViolation(field: "name", mentioning: ["text", "integer (Int)"]) {
      try store.save(NameAsInteger(id: "p", name: 7))
    }
    XCTAssertEqual(try store.history().count, 0)
    XCTAssertNil(try store.record("membership", "m"))

    // Reading with a type of the wrong kind fails too, even for a missing field.
    try store.save(ola)
    try assertSchemaViolation(field: "groups", mentioning: ["set"]) { _ = try store.load(GroupsAsText.self, id: ola.id) }
    try assertSchemaViolation(field: "from", mentioning: ["date"]) { _ = try store.all(FromAsText.self) }
  }

  func testSchema_unknownFieldFailsNamingItAndWritesNothing() throws {
    struct WithNickname: TypedRecord {
      static let collection = "membership"
      var id: String
      var person: String
      var nickname: String?
    }
    let store = try Offices(["vestland"])["vestland"]
    // Even a nil property must be a field.
    try assertSchemaViolation(field: "nickname", mentioning: ["WithNickname.nickname", "not a field of membership"]) {
      try store.save(WithNickname(id: "m", person: "Ola Fjordbotn", nickname: nil))
    }
    XCTAssertEqual(try store.history().count, 0)
    try store.save(ola)
    try assertSchemaViolation(field: "nickname", mentioning: ["nickname"]) {
      _ = try store.load(WithNickname.self, id: ola.id)
    }
  }

  func testSchema_unknownCollectionFailsAndWritesNothing() throws {
    struct Meeting: TypedRecord {
      static let collection = "meetings"
      var id: String
      var title: String
    }
    let store = try Offices(["vestland"])["vestland"]
    for attempt in [
      { _ = try store.save(Meeting(id: "samling-1", title: "Samling")) },
      { _ = try store.load(Meeting.self, id: "samling-1") },
      { _ = try store.all(Meeting.self) },
    ] as [() throws -> Void] {
      XCTAssertThrowsError(try attempt()) { error in
        XCTAssertTrue(SamhandError.schemaViolation ~= error, "\(error)")
        XCTAssertTrue("\(error)".contains("unknown collection 'meetings'"), "\(error)")
      }
    }
    XCTAssertEqual(try store.history().count, 0)
  }

  func testSchema_failureInsideATransactionLeavesItAsItWas() throws {
    struct WithNickname: TypedRecord {
      static let collection = "membership"
      var id: String
      var person: String
      var nickname: String
    }
    let store = try Offices(["vestland"])["vestland"]
    let changeset = try store.transact { tx in
      try tx.set("cases", "sak-1", "title", .text("Første utkast"))
      XCTAssertThrowsError(try tx.save(WithNickname(id: "m", person: "Ola", nickname: "O"), over: nil))
      XCTAssertEqual(tx.edits.count, 1)
    }
    XCTAssertEqual(changeset?.edits.count, 1)
    XCTAssertNil(try store.record("membership", "m"))
  }

  func testSchema_foundationDateIsRefused() throws {
    struct WithDate: TypedRecord {
      static let collection = "membership"
      var id: String
      var from: Date?
    }
    let store = try Offices(["vestland"])["vestland"]
    try assertSchemaViolation(field: "from", mentioning: ["Foundation.Date", "use Day"]) {
      try store.save(WithDate(id: "m", from: Date()))
    }
    try assertSchemaViolation(field: "from", mentioning: ["use Day"]) {
      try store.save(WithDate(id: "m", from: nil))
    }
    XCTAssertEqual(try store.history().count, 0)
  }

  func testSchema_nonFiniteNumberIsRefused() throws {
    let schema = try Schema(collections: ["readings": .init(fields: ["level": .init(.number)])])
    struct Reading: TypedRecord {
      static let collection = "readings"
      var id: String
      var level: Double
    }
    let directory = TemporaryDirectory("typed")
    let store = try Store.create(at: directory.path("s"), replica: "ks", storeID: .random(), schema: schema)
    try assertSchemaViolation(field: "level", mentioning: ["finite"]) { try store.save(Reading(id: "r", level: .nan)) }
    try store.save(Reading(id: "r", level: -0.0))
    XCTAssertEqual(try store.record("readings", "r")?.fields["level"], .value(.number(0)))
    XCTAssertNil(try store.save(Reading(id: "r", level: 0)))
  }

  // MARK: - Decoding

  func testDecode_missingRequiredFieldFailsClearly() throws {
    let store = try Offices(["vestland"])["vestland"]
    try store.transact { tx in
      try tx.set("membership", "halv", "person", .text("Kari Nordvik"))
      try tx.set("membership", "halv", "organisation", .text("vestland"))
    }
    XCTAssertThrowsError(try store.load(Membership.self, id: "halv")) { error in
      XCTAssertTrue(SamhandError.decodingFailed ~= error, "\(error)")
      let error = error as! SamhandError
      XCTAssertEqual(error.collection, "membership")
      XCTAssertEqual(error.recordID, "halv")
      XCTAssertEqual(error.field, "network")
      XCTAssertTrue(error.message.contains("membership/halv"), error.message)
      XCTAssertTrue(error.message.contains("'network'"), error.message)
      XCTAssertTrue(error.message.contains("Membership.network"), error.message)
    }
    // A null counts as missing; a missing set reads as empty.
    try store.transact { tx in
      try tx.set("membership", "halv", "network", .text("sevs-styret"))
      try tx.set("membership", "halv", "role", .null)
    }
    let member = try XCTUnwrap(try store.load(Membership.self, id: "halv"))
    XCTAssertEqual(member.groups, [])
    XCTAssertNil(member.role)
  }

  func testDecode_valueThatDoesNotFitItsPropertyFailsClearly() throws {
    struct SmallFunding: TypedRecord {
      static let collection = "projects"
      var id: String
      var funding: [String: Int8]
    }
    let store = try Offices(["ks"])["ks"]
    try store.transact { tx in
      try tx.put("projects", "p", "funding", key: "ks", .integer(250_000))
      try tx.set("cases", "sak-1", "title", .text("Sak"))
      try tx.set("cases", "sak-1", "status", .text("ukjent"))
      try tx.set("cases", "sak-1", "owner", .text("ks"))
    }
    XCTAssertThrowsError(try store.load(SmallFunding.self, id: "p")) { error in
      XCTAssertTrue(SamhandError.decodingFailed ~= error, "\(error)")
      XCTAssertEqual((error as? SamhandError)?.field, "funding")
      XCTAssertTrue("\(error)".contains("funding.ks"), "\(error)")
    }
    XCTAssertThrowsError(try store.load(Case.self, id: "sak-1")) { error in
      XCTAssertTrue(SamhandError.decodingFailed ~= error, "\(error)")
      XCTAssertEqual((error as? SamhandError)?.field, "status")
      XCTAssertTrue("\(error)".contains("cases/sak-1"), "\(error)")
    }
  }

  func testDecode_recordOfAnotherCollectionIsRefused() throws {
    let store = try Offices(["ks"])["ks"]
    try store.save(Project(id: "p", name: "Samling"))
    let record = try XCTUnwrap(try store.record("projects", "p"))
    XCTAssertThrowsError(try store.decode(Membership.self, from: record)) { error in
      XCTAssertTrue(SamhandError.invalidArgument ~= error, "\(error)")
    }
  }

  func testDay_codesAsISO8601Text() throws {
    let data = try JSONEncoder().encode([day("2026-03-01")])
    XCTAssertEqual(String(decoding: data, as: UTF8.self), #"["2026-03-01"]"#)
    XCTAssertEqual(try JSONDecoder().decode([Day].self, from: data), [day("2026-03-01")])
    XCTAssertThrowsError(try JSONDecoder().decode([Day].self, from: Data(#"["2026-02-30"]"#.utf8)))
  }

  // MARK: - Helpers

  private func assertSchemaViolation(
    field: String, mentioning words: [String], file: StaticString = #filePath, line: UInt = #line,
    _ body: () throws -> Void
  ) throws {
    XCTAssertThrowsError(try body(), file: file, line: line) { error in
      guard let error = error as? SamhandError else {
        return XCTFail("not a SamhandError: \(error)", file: file, line: line)
      }
      XCTAssertEqual(error.code, .schemaViolation, "\(error)", file: file, line: line)
      XCTAssertEqual(error.field, field, "\(error)", file: file, line: line)
      XCTAssertTrue(error.message.contains("'\(field)'") || error.message.contains(".\(field)"), error.message, file: file, line: line)
      for word in words {
        XCTAssertTrue(error.message.contains(word), "'\(word)' not in: \(error.message)", file: file, line: line)
      }
    }
  }

  func testSave_commitsOnlyOverTheRecordAsRead() throws {
    let directory = TemporaryDirectory("stale")
    let store = try Store.create(
      folder: SharedFolder(directory.path("folder")), at: directory.path("store"), replica: "ks", schema: .planning)
    try store.transact { try $0.set("cases", "sak-1", "status", .text("ny")) }
    let read = try store.record("cases", "sak-1")
    // A sync (here: another write) lands between the read and the commit.
    try store.transact { try $0.set("cases", "sak-1", "status", .text("avsluttet")) }
    XCTAssertThrowsError(
      try store.transact(expecting: (RecordRef("cases", "sak-1"), read)) { try $0.set("cases", "sak-1", "notes", .text("x")) }
    ) { error in XCTAssertTrue(error is Store.StaleRead, "\(error)") }
    XCTAssertNil(try store.record("cases", "sak-1")?.fields["notes"], "nothing was committed")
    let fresh = try store.record("cases", "sak-1")
    XCTAssertNotNil(
      try store.transact(expecting: (RecordRef("cases", "sak-1"), fresh)) { try $0.set("cases", "sak-1", "notes", .text("x")) })
  }
}
