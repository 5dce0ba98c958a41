import ArgumentParser
import Foundation
import Samhand

extension SamhandCommand {
  struct Sync: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Publish this office's changesets and import everyone else's.",
      discussion: """
        Writes the outbox to the shared folder, reads every new file there, \
        applies changesets whose dependencies have arrived (others wait), and \
        sets bad files aside with a reason: damaged, unsigned or forged files, \
        and changesets signed by an office or key the roster does not allow. \
        Changesets that break the schema or the writer's rights are applied as \
        rejected: they change nothing, alike on every replica. Reports how \
        many changesets were published, imported, rejected and are waiting, \
        and which files were set aside.

        The store's shared folder must still hold its samhand.json: an empty \
        directory in its place (a share that is not mounted) is refused, and \
        nothing is written. --folder names another copy, such as a new or \
        wiped one, and writes the folder's files into it.

        A progress bar appears on stderr when it is a terminal and the sync \
        takes more than a moment. The exit code is 1 when another installation \
        is writing as this office (publishing is then stopped); with \
        --exit-code it is 2 when conflicts are open after the sync.

        Examples:
          samhand sync
          samhand sync --store ~/samhand/ks --json
          samhand sync --folder /media/usb/samhand    (another copy, this time only)
        """)

    @OptionGroup var global: GlobalOptions

    @Option(
      help: ArgumentHelp(
        "Sync with this copy of the shared folder instead of the one set at init.",
        valueName: "shared"))
    var folder: String?

    @Flag(help: "Exit with 2 when conflicts are open after the sync (for scripts).")
    var exitCode = false

    func validate() throws {
      try global.validateStore()
      try FolderArgument.validate(folder)
    }

    func run() async throws {
      let store = try global.openStore()
      let shared = try Sync.folder(folder, of: store)
      let progress = ProgressBar(label: "sync")
      let report: SyncReport
      do {
        report = try await store.sync(with: shared, progress: progress.update)
        progress.finish()
      } catch {
        progress.finish()
        throw error
      }
      let summary = SyncSummary(report)
      let conflicts = try store.conflictCount()
      if global.json {
        guard case .object(var object) = summary.jsonValue else { return }
        object["office"] = .string(store.replica.rawValue)
        object["folder"] = .string(shared.location)
        object["conflicts"] = .integer(Int64(conflicts))
        Console.json(.object(object))
      } else {
        Console.line("Synced \(store.replica) with \(shared.location)")
        summary.printCounts(blockedIsThrown: true)
        let frontier = try store.frontier()
        Console.line("  now at:     \(frontier) (\(Words.count(Int(frontier.total), "changeset")))")
        if conflicts > 0 {
          Console.line(
            "  conflicts:  \(conflicts) open: see 'samhand conflicts' or 'samhand review'")
        }
      }
      if report.publishingBlocked != nil || !report.collisions.isEmpty {
        throw CommandFailure(
          (report.publishingBlocked
            ?? "two installations may be writing as the same office: see the collisions above")
            + "\n" + TrustText.collisionAdvice(store.replica))
      }
      if exitCode, conflicts > 0 { throw CommandFailure.openConflicts() }
    }

    /// The folder to sync with: the one given, else the store's own.
    ///
    /// The store's own folder must still hold its `samhand.json`: an empty
    /// directory in its place is most often a share that is not mounted or
    /// a stick not plugged in, and syncing into it would make the office
    /// believe its edits were shared. A deliberate new or wiped copy is
    /// named with `--folder`, and the sync writes the file again.
    static func folder(_ path: String?, of store: Store) throws -> SharedFolder {
      if let path { return FolderArgument.folder(path) }
      guard let folder = try store.folder() else {
        throw CommandFailure(
          "the store \(store.directory.path) has no shared folder: pass --folder SHARED")
      }
      if folder.isThere, !folder.hasIdentity {
        let quoted = ShellWords.quote(folder.location)
        throw CommandFailure(
          "the shared folder \(folder.location) has no samhand.json: it is not the folder this store syncs with, or it is empty (a share that is not mounted, a USB stick not plugged in?). Nothing was synced. If it is deliberately a new or wiped copy of the shared folder, run 'samhand sync --folder \(quoted)' once: it writes the folder's files again"
        )
      }
      return folder
    }
  }
}
