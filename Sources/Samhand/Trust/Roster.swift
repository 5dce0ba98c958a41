import Crypto
import Foundation

/// The offices of a store: who they are, their public keys, whether they
/// administer the roster, and whether they have retired.
///
/// The *genesis* roster is fixed when the shared folder is created and
/// written into `samhand.json`; every replica pins it by its hash
/// (``hash``). Later changes are edits of records in the reserved
/// collection ``collection`` (one record per office, named by its slug),
/// carried by ordinary changesets. The roster *in force* for a changeset
/// is the genesis roster with every accepted roster change in that
/// changeset's causal past folded in (``applying(_:)``), so every replica
/// judges a changeset against the same roster, whatever order files arrive in.
public struct Roster: Hashable, Sendable {
  /// The reserved collection that roster changes are written to. Its name
  /// starts with `_`, which no schema collection may.
  public static let collection = "_roster"
  /// The newest version of the genesis roster's JSON form, the one new
  /// folders get. Version 1 let an office listed without a key claim one
  /// with its first changeset (trust on first use); from version 2 a key
  /// counts only once an administrator has confirmed it (`Docs/FORMATS.md`,
  /// section 9).
  public static let currentFormatVersion = 2

  /// This roster's format version: 2 for every new folder, 1 for folders
  /// made before claims needed confirming (they keep their rule, which is
  /// part of what every office has judged by).
  public var formatVersion: Int

  /// Whether a key an office signs with counts only once an administrator
  /// has added it to the roster (version 2), rather than from its first
  /// use by an office listed without a key (version 1).
  public var claimsNeedConfirmation: Bool { formatVersion >= 2 }

  /// The cipher an encrypted folder seals its payloads with
  /// (``encryptionCipher``), or nil for a folder in plain form. Fixed with
  /// the genesis roster, so the roster hash every office pins covers it:
  /// nobody can turn encryption off by editing `samhand.json`.
  public var encryption: String?
  /// The only cipher there is: ChaCha20-Poly1305 (`Docs/FORMATS.md` §15).
  public static let encryptionCipher = "chacha20-poly1305"
  /// Whether the folder's payloads are encrypted.
  public var isEncrypted: Bool { encryption != nil }
  /// The group key in force: the one an administrator last put in force
  /// (roster order), which every changeset written in its causal past, and
  /// every checkpoint there, is sealed with. Nil until the founder sets one.
  public var groupKeyID: GroupKeyID?

  /// One office in the roster.
  public struct Member: Hashable, Sendable {
    /// The office's slug.
    public var office: ReplicaID
    /// Its display name, with its Norwegian letters.
    public var name: String
    /// `fylkeskommune`, `ks`, `kdd` or `other`; rights in the schema name kinds.
    public var kind: String
    /// Whether it may change the roster (by default KS and KDD).
    public var isAdministrator: Bool
    /// Its public keys. Empty for an office listed in the genesis roster that
    /// has not yet signed anything: its first accepted changeset claims its key.
    public var keys: Set<PublicKey>
    /// Keys revoked, with the first of the office's sequence numbers they
    /// may no longer sign.
    public var revoked: [PublicKey: UInt64]
    /// Whether the office has retired; it signs nothing new that is accepted.
    public var isRetired: Bool
    /// The offices that took over from a retired office.
    public var successors: Set<ReplicaID>
    /// Its X25519 agreement public keys (hex), each with the signing key it
    /// belongs to: group keys are wrapped for those of its active keys.
    public var agreementKeys: [String: PublicKey]

    /// Creates an active member.
    public init(
      office: ReplicaID, name: String, kind: String, isAdministrator: Bool = false, keys: Set<PublicKey> = []
    ) {
      self.office = office
      self.name = name
      self.kind = kind
      self.isAdministrator = isAdministrator
      self.keys = keys
      self.revoked = [:]
      self.isRetired = false
      self.successors = []
      self.agreementKeys = [:]
    }

    /// The agreement public keys (hex) of its signing keys that may still
    /// sign, sorted: those a group key is wrapped for. None once retired.
    public var activeAgreementKeys: [String] {
      guard !isRetired else { return [] }
      let active = Set(activeKeys)
      return agreementKeys.filter { active.contains($0.value) }.map(\.key).sorted()
    }

