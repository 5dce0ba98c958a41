import Foundation

/// The merge state of one record: what one row of the `records` table
/// holds (`Docs/STORAGE.md`).
///
/// - *Markers*: which changesets touched the record as a write or a delete,
///   of those no later changeset had seen.
/// - *Entries*: one value at a field, set element or map key, with the dot
///   of the changeset that wrote it; *shadow* entries are values a delete
///   hid that stay while the delete is in conflict with an update.
/// - *Facts*: every value an accepted changeset wrote to a field that a
///   `field:` write rule names, for judging rights by a changeset's causal past.
///
/// Markers and entries carry their changeset's Lamport stamp and wall-clock
/// time, so that a record's conflicts are shown without further look-ups.
/// The merge rules are in `Docs/MERGE.md`; ``apply(_:dot:lamport:wall:covered:)``
/// applies one changeset's edits to the record.
struct RecordState: Sendable, Equatable {
  struct Marker: Sendable, Equatable {
    var dot: Dot
    var lamport: UInt64
    var wall: Int64
    var deleted: Bool
    /// For a delete: its dependencies and its own dot (what it had seen).
    var context: VersionVector?
  }

  struct Entry: Sendable, Equatable {
    var field: String
    /// `""` for a scalar field, the element for a set, the key for a map.
    var key: String
    var dot: Dot
    var lamport: UInt64
    var wall: Int64
    /// Nil for a set element.
    var value: Value?
    var shadow: Bool
  }

  struct Fact: Sendable, Equatable {
    var field: String
    /// The text set (nil for a set to another kind or null), or the element added or removed.
    var value: String?
    /// 0 set, 1 add, 2 remove.
    var op: UInt8
    var dot: Dot
  }

  var markers: [Marker] = []
  var entries: [Entry] = []
  var facts: [Fact] = []

  /// Whether nothing is held for the record (no row is needed).
  var isEmpty: Bool { markers.isEmpty && entries.isEmpty && facts.isEmpty }

  /// Whether the record is visible: one of its markers is a write.
  var isVisible: Bool { markers.contains { !$0.deleted } }

  /// Whether the record is a tombstone: deleted, with no write marker left.
  var isTombstone: Bool { !markers.isEmpty && !isVisible }

  // MARK: - The merge

  /// Applies one changeset's edits to this record, in their order.
  ///
  /// - Parameters:
  ///   - covered: what the changeset had seen: its dependencies and its own dot.
  mutating func apply(_ edits: [Edit], dot: Dot, lamport: UInt64, wall: Int64, covered: VersionVector) {
    let endsDeleted: Bool = if case .delete = edits.last { true } else { false }
    for edit in edits {
      switch edit {
      case .set(_, let field, let value):
        supersede(field, "", covered)
        entries.append(Entry(field: field, key: "", dot: dot, lamport: lamport, wall: wall, value: value, shadow: false))
      case .put(_, let field, let key, let value):
        supersede(field, key, covered)
        entries.append(Entry(field: field, key: key, dot: dot, lamport: lamport, wall: wall, value: value, shadow: false))
      case .add(_, let field, let element):
        supersede(field, element, covered)
        entries.append(Entry(field: field, key: element, dot: dot, lamport: lamport, wall: wall, value: nil, shadow: false))
      case .remove(_, let field, let key), .removeKey(_, let field, let key):
        supersede(field, key, covered)
      case .touch:
        break
      case .delete:
        // What the delete had seen is hidden: kept as shadows while the
        // delete may be in conflict, dropped when the same changeset writes
        // the record again afterwards.
        if endsDeleted {
          for index in entries.indices where covered.contains(entries[index].dot) { entries[index].shadow = true }
        } else {
          entries.removeAll { covered.contains($0.dot) }
        }
      }
    }
    // The changeset's marker replaces those it had seen; a delete marker
    // that is seen takes the shadows it kept with it.
    var seenDeletes: [VersionVector] = []
    markers.removeAll { marker in
      guard covered.contains(marker.dot) else { return false }
      if marker.deleted, let context = marker.context { seenDeletes.append(context) }
      return true
    }
    for context in seenDeletes {
      entries.removeAll { $0.shadow && context.contains($0.dot) }
    }
    markers.append(
      Marker(dot: dot, lamport: lamport, wall: wall, deleted: endsDeleted, context: endsDeleted ? covered : nil))
  }

