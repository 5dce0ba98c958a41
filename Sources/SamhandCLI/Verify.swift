import ArgumentParser
import Foundation
import Samhand

extension SamhandCommand {
  struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Check every file in a shared folder without changing anything.",
      discussion: """
        Reads and checks every changeset file and head in the folder: damaged \
        or truncated files, names that disagree with their contents, files of \
        another store, two different changesets under one office and number, \
        gaps, missing dependencies, changesets that break the schema, and \
        offices at the same frontier whose snapshots differ. In a folder with \
        a roster, also unsigned and forged files, changesets signed by an \
        office or key the roster does not allow (not a member, retired, a \
        revoked key), and changesets every office rejects for writing \
        outside the writer's rights. Lists each \
        problem; the exit code is 1 if there is any. Without --folder, checks \
        the folder of the store given by --store or SAMHAND_STORE.

        Examples:
          samhand verify --folder /mnt/delt/samhand
          samhand verify --folder ./delt --json
        """)

    @Option(help: ArgumentHelp("The shared folder to check.", valueName: "shared"))
    var folder: String?

    @Option(
      help: ArgumentHelp(
        "A store whose shared folder to check, when --folder is not given.", valueName: "dir"))
    var store: String?

    @Flag(help: "Print machine-readable JSON on stdout.")
    var json = false

    @OptionGroup var groupKeys: GroupKeysOption

    func validate() throws {
      try FolderArgument.validate(folder)
      if folder == nil && store == nil
        && ProcessInfo.processInfo.environment[GlobalOptions.storeVariable] == nil
      {
        throw ValidationError("name the folder to check: --folder SHARED")
      }
    }

    func run() async throws {
      let shared: SharedFolder
      var keys = try groupKeys.keys()
      if let folder {
        shared = FolderArgument.folder(folder)
      } else {
        var options = GlobalOptions()
        options.store = store
        let opened = try options.openStore()
        shared = try SamhandCommand.Sync.folder(nil, of: opened)
        // The store's own keys open its encrypted folder.
        let held = try opened.groupKeys()
        for id in held.ids { keys.insert(held[id]!) }
      }
      guard shared.isThere else {
        throw CommandFailure("no shared folder at \(shared.location)")
      }
      let result = shared.verify(keys: keys)
      if json {
        Console.json(
          .object([
            "folder": .string(shared.location),
            "sound": .bool(result.problems.isEmpty),
            "problems": .array(result.problems.map(\.jsonValue)),
            "changesets": .integer(Int64(result.changesets)),
            "heads": .array(result.heads.map(\.jsonValue)),
            "divergent_heads": .array(
              result.divergentHeads.map { .array($0.map { .string($0.office.rawValue) }) }),
            "ignored": .integer(Int64(result.ignored)),
            "sealed_unread": .integer(Int64(result.sealedUnread)),
            "samhand_version": .string(SamhandVersion.string),
          ]))
      } else {
        Console.line("Checked \(shared.location)")
        Console.line("  changesets:  \(result.changesets) good")
        Console.line(
          "  heads:       \(result.heads.count) (\(result.heads.map(\.office.rawValue).joined(separator: ", ")))"
        )
        if result.ignored > 0 {
          Console.line(
            "  ignored:     \(Words.count(result.ignored, "name")) Samhand does not own (temporary files, desktop.ini, …)"
          )
        }
        if result.sealedUnread > 0 {
          Console.line(
            "  sealed:      \(Words.count(result.sealedUnread, "changeset")) sealed with group keys not given: signatures, names and dependencies checked, contents and rights not (give --group-keys FILE or --store)"
          )
        }
        if result.problems.isEmpty {
          Console.line(
            result.divergentHeads.isEmpty ? "No problems found." : "No problems in the files.")
        } else {
          Console.line("\(Words.count(result.problems.count, "problem")):")
          for problem in result.problems { Console.line("  \(problem.path): \(problem.reason)") }
        }
        // Listed here unless the problems already name them.
        if !result.problems.contains(where: { $0.path.hasPrefix("heads") }) {
          for group in result.divergentHeads {
            let offices = group.map { "\($0.office) (\($0.snapshotHash.prefix(12)))" }.joined(
              separator: ", ")
            Console.line(
              "  heads: offices at the same frontier report different snapshots: \(offices)")
          }
        }
      }
      let count =
        result.problems.count + (result.problems.isEmpty ? result.divergentHeads.count : 0)
      if count > 0 {
        throw CommandFailure("\(shared.location) has \(Words.count(count, "problem"))")
      }
    }
  }
}
