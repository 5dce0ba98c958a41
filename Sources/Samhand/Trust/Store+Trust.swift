import Crypto
import Foundation
import GRDB

extension SamhandError.Code {
  /// A write is outside the office's rights, or the office may not sign
  /// (not in the roster, retired, or its key revoked).
  public static let notPermitted = Self(rawValue: "not-permitted")
  /// A changeset file is unsigned, its signature does not verify, or its
  /// signer is not in the roster: it is set aside.
  public static let untrusted = Self(rawValue: "untrusted")
}

extension SamhandError {
  /// A write is outside the office's rights; see ``SamhandError/Code/notPermitted``.
  public static let notPermitted = Code.notPermitted
  /// A changeset cannot be trusted; see ``SamhandError/Code/untrusted``.
  public static let untrusted = Code.untrusted
}

/// What the roster and the rights say of a changeset whose dependencies are all applied.
enum TrustVerdict: Equatable {
  /// Apply it; these roster changes (its own, and a key it claims) take effect.
  case accept(rosterChanges: [Edit])
  /// A signed changeset by a member that breaks the rights: applied as
  /// rejected (in the frontier, changing nothing), alike on every replica.
  case reject(String)
  /// Not the work of a member entitled to sign it: not applied, not in the
  /// frontier, shown with the reason.
  case setAside(String)
  /// Signed with a key that no administrator has confirmed for its author
  /// (roster format 2): not applied and not in the frontier, kept with its
  /// bytes and judged again once a roster change adds the key.
  case unconfirmed(String)
}

/// What the roster in force says of who signed a changeset, judged from
/// its header alone, before its payload is inflated.
enum SignerVerdict: Equatable {
  /// The author may sign with this key; `claims` when the key is not yet
  /// the author's in the roster in force, so that accepting the changeset
  /// records it as the author's (a claim).
  case allowed(claims: Bool)
  /// See ``TrustVerdict/setAside(_:)``.
  case setAside(String)
  /// See ``TrustVerdict/unconfirmed(_:)``.
  case unconfirmed(String)
}

// MARK: - Tables and keys

extension Store {
  static func createTrustTables(_ db: Database) throws {
    try db.execute(
      sql: """
        CREATE TABLE IF NOT EXISTS roster_changes(
          author TEXT NOT NULL, seq INTEGER NOT NULL, lamport INTEGER NOT NULL, edits BLOB NOT NULL,
          PRIMARY KEY(author, seq)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS untrusted(
          author TEXT NOT NULL, seq INTEGER NOT NULL, hash BLOB NOT NULL, reason TEXT NOT NULL,
          since INTEGER NOT NULL, PRIMARY KEY(author, seq, hash)) WITHOUT ROWID;
        """)
  }

  /// Whether this store checks signatures, the roster and rights. Stores
  /// made with a shared folder do; a bare ``create(at:replica:storeID:schema:)``
  /// store does not (it still signs what it writes).
  public var checksTrust: Bool { genesis != nil }

  /// The roster fixed when the shared folder was created, which this replica pinned.
  public var genesisRoster: Roster? { genesis }

  /// This installation's public key, which signs its changesets.
  public func publicKey() throws -> PublicKey {
    try read { db in try signingKey(db).publicKey }
  }

  func signingKey(_ db: Database) throws -> SigningKey {
    guard let text = try Store.meta(db, "signing_key"), let seed = Data(base64Encoded: text) else {
      throw SamhandError(.storage, "the store holds no signing key", fileURL: directory)
    }
    return try SigningKey(seed: Array(seed))
  }

  /// The private key, for a backup kept somewhere safe (`samhand key export`).
  public func exportSigningKey() throws -> SigningKey {
    try read { db in try signingKey(db) }
  }

  /// The roster in force at this replica's frontier, or nil for a store
  /// without one.
  public func roster() throws -> Roster? {
    guard genesis != nil else { return nil }
    return try read { db in try roster(at: try Store.readFrontier(db), db) }
  }

