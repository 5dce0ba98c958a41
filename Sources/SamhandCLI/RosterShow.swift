import ArgumentParser
import Foundation
import Samhand

extension SamhandCommand.RosterCommand {
  struct Show: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "List the offices in the roster, with their keys and status.",
      discussion: """
        Shows the roster in force at this replica's frontier: for each office \
        its slug, name, kind, whether it administers the roster, whether it \
        is active or retired (and its successors), and its keys by \
        fingerprint ('unclaimed' when it has none yet: its first changeset \
        claims one; revoked keys are marked with the first changeset they may \
        no longer sign). Then the hash of the genesis roster this replica \
        pinned, which every office should read out the same.

        Examples:
          samhand roster show
          samhand roster --store ~/samhand/ks --json
        """)

    @OptionGroup var global: GlobalOptions

    func validate() throws {
      try global.validateStore()
    }

    func run() async throws {
      let store = try global.openStore()
      let roster = try TrustText.roster(of: store)
      let members = roster.sortedMembers
      if global.json {
        Console.json(.array(members.map(TrustText.jsonValue)))
        return
      }
      let ownKey = try store.publicKey()
      struct Row {
        var cells: [String]
        var keys: [String]
      }
      let rows = members.map { member in
        var status = member.isRetired ? "retired" : "active"
        if member.isRetired, !member.successors.isEmpty {
          status += " → " + member.successors.sorted().map(\.rawValue).joined(separator: ", ")
        }
        // Keys still in force first, then the revoked ones, latest revocation first.
        let ordered = member.activeKeys
          + member.keys.filter { member.revoked[$0] != nil }.sorted { (member.revoked[$0]!, $0) > (member.revoked[$1]!, $1) }
        var keys = ordered.map { key in
          var text = key.fingerprint
          if let from = member.revoked[key] { text += "  revoked from #\(from)" }
          if member.office == store.replica && key == ownKey { text += "  (this replica)" }
          return text
        }
        if keys.isEmpty { keys = ["unclaimed"] }
        let office = member.office == store.replica ? "\(member.office) *" : member.office.rawValue
        return Row(
          cells: [office, member.name, member.kind, member.isAdministrator ? "yes" : "no", status], keys: keys)
      }
      let header = ["OFFICE", "NAME", "KIND", "ADMIN", "STATUS"]
      var widths = header.map(\.count)
      for row in rows {
        for (index, cell) in row.cells.enumerated() { widths[index] = max(widths[index], cell.count) }
      }
      func line(_ cells: [String], _ last: String) -> String {
        zip(cells, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
          + "  " + last
      }
      let frontier = try store.frontier()
      Console.line(
        "Roster: \(Words.count(members.count, "office")) (\(members.filter(\.isRetired).count) retired), as in force at this replica's \(Words.count(Int(frontier.total), "changeset")); * marks this office"
      )
      Console.line(line(header, "KEYS"))
      for row in rows {
        Console.line(line(row.cells, row.keys[0]))
        for key in row.keys.dropFirst() { Console.line(line(Array(repeating: "", count: row.cells.count), key)) }
      }
      if let genesis = store.genesisRoster {
        Console.line("pinned roster: \(genesis.hash)")
      }
    }
  }
}
