import Crypto
import Foundation
import GRDB

/// A changeset signed with a key no administrator has confirmed for its
/// author (roster format 2): kept, and applied once the key is confirmed.
public struct UnconfirmedClaim: Sendable, Hashable {
  /// The changeset.
  public var changeset: Changeset.ID
  /// The key that signed it.
  public var key: PublicKey
  /// SHA-256 (hex) of its file: two files may claim the same changeset.
  public var fileHash: String
  /// Why it waits, in words.
  public var reason: String
}

/// Claims: keys that count only once an administrator has confirmed them.
///
/// In a folder whose genesis roster is of format 2 (every folder made by
/// this Samhand), an office listed without a key does not own the first key
/// it signs with: anyone who can write to the folder could sign first. Its
/// changesets are kept as *unconfirmed*, with their bytes, until a roster
/// change adds the key (`samhand roster confirm`, after the administrator
/// compared the fingerprint with the office by phone). Then they are
/// judged again and applied, so nothing an honest new office wrote is lost.
extension Store {
  static func createClaimTables(_ db: Database) throws {
    try db.execute(
      sql: """
        CREATE TABLE IF NOT EXISTS unconfirmed(
          author TEXT NOT NULL, seq INTEGER NOT NULL, hash BLOB NOT NULL, key BLOB NOT NULL,
          bytes BLOB NOT NULL, reason TEXT NOT NULL, since INTEGER NOT NULL,
          PRIMARY KEY(author, seq, hash)) WITHOUT ROWID;
        """)
  }

  func recordUnconfirmed(_ envelope: ChangesetEnvelope, key: PublicKey, reason: String, _ db: Database) throws {
    try db.cachedStatement(
      sql: "INSERT OR REPLACE INTO unconfirmed(author, seq, hash, key, bytes, reason, since) VALUES (?, ?, ?, ?, ?, ?, ?)"
    ).execute(
      arguments: [
        envelope.header.author.rawValue, Int64(envelope.header.sequence), Data(SHA256.hash(data: envelope.bytes)),
        Data(key.rawValue), Data(envelope.bytes), reason, Int64(Date().timeIntervalSince1970 * 1000),
      ])
  }

  /// Changesets kept because their key is not confirmed yet, oldest first
  /// by office and number.
  public func unconfirmedClaims() throws -> [UnconfirmedClaim] {
    try read { db in
      try Row.fetchAll(db, sql: "SELECT author, seq, hash, key, reason FROM unconfirmed ORDER BY author, seq, hash").compactMap { row in
        guard let author = ReplicaID(rawValue: row[0]), let key = PublicKey(rawValue: [UInt8](row[3] as Data)) else { return nil }
        return UnconfirmedClaim(
          changeset: Changeset.ID(author: author, sequence: UInt64(row[1] as Int64)), key: key,
          fileHash: (row[2] as Data).hexString, reason: row[4])
      }
    }
  }

  /// Moves the unconfirmed changesets whose key the roster at this
  /// replica's frontier now gives their author into the buffer, where they
  /// are judged again and applied; drops those whose number was meanwhile
  /// taken by another changeset of their author.
  ///
  /// - Returns: whether anything moved into the buffer.
  @discardableResult
  func promoteConfirmedClaims(_ db: Database) throws -> Bool {
    let rows = try Row.fetchAll(db, sql: "SELECT author, seq, hash, key, bytes FROM unconfirmed")
    guard !rows.isEmpty else { return false }
    let frontier = try Store.readFrontier(db)
    let roster = try roster(at: frontier, db)
    var moved = false
    for row in rows {
      guard let author = ReplicaID(rawValue: row[0]), let key = PublicKey(rawValue: [UInt8](row[3] as Data)) else { continue }
      let sequence = UInt64(row[1] as Int64)
      let hash: Data = row[2]
      let taken = sequence <= frontier[author]
      guard taken || roster.members[author]?.keys.contains(key) == true else { continue }
      try db.execute(
        sql: "DELETE FROM unconfirmed WHERE author = ? AND seq = ? AND hash = ?",
        arguments: [author.rawValue, Int64(sequence), hash])
      let id = Changeset.ID(author: author, sequence: sequence)
      if taken {
        if try Data.fetchOne(
          db, sql: "SELECT hash FROM changesets WHERE author = ? AND seq = ?", arguments: [author.rawValue, Int64(sequence)])
          != hash
        {
          try recordUntrusted(
            id, hash: hash,
            reason: "another changeset \(id) was applied; this one is signed by key \(key.fingerprint), which was never confirmed for \(author)",
            db)
        }
        continue
      }
      let bytes = [UInt8](row[4] as Data)
      let envelope = try ChangesetFile.open(bytes)
      try db.execute(
        sql: "INSERT OR IGNORE INTO pending(author, seq, hash, bytes, deps) VALUES (?, ?, ?, ?, ?)",
        arguments: [author.rawValue, Int64(sequence), hash, Data(bytes), Store.encodeVector(envelope.header.dependencies)])
      try db.execute(
        sql: "DELETE FROM untrusted WHERE author = ? AND seq = ? AND hash = ?", arguments: [author.rawValue, Int64(sequence), hash])
      moved = true
    }
    return moved
  }

