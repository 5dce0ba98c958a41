import Crypto
import Foundation
import GRDB

/// The snapshot hash that every sync writes into the office's head, from
/// the pieces kept with each record.
///
/// Each visible record's row in `records` holds its piece of the canonical
/// snapshot (its member of the collection object, `"id":{…}`, and its
/// conflicts), written with the record whenever it changes
/// (``MergeState``). Hashing streams the pieces through SHA-256 in
/// snapshot order, without building the snapshot. The bytes hashed are
/// exactly those of ``Snapshot/bytes`` (a test holds the two together).
extension Store {
  /// The frontier and the snapshot hash there, from the pieces.
  func incrementalSnapshotHash(_ db: Database) throws -> (VersionVector, String) {
    try flushMerge(db)
    let frontier = try Store.readFrontier(db)
    var hasher = SHA256()
    var conflicts: [UInt8] = []
    var out: [UInt8] = Array(#"{"collections":{"#.utf8)
    let pieces = try db.cachedStatement(
      sql: "SELECT body, conflicts FROM records WHERE collection = ? AND body IS NOT NULL ORDER BY record")
    for (index, name) in schema.collectionNames.enumerated() {
      if index > 0 { out.append(UInt8(ascii: ",")) }
      CanonicalJSON.writeString(name, to: &out)
      out.append(contentsOf: Array(":{".utf8))
      hasher.update(data: out)
      out.removeAll(keepingCapacity: true)
      var first = true
      let rows = try Row.fetchCursor(pieces, arguments: [name])
      while let row = try rows.next() {
        if !first { hasher.update(data: [UInt8(ascii: ",")]) }
        first = false
        // Borrow the blobs without copying them.
        try row.withUnsafeData(atIndex: 0) { if let body = $0 { hasher.update(data: body) } }
        try row.withUnsafeData(atIndex: 1) { piece in
          guard let piece, !piece.isEmpty else { return }
          if !conflicts.isEmpty { conflicts.append(UInt8(ascii: ",")) }
          conflicts.append(contentsOf: piece)
        }
      }
      out.append(UInt8(ascii: "}"))
    }
    out.append(contentsOf: Array(#"},"conflicts":["#.utf8))
    hasher.update(data: out)
    hasher.update(data: conflicts)
    out.removeAll(keepingCapacity: true)
    out.append(contentsOf: Array(#"],"format":"#.utf8))
    out.append(contentsOf: Array(String(Snapshot.formatVersion).utf8))
    out.append(contentsOf: Array(#","frontier":"#.utf8))
    CanonicalJSON.write(Snapshot.node(frontier), to: &out)
    out.append(UInt8(ascii: "}"))
    hasher.update(data: out)
    return (frontier, Data(hasher.finalize()).hexString)
  }

  /// A record's member of its collection object (`"id":{fields}`) and its
  /// conflicts (canonical objects joined by commas), as in ``Snapshot``.
  static func snapshotPiece(_ record: Record) -> (body: Data, conflicts: Data) {
    var body: [UInt8] = []
    CanonicalJSON.writeString(record.id, to: &body)
    body.append(UInt8(ascii: ":"))
    CanonicalJSON.write(Snapshot.node(record.fields), to: &body)
    var conflicts: [UInt8] = []
    for (index, conflict) in record.conflicts.enumerated() {
      if index > 0 { conflicts.append(UInt8(ascii: ",")) }
      Snapshot.write(conflict, to: &conflicts)
    }
    return (Data(body), Data(conflicts))
  }
}
