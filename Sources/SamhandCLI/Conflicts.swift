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

        Examples:
          samhand conflicts
          samhand conflicts --json | jq '.[] | {id, field}'
        """)

    @OptionGroup var global: GlobalOptions

    func validate() throws {
      try global.validateStore()
    }

    func run() async throws {
      let store = try global.openStore()
      let conflicts = try store.conflicts()
      if global.json {
        Console.json(.array(conflicts.map(\.jsonValue)))
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
        Console.line("  resolve: \(conflict.resolveHint)")
      }
    }
  }
}