  // MARK: - Confirming

  /// Confirms a key for an office: one roster change, by an administrator,
  /// that adds `key` to the office's entry. Changesets kept because they
  /// were signed with it are applied at the next sync, here and at every
  /// office that applies this change.
  ///
  /// Compare the key's ``PublicKey/fingerprint`` with the office (by phone,
  /// not through the folder) before confirming it: whoever holds a
  /// confirmed key writes as the office.
  ///
  /// - Returns: the changeset to publish.
  /// - Throws: `SamhandError.notPermitted` when this office may not change
  ///   the roster; `.invalidArgument` when the office is not in the roster
  ///   or already has the key.
  @discardableResult
  public func confirmKey(_ key: PublicKey, of office: ReplicaID) throws -> Changeset {
    guard let roster = try roster() else {
      throw SamhandError(.notPermitted, "this store has no roster: it was made without a shared folder")
    }
    guard let member = roster.members[office] else {
      throw SamhandError(.invalidArgument, "\(office) is not in the roster: add it with 'samhand roster add \(office) --key …'")
    }
    guard !member.keys.contains(key) else {
      throw SamhandError(.invalidArgument, "key \(key.fingerprint) is already one of \(office)'s keys")
    }
    var transaction = Transaction(schema: schema)
    transaction.addKey(key, to: office)
    guard let changeset = try transact(transaction.edits) else {
      throw SamhandError(.storage, "the confirmation wrote nothing")
    }
    return changeset
  }

  /// Writes this office's claim to its key, when the roster (format 2)
  /// does not give it the key yet: one changeset that adds the key to the
  /// office's own entry, so that administrators see the claim and its
  /// fingerprint at once (`samhand roster confirm`). A joining office
  /// writes it right after its first sync.
  ///
  /// - Returns: the claim, or nil when none is needed: the roster trusts
  ///   first use, the office is not in the roster or has retired, or it
  ///   has a key already (a second installation of it waits for an
  ///   administrator to add its key, and writes nothing under its name
  ///   before: the first one may still be writing there).
  @discardableResult
  public func claimKeyIfNeeded() throws -> Changeset? {
    guard let roster = try roster(), roster.claimsNeedConfirmation else { return nil }
    guard let member = roster.members[replica], !member.isRetired, member.keys.isEmpty else { return nil }
    let key = try publicKey()
    var transaction = Transaction(schema: schema)
    transaction.addKey(key, to: replica)
    return try transact(transaction.edits)
  }

  /// Commits edits made outside a ``Transaction`` body (roster changes).
  func transact(_ edits: [Edit]) throws -> Changeset? {
    try transact { tx in
      for edit in edits { tx.edits.append(edit) }
    }
  }

  /// Whether this office's own key counts for other offices yet: it is in
  /// the genesis roster, an administrator (or another office's accepted
  /// roster change) added it, or the office rotated to it from a key that
  /// counted. False while a new office waits for an administrator to
  /// confirm its key; nil for a store without a roster.
  public func ownKeyIsConfirmed() throws -> Bool? {
    guard let genesis else { return nil }
    return try read { db in
      let key = try signingKey(db).publicKey
      if genesis.members[replica]?.keys.contains(key) == true || !genesis.claimsNeedConfirmation { return true }
      // Keys added to this office by roster changes, with who added them
      // and, for its own changes, which key signed them.
      var vouched = Set(genesis.members[replica]?.keys ?? [])
      var own: [(added: Set<PublicKey>, signer: PublicKey?)] = []
      for row in try Row.fetchAll(db, sql: "SELECT author, seq, edits FROM roster_changes ORDER BY lamport, author, seq") {
        var reader = BinaryReader([UInt8](row[2] as Data))
        guard let edits = try? ChangesetFile.decodeEdits(&reader) else { continue }
        let added = Set(edits.compactMap { edit -> PublicKey? in
          guard case .put(let ref, "keys", let hex, _) = edit, ref.id == replica.rawValue else { return nil }
          return try? PublicKey(text: hex)
        })
        guard !added.isEmpty else { continue }
        if (row[0] as String) != replica.rawValue {
          vouched.formUnion(added)
          continue
        }
        let bytes = try Data.fetchOne(
          db, sql: "SELECT bytes FROM changeset_files WHERE author = ? AND seq = ?", arguments: [row[0] as String, row[1] as Int64])
        own.append((added, bytes.flatMap { try? ChangesetFile.open([UInt8]($0)) }.flatMap { Store.signer($0.header.signatures) }))
      }
      // A rotation signed by a key that counts makes its new key count.
      var grew = true
      while grew {
        grew = false
        for change in own where change.signer.map(vouched.contains) == true && !change.added.isSubset(of: vouched) {
          vouched.formUnion(change.added)
          grew = true
        }
      }
      return vouched.contains(key)
    }
  }
}
