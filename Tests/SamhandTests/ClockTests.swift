import Foundation
import Samhand
import SamhandTestSupport
import XCTest

/// A changeset that uses every kind of edit and value, with counters and
/// stamps at the edges of their ranges.
private enum ClockFixtures {
  static let storeID = StoreID(rawValue: "0f8e2f5c-6c1a-4b51-9d7e-2b1c3a4d5e6f")!

  static func changeset(author: ReplicaID = "vestland", sequence: UInt64 = 7, edits: [Edit]? = nil) -> Changeset {
    var dependencies = VersionVector(["ks": 3, "more-og-romsdal": UInt64.max, "kdd": 1])
    dependencies[author] = sequence - 1
    let sak = RecordRef("cases", "sak-1")
    let project = RecordRef("projects", "spleiselag-ø")
    return Changeset(
      storeID: storeID, author: author, sequence: sequence, dependencies: dependencies,
      lamport: UInt64.max, timestamp: -1_234_567_890_123,
      edits: edits ?? [
        .set(sak, field: "title", value: .text("Felles løft for samfunnsdelen \u{1F4CB}\n\"sitat\"")),
        .set(sak, field: "deadline", value: .date(Day(year: 2024, month: 2, day: 29)!)),
        .set(sak, field: "notes", value: .null),
        .set(RecordRef("membership", "m-1"), field: "active", value: .bool(true)),
        .set(RecordRef("membership", "m-1"), field: "paused", value: .bool(false)),
        .set(sak, field: "score", value: .number(-0.1)),
        .set(sak, field: "big", value: .number(1e300)),
        .add(sak, field: "participants", element: "vestland"),
        .remove(sak, field: "participants", element: "ks"),
        .put(project, field: "funding", key: "agder", value: .integer(Int64.min)),
        .put(project, field: "funding", key: "ks", value: .integer(Int64.max)),
        .removeKey(project, field: "funding", key: "kdd"),
        .touch(RecordRef("cases", "sak-2")),
        .delete(RecordRef("cases", "sak-3")),
      ])
  }

  /// Asserts that decoding fails with one of the given error codes.
  static func assertRejected(
    _ bytes: [UInt8], _ codes: [SamhandError.Code], _ message: @autoclosure () -> String,
    file: StaticString = #filePath, line: UInt = #line
  ) {
    do {
      let decoded = try ChangesetFile.decode(bytes)
      XCTFail("\(message()): decoded as \(decoded.id) instead of failing", file: file, line: line)
    } catch let error as SamhandError {
      XCTAssertTrue(
        codes.contains(error.code), "\(message()): expected \(codes), got \(error.code): \(error)",
        file: file, line: line)
    } catch {
      XCTFail("\(message()): not a SamhandError: \(error)", file: file, line: line)
    }
  }
}

final class ClockTests: XCTestCase {
  // MARK: - Dot

  func testDot_ordersByReplicaThenCounter() {
    XCTAssertLessThan(Dot("agder", 9), Dot("ks", 1))
    XCTAssertLessThan(Dot("ks", 1), Dot("ks", 2))
    XCTAssertFalse(Dot("ks", 2) < Dot("ks", 2))
    XCTAssertEqual(Dot("ks", 2), Dot("ks", 2))
    XCTAssertNotEqual(Dot("ks", 2), Dot("kdd", 2))
    XCTAssertEqual(Dot("more-og-romsdal", 12).description, "more-og-romsdal:12")
    // Byte order of slugs: '-' and digits sort before letters.
    XCTAssertEqual(
      [Dot("ks", 1), Dot("k-s", 1), Dot("k2", 1)].sorted(), [Dot("k-s", 1), Dot("k2", 1), Dot("ks", 1)])
  }

  // MARK: - Version vectors

  func testVersionVector_missingEntriesCountAsZero() {
    var vector = VersionVector()
    XCTAssertEqual(vector["ks"], 0)
    XCTAssertEqual(vector, VersionVector(["ks": 0, "kdd": 0]))
    vector["ks"] = 3
    XCTAssertEqual(vector.counters, ["ks": 3])
    vector["ks"] = 0
    XCTAssertEqual(vector, VersionVector())
    XCTAssertEqual(vector.counters, [:])
    XCTAssertEqual(VersionVector(["ks": 2, "agder": 0]).counters, ["ks": 2])
  }