    /// Keys that may still sign: listed and not revoked.
    public var activeKeys: [PublicKey] { keys.filter { revoked[$0] == nil }.sorted() }

    /// Whether `key` may sign this office's changeset number `sequence`.
    public func maySign(_ sequence: UInt64, with key: PublicKey) -> Bool {
      keys.contains(key) && (revoked[key].map { sequence < $0 } ?? true)
    }
  }

  /// The members, by slug.
  public var members: [ReplicaID: Member]

  /// Creates a roster of the given members, in the current format
  /// (keys are confirmed by an administrator) unless told otherwise.
  public init(_ members: [Member], formatVersion: Int = Roster.currentFormatVersion, encryption: String? = nil) {
    self.members = Dictionary(members.map { ($0.office, $0) }, uniquingKeysWith: { _, last in last })
    self.formatVersion = formatVersion
    self.encryption = encryption
  }

  /// The members sorted by slug.
  public var sortedMembers: [Member] { members.values.sorted { $0.office < $1.office } }

  /// The kinds that administer the roster by default.
  public static let administratorKinds: Set<String> = ["ks", "kdd"]

  /// The default genesis roster: the thirteen offices of the cooperation
  /// (``Office/cooperation``), KS and KDD as administrators, and the
  /// founding office with its key, also an administrator: it holds the
  /// only key at the start, so it must be able to confirm the others'. The
  /// others' keys count once an administrator has confirmed them. A
  /// founder not in the list is added.
  public static func cooperation(founder: ReplicaID, key: PublicKey) -> Roster {
    var members = Office.cooperation.map {
      Member(office: $0.slug, name: $0.name, kind: $0.kind, isAdministrator: administratorKinds.contains($0.kind))
    }
    if let index = members.firstIndex(where: { $0.office == founder }) {
      members[index].keys = [key]
      members[index].isAdministrator = true
    } else {
      members.append(Member(office: founder, name: founder.rawValue, kind: "other", isAdministrator: true, keys: [key]))
    }
    return Roster(members)
  }

  // MARK: - JSON

  /// The canonical JSON of the roster, as written into `samhand.json`.
  /// Revocations and retirements are not part of it: a genesis roster has none.
  public var canonicalJSON: Data { CanonicalJSON.encode(canonicalNode) }

  var canonicalNode: CanonicalJSON.Node {
    // `encryption` only in an encrypted folder's roster: the hashes of
    // every other roster stay what they were.
    .object(
      (encryption.map { [("encryption", CanonicalJSON.Node.string($0))] } ?? []) + [
      ("format", .integer(Int64(formatVersion))),
      (
        "offices",
        .array(
          sortedMembers.map { member in
            .object([
              ("slug", .string(member.office.rawValue)), ("name", .string(member.name)),
              ("kind", .string(member.kind)), ("admin", .bool(member.isAdministrator)),
              ("keys", .array(member.keys.sorted().map { .string($0.hex) })),
            ])
          })
      ),
    ])
  }

  /// The SHA-256 of ``canonicalJSON`` in hex: what replicas pin and `--trust` names.
  public var hash: String { Data(SHA256.hash(data: canonicalJSON)).hexString }

  /// Reads a genesis roster from its JSON form, checking every field.
  ///
  /// ```json
  /// {"format": 1, "offices": [
  ///   {"slug": "ks", "name": "KS", "kind": "ks", "admin": true, "keys": ["<64 hex digits>"]},
  ///   {"slug": "vestland", "name": "Vestland fylkeskommune", "kind": "fylkeskommune"}]}
  /// ```
  ///
  /// `admin` is optional (true for kinds `ks` and `kdd`), `keys` too (an
  /// office without keys claims one with its first changeset).
  ///
  /// - Throws: `SamhandError.invalidArgument` naming the office and field.
  public init(json data: Data) throws {
    let root: JSONValue
    do { root = try JSONValue.parse(data) } catch let error as SamhandError {
      throw SamhandError(.invalidArgument, "roster: \(error.message)")
    }
    try self.init(jsonValue: root)
  }

