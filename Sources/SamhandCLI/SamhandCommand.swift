import ArgumentParser
import Foundation
import Samhand

/// The `samhand` command: one office's replica of the planning cooperation's store.
@main
struct SamhandCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "samhand",
    abstract: "Edit, sync and review an offline-first replicated document store (Samhand \(SamhandVersion.string)).",
    discussion: """
      Each office keeps a full replica (a store folder) and replicates by \
      dropping changeset files into a shared folder: an SMB share, a OneDrive, \
      Dropbox or Syncthing folder, or a USB stick.

      Commands that work on a replica take --store DIR; without it they use \
      the environment variable SAMHAND_STORE. --json prints machine-readable \
      JSON on stdout. Errors go to stderr with a non-zero exit code \
      (64 for a wrong command line, 1 for everything else). With \
      --exit-code, 'sync' and 'conflicts' exit with 2 when conflicts are \
      open; a command interrupted with Ctrl-C exits with 130.

      A session of two offices, editing offline and syncing:

        samhand init --store vestland --replica vestland --folder /mnt/delt
        samhand init --store ks --replica ks --folder /mnt/delt
        export SAMHAND_STORE=vestland
        samhand set cases sak-1 title='Felles løft' participants+=vestland
        samhand sync
        samhand sync --store ks
        samhand get --store ks cases sak-1

      Every changeset is signed with the office's key and checked against \
      the roster of offices: see 'samhand key' and 'samhand roster'.

      See it all at once: samhand demo

      Shell completions: samhand --generate-completion-script bash|zsh|fish \
      (see the README).
      """,
    version: SamhandVersion.string,
    subcommands: [
      Init.self, SetCommand.self, Delete.self, Get.self, List.self, Apply.self,
      Sync.self, Status.self, Conflicts.self, Resolve.self, Review.self, Log.self,
      SnapshotCommand.self, ReportCommand.self, Verify.self, Inspect.self, KeyCommand.self,
      RosterCommand.self, Collisions.self, CheckpointCommand.self, Prune.self, RetentionCommand.self, UpgradeFolder.self, Demo.self,
    ]
  )

  /// Runs the command, turning library errors into a message on stderr and a
  /// non-zero exit code instead of argument-parser's generic report.
  static func main() async {
    do {
      var command = try parseAsRoot()
      if var command = command as? AsyncParsableCommand {
        try await command.run()
      } else {
        try command.run()
      }
    } catch let error as SamhandError {
      Console.error(error)
      Foundation.exit(ExitCode.failure.rawValue)
    } catch let failure as CommandFailure {
      if !failure.message.isEmpty { Console.error(failure.message) }
      Foundation.exit(failure.exitCode.rawValue)
    } catch {
      exit(withError: error)
    }
  }
}

/// A failure the command reports itself: the message goes to stderr.
struct CommandFailure: Error {
  /// The exit code of `--exit-code` when conflicts are open, for scripts.
  static let conflictsOpen = ExitCode(2)

  /// Ends a command that did its work with "conflicts are open".
  static func openConflicts() -> CommandFailure { CommandFailure("", exitCode: conflictsOpen) }

  var message: String
  var exitCode: ExitCode = .failure

  init(_ message: String, exitCode: ExitCode = .failure) {
    self.message = message
    self.exitCode = exitCode
  }
}
