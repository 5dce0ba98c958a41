import ArgumentParser
import Foundation
import Samhand

extension SamhandCommand {
  struct Delete: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Delete a record.",
      discussion: """
        The delete covers what this replica has seen of the record. If another \
        office updates the record at the same time, the record stays and the \
        two appear as a conflict for review ('samhand conflicts').

        Example:
          samhand delete membership vk-trondelag-3
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
      guard try store.record(collection, id) != nil else {
        throw SamhandError(
          .notFound, "no record \(collection)/\(id) to delete", collection: collection, recordID: id
        )
      }
      let changeset = try store.transact { try $0.delete(collection, id) }
      if global.json {
        Console.json(
          .object([
            "collection": .string(collection), "id": .string(id),
            "changeset": changeset.map { $0.id.jsonValue } ?? .null,
          ]))
        return
      }
      Console.line(
        "Deleted \(collection)/\(id) in changeset \(changeset.map(\.id.description) ?? "-") (not yet shared: run 'samhand sync')"
      )
    }
  }
}
