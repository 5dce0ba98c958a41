import Crypto
import Foundation
import GRDB

// Encrypted folders (`Docs/FORMATS.md` §15): the group keys a store holds,
// sealing local changesets, judging sealed ones, setting up and rotating
// the group key, and the `keys/` files that carry it to every office.

/// Where an office stands in an encrypted folder.
public struct EncryptionState: Sendable, Hashable {
  /// The group key in force in the roster at this replica's frontier.
  public var keyInForce: GroupKeyID?
  /// Whether this store holds it: without it the office can write only
  /// roster changes, and reads nothing sealed.
  public var holdsKeyInForce: Bool
  /// How many group keys the store holds.
  public var keysHeld: Int
  /// Files of the folder that the last sync left unread for want of a key.
  public var filesWaiting: Int
  /// This office's agreement public key (hex), which group keys are wrapped for.
  public var agreementKey: String
  /// Whether the roster at this replica's frontier lists it for the key the office signs with.
  public var agreementKeyPublished: Bool

  /// Whether the office waits for an administrator to give it the group key.
  public var isWaitingForKey: Bool { !holdsKeyInForce || filesWaiting > 0 }
}

extension Store {
  /// Whether this store's folder seals its payloads.
  var isEncrypted: Bool { genesis?.isEncrypted == true }

  private static let groupKeyMeta = "group_key "

  static func loadGroupKeys(_ db: Database) throws -> GroupKeyring {
    var ring = GroupKeyring()
    // Keys are kept in `meta` as `group_key <id>` → the key in hex.
    for value in try String.fetchAll(
      db, sql: "SELECT value FROM meta WHERE key >= ? AND key < ?", arguments: [groupKeyMeta, "group_key!"])
    {
      if let bytes = PublicKey.bytes(hex: value), let key = try? GroupKey(bytes: bytes) { ring.insert(key) }
    }
    return ring
  }

  /// The group keys held; read again from the database when `id` is not among them.
  func keyring(_ db: Database, needing id: GroupKeyID? = nil) throws -> GroupKeyring {
    guard isEncrypted else { return .empty }
    if let cached = keyringCache.withLock({ $0 }), id.map({ cached[$0] != nil }) ?? true { return cached }
    let ring = try Store.loadGroupKeys(db)
    keyringCache.withLock { $0 = ring }
    return ring
  }

  func addGroupKey(_ key: GroupKey, _ db: Database) throws {
    try Store.setMeta(db, Store.groupKeyMeta + key.id.hex, Data(key.bytes).hexString)
    keyringCache.withLock { $0 = nil }
  }

  /// The group keys this store holds: what `samhand key export-group` writes.
  public func groupKeys() throws -> GroupKeyring { try read { db in try keyring(db) } }

  /// Adds group keys from a key file (a restored installation, or keys
  /// given by hand); returns how many were new.
  @discardableResult
  public func importGroupKeys(_ keys: GroupKeyring) throws -> Int {
    guard isEncrypted else { throw SamhandError(.invalidArgument, "this store's folder is not encrypted: it uses no group keys") }
    return try write { db in
      let held = try keyring(db)
      var added = 0
      for id in keys.ids where held[id] == nil {
        try addGroupKey(keys[id]!, db)
        added += 1
      }
      return added
    }
  }

  /// This office's agreement key, derived from its signing key.
  public func agreementKey() throws -> AgreementKey { AgreementKey(for: try read { db in try signingKey(db) }) }

  /// Where this office stands in an encrypted folder; nil when the folder is not encrypted.
  public func encryptionState() throws -> EncryptionState? {
    guard isEncrypted else { return nil }
    return try read { db in
      let roster = try self.roster(at: try Store.readFrontier(db), db)
      let ring = try keyring(db, needing: roster.groupKeyID)
      let signing = try signingKey(db)
      let agreement = AgreementKey(for: signing)
      return EncryptionState(
        keyInForce: roster.groupKeyID, holdsKeyInForce: roster.groupKeyID.map { ring[$0] != nil } ?? false,
        keysHeld: ring.keys.count, filesWaiting: Int(try Store.meta(db, "waiting_for_key") ?? "0") ?? 0,
        agreementKey: agreement.publicKeyHex,
        agreementKeyPublished: roster.members[replica]?.agreementKeys[agreement.publicKeyHex] == signing.publicKey)
    }
  }

  // MARK: - Sealing and judging

