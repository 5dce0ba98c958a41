import ArgumentParser
import Foundation
import Samhand

extension SamhandCommand {
  struct Log: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Show the history: which office changed what, and when.",
      discussion: """
        Lists changesets oldest first (by Lamport stamp, then office), each \
        with its office, time and edits. Give a collection to see only its \
        edits, or a collection and an id for one record. Rejected changesets \
        (they broke the schema or \
        the writer's rights, and changed nothing) are marked with the reason.
        With --json, each edit has the form 'samhand apply' reads.

        Examples:
          samhand log
          samhand log cases sak-2026-001
          samhand log --json membership
        """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Only edits of this collection.")
    var collection: String?

    @Argument(help: "Only edits of this record.")
    var id: String?

    @Option(
      help: ArgumentHelp("Show at most this many edits per changeset (0: all).", valueName: "n"))
    var edits: Int = 10

    @Option(help: ArgumentHelp("Show only the last N changesets.", valueName: "n"))
    var last: Int?

    func validate() throws {
      try global.validateStore()
      if edits < 0 { throw ValidationError("--edits must be 0 or more") }
      if let last, last < 1 { throw ValidationError("--last must be 1 or more") }
    }

    func run() async throws {
      let store = try global.openStore()
      var history: [HistoryEntry]
      if let collection, let id {
        history = try store.history(of: collection, id)
      } else {
        history = try store.history(collection: collection)
      }
      if let last { history = Array(history.suffix(last)) }
      if global.json {
        Console.json(
          .array(
            history.map { entry in
              .object([
                "changeset": entry.changeset.jsonValue,
                "author": .string(entry.changeset.author.rawValue),
                "sequence": .integer(Int64(entry.changeset.sequence)),
                "lamport": .integer(Int64(entry.lamport)),
                "time": .string(TimeText.iso(milliseconds: entry.timestamp)),
                "time_ms": .integer(entry.timestamp),
                "rejected": entry.rejected.map { .string($0) } ?? .null,
                "edits": .array(entry.edits.map(\.jsonValue)),
              ])
            }))
        return
      }
      // A replica that started from a checkpoint holds no history before it.
      let base = try store.checkpointBase()
      let gap = base.map {
        "History before \(TimeText.local(milliseconds: $0.timestamp)) is not held here: this replica started from a checkpoint of \(Words.count(Int($0.frontier.total), "changeset")) and did not import the changesets it covers (the folder may still hold them, or they may have been pruned). An office that kept its history can show it."
      }
      guard !history.isEmpty else {
        Console.line(
          "No history\(collection.map { " for \($0)\(id.map { "/\($0)" } ?? "")" } ?? "").")
        if let gap { Console.line(gap) }
        return
      }
      if let gap { Console.line(gap) }
      for entry in history {
        let author = entry.changeset.author
        let name = OfficeNames.name(author).map { "  \($0)" } ?? ""
        Console.line("\(TimeText.local(milliseconds: entry.timestamp))  \(entry.changeset)\(name)")
        if let rejected = entry.rejected {
          Console.line("    REJECTED (changed nothing): \(rejected)")
        }
        let shown = edits == 0 ? entry.edits : Array(entry.edits.prefix(edits))
        for edit in shown { Console.line("    \(edit.displayed)") }
        if shown.count < entry.edits.count {
          Console.line(
            "    … and \(entry.edits.count - shown.count) more edits (--edits 0 shows all)")
        }
      }
    }
  }
}
