import Crypto
import Foundation
import Samhand
import SamhandTestSupport
import XCTest

/// What someone who can write to the shared folder can drop into it:
/// files too large to read, links, FIFOs, compression bombs, huge values
/// signed by a member, checkpoints that lie about their state. Every
/// honest office goes on working and names the bad file.
final class HostileFolderTests: XCTestCase {
  private func cooperation(_ label: String) throws -> LongLifeCooperation {
    let co = try LongLifeCooperation(label: label)
    try co.work(round: 0)
    try co.settle()
    return co
  }

  private func reason(_ report: SyncReport, _ path: String) -> String? {
    report.setAside.first { $0.path == path }?.reason
  }

  // MARK: - Files that are not read

  func testAFileOverTheLimit_isSetAsideBySizeWithoutBeingRead() throws {
    let co = try cooperation("huge-file")
    // 1 GiB, sparse: no disk cost, and reading it would take a second and a gigabyte.
    let path = "changesets/vestland/000000000009.changeset"
    let url = co.folder.url.appendingPathComponent(path)
    XCTAssertTrue(FileManager.default.createFile(atPath: url.path, contents: nil))
    let handle = try FileHandle(forWritingTo: url)
    try handle.truncate(atOffset: 1 << 30)
    try handle.close()
    let started = Date()
    let report = try co["ks"].sync(with: co.folder)
    XCTAssertLessThan(Date().timeIntervalSince(started), 5, "the file was not read")
    let text = try XCTUnwrap(reason(report, path), "\(report.setAside)")
    XCTAssertTrue(text.contains("1073741824 bytes, over the limit of \(FolderFileKind.changeset.limit)"), text)
    XCTAssertTrue(try co["ks"].setAsideFiles().contains { $0.path == path })
    XCTAssertTrue(co.folder.verify().problems.contains { $0.path == path && $0.reason.contains("over the limit") })
    // The folder's own snapshot reads the rest.
    XCTAssertEqual(try co.folder.snapshot().sha256, try co["ks"].snapshotHash().1)
    // Heads and samhand.json are bounded the same way.
    let head = co.folder.url.appendingPathComponent("heads/agder.json")
    let headHandle = try FileHandle(forWritingTo: head)
    try headHandle.truncate(atOffset: 1 << 30)
    try headHandle.close()
    let (heads, problems) = co.folder.heads()
    XCTAssertFalse(heads.contains { $0.office == "agder" })
    XCTAssertTrue(problems.contains { $0.path == "heads/agder.json" && $0.reason.contains("over the limit") }, "\(problems)")
  }

  func testLinksAndFIFOs_areNotFollowedOrOpened() throws {
    let co = try cooperation("links")
    let outside = TemporaryDirectory("outside")
    // A link to a real changeset file outside the folder, under a changeset name.
    let good = try XCTUnwrap(try co["agder"].changesetBytes(Changeset.ID(author: "agder", sequence: 1)))
    let target = outside.path("agder-1.changeset")
    try Data(good).write(to: target)
    let linkPath = "changesets/agder/000000000007.changeset"
    try FileManager.default.createSymbolicLink(at: co.folder.url.appendingPathComponent(linkPath), withDestinationURL: target)
    // A FIFO under a changeset name: opening it would block the sync.
    let fifoPath = "changesets/vestland/000000000008.changeset"
    XCTAssertEqual(mkfifo(co.folder.url.appendingPathComponent(fifoPath).path, 0o644), 0)
    let report = try co["ks"].sync(with: co.folder)
    XCTAssertTrue(reason(report, linkPath)?.contains("symbolic link") == true, "\(report.setAside)")
    XCTAssertTrue(reason(report, fifoPath)?.contains("FIFO") == true, "\(report.setAside)")
    XCTAssertFalse(reason(report, fifoPath)?.contains("empty file") == true)

    // An office folder that is a link, and `changesets/` itself a link.
    try FileManager.default.createDirectory(at: outside.path("nordland"), withIntermediateDirectories: true)
    try FileManager.default.createSymbolicLink(
      at: co.folder.url.appendingPathComponent("changesets/nordland"), withDestinationURL: outside.path("nordland"))
    let linked = try co["ks"].sync(with: co.folder)
    XCTAssertTrue(reason(linked, "changesets/nordland")?.contains("symbolic link") == true, "\(linked.setAside)")

    let copy = TemporaryDirectory("linked-changesets")
    try FileManager.default.copyItem(at: co.folder.url.appendingPathComponent("samhand.json"), to: copy.path("samhand.json"))
    try FileManager.default.createSymbolicLink(
      at: copy.path("changesets"), withDestinationURL: co.folder.url.appendingPathComponent("changesets"))
    let verification = SharedFolder(copy.url).verify()
    XCTAssertFalse(verification.isSound, "a linked changesets/ is not 'no problems found'")
    XCTAssertTrue(verification.problems.contains { $0.path == "changesets" && $0.reason.contains("symbolic link") }, "\(verification.problems)")
  }

