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
      ("conflicts", .array(conflicts.map(Snapshot.node))),
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
    if let base { try replay.write { db in try replay.loadState(of: try Checkpoint(bytes: base.bytes), db) } }
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

  static func node(_ conflict: Conflict) -> CanonicalJSON.Node {
    var fields: [(String, CanonicalJSON.Node)] = [
      ("kind", .string(conflict.kind.rawValue)),
      ("collection", .string(conflict.collection)),
      ("record", .string(conflict.recordID)),
    ]
    if let field = conflict.field { fields.append(("field", .string(field))) }
    if let key = conflict.key { fields.append(("key", .string(key))) }
    fields.append(
      (
        "siblings",
        .array(
          conflict.siblings.map { sibling in
            var body: [(String, CanonicalJSON.Node)] = [
              ("author", .string(sibling.author.rawValue)),
              ("sequence", .unsigned(sibling.sequence)),
              ("lamport", .unsigned(sibling.lamport)),
              ("time", .string(Timestamp.iso8601(milliseconds: sibling.timestamp))),
            ]
            if conflict.kind == .delete {
              body.append(("deleted", .bool(sibling.deleted)))
            } else {
              body.append(("value", CanonicalJSON.node(sibling.value ?? .null)))
            }
            return .object(body)
          })
      ))
    return .object(fields)
  }
}

/// Formats wall-clock times without locale or time zone: always UTC.
public enum Timestamp {
  /// `2026-11-21T10:15:00.000Z` for milliseconds since 1970.
  public static func iso8601(milliseconds: Int64) -> String {
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
    func pad(_ value: Int64, _ width: Int) -> String {
      let digits = String(value)
      return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
    let hours = rest / 3_600_000, minutes = rest / 60_000 % 60, seconds = rest / 1000 % 60, millis = rest % 1000
    return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(hours, 2)):\(pad(minutes, 2)):\(pad(seconds, 2)).\(pad(millis, 3))Z"
  }
}
