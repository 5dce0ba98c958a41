import ArgumentParser
import Foundation
import Samhand

extension SamhandCommand.RosterCommand {
  struct Transfer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Hand the records that name a retired office over to its successors.",
      discussion: """
        In one changeset: where a record names the office as its owner, lead \
        or organisation, the first successor takes its place; where it is \
        among the participants, it is replaced by every successor. By default \
        the successors are those the roster names for it ('samhand roster \
        retire'); --to names others. History keeps every earlier value. The \
        office running it needs the right to write those records (KS and KDD \
        have it).

        Examples:
          samhand roster transfer viken
          samhand roster transfer troms-og-finnmark --to troms --to finnmark
        """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The office whose records to hand over.")
    var slug: String

    @Option(
      name: .customLong("to"),
      help: ArgumentHelp(
        "An office to hand them to (repeat for several; default: the roster's successors).", valueName: "slug"))
    var successors: [String] = []

    func validate() throws {
      try global.validateStore()
      let office = try TrustText.parseSlug(slug, option: "SLUG")
      for successor in successors {
        if try TrustText.parseSlug(successor, option: "--to") == office {
          throw ValidationError("\(office) cannot hand its records to itself")
        }
      }
    }

    func run() async throws {
      let office = try TrustText.parseSlug(slug, option: "SLUG")
      var given: [ReplicaID] = []
      for successor in successors {
        let heir = try TrustText.parseSlug(successor, option: "--to")
        if !given.contains(heir) { given.append(heir) }
      }
      let store = try global.openStore()
      let roster = try store.roster()
      let heirs = given.isEmpty ? (roster?.members[office]?.successors.sorted() ?? []) : given
      let changeset = try store.transferRecords(from: office, to: given.isEmpty ? nil : given)
      var records: [RecordRef] = []
      for edit in changeset?.edits ?? [] where !records.contains(edit.record) { records.append(edit.record) }
      if global.json {
        Console.json(
          .object([
            "office": .string(office.rawValue),
            "successors": .array(heirs.map { .string($0.rawValue) }),
            "records": .array(records.map { .string($0.description) }),
            "changeset": changeset.map { $0.id.jsonValue } ?? .null,
          ]))
      } else if let changeset {
        Console.line(
          "Moved \(Words.count(records.count, "record")) from \(office) to \(heirs.map(\.rawValue).joined(separator: ", ")):")
        for record in records.prefix(20) { Console.line("  \(record)") }
        if records.count > 20 { Console.line("  … and \(records.count - 20) more") }
        TrustText.printWritten(changeset)
      } else {
        Console.line("No record names \(office): nothing to transfer.")
      }
      if let member = roster?.members[office], !member.isRetired {
        Console.warning("\(office) has not retired: it can still write (retire it with 'samhand roster retire \(office) --successor …')")
      }
    }
  }
}
