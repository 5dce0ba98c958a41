import Crypto
import Foundation
import GRDB
import Samhand
import SamhandTestSupport

/// What bounds the import of a round, measured without Samhand's logic:
/// the SQL statements the merge must run per edit with the store's tables
/// (through GRDB, in one transaction per changeset), bare inserts into the
/// same table, zlib's inflate and Ed25519 verification.
///
/// `samhand-bench bounds [--edits 12000] [--records 2600] [--changesets 12]`
func boundsBenchmark(_ arguments: [String]) throws {
  var edits = 12_000, records = 2_600, changesets = 12
  var options = BenchOptions("bounds", arguments)
  while let argument = options.next() {
    switch argument {
    case "--edits": edits = options.number(argument)
    case "--records": records = options.number(argument)
    case "--changesets": changesets = options.number(argument)
    default: options.fail("unknown option \(argument) (use --edits --records --changesets)")
    }
  }
  let directory = TemporaryDirectory("bench-bounds")
  var configuration = Configuration()
  configuration.prepareDatabase { db in
    try db.execute(sql: "PRAGMA journal_mode = WAL")
    try db.execute(sql: "PRAGMA synchronous = NORMAL")
  }
  let queue = try DatabaseQueue(path: directory.path("bounds.sqlite").path, configuration: configuration)
  // The store's own tables, and one more for bare inserts.
  try queue.write { db in
    try Store.createTables(db)
    // Shaped as `entries`, for inserts with nothing else to do.
    try db.execute(
      sql: """
        CREATE TABLE bare(
          collection TEXT NOT NULL, record TEXT NOT NULL, field TEXT NOT NULL,
          key TEXT NOT NULL, author TEXT NOT NULL, counter INTEGER NOT NULL,
          lamport INTEGER NOT NULL, value BLOB, shadow INTEGER NOT NULL DEFAULT 0,
          PRIMARY KEY(collection, record, field, key, author, counter)) WITHOUT ROWID
        """)
  }
  let fields = ["person", "email", "organisation", "network", "role", "from", "to", "notes"]
  let value = Data("Gruppen har ansvar for faglig opplegg innenfor sin plantype.".utf8)
  try queue.write { db in
    let entry = try db.makeStatement(sql: "INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)")
    let marker = try db.makeStatement(sql: "INSERT INTO markers VALUES (?, ?, ?, ?, ?, 0, NULL)")
    for index in 0..<records {
      for field in fields { try entry.execute(arguments: ["cases", "sak-\(index)", field, "", "ks", 1, 1, value]) }
      try marker.execute(arguments: ["cases", "sak-\(index)", "ks", 1, 1])
    }
  }
  var random = SeededRandom(seed: 7)
  let offices = Office.cooperation.map(\.slug.rawValue)
  let perChangeset = max(1, edits / changesets)

  // The statements the merge runs per edit and per record, in one
  // transaction per changeset: supersede, insert, replace the marker, touch.
  func merge(inOneTransaction: Bool) throws {
    func apply(_ changeset: Int, _ db: Database) throws {
      let author = offices[changeset % offices.count]
        let supersede = try db.makeStatement(
          sql: "DELETE FROM entries WHERE collection = ? AND record = ? AND field = ? AND key = ? AND counter <= ?")
        let insert = try db.makeStatement(sql: "INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)")
        let seen = try db.makeStatement(sql: "DELETE FROM markers WHERE collection = ? AND record = ? AND counter <= ?")
        let marker = try db.makeStatement(sql: "INSERT OR REPLACE INTO markers VALUES (?, ?, ?, ?, ?, 0, NULL)")
        let touch = try db.makeStatement(sql: "INSERT OR IGNORE INTO touches VALUES (?, ?, ?, ?)")
        for _ in 0..<perChangeset {
          let record = "sak-\(random.int(0..<records))", field = random.pick(fields)
          try supersede.execute(arguments: ["cases", record, field, "", 1_000_000])
          try insert.execute(arguments: ["cases", record, field, "", author, changeset + 2, changeset + 2, value])
          try seen.execute(arguments: ["cases", record, 1_000_000])
          try marker.execute(arguments: ["cases", record, author, changeset + 2, changeset + 2])
          try touch.execute(arguments: ["cases", record, author, changeset + 2])
        }
    }
    if inOneTransaction {
      try queue.write { db in for changeset in 0..<changesets { try apply(changeset, db) } }
    } else {
      for changeset in 0..<changesets { try queue.write { db in try apply(changeset, db) } }
    }
  }
  let mergeSeconds = try seconds { try merge(inOneTransaction: false) }
  let batchedSeconds = try seconds { try merge(inOneTransaction: true) }
  let bareSeconds = try seconds {
    try queue.write { db in
      let insert = try db.makeStatement(sql: "INSERT INTO bare VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)")
      for index in 0..<(perChangeset * changesets) {
        try insert.execute(arguments: ["cases", "sak-\(index % records)", fields[index % fields.count], "\(index)", "ks", index, index, value])
      }
    }
  }

  // zlib's inflate and Ed25519, on what a round's changesets hold.
  let source = try Store.create(at: directory.path("source"), replica: "ks", storeID: .random(), schema: .planning)
  let file = try source.changesetBytes(
    source.transact { tx in
      for index in 0..<perChangeset {
        try tx.set("cases", "sak-\(index % records)", "notes", .text("Notat \(index): Gruppen har ansvar for faglig opplegg."))
      }
    }!.id)!
  let decodeSeconds = try seconds { for _ in 0..<changesets { _ = try ChangesetFile.decode(file) } }
  let key = Curve25519.Signing.PrivateKey()
  let signature = try key.signature(for: Data(file))
  let verifySeconds = seconds {
    for _ in 0..<changesets { precondition(key.publicKey.isValidSignature(signature, for: Data(file))) }
  }

  let total = perChangeset * changesets
  print("\(total) edits in \(changesets) changesets on \(records) records of 8 fields:")
  print(String(format: "  merge statements (5 per edit, GRDB)  %8.1f ms  %5.2f µs per edit", mergeSeconds * 1000, mergeSeconds / Double(total) * 1e6))
  print(String(format: "  the same, all in one transaction      %8.1f ms  %5.2f µs per edit", batchedSeconds * 1000, batchedSeconds / Double(total) * 1e6))
  print(String(format: "  bare inserts into one table          %8.1f ms  %5.2f µs per row", bareSeconds * 1000, bareSeconds / Double(total) * 1e6))
  print(String(format: "  decode (inflate, check, parse)       %8.1f ms  (%d bytes per file)", decodeSeconds * 1000, file.count))
  print(String(format: "  Ed25519 verification                 %8.1f ms", verifySeconds * 1000))
}
