import Crypto
import Foundation
import GRDB

/// The merged state at a frontier, in canonical JSON.
///
/// Two replicas at the same frontier produce the same bytes. The shape,
/// specified in `Docs/FORMATS.md`, section 3:
///
/// ```json
/// {"collections":{"cases":{"sak-1":{"title":"…"}}},"conflicts":[…],
///  "format":1,"frontier":{"ks":3}}
/// ```
public struct Snapshot: Sendable, Hashable {
  /// The snapshot format version written in `"format"`.
  public static let formatVersion = 1

  /// The frontier the snapshot stands at: every changeset its state includes.
  public var frontier: VersionVector
  /// The canonical JSON bytes.
  public var bytes: Data
  /// The schema the records follow.
  public var schema: Schema
  /// The visible records of each collection of the schema, sorted by id bytes.
  public var records: [String: [Record]]
  /// Every open conflict, sorted by collection, record, field and key.
  public var conflicts: [Conflict]

  /// SHA-256 of `bytes`, in lowercase hex.
  public var sha256: String { Data(SHA256.hash(data: bytes)).hexString }

  /// Builds a snapshot (and its canonical bytes) from merged records.
  init(frontier: VersionVector, schema: Schema, records: [String: [Record]]) {
    self.frontier = frontier
    self.schema = schema
    self.records = records
    var collections: [(String, CanonicalJSON.Node)] = []
    var conflicts: [Conflict] = []
    for name in schema.collectionNames {
      let list = records[name] ?? []
      collections.append((name, .object(list.map { ($0.id, Snapshot.node($0.fields)) })))
      conflicts += list.flatMap(\.conflicts)
    }
    self.conflicts = conflicts
    let root = CanonicalJSON.Node.object([
      ("format", .integer(Int64(Snapshot.formatVersion))),
      ("frontier", Snapshot.node(frontier)),
      ("collections", .object(collections)),
      (
        "conflicts",
        .array(
          conflicts.map { conflict in
            var rendered: [UInt8] = []
            Snapshot.write(conflict, to: &rendered)
            return .canonical(rendered)
          })
      ),
    ])
    bytes = CanonicalJSON.encode(root)
  }
}

extension Store {
  /// The canonical snapshot of this replica's merged state.
  public func snapshot() throws -> Snapshot {
    try read { db in
      let frontier = try Store.readFrontier(db)
      var records: [String: [Record]] = [:]
      for name in schema.collectionNames { records[name] = try allRecords(in: name, db) }
      return Snapshot(frontier: frontier, schema: schema, records: records)
    }
  }

  /// The snapshot as it was at an earlier frontier, rebuilt from history.
  ///
  /// The result is byte-identical to the snapshot any replica produced when
  /// it stood at exactly that frontier.
  ///
  /// - Throws: `SamhandError.invalidArgument` when the frontier is ahead of
  ///   this replica or is not causally complete (it holds a changeset
  ///   without something that changeset depends on).
  public func snapshot(at frontier: VersionVector) throws -> Snapshot {
    let current = try self.frontier()
    guard frontier.isIncluded(in: current) else {
      throw SamhandError(.invalidArgument, "frontier \(frontier) is ahead of this replica's \(current)")
    }
    // A replica that started from a checkpoint replays from it; before it,
    // only what history it held already (a replica that came back).
    let (base, rows) = try read { db -> ((frontier: VersionVector, timestamp: Int64, bytes: [UInt8])?, [Row]) in
      var base: (VersionVector, Int64, [UInt8])?
      if let start = try Store.base(db), start.frontier.isIncluded(in: frontier),
        let bytes = try Data.fetchOne(
          db, sql: "SELECT bytes FROM checkpoints WHERE frontier = ?", arguments: [Store.encodeVector(start.frontier)])
      {
        base = (start.frontier, start.timestamp, [UInt8](bytes))
      }
      return (base, try Row.fetchAll(db, sql: "SELECT author, seq, bytes FROM changeset_files ORDER BY author, seq"))
    }
    let replay = try Store.createInMemory(replica: replica, storeID: storeID, schema: schema, genesis: genesis)
    let ring = try groupKeys()
    if !ring.keys.isEmpty { try replay.importGroupKeys(ring) }
    if let base { try replay.write { db in try replay.loadState(of: try Checkpoint(bytes: base.bytes, keys: ring), db) } }
    var files: [(bytes: [UInt8], url: URL?)] = []
    for row in rows {
      guard let author = ReplicaID(rawValue: row[0]) else { continue }
      let sequence = UInt64(row[1] as Int64)
      guard frontier[author] >= sequence, (base?.frontier[author] ?? 0) < sequence else { continue }
      files.append(([UInt8](row[2] as Data), nil))
    }
    let (_, failures) = try replay.receive(files: files)
    if let failure = failures.first { throw failure.1 }
    let reached = try replay.frontier()
    guard reached == frontier else {
      if let start = try checkpointBase(), base == nil {
        throw SamhandError(
          .notFound,
          "the snapshot at \(frontier) reaches back before what this replica holds: it started from a checkpoint of \(Timestamp.iso8601(milliseconds: start.timestamp)) at \(start.frontier) and did not import the changesets it covers (an office that kept its history can make this snapshot)")
      }
      let waiting = try replay.pending().map(\.description).joined(separator: ", ")
      throw SamhandError(
        .invalidArgument,
        "frontier \(frontier) is not causally complete: \(waiting) depend on changesets outside it")
    }
    return try replay.snapshot()
  }

