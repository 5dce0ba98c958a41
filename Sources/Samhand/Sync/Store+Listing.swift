import Foundation
import GRDB

/// A head as a sync uses it: whose, when, and its frontier in the stored
/// vector encoding (compared without decoding, `EncodedVector`).
struct HeadSummary {
  var office: ReplicaID
  var timestamp: Int64
  var frontier: [UInt8]

  init(office: ReplicaID, timestamp: Int64, frontier: [UInt8]) {
    self.office = office
    self.timestamp = timestamp
    self.frontier = frontier
  }

  init(_ head: Head) {
    self.init(office: head.office, timestamp: head.timestamp, frontier: [UInt8](Store.encodeVector(head.frontier)))
  }
}

/// The heads in a shared folder as a sync found them.
struct HeadReading {
  /// The heads that could be read, one per office.
  var heads: [HeadSummary] = []
  /// Head files that could not be read or are damaged, with the reason.
  var problems: [FolderProblem] = []
  /// Offices whose head file is there but was not read as a head.
  var damaged: Set<ReplicaID> = []
  /// Whether `heads/` could be listed at all.
  var listed = true

  /// Each office's head, by office.
  var byOffice: [ReplicaID: HeadSummary] {
    Dictionary(heads.map { ($0.office, $0) }, uniquingKeysWith: { first, _ in first })
  }
}

// A sync in a folder of hundreds of offices must not list hundreds of
// folders of thousands of files each time. So a sync reads the heads
// first (only those whose file changed since it last read them) and lists
// only the office folders where something may be new: its own; those
// whose folder changed since it last listed them (a file added, renamed or
// deleted changes a folder's time, and a WebDAV server's tag); those whose
// head says the office published more than the sync last found; those
// without a readable head; and those with files set aside, to retry them.
// Heads are hints, never state: a lying head can only delay what a folder
// change or the full listing brings in. A full listing is made at the
// first sync, after a new checkpoint appears, when `heads/` cannot be
// listed, and at least once a day. `Docs/FORMATS.md` §13 says the same.

extension Store {
  /// How long a sync may go on listing only some office folders before it
  /// lists them all once again.
  static let fullListingInterval: Int64 = 86_400_000

  static func createListingTables(_ db: Database) throws {
    try db.execute(
      sql: """
        -- The heads this replica last read, by the state of their files, so
        -- that an unchanged head is not read and parsed again.
        CREATE TABLE IF NOT EXISTS folder_heads(
          office TEXT PRIMARY KEY, size INTEGER NOT NULL, modified INTEGER NOT NULL, tag TEXT NOT NULL,
          frontier BLOB NOT NULL, hash TEXT NOT NULL, time INTEGER NOT NULL) WITHOUT ROWID;
        -- Each office folder as this replica last listed it, and the highest
        -- changeset number it found there.
        CREATE TABLE IF NOT EXISTS folder_offices(
          office TEXT PRIMARY KEY, size INTEGER NOT NULL, modified INTEGER NOT NULL, tag TEXT NOT NULL,
          listed_through INTEGER NOT NULL) WITHOUT ROWID;
        """)
  }

  /// The heads in `folder`, reading only those whose file changed since
  /// this replica last read them.
  func readHeads(_ folder: SharedFolder) -> HeadReading {
    var reading = HeadReading()
    let items: [ExchangeItem]
    do {
      items = try folder.exchange.list(SharedFolder.headsDirectory) ?? []
    } catch {
      let reason = (error as? SamhandError)?.message ?? "\(error)"
      reading.problems = [FolderProblem(path: SharedFolder.headsDirectory, reason: reason)]
      reading.listed = false
      return reading
    }
    // The newest head counted for each office, and its file's state then.
    var cached: [ReplicaID: (stamp: ExchangeItem.Stamp, head: HeadSummary)] = [:]
    var roster: Roster?
    var layout = SharedFolder.newestLayout(for: genesis)
    try? read { db in
      (roster, layout) = try headRules(db)
      // Heads counted before heads were signed are read again, once.
      let signedOnly = try Store.meta(db, "heads_signed") == "1"
      guard layout < 4 || roster == nil || signedOnly else { return }
      for row in try Row.fetchAll(db, sql: "SELECT office, size, modified, tag, frontier, time FROM folder_heads") {
        guard let office = ReplicaID(rawValue: row[0]) else { continue }
        cached[office] = (
          ExchangeItem.Stamp(size: row[1], modified: row[2], tag: row[3]),
          HeadSummary(office: office, timestamp: row[5], frontier: [UInt8](row[4] as Data))
        )
      }
    }
    var fresh: [(ExchangeItem.Stamp, Head)] = []
    var present = Set<ReplicaID>()
    for item in items.sorted(by: { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }) where item.name.hasSuffix(".json") {
      guard let office = ReplicaID(rawValue: String(item.name.dropLast(5))) else { continue }
      present.insert(office)
      if let known = cached[office], item.type == .regular, item.matches(known.stamp) {
        reading.heads.append(known.head)
        continue
      }
      // Not counted: the newest head counted before stays in force, and
      // the office's folder is listed (its head says nothing).
      func ignore(_ reason: String) {
        reading.problems.append(FolderProblem(path: "heads/\(item.name)", reason: reason))
        reading.damaged.insert(office)
        if let known = cached[office] { reading.heads.append(known.head) }
      }
      let head: Head
      do {
        head = try folder.head(of: office)
      } catch {
        ignore((error as? SamhandError)?.message ?? "\(error)")
        continue
      }
      if let reason = Store.reasonToIgnore(head, roster: roster, layout: layout) {
        ignore("not counted: \(reason)")
        continue
      }
      if let known = cached[office], head.timestamp < known.head.timestamp {
        ignore(
          "not counted: older (\(Timestamp.iso8601(milliseconds: head.timestamp))) than the head of \(office) counted before (\(Timestamp.iso8601(milliseconds: known.head.timestamp))): an old copy put back")
        continue
      }
      reading.heads.append(HeadSummary(head))
      fresh.append((item.stamp, head))
    }
    // A head file that is gone leaves the last head counted in force.
    for (office, known) in cached where !present.contains(office) {
      reading.heads.append(known.head)
      reading.damaged.insert(office)
    }
    // Only a cache: a store that cannot be written still syncs.
    if !fresh.isEmpty {
      try? write(durable: false) { db in
        if layout >= 4, roster != nil, try Store.meta(db, "heads_signed") != "1" {
          try db.execute(sql: "DELETE FROM folder_heads")
          try Store.setMeta(db, "heads_signed", "1")
        }
        for (stamp, head) in fresh {
          try db.cachedStatement(
            sql: "INSERT OR REPLACE INTO folder_heads(office, size, modified, tag, frontier, hash, time) VALUES (?, ?, ?, ?, ?, ?, ?)"
          ).execute(arguments: [
            head.office.rawValue, stamp.size, stamp.modified, stamp.tag, Store.encodeVector(head.frontier), head.snapshotHash,
            head.timestamp,
          ])
        }
      }
    }
    return reading
  }