  /// The key a local changeset of `edits` is sealed with, judged against
  /// the roster at its dependencies: the group key in force; none for a
  /// changeset of roster changes alone while the office lacks it.
  ///
  /// - Throws: `SamhandError.missingKey` for other edits while the office
  ///   lacks the key: nothing may be written in plain form.
  func sealingKey(for edits: [Edit], roster: Roster, _ db: Database) throws -> GroupKey? {
    guard isEncrypted else { return nil }
    if let id = roster.groupKeyID, let key = try keyring(db, needing: id)[id] { return key }
    if edits.allSatisfy({ $0.record.collection == Roster.collection }) { return nil }
    let admins = roster.sortedMembers.filter { $0.isAdministrator && !$0.isRetired }.map(\.office.rawValue)
    throw SamhandError(
      .missingKey,
      "this folder is encrypted and this office does not hold its group key yet, so it cannot write records: an administrator (\(admins.joined(separator: ", "))) must sync after confirming this office's key; 'samhand status' says when the key has arrived. Nothing was written")
  }

  /// Why a changeset breaks the encryption rules, judged alike everywhere
  /// from its header, its edits and the roster in force for it; nil when
  /// it does not. In an encrypted folder every changeset is sealed with
  /// the group key in force in its causal past, except one of roster
  /// changes alone (how an office without the key publishes its agreement
  /// key, and how the founder puts the first key in force).
  static func sealingViolation(keyID: GroupKeyID?, edits: [Edit], roster: Roster) -> String? {
    guard roster.isEncrypted else {
      return keyID == nil ? nil : "it is sealed with a group key, and this folder is not encrypted"
    }
    guard let keyID else {
      return edits.allSatisfy({ $0.record.collection == Roster.collection })
        ? nil : "it holds records in plain form, and this folder is encrypted"
    }
    guard keyID == roster.groupKeyID else {
      return "it is sealed with group key \(keyID.hex.prefix(12)), not the one in force in its causal past (\(roster.groupKeyID.map { String($0.hex.prefix(12)) } ?? "none"))"
    }
    return nil
  }

  /// A new group key for a changeset of an administrator that revokes a
  /// key or retires an office, and the roster change that puts it in
  /// force: changesets written after it are sealed with a key the revoked
  /// or retired office never gets.
  func rotation(for edits: [Edit], roster: Roster) -> (edit: Edit, key: GroupKey)? {
    guard isEncrypted, roster.members[replica]?.isAdministrator == true else { return nil }
    let revokesOrRetires = edits.contains { edit in
      guard edit.record.collection == Roster.collection else { return false }
      switch edit {
      case .put(_, "revoked", _, _), .set(_, "status", .text("retired")): return true
      default: return false
      }
    }
    guard revokesOrRetires, !edits.contains(where: { if case .set(_, "group-key", _) = $0 { true } else { false } }) else {
      return nil
    }
    let key = GroupKey.generate()
    return (.set(RecordRef(Roster.collection, replica.rawValue), field: "group-key", value: .text(key.id.hex)), key)
  }

  // MARK: - Setting up

  /// In an encrypted folder, the roster change this office still needs:
  /// its agreement key for the key it signs with, and, for an
  /// administrator while no group key is in force (the founder's first
  /// sync), a first group key. Committed as one changeset of roster
  /// changes, in plain form (nobody holds a key yet). Nil when nothing is needed.
  @discardableResult
  public func setUpEncryptionIfNeeded() throws -> Changeset? {
    guard isEncrypted else { return nil }
    let (roster, signing): (Roster, SigningKey) = try read { db in
      (try self.roster(at: try Store.readFrontier(db), db), try self.signingKey(db))
    }
    guard let member = roster.members[replica], !member.isRetired, member.revoked[signing.publicKey] == nil else { return nil }
    let agreement = AgreementKey(for: signing)
    var edits: [Edit] = []
    let own = RecordRef(Roster.collection, replica.rawValue)
    if member.agreementKeys[agreement.publicKeyHex] != signing.publicKey {
      edits.append(.put(own, field: "agreement", key: agreement.publicKeyHex, value: .text(signing.publicKey.hex)))
    }
    var first: GroupKey?
    if roster.groupKeyID == nil, member.isAdministrator, member.keys.contains(signing.publicKey) {
      let key = GroupKey.generate()
      first = key
      edits.append(.set(own, field: "group-key", value: .text(key.id.hex)))
    }
    guard !edits.isEmpty else { return nil }
    return try commit(
      edits, timestamp: Int64((Date().timeIntervalSince1970 * 1000).rounded()), expecting: nil,
      alsoInTransaction: { _, db in if let first { try self.addGroupKey(first, db) } })
  }