  /// The vector keeps its entries sorted; a dictionary is the model it
  /// must agree with, operation by operation.
  func testVersionVector_agreesWithADictionaryModel() {
    var random = SeededRandom(seed: 7)
    let slugs: [ReplicaID] = ["a", "a-b", "a0", "ab", "agder", "heroy-nordland", "heroy-more-og-romsdal", "kdd", "ks", "z9"]
    func model() -> [ReplicaID: UInt64] {
      var counters: [ReplicaID: UInt64] = [:]
      for slug in slugs where random.chance(0.6) { counters[slug] = UInt64(random.int(0...4)) }
      return counters
    }
    func positive(_ counters: [ReplicaID: UInt64]) -> [ReplicaID: UInt64] { counters.filter { $0.value > 0 } }
    for _ in 0..<3_000 {
      var a = model(), b = model()
      var va = VersionVector(a), vb = VersionVector(b)
      XCTAssertEqual(va.counters, positive(a))
      XCTAssertEqual(va.sorted.map(\.replica), positive(a).keys.sorted())
      XCTAssertEqual(va.total, positive(a).values.reduce(0, +))
      XCTAssertEqual(va == vb, positive(a) == positive(b))
      if va == vb { XCTAssertEqual(va.hashValue, vb.hashValue) }
      let slug = random.pick(slugs), value = UInt64(random.int(0...4))
      a[slug] = value
      va[slug] = value
      XCTAssertEqual(va.counters, positive(a), "set \(slug) to \(value)")
      for slug in slugs { XCTAssertEqual(va[slug], a[slug] ?? 0) }
      XCTAssertEqual(va.union(vb).counters, positive(a.merging(b, uniquingKeysWith: max)))
      let both = Set(a.keys).intersection(b.keys)
      XCTAssertEqual(va.meet(vb).counters, positive(Dictionary(uniqueKeysWithValues: both.map { ($0, min(a[$0]!, b[$0]!)) })))
      XCTAssertEqual(va.isIncluded(in: vb), a.allSatisfy { $0.value <= (b[$0.key] ?? 0) }, "\(va) in \(vb)")
      vb.formUnion(va)
      b.merge(a, uniquingKeysWith: max)
      XCTAssertEqual(vb.counters, positive(b))
      XCTAssertTrue(va.isIncluded(in: vb))
    }
  }

  func testVersionVector_contains() {
    let vector = VersionVector(["ks": 3, "vestland": 1])
    XCTAssertTrue(vector.contains(Dot("ks", 1)))
    XCTAssertTrue(vector.contains(Dot("ks", 3)))
    XCTAssertFalse(vector.contains(Dot("ks", 4)))
    XCTAssertTrue(vector.contains(Dot("vestland", 1)))
    XCTAssertFalse(vector.contains(Dot("vestland", 2)))
    XCTAssertFalse(vector.contains(Dot("kdd", 1)))
    XCTAssertFalse(VersionVector().contains(Dot("kdd", 1)))
  }

  func testVersionVector_unionTakesTheMaximumOfEachEntry() {
    var left = VersionVector(["ks": 3, "vestland": 1])
    let right = VersionVector(["ks": 2, "vestland": 4, "kdd": 7])
    XCTAssertEqual(left.union(right), VersionVector(["ks": 3, "vestland": 4, "kdd": 7]))
    XCTAssertEqual(left.union(right), right.union(left))
    XCTAssertEqual(left.union(left), left)
    XCTAssertEqual(left.union(VersionVector()), left)
    left.formUnion(right)
    XCTAssertEqual(left, VersionVector(["ks": 3, "vestland": 4, "kdd": 7]))
    XCTAssertEqual(left.total, 14)
    XCTAssertEqual(left.sorted.map(\.replica), ["kdd", "ks", "vestland"])
    XCTAssertEqual(left.description, "{kdd:7, ks:3, vestland:4}")
  }

