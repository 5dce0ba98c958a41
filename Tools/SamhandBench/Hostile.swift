import Foundation
import Samhand
import SamhandTestSupport

/// The attacks of someone who can write to the shared folder (issue 16),
/// run against the `samhand` executable: each sync's time and peak memory
/// (from `/usr/bin/time`), and whether the honest offices went on working.
///
///   swift build -c release --product samhand
///   swift run -c release samhand-bench hostile [--samhand .build/release/samhand]
struct HostileRun {
  var samhand = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(".build/release/samhand")
  let directory = TemporaryDirectory("bench-hostile")
  var failed = false

  struct Measured {
    var seconds: Double
    var megabytes: Double
    var output: String
    var status: Int32
  }

  /// Runs `samhand ARGUMENTS` under `/usr/bin/time`, in the work folder.
  func run(_ arguments: [String]) throws -> Measured {
    let run = try TimedProcess.run(samhand, arguments, in: directory.url)
    return Measured(seconds: run.seconds, megabytes: run.peakMemoryMB, output: run.stdout + run.stderr, status: run.status)
  }

  mutating func check(_ ok: Bool, _ what: String) {
    print("    \(ok ? "ok  " : "FAIL") \(what)")
    if !ok { failed = true }
  }

  func report(_ name: String, _ measured: Measured) {
    print("  " + name.padding(toLength: 58, withPad: " ", startingAt: 0)
      + String(format: " %6.2f s %7.1f MB (exit %d)", measured.seconds, measured.megabytes, measured.status))
  }

  var folder: SharedFolder { SharedFolder(directory.path("delt")) }

  /// KS founds the folder; Vestland joins and KS confirms its key; KDD has no key.
  mutating func setUp() throws {
    for arguments in [
      ["init", "--store", "ks", "--replica", "ks", "--folder", "delt"],
      ["init", "--store", "vestland", "--replica", "vestland", "--folder", "delt"],
      ["sync", "--store", "ks"],
    ] {
      let result = try run(arguments)
      guard result.status == 0 else { throw SamhandError(.io, "samhand \(arguments.joined(separator: " ")): \(result.output)") }
    }
    let key = try Store.open(at: directory.path("vestland")).publicKey()
    for arguments in [
      ["roster", "confirm", "--store", "ks", "vestland", "--key", key.hex],
      ["set", "--store", "ks", "projects", "p-1", "name=Veilederkorpset", "lead=ks", "participants+=vestland"],
      ["sync", "--store", "ks"], ["sync", "--store", "vestland"],
    ] {
      let result = try run(arguments)
      guard result.status == 0 else { throw SamhandError(.io, "samhand \(arguments.joined(separator: " ")): \(result.output)") }
    }
  }

  func forge(_ office: ReplicaID, _ sequence: UInt64, _ edits: [Edit], key: SigningKey = .generate()) throws -> URL {
    let ks = try Store.open(at: directory.path("ks"))
    var dependencies = try ks.frontier()
    dependencies[office] = sequence - 1
    let changeset = Changeset(
      storeID: ks.storeID, author: office, sequence: sequence, dependencies: dependencies, lamport: 10_000 + sequence,
      timestamp: 1_780_300_800_000, edits: edits)
    let url = folder.changesetURL(changeset.id)
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    try Data(ChangesetFile.encode(changeset, signedBy: key)).write(to: url)
    return url
  }

  func record(_ store: String, _ collection: String, _ id: String) throws -> Record? {
    try Store.open(at: directory.path(store)).record(collection, id)
  }

