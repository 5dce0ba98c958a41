import ArgumentParser
import Foundation
import Samhand

extension SamhandCommand {
  struct SnapshotCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "snapshot",
      abstract: "Write the merged state as a snapshot: canonical JSON, CSV or SQLite.",
      discussion: """
        Writes the snapshot of a replica (--store, or SAMHAND_STORE), or of a \
        shared folder read on its own without any store (--folder; nothing in \
        the folder is changed). Two replicas at the same frontier write \
        byte-identical snapshots.

        Formats (see Docs/FORMATS.md):
          json    the canonical JSON; --out - prints it on stdout
          csv     a folder with one file per collection, one per map field \
        as a long table (projects_funding.csv: id, key, value, for pivot \
        tables), conflicts.csv and frontier.csv (UTF-8 with BOM, RFC 4180); \
        --delimiter ';' for spreadsheets in Norwegian locales
          sqlite  one database file with a typed table per collection

        --at gives the state as it was: a frontier (ks:3,vestland:2, for \
        example from an office's head), a day (2026-06-01: everything \
        committed by the end of that day, UTC) or a time \
        (2026-06-01T12:00:00Z).

        Examples:
          samhand snapshot --out /tmp/samhand.json
          samhand snapshot --folder /mnt/delt --format json --out - | jq .frontier
          samhand snapshot --format csv --delimiter ';' --out rapport-csv
          samhand snapshot --format sqlite --at 2026-06-01 --out per-1-juni.sqlite
        """)

    enum Format: String, ExpressibleByArgument, CaseIterable {
      case json, csv, sqlite
    }

    @OptionGroup var global: GlobalOptions

    @Option(
      help: ArgumentHelp("Read the shared folder alone, without a store.", valueName: "shared"))
    var folder: String?

    @Option(help: ArgumentHelp("The file (json, sqlite) or folder (csv) to write, or - for stdout (json).", valueName: "path"))
    var out: String

    @Option(help: "The snapshot format.")
    var format: Format = .json

    @Option(help: ArgumentHelp("The CSV field delimiter: ',' (default), ';' or 'tab'.", valueName: "char"))
    var delimiter: String = ","

    @Option(help: ArgumentHelp("The state as of a frontier, a day or a time.", valueName: "when"))
    var at: String?

    @OptionGroup var groupKeys: GroupKeysOption

    @Flag(help: "Replace an existing SQLite file or CSV files.")
    var replace = false

    func validate() throws {
      try FolderArgument.validate(folder)
      if folder != nil && global.store != nil {
        throw ValidationError("give either --store or --folder, not both")
      }
      if folder == nil { try global.validateStore() }
      if out == "-" && format != .json {
        throw ValidationError("--out - prints JSON only; --format \(format.rawValue) needs a path")
      }
      if out == "-" && global.json {
        throw ValidationError(
          "--json prints a summary on stdout, so it cannot go with --out - (the snapshot itself)")
      }
      if out.isEmpty { throw ValidationError("--out must name a file, or - for stdout") }
      if format != .csv && delimiter != "," {
        throw ValidationError("--delimiter goes with --format csv")
      }
      _ = try csvDelimiter()
      if let at { _ = try When.parse(at) }
    }

    func csvDelimiter() throws -> Character {
      switch delimiter {
      case ",": ","
      case ";": ";"
      case "tab", "\\t", "\t": "\t"
      default: throw ValidationError("--delimiter must be ',', ';' or 'tab', not '\(delimiter)'")
      }
    }

    func run() async throws {
      let snapshot: Samhand.Snapshot
      var source: String
      let when = try at.map { try When.parse($0) }
      if let folder {
        let shared = FolderArgument.folder(folder)
        let keys = try groupKeys.keys()
        switch when {
        case nil: snapshot = try shared.snapshot(keys: keys)
        case .frontier(let frontier)?: snapshot = try shared.snapshot(at: frontier, keys: keys)
        case .date(let date)?: snapshot = try shared.snapshot(asOf: date, keys: keys)
        }
        source = "the shared folder \(shared.location)"
      } else {
        let store = try global.openStore()
        switch when {
        case nil: snapshot = try store.snapshot()
        case .frontier(let frontier)?: snapshot = try store.snapshot(at: frontier)
        case .date(let date)?: snapshot = try store.snapshot(asOf: date)
        }
        source = "\(store.replica)'s replica"
      }
      if let at { source += " as of \(at)" }
      if case .date? = when, let at, snapshot.frontier.total == 0 {
        Console.warning(
          "no changeset here was committed by \(at): the snapshot is empty (the first edits came later; 'samhand log' shows when)")
      }
      if out == "-" {
        FileHandle.standardOutput.write(snapshot.bytes)
        FileHandle.standardOutput.write(Data("\n".utf8))
        return
      }
      let url = URL(fileURLWithPath: out)
      var isDirectory: ObjCBool = false
      let exists = FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory)
      switch format {
      case .json:
        if exists && isDirectory.boolValue { throw CommandFailure("\(url.path) is a folder: --out must name a file") }
        do {
          try snapshot.bytes.write(to: url, options: .atomic)
        } catch {
          throw CommandFailure("cannot write \(url.path): \(error.localizedDescription)")
        }
      case .csv:
        if exists && !isDirectory.boolValue { throw CommandFailure("\(url.path) is a file: --out must name a folder for CSV files") }
        if exists && !replace, let contents = try? FileManager.default.contentsOfDirectory(atPath: url.path),
          contents.contains(where: { $0.hasSuffix(".csv") })
        {
          throw CommandFailure("\(url.path) already holds CSV files; pass --replace to overwrite them")
        }
        try snapshot.writeCSV(to: url, delimiter: try csvDelimiter())
      case .sqlite:
        if exists && isDirectory.boolValue { throw CommandFailure("\(url.path) is a folder: --out must name a file") }
        try snapshot.writeSQLite(to: url, replace: replace)
      }
      if global.json {
        Console.json(
          .object([
            "path": .string(url.path), "format": .string(format.rawValue),
            "sha256": .string(snapshot.sha256), "frontier": snapshot.frontier.jsonValue,
            "bytes": .integer(Int64(snapshot.bytes.count)),
            "samhand_version": .string(SamhandVersion.string),
          ]))
        return
      }
      Console.line("Wrote the \(format.rawValue) snapshot of \(source) to \(url.path)")
      Console.line(
        "  frontier:  \(snapshot.frontier) (\(Words.count(Int(snapshot.frontier.total), "changeset")))"
      )
      Console.line("  sha256:    \(snapshot.sha256) (of the canonical JSON)")
    }
  }
}

