import Foundation
import GRDB

/// The merge: how one changeset's edits change the stored state.
///
/// Each record's state is kept as *entries* and *markers*
/// (``RecordState``):
/// - An entry is one value at a path (field; field and set element; field
///   and map key) with the dot of the changeset that wrote it. A write at a
///   path removes the entries there whose dots the writer had seen (its
///   context) and adds its own; entries it had not seen stay as siblings.
/// - A marker records that a changeset touched a record, as a write (live)
///   or a delete. Only markers no later changeset has seen are kept, so a
///   record is visible when one of its markers is live, and a live and a
///   delete marker together are an update/delete conflict.
/// - A delete hides the entries it had seen as *shadow* entries. They stay
///   while the delete is in conflict with a concurrent update (so nothing is
///   lost during review) and are dropped once a later changeset has seen
///   the delete.
///
/// With causal delivery, the result is the same whatever order concurrent
/// changesets are applied in. The records a changeset touches are read
/// once, merged in memory and written back with the transaction
/// (``MergeState``).
extension Store {
  func applyEffects(of changeset: Changeset, _ db: Database) throws {
    // Group edits by record, keeping their order within a record.
    var order: [RecordRef] = []
    var byRecord: [RecordRef: [Edit]] = [:]
    for operation in changeset.edits where operation.record.collection != Roster.collection {
      if byRecord[operation.record] == nil { order.append(operation.record) }
      byRecord[operation.record, default: []].append(operation)
    }
    let dot = changeset.dot
    // What the changeset covers: its dependencies and its own dot, so that
    // entries it wrote before deleting the record are covered too.
    var covered = changeset.dependencies
    covered[dot.replica] = dot.counter
    let engine = merge(db)
    for record in order {
      let edits = byRecord[record]!
      try engine.update(record) { state in
        state.apply(edits, dot: dot, lamport: changeset.lamport, wall: changeset.timestamp, covered: covered)
      }
      try engine.addTouch(record, dot)
    }
  }
}
