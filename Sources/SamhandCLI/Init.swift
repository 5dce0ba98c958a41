import ArgumentParser
import Foundation
import Samhand

extension SamhandCommand {
  struct Init: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Create an office's replica store and connect it to a shared folder.",
      discussion: """
        If the shared folder is empty or missing, it is initialised as a new \
        store with the schema (by default the built-in planning schema, the \
        one in Fixtures/schema.json). Otherwise the replica joins the store \
        already there and imports everything in it; if this office has \
        published there before (a reinstalled machine), its own history is \
        recovered too.

        Examples:
          samhand init --store ~/samhand/vl --replica vestland --folder /mnt/delt
          samhand init --store ./ks --replica ks --folder ./delt --schema schema.json
        """)

    @OptionGroup var global: GlobalOptions

    @Option(
      help: ArgumentHelp("The office's slug, such as vestland, ks or kdd.", valueName: "slug"))
    var replica: String

    @Option(
      help: ArgumentHelp("The shared folder the offices replicate through.", valueName: "shared"))
    var folder: String

    @Option(
      help: ArgumentHelp(
        "A schema JSON file, used only when the shared folder is new.", valueName: "file"))
    var schema: String?

    func validate() throws {
      try global.validateStore()
      if ReplicaID(rawValue: replica) == nil {
        throw ValidationError(
          "'\(replica)' is not a valid office slug: use 1–63 lowercase letters a–z, digits and inner hyphens (for example more-og-romsdal)"
        )
      }
      if folder.isEmpty { throw ValidationError("--folder must name a folder") }
    }

    func run() async throws {
      let storeURL = try global.storeURL()
      let replicaID = try ReplicaID(validating: replica)
      let shared = SharedFolder(URL(fileURLWithPath: folder))
      var isDirectory: ObjCBool = false
      if FileManager.default.fileExists(atPath: shared.url.path, isDirectory: &isDirectory),
        !isDirectory.boolValue
      {
        throw CommandFailure("\(shared.url.path) is a file, not a shared folder")
      }
      // Checked before the shared folder is touched, so a wrong --store writes nothing.
      if FileManager.default.fileExists(atPath: storeURL.path, isDirectory: &isDirectory),
        !isDirectory.boolValue
      {
        throw CommandFailure("\(storeURL.path) is a file, not a folder for a store")
      }
      let givenSchema = try schema.map(Init.readSchema)

      if shared.isUninitialised {
        let store = try Store.create(
          folder: shared, at: storeURL, replica: replicaID, schema: givenSchema ?? .planning)
        if global.json {
          Console.json(
            .object([
              "action": .string("created"), "store": .string(store.directory.path),
              "replica": .string(replicaID.rawValue), "folder": .string(shared.url.path),
              "store_id": .string(store.storeID.rawValue),
            ]))
          return
        }
        Console.line("Created a new store in the shared folder \(shared.url.path)")
        Console.line("  office:     \(OfficeNames.labelled(replicaID))")
        Console.line("  replica:    \(store.directory.path)")
        Console.line(
          "  schema:     \(schema ?? "built-in planning schema") (\(store.schema.collectionNames.joined(separator: ", ")))"
        )
        Console.line(
          "Other offices join with: samhand init --store DIR --replica SLUG --folder \(ShellWords.quote(shared.url.path))"
        )
        return
      }

      let identity = try shared.identity()
      if let givenSchema, givenSchema != identity.schema {
        Console.warning(
          "\(shared.url.path) already holds a store with its own schema; --schema \(schema ?? "") is ignored"
        )
      }
      let progress = ProgressBar(label: "joining")
      let (store, report) = try Store.join(
        folder: shared, at: storeURL, replica: replicaID, progress: progress.update)
      progress.finish()
      let recovered = try store.frontier()[replicaID]
      if global.json {
        Console.json(
          .object([
            "action": .string("joined"), "store": .string(store.directory.path),
            "replica": .string(replicaID.rawValue), "folder": .string(shared.url.path),
            "store_id": .string(store.storeID.rawValue),
            "imported": .integer(Int64(report.imported.count)),
            "recovered": .integer(Int64(recovered)),
            "sync": SyncSummary(report).jsonValue,
          ]))
        return
      }
      Console.line("Joined the store in \(shared.url.path)")
      Console.line("  office:     \(OfficeNames.labelled(replicaID))")
      Console.line("  replica:    \(store.directory.path)")
      Console.line("  imported:   \(Words.count(report.imported.count, "changeset"))")
      if recovered > 0 {
        Console.line(
          "  recovered:  \(Words.count(Int(recovered), "changeset")) this office had published before; its sequence continues at \(recovered + 1)"
        )
      }
      SyncSummary(report).printProblems()
    }

    static func readSchema(_ path: String) throws -> Schema {
      let url = URL(fileURLWithPath: path)
      let data: Data
      do {
        data = try Data(contentsOf: url)
      } catch {
        throw CommandFailure(
          "cannot read the schema file \(url.path): \(error.localizedDescription)")
      }
      do {
        return try Schema(json: data)
      } catch var error as SamhandError {
        error.fileURL = url
        throw error
      }
    }
  }
}
