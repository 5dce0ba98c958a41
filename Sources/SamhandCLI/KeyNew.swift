import ArgumentParser
import Foundation
import Samhand

extension SamhandCommand.KeyCommand {
  struct New: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Make a new key for an office whose key was revoked, keeping its store and history.",
      discussion: """
        After an administrator revoked this office's key (a stolen laptop, a \
        leaked backup), the office can no longer write. This makes a fresh \
        key pair in the same store. Nothing is written to the folder: the \
        revoked key cannot sign, so an administrator admits the new key with \
        'samhand roster add OFFICE --key HEX' after comparing its \
        fingerprint with the office by phone. The office writes meanwhile, \
        its numbering continuing; the others keep what it writes and apply \
        it once the new key is admitted. A key that \
        still signs is replaced with 'samhand key rotate' instead. Export \
        the new key if you keep a backup ('samhand key export').

        Examples:
          samhand key new --store ~/samhand/vl
          samhand key new --json
        """)

    @OptionGroup var global: GlobalOptions

    func validate() throws {
      try global.validateStore()
    }

    func run() async throws {
      let store = try global.openStore()
      let (old, new) = try store.replaceRevokedKey()
      let roster = try store.roster()
      let admins = TrustText.administrators(roster, other: store.replica)
      let add = "samhand roster add \(store.replica) --key \(new.hex)"
      if global.json {
        Console.json(
          .object([
            "office": .string(store.replica.rawValue),
            "old": TrustText.jsonValue(old),
            "new": TrustText.jsonValue(new),
            "admit_with": .string(add),
          ]))
        return
      }
      Console.line("Made a new signing key for \(TrustText.labelled(store.replica, in: roster))")
      Console.line("  old key:    \(old.fingerprint)   (revoked: it signs nothing more)")
      Console.line("  new key:    \(new.fingerprint)")
      Console.line("              \(new.hex)")
      Console.line(
        "Next: read the fingerprint to an administrator (\(admins)) by phone; they run '\(add)' and 'samhand sync'. This office can write meanwhile; the others apply what it writes once they have that change."
      )
      Console.line("A backup made with 'samhand key export' holds the old key: export the new one.")
    }
  }
}
