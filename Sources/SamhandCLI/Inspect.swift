import ArgumentParser
import Foundation
import Samhand

extension SamhandCommand {
  struct Inspect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Decode one changeset or pack file and print its header and edits.",
      discussion: """
        Verifies the file's checksums and decodes it without any store. A \
        damaged file is reported with the byte offset where decoding failed \
        (exit code 1). With --json, each edit has the form 'samhand apply' reads.

        A pack file (NNNNNNNNNNNN-NNNNNNNNNNNN.pack, layout 6) is checked \
        against its name and its signature, and its changesets are listed \
        one a line; --member N shows changeset N in it as a changeset file.

        Examples:
          samhand inspect /mnt/delt/samhand/changesets/vestland/000000000003.changeset
          samhand inspect --json 000000000003.changeset | jq '.edits | length'
          samhand inspect changesets/vestland/000000000001-000000000064.pack --member 42
        """)

    @Argument(help: "The changeset file.")
    var file: String

    @Option(help: ArgumentHelp("Show at most this many edits (0: all).", valueName: "n"))
    var edits: Int = 0

    @Option(help: ArgumentHelp("In a pack file, show this changeset (its number) as a changeset file.", valueName: "n"))
    var member: UInt64?

    @Flag(help: "Print machine-readable JSON on stdout.")
    var json = false

    func validate() throws {
      if edits < 0 { throw ValidationError("--edits must be 0 or more") }
    }

    func run() async throws {
      let url = URL(fileURLWithPath: file)
      let bytes: [UInt8]
      do {
        bytes = [UInt8](try Data(contentsOf: url))
      } catch {
        throw CommandFailure("cannot read \(url.path): \(error.localizedDescription)")
      }
      if bytes.starts(with: Array("SHPK".utf8)) || url.pathExtension == PackFile.fileExtension {
        guard let bytes = try inspectPack(bytes, url: url) else { return }
        try show(bytes, url: url)
        return
      }
      if member != nil { throw CommandFailure("--member is for pack files; \(url.path) is not one") }
      try show(bytes, url: url)
    }

    /// Prints one changeset file.
    func show(_ bytes: [UInt8], url: URL) throws {
      var (header, _) = try ChangesetFile.decodeHeader(bytes, fileURL: url)
      var changeset: Changeset
      do {
        changeset = try ChangesetFile.decode(bytes, fileURL: url)
        if let resolved = Self.resolvedFromSiblings(try ChangesetFile.open(bytes, fileURL: url), url: url) {
          header = resolved
          changeset.dependencies = resolved.dependencies
        }
      } catch {
        if !json {
          for line in headerLines(header, url: url, size: bytes.count) { Console.line(line) }
        }
        throw error
      }
      if json {
        Console.json(
          .object([
            "file": .string(url.path),
            "bytes": .integer(Int64(bytes.count)),
            "format": .integer(Int64(header.formatVersion)),
            "store_id": .string(header.storeID.rawValue),
            "changeset": changeset.id.jsonValue,
            "author": .string(changeset.author.rawValue),
            "sequence": .integer(Int64(changeset.sequence)),
            "lamport": .integer(Int64(changeset.lamport)),
            "time": .string(TimeText.iso(milliseconds: changeset.timestamp)),
            "time_ms": .integer(changeset.timestamp),
            "dependencies": changeset.dependencies.jsonValue,
            "dependencies_written": .string(header.dependencyDelta == nil ? "in full" : "against the previous changeset"),
            "dependencies_resolved": .bool(header.dependenciesResolved),
            "payload_bytes": .integer(Int64(header.payloadSize)),
            "compressed_bytes": .integer(Int64(header.compressedSize)),
            "edits": .array(changeset.edits.map(\.jsonValue)),
          ]))
        return
      }
      for line in headerLines(header, url: url, size: bytes.count) { Console.line(line) }
      Console.line("Edits (\(changeset.edits.count)):")
      let shown = edits == 0 ? changeset.edits : Array(changeset.edits.prefix(edits))
      for edit in shown { Console.line("  \(edit.displayed)") }
      if shown.count < changeset.edits.count {
        Console.line("  … and \(changeset.edits.count - shown.count) more (--edits 0 shows all)")
      }
    }

    func dependencyText(_ header: ChangesetFile.Header) -> String {
      guard let delta = header.dependencyDelta else { return "\(header.dependencies)" }
      let written = "written against \(header.author)#\(header.sequence - 1) (\(delta.baseCount) entries)"
      guard header.dependenciesResolved else {
        return "\(header.dependencies) at least: \(written), a file not beside this one"
      }
      return "\(header.dependencies), \(written)"
    }

    /// A format 2 file's header with its dependencies whole, from the
    /// author's earlier files in the same folder (back to one that lists
    /// them in full); nil when one of them is missing or unreadable.
    static func resolvedFromSiblings(_ envelope: ChangesetEnvelope, url: URL) -> ChangesetFile.Header? {
      guard !envelope.header.dependenciesResolved else { return nil }
      let directory = url.deletingLastPathComponent()
      var chain = [envelope]
      while let last = chain.last, !last.header.dependenciesResolved {
        let previous = directory.appendingPathComponent(ChangesetFile.fileName(sequence: last.header.sequence - 1))
        guard let data = try? Data(contentsOf: previous), let earlier = try? ChangesetFile.open([UInt8](data), fileURL: previous),
          earlier.id.author == last.id.author, earlier.header.sequence == last.header.sequence - 1
        else { return nil }
        chain.append(earlier)
      }
      var base = chain.removeLast().header.dependencies
      while let next = chain.popLast() {
        base[next.id.author] = next.header.sequence - 1
        guard let resolved = try? next.resolved(against: base) else { return nil }
        if chain.isEmpty { return resolved.header }
        base = resolved.header.dependencies
      }
      return nil
    }

    func headerLines(_ header: ChangesetFile.Header, url: URL, size: Int) -> [String] {
      [
        "File:        \(url.path) (\(size) bytes)",
        "Changeset:   \(header.author)#\(header.sequence)",
        "Author:      \(OfficeNames.labelled(header.author))",
        "Store:       \(header.storeID)",
        "Format:      \(header.formatVersion)",
        "Lamport:     \(header.lamport)",
        "Time:        \(TimeText.local(milliseconds: header.timestamp)) (\(TimeText.iso(milliseconds: header.timestamp)))",
        "Depends on:  \(dependencyText(header))",
        "Payload:     \(header.payloadSize) bytes, \(header.compressedSize) compressed",
      ]
    }
  }
}
