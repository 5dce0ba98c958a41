import ArgumentParser
import Foundation
import Samhand

extension SamhandCommand {
  struct Resolve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Resolve a conflict with one office's value, a new value, or keep/delete.",
      discussion: """
        For a field in conflict, give the FIELD (or FIELD.KEY for an entry of \
        a map field) and either --pick SLUG, to keep the value that office \
        wrote, or --value VALUE, to write a new value. VALUE is written as \
        after '=' in 'samhand set': text as typed, a date as YYYY-MM-DD, a \
        number or true/false as such (a JSON value is accepted too). For a record one office \
        deleted while another updated it, give no field and --keep or --delete.

        The resolution is an ordinary edit that covers every concurrent value \
        this replica has seen; run 'samhand sync' to share it.

        Examples:
          samhand resolve cases sak-2026-001 status --pick vestland
          samhand resolve cases sak-2026-001 status --value under-arbeid
          samhand resolve projects veilederkorpset funding.kdd --value 200000
          samhand resolve membership vk-trondelag-3 --keep
        """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The collection.")
    var collection: String

    @Argument(help: "The record's id.")
    var id: String

    @Argument(
      help: "The field in conflict, or FIELD.KEY for a map entry (none for --keep/--delete).")
    var field: String?

    @Option(help: ArgumentHelp("Keep the value this office wrote.", valueName: "slug"))
    var pick: String?

    @Option(
      help: ArgumentHelp(
        "Write this value, as after '=' in 'samhand set' (text as typed, a number, true or false).",
        valueName: "value"))
    var value: String?

    @Option(
      help: ArgumentHelp(
        "The map key, when FIELD names a map field (same as FIELD.KEY).", valueName: "key"))
    var key: String?

    @Flag(help: "Keep a record that one office deleted while another updated it.")
    var keep = false

    @Flag(help: "Delete a record that one office deleted while another updated it.")
    var delete = false

    func validate() throws {
      try global.validateStore()
      let chosen = [pick != nil, value != nil, keep, delete].filter { $0 }.count
      guard chosen == 1 else {
        throw ValidationError(
          chosen == 0
            ? "say how to resolve: --pick SLUG or --value VALUE for a field, --keep or --delete for a deleted record"
            : "give only one of --pick, --value, --keep and --delete")
      }
      if keep || delete {
        if field != nil || key != nil {
          throw ValidationError("--keep and --delete resolve a whole record: give no FIELD")
        }
      } else {
        guard let field, !field.isEmpty else {
          throw ValidationError(
            "name the FIELD in conflict (or use --keep/--delete for a deleted record)")
        }
        if key != nil && field.contains(".") {
          throw ValidationError("give the map key either as FIELD.KEY or with --key, not both")
        }
      }
      if let pick, ReplicaID(rawValue: pick) == nil {
        throw ValidationError("'\(pick)' is not a valid office slug")
      }
    }

    /// The field and map key named on the command line.
    var target: (field: String, key: String?) {
      guard let field else { return ("", nil) }
      if let key { return (field, key) }
      if let dot = field.firstIndex(of: ".") {
        return (String(field[..<dot]), String(field[field.index(after: dot)...]))
      }
      return (field, nil)
    }

    func run() async throws {
      let store = try global.openStore()
      let changeset: Changeset?
      let description: String
      if keep || delete {
        changeset = try store.resolveDelete(collection, id, keep: keep)
        description = keep ? "kept the record" : "deleted the record"
      } else {
        let (field, key) = target
        let place = "\(collection)/\(id) field '\(field)\(key.map { ".\($0)" } ?? "")'"
        // Resolving is for conflicts; a plain change is 'samhand set'.
        let record = try store.record(collection, id)
        guard let record,
          record.conflicts.contains(where: {
            $0.kind == .value && $0.field == field && $0.key == key
          })
        else {
          throw SamhandError(
            .notFound,
            "\(place) has no open conflict\(record == nil ? " (no such record)" : ""); use 'samhand set' to change a field",
            collection: collection, recordID: id, field: field)
        }
        if let pick {
          let author = try ReplicaID(validating: pick)
          changeset = try store.resolve(collection, id, field: field, key: key, pick: author)
          description = "\(place) = \(author)'s value"
        } else {
          let kind = ValueSyntax.kind(store.schema, collection, field, key: key)
          let newValue = ValueSyntax.value(value ?? "", kind: kind)
          do {
            changeset = try store.resolve(collection, id, field: field, key: key, with: newValue)
          } catch var error as SamhandError {
            let target = key.map { "\(field).\($0)" } ?? field
            if let kind, let advice = ValueSyntax.advice(for: kind, target: target, example: { "--value \($0)" }) {
              error.message += " (\(advice))"
            }
            throw error
          }
          description = "\(place) = \(newValue.quoted)"
        }
      }
      if global.json {
        Console.json(
          .object([
            "collection": .string(collection), "id": .string(id),
            "field": target.field.isEmpty ? .null : .string(target.field),
            "key": target.key.map { .string($0) } ?? .null,
            "changeset": changeset.map { $0.id.jsonValue } ?? .null,
          ]))
        return
      }
      Console.line(
        "Resolved: \(keep || delete ? "\(collection)/\(id) " : "")\(description)\(changeset.map { " in changeset \($0.id)" } ?? "") (run 'samhand sync' to share it)"
      )
    }
  }
}
