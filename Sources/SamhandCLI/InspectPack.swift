import Foundation
import Samhand

extension SamhandCommand.Inspect {
  /// Checks a pack file and lists its changesets; with `--member`, returns
  /// that changeset's bytes for the caller to show as a changeset file.
  func inspectPack(_ bytes: [UInt8], url: URL) throws -> [UInt8]? {
    let pack = try PackFile.decode(bytes, name: PackFile.range(fromFileName: url.lastPathComponent), fileURL: url)
    if let member {
      guard member >= pack.first, member <= pack.last else {
        throw CommandFailure("\(url.path) holds \(pack.office)#\(pack.first) to #\(pack.last), not #\(member)")
      }
      return pack.members[Int(member - pack.first)]
    }
    var rows: [(sequence: UInt64, bytes: Int, header: ChangesetFile.Header?, problem: String?)] = []
    for (index, bytes) in pack.members.enumerated() {
      let sequence = pack.first + UInt64(index)
      do {
        let envelope = try ChangesetFile.open(bytes, fileURL: url)
        let signer = envelope.header.signatures.first.flatMap { try? PublicKey(text: $0.keyID) }
        var problem: String?
        if envelope.header.author != pack.office || envelope.header.sequence != sequence {
          problem = "its header says \(envelope.header.author)#\(envelope.header.sequence)"
        } else if signer != pack.key {
          problem = "not signed with the pack's key"
        }
        rows.append((sequence, bytes.count, envelope.header, problem))
      } catch let error as SamhandError {
        rows.append((sequence, bytes.count, nil, error.message))
      }
    }
    if json {
      Console.json(
        .object([
          "file": .string(url.path),
          "kind": .string("pack"),
          "bytes": .integer(Int64(bytes.count)),
          "format": .integer(Int64(PackFile.formatVersion)),
          "store_id": .string(pack.storeID.rawValue),
          "office": .string(pack.office.rawValue),
          "first": .integer(Int64(pack.first)),
          "last": .integer(Int64(pack.last)),
          "key": .string(pack.key.hex),
          "changesets": .array(
            rows.map { row in
              .object([
                "sequence": .integer(Int64(row.sequence)),
                "bytes": .integer(Int64(row.bytes)),
                "format": row.header.map { .integer(Int64($0.formatVersion)) } ?? .null,
                "time": row.header.map { .string(TimeText.iso(milliseconds: $0.timestamp)) } ?? .null,
                "payload_bytes": row.header.map { .integer(Int64($0.payloadSize)) } ?? .null,
                "problem": row.problem.map { .string($0) } ?? .null,
              ])
            }),
        ]))
    } else {
      Console.line("File:        \(url.path) (\(bytes.count) bytes)")
      Console.line("Pack:        \(pack.office)#\(pack.first) to #\(pack.last) (\(Words.count(pack.members.count, "changeset")))")
      Console.line("Author:      \(OfficeNames.labelled(pack.office))")
      Console.line("Store:       \(pack.storeID)")
      Console.line("Format:      \(PackFile.formatVersion)")
      Console.line("Signed by:   key \(pack.key.fingerprint) (the signature verifies)")
      Console.line("Changesets:")
      for row in rows {
        let what = row.header.map { "\(TimeText.local(milliseconds: $0.timestamp)), \($0.payloadSize) bytes of edits" } ?? ""
        Console.line("  #\(row.sequence)  \(row.bytes) bytes  \(what)\(row.problem.map { "  PROBLEM: \($0)" } ?? "")")
      }
    }
    if rows.contains(where: { $0.problem != nil }) {
      throw CommandFailure("\(url.path): \(rows.filter { $0.problem != nil }.count) changesets in the pack do not hold")
    }
    return nil
  }
}
