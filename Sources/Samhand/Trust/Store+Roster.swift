import Foundation
import GRDB

// MARK: - Roster changes in a transaction

extension Transaction {
  private mutating func roster(_ office: ReplicaID, _ make: (RecordRef) -> Edit) {
    edits.append(make(RecordRef(Roster.collection, office.rawValue)))
  }

  /// Adds an office to the roster (administrators only), or adds a key and
  /// updates the name and kind of one already there.
  ///
  /// - Throws: `SamhandError.invalidArgument` for an empty name or a kind
  ///   that is not lowercase letters.
  ///
  /// - Parameter administrator: whether the office may change the roster;
  ///   nil leaves an existing office's flag as it is (and makes a new one
  ///   an ordinary member).
  public mutating func addOffice(
    _ office: ReplicaID, name: String, kind: String, key: PublicKey?, administrator: Bool? = nil
  ) throws {
    guard !name.isEmpty else { throw SamhandError(.invalidArgument, "an office's name may not be empty") }
    guard Roster.isValidKind(kind) else {
      throw SamhandError(.invalidArgument, "kind '\(kind)' must be 1–32 lowercase letters, such as fylkeskommune, ks or kdd")
    }
    roster(office) { .set($0, field: "name", value: .text(name.precomposedStringWithCanonicalMapping)) }
    roster(office) { .set($0, field: "kind", value: .text(kind)) }
    if let administrator { roster(office) { .set($0, field: "admin", value: .bool(administrator)) } }
    if let key { addKey(key, to: office) }
  }

  /// Adds a public key to an office's roster entry: an administrator giving
  /// an office a new key, or an office rotating its own.
  public mutating func addKey(_ key: PublicKey, to office: ReplicaID) {
    roster(office) { .put($0, field: "keys", key: key.hex, value: .bool(true)) }
  }

  /// Retires an office, naming the offices that take over from it
  /// (administrators only). Nothing it signs after this is accepted.
  public mutating func retireOffice(_ office: ReplicaID, successors: [ReplicaID]) {
    roster(office) { .set($0, field: "status", value: .text("retired")) }
    for successor in successors.sorted() {
      roster(office) { .add($0, field: "successors", element: successor.rawValue) }
    }
  }

  /// Revokes an office's key from its changeset number `sequence` on:
  /// changesets it signs from there, once they have seen the revocation, are set aside.
  public mutating func revokeKey(_ key: PublicKey, of office: ReplicaID, from sequence: UInt64) throws {
    guard sequence >= 1, sequence <= UInt64(Int64.max) else {
      throw SamhandError(.invalidArgument, "a revocation starts at a sequence number of 1 or more")
    }
    roster(office) { .put($0, field: "revoked", key: key.hex, value: .integer(Int64(sequence))) }
  }
}

// MARK: - Keys and successors

extension Store {
  /// Replaces this office's signing key with a new one.
  ///
  /// One changeset, signed with the old key, adds the new key to the
  /// office's roster entry and revokes the old one from the next changeset
  /// on; the new key is stored in the same database transaction, so a
  /// crash leaves either the old key and no rotation, or both.
  ///
  /// - Returns: the old and the new public key, and the changeset to publish.
  /// - Throws: `SamhandError.notPermitted` when the store has no roster or
  ///   the office may not sign (retired, revoked, not a member).
  @discardableResult
  public func rotateKey(timestamp: Int64 = Int64((Date().timeIntervalSince1970 * 1000).rounded())) throws -> (
    old: PublicKey, new: PublicKey, changeset: Changeset
  ) {
    guard checksTrust else {
      throw SamhandError(.notPermitted, "this store has no roster to record a new key in: it was made without a shared folder")
    }
    let old = try publicKey()
    let next = SigningKey.generate()
    let sequence = try frontier()[replica] + 1
    var transaction = Transaction(schema: schema)
    transaction.addKey(next.publicKey, to: replica)
    try transaction.revokeKey(old, of: replica, from: sequence + 1)
    let changeset = try commit(transaction.edits, timestamp: timestamp, expecting: nil) { changeset, db in
      guard changeset.sequence == sequence else {
        throw SamhandError(.storage, "another write took sequence \(sequence) during the key rotation; try again")
      }
      try Store.setMeta(db, "signing_key", Data(next.seed).base64EncodedString())
    }
    return (old, next.publicKey, changeset)
  }

  /// Hands the records a retired office is named in to its successors,
  /// in one changeset: where a text field a write rule names (an owner, a
  /// lead, an organisation) holds `retired`, it is set to the first
  /// successor; where such a set field (participants) holds it, `retired`
  /// is removed and every successor added. History keeps every earlier value.
  ///
  /// - Parameter successors: the offices to hand over to; by default those
  ///   the roster names for `retired`.
  /// - Returns: the changeset, or nil when no record names `retired`.
  /// - Throws: `SamhandError.invalidArgument` when there is no successor;
  ///   `.notPermitted` when this office may not write the records.
  @discardableResult
  public func transferRecords(from retired: ReplicaID, to successors: [ReplicaID]? = nil) throws -> Changeset? {
    let heirs = try successors ?? roster()?.members[retired]?.successors.sorted() ?? []
    guard let first = heirs.first else {
      throw SamhandError(
        .invalidArgument, "\(retired) has no successors in the roster: name the offices to hand its records to")
    }
    return try transact { tx in
      for collection in schema.collectionNames {
        let fields = schema.ownerFields(of: collection)
        guard !fields.isEmpty else { continue }
        for record in try records(in: collection) {
          for field in fields {
            switch record.fields[field] {
            case .value(.text(retired.rawValue))?:
              try tx.set(collection, record.id, field, .text(first.rawValue))
            case .set(let elements)? where elements.contains(retired.rawValue):
              try tx.remove(collection, record.id, field, retired.rawValue)
              for heir in heirs { try tx.add(collection, record.id, field, heir.rawValue) }
            default: break
            }
          }
        }
      }
    }
  }
}