  // MARK: - Key files in the folder

  /// Reads the `keys/` files of the folder and takes every group key
  /// wrapped there for this office's agreement key (and that opens to the
  /// id it names). Skipped, unless `force`, when the store holds the key in
  /// force and nothing waited for a key.
  ///
  /// - Returns: how many keys were new, and files that could not be read.
  func receiveGroupKeys(from folder: SharedFolder, force: Bool) throws -> (added: Int, problems: [FolderProblem]) {
    guard isEncrypted else { return (0, []) }
    if !force, let state = try encryptionState(), !state.isWaitingForKey { return (0, []) }
    let agreement = try agreementKey()
    guard let items = try folder.exchange.list(KeyringFile.directory) else { return (0, []) }
    var found: [GroupKey] = []
    var problems: [FolderProblem] = []
    for item in items.sorted(by: { $0.name < $1.name }) {
      guard KeyringFile.office(fromFileName: item.name) != nil else { continue }
      let path = "\(KeyringFile.directory)/\(item.name)"
      do {
        let bytes = try folder.read(folder.url.appendingPathComponent(path), kind: .keyring)
        let file = try KeyringFile(json: bytes, fileURL: folder.url.appendingPathComponent(path))
        guard file.storeID == storeID else { throw SamhandError(.wrongStore, "key file of store \(file.storeID)") }
        for wrapped in file.wrapped where wrapped.office == replica {
          if let key = wrapped.unwrap(with: agreement, store: storeID) { found.append(key) }
        }
      } catch let error as SamhandError where error.code != .storage {
        problems.append(FolderProblem(path: path, reason: error.message))
      }
    }
    let added = try write { db in
      let held = try keyring(db)
      var added = 0
      for key in found where held[key.id] == nil {
        try addGroupKey(key, db)
        added += 1
      }
      return added
    }
    return (added, problems)
  }

  /// For an administrator: writes `keys/<office>.keys` with every group
  /// key it holds wrapped for every active agreement key of every active
  /// office, when that set changed since it last wrote the file or the
  /// file is not the one it wrote (gone, replaced, damaged).
  ///
  /// - Returns: how many wrapped keys the file holds, or nil when it was not written.
  @discardableResult
  func distributeGroupKeys(to folder: SharedFolder) throws -> Int? {
    guard isEncrypted else { return nil }
    let (roster, ring, signing, written): (Roster, GroupKeyring, SigningKey, String?) = try read { db in
      (try self.roster(at: try Store.readFrontier(db), db), try self.keyring(db), try self.signingKey(db), try Store.meta(db, "keys_written"))
    }
    guard let me = roster.members[replica], me.isAdministrator, !me.isRetired, me.activeKeys.contains(signing.publicKey)
    else { return nil }
    var needed: [(ReplicaID, [UInt8], GroupKey)] = []
    for member in roster.sortedMembers {
      for hex in member.activeAgreementKeys {
        guard let recipient = PublicKey.bytes(hex: hex) else { continue }
        for id in ring.ids { needed.append((member.office, recipient, ring[id]!)) }
      }
    }
    var digest = SHA256()
    for (office, recipient, key) in needed { digest.update(data: Array("\(office) ".utf8) + recipient + key.id.rawValue) }
    let wanted = Data(digest.finalize()).hexString
    let name = KeyringFile.fileName(of: replica)
    let listed = try folder.exchange.list(KeyringFile.directory)?.first { $0.name == name }
    if let listed, written == "\(wanted) \(listed.size) \(listed.modified)" { return nil }
    let file = KeyringFile(
      storeID: storeID, author: replica,
      wrapped: needed.compactMap { office, recipient, key in WrappedGroupKey.wrap(key, for: office, recipient: recipient, store: storeID) })
    try folder.replace(folder.url.appendingPathComponent("\(KeyringFile.directory)/\(name)"), [UInt8](file.canonicalJSON))
    if let item = try folder.exchange.list(KeyringFile.directory)?.first(where: { $0.name == name }) {
      try write { db in try Store.setMeta(db, "keys_written", "\(wanted) \(item.size) \(item.modified)") }
    }
    return file.wrapped.count
  }
}