  /// The snapshot as it stood at a date: every changeset committed at or
  /// before `date` whose dependencies were too.
  ///
  /// Wall-clock times come from the offices' clocks. A changeset committed
  /// "before" the date but depending on one committed after it (a clock set
  /// wrong) is left out, with everything that depends on it.
  public func snapshot(asOf date: Date) throws -> Snapshot {
    try snapshot(at: try frontier(asOf: date))
  }

  /// The largest causally complete frontier of changesets committed at or before `date`.
  public func frontier(asOf date: Date) throws -> VersionVector {
    let limit = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
    let (start, rows) = try read { db in
      (try Store.base(db), try Row.fetchAll(db, sql: "SELECT author, seq, wall, deps FROM changesets ORDER BY author, seq"))
    }
    if let start, limit < start.timestamp {
      throw SamhandError(
        .notFound,
        "\(Timestamp.iso8601(milliseconds: limit)) is before the history this replica holds: it starts from a checkpoint of \(Timestamp.iso8601(milliseconds: start.timestamp)) and did not import the changesets before it (an office that kept its history holds them)")
    }
    // Per office, the longest prefix of its sequence committed by the date.
    var bound = start?.frontier ?? VersionVector()
    var dependencies: [Dot: VersionVector] = [:]
    var stopped = Set<ReplicaID>()
    for row in rows {
      guard let author = ReplicaID(rawValue: row[0]) else { continue }
      let sequence = UInt64(row[1] as Int64)
      if sequence <= start?.frontier[author] ?? 0 { continue }
      guard !stopped.contains(author), (row[2] as Int64) <= limit, sequence == bound[author] + 1 else {
        stopped.insert(author)
        continue
      }
      bound[author] = sequence
      dependencies[Dot(author, sequence)] = try Store.decodeVector(row[3])
    }
    // Cut each office back until every changeset's dependencies are inside.
    var changed = true
    while changed {
      changed = false
      for (replica, top) in bound.counters {
        var keep = top
        while keep > 0, let needs = dependencies[Dot(replica, keep)], !needs.isIncluded(in: bound) {
          keep -= 1
        }
        if keep != top {
          bound[replica] = keep
          changed = true
        }
      }
    }
    return bound
  }
}

// MARK: - Nodes

extension Snapshot {
  static func node(_ frontier: VersionVector) -> CanonicalJSON.Node {
    .object(frontier.sorted.map { ($0.replica.rawValue, .unsigned($0.counter)) })
  }

  static func node(_ fields: [String: FieldValue]) -> CanonicalJSON.Node {
    .object(
      fields.map { name, field in
        switch field {
        case .value(let value): (name, CanonicalJSON.node(value))
        case .set(let elements): (name, .array(elements.map { .string($0) }))
        case .map(let map): (name, .object(map.map { ($0.key, CanonicalJSON.node($0.value)) }))
        }
      })
  }

