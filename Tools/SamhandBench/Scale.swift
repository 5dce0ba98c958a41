import Foundation
import Samhand
import SamhandTestSupport

/// Every kommune on one folder (issue 18): hundreds of offices, measured in
/// full. Three offices are real replicas that apply everything: KS (which
/// creates the records), KDD and the importer (a kommune, the last to sync
/// each round, so its sync imports the round of every other office). The
/// others are writers, as in `samhand-decade`: each round each signs one
/// changeset with its own key and drops it into the folder as a replica that
/// synced at the start of the round would (its dependencies are everything
/// published before the round), and writes its head. One office of the
/// roster never writes: it joins at the end, in a process of its own.
struct ScaleWorkload {
  var offices = 400
  var records = 200_000
  var rounds = 100
  var edits = 25
  /// Rounds of the same workload at 13 offices, for the bytes per write there.
  var roundsAt13 = 10
  var seed: UInt64 = 18
  var quiet = false
  /// Where to keep the folder and the stores of the full-size run (for profiling); a temporary folder when nil.
  var keep: URL?

  struct Result: Codable {
    var offices: Int
    var records: Int
    var rounds: Int
    var editsPerChangeset: Int
    /// One office's sync that imports a round of every other office (median, ms).
    var importRoundMs: Double
    var importRoundMsFirst: Double
    var importRoundMsLast: Double
    var importedPerRound: Int
    /// The import of a round per changeset imported, here and at 13
    /// offices (same workload): what grows with the number of offices.
    var importChangesetMs: Double
    var importChangesetMs13: Double
    /// Where the importer's time went, by phase: milliseconds per round (mean).
    var importPhasesMs: [String: Double]
    /// The importer's sync right after, with nothing new (median, ms).
    var noopSyncMs: Double
    /// A new office joining at the end, in a process of its own.
    var joinS: Double
    var joinMb: Double
    var joinImported: Int
    var joinAgrees: Bool
    var filesPerOffice: Double
    var folderFiles: Int
    var folderBytes: Int64
    /// Bytes of the rounds' changeset files per field write they carry.
    var bytesPerWrite: Double
    var bytesPerWrite13: Double
    /// Mean bytes of a round changeset before its payload, and of its version vector.
    var headerBytes: Double
    var vectorEntries: Double
    /// Of the writers' changesets, the share in format 2, in percent.
    var compactHeaderPercent: Double
    var roundSMedian: Double
    var seedS: Double
    var totalS: Double
    var processPeakMb: Double
    var converged: Bool
  }

  /// Figures of one run at one size.
  struct Run {
    var importRounds: [Double] = []
    var imported = 0
    var noops: [Double] = []
    var roundSeconds: [Double] = []
    var roundBytes: Int64 = 0
    var roundWrites = 0
    var headerBytes = 0
    var vectorEntries = 0
    var compactHeaders = 0
    var roundFiles = 0
    var importPhases: [ImportProfile.Phase: Double] = [:]
    var seedSeconds = 0.0
    var converged = false
    var hash = ""
  }

  /// The offices: KS and KDD, then the roster of every kommune
  /// (`Fixtures/roster-kommuner-2024.json`), then `kontor-N` up to `count`.
  static func names(_ count: Int) throws -> [ReplicaID] {
    var names = try MunicipalStructure.load().offices.map(\.slug)
    names += (names.count..<max(count, names.count)).map { ReplicaID(rawValue: "kontor-\($0 + 1)")! }
    return Array(names.prefix(count))
  }

  func log(_ text: String) {
    if !quiet { FileHandle.standardError.write(Data((text + "\n").utf8)) }
  }

