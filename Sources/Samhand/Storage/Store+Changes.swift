import Foundation
import GRDB
import Synchronization

/// What changed in a store: told to `Store.changes()` subscribers after
/// every local transaction and every sync that applied something.
public struct StoreChange: Sendable, Hashable {
  /// Where the change came from.
  public enum Origin: String, Sendable, Hashable {
    /// A transaction on this replica.
    case local
    /// Changesets imported from the shared folder.
    case sync
  }

  /// One record that changed.
  public struct RecordChange: Sendable, Hashable {
    /// The record that changed.
    public var record: RecordRef
    /// The fields written (set, added to, removed from, put); empty for a
    /// record-level change only (a delete or a touch).
    public var fields: Set<String>
    /// Whether the record is visible after the change (false once deleted).
    public var exists: Bool
  }

  /// Whether the change came from a local transaction or a sync.
  public var origin: Origin
  /// The changesets applied, in the order they were applied.
  public var changesets: [Changeset.ID]
  /// The records touched, sorted by collection and id.
  public var records: [RecordChange]
  /// Conflicts that are open now and were not before.
  public var conflictsOpened: [Conflict]
  /// Conflicts that were open before and are closed now.
  public var conflictsClosed: [Conflict]
}

extension Store {
  /// Changes to this store, as they happen, for an application to refresh what it shows.
  ///
  /// Each local transaction and each sync that applies changesets yields
  /// one `StoreChange`. The stream ends when the subscriber stops iterating
  /// (or its task is cancelled). Changes made through another `Store`
  /// instance or another process are not seen here until this instance
  /// syncs them in; keep one `Store` per replica in an application. When a
  /// subscriber falls behind, the oldest of more than 100 waiting changes
  /// are dropped.
  ///
  /// ```swift
  /// for await change in store.changes() {
  ///   for record in change.records { refresh(record.record) }
  ///   if !change.conflictsOpened.isEmpty { showReviewBadge() }
  /// }
  /// ```
  public func changes() -> AsyncStream<StoreChange> {
    let (stream, continuation) = AsyncStream.makeStream(of: StoreChange.self, bufferingPolicy: .bufferingNewest(100))
    let id = UUID()
    observers.withLock { $0[id] = continuation }
    continuation.onTermination = { [weak self] _ in
      _ = self?.observers.withLock { $0.removeValue(forKey: id) }
    }
    return stream
  }

  var hasObservers: Bool { observers.withLock { !$0.isEmpty } }

  /// Works out what the applied changesets changed and tells every subscriber.
  func notify(_ origin: StoreChange.Origin, changesets: [Changeset.ID], conflictsBefore: [Conflict]) throws {
    guard !changesets.isEmpty else { return }
    var touched: [RecordRef: Set<String>] = [:]
    let keys = try groupKeys()
    for id in changesets {
      guard let bytes = try changesetBytes(id) else { continue }
      for edit in try ChangesetFile.decode(bytes, keys: keys).edits {
        touched[edit.record, default: []].formUnion(edit.field.map { [$0] } ?? [])
      }
    }
    let records = try read { db in
      try touched.keys.sorted().map { ref in
        StoreChange.RecordChange(record: ref, fields: touched[ref]!, exists: try loadRecord(ref, db) != nil)
      }
    }
    let conflictsAfter = origin == .sync ? try conflicts() : try conflicts(of: Array(touched.keys))
    func key(_ conflict: Conflict) -> String {
      "\(conflict.kind.rawValue)\u{0}\(conflict.collection)\u{0}\(conflict.recordID)\u{0}\(conflict.field ?? "")\u{0}\(conflict.key ?? "")"
    }
    let before = Set(conflictsBefore.map(key))
    let after = Set(conflictsAfter.map(key))
    let change = StoreChange(
      origin: origin, changesets: changesets, records: records,
      conflictsOpened: conflictsAfter.filter { !before.contains(key($0)) },
      conflictsClosed: conflictsBefore.filter { !after.contains(key($0)) })
    let continuations = observers.withLock { Array($0.values) }
    for continuation in continuations { continuation.yield(change) }
  }

  /// The open conflicts of some records.
  func conflicts(of records: [RecordRef]) throws -> [Conflict] {
    try read { db in try records.sorted().flatMap { try loadRecord($0, db)?.conflicts ?? [] } }
  }
}
