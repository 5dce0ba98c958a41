import Foundation
import Samhand
import SamhandTestSupport

/// The offices of the benchmark: one store each in a temporary folder and
/// one shared folder of real files, with the edits of issue 8's workload.
final class OfficeCluster {
  let directory = TemporaryDirectory("bench-offices")
  let folder: SharedFolder
  /// KS first; then the other offices of the cooperation; then `kontor-N`.
  let names: [ReplicaID]
  var stores: [ReplicaID: Store] = [:]
  /// The office whose sync is timed: the last to sync, so it imports the
  /// round of every other office at once.
  let importer: ReplicaID
  var random: SeededRandom
  var live: [String: [String]] = ["membership": [], "cases": [], "projects": []]
  var membershipOwner: [String: ReplicaID] = [:]
  var hot: [String] = []
  var created = 0

  static let firstNames = ["Solveig", "Anders", "Marit", "Håkon", "Ingrid", "Eirik", "Kari", "Ola", "Sigrid", "Torbjørn", "Nils", "Astrid"]
  static let lastNames = ["Brekke", "Lien", "Haugen", "Fjeld", "Nygård", "Strand", "Bakke", "Aasen", "Moen", "Dahl", "Berg", "Solheim"]
  static let sentences = [
    "Oppstartsamling med fylkesplansjefene i Oslo, med vekt på erfaringsdeling mellom veilederkorpsene.",
    "Gruppen har ansvar for faglig opplegg innenfor sin plantype og for oppfølging av kommunene etter samlingene.",
    "Erfaringsutveksling om regionalt planforum og plannettverk, og om hvordan tidlig dialog kan gi bedre planer.",
    "Felles løft for samfunnsdelen med kobling til fireårshjulet og økonomiplanen, slik at planene henger sammen.",
    "Kommunen ønsker støtte til arealregnskap og til å vurdere utbyggingsområder som ikke lenger er aktuelle.",
  ]

  /// Creates the stores: KS makes the shared folder, the others join it;
  /// without `stores`, only the names and the edits' generator (for
  /// workloads that run the `samhand` executable).
  init(offices: Int, seed: UInt64, stores makeStores: Bool = true) throws {
    random = SeededRandom(seed: seed)
    folder = SharedFolder(directory.path("shared"))
    var slugs = Office.cooperation.map(\.slug)
    slugs += (slugs.count..<max(offices, slugs.count)).map { ReplicaID(rawValue: "kontor-\($0 + 1)")! }
    names = Array(["ks"] + slugs.filter { $0 != "ks" }.prefix(offices - 1))
    importer = names.count > 1 ? names[names.count - 1] : "ks"
    guard makeStores else { return }
    // Every office's key in the genesis roster: nothing waits for a confirmation.
    stores["ks"] = try Store.createListingTestKeys(folder: folder, at: directory.path("ks"), replica: "ks", extra: names)
    for office in names.dropFirst() {
      stores[office] = try Store.joinWithTestKey(folder: folder, at: directory.path(office.rawValue), replica: office).0
    }
  }

  var counties: [ReplicaID] { names.filter { $0 != "ks" && $0 != "kdd" } }

  func text(sentences count: Int) -> String {
    (0..<count).map { _ in random.pick(OfficeCluster.sentences) }.joined(separator: " ")
  }

  // MARK: - The workload

  /// Round 0: KS creates the records, 8 fields each. Returns the field writes.
  func seedRecords(membership: Int, cases: Int, projects: Int) throws -> Int {
    var result = 0
    try stores["ks"]!.transact { tx in result = try seedRecords(membership: membership, cases: cases, projects: projects, into: &tx) }
    return result
  }

  /// The edits of ``seedRecords(membership:cases:projects:)``, made into `tx`.
  func seedRecords<Sink: EditSink>(membership: Int, cases: Int, projects: Int, into tx: inout Sink) throws -> Int {
    let everyone = names.map(\.rawValue)
    let counties = self.counties.isEmpty ? ["ks"] : self.counties
    do {
      for index in 0..<membership {
        let id = "m-\(index)", owner = counties[index % counties.count]
        let first = random.pick(OfficeCluster.firstNames), last = random.pick(OfficeCluster.lastNames)
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
        try tx.set("cases", id, "title", .text("Sak \(index): " + text(sentences: 1)))
        try tx.set("cases", id, "kommune", .text("Kommune \(random.int(1...356))"))
        try tx.set("cases", id, "plan_type", .text("kommuneplanens-samfunnsdel"))
        try tx.set("cases", id, "status", .text("ny"))
        try tx.set("cases", id, "owner", .text("ks"))
        for office in everyone { try tx.add("cases", id, "participants", office) }
        try tx.set("cases", id, "deadline", .text("2027-0\(random.int(1...9))-1\(random.int(0...9))"))
        try tx.set("cases", id, "notes", .text(text(sentences: 3)))
        live["cases"]!.append(id)
      }
      for index in 0..<projects {
        let id = "p-\(index)"
        try tx.set("projects", id, "name", .text("Prosjekt \(index): " + text(sentences: 1)))
        try tx.set("projects", id, "lead", .text(random.pick(everyone)))
        for office in everyone { try tx.add("projects", id, "participants", office) }
        try tx.put("projects", id, "funding", key: "ks", .integer(Int64(random.int(1...60)) * 10_000))
        try tx.set("projects", id, "status", .text("planlagt"))
        try tx.set("projects", id, "start", .text("2026-01-01"))
        try tx.set("projects", id, "end", .text("2029-12-31"))
        try tx.set("projects", id, "description", .text(text(sentences: 4)))
        live["projects"]!.append(id)
      }
    }
    hot = Array(live["cases"]!.prefix(50))
    return (membership + cases + projects) * 8
  }

