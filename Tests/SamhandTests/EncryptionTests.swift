import Foundation
import Samhand
import SamhandTestSupport
import XCTest

/// Offices on one encrypted folder: KS founds it, the others join as with
/// `samhand init`, and KS confirms their keys.
private final class EncryptedOffices {
  let root = TemporaryDirectory("encryption")
  let folder: SharedFolder
  var stores: [ReplicaID: Store] = [:]

  init(_ others: [ReplicaID], encrypted: Bool = true) throws {
    folder = SharedFolder(root.path("shared"))
    stores["ks"] = try Store.create(folder: folder, at: root.path("ks"), replica: "ks", schema: .planning, encrypted: encrypted)
    try stores["ks"]!.sync(with: folder)
    for office in others { try join(office) }
  }

  /// Joins as `office` and claims its key; KS confirms it unless told not to.
  @discardableResult
  func join(_ office: ReplicaID, confirmed: Bool = true) throws -> Store {
    let store = try Store.join(folder: folder, at: root.path(office.rawValue), replica: office).0
    stores[office] = store
    try store.claimKeyIfNeeded()
    try store.sync(with: folder)
    if confirmed {
      try sync("ks")
      try self["ks"].confirmKey(try store.publicKey(), of: office)
      try sync("ks")
      try store.sync(with: folder)
    }
    return store
  }

  subscript(office: ReplicaID) -> Store { stores[office]! }

  @discardableResult
  func sync(_ office: ReplicaID) throws -> SyncReport { try self[office].sync(with: folder) }

  func syncAll() throws {
    for _ in 0..<2 { for office in stores.keys.sorted() { try sync(office) } }
  }

  /// Every regular file under the shared folder, with its path.
  func files() throws -> [(path: String, bytes: [UInt8])] {
    let base = folder.url.path
    var found: [(String, [UInt8])] = []
    let walker = FileManager.default.enumerator(atPath: base)!
    while let relative = walker.nextObject() as? String {
      var isDirectory: ObjCBool = false
      let path = base + "/" + relative
      guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
      found.append((relative, [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))))
    }
    return found.sorted { $0.0 < $1.0 }
  }

  /// A changeset signed with `office`'s key and sealed with `key`, never
  /// committed by its replica, put where its file belongs.
  @discardableResult
  func forge(_ office: ReplicaID, sealedWith key: GroupKey?, _ edits: [Edit]) throws -> Changeset.ID {
    let store = self[office]
    let context = try store.frontier()
    let changeset = Changeset(
      storeID: store.storeID, author: office, sequence: context[office] + 1, dependencies: context,
      lamport: 10_000, timestamp: 1_780_300_800_000, edits: edits)
    let bytes = ChangesetFile.encode(changeset, signedBy: try store.exportSigningKey(), base: nil, sealedWith: key)
    let url = folder.changesetURL(changeset.id)
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    try Data(bytes).write(to: url)
    return changeset.id
  }
}

private let secretTitle = "Regional plan for vassforvaltning: fortrolig utkast"

private func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
  guard haystack.count >= needle.count else { return false }
  for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
    if Array(haystack[start..<(start + needle.count)]) == needle { return true }
  }
  return false
}

