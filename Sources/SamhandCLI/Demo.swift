import ArgumentParser
import Foundation
import Samhand

extension SamhandCommand {
  struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Run the planning cooperation end to end in a temporary folder.",
      discussion: """
        The thirteen offices (eleven fylkeskommuner, KS and KDD) each get a \
        replica and share one folder. Offline, they register the advisers of \
        the veilederkorps by plan type, work on a shared case and fund a joint \
        project as a spleiselag; some edits collide. They sync, the conflicts \
        are listed and KS resolves them, everyone syncs again, every replica \
        ends with the same snapshot, an office trying to write another's \
        record is refused, the roster every replica pinned is shown, and KDD \
        writes the snapshot as JSON. Each step is narrated; the people in it \
        are invented.

        Examples:
          samhand demo
          samhand demo --dir /tmp/samhand-demo    (must be new or empty)
        """)

    @Option(
      help: ArgumentHelp(
        "Work in this folder (new or empty) instead of a temporary one.", valueName: "dir"))
    var dir: String?

    func run() async throws {
      let root: URL
      if let dir {
        root = URL(fileURLWithPath: dir).standardizedFileURL
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: root.path, isDirectory: &isDirectory) {
          guard isDirectory.boolValue else {
            throw CommandFailure("\(root.path) is a file: --dir needs a new or empty folder")
          }
          let contents = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
          guard contents.isEmpty else {
            throw CommandFailure("\(root.path) is not empty: --dir needs a new or empty folder")
          }
        }
      } else {
        root = FileManager.default.temporaryDirectory
          .appendingPathComponent("samhand-demo-\(UUID().uuidString.prefix(8).lowercased())")
      }
      try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
      var script = DemoScript(root: root)
      try script.run()
    }
  }
}