  func run() throws -> Result {
    let start = Date()
    let directory = TemporaryDirectory("bench-scale")
    var full = try run(offices: offices, rounds: rounds, in: keep ?? directory.url, join: true)
    log("13 offices, \(roundsAt13) rounds, for the bytes per write there")
    let (smallResult, small) = try run(offices: 13, rounds: roundsAt13, in: directory.path("13"), join: false)
    full.result.bytesPerWrite13 = Double(small.roundBytes) / Double(max(1, small.roundWrites))
    full.result.importChangesetMs13 = smallResult.importChangesetMs
    full.result.totalS = Date().timeIntervalSince(start)
    full.result.converged = full.result.converged && small.converged
    return full.result
  }

  private func run(offices count: Int, rounds: Int, in directory: URL, join: Bool) throws
    -> (result: Result, run: Run)
  {
    var random = SeededRandom(seed: seed)
    // `count` offices write; one more, in the roster from the start, joins at the end.
    let everyone = try ScaleWorkload.names(count + 1)
    let names = Array(everyone.prefix(count)), newcomer = everyone[count]
    let importer: ReplicaID = names.contains("bergen") ? "bergen" : names[names.count - 1]
    let real: [ReplicaID] = ["ks", "kdd", importer]
    let writerNames = names.filter { !real.contains($0) }
    let folder = SharedFolder(directory.appendingPathComponent("shared"))
    let structure = try MunicipalStructure.load()
    let kinds = Dictionary(structure.offices.map { ($0.slug, $0.kind) }, uniquingKeysWith: { first, _ in first })
    let roster = Roster(
      everyone.map {
        Roster.Member(
          office: $0, name: $0.rawValue, kind: kinds[$0] ?? "kommune", isAdministrator: $0 == "ks" || $0 == "kdd",
          keys: [TestKeys.key($0).publicKey])
      })
    var run = Run()
    let seedStart = Date()
    let ks = try Store.create(
      folder: folder, at: directory.appendingPathComponent("ks"), replica: "ks", schema: .planning, roster: roster, key: TestKeys.key("ks"))
    // The records, owned round-robin by the offices: membership of their
    // own organisation, cases they own, projects they lead.
    let membership = records * 20 / 26, cases = records * 5 / 26  // and projects for the rest
    let chunk = 5_000
    var made = 0
    while made < records {
      try ks.transact { tx in
        for index in made..<min(records, made + chunk) {
          let office = names[index % names.count].rawValue
          if index < membership {
            let id = "m-\(index)"
            try tx.set("membership", id, "person", .text("\(random.pick(OfficeCluster.firstNames)) \(random.pick(OfficeCluster.lastNames))"))
            try tx.set("membership", id, "email", .text("person\(index)@\(office).example"))
            try tx.set("membership", id, "organisation", .text(office))
            try tx.set("membership", id, "network", .text(random.pick(["veilederkorpset", "sevs-styret", "folkevalgtprogrammet"])))
            try tx.add("membership", id, "groups", random.pick(["kommuneplanens-samfunnsdel", "kommuneplanens-arealdel"]))
            try tx.set("membership", id, "role", .text(random.pick(["planveileder", "styremedlem", "observatør"])))
            try tx.set("membership", id, "from", .text("2024-0\(random.int(1...9))-1\(random.int(0...9))"))
            try tx.set("membership", id, "to", .text("2028-12-31"))
          } else if index < membership + cases {
            let id = "sak-\(index)"
            try tx.set("cases", id, "title", .text("Sak \(index) for \(office)"))
            try tx.set("cases", id, "kommune", .text(office))
            try tx.set("cases", id, "plan_type", .text("kommuneplanens-arealdel"))
            try tx.set("cases", id, "status", .text("ny"))
            try tx.set("cases", id, "owner", .text(office))
            try tx.add("cases", id, "participants", office)
            try tx.set("cases", id, "deadline", .text("2027-0\(random.int(1...9))-1\(random.int(0...9))"))
            try tx.set("cases", id, "notes", .text(random.pick(OfficeCluster.sentences)))
          } else {
            let id = "p-\(index)"
            try tx.set("projects", id, "name", .text("Prosjekt \(index)"))
            try tx.set("projects", id, "lead", .text(office))
            try tx.add("projects", id, "participants", office)
            try tx.put("projects", id, "funding", key: office, .integer(Int64(random.int(1...60)) * 10_000))
            try tx.set("projects", id, "status", .text("planlagt"))
            try tx.set("projects", id, "start", .text("2026-01-01"))
            try tx.set("projects", id, "end", .text("2029-12-31"))
            try tx.set("projects", id, "description", .text(random.pick(OfficeCluster.sentences)))
          }
        }
      }
      made += chunk
    }
    try ks.sync(with: folder)
    var stores: [ReplicaID: Store] = ["ks": ks]
    for office in real.dropFirst() {
      stores[office] = try Store.join(folder: folder, at: directory.appendingPathComponent(office.rawValue), replica: office, key: TestKeys.key(office)).0
    }
    // Checkpoints at the default interval (10 changesets per office here).
    // Only 3 of the offices are replicas, and the office whose turn it is
    // to write a checkpoint is most often one of the writers, which write
    // none: a replica then writes it at twice the interval, so checkpoints
    // come every 20 rounds or so, as if the office whose turn it was were away.
    for office in real { try stores[office]!.sync(with: folder) }
    run.seedSeconds = Date().timeIntervalSince(seedStart)
    log(String(format: "%d offices: %d records made and applied by %d replicas in %.1f s", count, records, real.count, run.seedSeconds))

    // What an office may edit: the records it owns (KS and KDD: any).
    func roundEdits(for office: ReplicaID, round: Int) -> [Edit] {
      let index = names.firstIndex(of: office)!
      let ownMembership = stride(from: index, to: membership, by: names.count).map { $0 }
      let firstCase = membership + ((index - membership % names.count) % names.count + names.count) % names.count
      let ownCases = stride(from: firstCase, to: membership + cases, by: names.count).map { $0 }
      var result: [Edit] = []
      for _ in 0..<edits {
        if !ownCases.isEmpty, random.chance(0.2) {
          let id = "sak-\(random.pick(ownCases))"
          result.append(.set(RecordRef("cases", id), field: "status", value: .text(random.pick(["ny", "under-arbeid", "avsluttet"]))))
        } else if !ownMembership.isEmpty {
          let id = "m-\(random.pick(ownMembership))"
          let field = random.pick(["role", "network", "person"])
          result.append(.set(RecordRef("membership", id), field: field, value: .text("\(field) \(round) \(random.int(0..<1000))")))
        }
      }
      return result
    }

    var published = try ks.frontier()
    var lamport: UInt64 = 0
    let storeID = ks.storeID
    var sequences: [ReplicaID: UInt64] = [:]
    let zero = String(repeating: "0", count: 64)
    let base = Int64(Date().timeIntervalSince1970 * 1000)
    for office in writerNames {
      try FileManager.default.createDirectory(at: folder.changesetsURL(for: office), withIntermediateDirectories: true)
    }
    var promises: [ReplicaID: VersionVector] = [:]
    // The writers fold their files into packs as an office's store does.
    let packer = WriterPacker(folder: folder, storeID: storeID)
    for round in 1...rounds {
      let began = Date()
      let known = published, knownLamport = lamport
      let time = base + Int64(round) * 60_000
      // The writers: a head saying what they synced, and one changeset each.
      for office in writerNames {
        let head = Head(office: office, frontier: known, snapshotHash: zero, timestamp: time).signed(by: TestKeys.key(office))
        try Data(head.canonicalJSON).write(to: folder.headURL(for: office), options: .atomic)
        let sequence = (sequences[office] ?? 0) + 1
        sequences[office] = sequence
        var dependencies = known
        dependencies[office] = sequence - 1
        let changeset = Changeset(
          storeID: storeID, author: office, sequence: sequence, dependencies: dependencies, lamport: knownLamport + 1,
          timestamp: time, edits: roundEdits(for: office, round: round))
        // Written as an office's store writes it: the dependencies
        // against its previous changeset's promise (format 2).
        let bytes = ChangesetFile.encode(changeset, signedBy: TestKeys.key(office), base: promises[office])
        dependencies[office] = sequence
        promises[office] = dependencies
        try Data(bytes).write(to: folder.changesetURL(changeset.id))
        try packer.wrote(sequence, of: office, at: time, key: TestKeys.key(office))
        run.roundBytes += Int64(bytes.count)
        run.roundWrites += changeset.edits.count
        if let (header, range) = try? ChangesetFile.decodeHeader(bytes) {
          run.headerBytes += range.lowerBound
          // The vector the changeset depends on; in format 2 the header names
          // only what changed against the author's previous changeset.
          run.vectorEntries += changeset.dependencies.sorted.count
          if header.formatVersion == 2 { run.compactHeaders += 1 }
          run.roundFiles += 1
        }
        lamport = max(lamport, knownLamport + 1)
      }
      // The real replicas edit and sync; the importer last, timed.
      for office in real {
        let own = roundEdits(for: office, round: round)
        try stores[office]!.transact { tx in for edit in own { try tx.append(edit) } }
      }
      for office in real where office != importer { try stores[office]!.sync(with: folder) }
      ImportProfile.start()
      let importStart = DispatchTime.now().uptimeNanoseconds
      let report = try stores[importer]!.sync(with: folder)
      let importSeconds = Double(DispatchTime.now().uptimeNanoseconds - importStart) / 1e9
      var phases = ImportProfile.seconds
      ImportProfile.start(false)
      phases[.other] = max(0, importSeconds - phases.values.reduce(0, +))
      for (phase, seconds) in phases { run.importPhases[phase, default: 0] += seconds }
      run.importRounds.append(importSeconds * 1000)
      run.imported = report.imported.count
      let noopStart = DispatchTime.now().uptimeNanoseconds
      let noop = try stores[importer]!.sync(with: folder)
      run.noops.append(Double(DispatchTime.now().uptimeNanoseconds - noopStart) / 1e6)
      guard noop.imported.isEmpty else { throw SamhandError(.io, "the sync after the import imported \(noop.imported.count)") }
      for office in real where office != importer { try stores[office]!.sync(with: folder) }
      // The real replicas' changesets of the round count too.
      for office in real {
        let id = Changeset.ID(author: office, sequence: try stores[office]!.frontier()[office])
        if let bytes = try stores[office]!.changesetBytes(id) {
          let changeset = try ChangesetFile.decode(bytes)
          run.roundBytes += Int64(bytes.count)
          run.roundWrites += changeset.edits.count
          lamport = max(lamport, changeset.lamport)
        }
      }
      // A checkpoint is used once two offices sign it. The office whose turn
      // it is to vouch for one a replica wrote is most often a writer, which
      // holds no state to build it from: it signs the replica's bytes, as it
      // would after building the same bytes.
      if let newest = folder.checkpoints().first, Set(newest.signatures.map(\.office)).count == 1,
        let writer = writerNames.first
      {
        let signatures = folder.url.appendingPathComponent("checkpoints/\(writer.rawValue)")
        try FileManager.default.createDirectory(at: signatures, withIntermediateDirectories: true)
        let bytes = [UInt8](try Data(contentsOf: newest.url))
        try CheckpointSignature(office: writer, checkpointBytes: bytes, key: TestKeys.key(writer)).canonicalJSON
          .write(to: signatures.appendingPathComponent(newest.signatureURL.lastPathComponent))
      }
      published = try ks.frontier()
      run.roundSeconds.append(Date().timeIntervalSince(began))
      if round == 1 || round % 10 == 0 || round == rounds {
        log(
          String(
            format: "round %d: %.2f s; %@ imported %d changesets in %.1f ms; nothing new: %.1f ms", round, run.roundSeconds.last!,
            importer.rawValue, run.imported, run.importRounds.last!, run.noops.last!))
      }
    }
    let hashes = Set(try real.map { try stores[$0]!.snapshotHash().1 })
    run.converged = hashes.count == 1
    run.hash = hashes.first ?? ""
    let (files, bytes, _) = DecadeSimulation.census(folder.url)

    var joined = OfficeCluster.ChildJoin(seconds: 0, imported: 0, peakMemoryMB: 0, hash: "")
    if join {
      joined = try ScaleWorkload.joinInChild(directory.appendingPathComponent(newcomer.rawValue), folder: folder, office: newcomer)
      log(String(format: "%@ joined in %.1f s (%d changesets from files), peak %.1f MB", newcomer.rawValue, joined.seconds, joined.imported, joined.peakMemoryMB))
    }
    let result = Result(
      offices: count, records: records, rounds: rounds, editsPerChangeset: edits,
      importRoundMs: median(run.importRounds), importRoundMsFirst: run.importRounds.first ?? 0,
      importRoundMsLast: run.importRounds.last ?? 0, importedPerRound: run.imported,
      importChangesetMs: median(run.importRounds) / Double(max(1, run.imported)), importChangesetMs13: 0,
      importPhasesMs: Dictionary(uniqueKeysWithValues: ImportProfile.Phase.allCases.map { ($0.name, (run.importPhases[$0] ?? 0) * 1000 / Double(rounds)) }),
      noopSyncMs: median(run.noops),
      joinS: joined.seconds, joinMb: joined.peakMemoryMB, joinImported: joined.imported, joinAgrees: joined.hash == run.hash,
      filesPerOffice: Double(files) / Double(count), folderFiles: files, folderBytes: bytes,
      bytesPerWrite: Double(run.roundBytes) / Double(max(1, run.roundWrites)), bytesPerWrite13: 0,
      headerBytes: Double(run.headerBytes) / Double(max(1, run.roundFiles)),
      vectorEntries: Double(run.vectorEntries) / Double(max(1, run.roundFiles)),
      compactHeaderPercent: 100 * Double(run.compactHeaders) / Double(max(1, run.roundFiles)), roundSMedian: median(run.roundSeconds),
      seedS: run.seedSeconds, totalS: 0, processPeakMb: peakMemoryMB(), converged: run.converged && (!join || joined.hash == run.hash))
    return (result, run)
  }