final class EncryptionTests: XCTestCase {
  /// Issue 19, point 1: what is written in an encrypted folder is read by
  /// every office that holds the group key and by nobody else; the folder
  /// holds no record in readable form.
  func testEncryptedFolder_officesReadEachOtherAndTheFolderHoldsNoPlaintext() throws {
    let offices = try EncryptedOffices(["vestland", "kdd"])
    try offices.syncAll()
    for office: ReplicaID in ["ks", "vestland", "kdd"] {
      let state = try XCTUnwrap(try offices[office].encryptionState())
      XCTAssertTrue(state.holdsKeyInForce, "\(office): \(state)")
      XCTAssertTrue(state.agreementKeyPublished, "\(office)")
      XCTAssertFalse(state.isWaitingForKey, "\(office)")
    }
    try offices["vestland"].transact { tx in
      try tx.set("cases", "sak-1", "title", .text(secretTitle))
      try tx.set("cases", "sak-1", "owner", .text("vestland"))
    }
    try offices["kdd"].transact { try $0.set("membership", "m-1", "organisation", .text("kdd")) }
    try offices.syncAll()
    XCTAssertEqual(try offices["ks"].record("cases", "sak-1")?.fields["title"], .value(.text(secretTitle)))
    XCTAssertEqual(Set(try offices.stores.values.map { try $0.snapshot().bytes }).count, 1)

    // Plaintext search: neither the title nor any record id appears in any
    // file, and no changeset with records opens without the key.
    let files = try offices.files()
    XCTAssertTrue(files.contains { $0.path.hasPrefix("keys/") }, files.map(\.path).joined(separator: " "))
    for (path, bytes) in files {
      XCTAssertFalse(contains(bytes, Array(secretTitle.utf8)), path)
      XCTAssertFalse(contains(bytes, Array("sak-1".utf8)), path)
    }
    var sealed = 0
    for (path, bytes) in files where path.hasSuffix(".changeset") {
      let envelope = try ChangesetFile.open(bytes)
      if envelope.header.keyID != nil {
        sealed += 1
        XCTAssertThrowsError(try ChangesetFile.decode(bytes)) { XCTAssertTrue(SamhandError.missingKey ~= $0, "\($0)") }
        XCTAssertNoThrow(try ChangesetFile.decode(bytes, keys: try offices["kdd"].groupKeys()))
      } else {
        // Only roster changes go in plain form.
        XCTAssertTrue(try ChangesetFile.decode(bytes).edits.allSatisfy { $0.record.collection == Roster.collection }, path)
      }
    }
    XCTAssertGreaterThanOrEqual(sealed, 2)

    // Reading the folder: refused without keys, the same snapshot with them.
    XCTAssertThrowsError(try offices.folder.snapshot()) { error in
      XCTAssertTrue(SamhandError.missingKey ~= error, "\(error)")
      XCTAssertTrue("\(error)".contains("encrypted"), "\(error)")
    }
    XCTAssertEqual(try offices.folder.snapshot(keys: try offices["ks"].groupKeys()).bytes, try offices["ks"].snapshot().bytes)
    let verification = offices.folder.verify()
    XCTAssertTrue(verification.isSound, "\(verification.problems)")
    XCTAssertEqual(verification.sealedUnread, sealed)
    XCTAssertEqual(offices.folder.verify(keys: try offices["ks"].groupKeys()).sealedUnread, 0)
    // The key file round-trips.
    let keys = try offices["ks"].groupKeys()
    XCTAssertEqual(try GroupKeyring(fileText: keys.fileText), keys)
  }

  /// An office that joins waits for the key without losing anything: it
  /// cannot write records, says so, and reads everything once an
  /// administrator has synced after confirming its key.
  func testNewOffice_waitsForTheKeyThenReadsEverything() throws {
    let offices = try EncryptedOffices(["kdd"])
    try offices["kdd"].transact { try $0.set("membership", "m-1", "organisation", .text("kdd")) }
    try offices.sync("kdd")
    let agder = try offices.join("agder", confirmed: false)
    let waiting = try XCTUnwrap(try agder.encryptionState())
    XCTAssertTrue(waiting.isWaitingForKey)
    XCTAssertFalse(waiting.holdsKeyInForce)
    XCTAssertThrowsError(try agder.transact { try $0.set("membership", "m-2", "organisation", .text("agder")) }) { error in
      XCTAssertTrue(SamhandError.missingKey ~= error, "\(error)")
      XCTAssertTrue("\(error)".contains("group key"), "\(error)")
    }
    let report = try offices.sync("agder")
    XCTAssertGreaterThan(report.waitingForKey, 0)
    XCTAssertNil(try agder.record("membership", "m-1"))
    // KS confirms the key and syncs: its key file now holds agder's key.
    try offices.sync("ks")
    try offices["ks"].confirmKey(try agder.publicKey(), of: "agder")
    let confirming = try offices.sync("ks")
    XCTAssertNotNil(confirming.wrappedKeysWritten)
    let arrived = try offices.sync("agder")
    XCTAssertEqual(arrived.groupKeysReceived, 1)
    XCTAssertEqual(arrived.waitingForKey, 0)
    XCTAssertEqual(try agder.record("membership", "m-1")?.fields["organisation"], .value(.text("kdd")))
    XCTAssertFalse(try XCTUnwrap(try agder.encryptionState()).isWaitingForKey)
    try agder.transact { try $0.set("membership", "m-2", "organisation", .text("agder")) }
    try offices.syncAll()
    XCTAssertEqual(Set(try offices.stores.values.map { try $0.snapshot().bytes }).count, 1)
  }