  /// Removes the entries at a path that the changeset had seen.
  private mutating func supersede(_ field: String, _ key: String, _ covered: VersionVector) {
    entries.removeAll { $0.field == field && $0.key == key && covered.contains($0.dot) }
  }

  /// Whether every marker and entry lies inside `seen`: a tombstone that
  /// every changeset still to come has seen may be purged.
  func isPurgeable(seenBy seen: VersionVector) -> Bool {
    isTombstone && markers.allSatisfy { seen.contains($0.dot) } && entries.allSatisfy { seen.contains($0.dot) }
  }

  // MARK: - The record it shows

  /// The merged record, or nil when it is not visible (deleted, or never written).
  func record(_ ref: RecordRef, schema: Schema) -> Record? {
    guard isVisible, let collection = schema.collections[ref.collection] else { return nil }
    var fields: [String: FieldValue] = [:]
    var conflicts: [Conflict] = []
    var sets: [String: [String]] = [:]
    var maps: [String: [String: Value]] = [:]
    // The entries in order of path (field, then key), so that the siblings
    // at one path are side by side: sorting a record's few entries is
    // cheaper than grouping them in dictionaries.
    let order = entries.indices.sorted { lhs, rhs in
      entries[lhs].field != entries[rhs].field
        ? entries[lhs].field < entries[rhs].field : entries[lhs].key < entries[rhs].key
    }
    var start = 0
    while start < order.count {
      let field = entries[order[start]].field, key = entries[order[start]].key
      var end = start + 1
      while end < order.count, entries[order[end]].field == field, entries[order[end]].key == key { end += 1 }
      let run = order[start..<end]
      start = end
      guard let definition = collection.fields[field] else { continue }
      switch definition.kind {
      case .set:
        sets[field, default: []].append(key)
      case .map:
        guard run.count > 1 else {
          maps[field, default: [:]][key] = entries[run.first!].value ?? .null
          continue
        }
        let ordered = run.map { entries[$0].sibling }.sorted { $0.precedes($1) }
        maps[field, default: [:]][key] = ordered[0].value ?? .null
        conflicts.append(
          Conflict(kind: .value, collection: ref.collection, recordID: ref.id, field: field, key: key, siblings: ordered))
      default:
        guard key.isEmpty else { continue }
        guard run.count > 1 else {
          fields[field] = .value(entries[run.first!].value ?? .null)
          continue
        }
        let ordered = run.map { entries[$0].sibling }.sorted { $0.precedes($1) }
        fields[field] = .value(ordered[0].value ?? .null)
        conflicts.append(
          Conflict(kind: .value, collection: ref.collection, recordID: ref.id, field: field, key: nil, siblings: ordered))
      }
    }
    for (field, elements) in sets { fields[field] = .set(elements.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }) }
    for (field, map) in maps { fields[field] = .map(map) }
    if let conflict = deleteConflict(ref) { conflicts.append(conflict) }
    // Value conflicts first, by field and key; the record's delete conflict
    // last, since keeping the record needs its field conflicts settled.
    conflicts.sort { lhs, rhs in
      if (lhs.kind == .delete) != (rhs.kind == .delete) { return rhs.kind == .delete }
      let left = (lhs.field ?? "", lhs.key ?? ""), right = (rhs.field ?? "", rhs.key ?? "")
      if left.0 != right.0 { return left.0.utf8.lexicographicallyPrecedes(right.0.utf8) }
      return left.1.utf8.lexicographicallyPrecedes(right.1.utf8)
    }
    return Record(collection: ref.collection, id: ref.id, fields: fields, conflicts: conflicts)
  }
}