  func testVersionVector_inclusionAndConcurrency() {
    let empty = VersionVector()
    let a = VersionVector(["ks": 2])
    let b = VersionVector(["ks": 2, "vestland": 1])
    let c = VersionVector(["ks": 1, "vestland": 2])
    // Inclusion is a partial order.
    XCTAssertTrue(empty.isIncluded(in: empty))
    XCTAssertTrue(empty.isIncluded(in: a))
    XCTAssertFalse(a.isIncluded(in: empty))
    XCTAssertTrue(a.isIncluded(in: a))
    XCTAssertTrue(a.isIncluded(in: b))
    XCTAssertFalse(b.isIncluded(in: a))
    XCTAssertFalse(b.isIncluded(in: c))
    XCTAssertFalse(c.isIncluded(in: b))
    // Concurrent: neither includes the other.
    XCTAssertTrue(b.isConcurrent(with: c))
    XCTAssertTrue(c.isConcurrent(with: b))
    XCTAssertTrue(a.isConcurrent(with: VersionVector(["vestland": 1])))
    XCTAssertFalse(a.isConcurrent(with: b))
    XCTAssertFalse(b.isConcurrent(with: a))
    XCTAssertFalse(b.isConcurrent(with: b))
    XCTAssertFalse(empty.isConcurrent(with: c))
    // The union is the least upper bound.
    let join = b.union(c)
    XCTAssertTrue(b.isIncluded(in: join))
    XCTAssertTrue(c.isIncluded(in: join))
    XCTAssertEqual(join, VersionVector(["ks": 2, "vestland": 2]))
  }

  // MARK: - Days

  func testTimestamp_printsUTCWithMilliseconds() {
    XCTAssertEqual(Timestamp.iso8601(milliseconds: 0), "1970-01-01T00:00:00.000Z")
    XCTAssertEqual(Timestamp.iso8601(milliseconds: -1), "1969-12-31T23:59:59.999Z")
    XCTAssertEqual(Timestamp.iso8601(milliseconds: 86_399_999), "1970-01-01T23:59:59.999Z")
    XCTAssertEqual(Timestamp.iso8601(milliseconds: 1_764_000_000_123), "2025-11-24T16:00:00.123Z")
    XCTAssertEqual(Timestamp.iso8601(milliseconds: 253_402_300_799_999), "9999-12-31T23:59:59.999Z")
  }

  func testDay_parsesAndPrintsISO8601() throws {
    let day = try XCTUnwrap(Day(iso8601: "2025-06-01"))
    XCTAssertEqual([day.year, day.month, day.day], [2025, 6, 1])
    XCTAssertEqual(day.description, "2025-06-01")
    XCTAssertEqual(Day(year: 2025, month: 6, day: 1), day)
    XCTAssertEqual(Day(iso8601: "0001-01-01")?.description, "0001-01-01")
    XCTAssertEqual(Day(iso8601: "9999-12-31")?.description, "9999-12-31")
    XCTAssertEqual(Day(year: 987, month: 3, day: 4)?.description, "0987-03-04")
    XCTAssertLessThan(Day(iso8601: "2024-12-31")!, Day(iso8601: "2025-01-01")!)
    XCTAssertLessThan(Day(iso8601: "2025-01-31")!, Day(iso8601: "2025-02-01")!)
    XCTAssertLessThan(Day(iso8601: "2025-02-01")!, Day(iso8601: "2025-02-02")!)
  }

  func testDay_leapYears() {
    XCTAssertNotNil(Day(iso8601: "2024-02-29"), "divisible by 4")
    XCTAssertNotNil(Day(iso8601: "2000-02-29"), "divisible by 400")
    XCTAssertNotNil(Day(iso8601: "1600-02-29"), "divisible by 400")
    XCTAssertNil(Day(iso8601: "2023-02-29"), "not divisible by 4")
    XCTAssertNil(Day(iso8601: "1900-02-29"), "divisible by 100 but not by 400")
    XCTAssertNil(Day(iso8601: "2100-02-29"), "divisible by 100 but not by 400")
    XCTAssertNil(Day(iso8601: "2024-02-30"))
    XCTAssertNotNil(Day(iso8601: "2023-02-28"))
  }

  func testDay_monthLengths() {
    let lengths = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    for (index, length) in lengths.enumerated() {
      let month = index + 1
      XCTAssertNotNil(Day(year: 2025, month: month, day: length), "2025-\(month)-\(length)")
      XCTAssertNil(Day(year: 2025, month: month, day: length + 1), "2025-\(month)-\(length + 1)")
      XCTAssertNil(Day(year: 2025, month: month, day: 0), "2025-\(month)-0")
    }
    XCTAssertNil(Day(year: 0, month: 1, day: 1))
    XCTAssertNil(Day(year: 10000, month: 1, day: 1))
  }

