import Crypto
import Foundation
import GRDB
import Samhand
import SamhandTestSupport

/// What bounds the import of a round, and how close the store comes to it:
/// one office imports a round of the workload (every other office's
/// changeset of `edits` field writes) through `Store.sync`, and the same
/// number of bare inserts, one row per write in one transaction, runs in
/// the same process; then zlib's inflate and Ed25519 verification on what
/// such a round holds.
///
/// `samhand-bench bounds [--offices 13] [--edits 1000] [--records 2600] [--runs 3]`
func boundsBenchmark(_ arguments: [String]) throws {
  var offices = 13, edits = 1_000, records = 2_600, runs = 3
  var options = BenchOptions("bounds", arguments)
  while let argument = options.next() {
    switch argument {
    case "--offices": offices = options.number(argument)
    case "--edits": edits = options.number(argument)
    case "--records": records = options.number(argument)
    case "--runs": runs = options.number(argument)
    default: options.fail("unknown option \(argument) (use --offices --edits --records --runs)")
    }
  }
  guard offices >= 2 else { options.fail("--offices needs at least 2") }

  // The import: a round of every office but the importer, synced by it.
  let cluster = try OfficeCluster(offices: offices, seed: 7)
  let third = max(1, records / 3)
  _ = try cluster.seedRecords(membership: third, cases: third, projects: records - 2 * third)
  for office in cluster.names { try cluster.stores[office]!.sync(with: cluster.folder) }
  var imports: [Double] = [], writes = 0
  var phases: [ImportProfile.Phase: Double] = [:]
  for run in 1...runs {
    for office in cluster.names where office != cluster.importer {
      try cluster.editRound(office, round: run, edits: edits, setsOnly: true)
      try cluster.stores[office]!.sync(with: cluster.folder)
    }
    let timed = try cluster.timedSync(cluster.importer)
    imports.append(timed.seconds)
    writes = timed.imported * edits
    for (phase, seconds) in timed.phases { phases[phase, default: 0] += seconds / Double(runs) }
    for office in cluster.names where office != cluster.importer { try cluster.stores[office]!.sync(with: cluster.folder) }
  }

  // Bare inserts: as many rows as the round wrote, shaped like one field write.
  let directory = TemporaryDirectory("bench-bounds")
  var configuration = Configuration()
  configuration.prepareDatabase { db in
    try db.execute(sql: "PRAGMA journal_mode = WAL")
    try db.execute(sql: "PRAGMA synchronous = NORMAL")
  }
  let queue = try DatabaseQueue(path: directory.path("bounds.sqlite").path, configuration: configuration)
  try queue.write { db in
    try db.execute(
      sql: """
        CREATE TABLE bare(
          collection TEXT NOT NULL, record TEXT NOT NULL, field TEXT NOT NULL,
          key TEXT NOT NULL, author TEXT NOT NULL, counter INTEGER NOT NULL,
          lamport INTEGER NOT NULL, value BLOB,
          PRIMARY KEY(collection, record, field, key, author, counter)) WITHOUT ROWID
        """)
  }
  let fields = ["person", "email", "organisation", "network", "role", "from", "to", "notes"]
  let value = Data("Gruppen har ansvar for faglig opplegg innenfor sin plantype.".utf8)
  var bares: [Double] = []
  for run in 0..<runs {
    bares.append(
      try seconds {
        try queue.write { db in
          let insert = try db.makeStatement(sql: "INSERT INTO bare VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
          for index in 0..<writes {
            try insert.execute(
              arguments: ["cases", "sak-\(index % records)", fields[index % fields.count], "\(run)", "ks", index, index, value])
          }
        }
      })
  }

  // zlib's inflate and Ed25519, on one changeset of a round (the median
  // size: KS's seed is larger), once per office.
  let files = cluster.changesetFiles().sorted { $0.count < $1.count }
  let file = files[files.count / 2]
  let changesets = offices - 1
  let decodeSeconds = try seconds { for _ in 0..<changesets { _ = try ChangesetFile.decode(file) } }
  let key = Curve25519.Signing.PrivateKey()
  let signature = try key.signature(for: Data(file))
  let verifySeconds = seconds {
    for _ in 0..<changesets { precondition(key.publicKey.isValidSignature(signature, for: Data(file))) }
  }

  let importSeconds = median(imports), bareSeconds = median(bares)
  print("\(cluster.importer) imports a round: \(changesets) changesets of \(edits) field writes on \(records) records (medians of \(runs)):")
  print(String(format: "  import through Store.sync             %8.1f ms  %5.2f µs per write", importSeconds * 1000, importSeconds / Double(writes) * 1e6))
  for phase in ImportProfile.Phase.allCases where (phases[phase] ?? 0) > 0.0001 {
    print("    " + phase.name.padding(toLength: 34, withPad: " ", startingAt: 0) + String(format: "%8.1f ms", phases[phase]! * 1000))
  }
  print(String(format: "  bare inserts, one row per write       %8.1f ms  %5.2f µs per row", bareSeconds * 1000, bareSeconds / Double(writes) * 1e6))
  print(String(format: "  imported writes per second / bare inserts per second: %.2f (target at least 0.33)", bareSeconds / importSeconds))
  print(String(format: "  decode (inflate, check, parse)        %8.1f ms  (%d changesets of %d bytes)", decodeSeconds * 1000, changesets, file.count))
  print(String(format: "  Ed25519 verification                  %8.1f ms", verifySeconds * 1000))
}
