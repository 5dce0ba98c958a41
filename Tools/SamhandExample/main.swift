// An example program that embeds Samhand the way a county's case system or
// a reporting job would, through the public API only.
//
//   swift run samhand-example
//
// Two offices, Vestland fylkeskommune and KS, keep their own replicas and
// replicate through a shared folder (here a temporary folder; in practice an
// SMB share, a OneDrive or Dropbox folder, a Syncthing folder). They write
// records, sync, edit one field concurrently, look at the conflict, resolve
// it, and check that both replicas hold the same state. Then a reporting job
// writes a snapshot as JSON and CSV. The people are invented.
//
// The program prints what happens and exits with status 1 if anything is not
// as expected, so CI can run it.
import Foundation
import Samhand

/// A check that failed: the program stops and exits non-zero.
struct ExampleFailure: Error, CustomStringConvertible {
  var description: String
}

/// Stops the example when `condition` does not hold.
func expect(_ condition: Bool, _ message: @autoclosure () -> String) throws {
  if !condition { throw ExampleFailure(description: message()) }
}

func say(_ line: String) { print(line) }

/// A field's shown value as text, for narration.
func shown(_ field: FieldValue?) -> String {
  switch field {
  case nil: "(absent)"
  case .value(let value)?: value.description
  case .set(let elements)?: "{" + elements.joined(separator: ", ") + "}"
  case .map(let map)?:
    "{" + map.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "}"
  }
}

