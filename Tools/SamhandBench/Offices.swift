import Foundation
import Samhand
import SamhandTestSupport

/// The 13-office workload of issue 8: KS creates the records, then every
/// office makes a transaction of edits offline each round and everyone
/// syncs through one shared folder of real files.
struct OfficesWorkload {
  var offices = 13
  var rounds = 10
  var edits = 1_000
  var membership = 2_000
  var cases = 500
  var projects = 100
  var seed: UInt64 = 2026
  var json = false

  struct Round: Codable {
    var round: Int
    var seconds: Double
    var editSeconds: Double
    var syncSeconds: Double
    /// The designated office's sync that imports every other office's round.
    var importSeconds: Double
    var importedChangesets: Int
    var importedWrites: Int
  }

  struct Result: Codable {
    var offices: Int
    var rounds: Int
    var editsPerOffice: Int
    var records: Int
    var totalSeconds: Double
    var seedSeconds: Double
    var roundSeconds: [Double]
    var importOffice: String
    var importSecondsMedian: Double
    var importWritesPerSecond: Double
    var fieldWrites: Int
    var folderBytes: Int
    var bytesPerWrite: Double
    var peakMemoryMB: Double
    var openConflicts: Int
    var converged: Bool
    var snapshotHash: String
    var importPhases: [String: Double]
  }

  static let firstNames = ["Solveig", "Anders", "Marit", "Håkon", "Ingrid", "Eirik", "Kari", "Ola", "Sigrid", "Torbjørn", "Nils", "Astrid"]
  static let lastNames = ["Brekke", "Lien", "Haugen", "Fjeld", "Nygård", "Strand", "Bakke", "Aasen", "Moen", "Dahl", "Berg", "Solheim"]
  static let sentences = [
    "Oppstartsamling med fylkesplansjefene i Oslo, med vekt på erfaringsdeling mellom veilederkorpsene.",
    "Gruppen har ansvar for faglig opplegg innenfor sin plantype og for oppfølging av kommunene etter samlingene.",
    "Erfaringsutveksling om regionalt planforum og plannettverk, og om hvordan tidlig dialog kan gi bedre planer.",
    "Felles løft for samfunnsdelen med kobling til fireårshjulet og økonomiplanen, slik at planene henger sammen.",
    "Kommunen ønsker støtte til arealregnskap og til å vurdere utbyggingsområder som ikke lenger er aktuelle.",
  ]

  var random: SeededRandom

  init() { random = SeededRandom(seed: 2026) }

  func text(_ random: inout SeededRandom, sentences count: Int) -> String {
    (0..<count).map { _ in random.pick(OfficesWorkload.sentences) }.joined(separator: " ")
  }

