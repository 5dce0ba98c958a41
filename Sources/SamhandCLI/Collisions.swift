import ArgumentParser
import Foundation
import Samhand

extension SamhandCommand {
  struct Collisions: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "collisions",
      abstract: "Show collisions (another installation writing as this office), and clear them once sorted out.",
      discussion: """
        A collision is a file under an office's name and number that is \
        signed with that office's key but is not the changeset this \
        installation holds: a second installation is writing as the office \
        (a copied store, or a restored key backup in use twice). While this \
        office has one open, it publishes nothing and prunes nothing, so the \
        evidence stays. A file signed by anyone else is not a collision: it \
        is set aside, and this office writes its own file over it.

        Without a subcommand, lists the open collisions.

        Examples:
          samhand collisions
          samhand collisions clear ks#5
          samhand collisions clear --all
        """,
      subcommands: [List.self, Clear.self],
      defaultSubcommand: List.self)
  }
}

extension SamhandCommand.Collisions {
  struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the open collisions.")

    @OptionGroup var global: GlobalOptions

    func validate() throws { try global.validateStore() }

    func run() async throws {
      let store = try global.openStore()
      let collisions = try store.collisions()
      if global.json {
        Console.json(.array(collisions.map(Clear.jsonValue)))
        return
      }
      if collisions.isEmpty {
        Console.line("No open collisions.")
        return
      }
      Console.line("\(Words.count(collisions.count, "collision")):")
      for collision in collisions { Console.line("  \(collision)") }
      Console.line(TrustText.collisionAdvice(store.replica))
    }
  }

  struct Clear: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Clear collisions once people have sorted them out; publishing and pruning go on.",
      discussion: """
        The colliding files stay in the folder as evidence, and this office \
        does not write over them; a cleared collision is not reported again \
        for the same file. A new colliding file is a new collision.

        Examples:
          samhand collisions clear ks#5 ks#6
          samhand collisions clear --all
        """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The changesets whose collisions to clear, as OFFICE#NUMBER (ks#5).")
    var changesets: [String] = []

    @Flag(help: "Clear every open collision.")
    var all = false

    func validate() throws {
      try global.validateStore()
      if all == !changesets.isEmpty {
        throw ValidationError("name the collisions to clear (ks#5 …) or give --all, as 'samhand collisions' lists them")
      }
      for text in changesets { _ = try Clear.parse(text) }
    }

    static func parse(_ text: String) throws -> Changeset.ID {
      let parts = text.split(separator: "#", omittingEmptySubsequences: false)
      guard parts.count == 2, let office = ReplicaID(rawValue: String(parts[0])), let number = UInt64(parts[1]), number > 0
      else {
        throw ValidationError("'\(text)' is not a changeset: write OFFICE#NUMBER, such as ks#5")
      }
      return Changeset.ID(author: office, sequence: number)
    }

    static func jsonValue(_ collision: Collision) -> JSONValue {
      .object([
        "changeset": collision.changeset.jsonValue, "path": .string(collision.path),
        "known_hash": collision.knownHash.isEmpty ? .null : .string(collision.knownHash),
        "other_hash": .string(collision.otherHash), "message": .string(collision.description),
      ])
    }

    func run() async throws {
      let store = try global.openStore()
      let cleared: [Collision]
      do {
        cleared = try store.clearCollisions(all ? nil : try changesets.map(Clear.parse))
      } catch let error as SamhandError where error.code == .notFound {
        throw CommandFailure(error.message)
      }
      if global.json {
        Console.json(.object(["cleared": .array(cleared.map(Clear.jsonValue))]))
        return
      }
      if cleared.isEmpty {
        Console.line("No open collisions to clear.")
        return
      }
      Console.line("Cleared \(Words.count(cleared.count, "collision")): \(SyncSummary.list(cleared.map(\.changeset))).")
      Console.line("The files stay in the folder. 'samhand sync' publishes again.")
    }
  }
}