  // MARK: - Signatures before inflation, and limits

  func testAnUnsignedFile_isRefusedBeforeItsPayloadIsInflated() throws {
    let co = try cooperation("unsigned-bomb")
    let store = co["ks"]
    // A header that promises a large payload whose hash cannot match: had
    // the payload been inflated, the reason would be the checksum.
    var changeset = Changeset(
      storeID: store.storeID, author: "agder", sequence: 2, dependencies: try store.frontier(), lamport: 99,
      timestamp: 0, edits: [.set(RecordRef("cases", "sak-x"), field: "title", value: .text(String(repeating: "a", count: 1 << 20)))])
    changeset.dependencies["agder"] = 1
    var bytes = ChangesetFile.encode(changeset)
    let envelope = try ChangesetFile.open(bytes)
    XCTAssertGreaterThan(envelope.header.payloadSize, 1 << 20)
    // Flip a byte of the payload hash in the header, then reseal the file.
    let hashAt = 14 + Int(UInt32(bytes[10]) << 24 | UInt32(bytes[11]) << 16 | UInt32(bytes[12]) << 8 | UInt32(bytes[13])) - 1
    bytes[hashAt] ^= 0xFF
    bytes.removeLast(32)
    bytes += Array(SHA256.hash(data: bytes))
    let path = "changesets/agder/000000000002.changeset"
    try Data(bytes).write(to: co.folder.url.appendingPathComponent(path))
    let report = try store.sync(with: co.folder)
    let text = try XCTUnwrap(reason(report, path), "\(report.setAside)")
    XCTAssertTrue(text.contains("unsigned"), text)
    XCTAssertFalse(text.contains("checksum"), text)
  }

  func testValuesOverTheLimits_areRefusedLocallyAndRejectedAlikeEverywhere() throws {
    let co = try cooperation("huge-value")
    let big = String(repeating: "ø", count: Limits.maximumTextBytes / 2 + 1)
    XCTAssertThrowsError(try co["vestland"].transact { try $0.set("cases", "sak-v", "title", .text(big)) }) { error in
      XCTAssertTrue(SamhandError.tooLarge ~= error, "\(error)")
      XCTAssertTrue("\(error)".contains("over the limit of \(Limits.maximumTextBytes)"), "\(error)")
    }
    XCTAssertThrowsError(
      try co["vestland"].transact { try $0.add("cases", "sak-v", "participants", String(repeating: "x", count: 5000)) }
    ) { error in XCTAssertTrue(SamhandError.tooLarge ~= error, "\(error)") }

    // Signed by a member with its own key, as a hostile member would: a
    // compressed file of a few kilobytes holding a 2 MiB name.
    let vestland = co["vestland"]
    var frontier = try vestland.frontier()
    let sequence = frontier["vestland"] + 1
    frontier["vestland"] = sequence - 1
    let changeset = Changeset(
      storeID: vestland.storeID, author: "vestland", sequence: sequence, dependencies: frontier, lamport: 500,
      timestamp: 0,
      edits: [
        .set(RecordRef("cases", "sak-0-vestland"), field: "title", value: .text(String(repeating: "a", count: 2 << 20)))
      ])
    let bytes = ChangesetFile.encode(changeset, signedBy: TestKeys.key("vestland"))
    XCTAssertLessThan(bytes.count, 20_000)
    try Data(bytes).write(to: co.folder.changesetURL(changeset.id))
    for office in co.offices where office != "vestland" {
      let report = try co[office].sync(with: co.folder)
      XCTAssertTrue(report.rejected[changeset.id]?.contains("over the limit") == true, "\(office): \(report.rejected)")
      XCTAssertEqual(try co[office].record("cases", "sak-0-vestland")?.fields["title"], .value(.text("Sak 0 fra vestland")))
    }
    XCTAssertEqual(Set(try co.offices.filter { $0 != "vestland" }.map { try co[$0].snapshotHash().1 }).count, 1)
  }