/// A point in history for `--at`: a frontier, or a date.
enum When {
  case frontier(VersionVector)
  case date(Date)

  /// Parses `ks:3,vestland:2`, `2026-06-01` (end of that day, UTC, or
  /// with `dayStart` its start) or an ISO 8601 time.
  static func parse(_ text: String, option: String = "--at", dayStart: Bool = false) throws -> When {
    if let day = Day(iso8601: text) {
      var components = DateComponents()
      components.year = day.year
      components.month = day.month
      components.day = day.day
      var calendar = Calendar(identifier: .gregorian)
      calendar.timeZone = TimeZone(identifier: "UTC")!
      let start = calendar.date(from: components)!
      return .date(dayStart ? start : start.addingTimeInterval(86_400 - 0.001))
    }
    if let date = ISO8601DateFormatter().date(from: text) { return .date(date) }
    var frontier = VersionVector()
    for part in text.split(separator: ",") {
      let pieces = part.split(separator: ":")
      guard pieces.count == 2, let replica = ReplicaID(rawValue: String(pieces[0]).trimmingCharacters(in: .whitespaces)),
        let counter = UInt64(pieces[1].trimmingCharacters(in: .whitespaces))
      else {
        throw ValidationError(
          "\(option) '\(text)' is neither a frontier (ks:3,vestland:2), a day (2026-06-01) nor a time (2026-06-01T12:00:00Z)")
      }
      frontier[replica] = counter
    }
    return .frontier(frontier)
  }
}