  /// Writes a conflict as its canonical JSON object, keys in byte order,
  /// without building a tree of nodes: the write-back renders every
  /// conflicted record a transaction changed.
  static func write(_ conflict: Conflict, to out: inout [UInt8]) {
    func key(_ name: StaticString) {
      out.append(UInt8(ascii: "\""))
      name.withUTF8Buffer { out.append(contentsOf: $0) }
      out.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
    }
    func comma() { out.append(UInt8(ascii: ",")) }
    out.append(UInt8(ascii: "{"))
    key("collection")
    CanonicalJSON.writeString(conflict.collection, to: &out)
    if let field = conflict.field {
      comma()
      key("field")
      CanonicalJSON.writeString(field, to: &out)
    }
    if let mapKey = conflict.key {
      comma()
      key("key")
      CanonicalJSON.writeString(mapKey, to: &out)
    }
    comma()
    key("kind")
    CanonicalJSON.writeString(conflict.kind.rawValue, to: &out)
    comma()
    key("record")
    CanonicalJSON.writeString(conflict.recordID, to: &out)
    comma()
    key("siblings")
    out.append(UInt8(ascii: "["))
    for (index, sibling) in conflict.siblings.enumerated() {
      if index > 0 { comma() }
      out.append(UInt8(ascii: "{"))
      key("author")
      CanonicalJSON.writeString(sibling.author.rawValue, to: &out)
      comma()
      if conflict.kind == .delete {
        key("deleted")
        out.append(contentsOf: (sibling.deleted ? "true" : "false").utf8)
        comma()
      }
      key("lamport")
      out.append(contentsOf: String(sibling.lamport).utf8)
      comma()
      key("sequence")
      out.append(contentsOf: String(sibling.sequence).utf8)
      comma()
      key("time")
      out.append(UInt8(ascii: "\""))
      Timestamp.write(milliseconds: sibling.timestamp, to: &out)
      out.append(UInt8(ascii: "\""))
      if conflict.kind != .delete {
        comma()
        key("value")
        CanonicalJSON.write(sibling.value ?? .null, to: &out)
      }
      out.append(UInt8(ascii: "}"))
    }
    out.append(contentsOf: [UInt8(ascii: "]"), UInt8(ascii: "}")])
  }
}

/// Formats wall-clock times without locale or time zone: always UTC.
public enum Timestamp {
  /// `2026-11-21T10:15:00.000Z` for milliseconds since 1970.
  public static func iso8601(milliseconds: Int64) -> String {
    var out: [UInt8] = []
    write(milliseconds: milliseconds, to: &out)
    return String(decoding: out, as: UTF8.self)
  }

  /// Appends ``iso8601(milliseconds:)``'s text as UTF-8, without making strings.
  static func write(milliseconds: Int64, to out: inout [UInt8]) {
    let millisecondsPerDay: Int64 = 86_400_000
    var days = milliseconds / millisecondsPerDay
    var rest = milliseconds % millisecondsPerDay
    if rest < 0 {
      rest += millisecondsPerDay
      days -= 1
    }
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let dayOfEra = z - era * 146_097
    let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
    let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
    let monthPrime = (5 * dayOfYear + 2) / 153
    let day = dayOfYear - (153 * monthPrime + 2) / 5 + 1
    let month = monthPrime < 10 ? monthPrime + 3 : monthPrime - 9
    let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
    /// The decimal digits (a minus sign counts as one), zeros in front up to `width`.
    func pad(_ value: Int64, _ width: Int) {
      var digits: [UInt8] = []
      var rest = value.magnitude
      repeat {
        digits.append(UInt8(ascii: "0") + UInt8(rest % 10))
        rest /= 10
      } while rest > 0
      if value < 0 { digits.append(UInt8(ascii: "-")) }
      for _ in digits.count..<max(width, digits.count) { out.append(UInt8(ascii: "0")) }
      out.append(contentsOf: digits.reversed())
    }
    let hours = rest / 3_600_000, minutes = rest / 60_000 % 60, seconds = rest / 1000 % 60, millis = rest % 1000
    pad(year, 4)
    out.append(UInt8(ascii: "-"))
    pad(month, 2)
    out.append(UInt8(ascii: "-"))
    pad(day, 2)
    out.append(UInt8(ascii: "T"))
    pad(hours, 2)
    out.append(UInt8(ascii: ":"))
    pad(minutes, 2)
    out.append(UInt8(ascii: ":"))
    pad(seconds, 2)
    out.append(UInt8(ascii: "."))
    pad(millis, 3)
    out.append(UInt8(ascii: "Z"))
  }

}