  func testTheHandmadeFilesAtTheLimits_areRefusedOrRejectedAsDocumented() throws {
    let directory = fixturesDirectory().appendingPathComponent("fuzz-regressions")
    func bytes(_ name: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: directory.appendingPathComponent(name))) }
    // 64 MiB and one byte: the envelope reads, the payload is not inflated.
    let over = try ChangesetFile.open(try bytes("handmade-payload-just-over-limit.changeset"))
    XCTAssertEqual(over.header.payloadSize, ChangesetFile.maximumPayloadSize + 1)
    XCTAssertThrowsError(try over.changeset()) { error in
      XCTAssertTrue(SamhandError.tooLarge ~= error, "\(error)")
      XCTAssertTrue("\(error)".contains("not inflated"), "\(error)")
    }
    // A text and a record over their limits decode, and break the schema.
    let text = try ChangesetFile.decode(try bytes("handmade-text-over-limit.changeset"))
    XCTAssertTrue(Schema.planning.violation(in: text)?.contains("over the limit of \(Limits.maximumTextBytes)") == true)
    let record = try ChangesetFile.decode(try bytes("handmade-record-over-limit.changeset"))
    XCTAssertEqual(Schema.planning.violation(in: record), "cases/sak-1: the changeset writes more than \(Limits.maximumRecordBytes) bytes to one record")
  }

  func testATransactionOverThePayloadLimit_isRefused() throws {
    let directory = TemporaryDirectory("payload-limit")
    let store = try Store.createListingTestKeys(folder: SharedFolder(directory.path("shared")), at: directory.path("ks"), replica: "ks")
    let text = String(repeating: "a", count: Limits.maximumTextBytes)
    // Three fields of 1 MiB a record (within the record limit), 23 records:
    // more than 64 MiB in all.
    XCTAssertThrowsError(
      try store.transact { tx in
        for index in 0..<23 {
          for field in ["title", "notes", "kommune"] { try tx.set("cases", "sak-\(index)", field, .text(text)) }
        }
      }
    ) { error in
      XCTAssertTrue(SamhandError.tooLarge ~= error, "\(error)")
      XCTAssertTrue("\(error)".contains("split it"), "\(error)")
    }
    XCTAssertEqual(try store.frontier(), VersionVector(), "nothing was written")
  }

  // MARK: - Checkpoints

  /// Writes `checkpoint` (altered) into `office`'s folder, signed by `key`, under its name.
  private func plant(_ checkpoint: Checkpoint, as office: ReplicaID, key: SigningKey, in folder: SharedFolder) throws -> URL {
    let bytes = checkpoint.bytes
    let url = folder.url.appendingPathComponent("checkpoints/\(office)/\(checkpoint.fileName)")
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    try Data(bytes).write(to: url)
    let digest = SHA256Hex.of(bytes)
    let signature = SHA256Hex.hex(key.sign(Array("samhand checkpoint 1\n\(office)\n\(digest)\n".utf8)))
    try Data(
      #"{"checkpoint":"\#(digest)","format":1,"key":"\#(key.publicKey.hex)","office":"\#(office)","signature":"\#(signature)"}"#
        .utf8
    ).write(to: url.deletingPathExtension().appendingPathExtension("signature"))
    return url
  }

  /// Writes `cosigner`'s signature of a checkpoint's bytes under its own name, with no checkpoint beside it.
  private func cosign(_ checkpoint: Checkpoint, as cosigner: ReplicaID, in folder: SharedFolder) throws {
    let url = folder.url.appendingPathComponent("checkpoints/\(cosigner)/\(checkpoint.fileName)")
      .deletingPathExtension().appendingPathExtension("signature")
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    try CheckpointSignature(office: cosigner, checkpointBytes: checkpoint.bytes, key: TestKeys.key(cosigner)).canonicalJSON.write(to: url)
  }

  /// A member signs a false state alone (its key stolen, say): no new
  /// office starts from it, no office prunes by it, and the office whose
  /// turn it is to vouch for it builds other bytes, writes its own, and
  /// both are reported; the true one is used once a second office signs it.
  func testAFalseCheckpointSignedByOneRealMember_misleadsNobody() throws {
    let co = try cooperation("lone-signer")
    for office in co.offices { try co[office].setCheckpointInterval(0) }
    for office in co.offices { try co[office].setRetention(.days(0)) }
    try co.work(round: 1)
    try co.settle()
    let frontier = try co["ks"].frontier()
    // A case that no one wrote, with a consistent snapshot hash: only a
    // second office building the same frontier can tell.
    var lie = try co["agder"].makeCheckpoint(at: frontier)
    let index = try XCTUnwrap(lie.rows[3].firstIndex { $0[2] == "title".databaseValue })
    var value = [UInt8]([5])
    let text = Array("Forfalsket".utf8)
    value.append(UInt8(text.count))
    value += text
    lie.rows[3][index][7] = Data(value).databaseValue
    _ = try plant(lie, as: "agder", key: TestKeys.key("agder"), in: co.folder)
    XCTAssertNotEqual(lie.bytes, try co["ks"].makeCheckpoint(at: frontier).bytes)

    // Not used to start an office, and named by verify with the reason.
    let (joiner, joined) = try Store.joinWithTestKey(folder: co.folder, at: co.root.path("vestland-new"), replica: "vestland")
    XCTAssertNil(joined.adoptedCheckpoint)
    XCTAssertTrue(joined.badCheckpoints.contains { $0.reason.contains("signed by agder only") }, "\(joined.badCheckpoints)")
    XCTAssertFalse(try joiner.records(in: "cases").contains { $0.fields["title"] == .value(.text("Forfalsket")) })
    XCTAssertEqual(try joiner.snapshotHash().1, try co["ks"].snapshotHash().1)
    // Not used to prune: nothing of ks's goes, though every office acknowledged it and the retention is 0 days.
    let pruning = try co["ks"].prune(co.folder)
    XCTAssertEqual(pruning.removed, [])
    XCTAssertTrue(pruning.blocked?.contains("no checkpoint") == true, pruning.blocked ?? "")

    // Vestland's new machine, whose turn it was to vouch for it, built
    // other bytes in that first sync: it wrote its own, and the two are reported.
    XCTAssertEqual(joined.cosignedCheckpoint, lie.fileName)
    XCTAssertTrue(joined.badCheckpoints.contains { $0.reason.contains("checkpoints at the same frontier differ") }, "\(joined.badCheckpoints)")
    XCTAssertNil(try co["vestland"].cosignNewestCheckpoint(in: co.folder), "signed already, by its other machine")
    let own = co.folder.url.appendingPathComponent("checkpoints/vestland/\(lie.fileName)")
    XCTAssertTrue(FileManager.default.fileExists(atPath: own.path), "a copy of its own, not a signature of agder's")
    let problems = co.folder.verify().problems.map(\.reason)
    XCTAssertTrue(problems.contains { $0.contains("checkpoints at the same frontier differ") && $0.contains("agder (") }, "\(problems)")
    // A third office vouches for the true bytes, and they are used.
    XCTAssertEqual(try co["ks"].cosignNewestCheckpoint(in: co.folder), lie.fileName)
    XCTAssertFalse(FileManager.default.fileExists(atPath: co.folder.url.appendingPathComponent("checkpoints/ks/\(lie.fileName)").path))
    let (second, report) = try Store.joinWithTestKey(folder: co.folder, at: co.root.path("vestland-second"), replica: "vestland")
    XCTAssertEqual(report.adoptedCheckpoint?.name, lie.fileName)
    XCTAssertEqual(try second.snapshotHash().1, try co["ks"].snapshotHash().1)
    XCTAssertFalse(try second.records(in: "cases").contains { $0.fields["title"] == .value(.text("Forfalsket")) })
    XCTAssertFalse(try co["vestland"].prune(co.folder).removed.isEmpty, "pruning goes by the true one")
  }

  /// Signature files planted under other offices' names do not count,
  /// nor stop the real second signature.
  func testPlantedCosignatures_countForNothing() throws {
    let co = try cooperation("planted-cosignatures")
    for office in co.offices { try co[office].setCheckpointInterval(0) }
    let checkpoint = try co["ks"].writeCheckpoint(to: co.folder, at: try co["ks"].frontier())
    // Vestland's name, signed with agder's key; and agder's name with a signature of other bytes.
    let vestland = co.folder.url.appendingPathComponent("checkpoints/vestland/\(checkpoint.fileName)")
      .deletingPathExtension().appendingPathExtension("signature")
    try FileManager.default.createDirectory(at: vestland.deletingLastPathComponent(), withIntermediateDirectories: true)
    try CheckpointSignature(office: "vestland", checkpointBytes: checkpoint.bytes, key: TestKeys.key("agder")).canonicalJSON.write(to: vestland)
    var other = checkpoint
    other.rows[3].removeLast()
    try cosign(other, as: "agder", in: co.folder)
    let (_, joined) = try Store.joinWithTestKey(folder: co.folder, at: co.root.path("vestland-new"), replica: "vestland")
    XCTAssertNil(joined.adoptedCheckpoint)
    let reason = try XCTUnwrap(joined.badCheckpoints.first?.reason)
    XCTAssertTrue(reason.contains("signed by ks only") && reason.contains("not one of vestland's keys in force"), reason)
    // Vestland vouches: the file planted under its name does not make it look signed, and is written over.
    XCTAssertEqual(try co["vestland"].cosignNewestCheckpoint(in: co.folder), checkpoint.fileName)
    XCTAssertEqual(try CheckpointSignature(json: [UInt8](try Data(contentsOf: vestland))).key, TestKeys.key("vestland").publicKey)
    let (_, second) = try Store.joinWithTestKey(folder: co.folder, at: co.root.path("vestland-second"), replica: "vestland")
    XCTAssertEqual(second.adoptedCheckpoint?.name, checkpoint.fileName)
  }

  func testACheckpointWhoseStateIsNotTheSnapshotItClaims_isNotAdopted() throws {
    let co = try cooperation("lying-checkpoint")
    try co["ks"].setCheckpointInterval(0)
    let good = try co["ks"].writeCheckpoint(to: co.folder)
    XCTAssertEqual(try co["vestland"].cosignNewestCheckpoint(in: co.folder), good.fileName)
    try co.work(round: 1)
    try co.settle()
    // KS's key signs a newer checkpoint whose rows are not the state its
    // header's snapshot hash names: a record's title changed.
    var lie = try co["ks"].makeCheckpoint(at: try co["ks"].frontier())
    let index = try XCTUnwrap(lie.rows[3].firstIndex { $0[2] == "title".databaseValue })
    var writer = [UInt8]()
    writer.append(5)
    let text = Array("Forfalsket".utf8)
    writer.append(UInt8(text.count))
    writer += text
    lie.rows[3][index][7] = Data(writer).databaseValue
    _ = try plant(lie, as: "ks", key: TestKeys.key("ks"), in: co.folder)
    // And a second member's key vouches for it too: the state check still catches it.
    try cosign(lie, as: "vestland", in: co.folder)
    let (joiner, report) = try Store.joinWithTestKey(folder: co.folder, at: co.root.path("agder-new"), replica: "agder")
    XCTAssertEqual(report.adoptedCheckpoint?.name, good.fileName, "the lying one is passed over")
    XCTAssertTrue(
      report.badCheckpoints.contains { $0.reason.contains("not the") && $0.reason.contains("its header claims") }, "\(report.badCheckpoints)")
    XCTAssertEqual(try joiner.snapshotHash().1, try co["ks"].snapshotHash().1)
    XCTAssertFalse(try joiner.records(in: "cases").contains { $0.fields["title"] == .value(.text("Forfalsket")) })
  }

  func testCheckpointsAtOneFrontierWithDifferentBytes_areReportedWithTheirSigners() throws {
    let co = try cooperation("two-checkpoints")
    let frontier = try co["ks"].frontier()
    let honest = try co["ks"].writeCheckpoint(to: co.folder, at: frontier)
    var other = try co["vestland"].makeCheckpoint(at: frontier)
    XCTAssertEqual(other.bytes, honest.bytes, "every office writes the same bytes for a frontier")
    other.rows[3].removeLast()
    _ = try plant(other, as: "vestland", key: TestKeys.key("vestland"), in: co.folder)
    let problems = co.folder.verify().problems
    let problem = try XCTUnwrap(problems.first { $0.reason.contains("checkpoints at the same frontier differ") }, "\(problems)")
    XCTAssertTrue(problem.reason.contains("ks (") && problem.reason.contains("vestland ("), problem.reason)
  }
}