  /// A new office joins in a process of its own (this executable's `join-one`).
  static func joinInChild(_ store: URL, folder: SharedFolder, office: ReplicaID) throws -> OfficeCluster.ChildJoin {
    try OfficeCluster.child(["join-one", store.path, folder.url.path, office.rawValue], for: office)
  }
}

extension OfficeCluster {
  /// What a `join-one` child reports.
  struct ChildJoin: Codable {
    var seconds: Double
    var imported: Int
    var peakMemoryMB: Double
    var hash: String
  }
}

/// `samhand-bench join-one STORE FOLDER OFFICE`: joins with the office's test key and reports.
func joinOne(_ arguments: [String]) throws {
  guard arguments.count == 3, let office = ReplicaID(rawValue: arguments[2]) else {
    FileHandle.standardError.write(Data("usage: samhand-bench join-one STORE FOLDER OFFICE\n".utf8))
    exit(64)
  }
  let before = DispatchTime.now().uptimeNanoseconds
  let (store, report) = try Store.joinWithTestKey(
    folder: SharedFolder(URL(fileURLWithPath: arguments[1])), at: URL(fileURLWithPath: arguments[0]), replica: office)
  let seconds = Double(DispatchTime.now().uptimeNanoseconds - before) / 1e9
  let result = OfficeCluster.ChildJoin(
    seconds: seconds, imported: report.imported.count, peakMemoryMB: peakMemoryMB(ownOnly: true), hash: try store.snapshotHash().1)
  print(String(decoding: try JSONEncoder().encode(result), as: UTF8.self))
}

