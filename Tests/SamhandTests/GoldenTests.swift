import Foundation
import Samhand
import SamhandTestSupport
import XCTest

/// The golden files in `Fixtures/golden/v1/` pin the changeset format, the
/// folder layout and the snapshot encoding. Regenerate them only together
/// with a format version bump: `Tools/make-golden.sh`.
final class GoldenTests: XCTestCase {
  private var golden: URL { fixturesDirectory().appendingPathComponent("golden/v\(ChangesetFile.formatVersion)") }
  private var goldenFolder: SharedFolder { SharedFolder(golden.appendingPathComponent("folder")) }

  /// Runs the fixed scenario into a temporary folder.
  private func scenario() throws -> (SharedFolder, TemporaryDirectory) {
    let directory = TemporaryDirectory("golden")
    let folder = SharedFolder(directory.path("folder"))
    try GoldenScenario.write(folder: folder, workspace: directory.path("stores"))
    return (folder, directory)
  }

  private func changesetFiles(_ folder: SharedFolder) -> [String] {
    FolderCopier.files(under: folder.url).filter { $0.hasPrefix("changesets/") }
  }

  func testGolden_writeWhenAsked() throws {
    guard ProcessInfo.processInfo.environment["SAMHAND_WRITE_GOLDEN"] == "1" else { return }
    let (folder, _directory) = try scenario()
    _ = _directory
    // Only what this test writes: the export tests keep their own golden files here.
    try? FileManager.default.removeItem(at: goldenFolder.url)
    try? FileManager.default.removeItem(at: golden.appendingPathComponent("snapshot.json"))
    try FileManager.default.createDirectory(at: goldenFolder.url.appendingPathComponent("changesets"), withIntermediateDirectories: true)
    try FileManager.default.copyItem(
      at: folder.url.appendingPathComponent("samhand.json"), to: goldenFolder.url.appendingPathComponent("samhand.json"))
    for path in changesetFiles(folder) {
      let target = goldenFolder.url.appendingPathComponent(path)
      try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
      try FileManager.default.copyItem(at: folder.url.appendingPathComponent(path), to: target)
    }
    try folder.snapshot().bytes.write(to: golden.appendingPathComponent("snapshot.json"))
    print("wrote golden files to \(golden.path)")
  }

  func testGolden_existForTheCurrentFormatVersion() {
    XCTAssertTrue(
      FileManager.default.fileExists(atPath: goldenFolder.url.appendingPathComponent("samhand.json").path),
      "no golden folder for changeset format \(ChangesetFile.formatVersion): a format change needs a version bump and new golden files (Tools/make-golden.sh)")
  }

  func testGolden_changesetFilesDecodeToTheScenario() throws {
    let (folder, directory) = try scenario()
    defer { _ = directory }
    let expected = changesetFiles(folder)
    XCTAssertEqual(changesetFiles(goldenFolder), expected, "the scenario writes other files than the golden folder holds")
    XCTAssertEqual(expected.count, 5)
    for path in expected {
      let goldenBytes = [UInt8](try Data(contentsOf: goldenFolder.url.appendingPathComponent(path)))
      let freshBytes = [UInt8](try Data(contentsOf: folder.url.appendingPathComponent(path)))
      var decoded = try ChangesetFile.decode(goldenBytes)
      var fresh = try ChangesetFile.decode(freshBytes)
      // The signature covers the compressed payload, which another zlib may
      // compress differently; it must verify under the office's fixed key.
      let key = GoldenScenario.key(decoded.author).publicKey
      XCTAssertEqual(decoded.signatures.map(\.keyID), [key.hex], path)
      XCTAssertTrue(
        key.isValidSignature(decoded.signatures[0].bytes, of: try ChangesetFile.signedBytes(of: goldenBytes)), path)
      decoded.signatures = []
      fresh.signatures = []
      XCTAssertEqual(decoded, fresh, "\(path) decodes differently: format changed without a version bump?")
      // Header and uncompressed payload must be the same bytes; only zlib's
      // output may differ between zlib versions.
      XCTAssertEqual(try ChangesetFile.sections(goldenBytes), try ChangesetFile.sections(freshBytes), "\(path): encoding changed")
    }
  }

