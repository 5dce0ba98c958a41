import ArgumentParser
import Foundation
import Samhand

/// How the roster and keys look on the command line, shared by `key`,
/// `roster`, `init` and `status`.
enum TrustText {
  /// What to do about a collision: which installation to keep, and how a
  /// reinstalled machine goes on with the office's key instead of a copy.
  static func collisionAdvice(_ office: ReplicaID) -> String {
    "Keep one installation writing as '\(office)' and stop the other (a copied store, or a key backup in use twice). A machine that must take over makes a new store with the office's key: 'samhand key export --out FILE' where the key is kept, then 'samhand init --key FILE' on the new machine. Then run 'samhand collisions clear' (see 'samhand collisions --help')."
  }

  /// Where an office's signing key stands in the roster in force.
  enum KeyStanding: Equatable {
    /// The store was made without a shared folder: nothing checks keys.
    case noRoster
    /// Listed for the office and not revoked: its changesets are accepted.
    case inForce
    /// The office is listed without a key: its first changeset claims this one
    /// (a folder of roster format 1).
    case unclaimed
    /// Waiting for an administrator to confirm this key (roster format 2):
    /// the office writes, and the others keep what it writes until then.
    case awaitingConfirmation
    /// Listed, but revoked from this sequence number on.
    case revoked(from: UInt64)
    /// The office is listed with other keys only.
    case notListed
    /// The office is not in the roster at all.
    case notMember
    /// The office has retired.
    case retired(successors: [ReplicaID])

    /// A stable word for `--json`.
    var code: String {
      switch self {
      case .noRoster: "no-roster"
      case .inForce: "in-force"
      case .unclaimed: "unclaimed"
      case .awaitingConfirmation: "awaiting-confirmation"
      case .revoked: "revoked"
      case .notListed: "not-listed"
      case .notMember: "not-a-member"
      case .retired: "retired"
      }
    }

    /// Whether the office can write with this key now (a claim counts).
    var maySign: Bool {
      switch self {
      case .noRoster, .inForce, .unclaimed, .awaitingConfirmation: true
      default: false
      }
    }

    /// Whether an administrator must add the key before the office can write.
    var needsAdministrator: Bool {
      switch self {
      case .notListed, .notMember: true
      default: false
      }
    }
  }

  /// Where `key` stands for `office` in `roster` (nil: no roster), for its next changeset.
  static func standing(of key: PublicKey, for office: ReplicaID, in roster: Roster?, nextSequence: UInt64)
    -> KeyStanding
  {
    guard let roster else { return .noRoster }
    guard let member = roster.members[office] else { return .notMember }
    if member.isRetired { return .retired(successors: member.successors.sorted()) }
    if member.keys.contains(key) {
      if let from = member.revoked[key], nextSequence >= from { return .revoked(from: from) }
      return .inForce
    }
    return member.keys.isEmpty ? .unclaimed : .notListed
  }

  /// The standing of this replica's own key, for its next changeset.
  static func ownStanding(of store: Store) throws -> (key: PublicKey, standing: KeyStanding) {
    let key = try store.publicKey()
    let next = try store.frontier()[store.replica] + 1
    let roster = try store.roster()
    var found = standing(of: key, for: store.replica, in: roster, nextSequence: next)
    // In a roster of format 2 the office's own claim does not make the key
    // count for the others: an administrator's confirmation does.
    if roster?.claimsNeedConfirmation == true, found == .inForce || found == .unclaimed,
      try store.ownKeyIsConfirmed() == false
    {
      found = .awaitingConfirmation
    }
    return (key, found)
  }

  /// The standing in words, for people.
  static func describe(_ standing: KeyStanding, office: ReplicaID, roster: Roster?) -> String {
    switch standing {
    case .noRoster:
      return "no roster: this store was made without a shared folder, so nothing checks keys"
    case .inForce:
      return "in force: listed for \(office) in the roster"
    case .unclaimed:
      return "not yet listed: \(office) is in the roster without a key, so its first changeset claims this one"
    case .awaitingConfirmation:
      return "WAITING for an administrator (\(administrators(roster, other: office))) to confirm it: the other offices keep what \(office) writes, and apply it once the key is confirmed"
    case .revoked(let from):
      return "REVOKED from \(office)#\(from) on: \(office) can no longer write with it"
    case .notListed:
      return "NOT in the roster: \(office) is listed with other keys only, so its changesets would be set aside"
    case .notMember:
      return "NOT in the roster: \(office) is not a member, so its changesets would be set aside"
    case .retired(let successors):
      let heirs = successors.isEmpty ? "" : " (successors: \(successors.map(\.rawValue).joined(separator: ", ")))"
      return "\(office) has retired\(heirs): nothing it signs now is accepted"
    }
  }