/// A JSON key made by the scale run's key strategy.
struct ScaleKey: CodingKey {
  var stringValue: String
  var intValue: Int? { nil }
  init(_ name: String) { stringValue = name }
  init?(stringValue: String) { self.stringValue = stringValue }
  init?(intValue: Int) { nil }
}

/// `samhand-bench offices --scale`: the scale run, as a table or as one JSON object.
func scaleBenchmark(_ workload: ScaleWorkload, json: Bool) throws {
  let result = try workload.run()
  if json {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
    // snake_case, with numbers as words of their own: bytes_per_write_13.
    encoder.keyEncodingStrategy = .custom { path in
      var name = ""
      var previous: Character?
      for character in path.last!.stringValue {
        if character.isUppercase || (character.isNumber && previous.map { !$0.isNumber } ?? false) { name += "_" }
        name += character.lowercased()
        previous = character
      }
      return ScaleKey(name)
    }
    print(String(decoding: try encoder.encode(result), as: UTF8.self))
    if !result.converged { exit(1) }
    return
  }
  func line(_ name: String, _ value: String, _ target: String = "") {
    print("  " + name.padding(toLength: 44, withPad: " ", startingAt: 0) + value + (target.isEmpty ? "" : "   " + target))
  }
  func met(_ ok: Bool, _ text: String) -> String { "target \(text): \(ok ? "met" : "MISSED")" }
  print("")
  print("\(result.offices) offices, \(result.records) records, \(result.rounds) rounds of one changeset of \(result.editsPerChangeset) edits per office")
  line("one office imports a round (median)", String(format: "%.1f ms (%d changesets; first %.1f, last %.1f)", result.importRoundMs, result.importedPerRound, result.importRoundMsFirst, result.importRoundMsLast), met(result.importRoundMs < 200, "< 200 ms"))
  line(
    "  per changeset",
    String(format: "%.2f ms (at 13 offices: %.2f ms; %.1f×)", result.importChangesetMs, result.importChangesetMs13, result.importChangesetMs / max(result.importChangesetMs13, 1e-9)))
  line(
    "  by phase (mean per round)",
    ImportProfile.Phase.allCases.compactMap { phase in
      let ms = result.importPhasesMs[phase.name] ?? 0
      return ms >= 0.05 ? String(format: "%@ %.1f", phase.name, ms) : nil
    }.joined(separator: ", ") + " ms")
  line("a sync with nothing new (median)", String(format: "%.1f ms", result.noopSyncMs), met(result.noopSyncMs < 50, "< 50 ms"))
  line("a new office joins", String(format: "%.1f s, %.1f MB (%d changesets from files; %@)", result.joinS, result.joinMb, result.joinImported, result.joinAgrees ? "agrees" : "DISAGREES"), met(result.joinS < 10 && result.joinMb < 100, "< 10 s, < 100 MB"))
  line("bytes per field write", String(format: "%.1f (at 13 offices: %.1f; %.2f×)", result.bytesPerWrite, result.bytesPerWrite13, result.bytesPerWrite / max(result.bytesPerWrite13, 1e-9)), met(result.bytesPerWrite <= 1.5 * result.bytesPerWrite13, "≤ 1.5×"))
  line("files in the folder", String(format: "%d (%.1f per office), %.1f MB", result.folderFiles, result.filesPerOffice, Double(result.folderBytes) / 1e6), met(result.filesPerOffice <= 20, "≤ 20 per office"))
  line(
    "changeset header",
    String(
      format: "%.0f bytes (version vector of %.0f offices; %.0f %% written against the previous changeset)",
      result.headerBytes, result.vectorEntries, result.compactHeaderPercent))
  line("time per round (median)", String(format: "%.2f s", result.roundSMedian))
  line("making and applying the records", String(format: "%.1f s", result.seedS))
  line("whole run", String(format: "%.1f s, peak %.0f MB in this process", result.totalS, result.processPeakMb))
  line("same snapshot everywhere", result.converged ? "yes" : "NO")
  if !result.converged { exit(1) }
}