  func testGolden_folderIdentity() throws {
    // The changeset golden folder was written in layout 2, and still reads.
    let identity = try goldenFolder.identity()
    XCTAssertEqual(identity.storeID, GoldenScenario.storeID)
    XCTAssertEqual(identity.schema, .planning)
    XCTAssertEqual(identity.formatVersion, 2)
    // This Samhand writes the current layout's bytes, pinned in its own golden folder.
    let (folder, directory) = try scenario()
    defer { _ = directory }
    XCTAssertEqual(
      try Data(contentsOf: layoutGolden.appendingPathComponent("folder/samhand.json")),
      try Data(contentsOf: folder.url.appendingPathComponent("samhand.json")),
      "no golden folder for layout \(SharedFolder.plainLayout), or samhand.json changed without a layout bump")
  }

  // MARK: - Changeset format 2: dependencies against the previous changeset

  private var formatTwoGolden: URL {
    fixturesDirectory().appendingPathComponent("golden/v\(ChangesetFile.newestFormatVersion)/changesets/vestland")
  }

  func testGolden_writeFormatTwoWhenAsked() throws {
    guard ProcessInfo.processInfo.environment["SAMHAND_WRITE_GOLDEN"] == "1" else { return }
    try? FileManager.default.removeItem(at: formatTwoGolden)
    try FileManager.default.createDirectory(at: formatTwoGolden, withIntermediateDirectories: true)
    for file in GoldenScenario.formatTwoChain() {
      try Data(file.bytes).write(to: formatTwoGolden.appendingPathComponent(file.name))
    }
    print("wrote golden files to \(formatTwoGolden.path)")
  }

  /// The golden format 2 files decode, resolve along the chain to the
  /// dependencies they were written with, and are the bytes this Samhand
  /// writes (header and payload; only zlib's output may differ).
  func testGolden_formatTwoFilesResolveToTheirDependencies() throws {
    let fresh = GoldenScenario.formatTwoChain()
    var base = VersionVector()
    var versions: [UInt16] = []
    for file in fresh {
      let bytes = [UInt8](try Data(contentsOf: formatTwoGolden.appendingPathComponent(file.name)))
      let envelope = try ChangesetFile.open(bytes)
      versions.append(envelope.header.formatVersion)
      XCTAssertTrue(
        GoldenScenario.key("vestland").publicKey.isValidSignature(
          envelope.header.signatures[0].bytes, of: try ChangesetFile.signedBytes(of: bytes)), file.name)
      let resolved = try envelope.resolved(against: base)
      XCTAssertTrue(resolved.header.dependenciesResolved, file.name)
      XCTAssertEqual(resolved.header.dependencies, file.dependencies, "\(file.name) resolves to other dependencies")
      XCTAssertEqual(try ChangesetFile.sections(bytes), try ChangesetFile.sections(file.bytes), "\(file.name): encoding changed")
      base = file.dependencies
      base["vestland"] = envelope.header.sequence
    }
    XCTAssertEqual(versions, [1, 2, 2], "#1 has nothing to write against; #2 and #3 are smaller written against their base")
    // Against another base (a second installation's #1), #2 says so rather than misreading.
    let second = try ChangesetFile.open([UInt8](try Data(contentsOf: formatTwoGolden.appendingPathComponent(fresh[1].name))))
    var other = fresh[0].dependencies
    other["vestland"] = 1
    other["ks"] = 2
    XCTAssertThrowsError(try second.resolved(against: other)) { error in
      XCTAssertEqual((error as? SamhandError)?.code, .corruptChangeset)
      XCTAssertTrue("\(error)".contains("another previous changeset"), "\(error)")
    }
    // Unresolved, a reader knows a lower bound: the previous changeset.
    XCTAssertFalse(second.header.dependenciesResolved)
    XCTAssertEqual(second.header.dependencies, VersionVector(["vestland": 1]))
  }

  /// Folders of layout 4 (changeset format 1 only) still join and read.
  func testGolden_layout4FolderStillJoinsAndReads() throws {
    try checkLayoutFolder(fixturesDirectory().appendingPathComponent("golden/layout-4"), layout: 4)
  }

  func testGolden_layout5FolderStillJoinsAndReads() throws {
    try checkLayoutFolder(fixturesDirectory().appendingPathComponent("golden/layout-5"), layout: 5)
  }

  // MARK: - Pack files