  /// The genesis roster with every accepted roster change inside `context`
  /// folded in, in Lamport order (then author, then sequence): a causal
  /// order, and the same on every replica.
  func roster(at context: VersionVector, _ db: Database) throws -> Roster {
    guard let genesis else { throw SamhandError(.invalidArgument, "this store has no roster") }
    // Which roster changes are inside the context, from the table itself
    // (so a change rolled back with its transaction is never counted);
    // their edits from the cache, decoded once.
    var included: [RosterCache.Change] = []
    let rows = try Row.fetchCursor(try db.cachedStatement(sql: "SELECT author, seq, lamport FROM roster_changes"))
    while let row = try rows.next() {
      guard let author = ReplicaID(rawValue: row[0]) else { continue }
      let sequence = UInt64(row[1] as Int64)
      guard context[author] >= sequence else { continue }
      included.append(RosterCache.Change(lamport: UInt64(row[2] as Int64), id: Changeset.ID(author: author, sequence: sequence)))
    }
    included.sort { $0.lamport != $1.lamport ? $0.lamport < $1.lamport : $0.id < $1.id }
    if let roster = rosterCache.withLock({ $0.folded(included) }) { return roster }
    var edits: [Edit] = []
    for change in included {
      if let known = rosterCache.withLock({ $0.edits[change] }) {
        edits += known
        continue
      }
      guard let blob = try Data.fetchOne(
        try db.cachedStatement(sql: "SELECT edits FROM roster_changes WHERE author = ? AND seq = ?"),
        arguments: [change.id.author.rawValue, Int64(change.id.sequence)])
      else { continue }
      var reader = BinaryReader([UInt8](blob))
      do throws(BinaryReader.Failure) {
        let decoded = try ChangesetFile.decodeEdits(&reader)
        rosterCache.withLock { $0.edits[change] = decoded }
        edits += decoded
      } catch {
        throw SamhandError(.storage, "a stored roster change is damaged: \(error.message)", fileURL: directory)
      }
    }
    let roster = genesis.applying(edits)
    rosterCache.withLock { $0.remember(included, roster) }
    return roster
  }
}

/// Roster changes decoded once, and the roster last folded from a list of
/// them. A roster change never changes once stored (it is part of its
/// changeset), so an entry stays right; which changes count is read from
/// the database every time.
struct RosterCache: Sendable {
  struct Change: Hashable, Sendable {
    var lamport: UInt64
    var id: Changeset.ID
  }

  var edits: [Change: [Edit]] = [:]
  private var last: (changes: [Change], roster: Roster)?

  /// The roster folded from exactly these changes, when it is the last one made.
  func folded(_ changes: [Change]) -> Roster? {
    guard let last, last.changes == changes else { return nil }
    return last.roster
  }

  mutating func remember(_ changes: [Change], _ roster: Roster) {
    last = (changes, roster)
  }
}

// MARK: - Signatures

extension Store {
  /// Checks that a changeset file is signed and that its first signature
  /// verifies under the public key it names, before its payload is
  /// inflated (the signature covers the compressed payload). Whether that
  /// key may sign for the author is for the roster to say once the
  /// changeset's dependencies are applied.
  ///
  /// - Returns: the signing key.
  /// - Throws: `SamhandError.untrusted` for an unsigned or forged file.
  static func checkSignature(_ envelope: ChangesetEnvelope, fileURL: URL?) throws -> PublicKey {
    try ImportProfile.measure(.verifying) {
      try verifySignature(envelope.header.signatures, id: envelope.id, signed: envelope.signedBytes, fileURL: fileURL)
    }
  }

  /// ``checkSignature(_:fileURL:)`` for a file already decoded.
  static func checkSignature(_ changeset: Changeset, bytes: [UInt8], fileURL: URL?) throws -> PublicKey {
    try checkSignature(try ChangesetFile.open(bytes, fileURL: fileURL), fileURL: fileURL)
  }