  func testDay_rejectsAnythingButYYYYMMDD() {
    let bad = [
      "2025-6-1", "2025-06-1", "2025-6-01", "2025-02-30", "2025-04-31", "2025-13-01", "2025-00-10",
      "2025-01-00", "2025-01-32", "0000-01-01", "25-06-01", "02025-06-01", "2025/06/01", "20250601",
      "2025-06-01 ", " 2025-06-01", "2025-06-01T00:00", "2025-06-01Z", "+025-06-01", "-025-06-01",
      "2025-0a-01", "2025--6-01", "２０２５-06-01", "2025‐06‐01", "", "not a day",
    ]
    for text in bad {
      XCTAssertNil(Day(iso8601: text), "'\(text)' must be rejected")
    }
  }

  // MARK: - Replica ids

  func testReplicaID_acceptsSlugs() throws {
    let slugs = [
      "agder", "innlandet", "more-og-romsdal", "nordland", "oslo", "rogaland", "troms-og-finnmark",
      "trondelag", "vestfold-og-telemark", "vestland", "viken", "ks", "kdd", "a", "0", "k2",
      String(repeating: "x", count: 63),
    ]
    for slug in slugs {
      XCTAssertEqual(ReplicaID(rawValue: slug)?.rawValue, slug)
      XCTAssertEqual(try ReplicaID(validating: slug).rawValue, slug)
    }
  }

  func testReplicaID_rejectsWhatIsNotALowercaseASCIISlug() throws {
    let bad = [
      "", "-ks", "ks-", "-", "Vestland", "VESTLAND", "møre-og-romsdal", "trøndelag", "ks_kdd", "ks kdd",
      "ks.kdd", "ks/kdd", "ks:1", "ks\n", "\u{0}", String(repeating: "x", count: 64), "ｋｓ",
    ]
    for slug in bad {
      XCTAssertNil(ReplicaID(rawValue: slug), "'\(slug)' must be rejected")
      XCTAssertThrowsError(try ReplicaID(validating: slug)) { error in
        XCTAssertTrue(SamhandError.invalidArgument ~= error, "\(error)")
      }
    }
  }