  /// `Fixtures/golden/pack-1/`: the format 2 chain of vestland's three
  /// changesets in one pack, signed with vestland's golden key.
  private var packGolden: URL {
    fixturesDirectory().appendingPathComponent("golden/pack-\(PackFile.formatVersion)/changesets/vestland/000000000001-000000000003.pack")
  }

  private func freshPack() -> [UInt8] {
    PackFile.encode(
      storeID: GoldenScenario.storeID, office: "vestland", first: 1, members: GoldenScenario.formatTwoChain().map(\.bytes),
      signedBy: GoldenScenario.key("vestland"))
  }

  func testGolden_writePackWhenAsked() throws {
    guard ProcessInfo.processInfo.environment["SAMHAND_WRITE_GOLDEN"] == "1" else { return }
    try? FileManager.default.removeItem(at: packGolden)
    try FileManager.default.createDirectory(at: packGolden.deletingLastPathComponent(), withIntermediateDirectories: true)
    try Data(freshPack()).write(to: packGolden)
    print("wrote golden files to \(packGolden.path)")
  }

  /// The golden pack decodes to the golden format 2 files, byte for byte,
  /// under vestland's key; what this Samhand writes for them has the same
  /// bytes up to the signature (only zlib's output inside the changesets
  /// could differ between zlib versions), and the same name.
  func testGolden_packHoldsTheGoldenChangesets() throws {
    let bytes = [UInt8](try Data(contentsOf: packGolden))
    let range = try XCTUnwrap(PackFile.range(fromFileName: packGolden.lastPathComponent))
    let pack = try PackFile.decode(bytes, name: range)
    XCTAssertEqual(pack.key, GoldenScenario.key("vestland").publicKey)
    XCTAssertEqual(pack.storeID, GoldenScenario.storeID)
    for (index, member) in pack.members.enumerated() {
      let name = ChangesetFile.fileName(sequence: UInt64(index + 1))
      XCTAssertEqual(member, [UInt8](try Data(contentsOf: formatTwoGolden.appendingPathComponent(name))), name)
    }
    let fresh = freshPack()
    XCTAssertEqual(fresh.count, bytes.count)
    XCTAssertEqual(Array(fresh.dropLast(64)), Array(bytes.dropLast(64)), "the pack format changed without a version bump?")
  }

  // MARK: - Folder layout 3: checkpoints

  /// `Fixtures/golden/layout-N/`: the scenario's folder in the current
  /// layout, with KS's checkpoint of the first four changesets and KS's
  /// first changeset file pruned, as KS's retention would; from layout 6,
  /// KS's second changeset is in a pack file.
  private var layoutGolden: URL { fixturesDirectory().appendingPathComponent("golden/layout-\(SharedFolder.plainLayout)") }
  private static let checkpointFrontier = VersionVector(["agder": 1, "kdd": 1, "ks": 1, "vestland": 1])

  func testGolden_writeLayoutWhenAsked() throws {
    guard ProcessInfo.processInfo.environment["SAMHAND_WRITE_GOLDEN"] == "1" else { return }
    let (folder, directory) = try scenario()
    let ks = try Store.open(at: directory.path("stores").appendingPathComponent("ks"))
    _ = try ks.writeCheckpoint(to: folder, at: GoldenTests.checkpointFrontier)
    // Vestland vouches for the same bytes: a checkpoint is used once two offices sign it.
    let vestland = try Store.open(at: directory.path("stores").appendingPathComponent("vestland"))
    XCTAssertEqual(try vestland.cosignNewestCheckpoint(in: folder), "000000000004-4d46e811a77fa5a0.checkpoint")
    try FileManager.default.removeItem(at: folder.url.appendingPathComponent("changesets/ks/000000000001.changeset"))
    // KS's second changeset, the one after the checkpoint, in a pack.
    XCTAssertEqual(try ks.writePack(2...2, in: folder), "changesets/ks/000000000002-000000000002.pack")
    try FileManager.default.removeItem(at: folder.url.appendingPathComponent("changesets/ks/000000000002.changeset"))
    try? FileManager.default.removeItem(at: layoutGolden)
    try FileManager.default.createDirectory(at: layoutGolden, withIntermediateDirectories: true)
    try FileManager.default.createDirectory(at: layoutGolden.appendingPathComponent("folder"), withIntermediateDirectories: true)
    for path in FolderCopier.files(under: folder.url) where !path.hasPrefix("heads/") {
      let target = layoutGolden.appendingPathComponent("folder").appendingPathComponent(path)
      try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
      try FileManager.default.copyItem(at: folder.url.appendingPathComponent(path), to: target)
    }
    print("wrote golden files to \(layoutGolden.path)")
  }