  /// What to do about a key that cannot sign, or nil when it can.
  static func advice(_ standing: KeyStanding, office: ReplicaID, key: PublicKey, roster: Roster?) -> String? {
    switch standing {
    case .awaitingConfirmation:
      return "sync, then give an administrator (\(administrators(roster, other: office))) this fingerprint by phone; they run 'samhand sync' and 'samhand roster confirm \(office)', compare it, and confirm it"
    case .notListed, .notMember:
      return "an administrator (\(administrators(roster))) must add this key: samhand roster add \(office) --key \(key.hex)"
    case .revoked:
      return "a revoked key stays revoked: make a new one with 'samhand key new' and have an administrator (\(administrators(roster))) add it with 'samhand roster add \(office) --key <the new key>'"
    default:
      return nil
    }
  }

  /// `kdd, ks`: the administrators still active (other than `other`), or a
  /// note that there are none.
  static func administrators(_ roster: Roster?, other: ReplicaID? = nil) -> String {
    let admins = (roster?.sortedMembers ?? []).filter { $0.isAdministrator && !$0.isRetired && $0.office != other }
      .map(\.office.rawValue)
    return admins.isEmpty ? "none left" : admins.joined(separator: ", ")
  }

  /// The roster in force, or a failure saying the store has none.
  static func roster(of store: Store) throws -> Roster {
    guard let roster = try store.roster() else {
      throw CommandFailure(
        "the store \(store.directory.path) has no roster: it was made without a shared folder (or by an older Samhand), so it checks no keys or rights")
    }
    return roster
  }

  /// A display name for a new office: from the cooperation's list or the
  /// 2024 county split, else the slug.
  static func defaultName(_ office: ReplicaID) -> String { knownOffice(office)?.name ?? office.rawValue }

  /// A kind for a new office: that of a known office, else `fylkeskommune`.
  static func defaultKind(_ office: ReplicaID) -> String { knownOffice(office)?.kind ?? "fylkeskommune" }

  static func knownOffice(_ office: ReplicaID) -> Office? {
    if let known = Office.cooperation.first(where: { $0.slug == office }) { return known }
    return CountyReform.splits2024.lazy.flatMap(\.successors).first { $0.slug == office }
  }

  /// `vestland (Vestland fylkeskommune)` from the roster, else the known names.
  static func labelled(_ office: ReplicaID, in roster: Roster?) -> String {
    if let name = roster?.members[office]?.name ?? knownOffice(office)?.name, name != office.rawValue {
      return "\(office) (\(name))"
    }
    return office.rawValue
  }

  /// Reads a public key given on the command line, as a validation error.
  static func parseKey(_ text: String) throws -> PublicKey {
    do {
      return try PublicKey(text: text)
    } catch let error as SamhandError {
      throw ValidationError(error.message)
    }
  }

  /// Reads an office slug given on the command line, as a validation error.
  static func parseSlug(_ text: String, option: String) throws -> ReplicaID {
    guard let slug = ReplicaID(rawValue: text) else {
      throw ValidationError(
        "\(option) '\(text)' is not a valid office slug: use 1–63 lowercase letters a–z, digits and inner hyphens (for example more-og-romsdal)"
      )
    }
    return slug
  }

  /// The lines that end every command that writes to the roster.
  static func printWritten(_ changeset: Changeset) {
    Console.line("Changeset:  \(changeset.id) (not yet shared: run 'samhand sync' to publish it)")
  }

  // MARK: - JSON

  static func jsonValue(_ key: PublicKey) -> JSONValue {
    .object(["public_key": .string(key.hex), "fingerprint": .string(key.fingerprint)])
  }

  static func jsonValue(_ member: Roster.Member) -> JSONValue {
    .object([
      "slug": .string(member.office.rawValue),
      "name": .string(member.name),
      "kind": .string(member.kind),
      "admin": .bool(member.isAdministrator),
      "status": .string(member.isRetired ? "retired" : "active"),
      "successors": .array(member.successors.sorted().map { .string($0.rawValue) }),
      "keys": .array(
        member.keys.sorted().map { key in
          .object([
            "public_key": .string(key.hex),
            "fingerprint": .string(key.fingerprint),
            "revoked_from": member.revoked[key].map { .integer(Int64($0)) } ?? .null,
          ])
        }),
    ])
  }
}
