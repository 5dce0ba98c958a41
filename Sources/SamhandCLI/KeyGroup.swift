import ArgumentParser
import Foundation
import Samhand

extension SamhandCommand.KeyCommand {
  struct ExportGroup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "export-group",
      abstract: "Write the group keys of an encrypted folder to a file.",
      discussion: """
        An encrypted folder's records are sealed with group keys; every \
        office holds those it was given. This writes them to a new file that \
        only you can read (mode 0600; an existing file is never \
        overwritten), for reading the folder without a store ('samhand \
        snapshot --folder F --group-keys FILE', 'samhand report', 'samhand \
        verify') or for 'samhand key import-group'. Anyone who has the file \
        can read the folder's records: keep it as safe as the records.

        Examples:
          samhand key export-group --store ~/samhand/kdd --out /media/usb/gruppe.keys
          samhand snapshot --folder /mnt/delt --group-keys /media/usb/gruppe.keys --out rapport.json
        """)

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("The file to write; it must not exist yet.", valueName: "file"))
    var out: String

    func validate() throws {
      try global.validateStore()
      if out.isEmpty { throw ValidationError("--out must name a file") }
    }

    func run() async throws {
      let store = try global.openStore()
      guard try store.encryptionState() != nil else {
        throw CommandFailure("\(store.replica)'s folder is not encrypted: it has no group keys to export")
      }
      let keys = try store.groupKeys()
      guard !keys.keys.isEmpty else {
        throw CommandFailure(
          "\(store.replica) holds no group key yet: an administrator gives it at its next sync after confirming this office's key")
      }
      let url = URL(fileURLWithPath: out)
      try Export.writeSecret(Data(keys.fileText.utf8), to: url)
      if global.json {
        Console.json(
          .object([
            "office": .string(store.replica.rawValue), "file": .string(url.path),
            "keys": .array(keys.ids.map { .string($0.hex) }),
          ]))
      } else {
        Console.line("Wrote \(Words.count(keys.keys.count, "group key")) of \(store.replica)'s encrypted folder to \(url.path) (readable only by you)")
      }
      Console.warning("anyone who has \(url.path) can read the folder's records: keep it safe, and delete it when done")
    }
  }

  struct ImportGroup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "import-group",
      abstract: "Add group keys from a file to this office's store.",
      discussion: """
        For an office of an encrypted folder that cannot wait for an \
        administrator's sync (or a restored installation): adds the keys in \
        a file 'samhand key export-group' wrote. Keys already held are \
        skipped; a key of the wrong length or id is refused, nothing added.

        Example:
          samhand key import-group --store ~/samhand/vl /media/usb/gruppe.keys
        """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("The group key file.", valueName: "file"))
    var file: String

    func validate() throws { try global.validateStore() }

    func run() async throws {
      let store = try global.openStore()
      let keys = try GroupKeysOption.read(file)
      let added: Int
      do { added = try store.importGroupKeys(keys) } catch let error as SamhandError where error.code == .invalidArgument {
        throw CommandFailure(error.message)
      }
      if global.json {
        Console.json(.object(["office": .string(store.replica.rawValue), "added": .integer(Int64(added))]))
      } else {
        Console.line("Added \(Words.count(added, "group key")) to \(store.replica)'s store (\(keys.keys.count - added) already held); 'samhand sync' reads what waited for them")
      }
    }
  }
}