  mutating func run() throws -> Result {
    random = SeededRandom(seed: seed)
    let directory = TemporaryDirectory("bench-offices")
    let folder = SharedFolder(directory.path("shared"))
    var slugs = Office.cooperation.map(\.slug)
    slugs += (slugs.count..<max(offices, slugs.count)).map { ReplicaID(rawValue: "kontor-\($0 + 1)")! }
    let names = Array(["ks"] + slugs.filter { $0 != "ks" }.prefix(offices - 1))
    let key = SigningKey.generate()
    var members = Roster.cooperation(founder: "ks", key: key.publicKey).sortedMembers
    for office in names where !members.contains(where: { $0.office == office }) {
      members.append(Roster.Member(office: office, name: office.rawValue, kind: "fylkeskommune"))
    }
    let start = Date()
    var stores: [ReplicaID: Store] = [:]
    stores["ks"] = try Store.create(
      folder: folder, at: directory.path("ks"), replica: "ks", schema: .planning, roster: Roster(members), key: key)
    for office in names.dropFirst() {
      stores[office] = try Store.join(folder: folder, at: directory.path(office.rawValue), replica: office).0
    }
    let everyone = names.map(\.rawValue)
    let counties = names.filter { $0 != "ks" && $0 != "kdd" }

    // Round 0: KS creates the records, 8 fields each; everyone syncs.
    var membershipOwner: [String: ReplicaID] = [:]
    var live: [String: [String]] = ["membership": [], "cases": [], "projects": []]
    var fieldWrites = 0
    try stores["ks"]!.transact { tx in
      for index in 0..<membership {
        let id = "m-\(index)", owner = counties[index % counties.count]
        let first = random.pick(OfficesWorkload.firstNames), last = random.pick(OfficesWorkload.lastNames)
        try tx.set("membership", id, "person", .text("\(first) \(last)"))
        try tx.set("membership", id, "email", .text("\(first.lowercased()).\(last.lowercased())\(index)@\(owner).example"))
        try tx.set("membership", id, "organisation", .text(owner.rawValue))
        try tx.set("membership", id, "network", .text(random.pick(["veilederkorpset", "sevs-styret", "folkevalgtprogrammet"])))
        try tx.add("membership", id, "groups", random.pick(["kommuneplanens-samfunnsdel", "kommuneplanens-arealdel", "reguleringsplan"]))
        try tx.set("membership", id, "role", .text(random.pick(["planveileder", "styremedlem", "observatør"])))
        try tx.set("membership", id, "from", .text("2024-0\(random.int(1...9))-1\(random.int(0...9))"))
        try tx.set("membership", id, "to", .text("2028-12-31"))
        membershipOwner[id] = owner
        live["membership"]!.append(id)
      }
      for index in 0..<cases {
        let id = "sak-\(index)"
        try tx.set("cases", id, "title", .text("Sak \(index): " + text(&random, sentences: 1)))
        try tx.set("cases", id, "kommune", .text("Kommune \(random.int(1...356))"))
        try tx.set("cases", id, "plan_type", .text("kommuneplanens-samfunnsdel"))
        try tx.set("cases", id, "status", .text("ny"))
        try tx.set("cases", id, "owner", .text("ks"))
        for office in everyone { try tx.add("cases", id, "participants", office) }
        try tx.set("cases", id, "deadline", .text("2027-0\(random.int(1...9))-1\(random.int(0...9))"))
        try tx.set("cases", id, "notes", .text(text(&random, sentences: 3)))
        live["cases"]!.append(id)
      }
      for index in 0..<projects {
        let id = "p-\(index)"
        try tx.set("projects", id, "name", .text("Prosjekt \(index): " + text(&random, sentences: 1)))
        try tx.set("projects", id, "lead", .text(random.pick(everyone)))
        for office in everyone { try tx.add("projects", id, "participants", office) }
        try tx.put("projects", id, "funding", key: "ks", .integer(Int64(random.int(1...60)) * 10_000))
        try tx.set("projects", id, "status", .text("planlagt"))
        try tx.set("projects", id, "start", .text("2026-01-01"))
        try tx.set("projects", id, "end", .text("2029-12-31"))
        try tx.set("projects", id, "description", .text(text(&random, sentences: 4)))
        live["projects"]!.append(id)
      }
    }
    fieldWrites += (membership + cases + projects) * 8
    for office in names { try stores[office]!.sync(with: folder) }
    let seedSeconds = Date().timeIntervalSince(start)

    let hot = Array(live["cases"]!.prefix(50))
    let importer: ReplicaID = names.count > 1 ? names[names.count - 1] : "ks"
    var rounds: [Round] = []
    var importPhases: [ImportProfile.Phase: Double] = [:]
    var created = 0
    for round in 1...self.rounds {
      let roundStart = Date()
      for office in names {
        let mayWriteEverything = office == "ks" || office == "kdd"
        let own = mayWriteEverything ? live["membership"]! : live["membership"]!.filter { membershipOwner[$0] == office }
        try stores[office]!.transact { tx in
          for _ in 0..<edits {
            let roll = random.int(0..<100)
            if roll < 93 {
              if random.chance(0.05) {
                try tx.set("cases", random.pick(hot), "status", .text("\(office)-\(round)-\(random.int(0..<1000))"))
                continue
              }
              switch random.int(0..<3) {
              case 0 where !own.isEmpty:
                let id = random.pick(own)
                switch random.int(0..<3) {
                case 0: try tx.set("membership", id, "role", .text(random.pick(["planveileder", "styremedlem", "observatør", "prosjektleder"])))
                case 1: try tx.set("membership", id, "network", .text(random.pick(["veilederkorpset", "sevs-styret"])))
                default: try tx.set("membership", id, "person", .text("\(random.pick(OfficesWorkload.firstNames)) \(random.pick(OfficesWorkload.lastNames))"))
                }
              case 1:
                let id = random.pick(live["projects"]!)
                if random.chance(0.5) {
                  try tx.put("projects", id, "funding", key: office.rawValue, .integer(Int64(random.int(1...60)) * 10_000))
                } else {
                  try tx.set("projects", id, "description", .text(text(&random, sentences: 2)))
                }
              default:
                let id = random.pick(live["cases"]!)
                if random.chance(0.5) {
                  try tx.set("cases", id, "notes", .text(text(&random, sentences: 2)))
                } else {
                  try tx.set("cases", id, "status", .text(random.pick(["ny", "under-arbeid", "avsluttet"])))
                }
              }
            } else if roll < 98 {
              created += 1
              let id = "\(office)-ny-\(created)"
              try tx.set("cases", id, "title", .text("Ny sak fra \(office): " + text(&random, sentences: 1)))
              try tx.set("cases", id, "owner", .text(office.rawValue))
              try tx.add("cases", id, "participants", office.rawValue)
              try tx.set("cases", id, "status", .text("ny"))
            } else if !own.isEmpty, random.chance(0.5) {
              try tx.delete("membership", random.pick(own))
            } else {
              try tx.delete("cases", random.pick(live["cases"]!.dropFirst(50).map { $0 }))
            }
          }
        }
      }
      fieldWrites += names.count * edits
      let editSeconds = Date().timeIntervalSince(roundStart)
      // Every office syncs; the designated importer goes last, so its sync
      // imports the round of every other office at once.
      let syncStart = Date()
      var importSeconds = 0.0
      var imported = 0
      for office in names {
        if office == importer { ImportProfile.start() }
        let before = Date()
        let report = try stores[office]!.sync(with: folder)
        if office == importer {
          importSeconds = Date().timeIntervalSince(before)
          imported = report.imported.count
          var phases = ImportProfile.seconds
          phases[.other] = max(0, importSeconds - phases.values.reduce(0, +))
          for (phase, seconds) in phases { importPhases[phase, default: 0] += seconds }
          ImportProfile.start(false)
        }
      }
      for office in names where office != importer { try stores[office]!.sync(with: folder) }
      rounds.append(
        Round(
          round: round, seconds: Date().timeIntervalSince(roundStart), editSeconds: editSeconds,
          syncSeconds: Date().timeIntervalSince(syncStart), importSeconds: importSeconds,
          importedChangesets: imported, importedWrites: imported * edits))
      if !json {
        print(
          String(format: "round %2d: %.2f s (edits %.2f s, syncs %.2f s); ", round, rounds.last!.seconds, editSeconds, rounds.last!.syncSeconds)
            + "\(importer) imported \(imported) changesets in " + String(format: "%.1f ms", importSeconds * 1000))
      }
    }
    let totalSeconds = Date().timeIntervalSince(start)
    let hashes = Set(try names.map { try stores[$0]!.snapshotHash().1 })
    let folderBytes = FolderCopier.files(under: folder.url).filter { $0.hasPrefix("changesets/") }.reduce(0) { total, path in
      total + ((try? FileManager.default.attributesOfItem(atPath: folder.url.appendingPathComponent(path).path)[.size] as? Int) ?? 0)
    }
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    let imports = rounds.map(\.importSeconds)
    let importMedian = imports.sorted()[imports.count / 2]
    let importedWrites = rounds.map(\.importedWrites).reduce(0, +)
    return Result(
      offices: names.count, rounds: self.rounds, editsPerOffice: edits, records: membership + cases + projects,
      totalSeconds: totalSeconds, seedSeconds: seedSeconds, roundSeconds: rounds.map(\.seconds),
      importOffice: importer.rawValue, importSecondsMedian: importMedian,
      importWritesPerSecond: Double(importedWrites) / max(imports.reduce(0, +), 1e-9), fieldWrites: fieldWrites,
      folderBytes: folderBytes, bytesPerWrite: Double(folderBytes) / Double(fieldWrites),
      peakMemoryMB: Double(usage.ru_maxrss) / 1024, openConflicts: try stores["ks"]!.conflicts().count,
      converged: hashes.count == 1, snapshotHash: hashes.count == 1 ? hashes.first! : "\(hashes.count) different",
      importPhases: Dictionary(uniqueKeysWithValues: importPhases.map { ($0.key.name, $0.value) }))
  }
}

