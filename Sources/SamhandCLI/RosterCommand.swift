import ArgumentParser
import Foundation
import Samhand

extension SamhandCommand {
  struct RosterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "roster",
      abstract: "Show and change the roster: the offices, their keys and who administers it.",
      discussion: """
        The roster lists the offices that may write, with their public keys. \
        Its first version (the genesis roster) is fixed when the shared folder \
        is created; every replica pins its hash. Changes are ordinary \
        changesets that only an administrator (by default KS and KDD) may \
        write, except that an office may rotate its own key. A key an \
        office claims counts once an administrator confirms it. Without a \
        subcommand, shows the roster.

        Examples:
          samhand roster
          samhand roster confirm vestland         (the keys it claims, to compare)
          samhand roster confirm vestland --fingerprint 3f2a9c01…
          samhand roster add ostfold --key HEX     (HEX: what its 'key show' prints)
          samhand roster retire viken --successor ostfold --successor akershus
          samhand roster transfer viken
          samhand roster revoke vestland --key HEX --from 12
        """,
      subcommands: [Show.self, Add.self, Confirm.self, Retire.self, Revoke.self, Transfer.self],
      defaultSubcommand: Show.self)
  }
}