  init(jsonValue root: JSONValue) throws {
    func bad(_ detail: String) -> SamhandError { SamhandError(.invalidArgument, "roster: \(detail)") }
    guard case .object(let top) = root else { throw bad("expected a JSON object") }
    let unknownTop = top.keys.filter { !["encryption", "format", "offices"].contains($0) }.sorted()
    guard unknownTop.isEmpty else { throw bad("unknown key '\(unknownTop[0])' (allowed: encryption, format, offices)") }
    var encryption: String?
    if let value = top["encryption"] {
      guard case .string(let cipher) = value, cipher == Roster.encryptionCipher else {
        throw SamhandError(
          .unsupportedFormat, "roster: encryption \(value) is not supported (this Samhand knows '\(Roster.encryptionCipher)'); upgrade Samhand")
      }
      encryption = cipher
    }
    var formatVersion = Roster.currentFormatVersion
    if let format = top["format"] {
      guard case .integer(let number) = format, (1...Int64(Roster.currentFormatVersion)).contains(number) else {
        throw SamhandError(
          .unsupportedFormat,
          "roster: format \(format) is not supported (this Samhand reads 1 to \(Roster.currentFormatVersion)); upgrade Samhand")
      }
      formatVersion = Int(number)
    }
    guard case .array(let offices)? = top["offices"], !offices.isEmpty else {
      throw bad("needs a non-empty array 'offices'")
    }
    var members: [Member] = []
    var seen = Set<ReplicaID>()
    for (index, entry) in offices.enumerated() {
      guard case .object(let body) = entry else { throw bad("office \(index + 1) must be an object") }
      let unknown = body.keys.filter { !["slug", "name", "kind", "admin", "keys"].contains($0) }.sorted()
      guard unknown.isEmpty else {
        throw bad("unknown key '\(unknown[0])' in office \(index + 1) (allowed: admin, keys, kind, name, slug)")
      }
      guard case .string(let slug)? = body["slug"], let office = ReplicaID(rawValue: slug) else {
        throw bad("office \(index + 1) needs a valid 'slug' (lowercase a–z, digits, inner hyphens)")
      }
      guard seen.insert(office).inserted else { throw bad("office '\(slug)' is listed twice") }
      guard case .string(let kind)? = body["kind"], Roster.isValidKind(kind) else {
        throw bad("office '\(slug)' needs a 'kind' of lowercase letters, such as fylkeskommune, ks or kdd")
      }
      var name = slug
      if let value = body["name"] {
        guard case .string(let text) = value, !text.isEmpty else { throw bad("office '\(slug)': 'name' must be a non-empty string") }
        name = text
      }
      var admin = Roster.administratorKinds.contains(kind)
      if let value = body["admin"] {
        guard case .bool(let flag) = value else { throw bad("office '\(slug)': 'admin' must be true or false") }
        admin = flag
      }
      var keys = Set<PublicKey>()
      if let value = body["keys"] {
        guard case .array(let items) = value else { throw bad("office '\(slug)': 'keys' must be an array") }
        for item in items {
          guard case .string(let text) = item, let key = try? PublicKey(text: text) else {
            throw bad("office '\(slug)': each key must be 64 hex digits, as 'samhand key show' prints")
          }
          keys.insert(key)
        }
      }
      members.append(Member(office: office, name: name, kind: kind, isAdministrator: admin, keys: keys))
    }
    guard members.contains(where: { $0.isAdministrator }) else {
      throw bad("no office is an administrator: at least one must be, or nobody can change the roster")
    }
    self.init(members, formatVersion: formatVersion, encryption: encryption)
  }

  static func isValidKind(_ kind: String) -> Bool {
    (1...32).contains(kind.utf8.count) && kind.utf8.allSatisfy { $0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z") }
  }
}

// MARK: - Roster changes

extension Roster {
  /// The fields of a roster record, one record per office.
  enum Field: String, CaseIterable {
    case name, kind, admin, status, successors, keys, revoked, agreement
    case groupKey = "group-key"
  }

