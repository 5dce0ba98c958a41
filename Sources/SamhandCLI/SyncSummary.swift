import Foundation
import Samhand

/// What a sync did, for people and for `--json`.
struct SyncSummary {
  var report: SyncReport

  init(_ report: SyncReport) { self.report = report }

  var jsonValue: JSONValue {
    .object([
      "published": .array(report.published.map(\.jsonValue)),
      "republished": .array(report.republished.map(\.jsonValue)),
      "imported": .array(report.imported.map(\.jsonValue)),
      "rejected": .array(
        report.rejected.sorted { $0.key < $1.key }.map {
          .object(["changeset": $0.key.jsonValue, "reason": .string($0.value)])
        }),
      "waiting": .array(report.waiting.map(\.jsonValue)),
      "set_aside": .array(report.setAside.map(\.jsonValue)),
      "collisions": .array(
        report.collisions.map {
          .object([
            "changeset": $0.changeset.jsonValue, "path": .string($0.path),
            "known_hash": .string($0.knownHash), "other_hash": .string($0.otherHash),
            "message": .string($0.description),
          ])
        }),
      "harmless_copies": .integer(Int64(report.harmlessCopies)),
      "ignored": .integer(Int64(report.ignored)),
      "publishing_blocked": report.publishingBlocked.map { .string($0) } ?? .null,
      "head": report.head?.jsonValue ?? .null,
      "adopted_checkpoint": report.adoptedCheckpoint.map {
        .object([
          "name": .string($0.name), "frontier": $0.frontier.jsonValue,
          "reapplied": .array($0.reapplied.map(\.jsonValue)),
        ])
      } ?? .null,
      "bad_checkpoints": .array(
        report.badCheckpoints.map { .object(["path": .string($0.path), "reason": .string($0.reason)]) }),
      "wrote_checkpoint": report.wroteCheckpoint.map { .string($0) } ?? .null,
      "purged_tombstones": .integer(Int64(report.purgedTombstones)),
      "pruned": .array(report.pruned.map { .string($0) }),
      "packed": .object([
        "written": .array(report.packing.written.map { .string($0) }),
        "replaced": .array(report.packing.deleted.map { .string($0) }),
      ]),
      "maintenance_problem": report.maintenanceProblem.map { .string($0) } ?? .null,
      "waiting_for_key": .integer(Int64(report.waitingForKey)),
      "group_keys_received": .integer(Int64(report.groupKeysReceived)),
      "wrapped_keys_written": report.wrappedKeysWritten.map { .integer(Int64($0)) } ?? .null,
      "counts": .object([
        "published": .integer(Int64(report.published.count + report.republished.count)),
        "imported": .integer(Int64(report.imported.count)),
        "rejected": .integer(Int64(report.rejected.count)),
        "waiting": .integer(Int64(report.waiting.count)),
        "set_aside": .integer(Int64(report.setAside.count)),
        "collisions": .integer(Int64(report.collisions.count)),
      ]),
    ])
  }

  /// `vestland#3, vestland#4` or `vestland#3 … vestland#40 (38)`.
  static func list(_ ids: [Changeset.ID], limit: Int = 6) -> String {
    guard ids.count > limit else { return ids.map(\.description).joined(separator: ", ") }
    return ids.prefix(limit).map(\.description).joined(separator: ", ")
      + ", … (\(ids.count - limit) more)"
  }

  /// The counts, one line each.
  /// - Parameter blockedIsThrown: the caller ends with the "publishing is
  ///   stopped" error, so it is not also printed as a warning.
  func printCounts(blockedIsThrown: Bool = false) {
    let published = report.published + report.republished
    Console.line(
      "  published:  \(Words.count(published.count, "changeset"))\(published.isEmpty ? "" : " (\(SyncSummary.list(published)))")"
    )
    if !report.republished.isEmpty {
      Console.line(
        "              \(report.republished.count) of them written again because the folder had lost them"
      )
    }
    let authors = Set(report.imported.map(\.author)).sorted().map(\.rawValue)
    Console.line(
      "  imported:   \(Words.count(report.imported.count, "changeset"))\(authors.isEmpty ? "" : " from \(authors.joined(separator: ", "))")"
    )
    Console.line(
      "  waiting:    \(Words.count(report.waiting.count, "changeset"))\(report.waiting.isEmpty ? "" : " for changesets not yet in the folder (\(SyncSummary.list(report.waiting)))")"
    )
    Console.line("  set aside:  \(Words.count(report.setAside.count, "file"))")
    if report.groupKeysReceived > 0 {
      Console.line("  keys:       received \(Words.count(report.groupKeysReceived, "group key")) of this encrypted folder")
    }
    if report.waitingForKey > 0 {
      Console.line(
        "  sealed:     \(Words.count(report.waitingForKey, "changeset")) not read yet: sealed with a group key this office does not hold; it arrives once an administrator syncs after confirming this office's key")
    }
    if let wrapped = report.wrappedKeysWritten {
      Console.line("  keys:       wrote the group keys for the other offices (\(Words.count(wrapped, "wrapped key")))")
    }
    if let adopted = report.adoptedCheckpoint {
      Console.line(
        "  started from checkpoint \(adopted.name) (\(Words.count(Int(adopted.frontier.total), "changeset"))); \(Words.count(adopted.reapplied.count, "changeset")) of this replica applied again on top")
    }
    for problem in report.badCheckpoints {
      Console.line("  checkpoint not used: \(problem.path): \(problem.reason)")
    }
    if let written = report.wroteCheckpoint { Console.line("  checkpoint: wrote \(written)") }
    if !report.pruned.isEmpty {
      Console.line("  pruned:     \(Words.count(report.pruned.count, "file")) a checkpoint covers (retention)")
    }
    if !report.packing.written.isEmpty {
      Console.line(
        "  packed:     \(Words.count(report.packing.deleted.count, "file")) of this office into \(Words.count(report.packing.written.count, "pack file"))")
    }
    if report.purgedTombstones > 0 {
      Console.line("  purged:     \(Words.count(report.purgedTombstones, "deleted record")) every office has seen deleted")
    }
    if let problem = report.maintenanceProblem {
      Console.warning("the sync completed, but checkpointing, pruning or packing failed: \(problem)")
    }
    printProblems(blockedIsThrown: blockedIsThrown)
  }

  /// Set-aside files, rejected changesets and collisions, with reasons.
  func printProblems(blockedIsThrown: Bool = false) {
    for problem in report.setAside {
      Console.line("    \(problem.path): \(problem.reason)")
    }
    for (id, reason) in report.rejected.sorted(by: { $0.key < $1.key }) {
      Console.line("  rejected:   \(id): \(reason)")
    }
    for collision in report.collisions {
      Console.warning("collision: \(collision)")
    }
    if let blocked = report.publishingBlocked, !blockedIsThrown {
      Console.warning(blocked)
    }
  }
}
