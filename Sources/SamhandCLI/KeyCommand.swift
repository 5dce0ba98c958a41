import ArgumentParser
import Foundation
import Samhand

extension SamhandCommand {
  struct KeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "key",
      abstract: "Show, rotate or back up this office's signing key.",
      discussion: """
        Every changeset an office writes is signed with its Ed25519 key, and \
        the other offices accept it only if the roster lists that key for the \
        office. The private key stays in the store; the roster holds the \
        public half, which 'key show' prints (the fingerprint is for reading \
        aloud on the phone). Without a subcommand, shows the key.

        Examples:
          samhand key
          samhand key show
          samhand key rotate --store ~/samhand/vl
          samhand key new --store ~/samhand/vl      (after an administrator revoked the key)
          samhand key export --out ~/trygt/vestland.key
          samhand key export-group --out ~/trygt/gruppe.keys   (an encrypted folder's group keys)
        """,
      subcommands: [Show.self, Rotate.self, New.self, Export.self, ExportGroup.self, ImportGroup.self],
      defaultSubcommand: Show.self)
  }
}
