import Foundation
import GRDB

/// A changeset this replica accepted although its key is now revoked from
/// a sequence number at or below its own, or its office is now retired:
/// it was written without seeing the revocation or the retirement (offline,
/// or crafted by whoever holds the key with an old dependency list).
///
/// Such changesets stay applied, alike on every replica (`Docs/FORMATS.md`
/// section 9, "Revocation that arrives late", says why); they are listed so
/// that an administrator can review the records they wrote and repair them
/// with ordinary writes.
public struct LateChangeset: Sendable, Hashable {
  /// The changeset.
  public var changeset: Changeset.ID
  /// When its author says it was made, in milliseconds since 1970.
  public var timestamp: Int64
  /// What it did not see, in words.
  public var reason: String
  /// The records it wrote, by collection and id (roster edits left out).
  public var records: [RecordRef]
}

extension Store {
  /// The changesets this replica accepted that a revocation or retirement
  /// they did not see now covers (``LateChangeset``), by author and number.
  /// Only changesets this replica holds are listed: not those inside the
  /// checkpoint it started from, nor history it forgot. Empty without a roster.
  public func lateChangesets() throws -> [LateChangeset] {
    guard let genesis else { return [] }
    return try read { db in
      let roster = try roster(at: try Store.readFrontier(db), db)
      let retirements = try retirementContexts(genesis: genesis, db)
      var late: [LateChangeset] = []
      for member in roster.members.values.sorted(by: { $0.office < $1.office }) {
        let firstRevoked = member.revoked.values.min()
        let retiredAfter = retirements[member.office]
        guard firstRevoked != nil || retiredAfter != nil else { continue }
        let from = min(firstRevoked ?? UInt64.max, retiredAfter.map { $0 + 1 } ?? UInt64.max)
        let rows = try Row.fetchAll(
          db,
          sql: """
            SELECT c.seq, c.wall, f.bytes FROM changesets c JOIN changeset_files f ON f.author = c.author AND f.seq = c.seq
            WHERE c.author = ? AND c.seq >= ? AND c.rejected IS NULL ORDER BY c.seq
            """, arguments: [member.office.rawValue, Int64(clamping: from)])
        for row in rows {
          let sequence = UInt64(row[0] as Int64)
          let changeset = try ChangesetFile.decode([UInt8](row[2] as Data), keys: try keyring(db))
          var reasons: [String] = []
          if let key = Store.signer(of: changeset), let revoked = member.revoked[key], revoked <= sequence {
            reasons.append("signed with key \(key.fingerprint), which the roster revokes from #\(revoked)")
          }
          if let seen = retiredAfter, sequence > seen {
            reasons.append("written without seeing \(member.office)'s retirement")
          }
          guard !reasons.isEmpty else { continue }
          var records: [RecordRef] = []
          for edit in changeset.edits where edit.record.collection != Roster.collection && !records.contains(edit.record) {
            records.append(edit.record)
          }
          late.append(
            LateChangeset(
              changeset: changeset.id, timestamp: row[1], reason: reasons.joined(separator: "; ") + ": accepted, as it did not see that",
              records: records))
        }
      }
      return late
    }
  }

  /// For each retired office, the highest of its sequence numbers its
  /// retirement saw: the roster changes folded in the order the roster is
  /// (Lamport stamp, then id), the first that retires the office, and that
  /// change's dependencies.
  private func retirementContexts(genesis: Roster, _ db: Database) throws -> [ReplicaID: UInt64] {
    var changes: [(id: Changeset.ID, lamport: UInt64, edits: [UInt8])] = []
    for row in try Row.fetchAll(db, sql: "SELECT author, seq, lamport, edits FROM roster_changes") {
      guard let author = ReplicaID(rawValue: row[0]) else { continue }
      changes.append((Changeset.ID(author: author, sequence: UInt64(row[1] as Int64)), UInt64(row[2] as Int64), [UInt8](row[3] as Data)))
    }
    changes.sort { $0.lamport != $1.lamport ? $0.lamport < $1.lamport : $0.id < $1.id }
    var roster = genesis
    var seen: [ReplicaID: UInt64] = [:]
    let deps = try db.cachedStatement(sql: "SELECT deps FROM changesets WHERE author = ? AND seq = ?")
    for change in changes {
      var reader = BinaryReader(change.edits)
      guard let edits = try? ChangesetFile.decodeEdits(&reader) else { continue }
      let before = roster
      roster = roster.applying(edits)
      for (office, member) in roster.members where member.isRetired && before.members[office]?.isRetired != true {
        // Without the changeset (inside a checkpoint), nothing of the office's held here can be judged late.
        guard let blob = try Data.fetchOne(deps, arguments: [change.id.author.rawValue, Int64(change.id.sequence)]) else {
          seen[office] = UInt64.max - 1
          continue
        }
        seen[office] = try Store.decodeVector(blob)[office]
      }
    }
    return seen
  }
}
