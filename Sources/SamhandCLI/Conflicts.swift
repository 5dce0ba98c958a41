import ArgumentParser
import Foundation
import Samhand

extension SamhandCommand {
  struct Conflicts: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "List every open conflict with each office's value and time.",
      discussion: """
        A conflict is a field (or map entry) that offices changed at the same \
        time, or a record one office deleted while another updated it. Each \
        is listed with every concurrent value, the office that wrote it and \
        when; the first is the value shown until someone resolves it.

        With --exit-code the command exits with 2 when any conflict is \
        open, and 0 when none is, for scripts.

        Examples:
          samhand conflicts
          samhand conflicts --json | jq '.[] | {id, field}'
          samhand conflicts --exit-code > /dev/null || echo "conflicts to review"
        """)

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Exit with 2 when conflicts are open (0 when none is).")
    var exitCode = false

    func validate() throws {
      try global.validateStore()
    }

    func run() async throws {
      let store = try global.openStore()
      let conflicts = try store.conflicts()
      if global.json {
        Console.json(.array(conflicts.map(\.jsonValue)))
        if exitCode, !conflicts.isEmpty { throw CommandFailure.openConflicts() }
        return
      }
      guard !conflicts.isEmpty else {
        Console.line("No open conflicts.")
        return
      }
      Console.line("\(Words.count(conflicts.count, "open conflict")):")
      for conflict in conflicts {
        Console.line()
        Console.line(conflict.place)
        for line in conflict.siblingLines() { Console.line(line) }
        Console.line("  resolve: \(conflict.resolveHint(store: global.store))")
      }
      if exitCode { throw CommandFailure.openConflicts() }
    }
  }
}
