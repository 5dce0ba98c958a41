import ArgumentParser
import Foundation
import Samhand

extension SamhandCommand {
  struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "List the records of one collection, or of all.",
      discussion: """
        People get one line per record; --json gives an array of records, \
        each with its collection, id, fields and open conflicts.

        Examples:
          samhand list membership
          samhand list --json | jq '.[] | select(.collection == "cases") | .id'
        """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The collection (default: every collection).")
    var collection: String?

    func validate() throws {
      try global.validateStore()
    }

    func run() async throws {
      let store = try global.openStore()
      let collections =
        try collection.map { name -> [String] in
          try store.schema.checkCollection(name)
          return [name]
        } ?? store.schema.collectionNames
      var all: [Record] = []
      for name in collections { all += try store.records(in: name) }
      if global.json {
        Console.json(.array(all.map(\.jsonValue)))
        return
      }
      for name in collections {
        let records = all.filter { $0.collection == name }
        Console.line("\(name): \(Words.count(records.count, "record"))")
        let width = records.map(\.id.count).max() ?? 0
        for record in records {
          let mark = record.conflicts.isEmpty ? " " : "!"
          Console.line(
            "\(mark) \(record.id.padding(toLength: width, withPad: " ", startingAt: 0))  \(List.summary(record))"
          )
        }
      }
      let conflicted = all.filter { !$0.conflicts.isEmpty }.count
      if conflicted > 0 {
        Console.line(
          "! \(Words.count(conflicted, "record")) with open conflicts: see 'samhand conflicts'")
      }
    }

    /// The record's fields on one line, cut to fit.
    static func summary(_ record: Record) -> String {
      let text = record.fields.keys.sorted().map { "\($0)=\(record.fields[$0]!.displayed)" }.joined(
        separator: "  ")
      guard text.count > 100 else { return text }
      return String(text.prefix(99)) + "…"
    }
  }
}
