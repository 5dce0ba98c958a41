import ArgumentParser
import Foundation
import Samhand

extension SamhandCommand.KeyCommand {
  struct Show: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Print this office's public key and fingerprint, and whether the roster lists it.",
      discussion: """
        Prints the public key (64 hex digits, what 'samhand roster add' takes) \
        and its fingerprint, and says whether the key is in force in the roster \
        this replica holds: listed for the office, not yet claimed (the \
        office's first changeset claims it), revoked, or missing, in which \
        case an administrator must add it.

        Examples:
          samhand key show
          samhand key show --store ~/samhand/ostfold --json
        """)

    @OptionGroup var global: GlobalOptions

    func validate() throws {
      try global.validateStore()
    }

    func run() async throws {
      let store = try global.openStore()
      let roster = try store.roster()
      let (key, standing) = try TrustText.ownStanding(of: store)
      if global.json {
        Console.json(
          .object([
            "office": .string(store.replica.rawValue),
            "public_key": .string(key.hex),
            "fingerprint": .string(key.fingerprint),
            "status": .string(standing.code),
            "in_force": .bool(standing == .inForce),
          ]))
        return
      }
      Console.line("Office:       \(TrustText.labelled(store.replica, in: roster))")
      Console.line("Public key:   \(key.hex)")
      Console.line("Fingerprint:  \(key.fingerprint)")
      Console.line("Roster:       \(TrustText.describe(standing, office: store.replica, roster: roster))")
      if let advice = TrustText.advice(standing, office: store.replica, key: key, roster: roster) {
        Console.line("              \(advice)")
      }
    }
  }
}
