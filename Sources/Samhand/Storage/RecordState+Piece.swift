import Foundation

// MARK: - The snapshot piece, straight from the state

extension RecordState {
  /// The record's snapshot piece, as ``Store/snapshotPiece(_:)`` makes it
  /// from ``record(_:schema:)``, byte for byte, but written straight from
  /// the entries without building a ``Record`` or a tree of JSON nodes:
  /// the write-back renders every record a transaction changed.
  ///
  /// The entries are taken in the UTF-8 order of their path (field, then
  /// key), which is the order canonical JSON writes the fields, the set
  /// elements and the map keys, and the order of the record's value
  /// conflicts. Nil when the record is not visible.
  func piece(_ ref: RecordRef, schema: Schema) -> (body: Data, conflicts: Data)? {
    guard isVisible, let collection = schema.collections[ref.collection] else { return nil }
    // Swift compares strings by canonical equivalence, which byte order
    // cannot group: paths that are not plain ASCII take the general path.
    if entries.contains(where: { !$0.field.utf8.allSatisfy { $0 < 0x80 } || !$0.key.utf8.allSatisfy { $0 < 0x80 } }) {
      return record(ref, schema: schema).map(Store.snapshotPiece)
    }
    let order = entries.indices.sorted { lhs, rhs in
      let left = entries[lhs], right = entries[rhs]
      if left.field != right.field { return left.field.utf8.lexicographicallyPrecedes(right.field.utf8) }
      return left.key.utf8.lexicographicallyPrecedes(right.key.utf8)
    }
    var body: [UInt8] = []
    body.reserveCapacity(256)
    CanonicalJSON.writeString(ref.id, to: &body)
    body.append(contentsOf: [UInt8(ascii: ":"), UInt8(ascii: "{")])
    var conflicts: [Conflict] = []
    // The set or map whose array or object is open, and its closing byte.
    var open: (field: String, closer: UInt8)?
    var wroteField = false
    var wroteItem = false

    func begin(_ field: String, container: (opener: UInt8, closer: UInt8)?) {
      if let current = open {
        if current.field == field { return }
        body.append(current.closer)
        open = nil
      }
      if wroteField { body.append(UInt8(ascii: ",")) }
      wroteField = true
      CanonicalJSON.writeString(field, to: &body)
      body.append(UInt8(ascii: ":"))
      if let container {
        body.append(container.opener)
        open = (field, container.closer)
        wroteItem = false
      }
    }

    var start = 0
    while start < order.count {
      let first = entries[order[start]]
      var end = start + 1
      while end < order.count, entries[order[end]].field == first.field, entries[order[end]].key == first.key { end += 1 }
      let run = order[start..<end]
      start = end
      guard let definition = collection.fields[first.field] else { continue }
      let isSet = definition.kind == .set, isMap = definition.kind == .map
      if !isSet && !isMap && !first.key.isEmpty { continue }
      var winner = first.value ?? .null
      if run.count > 1, !isSet {
        let ordered = run.map { entries[$0].sibling }.sorted { $0.precedes($1) }
        winner = ordered[0].value ?? .null
        conflicts.append(
          Conflict(
            kind: .value, collection: ref.collection, recordID: ref.id, field: first.field,
            key: isMap ? first.key : nil, siblings: ordered))
      }
      if isSet || isMap {
        begin(
          first.field,
          container: isMap ? (UInt8(ascii: "{"), UInt8(ascii: "}")) : (UInt8(ascii: "["), UInt8(ascii: "]")))
        if wroteItem { body.append(UInt8(ascii: ",")) }
        wroteItem = true
        CanonicalJSON.writeString(first.key, to: &body)
        if isMap {
          body.append(UInt8(ascii: ":"))
          CanonicalJSON.write(winner, to: &body)
        }
      } else {
        begin(first.field, container: nil)
        CanonicalJSON.write(winner, to: &body)
      }
    }
    if let current = open { body.append(current.closer) }
    body.append(UInt8(ascii: "}"))

    // Value conflicts in path order, then the record's delete conflict.
    if let conflict = deleteConflict(ref) { conflicts.append(conflict) }
    var rendered: [UInt8] = []
    for (index, conflict) in conflicts.enumerated() {
      if index > 0 { rendered.append(UInt8(ascii: ",")) }
      Snapshot.write(conflict, to: &rendered)
    }
    return (Data(body), Data(rendered))
  }
}

extension CanonicalJSON {
  /// Writes one value, texts without building a node.
  static func write(_ value: Value, to out: inout [UInt8]) {
    switch value {
    case .text(let text): writeString(text, to: &out)
    default: write(node(value), to: &out)
    }
  }
}
