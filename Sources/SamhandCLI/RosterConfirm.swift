import ArgumentParser
import Foundation
import Samhand

extension SamhandCommand.RosterCommand {
  struct Confirm: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Show the keys offices claim, and confirm one after comparing its fingerprint.",
      discussion: """
        For administrators. In a folder made by this Samhand, a key counts \
        only once an administrator has confirmed it: anyone who can write \
        to the shared folder could otherwise sign as an office that has no \
        key yet. A new office claims its key when it joins; what it writes \
        is kept by every office until its key is confirmed, then applied.

        Without --fingerprint or --key, lists the claims this replica has \
        seen (run 'samhand sync' first), with each key's fingerprint. Ask \
        the office for its fingerprint (its 'samhand key show' prints it) \
        by phone or in person, never through the shared folder, and \
        confirm the key only if the two are the same. Two keys claiming one \
        office mean that someone else claims it too: confirm only the one \
        the office gave you.

        Examples:
          samhand roster confirm                 (every claim seen)
          samhand roster confirm vestland        (vestland's claims)
          samhand roster confirm vestland --fingerprint 3f2a9c01…
          samhand roster confirm vestland --key HEX
        """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The office whose claim to show or confirm; all offices when left out.")
    var slug: String?

    @Option(
      help: ArgumentHelp(
        "Confirm the claimed key with this fingerprint (as 'samhand key show' prints it; spaces are ignored).",
        valueName: "fingerprint"))
    var fingerprint: String?

    @Option(help: ArgumentHelp("Confirm this public key (64 hex digits), claimed or not.", valueName: "hex"))
    var key: String?

    func validate() throws {
      try global.validateStore()
      if let slug { _ = try TrustText.parseSlug(slug, option: "SLUG") }
      if let key { _ = try TrustText.parseKey(key) }
      if fingerprint != nil && key != nil { throw ValidationError("give --fingerprint or --key, not both") }
      if (fingerprint != nil || key != nil) && slug == nil {
        throw ValidationError("name the office whose key to confirm: samhand roster confirm SLUG --fingerprint …")
      }
    }

    /// A fingerprint as people type it: lowercase hex digits only.
    static func normalized(_ fingerprint: String) -> String {
      fingerprint.lowercased().filter(\.isHexDigit)
    }

    func run() async throws {
      let store = try global.openStore()
      let roster = try TrustText.roster(of: store)
      let office = try slug.map { try TrustText.parseSlug($0, option: "SLUG") }
      let claims = try store.unconfirmedClaims().filter { office == nil || $0.changeset.author == office }
      // One line per office and key, with how many changesets wait for it.
      var byKey: [(office: ReplicaID, key: PublicKey, changesets: [Changeset.ID])] = []
      for claim in claims {
        if let index = byKey.firstIndex(where: { $0.office == claim.changeset.author && $0.key == claim.key }) {
          byKey[index].changesets.append(claim.changeset)
        } else {
          byKey.append((claim.changeset.author, claim.key, [claim.changeset]))
        }
      }

      guard let office, fingerprint != nil || key != nil else {
        if global.json {
          Console.json(
            .array(
              byKey.map { item in
                .object([
                  "office": .string(item.office.rawValue), "public_key": .string(item.key.hex),
                  "fingerprint": .string(item.key.fingerprint),
                  "changesets": .array(item.changesets.map(\.jsonValue)),
                ])
              }))
          return
        }
        if byKey.isEmpty {
          Console.line(
            "No claims waiting\(office.map { " for \($0)" } ?? ""). (Claims are seen at a sync: run 'samhand sync' first.)")
          return
        }
        Console.line("Keys claimed and not confirmed (compare each fingerprint with the office before confirming):")
        for item in byKey {
          let rivals = byKey.filter { $0.office == item.office }.count
          Console.line(
            "  \(TrustText.labelled(item.office, in: roster))  \(item.key.fingerprint)  \(Words.count(item.changesets.count, "changeset")) waiting (\(SyncSummary.list(item.changesets)))")
          if rivals > 1 {
            Console.line("    \(rivals) keys claim \(item.office): someone else claims it too; confirm only the one \(item.office) gives you")
          }
        }
        Console.line("Then: samhand roster confirm SLUG --fingerprint FINGERPRINT")
        return
      }

      let chosen: PublicKey
      if let key {
        chosen = try TrustText.parseKey(key)
      } else {
        let wanted = Confirm.normalized(fingerprint ?? "")
        let matching = Set(byKey.filter { $0.office == office && Confirm.normalized($0.key.fingerprint).hasPrefix(wanted) }.map(\.key))
        guard wanted.count >= 8, matching.count == 1, let only = matching.first else {
          if matching.count > 1 {
            throw CommandFailure("more than one claimed key of \(office) starts with that fingerprint: give it whole")
          }
          let seen = byKey.filter { $0.office == office }.map(\.key.fingerprint)
          throw CommandFailure(
            seen.isEmpty
              ? "no claim of \(office) seen here: run 'samhand sync' first, or confirm its key with --key HEX (from its 'samhand key show')"
              : "no claimed key of \(office) has fingerprint \(fingerprint ?? "") (claimed: \(seen.joined(separator: "; "))); check it with \(office) again before confirming anything")
        }
        chosen = only
      }
      if let owner = roster.sortedMembers.first(where: { $0.office != office && $0.keys.contains(chosen) }) {
        throw CommandFailure("key \(chosen.fingerprint) is already \(owner.office)'s: each office signs with a key of its own")
      }
      let changeset: Changeset
      do {
        changeset = try store.confirmKey(chosen, of: office)
      } catch let error as SamhandError where error.code == .invalidArgument {
        throw CommandFailure(error.message)
      }
      let waiting = byKey.first { $0.office == office && $0.key == chosen }?.changesets ?? []
      if global.json {
        Console.json(
          .object([
            "office": .string(office.rawValue), "action": .string("confirmed"),
            "public_key": .string(chosen.hex), "fingerprint": .string(chosen.fingerprint),
            "changeset": changeset.id.jsonValue, "released": .array(waiting.map(\.jsonValue)),
          ]))
        return
      }
      Console.line("Confirmed key \(chosen.fingerprint) for \(TrustText.labelled(office, in: roster)).")
      TrustText.printWritten(changeset)
      if !waiting.isEmpty {
        Console.line(
          "Waiting for it, and applied at the next sync here and at every office that syncs this change: \(Words.count(waiting.count, "changeset")) of \(office) (\(SyncSummary.list(waiting))).")
      }
    }
  }
}