  mutating func runAll() throws {
    try setUp()
    print("Attacks on a shared folder, against \(samhand.path):")

    print("1. a file signed with a fresh key as kdd#1 (KDD, an administrator, has no key): rewrites a project, retires Vestland")
    _ = try forge(
      "kdd", 1,
      [
        .set(RecordRef("projects", "p-1"), field: "name", value: .text("Kapret")),
        .set(RecordRef("_roster", "vestland"), field: "status", value: .text("retired")),
      ])
    for office in ["vestland", "ks"] { report("sync --store \(office)", try run(["sync", "--store", office])) }
    check(try record("vestland", "projects", "p-1")?.fields["name"] == .value(.text("Veilederkorpset")), "the project is unchanged")
    check(try Store.open(at: directory.path("ks")).roster()?.members["vestland"]?.isRetired == false, "Vestland is not retired")
    _ = try run(["set", "--store", "vestland", "membership", "m-v", "organisation=vestland", "person=Kari Fjord"])
    report("sync --store vestland (publishes its write)", try run(["sync", "--store", "vestland"]))
    _ = try run(["sync", "--store", "ks"])
    check(try record("ks", "membership", "m-v") != nil, "Vestland's write reaches KS")
    check(try run(["status", "--store", "ks"]).output.contains("changesets/kdd/000000000001.changeset"), "status names the file")

    print("2. a file signed with a random key, named as KS's next number")
    let next = try Store.open(at: directory.path("ks")).frontier()["ks"] + 1
    _ = try forge("ks", next, [.set(RecordRef("projects", "p-1"), field: "name", value: .text("Kapret"))])
    _ = try run(["set", "--store", "ks", "projects", "p-1", "status=aktiv"])
    let published = try run(["sync", "--store", "ks"])
    report("sync --store ks", published)
    check(published.status == 0 && !published.output.contains("publishing is stopped"), "KS publishes")
    _ = try run(["sync", "--store", "vestland"])
    check(try record("vestland", "projects", "p-1")?.fields["status"] == .value(.text("aktiv")), "Vestland receives KS's write")
    check(try record("vestland", "projects", "p-1")?.fields["name"] == .value(.text("Veilederkorpset")), "and not the forged one")

    print("3. sparse files named as changesets: 1 GiB, then 4 GiB")
    for size in [UInt64(1) << 30, UInt64(4) << 30] {
      let url = folder.changesetURL(Changeset.ID(author: "vestland", sequence: 900 + (size >> 30)))
      _ = FileManager.default.createFile(atPath: url.path, contents: nil)
      let handle = try FileHandle(forWritingTo: url)
      try handle.truncate(atOffset: size)
      try handle.close()
      let synced = try run(["sync", "--store", "ks"])
      report("sync --store ks (\(size >> 30) GiB file)", synced)
      check(synced.status == 0 && synced.megabytes < 300, "the sync works, under 300 MB")
      report("verify --folder delt", try run(["verify", "--folder", "delt"]))
      report("snapshot --folder delt", try run(["snapshot", "--folder", "delt", "--format", "json", "--out", "folder.json"]))
      try FileManager.default.removeItem(at: url)
    }
    _ = try run(["sync", "--store", "ks"])

    print("4. compression bombs")
    // Unsigned, a name of 256 MiB in a file of some 260 KB.
    let huge = String(repeating: "a", count: 256 << 20)
    var unsigned = Changeset(
      storeID: try Store.open(at: directory.path("ks")).storeID, author: "vestland", sequence: 500,
      dependencies: VersionVector(["vestland": 499]), lamport: 1, timestamp: 0,
      edits: [.set(RecordRef("projects", "p-1"), field: "name", value: .text(huge))])
    unsigned.signatures = []
    let bomb = folder.changesetURL(unsigned.id)
    let bombBytes = ChangesetFile.encode(unsigned)
    try Data(bombBytes).write(to: bomb)
    let unsignedSync = try run(["sync", "--store", "ks"])
    report("sync --store ks (unsigned, \(bombBytes.count / 1024) KB, says 256 MiB)", unsignedSync)
    check(unsignedSync.megabytes < 300, "under 300 MB")
    try FileManager.default.removeItem(at: bomb)
    // Signed by the member Vestland itself: the payload limit refuses 256 MiB before inflating.
    let vestland = try Store.open(at: directory.path("vestland"))
    let sequence = try vestland.frontier()["vestland"] + 1
    let member = try forge(
      "vestland", sequence, [.set(RecordRef("projects", "p-1"), field: "name", value: .text(huge))],
      key: try vestland.exportSigningKey())
    let memberSync = try run(["sync", "--store", "ks"])
    report("sync --store ks (signed by Vestland, says 256 MiB)", memberSync)
    check(memberSync.megabytes < 300, "under 300 MB")
    check(try record("ks", "projects", "p-1")?.fields["name"] == .value(.text("Veilederkorpset")), "nothing stored")
    let storeBytes = (try? FileManager.default.attributesOfItem(atPath: directory.path("ks/replica.sqlite").path)[.size] as? Int) ?? 0
    print(String(format: "    KS's store is %.1f MB", Double(storeBytes) / 1e6))
    try FileManager.default.removeItem(at: member)
    // The worst a member can still send: 60 MiB of payload, rejected after inflating (texts of 1 MiB are within the
    // limit, but one record may take only 4 MiB per changeset).
    let text = String(repeating: "b", count: 1 << 20)
    var edits: [Edit] = []
    for index in 0..<60 { edits.append(.set(RecordRef("cases", "sak-\(index / 3)"), field: ["title", "notes", "kommune"][index % 3], value: .text(text))) }
    edits.append(.set(RecordRef("cases", "sak-0"), field: "plan_type", value: .text(text)))
    edits.append(.set(RecordRef("cases", "sak-0"), field: "status", value: .text(text)))
    let worst = try forge("vestland", sequence + 1, edits, key: try vestland.exportSigningKey())
    let worstSync = try run(["sync", "--store", "ks"])
    let worstSize = (try? FileManager.default.attributesOfItem(atPath: worst.path)[.size] as? Int) ?? 0
    report("sync --store ks (signed, \(worstSize / 1024) KB, 62 MiB payload)", worstSync)
    check(worstSync.megabytes < 300, "under 300 MB")
    check(try record("ks", "cases", "sak-0") == nil, "rejected: one record over 4 MiB")
  }
}

func hostileBenchmark(_ arguments: [String]) throws {
  var run = HostileRun()
  var options = BenchOptions("hostile", arguments)
  while let argument = options.next() {
    switch argument {
    case "--samhand":
      guard let path = options.next() else { options.fail("--samhand needs a path") }
      run.samhand = URL(fileURLWithPath: path).standardizedFileURL
    default: options.fail("unknown option \(argument) (use --samhand PATH)")
    }
  }
  guard FileManager.default.isExecutableFile(atPath: run.samhand.path) else {
    options.fail("no samhand executable at \(run.samhand.path): build it with 'swift build -c release --product samhand'")
  }
  try run.runAll()
  if run.failed { exit(1) }
}
