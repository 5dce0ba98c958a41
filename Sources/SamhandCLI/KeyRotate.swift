import ArgumentParser
import Foundation
import Samhand

extension SamhandCommand.KeyCommand {
  struct Rotate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Replace this office's signing key with a new one.",
      discussion: """
        Writes one changeset, signed with the old key, that adds a new key to \
        the office's roster entry and revokes the old one from the office's \
        next changeset on. The new key is kept in the store in the same \
        transaction. Run 'samhand sync' to publish the rotation: the other \
        offices accept changesets signed with the new key once they have it. \
        Export the new key again if you keep a backup ('samhand key export').

        Examples:
          samhand key rotate
          samhand key rotate --store ~/samhand/vl --json
        """)

    @OptionGroup var global: GlobalOptions

    func validate() throws {
      try global.validateStore()
    }

    func run() async throws {
      let store = try global.openStore()
      let rotation = try store.rotateKey()
      if global.json {
        Console.json(
          .object([
            "office": .string(store.replica.rawValue),
            "old": TrustText.jsonValue(rotation.old),
            "new": TrustText.jsonValue(rotation.new),
            "changeset": rotation.changeset.id.jsonValue,
            "old_revoked_from": .integer(Int64(rotation.changeset.sequence + 1)),
          ]))
        return
      }
      Console.line("Rotated the signing key of \(TrustText.labelled(store.replica, in: try store.roster()))")
      Console.line("  old key:    \(rotation.old.fingerprint)   (revoked from \(store.replica)#\(rotation.changeset.sequence + 1) on)")
      Console.line("  new key:    \(rotation.new.fingerprint)")
      Console.line("              \(rotation.new.hex)")
      Console.line(
        "Changeset:  \(rotation.changeset.id) (not yet shared: run 'samhand sync' to publish it, so that the other offices accept the new key)"
      )
      Console.line("A backup made with 'samhand key export' holds the old key: export the new one.")
    }
  }
}