  private static func verifySignature(
    _ signatures: [Changeset.Signature], id: Changeset.ID, signed: ArraySlice<UInt8>, fileURL: URL?
  ) throws -> PublicKey {
    let changeset = (id: id, signatures: signatures)
    guard let signature = changeset.signatures.first else {
      throw SamhandError(
        .untrusted, "unsigned: this store accepts only changesets signed by an office in its roster",
        changesetID: changeset.id, fileURL: fileURL)
    }
    guard let key = try? PublicKey(text: signature.keyID) else {
      throw SamhandError(
        .untrusted, "signed with a malformed key id '\(signature.keyID.prefix(80))'", changesetID: changeset.id,
        fileURL: fileURL)
    }
    guard key.isValidSignature(signature.bytes, of: signed) else {
      throw SamhandError(
        .untrusted,
        "forged or altered: the signature does not verify under key \(key.fingerprint) that it names",
        changesetID: changeset.id, fileURL: fileURL)
    }
    return key
  }

  /// The key that signed a changeset, as its first signature names it.
  static func signer(of changeset: Changeset) -> PublicKey? {
    signer(changeset.signatures)
  }

  /// The key the first of these signatures names.
  static func signer(_ signatures: [Changeset.Signature]) -> PublicKey? {
    signatures.first.flatMap { try? PublicKey(text: $0.keyID) }
  }

  /// Judges a changeset against the roster in force in its causal context
  /// and the schema's write rules. Its dependencies must all be applied.
  ///
  /// - Parameter local: whether this replica is writing it: its own key
  ///   then counts even before an administrator has confirmed it, so that
  ///   a new office can write while it waits (others keep what it writes
  ///   until the key is confirmed).
  func trustVerdict(_ changeset: Changeset, signer: PublicKey?, local: Bool = false, _ db: Database) throws -> TrustVerdict {
    guard genesis != nil else { return .accept(rosterChanges: []) }
    let roster = try roster(at: changeset.dependencies, db)
    let signed = try signerVerdict(
      changeset.author, changeset.sequence, signer: signer, roster: roster, local: local, db)
    let verdict = Store.rosterVerdict(changeset, signer: signer, roster: roster, signed: signed)
    guard case .accept = verdict, let member = roster.members[changeset.author] else { return verdict }
    if let violation = try rightsViolation(changeset, member: member, db) {
      return .reject(violation)
    }
    return verdict
  }

  /// Whether `author` may sign its changeset number `sequence` with
  /// `signer`, judged against `roster`, the roster in force in the
  /// changeset's causal past, and (roster format 2) the keys confirmed
  /// for the author at this replica's frontier.
  func signerVerdict(
    _ author: ReplicaID, _ sequence: UInt64, signer: PublicKey?, roster: Roster, local: Bool, _ db: Database
  ) throws -> SignerVerdict {
    try Store.signerVerdict(author, sequence, signer: signer, roster: roster, ownKey: local ? signer : nil) {
      try self.roster(at: try Store.readFrontier(db), db).members[author]?.keys ?? []
    }
  }

  /// The judgement of ``signerVerdict(_:_:signer:roster:local:_:)``, given
  /// the keys confirmed for the author (asked for only when needed).
  ///
  /// - A key the author has in the roster in force is allowed, unless it
  ///   is revoked from this sequence number on.
  /// - Roster format 1: an office listed without keys claims the first key
  ///   it signs with (trust on first use).
  /// - Roster format 2: a key that is not the author's in the roster in
  ///   force is allowed once the author has it at this replica's frontier
  ///   (an administrator confirmed it, or the office rotated to it), and
  ///   the changeset is otherwise kept as *unconfirmed*. Keys only ever
  ///   join the roster, so a changeset allowed here is allowed on every
  ///   replica that has applied the same roster changes, and none applies
  ///   it before.
  static func signerVerdict(
    _ author: ReplicaID, _ sequence: UInt64, signer: PublicKey?, roster: Roster, ownKey: PublicKey? = nil,
    confirmed: () throws -> Set<PublicKey>
  ) rethrows -> SignerVerdict {
    guard let member = roster.members[author] else {
      return .setAside(
        "\(author) is not in the roster: an administrator adds an office with 'samhand roster add \(author) --key …'")
    }
    if member.isRetired {
      let successors = member.successors.sorted().map(\.rawValue).joined(separator: ", ")
      return .setAside(
        "\(author) has retired\(successors.isEmpty ? "" : " (successors: \(successors))"); nothing it signs after its retirement is accepted")
    }
    guard let signer else { return .setAside("unsigned: this store accepts only changesets signed by an office in its roster") }
    if let from = member.revoked[signer], sequence >= from {
      return .setAside("signed with \(author)'s key \(signer.fingerprint), which is revoked from \(author)#\(from) on")
    }
    if member.keys.contains(signer) { return .allowed(claims: false) }
    guard roster.claimsNeedConfirmation else {
      // Roster format 1: trust on first use.
      if member.keys.isEmpty { return .allowed(claims: true) }
      return .setAside("signed with key \(signer.fingerprint), which is not a key of \(author) in the roster")
    }
    if try signer == ownKey || confirmed().contains(signer) { return .allowed(claims: true) }
    if member.keys.isEmpty {
      return .unconfirmed(
        "claims \(author) with key \(signer.fingerprint), which no administrator has confirmed: kept until one does ('samhand roster confirm \(author)', after comparing the fingerprint with \(author))")
    }
    return .unconfirmed(
      "signed with key \(signer.fingerprint), which is not a key of \(author) in the roster: kept until an administrator adds it ('samhand roster confirm \(author)', after comparing the fingerprint with \(author))")
  }