extension RecordState {
  /// The record's delete conflict: a delete concurrent with writes (or
  /// with other deletes), its siblings every marker.
  func deleteConflict(_ ref: RecordRef) -> Conflict? {
    guard markers.contains(where: \.deleted) else { return nil }
    let siblings = markers.map { marker in
      Sibling(
        author: marker.dot.replica, sequence: marker.dot.counter, lamport: marker.lamport, timestamp: marker.wall,
        value: nil, deleted: marker.deleted)
    }.sorted { $0.precedes($1) }
    return Conflict(kind: .delete, collection: ref.collection, recordID: ref.id, field: nil, key: nil, siblings: siblings)
  }
}

extension RecordState.Entry {
  var sibling: Sibling {
    Sibling(author: dot.replica, sequence: dot.counter, lamport: lamport, timestamp: wall, value: value ?? .null, deleted: false)
  }
}

// MARK: - Encoding

/// The bytes of a record's state in the `records` table: a version byte
/// (1), a table of the texts it names (slugs, field names, keys), then the
/// markers, entries and facts, each naming texts by their index.
extension RecordState {
  static let encodingVersion: UInt8 = 1

  func encoded() -> [UInt8] {
    // Most records name few texts (their fields, keys and offices): a
    // linear search is cheaper than hashing each one, until there are many.
    var texts: [String] = []
    var index: [String: Int] = [:]
    func id(_ text: String) -> UInt64 {
      if texts.count <= 32 {
        if let known = texts.firstIndex(of: text) { return UInt64(known) }
      } else if let known = index[text] {
        return UInt64(known)
      }
      texts.append(text)
      if texts.count == 33 {
        for (position, known) in texts.enumerated() { index[known] = position }
      } else if texts.count > 33 {
        index[text] = texts.count - 1
      }
      return UInt64(texts.count - 1)
    }
    var body = BinaryWriter()
    body.varint(UInt64(markers.count))
    for marker in markers {
      body.varint(id(marker.dot.replica.rawValue))
      body.varint(marker.dot.counter)
      body.varint(marker.lamport)
      body.signed(marker.wall)
      body.byte((marker.deleted ? 1 : 0) | (marker.context != nil ? 2 : 0))
      if let context = marker.context {
        let counters = context.sorted
        body.varint(UInt64(counters.count))
        for (replica, counter) in counters {
          body.varint(id(replica.rawValue))
          body.varint(counter)
        }
      }
    }
    body.varint(UInt64(entries.count))
    for entry in entries {
      body.varint(id(entry.field))
      body.varint(id(entry.key))
      body.varint(id(entry.dot.replica.rawValue))
      body.varint(entry.dot.counter)
      body.varint(entry.lamport)
      body.signed(entry.wall)
      body.byte((entry.shadow ? 1 : 0) | (entry.value != nil ? 2 : 0))
      if let value = entry.value { ChangesetFile.encodeValue(value, to: &body) }
    }
    body.varint(UInt64(facts.count))
    for fact in facts {
      body.varint(id(fact.field))
      body.byte(fact.op | (fact.value != nil ? 0x10 : 0))
      if let value = fact.value { body.varint(id(value)) }
      body.varint(id(fact.dot.replica.rawValue))
      body.varint(fact.dot.counter)
    }
    var out = BinaryWriter()
    out.byte(RecordState.encodingVersion)
    out.varint(UInt64(texts.count))
    for text in texts { out.string(text) }
    out.raw(body.bytes)
    return out.bytes
  }