  func testReplicaID_codableValidates() throws {
    let encoded = try JSONEncoder().encode(["more-og-romsdal" as ReplicaID])
    XCTAssertEqual(String(decoding: encoded, as: UTF8.self), #"["more-og-romsdal"]"#)
    XCTAssertEqual(try JSONDecoder().decode([ReplicaID].self, from: encoded), ["more-og-romsdal"])
    XCTAssertThrowsError(try JSONDecoder().decode([ReplicaID].self, from: Data(#"["Møre"]"#.utf8)))
  }

  func testReplicaID_ordersByBytes() {
    let sorted = (["vestland", "kdd", "ks", "agder", "k-s", "k2"] as [ReplicaID]).sorted()
    XCTAssertEqual(sorted.map(\.rawValue), ["agder", "k-s", "k2", "kdd", "ks", "vestland"])
  }

  // MARK: - Changeset files

  func testChangesetFile_roundTrip() throws {
    let changeset = ClockFixtures.changeset()
    let bytes = ChangesetFile.encode(changeset)
    let decoded = try ChangesetFile.decode(bytes)
    XCTAssertEqual(decoded, changeset)
    XCTAssertEqual(decoded.id, Changeset.ID(author: "vestland", sequence: 7))
    XCTAssertEqual(ChangesetFile.encode(decoded), bytes, "encoding must be deterministic")

    let (header, payload) = try ChangesetFile.decodeHeader(bytes)
    XCTAssertEqual(header.formatVersion, ChangesetFile.formatVersion)
    XCTAssertEqual(header.storeID, changeset.storeID)
    XCTAssertEqual(header.author, changeset.author)
    XCTAssertEqual(header.sequence, changeset.sequence)
    XCTAssertEqual(header.lamport, changeset.lamport)
    XCTAssertEqual(header.timestamp, changeset.timestamp)
    XCTAssertEqual(header.dependencies, changeset.dependencies)
    XCTAssertEqual(header.compressedSize, payload.count)
    XCTAssertLessThan(payload.upperBound, bytes.count)
  }

  func testChangesetFile_roundTripEdgeCases() throws {
    // An office's first changeset: no dependencies at all.
    var first = ClockFixtures.changeset(author: "ks", sequence: 1, edits: [.touch(RecordRef("cases", "a"))])
    first.dependencies = VersionVector()
    first.timestamp = 0
    first.lamport = 1
    XCTAssertEqual(try ChangesetFile.decode(ChangesetFile.encode(first)), first)
    // Signatures travel in the file's signature block.
    var signed = ClockFixtures.changeset()
    signed.signatures = [
      Changeset.Signature(keyID: "vestland-2026", bytes: (0..<64).map { UInt8($0) }),
      Changeset.Signature(keyID: "vestland-2027", bytes: []),
    ]
    let signedBytes = ChangesetFile.encode(signed)
    XCTAssertEqual(try ChangesetFile.decode(signedBytes), signed)
    XCTAssertEqual(try ChangesetFile.decodeHeader(signedBytes).0.signatures, signed.signatures)
    // No edits.
    let empty = ClockFixtures.changeset(edits: [])
    XCTAssertEqual(try ChangesetFile.decode(ChangesetFile.encode(empty)), empty)
    // A large payload that compresses well, with the largest sequence number.
    let many = (0..<2000).map { Edit.add(RecordRef("cases", "sak-\($0 % 7)"), field: "participants", element: "office-\($0)") }
    let big = ClockFixtures.changeset(sequence: UInt64.max, edits: many)
    XCTAssertEqual(try ChangesetFile.decode(ChangesetFile.encode(big)), big)
  }

  func testChangesetFile_fileNames() {
    XCTAssertEqual(ChangesetFile.fileName(sequence: 42), "000000000042.changeset")
    XCTAssertEqual(ChangesetFile.sequence(fromFileName: "000000000042.changeset"), 42)
    XCTAssertNil(ChangesetFile.sequence(fromFileName: "000000000000.changeset"))
    XCTAssertNil(ChangesetFile.sequence(fromFileName: "42.changeset"))
    XCTAssertNil(ChangesetFile.sequence(fromFileName: "000000000042.changeset.tmp"))
    XCTAssertNil(ChangesetFile.sequence(fromFileName: ".syncthing.000000000042.changeset.tmp"))
    XCTAssertNil(ChangesetFile.sequence(fromFileName: "000000000042.CHANGESET"))
  }

  func testChangesetFile_rejectsTruncationAtEveryLength() {
    let bytes = ChangesetFile.encode(ClockFixtures.changeset())
    for length in 0..<bytes.count {
      ClockFixtures.assertRejected(
        Array(bytes[0..<length]), [.corruptChangeset], "truncated to \(length) of \(bytes.count) bytes")
    }
  }

  func testChangesetFile_rejectsExtraBytes() {
    let bytes = ChangesetFile.encode(ClockFixtures.changeset())
    let appended: [UInt8] = bytes + [0]
    let repeated: [UInt8] = bytes + bytes
    ClockFixtures.assertRejected(appended, [.corruptChangeset], "one byte appended")
    ClockFixtures.assertRejected(repeated, [.corruptChangeset], "file repeated")
  }

  func testChangesetFile_rejectsAFlippedBitAnywhere() {
    let bytes = ChangesetFile.encode(ClockFixtures.changeset())
    // Bytes 8 and 9 hold the format version: a flipped bit there names
    // another version, but the checksum shows the file is damaged, not newer.
    for index in bytes.indices {
      for bit in 0..<8 {
        var damaged = bytes
        damaged[index] ^= 1 << bit
        ClockFixtures.assertRejected(damaged, [.corruptChangeset], "bit \(bit) of byte \(index) flipped")
      }
    }
  }

  func testChangesetFile_rejectsAnUnknownVersion() throws {
    let bytes = ChangesetFile.encode(ClockFixtures.changeset())
    for version: UInt16 in [0, 3, 0x0100, 0xFFFF] {
      var other = bytes
      other[8] = UInt8(version >> 8)
      other[9] = UInt8(version & 0xFF)
      ClockFixtures.assertRejected(other, [.corruptChangeset], "version \(version) with a stale checksum")
      // With a checksum that matches, as a newer Samhand would write it.
      other.removeLast(32)
      other += Self.sha256(other)
      do {
        _ = try ChangesetFile.decode(other)
        XCTFail("version \(version) with a good checksum must be rejected")
      } catch let error as SamhandError {
        XCTAssertEqual(error.code, .unsupportedFormat)
        XCTAssertEqual(error.offset, 8)
        XCTAssertTrue(error.message.contains("version \(version)"), error.message)
      }
    }
  }

  func testChangesetFile_resealedPayloadDamageIsCaught() throws {
    // A writer that fixes up the whole-file checksum still cannot change
    // the edits unnoticed: the payload has a digest of its own.
    let changeset = ClockFixtures.changeset()
    let bytes = ChangesetFile.encode(changeset)
    let (_, payload) = try ChangesetFile.decodeHeader(bytes)
    for index in payload {
      for bit in 0..<8 {
        var damaged = Array(bytes.dropLast(32))
        damaged[index] ^= 1 << bit
        damaged += Self.sha256(damaged)
        do {
          // Deflate ignores the padding bits of its last byte: such a flip
          // changes nothing, and decoding must then give the same changeset.
          let decoded = try ChangesetFile.decode(damaged)
          XCTAssertEqual(decoded, changeset, "bit \(bit) of payload byte \(index)")
        } catch let error as SamhandError {
          XCTAssertEqual(error.code, .corruptChangeset, "bit \(bit) of payload byte \(index): \(error)")
        }
      }
    }
  }

  func testChangesetFile_checksumHelperAgrees() {
    XCTAssertEqual(
      Self.sha256(Array("abc".utf8)).map { String(format: "%02x", $0) }.joined(),
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    let bytes = ChangesetFile.encode(ClockFixtures.changeset())
    XCTAssertEqual(Self.sha256(Array(bytes.dropLast(32))), Array(bytes.suffix(32)))
  }

  func testChangesetFile_errorsCarryTheFileAndOffset() throws {
    let bytes = ChangesetFile.encode(ClockFixtures.changeset())
    let url = URL(fileURLWithPath: "/shared/changesets/vestland/000000000007.changeset")
    var damaged = bytes
    damaged[bytes.count / 2] ^= 0x10
    XCTAssertThrowsError(try ChangesetFile.decode(damaged, fileURL: url)) { error in
      guard let error = error as? SamhandError else { return XCTFail("\(error)") }
      XCTAssertEqual(error.code, .corruptChangeset)
      XCTAssertEqual(error.fileURL, url)
      XCTAssertNotNil(error.offset)
      XCTAssertTrue(error.description.contains(url.path), error.description)
    }
    XCTAssertThrowsError(try ChangesetFile.decode([])) { error in
      XCTAssertTrue(SamhandError.corruptChangeset ~= error, "\(error)")
    }
    let zeros: [UInt8] = Array("SHCS\r\n".utf8) + [UInt8](repeating: 0, count: 60)
    XCTAssertThrowsError(try ChangesetFile.decode(zeros)) { error in
      XCTAssertTrue(SamhandError.corruptChangeset ~= error, "\(error)")
    }
  }

  // MARK: - Helpers

  /// SHA-256, to forge a file checksum. The test target does not depend on
  /// swift-crypto and Foundation has no SHA-256 on Linux, so this is a small
  /// standalone one, checked against a published vector and against the
  /// library's own checksums in `testChangesetFile_checksumHelperAgrees`.
  private static func sha256(_ message: [UInt8]) -> [UInt8] {
    var h: [UInt32] = [
      0x6a09_e667, 0xbb67_ae85, 0x3c6e_f372, 0xa54f_f53a, 0x510e_527f, 0x9b05_688c, 0x1f83_d9ab, 0x5be0_cd19,
    ]
    let k: [UInt32] = [
      0x428a_2f98, 0x7137_4491, 0xb5c0_fbcf, 0xe9b5_dba5, 0x3956_c25b, 0x59f1_11f1, 0x923f_82a4, 0xab1c_5ed5,
      0xd807_aa98, 0x1283_5b01, 0x2431_85be, 0x550c_7dc3, 0x72be_5d74, 0x80de_b1fe, 0x9bdc_06a7, 0xc19b_f174,
      0xe49b_69c1, 0xefbe_4786, 0x0fc1_9dc6, 0x240c_a1cc, 0x2de9_2c6f, 0x4a74_84aa, 0x5cb0_a9dc, 0x76f9_88da,
      0x983e_5152, 0xa831_c66d, 0xb003_27c8, 0xbf59_7fc7, 0xc6e0_0bf3, 0xd5a7_9147, 0x06ca_6351, 0x1429_2967,
      0x27b7_0a85, 0x2e1b_2138, 0x4d2c_6dfc, 0x5338_0d13, 0x650a_7354, 0x766a_0abb, 0x81c2_c92e, 0x9272_2c85,
      0xa2bf_e8a1, 0xa81a_664b, 0xc24b_8b70, 0xc76c_51a3, 0xd192_e819, 0xd699_0624, 0xf40e_3585, 0x106a_a070,
      0x19a4_c116, 0x1e37_6c08, 0x2748_774c, 0x34b0_bcb5, 0x391c_0cb3, 0x4ed8_aa4a, 0x5b9c_ca4f, 0x682e_6ff3,
      0x748f_82ee, 0x78a5_636f, 0x84c8_7814, 0x8cc7_0208, 0x90be_fffa, 0xa450_6ceb, 0xbef9_a3f7, 0xc671_78f2,
    ]
    var data = message
    let bitLength = UInt64(message.count) * 8
    data.append(0x80)
    while data.count % 64 != 56 { data.append(0) }
    for shift in stride(from: 56, through: 0, by: -8) { data.append(UInt8((bitLength >> UInt64(shift)) & 0xFF)) }
    func rotate(_ value: UInt32, _ count: UInt32) -> UInt32 { (value >> count) | (value << (32 - count)) }
    for chunk in stride(from: 0, to: data.count, by: 64) {
      var w = [UInt32](repeating: 0, count: 64)
      for i in 0..<16 {
        w[i] = (0..<4).reduce(0) { $0 << 8 | UInt32(data[chunk + i * 4 + $1]) }
      }
      for i in 16..<64 {
        let s0 = rotate(w[i - 15], 7) ^ rotate(w[i - 15], 18) ^ (w[i - 15] >> 3)
        let s1 = rotate(w[i - 2], 17) ^ rotate(w[i - 2], 19) ^ (w[i - 2] >> 10)
        w[i] = w[i - 16] &+ s0 &+ w[i - 7] &+ s1
      }
      var (a, b, c, d, e, f, g, hh) = (h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7])
      for i in 0..<64 {
        let s1 = rotate(e, 6) ^ rotate(e, 11) ^ rotate(e, 25)
        let choice = (e & f) ^ (~e & g)
        let t1 = hh &+ s1 &+ choice &+ k[i] &+ w[i]
        let s0 = rotate(a, 2) ^ rotate(a, 13) ^ rotate(a, 22)
        let majority = (a & b) ^ (a & c) ^ (b & c)
        let t2 = s0 &+ majority
        (hh, g, f, e, d, c, b, a) = (g, f, e, d &+ t1, c, b, a, t1 &+ t2)
      }
      for (i, value) in [a, b, c, d, e, f, g, hh].enumerated() { h[i] = h[i] &+ value }
    }
    return h.flatMap { word in (0..<4).map { UInt8((word >> UInt32(24 - $0 * 8)) & 0xFF) } }
  }
}

/// Vectors compared in their stored encoding agree with the decoded ones.
final class EncodedVectorTests: XCTestCase {
  func testEncodedVectors_meetIncludeAndCountAsDecodedOnesDo() throws {
    var random = SystemRandomNumberGenerator()
    let slugs: [ReplicaID] = ["a", "ab", "agder", "b", "heroy-nordland", "heroy-more-og-romsdal", "ks", "kdd", "z", "z-9"]
    func vector() -> VersionVector {
      var counters: [ReplicaID: UInt64] = [:]
      for slug in slugs where Bool.random(using: &random) { counters[slug] = UInt64.random(in: 0...300, using: &random) }
      return VersionVector(counters)
    }
    for _ in 0..<2_000 {
      let a = vector(), b = vector()
      let ea = [UInt8](Store.encodeVector(a)), eb = [UInt8](Store.encodeVector(b))
      XCTAssertEqual(try Store.decodeVector(Data(try EncodedVector.meet(ea, eb))), a.meet(b), "\(a) meet \(b)")
      XCTAssertEqual(try EncodedVector.isIncluded(ea, in: eb), a.isIncluded(in: b), "\(a) in \(b)")
      XCTAssertEqual(try EncodedVector.isIncluded(ea, in: [UInt8](Store.encodeVector(a.union(b)))), true)
      for slug in slugs { XCTAssertEqual(try EncodedVector.counter(of: slug, in: ea), a[slug]) }
    }
    XCTAssertThrowsError(try EncodedVector.meet([5, 1], [0]), "a damaged vector is an error, not a guess")
  }
}