  /// What the roster in force alone says of a changeset: whether its
  /// author may sign it with `signer`, whether its roster edits are within
  /// the author's powers, and which roster changes it makes (its roster
  /// edits, after the key its author claims). The rights to records are
  /// judged apart.
  static func rosterVerdict(_ changeset: Changeset, signer: PublicKey?, roster: Roster, signed: SignerVerdict) -> TrustVerdict {
    let claims: Bool
    switch signed {
    case .setAside(let reason): return .setAside(reason)
    case .unconfirmed(let reason): return .unconfirmed(reason)
    case .allowed(let value): claims = value
    }
    let author = changeset.author
    let edits = changeset.edits.filter { $0.record.collection == Roster.collection }
    var changes = edits
    if claims, let signer {
      changes.insert(.put(RecordRef(Roster.collection, author.rawValue), field: "keys", key: signer.hex, value: .bool(true)), at: 0)
    }
    if let violation = roster.violation(of: edits, by: author) {
      return .reject(violation)
    }
    return .accept(rosterChanges: changes)
  }

  /// Whether a file claiming `author`'s changeset number `sequence` is
  /// signed by a key that `author` may sign it with at this replica's
  /// frontier: only then is a second, different file under the same
  /// number evidence that two installations write as `author` (a
  /// collision). A file signed by anyone else is set aside and blocks nothing.
  func mayHaveSigned(_ author: ReplicaID, _ sequence: UInt64, _ signer: PublicKey?, _ db: Database) throws -> Bool {
    guard let signer else { return false }
    guard genesis != nil else { return true }
    if author == replica, signer == (try signingKey(db)).publicKey { return true }
    let roster = try roster(at: try Store.readFrontier(db), db)
    guard let member = roster.members[author] else { return false }
    if member.keys.isEmpty { return !roster.claimsNeedConfirmation }
    return member.maySign(sequence, with: signer)
  }

  /// Keeps what an accepted changeset changes in the roster and in the
  /// ownership of records, for judging the changesets that come after it.
  func recordTrustFacts(of changeset: Changeset, rosterChanges: [Edit], _ db: Database) throws {
    guard genesis != nil else { return }
    if !rosterChanges.isEmpty {
      var writer = BinaryWriter()
      ChangesetFile.encodeEdits(rosterChanges, to: &writer)
      try db.cachedStatement(sql: "INSERT OR REPLACE INTO roster_changes(author, seq, lamport, edits) VALUES (?, ?, ?, ?)")
        .execute(arguments: [changeset.author.rawValue, Int64(changeset.sequence), Int64(changeset.lamport), Data(writer.bytes)])
    }
    // Every value written to a field that a write rule names (op 0 set,
    // 1 add, 2 remove), kept with the record: who owned it in any
    // changeset's causal past.
    let engine = merge(db)
    for edit in changeset.edits {
      guard let field = edit.field, schema.ownerFields(of: edit.record.collection).contains(field) else { continue }
      let (value, op): (String?, UInt8)
      switch edit {
      case .set(_, _, .text(let text)): (value, op) = (text, 0)
      case .set: (value, op) = (nil, 0)
      case .add(_, _, let element): (value, op) = (element, 1)
      case .remove(_, _, let element): (value, op) = (element, 2)
      default: continue
      }
      try engine.update(edit.record) {
        $0.facts.append(RecordState.Fact(field: field, value: value, op: op, dot: changeset.dot))
      }
    }
    try db.cachedStatement(sql: "DELETE FROM untrusted WHERE author = ? AND seq = ?")
      .execute(arguments: [changeset.author.rawValue, Int64(changeset.sequence)])
  }