  init(encoded bytes: [UInt8]) throws {
    var reader = BinaryReader(bytes)
    do throws(BinaryReader.Failure) {
      let version = try reader.byte()
      guard version == RecordState.encodingVersion else {
        throw BinaryReader.Failure(message: "unknown record state version \(version)", offset: 0)
      }
      var texts: [String] = []
      for _ in 0..<(try reader.count(minimumSize: 1)) { texts.append(try reader.string()) }
      func text() throws(BinaryReader.Failure) -> String {
        let at = reader.offset
        let index = try reader.varint()
        guard index < UInt64(texts.count) else { throw BinaryReader.Failure(message: "bad text index", offset: at) }
        return texts[Int(index)]
      }
      // A record names few offices, many times: each slug is checked once.
      var replicas = [ReplicaID?](repeating: nil, count: texts.count)
      func replica() throws(BinaryReader.Failure) -> ReplicaID {
        let at = reader.offset
        let index = try reader.varint()
        guard index < UInt64(texts.count) else { throw BinaryReader.Failure(message: "bad text index", offset: at) }
        if let known = replicas[Int(index)] { return known }
        guard let replica = ReplicaID(rawValue: texts[Int(index)]) else {
          throw BinaryReader.Failure(message: "bad slug", offset: at)
        }
        replicas[Int(index)] = replica
        return replica
      }
      for _ in 0..<(try reader.count(minimumSize: 5)) {
        let dot = Dot(try replica(), try reader.varint())
        let lamport = try reader.varint()
        let wall = try reader.signed()
        let flags = try reader.byte()
        var context: VersionVector?
        if flags & 2 != 0 {
          var vector = VersionVector()
          for _ in 0..<(try reader.count(minimumSize: 2)) {
            let slug = try replica()
            vector[slug] = try reader.varint()
          }
          context = vector
        }
        markers.append(Marker(dot: dot, lamport: lamport, wall: wall, deleted: flags & 1 != 0, context: context))
      }
      for _ in 0..<(try reader.count(minimumSize: 7)) {
        let field = try text(), key = try text()
        let dot = Dot(try replica(), try reader.varint())
        let lamport = try reader.varint()
        let wall = try reader.signed()
        let flags = try reader.byte()
        let value = flags & 2 != 0 ? try ChangesetFile.decodeValue(&reader) : nil
        entries.append(
          Entry(field: field, key: key, dot: dot, lamport: lamport, wall: wall, value: value, shadow: flags & 1 != 0))
      }
      for _ in 0..<(try reader.count(minimumSize: 4)) {
        let field = try text()
        let flags = try reader.byte()
        let value = flags & 0x10 != 0 ? try text() : nil
        facts.append(Fact(field: field, value: value, op: flags & 0x0F, dot: Dot(try replica(), try reader.varint())))
      }
      guard reader.isAtEnd else { throw BinaryReader.Failure(message: "stray bytes", offset: reader.offset) }
    } catch {
      throw SamhandError(.storage, "a stored record state is damaged: \(error.message) (at byte \(error.offset))")
    }
  }

  /// The dots of the changesets that touched a record, as the `touches`
  /// column keeps them: a slug (string) and a sequence number (varint)
  /// each, appended in the order applied.
  static func encodeTouches(_ dots: [Dot], to writer: inout BinaryWriter) {
    for dot in dots {
      writer.string(dot.replica.rawValue)
      writer.varint(dot.counter)
    }
  }

  static func decodeTouches(_ bytes: [UInt8]) throws -> [Dot] {
    var reader = BinaryReader(bytes)
    var dots: [Dot] = []
    do throws(BinaryReader.Failure) {
      while !reader.isAtEnd {
        let slug = try reader.string()
        guard let replica = ReplicaID(rawValue: slug) else { throw BinaryReader.Failure(message: "bad slug", offset: reader.offset) }
        dots.append(Dot(replica, try reader.varint()))
      }
    } catch {
      throw SamhandError(.storage, "a stored record history is damaged: \(error.message)")
    }
    return dots
  }
}
