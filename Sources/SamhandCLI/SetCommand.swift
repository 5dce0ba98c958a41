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
          field=value         set a field: text as typed, a date as YYYY-MM-DD, a \
        number or true/false as such (the same syntax as 'resolve --value')
          field:=JSON         set a field to JSON: a number, true, false, null, "text"
          field+=text         add an element to a set field
          field-=text         remove an element from a set field
          field.key=value     set one entry of a map field
          field.key:=JSON     set one entry of a map field to a JSON value

        Rights are judged by what the writing office had seen: a record \
        that is not on this replica names no owner, so a county may write \
        it. If another office made it since the last sync, the values meet \
        as conflicts that office sees; set warns when this can happen. Sync \
        before editing others' records.

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
      if assignments.isEmpty {
        throw ValidationError(
          "give at least one assignment, such as title='Felles løft'; nothing was written (an empty record is made with 'samhand apply' and {\"op\":\"touch\"})"
        )
      }
      for text in assignments { _ = try Assignment(parsing: text) }
    }

    func run() async throws {
      let parsed = try assignments.map(Assignment.init(parsing:))
      let store = try global.openStore()
      let existedBefore = try store.record(collection, id) != nil
      let changeset: Changeset?
      do {
        changeset = try store.transact { transaction in
          for (index, assignment) in parsed.enumerated() {
            do {
              try assignment.apply(to: &transaction, schema: store.schema, collection: collection, id: id)
            } catch var error as SamhandError {
              if let (hint, corrected) = assignment.correction(schema: store.schema, collection: collection) {
                error.message += " (\(hint))"
                if let corrected {
                  var words = ["samhand", "set"] + (global.store.map { ["--store", $0] } ?? []) + [collection, id]
                  words += assignments.enumerated().map { $0.offset == index ? corrected : $0.element }
                  error.message += "\nCorrected: \(words.map(ShellWords.quote).joined(separator: " "))"
                }
              }
              throw error
            }
          }
        }
      }
      let written = changeset?.edits.count ?? 0
      if changeset != nil,
        let notice = try RightsNotice.unseenRecord(in: store, collection: collection, id: id, existedBefore: existedBefore)
      {
        Console.warning(notice)
      }
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
