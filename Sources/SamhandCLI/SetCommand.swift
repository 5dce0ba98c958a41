import ArgumentParser
import Foundation
import Samhand

extension SamhandCommand {
  struct SetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "set",
      abstract: "Write fields of one record in one transaction.",
      discussion: """
        Creates the record if it does not exist. All assignments become one \
        changeset: if one is wrong, nothing is written.

        Assignments:
          field=text          set a field to a text (a date field takes YYYY-MM-DD)
          field:=JSON         set a field to JSON: a number, true, false, null, "text"
          field+=text         add an element to a set field
          field-=text         remove an element from a set field
          field.key=text      set one entry of a map field to a text
          field.key:=JSON     set one entry of a map field to a JSON value

        Examples:
          samhand set cases sak-1 title='Felles løft' status=ny deadline=2026-06-30
          samhand set membership vk-1 person='Ingrid Fjordvik' groups+=reguleringsplan
          samhand set projects vk-2026 funding.vestland:=150000 participants+=vestland
        """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The collection, such as membership, cases or projects.")
    var collection: String

    @Argument(help: "The record's id.")
    var id: String

    @Argument(
      help: "field=text, field:=JSON, field+=text, field-=text, field.key=text or field.key:=JSON.")
    var assignments: [String] = []

    func validate() throws {
      try global.validateStore()
      for text in assignments { _ = try Assignment(parsing: text) }
    }

    func run() async throws {
      let parsed = try assignments.map(Assignment.init(parsing:))
      let store = try global.openStore()
      let changeset: Changeset?
      do {
        changeset = try store.transact { transaction in
          if parsed.isEmpty { try transaction.touch(collection, id) }
          for assignment in parsed {
            do {
              try assignment.apply(to: &transaction, collection: collection, id: id)
            } catch var error as SamhandError {
              if let hint = assignment.hint(schema: store.schema, collection: collection) {
                error.message += " (\(hint))"
              }
              throw error
            }
          }
        }
      }
      let written = changeset?.edits.count ?? 0
      if global.json {
        Console.json(
          .object([
            "collection": .string(collection), "id": .string(id),
            "changeset": changeset.map { $0.id.jsonValue } ?? .null,
            "edits": .integer(Int64(written)),
          ]))
        return
      }
      guard let changeset else { return }
      Console.line(
        "Wrote \(collection)/\(id): \(Words.count(written, "edit")) in changeset \(changeset.id) (not yet shared: run 'samhand sync')"
      )
    }
  }
}