  /// One office's round, offline, in one transaction: 93 % sets of one
  /// field of an existing record (5 % of them on the 50 hot cases), 5 %
  /// new records, 2 % deletes. With `setsOnly`, every edit is a set, so
  /// the state keeps its size (for measuring history alone).
  func editRound(_ office: ReplicaID, round: Int, edits: Int, setsOnly: Bool = false) throws {
    try stores[office]!.transact { tx in try editRound(office, round: round, edits: edits, setsOnly: setsOnly, into: &tx) }
  }

  /// The edits of ``editRound(_:round:edits:setsOnly:)``, made into `tx`.
  func editRound<Sink: EditSink>(_ office: ReplicaID, round: Int, edits: Int, setsOnly: Bool = false, into tx: inout Sink) throws {
    let mayWriteEverything = office == "ks" || office == "kdd"
    let own = mayWriteEverything ? live["membership"]! : live["membership"]!.filter { membershipOwner[$0] == office }
    do {
      for _ in 0..<edits {
        let roll = setsOnly ? 0 : random.int(0..<100)
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
            default: try tx.set("membership", id, "person", .text("\(random.pick(OfficeCluster.firstNames)) \(random.pick(OfficeCluster.lastNames))"))
            }
          case 1:
            let id = random.pick(live["projects"]!)
            if random.chance(0.5) {
              try tx.put("projects", id, "funding", key: office.rawValue, .integer(Int64(random.int(1...60)) * 10_000))
            } else {
              try tx.set("projects", id, "description", .text(text(sentences: 2)))
            }
          default:
            let id = random.pick(live["cases"]!)
            if random.chance(0.5) {
              try tx.set("cases", id, "notes", .text(text(sentences: 2)))
            } else {
              try tx.set("cases", id, "status", .text(random.pick(["ny", "under-arbeid", "avsluttet"])))
            }
          }
        } else if roll < 98 {
          created += 1
          let id = "\(office)-ny-\(created)"
          try tx.set("cases", id, "title", .text("Ny sak fra \(office): " + text(sentences: 1)))
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

  // MARK: - Syncing

  struct TimedSync {
    var seconds: Double
    var imported: Int
    var phases: [ImportProfile.Phase: Double]
  }

  /// Syncs one office with the import measured by phase.
  func timedSync(_ office: ReplicaID) throws -> TimedSync {
    ImportProfile.start()
    defer { ImportProfile.start(false) }
    let before = DispatchTime.now().uptimeNanoseconds
    let report = try stores[office]!.sync(with: folder)
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - before) / 1e9
    var phases = ImportProfile.seconds
    phases[.other] = max(0, seconds - phases.values.reduce(0, +))
    return TimedSync(seconds: seconds, imported: report.imported.count, phases: phases)
  }

  struct ChildImport: Codable {
    var seconds: Double
    var imported: Int
    var peakMemoryMB: Double
  }

  /// Syncs one office in a process of its own (this executable's
  /// `sync-one`), for the time and peak memory of that office alone.
  func syncInChild(_ office: ReplicaID) throws -> ChildImport {
    try OfficeCluster.child(["sync-one", directory.path(office.rawValue).path, folder.url.path], for: office)
  }

  /// Runs this executable with `arguments` and decodes the JSON it prints.
  static func child<Report: Decodable>(_ arguments: [String], for office: ReplicaID) throws -> Report {
    let child = Process()
    child.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    child.arguments = arguments
    let output = Pipe()
    child.standardOutput = output
    try child.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    child.waitUntilExit()
    guard child.terminationStatus == 0 else {
      throw SamhandError(.io, "the \(arguments[0]) child for \(office) exited with \(child.terminationStatus)")
    }
    return try JSONDecoder().decode(Report.self, from: data)
  }

  // MARK: - Figures

  /// Bytes of changeset files in the folder.
  func folderBytes() -> Int {
    changesetFiles().reduce(0) { $0 + $1.count }
  }

  func changesetFiles() -> [[UInt8]] {
    FolderCopier.files(under: folder.url).filter { $0.hasPrefix("changesets/") }.compactMap { path in
      (try? Data(contentsOf: folder.url.appendingPathComponent(path))).map { [UInt8]($0) }
    }
  }

  struct HeaderFigures: Codable {
    /// Changeset files measured.
    var files: Int
    /// Mean bytes of a file before its payload (magic, header with the
    /// version vector, signature block).
    var meanHeaderBytes: Double
    /// Mean and largest number of offices in a changeset's version vector.
    var meanVectorEntries: Double
    var maximumVectorEntries: Int
    /// Mean bytes the version vector takes in the header (slugs and counters).
    var meanVectorBytes: Double
  }