  private func goldenCheckpoint() throws -> (SharedFolder.CheckpointEntry, Checkpoint) {
    let folder = SharedFolder(layoutGolden.appendingPathComponent("folder"))
    let entries = folder.checkpoints()
    XCTAssertEqual(entries.map(\.office), ["ks"])
    let entry = try XCTUnwrap(entries.first)
    return (entry, try Checkpoint(bytes: [UInt8](try Data(contentsOf: entry.url)), fileURL: entry.url))
  }

  func testGolden_checkpointDecodesToWhatThisSamhandWrites() throws {
    let (entry, golden) = try goldenCheckpoint()
    XCTAssertEqual(golden.frontier, GoldenTests.checkpointFrontier)
    XCTAssertEqual(golden.storeID, GoldenScenario.storeID)
    let (_, directory) = try scenario()
    let ks = try Store.open(at: directory.path("stores").appendingPathComponent("ks"))
    let fresh = try ks.makeCheckpoint(at: GoldenTests.checkpointFrontier)
    XCTAssertEqual(fresh.fileName, entry.name)
    // Every field and row the same; only zlib's output may differ between zlib versions.
    XCTAssertEqual(golden, fresh, "the checkpoint format changed without a version bump?")
    XCTAssertEqual(golden.snapshotHash, try ks.snapshot(at: GoldenTests.checkpointFrontier).sha256)
    let signature = try CheckpointSignature(json: [UInt8](try Data(contentsOf: entry.signatureURL)))
    XCTAssertEqual(signature.key, GoldenScenario.key("ks").publicKey)
  }

  func testGolden_layoutFolderJoinsFromItsCheckpointAndReadsAsTheGoldenSnapshot() throws {
    try checkLayoutFolder(layoutGolden, layout: SharedFolder.plainLayout)
  }

  /// The layout 3 folder (a genesis roster of format 1, whose offices
  /// claimed their keys on first use) still reads as it did, once a second
  /// office vouches for its checkpoint: Samhands before co-signatures
  /// signed checkpoints alone, and one signature no longer starts an office.
  func testGolden_layout3FolderStillJoinsAndReads_onceItsCheckpointIsCosigned() throws {
    let fixture = fixturesDirectory().appendingPathComponent("golden/layout-3")
    let directory = TemporaryDirectory("golden-layout-3-waits")
    try FileManager.default.copyItem(at: fixture.appendingPathComponent("folder"), to: directory.path("folder"))
    let folder = SharedFolder(directory.path("folder"))
    let problems = folder.verify().problems.map(\.reason)
    XCTAssertTrue(problems.contains { $0.contains("signed by ks only") && $0.contains("2 active offices") }, "\(problems)")
    let (nordland, report) = try Store.join(folder: folder, at: directory.path("nordland"), replica: "nordland")
    XCTAssertNil(report.adoptedCheckpoint, "one office's signature is not enough")
    XCTAssertFalse(try nordland.pending().isEmpty, "the changesets after the pruned ks#1 wait")
    try checkLayoutFolder(fixture, layout: 3) { folder in
      let entry = try XCTUnwrap(folder.checkpoints().first)
      let signature = CheckpointSignature(
        office: "vestland", checkpointBytes: [UInt8](try Data(contentsOf: entry.url)), key: GoldenScenario.key("vestland"))
      let url = folder.url.appendingPathComponent("checkpoints/vestland/000000000004-4d46e811a77fa5a0.signature")
      try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
      try signature.canonicalJSON.write(to: url)
    }
  }

