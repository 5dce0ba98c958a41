import Foundation
import GRDB

// MARK: - Dependencies written against the previous changeset (format 2)

extension Store {
  /// The author's promise at changeset `sequence`: that changeset's
  /// dependencies with the author's own entry at `sequence`, which every
  /// later changeset of the author includes and a format 2 file is written
  /// against. Nil when this replica knows neither the changeset nor a
  /// checkpoint promise at it.
  func promise(of author: ReplicaID, at sequence: UInt64, _ db: Database) throws -> VersionVector? {
    guard sequence > 0 else { return VersionVector() }
    if let blob = try Data.fetchOne(
      try db.cachedStatement(sql: "SELECT deps FROM changesets WHERE author = ? AND seq = ?"),
      arguments: [author.rawValue, Int64(sequence)])
    {
      var promise = try Store.decodeVector(blob)
      promise[author] = sequence
      return promise
    }
    // Pruned here, or inside the checkpoint this replica started from,
    // whose promises name each office's last changeset inside it.
    let engine = merge(db)
    if engine.basePromises == nil { engine.basePromises = try Store.basePromises(db) }
    if let promise = engine.basePromises?[author], promise[author] == sequence { return promise }
    return nil
  }

  /// The envelope with its dependencies whole when it is a format 2 file
  /// whose base this replica knows; otherwise as it is (a lower bound, which
  /// names the author's previous changeset, so the file waits for it).
  ///
  /// - Throws: `SamhandError.corruptChangeset` for a file written against
  ///   another base than the one this replica holds.
  func resolvingDependencies(_ envelope: ChangesetEnvelope, fileURL: URL? = nil, _ db: Database) throws -> ChangesetEnvelope {
    guard !envelope.header.dependenciesResolved else { return envelope }
    guard let base = try promise(of: envelope.header.author, at: envelope.header.sequence - 1, db) else { return envelope }
    return try envelope.resolved(against: base, fileURL: fileURL)
  }

  /// The base this replica's next changeset is written against, in a
  /// folder whose layout allows format 2; nil for a format 1 file.
  func writingBase(for changeset: Changeset, _ db: Database) throws -> VersionVector? {
    guard changeset.sequence > 1, let layout = try Store.meta(db, "folder_layout").flatMap(Int.init),
      layout >= SharedFolder.deltaLayout
    else { return nil }
    // A roster change is judged from its file alone inside a checkpoint,
    // where no base is at hand: it lists its dependencies in full.
    guard !changeset.edits.contains(where: { $0.record.collection == Roster.collection }) else { return nil }
    return try promise(of: changeset.author, at: changeset.sequence - 1, db)
  }
}

extension Store {
  /// A changeset this replica holds (created or applied), decoded, with
  /// its dependencies whole even when its file writes them against the
  /// author's previous changeset (format 2). Nil when it holds no file.
  public func changeset(_ id: Changeset.ID) throws -> Changeset? {
    try read { db in
      guard let data = try Data.fetchOne(
        db, sql: "SELECT bytes FROM changeset_files WHERE author = ? AND seq = ?",
        arguments: [id.author.rawValue, Int64(id.sequence)])
      else { return nil }
      var changeset = try ChangesetFile.decode([UInt8](data), keys: try keyring(db))
      if let deps = try Data.fetchOne(
        db, sql: "SELECT deps FROM changesets WHERE author = ? AND seq = ?", arguments: [id.author.rawValue, Int64(id.sequence)])
      {
        changeset.dependencies = try Store.decodeVector(deps)
      }
      return changeset
    }
  }
}