  func headerFigures() throws -> HeaderFigures {
    var files = 0, headerBytes = 0, entries = 0, maximum = 0, vectorBytes = 0
    for bytes in changesetFiles() {
      guard let (header, range) = try? ChangesetFile.decodeHeader(bytes) else { continue }
      files += 1
      headerBytes += range.lowerBound
      let vector = header.dependencies.sorted
      entries += vector.count
      maximum = max(maximum, vector.count)
      // Each entry: a length-prefixed slug and a varint counter.
      vectorBytes += vector.reduce(1) { total, entry in
        total + 1 + entry.replica.rawValue.utf8.count + (64 - entry.counter.leadingZeroBitCount + 6) / 7
      }
    }
    let count = Double(max(files, 1))
    return HeaderFigures(
      files: files, meanHeaderBytes: Double(headerBytes) / count, meanVectorEntries: Double(entries) / count,
      maximumVectorEntries: maximum, meanVectorBytes: Double(vectorBytes) / count)
  }

  /// The snapshot hash of every office: one element when they converged.
  func snapshotHashes() throws -> Set<String> {
    Set(try names.map { try stores[$0]!.snapshotHash().1 })
  }
}

/// `samhand-bench sync-one STORE FOLDER`: one sync in this process, then
/// its time, the changesets imported and the process's peak memory, as JSON.
func syncOne(_ arguments: [String]) throws {
  guard arguments.count == 2 else {
    FileHandle.standardError.write(Data("usage: samhand-bench sync-one STORE FOLDER\n".utf8))
    exit(64)
  }
  let store = try Store.open(at: URL(fileURLWithPath: arguments[0]))
  let before = DispatchTime.now().uptimeNanoseconds
  let report = try store.sync(with: SharedFolder(URL(fileURLWithPath: arguments[1])))
  let seconds = Double(DispatchTime.now().uptimeNanoseconds - before) / 1e9
  let result = OfficeCluster.ChildImport(seconds: seconds, imported: report.imported.count, peakMemoryMB: peakMemoryMB(ownOnly: true))
  print(String(decoding: try JSONEncoder().encode(result), as: UTF8.self))
}

/// This process's peak resident memory, in MB.
///
/// With `ownOnly`, from `VmHWM` in /proc/self/status: Linux carries
/// `ru_maxrss` across fork and exec, so a child started by a big process
/// reports its parent's peak there.
func peakMemoryMB(ownOnly: Bool = false) -> Double {
  if ownOnly, let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
    let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
    let kilobytes = Double(line.split(separator: " ").dropFirst().first ?? "")
  {
    return kilobytes / 1024
  }
  var usage = rusage()
  getrusage(RUSAGE_SELF.rawValue, &usage)
  return Double(usage.ru_maxrss) / 1024
}

/// Where the workload's edits go: a store's transaction, or JSON Lines for `samhand apply`.
protocol EditSink {
  mutating func set(_ collection: String, _ id: String, _ field: String, _ value: Value) throws
  mutating func add(_ collection: String, _ id: String, _ field: String, _ element: String) throws
  mutating func put(_ collection: String, _ id: String, _ field: String, key: String, _ value: Value) throws
  mutating func delete(_ collection: String, _ id: String) throws
}

extension Transaction: EditSink {}

/// The edits as lines of `samhand apply`'s JSON Lines.
struct JSONLinesSink: EditSink {
  var lines: [String] = []
  var count: Int { lines.count }

  private static func json(_ text: String) -> String {
    String(decoding: try! JSONEncoder().encode(text), as: UTF8.self)
  }

  private static func json(_ value: Value) -> String {
    switch value {
    case .null: "null"
    case .bool(let flag): flag ? "true" : "false"
    case .integer(let integer): String(integer)
    case .number(let double): String(double)
    case .text(let text): json(text)
    case .date(let day): json(day.description)
    }
  }

  private func head(_ op: String, _ collection: String, _ id: String) -> String {
    #"{"op":"\#(op)","collection":\#(Self.json(collection)),"id":\#(Self.json(id))"#
  }

  mutating func set(_ collection: String, _ id: String, _ field: String, _ value: Value) throws {
    lines.append(head("set", collection, id) + #","fields":{\#(Self.json(field)):\#(Self.json(value))}}"#)
  }

  mutating func add(_ collection: String, _ id: String, _ field: String, _ element: String) throws {
    lines.append(head("add", collection, id) + #","field":\#(Self.json(field)),"value":\#(Self.json(element))}"#)
  }

  mutating func put(_ collection: String, _ id: String, _ field: String, key: String, _ value: Value) throws {
    lines.append(head("put", collection, id) + #","field":\#(Self.json(field)),"key":\#(Self.json(key)),"value":\#(Self.json(value))}"#)
  }

  mutating func delete(_ collection: String, _ id: String) throws {
    lines.append(head("delete", collection, id) + "}")
  }
}