func officesBenchmark(_ arguments: [String]) throws {
  var workload = OfficesWorkload()
  var runs = 1
  var iterator = arguments.makeIterator()
  func value(_ name: String) -> Int {
    guard let text = iterator.next(), let number = Int(text), number > 0 else {
      FileHandle.standardError.write(Data("samhand-bench offices: \(name) needs a positive number\n".utf8))
      exit(64)
    }
    return number
  }
  while let argument = iterator.next() {
    switch argument {
    case "--offices": workload.offices = value(argument)
    case "--rounds": workload.rounds = value(argument)
    case "--edits": workload.edits = value(argument)
    case "--records":
      // Scales the 2,000 / 500 / 100 split to this many records in all.
      let total = value(argument)
      workload.membership = max(1, total * 20 / 26)
      workload.cases = max(51, total * 5 / 26)
      workload.projects = max(1, total / 26)
    case "--seed": workload.seed = UInt64(value(argument))
    case "--runs": runs = value(argument)
    case "--json": workload.json = true
    default:
      FileHandle.standardError.write(
        Data("samhand-bench offices: unknown option \(argument) (use --offices --rounds --edits --records --seed --runs --json)\n".utf8))
      exit(64)
    }
  }
  var results: [OfficesWorkload.Result] = []
  for _ in 0..<runs { results.append(try workload.run()) }
  let result = results.sorted { $0.totalSeconds < $1.totalSeconds }[results.count / 2]
  if workload.json {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
    print(String(decoding: try encoder.encode(result), as: UTF8.self))
    return
  }
  let phaseTotal = result.importPhases.values.reduce(0, +)
  print("")
  print("\(result.offices) offices, \(result.records) records, \(result.rounds) rounds of \(result.editsPerOffice) edits per office (median of \(runs) run(s) by total time)")
  print(String(format: "  total time                       %8.2f s (round 0: %.2f s)", result.totalSeconds, result.seedSeconds))
  print(String(format: "  time per round (median)          %8.2f s", result.roundSeconds.sorted()[result.roundSeconds.count / 2]))
  print(String(format: "  one office imports a round       %8.1f ms (median, ", result.importSecondsMedian * 1000) + result.importOffice + ")")
  print(String(format: "  field writes imported per second %8.0f", result.importWritesPerSecond))
  print(String(format: "  changeset files in the folder    %8.2f MB (%.1f bytes per field write, %d writes)", Double(result.folderBytes) / 1e6, result.bytesPerWrite, result.fieldWrites))
  print(String(format: "  peak memory (all offices, 1 process) %5.1f MB", result.peakMemoryMB))
  print("  open conflicts at the end        \(result.openConflicts)")
  print("  same snapshot everywhere         \(result.converged ? "yes" : "NO") (\(result.snapshotHash.prefix(16)))")
  print("  import time by phase (\(result.importOffice), all rounds):")
  for phase in ImportProfile.Phase.allCases {
    let seconds = result.importPhases[phase.name] ?? 0
    let name = phase.name.padding(toLength: 10, withPad: " ", startingAt: 0)
    print("    " + name + String(format: " %7.1f ms  %5.1f %%", seconds * 1000, phaseTotal > 0 ? seconds / phaseTotal * 100 : 0))
  }
  if !result.converged { exit(1) }
}
