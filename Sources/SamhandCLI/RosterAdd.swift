import ArgumentParser
import Foundation
import Samhand

extension SamhandCommand.RosterCommand {
  struct Add: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Add an office to the roster with its key, or add a key to an office already there.",
      discussion: """
        For administrators. The office's changesets signed with the key are \
        accepted by every replica that has synced this change. The key is \
        what the office's 'samhand key show' prints; check its fingerprint \
        with the office on the phone before adding it.

        A new office's name defaults to its Norwegian name if it is one of \
        the cooperation's offices or a county of the 2024 split (such as \
        ostfold), else to the slug; its kind to that office's kind, else \
        fylkeskommune. If the office is already in the roster, the key is \
        added to its entry: how an office whose key was revoked, or that \
        reinstalled without its key, gets to write again.

        Examples:
          samhand roster add ostfold --key 3b6a27bcceb6a42d…(64 hex digits)
          samhand roster add sf-vestland --key HEX --kind other \\
            --name 'Statsforvalteren i Vestland'
          samhand roster add vestland --key HEX    (vestland's new installation)
        """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The office's slug, such as ostfold.")
    var slug: String

    @Option(help: ArgumentHelp("The office's public key: 64 hex digits, as 'samhand key show' prints.", valueName: "hex"))
    var key: String

    @Option(help: ArgumentHelp("Its display name (default: the known Norwegian name, else the slug).", valueName: "name"))
    var name: String?

    @Option(help: ArgumentHelp("Its kind: fylkeskommune, ks, kdd or other (default: the known kind, else fylkeskommune).", valueName: "kind"))
    var kind: String?

    @Flag(help: "Make the office an administrator of the roster.")
    var admin = false

    func validate() throws {
      try global.validateStore()
      _ = try TrustText.parseSlug(slug, option: "SLUG")
      _ = try TrustText.parseKey(key)
      if let name, name.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("--name may not be empty") }
    }

    func run() async throws {
      let office = try TrustText.parseSlug(slug, option: "SLUG")
      let publicKey = try TrustText.parseKey(key)
      let store = try global.openStore()
      let roster = try TrustText.roster(of: store)
      if let owner = roster.sortedMembers.first(where: { $0.office != office && $0.keys.contains(publicKey) }) {
        throw CommandFailure(
          "key \(publicKey.fingerprint) is already \(owner.office)'s: each office signs with a key of its own (check that you copied \(office)'s key)")
      }
      let existing = roster.members[office]
      if let existing, let from = existing.revoked[publicKey] {
        throw CommandFailure(
          "key \(publicKey.fingerprint) of \(office) was revoked from \(office)#\(from) on, and adding it again does not lift that: \(office) needs a new key (a new installation's 'samhand key show')")
      }
      let changesName = name != nil || kind != nil || (admin && existing?.isAdministrator != true)
      if let existing, existing.keys.contains(publicKey), !changesName {
        if global.json {
          Console.json(
            .object([
              "office": .string(office.rawValue), "action": .string("unchanged"),
              "public_key": .string(publicKey.hex), "fingerprint": .string(publicKey.fingerprint),
              "changeset": .null,
            ]))
        } else {
          Console.line("\(TrustText.labelled(office, in: roster)) already has key \(publicKey.fingerprint) in the roster; nothing written.")
        }
        return
      }
      let finalName = name ?? existing?.name ?? TrustText.defaultName(office)
      let finalKind = kind ?? existing?.kind ?? TrustText.defaultKind(office)
      let changeset = try store.transact { tx in
        if existing == nil || changesName {
          try tx.addOffice(
            office, name: finalName, kind: finalKind, key: publicKey,
            administrator: admin || existing?.isAdministrator == true)
        } else {
          tx.addKey(publicKey, to: office)
        }
      }!
      let action = existing == nil ? "added" : "rekeyed"
      if global.json {
        Console.json(
          .object([
            "office": .string(office.rawValue), "action": .string(action),
            "name": .string(finalName), "kind": .string(finalKind),
            "admin": .bool(admin || existing?.isAdministrator == true),
            "public_key": .string(publicKey.hex), "fingerprint": .string(publicKey.fingerprint),
            "changeset": changeset.id.jsonValue,
          ]))
        return
      }
      if let existing {
        Console.line("\(office) is already in the roster: added the key \(publicKey.fingerprint) to its entry.")
        let others = existing.keys.sorted().map { key in
          key.fingerprint + (existing.revoked[key].map { " (revoked from #\($0))" } ?? "")
        }
        if !others.isEmpty { Console.line("  its other keys: \(others.joined(separator: "; "))") }
        if existing.isRetired {
          Console.warning("\(office) has retired: a new key does not let it write again")
        }
      } else {
        Console.line(
          "Added \(office) to the roster: \(finalName), kind \(finalKind)\(admin ? ", administrator" : ""), key \(publicKey.fingerprint).")
      }
      TrustText.printWritten(changeset)
      Console.line("Each office accepts \(office)'s changesets signed with this key once it has synced this change.")
    }
  }
}