  func recordUntrusted(_ id: Changeset.ID, bytes: [UInt8], reason: String, _ db: Database) throws {
    try recordUntrusted(id, hash: Data(SHA256.hash(data: bytes)), reason: reason, db)
  }

  func recordUntrusted(_ id: Changeset.ID, hash: Data, reason: String, _ db: Database) throws {
    try db.cachedStatement(sql: "INSERT OR REPLACE INTO untrusted(author, seq, hash, reason, since) VALUES (?, ?, ?, ?, ?)")
      .execute(
        arguments: [id.author.rawValue, Int64(id.sequence), hash, reason, Int64(Date().timeIntervalSince1970 * 1000)])
  }

  /// Changesets set aside because the roster does not let their author sign
  /// them (not a member, retired, a revoked or unknown key), with the reasons.
  public func untrustedChangesets() throws -> [(changeset: Changeset.ID, reason: String)] {
    try read { db in
      try Row.fetchAll(db, sql: "SELECT author, seq, reason FROM untrusted ORDER BY author, seq").compactMap { row in
        guard let author = ReplicaID(rawValue: row[0]) else { return nil }
        return (Changeset.ID(author: author, sequence: UInt64(row[1] as Int64)), row[2])
      }
    }
  }
}

// MARK: - Rights

extension Schema {
  /// The fields that a collection's write rules name.
  func ownerFields(of collection: String) -> [String] {
    (collections[collection]?.writers ?? []).compactMap { if case .field(let field) = $0 { field } else { nil } }
  }
}

extension Store {
  /// Why a changeset's data edits are outside its author's rights, or nil.
  ///
  /// For each record it writes: a collection without write rules is open to
  /// every member; otherwise the author must match a `kind:` or `office:`
  /// rule, or be named in a `field:` rule's field as the record stood in
  /// the changeset's causal past. A record that names nobody there may be
  /// written by anyone, as long as the changeset names the author if it
  /// names anybody (so a county cannot create a record for another).
  func rightsViolation(_ changeset: Changeset, member: Roster.Member, _ db: Database) throws -> String? {
    var order: [RecordRef] = []
    var seen = Set<RecordRef>()
    for edit in changeset.edits where edit.record.collection != Roster.collection {
      if seen.insert(edit.record).inserted { order.append(edit.record) }
    }
    // The edits by record, made only if a record naming nobody needs them.
    var byRecord: [RecordRef: [Edit]]?
    func edits(of record: RecordRef) -> [Edit] {
      if byRecord == nil { byRecord = Dictionary(grouping: changeset.edits, by: \.record) }
      return byRecord![record] ?? []
    }
    let author = changeset.author
    // The contexts of the changesets that wrote ownership facts, shared by
    // every record of this changeset (most facts come from a few changesets).
    var contexts: [Dot: VersionVector] = [:]
    for record in order {
      guard let rules = schema.collections[record.collection]?.writers else { continue }
      if rules.contains(.kind(member.kind)) || rules.contains(.office(author)) { continue }
      let fields = schema.ownerFields(of: record.collection)
      // Who may write every record of the collection, for the messages
      // (made only when a write is refused).
      func open() -> [String] {
        let kinds = rules.compactMap { if case .kind(let kind) = $0 { kind } else { nil } }
        let named = rules.compactMap { if case .office(let office) = $0 { office.rawValue } else { nil } }
        var open: [String] = []
        if !kinds.isEmpty { open.append("offices of kind \(kinds.joined(separator: " or "))") }
        if !named.isEmpty { open.append(named.joined(separator: ", ")) }
        return open
      }
      func others() -> String { open().isEmpty ? "" : "; \(open().joined(separator: " and ")) may write every record" }
      guard !fields.isEmpty else {
        return "\(author) may not write \(record): only \(open().joined(separator: " and ")) may write \(record.collection)"
      }
      // Most writes are by an owner: asking only about the author's own
      // facts settles them without working out the whole set of owners.
      let authorOwns = try owners(
        of: record, fields: fields, at: changeset.dependencies, db, contexts: &contexts, only: author.rawValue)
      if !authorOwns.isEmpty { continue }
      let owners = try owners(of: record, fields: fields, at: changeset.dependencies, db, contexts: &contexts)
      if owners.isEmpty {
        var named = Set<String>()
        for edit in edits(of: record) {
          switch edit {
          case .set(_, let field, .text(let text)) where fields.contains(field): named.insert(text)
          case .add(_, let field, let element) where fields.contains(field): named.insert(element)
          default: break
          }
        }
        if named.isEmpty || named.contains(author.rawValue) { continue }
        return "\(author) may not create \(record) for \(named.sorted().joined(separator: ", ")): a record it writes must name it in \(fields.joined(separator: " or "))\(others())"
      }
      return "\(author) may not write \(record): it is not named in \(fields.joined(separator: " or ")) (the record names \(owners.sorted().joined(separator: ", ")))\(others())"
    }
    return nil
  }

