import ArgumentParser
import Foundation
import Samhand

extension SamhandCommand.RosterCommand {
  struct Retire: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Retire an office, naming the offices that take over from it.",
      discussion: """
        For administrators. Nothing the office signs after its retirement is \
        accepted; what it wrote before stays. Its records still name it until \
        they are handed over with 'samhand roster transfer'.

        Examples:
          samhand roster retire viken --successor ostfold --successor akershus \\
            --successor buskerud
          samhand roster retire troms-og-finnmark --successor troms --successor finnmark
        """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The office that retires.")
    var slug: String

    @Option(
      name: .customLong("successor"),
      help: ArgumentHelp("An office that takes over (repeat for several).", valueName: "slug"))
    var successors: [String] = []

    func validate() throws {
      try global.validateStore()
      let office = try TrustText.parseSlug(slug, option: "SLUG")
      if successors.isEmpty { throw ValidationError("name at least one office that takes over: --successor SLUG") }
      for successor in successors {
        if try TrustText.parseSlug(successor, option: "--successor") == office {
          throw ValidationError("\(office) cannot succeed itself")
        }
      }
    }

    func run() async throws {
      let office = try TrustText.parseSlug(slug, option: "SLUG")
      let heirs = try Array(Set(successors.map { try TrustText.parseSlug($0, option: "--successor") })).sorted()
      let store = try global.openStore()
      let roster = try TrustText.roster(of: store)
      guard let member = roster.members[office] else {
        throw CommandFailure("\(office) is not in the roster: see 'samhand roster show'")
      }
      let changeset = try store.transact { tx in tx.retireOffice(office, successors: heirs) }!
      if global.json {
        Console.json(
          .object([
            "office": .string(office.rawValue),
            "successors": .array(heirs.map { .string($0.rawValue) }),
            "changeset": changeset.id.jsonValue,
          ]))
      } else {
        Console.line(
          "\(member.isRetired ? "Updated the retirement of" : "Retired") \(TrustText.labelled(office, in: roster)); successors: \(heirs.map(\.rawValue).joined(separator: ", ")).")
        Console.line("Nothing \(office) signs after this is accepted; what it wrote before stays.")
        TrustText.printWritten(changeset)
        Console.line("Hand its records to the successors with: samhand roster transfer \(office)")
      }
      for heir in heirs where roster.members[heir] == nil {
        Console.warning("\(heir) is not in the roster yet: add it with 'samhand roster add \(heir) --key <its key>'")
      }
      if office == store.replica {
        Console.warning("\(office) is this replica's own office: it can no longer write")
      }
    }
  }
}
