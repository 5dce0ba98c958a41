import ArgumentParser
import Foundation
import Samhand

extension SamhandCommand {
  struct Get: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Show one record as merged on this replica.",
      discussion: """
        Fields in conflict are marked with '!' and every concurrent value is \
        listed with its office and time; the value shown is the one every \
        replica shows until the conflict is resolved.

        Examples:
          samhand get cases sak-2026-001
          samhand get --json membership vk-vestland-1
        """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The collection.")
    var collection: String

    @Argument(help: "The record's id.")
    var id: String

    func validate() throws {
      try global.validateStore()
    }

    func run() async throws {
      let store = try global.openStore()
      guard let record = try store.record(collection, id) else {
        throw SamhandError(
          .notFound, "no record \(collection)/\(id)", collection: collection, recordID: id)
      }
      if global.json {
        Console.json(record.jsonValue)
        return
      }
      for line in Get.lines(for: record, schema: store.schema) { Console.line(line) }
    }

    /// The record for people: its fields in schema order, conflicts marked.
    static func lines(for record: Record, schema: Schema) -> [String] {
      var lines = ["\(record.collection)/\(record.id)"]
      let names = record.fields.keys.sorted()
      let width = names.map(\.count).max() ?? 0
      for name in names {
        let conflicts = record.conflicts.filter { $0.kind == .value && $0.field == name }
        let mark = conflicts.isEmpty ? " " : "!"
        lines.append(
          "\(mark) \(name.padding(toLength: width, withPad: " ", startingAt: 0))  \(record.fields[name]!.displayed)"
        )
        for conflict in conflicts {
          let what = conflict.key.map { "key '\($0)' has" } ?? "has"
          lines.append("    conflict: \(what) \(conflict.siblings.count) concurrent values:")
          lines += conflict.siblingLines(indent: "      ")
        }
      }
      for conflict in record.conflicts where conflict.kind == .delete {
        lines.append("! conflict: one office deleted this record while another updated it:")
        lines += conflict.siblingLines(indent: "      ")
      }
      if !record.conflicts.isEmpty {
        lines.append("Resolve with 'samhand resolve' or 'samhand review'.")
      }
      return lines
    }
  }
}
