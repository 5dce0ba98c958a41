import ArgumentParser
import Foundation
import Samhand

extension SamhandCommand {
  struct Review: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Review open conflicts one at a time and resolve them.",
      discussion: """
        Shows each conflict with every office's value, who wrote it and when, \
        then asks what to do:
          1, 2, …   keep that value (or type the office's slug)
          v         type a new value (for a number: JSON, such as 42)
          s         skip this conflict
          q         stop reviewing
        For a record deleted by one office and updated by another: k keeps \
        it, d deletes it. Answers are read from stdin, so they can be piped. \
        Each resolution is saved at once; run 'samhand sync' to share them.
        With --json, the conflicts and prompts go to stderr and stdout holds \
        only the JSON summary ({"resolved", "skipped", "remaining"}).

        Examples:
          samhand review
          printf '2\\ns\\n' | samhand review --store ~/samhand/ks
          printf 'q\\n' | samhand review --json 2>/dev/null | jq .remaining
        """)

    @OptionGroup var global: GlobalOptions

    func validate() throws {
      try global.validateStore()
    }

    enum Outcome { case resolved, skipped, quit }

    func run() async throws {
      let store = try global.openStore()
      let conflicts = try store.conflicts()
      guard !conflicts.isEmpty else {
        if global.json {
          Console.json(
            .object(["resolved": .integer(0), "skipped": .integer(0), "remaining": .integer(0)]))
        } else {
          say("No open conflicts.")
        }
        return
      }
      say("\(Words.count(conflicts.count, "open conflict")) to review.")
      var resolved = 0
      var skipped = 0
      for (index, conflict) in conflicts.enumerated() {
        say()
        say("[\(index + 1)/\(conflicts.count)] \(conflict.place)")
        for line in conflict.siblingLines(indent: "  ", numbered: conflict.kind == .value) {
          say(line)
        }
        let outcome = try review(conflict, store: store)
        if outcome == .quit { break }
        if outcome == .resolved { resolved += 1 } else { skipped += 1 }
      }
      let remaining = try store.conflictCount()
      if global.json {
        Console.json(
          .object([
            "resolved": .integer(Int64(resolved)), "skipped": .integer(Int64(skipped)),
            "remaining": .integer(Int64(remaining)),
          ]))
        return
      }
      say()
      say(
        "Resolved \(resolved), skipped \(skipped); \(Words.count(remaining, "conflict")) still open.\(resolved > 0 ? " Run 'samhand sync' to share the resolutions." : "")"
      )
    }

    /// Asks about one conflict until it is resolved, skipped, or the input ends.
    func review(_ conflict: Conflict, store: Store) throws -> Outcome {
      let count = conflict.siblings.count
      while true {
        if conflict.kind == .delete {
          ask("Keep the record (k), delete it (d), skip (s) or quit (q)? ")
        } else {
          ask(
            "Pick 1-\(count) or an office, type a new value (v), skip (s) or quit (q)? ")
        }
        guard let line = readAnswer() else { return .quit }
        let answer = line.trimmingCharacters(in: .whitespaces).lowercased()
        do {
          switch (conflict.kind, answer) {
          case (_, "q"), (_, "quit"):
            return .quit
          case (_, "s"), (_, "skip"):
            say("Skipped.")
            return .skipped
          case (.delete, "k"), (.delete, "keep"):
            let changeset = try store.resolveDelete(
              conflict.collection, conflict.recordID, keep: true)
            say("Kept \(conflict.ref)\(Review.suffix(changeset)).")
            return .resolved
          case (.delete, "d"), (.delete, "delete"):
            let changeset = try store.resolveDelete(
              conflict.collection, conflict.recordID, keep: false)
            say("Deleted \(conflict.ref)\(Review.suffix(changeset)).")
            return .resolved
          case (.value, "v"), (.value, "value"):
            ask("New value: ")
            guard let typed = readAnswer() else { return .quit }
            guard !typed.isEmpty else { continue }
            let value = ValueSyntax.value(typed, kind: Review.kind(of: conflict, in: store.schema))
            let changeset = try store.resolve(
              conflict.collection, conflict.recordID, field: conflict.field ?? "",
              key: conflict.key, with: value)
            say("Resolved \(conflict.place) = \(value.quoted)\(Review.suffix(changeset)).")
            return .resolved
          case (.value, _):
            let sibling: Sibling?
            if let number = Int(answer), (1...count).contains(number) {
              sibling = conflict.siblings[number - 1]
            } else {
              sibling = conflict.siblings.first { $0.author.rawValue == answer }
            }
            guard let sibling else {
              say("Please answer a number from 1 to \(count), an office slug, v, s or q.")
              continue
            }
            let changeset = try store.resolve(
              conflict.collection, conflict.recordID, field: conflict.field ?? "",
              key: conflict.key,
              pick: sibling.author)
            say(
              "Resolved \(conflict.place) = \((sibling.value ?? .null).quoted), \(sibling.author)'s value\(Review.suffix(changeset))."
            )
            return .resolved
          default:
            say("Please answer k, d, s or q.")
          }
        } catch let error as SamhandError {
          // A new value of the wrong kind: say so and ask again.
          Console.error(error)
        }
      }
    }

    /// The kind of value the conflict's field (or map entry) holds.
    static func kind(of conflict: Conflict, in schema: Schema) -> Schema.FieldKind? {
      guard let field = conflict.field else { return nil }
      return ValueSyntax.kind(schema, conflict.collection, field, key: conflict.key)
    }

    /// Reads one answer. When stdin is not a terminal (answers piped in),
    /// the answer is echoed so the transcript reads as it would on screen.
    func readAnswer() -> String? {
      guard let line = readLine() else {
        say()
        return nil
      }
      if !Console.standardInputIsTerminal { say(line) }
      return line
    }

    /// A line for the person reviewing: on stdout, or on stderr with
    /// `--json` so that stdout holds only the JSON summary.
    func say(_ text: String = "") {
      if global.json {
        Console.writeToStandardError(text + "\n")
      } else {
        Console.line(text)
      }
    }

    /// A prompt, without a newline, where ``say(_:)`` writes.
    func ask(_ text: String) {
      if global.json {
        Console.writeToStandardError(text)
      } else {
        Console.prompt(text)
      }
    }

    static func suffix(_ changeset: Changeset?) -> String {
      changeset.map { " (changeset \($0.id))" } ?? ""
    }
  }
}