  private func checkLayoutFolder(_ fixture: URL, layout: Int, prepare: (SharedFolder) throws -> Void = { _ in }) throws {
    let directory = TemporaryDirectory("golden-layout")
    try FileManager.default.copyItem(at: fixture.appendingPathComponent("folder"), to: directory.path("folder"))
    let folder = SharedFolder(directory.path("folder"))
    try prepare(folder)
    XCTAssertEqual(try folder.identity().formatVersion, layout)
    XCTAssertEqual(folder.verify().problems, [], "the pruned file is covered by the checkpoint")
    let (nordland, report) = try Store.join(folder: folder, at: directory.path("nordland"), replica: "nordland")
    XCTAssertEqual(report.adoptedCheckpoint?.frontier, GoldenTests.checkpointFrontier)
    XCTAssertEqual(report.imported.count, 1, "only ks#2 comes after the checkpoint")
    XCTAssertEqual(report.setAside, [])
    XCTAssertEqual(try nordland.snapshot().bytes, try Data(contentsOf: golden.appendingPathComponent("snapshot.json")))
    XCTAssertEqual(try folder.snapshot().bytes, try Data(contentsOf: golden.appendingPathComponent("snapshot.json")))
  }

  func testGolden_snapshotOfTheGoldenFolder() throws {
    let expected = try Data(contentsOf: golden.appendingPathComponent("snapshot.json"))
    XCTAssertEqual(try goldenFolder.snapshot().bytes, expected)
    let text = String(decoding: expected, as: UTF8.self)
    XCTAssertTrue(text.hasPrefix("{\"collections\":{\"cases\":{\"sak-2025-014\":"), text)
    XCTAssertTrue(text.contains("\"kind\":\"delete\""), "the open update/delete conflict is in the snapshot")
    XCTAssertTrue(text.contains("\"key\":\"kdd\""), "the open map-key conflict is in the snapshot")
    XCTAssertFalse(text.contains("\n"))
    XCTAssertEqual(goldenFolder.verify().problems, [])
  }
}

final class SnapshotHistoryTests: XCTestCase {
  private var goldenFolder: SharedFolder {
    SharedFolder(fixturesDirectory().appendingPathComponent("golden/v\(ChangesetFile.formatVersion)/folder"))
  }

  func testSnapshot_atAnEarlierFrontierMatchesWhatAReplicaHadThen() throws {
    let directory = TemporaryDirectory("as-of")
    let folder = SharedFolder(directory.path("folder"))
    let ks = try Store.create(folder: folder, at: directory.path("ks"), replica: "ks", schema: .planning)
    try ks.transact { try $0.set("cases", "sak-1", "status", .text("ny")) }
    try ks.transact { try $0.add("cases", "sak-1", "participants", "ks") }
    let then = try ks.snapshot()
    try ks.transact { try $0.set("cases", "sak-1", "status", .text("avsluttet")) }
    try ks.transact { try $0.delete("cases", "sak-1") }
    XCTAssertEqual(try ks.snapshot(at: then.frontier).bytes, then.bytes)
    try ks.sync(with: folder)
    XCTAssertEqual(try folder.snapshot(at: then.frontier).bytes, then.bytes)
    XCTAssertEqual(try ks.snapshot(at: try ks.frontier()).bytes, try ks.snapshot().bytes)
    XCTAssertThrowsError(try ks.snapshot(at: VersionVector(["ks": 99]))) { error in
      XCTAssertTrue(SamhandError.invalidArgument ~= error)
    }
  }

  func testSnapshot_asOfADate() throws {
    // The golden scenario's changesets are at 08:01 (ks), 08:02 (vestland),
    // 08:03 (agder), 08:04 (kdd) and 08:05 (ks) on 1 June 2026.
    let formatter = ISO8601DateFormatter()
    let before = try goldenFolder.snapshot(asOf: formatter.date(from: "2026-06-01T07:00:00Z")!)
    XCTAssertEqual(before.frontier, VersionVector())
    let early = try goldenFolder.snapshot(asOf: formatter.date(from: "2026-06-01T08:02:30Z")!)
    XCTAssertEqual(early.frontier, VersionVector(["ks": 1, "vestland": 1]))
    XCTAssertEqual(early.records["cases"]?.first?.fields["status"], .value(.text("under-arbeid")))
    let all = try goldenFolder.snapshot(asOf: formatter.date(from: "2026-06-02T00:00:00Z")!)
    XCTAssertEqual(all.bytes, try goldenFolder.snapshot().bytes)
  }

  func testSnapshot_aFrontierThatIsNotCausallyCompleteIsRefused() throws {
    // kdd#1 depends on ks#1, so {kdd: 1} alone is not a state anyone had.
    XCTAssertThrowsError(try goldenFolder.snapshot(at: VersionVector(["kdd": 1]))) { error in
      XCTAssertTrue("\(error)".contains("not causally complete"), "\(error)")
    }
  }
}
