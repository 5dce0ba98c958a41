import ArgumentParser
import Foundation
import Samhand

extension SamhandCommand {
  struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "report",
      abstract: "Write a one-page HTML report on the cooperation's records.",
      discussion: """
        The report shows the records of every collection as the schema \
        describes them: joint projects with their lead, participants, status, \
        period and funding pledges per office with the sum, and a chart of \
        the pledges per office (the spleiselag); shared cases with owner and \
        participants, charted by status and plan type; membership per \
        organisation, network and group. Then what changed since --since, \
        every open conflict with each office's value, each office's frontier \
        and how far behind the newest state it is, and activity over time. \
        The views come from the schema (the roles its write rules name, the \
        values its descriptions list), so another schema gets a report too.

        It is one static HTML file with no scripts and nothing fetched from \
        elsewhere: it opens in any browser, prints to PDF for a board meeting \
        and can be mailed as it is. A table lists at most 1,000 records; the \
        CSV and SQLite snapshots hold them all.

        Reads a replica (--store, or SAMHAND_STORE) or a shared folder on its \
        own (--folder; nothing in the folder is changed). With --store, the \
        offices' heads come from the replica's shared folder when it is \
        reachable.

        Examples:
          samhand report --out samarbeid.html
          samhand report --folder /mnt/delt --out samarbeid.html --title "Planleggingssamarbeidet"
          samhand report --out endringar.html --since 2026-06-01      (what changed since 1 June)
          samhand report --out endringar.html --since ks:40,vestland:12
        """)

    @OptionGroup var global: GlobalOptions

    @Option(
      help: ArgumentHelp("Read the shared folder alone, without a store.", valueName: "shared"))
    var folder: String?

    @Option(help: ArgumentHelp("The HTML file to write.", valueName: "file"))
    var out: String

    @Option(help: ArgumentHelp("The report's title.", valueName: "text"))
    var title: String = "Samhand – planleggingssamarbeidet"

    @Option(
      help: ArgumentHelp(
        "List the records created, changed and deleted since a day (from its start, UTC), a time or a frontier (ks:3,vestland:2), by office.",
        valueName: "date|frontier"))
    var since: String?

    @OptionGroup var groupKeys: GroupKeysOption

    func validate() throws {
      try FolderArgument.validate(folder)
      if folder != nil && global.store != nil {
        throw ValidationError("give either --store or --folder, not both")
      }
      if folder == nil { try global.validateStore() }
      if out.isEmpty || out == "-" { throw ValidationError("--out must name an HTML file") }
      if let since { _ = try When.parse(since, option: "--since", dayStart: true) }
    }

    func run() async throws {
      var report: Report
      if let folder {
        report = try Report(folder: FolderArgument.folder(folder), title: title, keys: try groupKeys.keys())
      } else {
        let store = try global.openStore()
        let heads = try store.countedHeads((try? store.folder())?.flatMap { $0 }.map { $0.heads().heads } ?? [])
        report = try Report(store: store, heads: heads, title: title)
      }
      switch try since.map({ try When.parse($0, option: "--since", dayStart: true) }) {
      case .date(let date)?: report.since = .date(date)
      case .frontier(let frontier)?: report.since = .frontier(frontier)
      case nil: break
      }
      let url = URL(fileURLWithPath: out)
      let html = report.html
      do {
        try Data(html.utf8).write(to: url, options: .atomic)
      } catch {
        throw CommandFailure("cannot write \(url.path): \(error.localizedDescription)")
      }
      if global.json {
        Console.json(
          .object([
            "path": .string(url.path), "sha256": .string(report.snapshot.sha256),
            "frontier": report.snapshot.frontier.jsonValue,
            "conflicts": .integer(Int64(report.snapshot.conflicts.count)),
            "bytes": .integer(Int64(html.utf8.count)),
            "samhand_version": .string(SamhandVersion.string),
          ]))
        return
      }
      Console.line("Wrote the report to \(url.path) (\(html.utf8.count / 1024) KiB)")
      let counts = report.snapshot.schema.collectionNames.map { "\($0) \(report.snapshot.records[$0]?.count ?? 0)" }
      Console.line("  records:   \(counts.joined(separator: ", "))")
      Console.line("  conflicts: \(report.snapshot.conflicts.count) open")
    }
  }
}