func run(in workspace: URL) async throws {
  let folder = SharedFolder(workspace.appendingPathComponent("delt"))

  // MARK: Two offices, one shared folder

  // The first office creates the shared folder with the schema; the others join it.
  let vestland = try Store.create(
    folder: folder, at: workspace.appendingPathComponent("vestland"), replica: "vestland", schema: .planning)
  let (ks, _) = try Store.join(folder: folder, at: workspace.appendingPathComponent("ks"), replica: "ks")
  // KS claimed its key when it joined; Vestland, which founded the folder
  // and so administers its roster, confirms it once the two offices have
  // compared the fingerprint by phone. Until then Vestland would keep what
  // KS writes without applying it.
  try vestland.confirmKey(try ks.publicKey(), of: "ks")
  say("1. Vestland created the shared folder; KS joined it and Vestland confirmed KS's key \(try ks.publicKey().fingerprint) (store \(vestland.storeID)).")

  // MARK: Writing records

  // Each transaction commits atomically and becomes one changeset.
  try vestland.transact { tx in
    try tx.set("membership", "m-vestland-1", "person", .text("Ingrid Eksempel"))
    try tx.set("membership", "m-vestland-1", "email", .text("ingrid.eksempel@example.no"))
    try tx.set("membership", "m-vestland-1", "organisation", .text("vestland"))
    try tx.set("membership", "m-vestland-1", "network", .text("veilederkorpset"))
    try tx.set("membership", "m-vestland-1", "role", .text("planveileder"))
    try tx.add("membership", "m-vestland-1", "groups", "kommuneplanens-arealdel")
    try tx.set("membership", "m-vestland-1", "from", .date(Day(year: 2025, month: 1, day: 1)!))

    try tx.set("cases", "sak-2025-014", "title", .text("Felles løft for samfunnsdelen"))
    try tx.set("cases", "sak-2025-014", "kommune", .text("Eksempelvik"))
    try tx.set("cases", "sak-2025-014", "plan_type", .text("kommuneplanens-samfunnsdel"))
    try tx.set("cases", "sak-2025-014", "status", .text("ny"))
    try tx.set("cases", "sak-2025-014", "owner", .text("vestland"))
    try tx.add("cases", "sak-2025-014", "participants", "vestland")
    try tx.set("cases", "sak-2025-014", "deadline", .text("2025-06-15"))  // a date field reads YYYY-MM-DD

    try tx.set("projects", "veilederkorpset", "name", .text("Veilederkorpset 2025–2029"))
    try tx.set("projects", "veilederkorpset", "lead", .text("ks"))
    try tx.add("projects", "veilederkorpset", "participants", "vestland")
    try tx.put("projects", "veilederkorpset", "funding", key: "vestland", .integer(300_000))
  }
  try ks.transact { tx in
    try tx.add("projects", "veilederkorpset", "participants", "ks")
    try tx.put("projects", "veilederkorpset", "funding", key: "ks", .integer(250_000))
    try tx.add("cases", "sak-2025-014", "participants", "ks")
  }
  say("2. Vestland wrote a member, a case and a project; KS, offline, joined the same project and case.")

  // The schema is checked as the writes are made; a failing body commits nothing.
  do {
    try ks.transact { tx in
      try tx.set("projects", "veilederkorpset", "budget", .integer(1))
    }
    throw ExampleFailure(description: "a write to an unknown field was accepted")
  } catch SamhandError.schemaViolation {
    try expect(try ks.outbox().count == 1, "the refused transaction should have committed nothing")
    say("   A write to an unknown field is refused (schema-violation) and commits nothing.")
  }

  // MARK: Syncing

  // Sync publishes a replica's outbox and imports what the others wrote. The
  // async form runs off the caller's task and can be cancelled between
  // changesets; a plain `try store.sync(with:)` blocks instead.
  try await vestland.sync(with: folder)
  try await ks.sync(with: folder)
  try await vestland.sync(with: folder)
  let project = try ks.record("projects", "veilederkorpset")
  try expect(project?.conflicts.isEmpty == true, "the project should have merged without conflict")
  try expect(
    project?.fields["participants"] == .set(["ks", "vestland"]),
    "both offices should take part, got \(shown(project?.fields["participants"]))")
  say("3. After syncing, both replicas hold both offices' writes; sets and maps merged without conflict:")
  say("   participants \(shown(project?.fields["participants"])), funding \(shown(project?.fields["funding"]))")

  // MARK: A concurrent edit

  // Both offices change the project's status before seeing each other's edit.
  try vestland.transact { try $0.set("projects", "veilederkorpset", "status", .text("aktiv")) }
  try ks.transact { try $0.set("projects", "veilederkorpset", "status", .text("planlagt")) }
  try await vestland.sync(with: folder)
  try await ks.sync(with: folder)
  // An application subscribes to changes to refresh what it shows.
  let changes = vestland.changes()
  try await vestland.sync(with: folder)
  var notifications = changes.makeAsyncIterator()
  let change = await notifications.next()
  try expect(
    change?.origin == .sync && change?.conflictsOpened.count == 1,
    "vestland's sync should report one conflict opened, got \(String(describing: change))")

  for (name, store) in [("vestland", vestland), ("ks", ks)] {
    let conflicts = try store.conflicts()
    try expect(conflicts.count == 1, "\(name) should see one conflict, sees \(conflicts.count)")
    try expect(conflicts[0].field == "status" && conflicts[0].siblings.count == 2, "\(name): unexpected conflict")
  }
  let conflict = try vestland.conflicts()[0]
  try expect(
    try ks.conflicts() == [conflict], "both replicas should list the same conflict, in the same order")
  say("4. Both offices set the project's status offline. Vestland's sync reported a conflict opened on")
  say("   \(conflict.ref) field \(conflict.field ?? ""), kept for review on both replicas:")
  for (index, sibling) in conflict.siblings.enumerated() {
    let value = sibling.value.map(\.description) ?? "(deleted)"
    say("   \(sibling.author) wrote \"\(value)\"\(index == 0 ? " (shown while open)" : "")")
  }

  // MARK: Resolving

  // A resolution is an ordinary write that has seen every sibling.
  try ks.resolve("projects", "veilederkorpset", field: "status", pick: "vestland")
  try await ks.sync(with: folder)
  try await vestland.sync(with: folder)
  try expect(try vestland.conflicts().isEmpty && ks.conflicts().isEmpty, "the conflict should be closed everywhere")
  let status = try vestland.record("projects", "veilederkorpset")?.fields["status"]
  try expect(status == .value(.text("aktiv")), "the status should be vestland's, got \(shown(status))")
  say("5. KS resolved it by taking Vestland's value; after syncing, the status is \"aktiv\" on both replicas.")

  // MARK: Same state everywhere

  let vestlandSnapshot = try vestland.snapshot()
  let ksSnapshot = try ks.snapshot()
  let folderSnapshot = try folder.snapshot()  // read from the folder alone, as a reporting job can
  try expect(vestlandSnapshot.frontier == ksSnapshot.frontier, "the replicas should stand at the same frontier")
  try expect(vestlandSnapshot.sha256 == ksSnapshot.sha256, "the replicas' snapshots should be identical")
  try expect(folderSnapshot.bytes == ksSnapshot.bytes, "the folder's snapshot should equal the replicas'")
  let heads = folder.heads()
  try expect(heads.problems.isEmpty && heads.heads.count == 2, "both offices should have a readable head")
  try expect(SharedFolder.divergentHeads(heads.heads).isEmpty, "no two heads may disagree at one frontier")
  try expect(folder.verify().isSound, "the shared folder should verify: \(folder.verify().problems)")
  say("6. Both replicas and the folder agree at frontier \(ksSnapshot.frontier):")
  say("   snapshot SHA-256 \(ksSnapshot.sha256)")

  // MARK: Reporting

  let reports = workspace.appendingPathComponent("rapport")
  try FileManager.default.createDirectory(at: reports, withIntermediateDirectories: true)
  let jsonFile = reports.appendingPathComponent("snapshot.json")
  try folderSnapshot.bytes.write(to: jsonFile)
  try folderSnapshot.writeCSV(to: reports, delimiter: ";")  // `;` for Norwegian spreadsheets
  let written = try FileManager.default.contentsOfDirectory(atPath: reports.path).sorted()
  try expect(
    written == [
      "cases.csv", "conflicts.csv", "frontier.csv", "membership.csv", "projects.csv", "projects_funding.csv",
      "snapshot.json",
    ],
    "unexpected report files: \(written)")
  let fundingCSV = String(
    decoding: try Data(contentsOf: reports.appendingPathComponent("projects_funding.csv")), as: UTF8.self)
  try expect(
    fundingCSV.contains("veilederkorpset;ks;250000\r\n") && fundingCSV.contains("veilederkorpset;vestland;300000\r\n"),
    "projects_funding.csv should hold one row per pledge")
  let projectsCSV = String(decoding: try Data(contentsOf: reports.appendingPathComponent("projects.csv")), as: UTF8.self)
  try expect(projectsCSV.contains("ks|vestland"), "projects.csv should list both participants")
  say("7. A reporting job wrote the snapshot as JSON and CSV: \(written.joined(separator: ", ")).")
  say("   projects.csv:")
  for line in projectsCSV.split(separator: "\r\n") {
    say("   " + line.replacingOccurrences(of: "\u{FEFF}", with: ""))
  }
}

// MARK: - Main

let workspace = FileManager.default.temporaryDirectory
  .appendingPathComponent("samhand-example-\(UUID().uuidString.prefix(8).lowercased())")
// The example takes well under a second; a hang (say, a change notification
// that never comes) must not stall CI.
Task.detached { [workspace] in
  try await Task.sleep(for: .seconds(60))
  FileHandle.standardError.write(Data("samhand-example: timed out after 60 s\n".utf8))
  try? FileManager.default.removeItem(at: workspace)
  exit(1)
}
var succeeded = false
do {
  try await run(in: workspace)
  succeeded = true
} catch let error as SamhandError {
  FileHandle.standardError.write(Data("samhand-example: Samhand error \(error.code): \(error)\n".utf8))
} catch {
  FileHandle.standardError.write(Data("samhand-example: check failed: \(error)\n".utf8))
}
try? FileManager.default.removeItem(at: workspace)
if succeeded {
  print("Done: every check passed; temporary files removed.")
} else {
  exit(1)
}