  /// The offices a record names in `fields`, as it stood at `context`:
  /// a text field's values not superseded inside the context, and a set
  /// field's elements added and not removed by a changeset that saw the add.
  /// With `only`, just whether that office is among them: the set is
  /// `[only]` or empty.
  func owners(
    of record: RecordRef, fields: [String], at context: VersionVector, _ db: Database,
    contexts: inout [Dot: VersionVector], only: String? = nil
  ) throws -> Set<String> {
    struct Fact {
      var field: String
      var value: String?
      var op: Int
      var dot: Dot
      var order: Int
    }
    var facts: [Fact] = []
    // With `only`, the facts that can bear on it: its own (added, removed,
    // set) and every set, which may supersede a set to it.
    for (index, fact) in try merge(db).state(record).facts.enumerated() {
      // The cheap tests first: a look-up in the context hashes a slug.
      guard fields.contains(fact.field) else { continue }
      if let only, fact.value != only && fact.op != 0 { continue }
      guard context.contains(fact.dot) else { continue }
      facts.append(Fact(field: fact.field, value: fact.value, op: Int(fact.op), dot: fact.dot, order: index + 1))
    }
    guard !facts.isEmpty else { return [] }
    func dependencies(of dot: Dot) throws -> VersionVector {
      if let known = contexts[dot] { return known }
      let blob = try Data.fetchOne(
        try db.cachedStatement(sql: "SELECT deps FROM changesets WHERE author = ? AND seq = ?"),
        arguments: [dot.replica.rawValue, Int64(dot.counter)])
      let vector = try blob.map(Store.decodeVector) ?? VersionVector()
      contexts[dot] = vector
      return vector
    }
    func covers(_ later: Fact, _ earlier: Fact) throws -> Bool {
      if later.dot == earlier.dot { return later.order > earlier.order }
      return try dependencies(of: later.dot).contains(earlier.dot)
    }
    var owners = Set<String>()
    for fact in facts where fact.op != 2 {
      guard let value = fact.value, only == nil || value == only else { continue }
      var superseded = false
      for other in facts where other.field == fact.field && other.order != fact.order {
        let relevant = fact.op == 0 ? other.op == 0 : (other.op == 2 && other.value == value)
        if relevant, try covers(other, fact) {
          superseded = true
          break
        }
      }
      if !superseded { owners.insert(value) }
    }
    return owners
  }
}
