import ArgumentParser
import Foundation
import Samhand

extension SamhandCommand {
  struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "report",
      abstract: "Write a one-page HTML report on the cooperation's records.",
      discussion: """
        The report shows how many records each collection holds, every open \
        conflict with each office's value, each office's frontier and how far \
        behind the newest state it is, and activity over time as a chart. It \
        is one static HTML file with no scripts and nothing fetched from \
        elsewhere: it opens in any browser and can be mailed as it is.

        Reads a replica (--store, or SAMHAND_STORE) or a shared folder on its \
        own (--folder; nothing in the folder is changed). With --store, the \
        offices' heads come from the replica's shared folder when it is \
        reachable.

        Examples:
          samhand report --out samarbeid.html
          samhand report --folder /mnt/delt --out samarbeid.html --title "Planleggingssamarbeidet"
        """)

    @OptionGroup var global: GlobalOptions

    @Option(
      help: ArgumentHelp("Read the shared folder alone, without a store.", valueName: "shared"))
    var folder: String?

    @Option(help: ArgumentHelp("The HTML file to write.", valueName: "file"))
    var out: String

    @Option(help: ArgumentHelp("The report's title.", valueName: "text"))
    var title: String = "Samhand – planleggingssamarbeidet"

    func validate() throws {
      try FolderArgument.validate(folder)
      if folder != nil && global.store != nil {
        throw ValidationError("give either --store or --folder, not both")
      }
      if folder == nil { try global.validateStore() }
      if out.isEmpty || out == "-" { throw ValidationError("--out must name an HTML file") }
    }

    func run() async throws {
      let report: Report
      if let folder {
        report = try Report(folder: SharedFolder(URL(fileURLWithPath: folder)), title: title)
      } else {
        let store = try global.openStore()
        let heads = (try? store.folder())?.flatMap { $0 }.map { $0.heads().heads } ?? []
        report = try Report(store: store, heads: heads, title: title)
      }
      let url = URL(fileURLWithPath: out)
      do {
        try Data(report.html.utf8).write(to: url, options: .atomic)
      } catch {
        throw CommandFailure("cannot write \(url.path): \(error.localizedDescription)")
      }
      if global.json {
        Console.json(
          .object([
            "path": .string(url.path), "sha256": .string(report.snapshot.sha256),
            "frontier": report.snapshot.frontier.jsonValue,
            "conflicts": .integer(Int64(report.snapshot.conflicts.count)),
            "samhand_version": .string(SamhandVersion.string),
          ]))
        return
      }
      Console.line("Wrote the report to \(url.path)")
      let counts = report.snapshot.schema.collectionNames.map { "\($0) \(report.snapshot.records[$0]?.count ?? 0)" }
      Console.line("  records:   \(counts.joined(separator: ", "))")
      Console.line("  conflicts: \(report.snapshot.conflicts.count) open")
    }
  }
}
