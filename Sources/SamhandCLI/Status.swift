import ArgumentParser
import Foundation
import Samhand

extension SamhandCommand {
  struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Show this replica's state and how far behind each office is.",
      discussion: """
        Shows the office's slug, its signing key and whether the roster \
        lists it, the pinned roster's hash, its frontier (the changesets it \
        has applied), the outbox not yet published, changesets waiting for \
        dependencies, changesets rejected (they broke the schema or the \
        writer's rights, and changed nothing), files the last sync set aside \
        (damaged, unsigned, forged, or signed by an office or key the roster \
        does not allow), open conflicts, and for each office \
        that has synced: its frontier as it last reported it, how many \
        changesets it lacks of all those known, and whether offices at the \
        same frontier report the same snapshot hash (they must).

        Examples:
          samhand status
          samhand status --store ~/samhand/kdd --json
        """)

    @OptionGroup var global: GlobalOptions

    func validate() throws {
      try global.validateStore()
    }

    struct OfficeRow {
      var office: ReplicaID
      var frontier: VersionVector
      var behind: UInt64
      var snapshot: String?
      var time: Int64?
      var isSelf: Bool
    }

    func run() async throws {
      let store = try global.openStore()
      let frontier = try store.frontier()
      let outbox = try store.outbox()
      let waiting = try store.pending()
      let rejected = try store.rejected()
      let late = try store.lateChangesets()
      let setAside = try store.setAsideFiles()
      let collisions = try store.collisions()
      let claims = try store.unconfirmedClaims()
      let conflicts = try store.conflictCount()
      let encryption = try store.encryptionState()
      // Cached per frontier by the library: cheap when nothing changed.
      let (_, snapshotHash) = try store.snapshotHash()
      let folder = try store.folder()
      let roster = try store.roster()
      let (publicKey, standing) = try TrustText.ownStanding(of: store)
      var folderReachable = false
      var heads: [Head] = []
      var headProblems: [FolderProblem] = []
      if let folder, folder.isThere {
        folderReachable = true
        (heads, headProblems) = folder.heads()
        // Heads not signed by their office's key say nothing here either.
        let judged = try store.judge(heads)
        heads = judged.counted
        headProblems += judged.ignored
      }

      // Everything known to exist: our frontier and every office's report.
      var known = frontier
      for head in heads { known.formUnion(head.frontier) }
      func behind(_ vector: VersionVector) -> UInt64 {
        known.counters.reduce(0) {
          $0 + ($1.value > vector[$1.key] ? $1.value - vector[$1.key] : 0)
        }
      }
      var rows = [
        OfficeRow(
          office: store.replica, frontier: frontier, behind: behind(frontier),
          snapshot: snapshotHash,
          time: nil, isSelf: true)
      ]
      for head in heads where head.office != store.replica {
        rows.append(
          OfficeRow(
            office: head.office, frontier: head.frontier, behind: behind(head.frontier),
            snapshot: head.snapshotHash, time: head.timestamp, isSelf: false))
      }
      rows.sort { $0.office < $1.office }
      // Offices at the same frontier must agree; our live state counts too.
      var reported = heads.filter { $0.office != store.replica }
      reported.append(
        Head(office: store.replica, frontier: frontier, snapshotHash: snapshotHash, timestamp: 0))
      let divergent = SharedFolder.divergentHeads(reported)
      let retention = try store.retention()
      let base = try store.checkpointBase()
      let stability = folderReachable ? try folder.map { try store.stability(in: $0) } : nil
      let newestCheckpoint = folderReachable ? folder?.checkpoints().first : nil

      if global.json {
        var baseJSON: JSONValue = .null
        if let base {
          baseJSON = .object(["frontier": base.frontier.jsonValue, "time": .string(TimeText.iso(milliseconds: base.timestamp))])
        }
        let stale: [JSONValue] = (stability?.stale ?? []).map { .string($0.rawValue) }
        let longLife: JSONValue = .object([
          "retention": .string(retention.description),
          "checkpoint_base": baseJSON,
          "stable_frontier": stability?.frontier.jsonValue ?? .null,
          "stale": .array(stale),
          "newest_checkpoint": newestCheckpoint.map { .string($0.relativePath) } ?? .null,
          // Offices with a signature file of its name (not verified here: 'samhand verify' does).
          "newest_checkpoint_signed_by": .array((newestCheckpoint?.signatures ?? []).map { .string($0.office.rawValue) }),
        ])
        Console.json(
          .object([
            "office": .string(store.replica.rawValue),
            "store": .string(store.directory.path),
            "store_id": .string(store.storeID.rawValue),
            "samhand_version": .string(SamhandVersion.string),
            "folder": folder.map { .string($0.location) } ?? .null,
            "folder_reachable": .bool(folderReachable),
            "frontier": frontier.jsonValue,
            "changesets": .integer(Int64(frontier.total)),
            "snapshot": .string(snapshotHash),
            "roster_hash": store.genesisRoster.map { .string($0.hash) } ?? .null,
            "key": .object([
              "public_key": .string(publicKey.hex), "fingerprint": .string(publicKey.fingerprint),
              "status": .string(standing.code),
            ]),
            "outbox": .array(outbox.map(\.jsonValue)),
            "waiting": .array(waiting.map(\.jsonValue)),
            "rejected": .array(
              rejected.sorted { $0.key < $1.key }.map {
                .object(["changeset": $0.key.jsonValue, "reason": .string($0.value)])
              }),
            "late": .array(
              late.map {
                .object([
                  "changeset": $0.changeset.jsonValue, "reason": .string($0.reason),
                  "records": .array($0.records.map { .string("\($0.collection)/\($0.id)") }),
                ])
              }),
            "set_aside": .array(setAside.map(\.jsonValue)),
            "collisions": .array(
              collisions.map {
                .object([
                  "changeset": $0.changeset.jsonValue, "path": .string($0.path),
                  "message": .string($0.description),
                ])
              }),
            "unconfirmed_claims": .array(
              claims.map {
                .object([
                  "changeset": $0.changeset.jsonValue, "public_key": .string($0.key.hex),
                  "fingerprint": .string($0.key.fingerprint), "reason": .string($0.reason),
                ])
              }),
            "conflicts": .integer(Int64(conflicts)),
            "encryption": encryption.map { state in
              .object([
                "key_in_force": state.keyInForce.map { .string($0.hex) } ?? .null,
                "holds_key_in_force": .bool(state.holdsKeyInForce),
                "keys_held": .integer(Int64(state.keysHeld)),
                "sealed_unread": .integer(Int64(state.filesWaiting)),
                "waiting_for_key": .bool(state.isWaitingForKey),
                "agreement_key": .string(state.agreementKey),
                "agreement_key_published": .bool(state.agreementKeyPublished),
              ])
            } ?? .null,
            "offices": .array(
              rows.map { row in
                .object([
                  "office": .string(row.office.rawValue),
                  "frontier": row.frontier.jsonValue,
                  "behind": .integer(Int64(row.behind)),
                  "snapshot": row.snapshot.map { .string($0) } ?? .null,
                  "time": row.time.map { .string(TimeText.iso(milliseconds: $0)) } ?? .null,
                  "self": .bool(row.isSelf),
                ])
              }),
            "head_problems": .array(headProblems.map(\.jsonValue)),
            "snapshots_agree": .bool(divergent.isEmpty),
            "long_life": longLife,
            "divergent": .array(divergent.map { .array($0.map { .string($0.office.rawValue) }) }),
          ]))
        return
      }

      Console.line("Office:      \(OfficeNames.labelled(store.replica))")
      Console.line("Store:       \(store.directory.path)")
      if let folder {
        Console.line(
          "Folder:      \(folder.location)\(folderReachable ? "" : "   (not reachable now)")")
      } else {
        Console.line("Folder:      none set")
      }
      Console.line("Key:         \(publicKey.fingerprint): \(TrustText.describe(standing, office: store.replica, roster: roster))")
      if let advice = TrustText.advice(standing, office: store.replica, key: publicKey, roster: roster) {
        Console.line("             \(advice)")
      }
      if let genesis = store.genesisRoster {
        Console.line("Roster:      pinned \(genesis.hash) (see 'samhand roster')")
      }
      if let state = encryption {
        if state.isWaitingForKey {
          let admins = TrustText.administrators(roster)
          Console.line(
            "Encryption:  waiting for the group key\(state.filesWaiting > 0 ? " (\(Words.count(state.filesWaiting, "changeset")) sealed, not read yet)" : ""): an administrator (\(admins)) gives it at its next sync after confirming this office's key; nothing is lost meanwhile")
        } else {
          Console.line(
            "Encryption:  encrypted folder; group key \(state.keyInForce.map { String($0.hex.prefix(12)) } ?? "?") in force, held (\(Words.count(state.keysHeld, "key")) in all)")
        }
      }
      Console.line("Frontier:    \(frontier) (\(Words.count(Int(frontier.total), "changeset")))")
      Console.line("Snapshot:    \(snapshotHash)")
      Console.line(
        "Outbox:      \(outbox.isEmpty ? "empty" : "\(Words.count(outbox.count, "changeset")) not yet published (\(SyncSummary.list(outbox))): run 'samhand sync'")"
      )
      Console.line(
        "Waiting:     \(waiting.isEmpty ? "none" : "\(Words.count(waiting.count, "changeset")) waiting for dependencies (\(SyncSummary.list(waiting)))")"
      )
      if !rejected.isEmpty {
        Console.line(
          "Rejected:    \(Words.count(rejected.count, "changeset")) broke the schema or the writer's rights and changed nothing:"
        )
        for (id, reason) in rejected.sorted(by: { $0.key < $1.key }) {
          Console.line("  \(id): \(reason)")
        }
      }
      if !late.isEmpty {
        Console.line(
          "Late:        \(Words.count(late.count, "changeset")) accepted that a revocation or retirement they did not see covers; review what they wrote:")
        for entry in late {
          Console.line("  \(entry.changeset): \(entry.reason); \(entry.records.map { "\($0.collection)/\($0.id)" }.joined(separator: ", "))")
        }
      }
      Console.line(
        "Set aside:   \(setAside.isEmpty ? "none" : Words.count(setAside.count, "file") + " at the last sync:")"
      )
      for problem in setAside { Console.line("  \(problem.path): \(problem.reason)") }
      if !claims.isEmpty {
        let offices = Set(claims.map(\.changeset.author)).sorted().map(\.rawValue)
        Console.line(
          "Claims:      \(Words.count(claims.count, "changeset")) signed with keys no administrator has confirmed (\(offices.joined(separator: ", "))): see 'samhand roster confirm'")
      }
      if !collisions.isEmpty {
        Console.line(
          "Collisions:  \(collisions.count): another installation is writing as '\(store.replica)' with its key; publishing is stopped"
        )
        for collision in collisions { Console.line("  \(collision)") }
        Console.line("             \(TrustText.collisionAdvice(store.replica))")
      }
      Console.line(
        "Conflicts:   \(conflicts == 0 ? "none" : "\(conflicts) open: see 'samhand conflicts' or 'samhand review'")"
      )
      Console.line("Retention:   \(LongLifeText.describe(retention))")
      if let base {
        Console.line(
          "History:     from a checkpoint of \(TimeText.local(milliseconds: base.timestamp)) on (\(Words.count(Int(base.frontier.total), "changeset")) before it are in the state, not held here)")
      } else {
        Console.line("History:     every changeset this replica applied is held here")
      }
      if let stability {
        Console.line(
          "Stable:      \(Words.count(Int(stability.frontier.total), "changeset")) applied by every counted office\(stability.stale.isEmpty ? "" : "; silent longer than the retention: \(stability.stale.map(\.rawValue).joined(separator: ", "))")")
      }
      if let newestCheckpoint {
        Console.line("Checkpoint:  newest in the folder \(newestCheckpoint.relativePath) (\(Words.count(Int(newestCheckpoint.total), "changeset")))")
        let signers = newestCheckpoint.signatures.map(\.office.rawValue)
        Console.line(
          "             signature files by \(signers.isEmpty ? "no office" : signers.joined(separator: ", "))\(Set(signers).count < 2 ? "; used once two offices sign it" : "")")
      }
      Console.line(
        "Offices (frontier as each last reported it; behind: changesets it lacks of all known):")
      let width = rows.map(\.office.rawValue.count).max() ?? 0
      for row in rows {
        let name = row.office.rawValue.padding(toLength: width, withPad: " ", startingAt: 0)
        let at = Words.count(Int(row.frontier.total), "changeset")
        let when =
          row.isSelf
          ? "this replica, now" : "reported \(TimeText.local(milliseconds: row.time ?? 0))"
        var state = "up to date"
        if row.behind > 0 {
          let lacking = known.sorted.compactMap { entry -> String? in
            let missing =
              entry.counter > row.frontier[entry.replica]
              ? entry.counter - row.frontier[entry.replica] : 0
            return missing > 0 ? "\(entry.replica) \(missing)" : nil
          }
          state = "behind by \(row.behind) (\(lacking.joined(separator: ", ")))"
        }
        Console.line(
          "  \(name)  \(at.padding(toLength: 15, withPad: " ", startingAt: 0))  \(when.padding(toLength: 28, withPad: " ", startingAt: 0))  \(state)"
        )
      }
      if heads.isEmpty && folderReachable {
        Console.line("  (no office has reported to the folder yet)")
      }
      for problem in headProblems { Console.line("  \(problem.path): \(problem.reason)") }
      if divergent.isEmpty {
        Console.line("Snapshots:   offices at the same frontier report the same snapshot hash")
      } else {
        for group in divergent {
          let offices = group.map { "\($0.office) (\($0.snapshotHash.prefix(12)))" }.joined(
            separator: ", ")
          Console.line(
            "Snapshots:   DIFFERENT at the same frontier \(group[0].frontier): \(offices)")
        }
      }
    }
  }
}