  /// Revoking a key rotates the group key: what is written after it is
  /// unreadable with the old key; the revoked office keeps what it had.
  /// Attack: a changeset sealed with the old key after the rotation is
  /// rejected by every office.
  func testRevocation_rotatesTheGroupKey() throws {
    let offices = try EncryptedOffices(["vestland", "agder"])
    try offices["vestland"].transact { try $0.set("membership", "m-1", "organisation", .text("vestland")) }
    try offices.syncAll()
    let old = try XCTUnwrap(try offices["ks"].encryptionState()?.keyInForce)
    let oldKey = try XCTUnwrap(try offices["ks"].groupKeys()[old])
    let stolen = try offices["vestland"].publicKey()
    let seen = try offices["ks"].frontier()["vestland"]
    try offices["ks"].transact { try $0.revokeKey(stolen, of: "vestland", from: seen + 1) }
    let new = try XCTUnwrap(try offices["ks"].encryptionState()?.keyInForce)
    XCTAssertNotEqual(new, old)
    try offices.syncAll()
    XCTAssertEqual(try offices["agder"].encryptionState()?.keyInForce, new)
    XCTAssertNotNil(try offices["agder"].groupKeys()[new])
    XCTAssertNil(try offices["vestland"].groupKeys()[new], "the revoked office got the new key")
    try offices["agder"].transact { try $0.set("membership", "m-2", "organisation", .text("agder")) }
    try offices.syncAll()
    let agderFile = offices.folder.changesetURL(Changeset.ID(author: "agder", sequence: try offices["agder"].frontier()["agder"]))
    let bytes = [UInt8](try Data(contentsOf: agderFile))
    XCTAssertEqual(try ChangesetFile.open(bytes).header.keyID, new)
    XCTAssertThrowsError(try ChangesetFile.decode(bytes, keys: GroupKeyring([oldKey])))
    XCTAssertNil(try offices["vestland"].record("membership", "m-2"))
    XCTAssertNotNil(try offices["vestland"].record("membership", "m-1"), "old files stay readable to those who had them")
    // Agder, a member, seals a changeset with the old key after the rotation.
    let forged = try offices.forge("agder", sealedWith: oldKey, [.set(RecordRef("membership", "m-2"), field: "role", value: .text("x"))])
    let report = try offices.sync("ks")
    XCTAssertTrue(report.rejected[forged]?.contains("not the one in force") == true, "\(report.rejected)")
  }

  /// A checkpoint of an encrypted folder is sealed, the same bytes on
  /// every office (a second signature is one small file), and a new
  /// office starts from it once it has the key.
  func testCheckpoint_isSealedTheSameEverywhereAndANewOfficeStartsFromIt() throws {
    let offices = try EncryptedOffices(["kdd"])
    for round in 1...3 {
      try offices["kdd"].transact { try $0.set("membership", "m-\(round)", "organisation", .text("kdd")) }
      try offices.syncAll()
    }
    let checkpoint = try offices["ks"].writeCheckpoint(to: offices.folder)
    let url = offices.folder.url.appendingPathComponent("checkpoints/ks/\(checkpoint.fileName)")
    let bytes = [UInt8](try Data(contentsOf: url))
    XCTAssertNotNil(try Checkpoint.header(of: bytes).keyID)
    XCTAssertThrowsError(try Checkpoint(bytes: bytes)) { XCTAssertTrue(SamhandError.missingKey ~= $0, "\($0)") }
    XCTAssertFalse(contains(bytes, Array("m-1".utf8)))
    // KDD builds the same sealed bytes, so it only signs KS's copy.
    _ = try offices["kdd"].writeCheckpoint(to: offices.folder, at: checkpoint.frontier)
    let kddFiles = try offices.files().filter { $0.path.hasPrefix("checkpoints/kdd/") }.map(\.path)
    XCTAssertEqual(kddFiles, ["checkpoints/kdd/\(checkpoint.fileName.replacingOccurrences(of: ".checkpoint", with: ".signature"))"])
    for office: ReplicaID in ["ks", "kdd"] {
      try offices[office].setRetention(.days(0))
      _ = try offices[office].prune(offices.folder, now: Date().addingTimeInterval(86_400))
    }
    XCTAssertFalse(try offices.files().contains { $0.path == "changesets/kdd/000000000002.changeset" }, "pruned")
    // A new office reads nothing sealed until KS gives it the key, then starts from the checkpoint.
    let agder = try offices.join("agder")
    XCTAssertEqual(try agder.checkpointBase()?.frontier, checkpoint.frontier)
    try offices.syncAll()
    XCTAssertEqual(try agder.snapshot().bytes, try offices["kdd"].snapshot().bytes)
  }

  /// The encryption is pinned with the roster: a folder whose
  /// `samhand.json` was rewritten without it is refused.
  func testEncryption_isPinnedByTheRosterHash() throws {
    let offices = try EncryptedOffices([])
    var identity = try offices.folder.identity()
    XCTAssertEqual(identity.formatVersion, 7)
    XCTAssertEqual(identity.roster?.encryption, "chacha20-poly1305")
    identity.roster?.encryption = nil
    identity.formatVersion = 6
    try identity.canonicalJSON.write(to: offices.folder.url.appendingPathComponent("samhand.json"))
    XCTAssertThrowsError(try offices.sync("ks")) { XCTAssertTrue(SamhandError.untrusted ~= $0, "\($0)") }
    // A plain folder stays as it was: layout 6, no keys, nothing sealed.
    let plain = try EncryptedOffices(["vestland"], encrypted: false)
    try plain["vestland"].transact { try $0.set("membership", "m-1", "organisation", .text("vestland")) }
    try plain.syncAll()
    XCTAssertEqual(try plain.folder.identity().formatVersion, 6)
    XCTAssertNil(try plain["ks"].encryptionState())
    XCTAssertFalse(try plain.files().contains { $0.path.hasPrefix("keys/") })
  }
}