  /// Why a roster edit is malformed, or nil when it is well formed.
  static func malformation(of edit: Edit) -> String? {
    guard ReplicaID(rawValue: edit.record.id) != nil else {
      return "roster entry '\(edit.record.id)' is not an office slug"
    }
    let office = edit.record.id
    switch edit {
    case .set(_, "name", .text(let text)) where !text.isEmpty: return nil
    case .set(_, "kind", .text(let kind)) where isValidKind(kind): return nil
    case .set(_, "admin", .bool): return nil
    case .set(_, "status", .text("retired")): return nil
    case .add(_, "successors", let slug) where ReplicaID(rawValue: slug) != nil: return nil
    case .put(_, "keys", let hex, .bool(true)) where (try? PublicKey(text: hex)) != nil: return nil
    case .put(_, "revoked", let hex, .integer(let from)) where from >= 1 && (try? PublicKey(text: hex)) != nil:
      return nil
    case .put(_, "agreement", let hex, .text(let signing))
    where PublicKey.bytes(hex: hex)?.count == 32 && (try? PublicKey(text: signing)) != nil:
      return nil
    case .set(_, "group-key", .text(let id)) where GroupKeyID(hex: id) != nil: return nil
    case .touch: return nil
    case .delete: return "roster entry \(office) cannot be deleted: retire the office instead"
    default: return "malformed roster change for \(office): \(edit)"
    }
  }

  /// The roster with roster edits applied, in the order given.
  ///
  /// Names, kinds and the administrator flag take the last value written;
  /// keys, successors and retirement only grow; a key's revocation keeps
  /// the earliest sequence number given. An edit for an office not yet in
  /// the roster adds it (active, kind `other`, until the edits say more).
  public func applying(_ edits: [Edit]) -> Roster {
    var roster = self
    for edit in edits where edit.record.collection == Roster.collection {
      guard let office = ReplicaID(rawValue: edit.record.id) else { continue }
      var member = roster.members[office] ?? Member(office: office, name: office.rawValue, kind: "other")
      switch edit {
      case .set(_, "name", .text(let text)): member.name = text
      case .set(_, "kind", .text(let kind)): member.kind = kind
      case .set(_, "admin", .bool(let flag)): member.isAdministrator = flag
      case .set(_, "status", .text("retired")): member.isRetired = true
      case .add(_, "successors", let slug): if let successor = ReplicaID(rawValue: slug) { member.successors.insert(successor) }
      case .put(_, "keys", let hex, _): if let key = try? PublicKey(text: hex) { member.keys.insert(key) }
      case .put(_, "agreement", let hex, .text(let signing)):
        if let key = try? PublicKey(text: signing) { member.agreementKeys[hex] = key }
      case .set(_, "group-key", .text(let id)): roster.groupKeyID = GroupKeyID(hex: id)
      case .put(_, "revoked", let hex, .integer(let from)):
        if let key = try? PublicKey(text: hex) {
          member.revoked[key] = min(member.revoked[key] ?? UInt64.max, UInt64(from))
        }
      default: break
      }
      roster.members[office] = member
    }
    return roster
  }

  /// Why `author` may not make these roster edits, or nil when it may.
  ///
  /// An administrator may make any well-formed change. Any other office
  /// may only add a key to its own entry and revoke its own keys (a key
  /// rotation), and publish its own agreement keys.
  func violation(of edits: [Edit], by author: ReplicaID) -> String? {
    for edit in edits {
      if let problem = Roster.malformation(of: edit) { return problem }
    }
    guard let member = members[author], !member.isAdministrator else { return nil }
    for edit in edits {
      let own = edit.record.id == author.rawValue
      switch edit {
      case .put(_, "keys", _, _) where own, .put(_, "revoked", _, _) where own, .put(_, "agreement", _, _) where own,
        .touch where own:
        continue
      default:
        let admins = sortedMembers.filter { $0.isAdministrator && !$0.isRetired }.map(\.office.rawValue)
        return "only the roster's administrators (\(admins.joined(separator: ", "))) may change the roster entry of \(edit.record.id); \(author) may only rotate its own keys"
      }
    }
    return nil
  }
}