  /// Which office folders a sync lists: nil for all of them.
  func officesToList(heads: HeadReading, newestCheckpoint: String?, now: Date) throws
    -> ((ReplicaID, ExchangeItem) -> Bool)?
  {
    let nowMilliseconds = Int64(now.timeIntervalSince1970 * 1000)
    let (known, full, checkpointSeen, setAside) = try read { db in
      var known: [ReplicaID: (stamp: ExchangeItem.Stamp, through: UInt64)] = [:]
      for row in try Row.fetchAll(db, sql: "SELECT office, size, modified, tag, listed_through FROM folder_offices") {
        guard let office = ReplicaID(rawValue: row[0]) else { continue }
        known[office] = (ExchangeItem.Stamp(size: row[1], modified: row[2], tag: row[3]), UInt64(row[4] as Int64))
      }
      var setAside = Set<ReplicaID>()
      let prefix = SharedFolder.changesetsDirectory + "/"
      for path in try String.fetchAll(db, sql: "SELECT path FROM set_aside") where path.hasPrefix(prefix) {
        if let office = path.dropFirst(prefix.count).split(separator: "/").first.flatMap({ ReplicaID(rawValue: String($0)) }) {
          setAside.insert(office)
        }
      }
      return (
        known, try Store.meta(db, "full_listing").flatMap(Int64.init), try Store.meta(db, "checkpoint_seen"), setAside
      )
    }
    guard heads.listed, !known.isEmpty, let full, nowMilliseconds - full < Store.fullListingInterval,
      nowMilliseconds >= full, newestCheckpoint == nil || newestCheckpoint == checkpointSeen
    else { return nil }
    // What each office's head says it published (a damaged vector: unknown).
    var published: [ReplicaID: UInt64] = [:]
    for head in heads.heads { published[head.office] = (try? EncodedVector.counter(of: head.office, in: head.frontier)) ?? .max }
    let replica = self.replica
    return { office, item in
      guard office != replica, let last = known[office], item.matches(last.stamp), !setAside.contains(office),
        !heads.damaged.contains(office), let counter = published[office]
      else { return true }
      return counter > last.through
    }
  }

  /// Keeps what a sync's listing found, for the next sync to judge which
  /// office folders it need not list: each listed folder's state and the
  /// highest changeset number in it.
  /// A folder that could not be listed is forgotten, so that the next
  /// sync lists it; after a full listing, so are folders no longer there.
  static func recordListing(
    _ db: Database, listed: [ReplicaID: ExchangeItem?], entries: [SharedFolder.Entry], full: Bool, now: Date
  ) throws {
    var through: [ReplicaID: UInt64] = [:]
    for entry in entries {
      switch entry.kind {
      case .changeset(let sequence): through[entry.office] = max(through[entry.office] ?? 0, sequence)
      case .pack(let range): through[entry.office] = max(through[entry.office] ?? 0, range.upperBound)
      default: break
      }
    }
    if full { try db.execute(sql: "DELETE FROM folder_offices") }
    for (office, item) in listed {
      guard let item else {
        try db.execute(sql: "DELETE FROM folder_offices WHERE office = ?", arguments: [office.rawValue])
        continue
      }
      let stamp = item.stamp
      try db.cachedStatement(
        sql: "INSERT OR REPLACE INTO folder_offices(office, size, modified, tag, listed_through) VALUES (?, ?, ?, ?, ?)"
      ).execute(arguments: [office.rawValue, stamp.size, stamp.modified, stamp.tag, Int64(through[office] ?? 0)])
    }
    if full { try setMeta(db, "full_listing", String(Int64(now.timeIntervalSince1970 * 1000))) }
  }
}
