import Foundation
import Samhand

/// Ten years of a shared folder, in minutes: how many files it holds with
/// and without pruning, and how long an office takes to join at the end.
///
/// One office (`ks`) is a real replica: it syncs every week, applies every
/// changeset, writes its head, writes the checkpoints and prunes its own
/// files with the library's own code. The other offices are writers: each
/// signs its changesets with its own key and drops them into the folder
/// as a replica that syncs weekly would (its dependencies are everything
/// published before the week began), writes its head at the start of
/// each week, and prunes its own files by the library's rule against the
/// newest checkpoint every office has acknowledged. Simulated time runs
/// from Monday 4 January 2027; each week's changesets are spread over it.
public struct DecadeOptions: Sendable {
  /// Simulated years.
  public var years = 10
  /// Weeks in a simulated year.
  public var weeksPerYear = 52
  /// Changesets each office writes a week.
  public var perWeek = 50
  /// Offices: KS and the first others of the cooperation's thirteen; more
  /// than 13 are KS, KDD, the fylkeskommuner and the kommuner of 2024
  /// (``MunicipalStructure/offices``, 374 at most).
  public var offices = 13
  /// Days each office keeps its changeset files once a checkpoint covers them.
  public var retentionDays = 90
  /// Newly stable changesets between checkpoints; nil for 13 weeks' worth.
  public var checkpointEvery: Int?
  /// Seed of the workload.
  public var seed: UInt64 = 1
  /// An office deletes its oldest case now and then once it has more than this many.
  public var minimumLiveCases = 20

  /// The defaults: 13 offices, 50 changesets a week each, for ten years.
  public init() {}

  var interval: Int { checkpointEvery ?? offices * perWeek * 13 }
}

/// The folder at the end of a simulated year.
public struct DecadeYear: Sendable {
  /// The year, counting from 1.
  public var year: Int
  /// Files in the folder (changesets, checkpoints and their signatures, heads, `samhand.json`).
  public var files: Int
  /// Their bytes.
  public var bytes: Int64
  /// Changeset files among them.
  public var changesetFiles: Int
  /// What the folder would hold had nothing been pruned (every checkpoint kept too).
  public var filesWithoutPruning: Int
  /// Their bytes.
  public var bytesWithoutPruning: Int64
  /// Changeset files among them: every changeset written.
  public var changesetFilesWithoutPruning: Int
  /// Bytes of every checkpoint written so far.
  public var checkpointBytesWritten: Int64
  /// Changesets written so far.
  public var changesets: Int
  /// Live records in KS's replica.
  public var records: Int
  /// Checkpoints written so far, and the size of the newest.
  public var checkpoints: Int
  /// Bytes of the newest checkpoint file.
  public var checkpointBytes: Int
  /// Seconds the year took to simulate.
  public var seconds: Double
}

/// What ten years came to.
public struct DecadeResult: Sendable {
  /// Year by year.
  public var years: [DecadeYear] = []
  /// Seconds a new replica took to join at the end (create, adopt the newest checkpoint, import the rest).
  public var bootstrapSeconds: Double = 0
  /// Changesets the new replica applied from files (those after the checkpoint).
  public var bootstrapImported: Int = 0
  /// Changesets the checkpoint it started from covers.
  public var bootstrapCheckpointCovers: UInt64 = 0
  /// Whether the new replica reached the same frontier and snapshot hash as KS.
  public var bootstrapAgrees = false
  /// Seconds KS spent in its weekly syncs over the whole run: about what
  /// replaying the decade from files would cost a new office.
  public var replaySeconds: Double = 0
  /// Changesets applied by KS as rejected (none expected: the workload keeps to the rights).
  public var rejected: Int = 0
  /// Tombstones KS purged from its merge state.
  public var purgedTombstones: Int = 0
}

public final class DecadeSimulation {
  let options: DecadeOptions
  let directory: URL
  let folder: SharedFolder
  /// 2027-01-04T08:00:00Z, a Monday.
  static let start: Int64 = 1_799_049_600_000
  static let week: Int64 = 7 * 86_400_000

  public init(_ options: DecadeOptions, directory: URL) {
    self.options = options
    self.directory = directory
    self.folder = SharedFolder(directory.appendingPathComponent("folder"))
  }

  /// A writer: an office that publishes signed changesets without a replica.
  struct Writer {
    var office: ReplicaID
    var key: SigningKey
    var sequence: UInt64 = 0
    var lamport: UInt64 = 0
    /// Its previous changeset's dependencies with its own entry at that number.
    var promise: VersionVector?
    var live: [String] = []
    var created = 0
  }

  public func run(progress: (String) -> Void = { _ in }) throws -> DecadeResult {
    var random = SeededRandom(seed: options.seed)
    // KS and the first others of the cooperation.
    // Beyond 13, every kommune on one folder (`Fixtures/kommuner-2024.json`).
    let cooperation = options.offices <= 13 ? Office.cooperation : try MunicipalStructure.load().offices
    let count = max(2, min(cooperation.count, options.offices))
    let slugs = cooperation.filter { $0.slug == "ks" } + cooperation.filter { $0.slug != "ks" }.prefix(count - 1)
    var keys: [ReplicaID: SigningKey] = [:]
    for office in slugs {
      keys[office.slug] = try SigningKey(seed: (0..<4).flatMap { _ in withUnsafeBytes(of: random.next()) { Array($0) } })
    }
    let roster = Roster(
      slugs.map {
        Roster.Member(
          office: $0.slug, name: $0.name, kind: $0.kind, isAdministrator: ["ks", "kdd"].contains($0.kind),
          keys: [keys[$0.slug]!.publicKey])
      })
    let ks = try Store.create(
      folder: folder, at: directory.appendingPathComponent("ks"), replica: "ks", schema: .planning, roster: roster,
      key: keys["ks"]!)
    try ks.setCheckpointInterval(0)  // the simulation decides when, below
    try ks.setRetention(.days(options.retentionDays))
    let storeID = ks.storeID
    // The writers' files, folded into packs and pruned as a store does.
    let packer = WriterPacker(folder: folder, storeID: storeID)
    try FileManager.default.createDirectory(at: folder.url.appendingPathComponent("heads"), withIntermediateDirectories: true)
    var writers = slugs.filter { $0.slug != "ks" }.map { Writer(office: $0.slug, key: keys[$0.slug]!) }
    var ksState = Writer(office: "ks", key: keys["ks"]!)

    // Everything published, and the highest Lamport stamp in it.
    var published = VersionVector()
    var publishedLamport: UInt64 = 0
    var totalFiles = 1 + slugs.count  // samhand.json and the heads, which stay
    var totalBytes: Int64 = 0
    var checkpointsWritten = 0
    var checkpointBytes: Int64 = 0
    var changesetsWritten = 0
    var lastCheckpoint: UInt64 = 0
    var newestCheckpointBytes = 0
    var result = DecadeResult()
    let retention = Int64(options.retentionDays) * 86_400_000
    let placeholderHash = String(repeating: "0", count: 64)

    for year in 1...options.years {
      let began = DispatchTime.now().uptimeNanoseconds
      for weekOfYear in 0..<options.weeksPerYear {
        let week = (year - 1) * options.weeksPerYear + weekOfYear
        let monday = DecadeSimulation.start + Int64(week) * DecadeSimulation.week
        let known = published
        let knownLamport = publishedLamport
        // The writers sync at the start of the week: their heads say so,
        // and they prune against the newest acknowledged checkpoint.
        for writer in writers {
          let head = Head(office: writer.office, frontier: known, snapshotHash: placeholderHash, timestamp: monday)
            .signed(by: writer.key)
          try head.canonicalJSON.write(to: folder.headURL(for: writer.office))
        }
        let stable = try ks.stability(in: folder, now: Date(timeIntervalSince1970: Double(monday) / 1000)).frontier
        if let (_, checkpoint, _) = ks.newestCheckpoint(in: folder, where: { $0.frontier.isIncluded(in: stable) }).found {
          for writer in writers {
            packer.prune(writer.office, covered: checkpoint.frontier[writer.office], cutoff: monday - retention)
          }
        }
        // A week's work, spread over the week.
        let spacing = DecadeSimulation.week / Int64(options.perWeek + 1)
        for index in writers.indices {
          var dependencies = known
          for number in 0..<options.perWeek {
            let time = monday + spacing * Int64(number + 1) + Int64(index)
            var writer = writers[index]
            writer.sequence += 1
            writer.lamport = max(writer.lamport, knownLamport) + 1
            dependencies[writer.office] = writer.sequence - 1
            let edits = DecadeSimulation.work(&writer, year: year, weekOfYear: weekOfYear, keep: options.minimumLiveCases, &random)
            let changeset = Changeset(
              storeID: storeID, author: writer.office, sequence: writer.sequence, dependencies: dependencies,
              lamport: writer.lamport, timestamp: time, edits: edits)
            // As an office's store writes it: against its previous promise.
            let bytes = ChangesetFile.encode(changeset, signedBy: writer.key, base: writer.promise)
            writer.promise = dependencies
            writer.promise?[writer.office] = writer.sequence
            let url = folder.changesetURL(changeset.id)
            if writer.sequence == 1 {
              try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            }
            try Data(bytes).write(to: url)
            // Folded into packs as an office's store folds its own files (layout 6).
            try packer.wrote(writer.sequence, of: writer.office, at: time, key: writer.key)
            changesetsWritten += 1
            totalFiles += 1
            totalBytes += Int64(bytes.count)
            writers[index] = writer
          }
        }
        // KS works through its own replica, then syncs at the end of the week.
        if weekOfYear == 0 {
          try ks.transact(timestamp: monday + 1) { tx in
            try tx.set("cases", "samarbeid-\(year)", "title", .text("Samarbeid om planveiledning \(2026 + year)"))
            for office in slugs { try tx.add("cases", "samarbeid-\(year)", "participants", office.slug.rawValue) }
          }
        }
        for number in 0..<options.perWeek {
          let time = monday + spacing * Int64(number + 1) + 50
          let edits = DecadeSimulation.work(&ksState, year: year, weekOfYear: weekOfYear, keep: options.minimumLiveCases, &random)
          try ks.transact(timestamp: time) { tx in for edit in edits { try tx.append(edit) } }
        }
        let synced = DispatchTime.now().uptimeNanoseconds
        let sunday = Date(timeIntervalSince1970: Double(monday + DecadeSimulation.week - 3_600_000) / 1000)
        let report = try ks.sync(with: folder, now: sunday)
        result.replaySeconds += Double(DispatchTime.now().uptimeNanoseconds - synced) / 1e9
        result.rejected += report.rejected.count
        result.purgedTombstones += report.purgedTombstones
        if let problem = report.maintenanceProblem { throw SamhandError(.io, "KS's maintenance failed: \(problem)") }
        for id in report.published {
          let bytes = try ks.changesetBytes(id) ?? []
          changesetsWritten += 1
          totalFiles += 1
          totalBytes += Int64(bytes.count)
          // Writers stamp above everything they have seen, KS's work too.
          ksState.lamport = max(ksState.lamport, try ChangesetFile.decode(bytes).lamport)
        }
        published = try ks.frontier()
        publishedLamport = max(publishedLamport, writers.map(\.lamport).max() ?? 0, ksState.lamport)
        // KS writes a checkpoint when the stable frontier has moved on enough.
        let stability = try ks.stability(in: folder, now: sunday)
        if stability.frontier.total >= lastCheckpoint + UInt64(options.interval) {
          let checkpoint = try ks.writeCheckpoint(to: folder, at: stability.frontier)
          // A checkpoint is used once two offices sign it. The writers hold
          // no state to build it from: the first one signs KS's bytes, as
          // the office whose turn it is would after building the same
          // bytes, and drops its signatures of checkpoints KS has pruned.
          let cosigner = writers[0]
          let signatures = folder.url.appendingPathComponent("checkpoints/\(cosigner.office.rawValue)")
          try FileManager.default.createDirectory(at: signatures, withIntermediateDirectories: true)
          for name in try FileManager.default.contentsOfDirectory(atPath: signatures.path) {
            let original = folder.url.appendingPathComponent("checkpoints/ks")
              .appendingPathComponent(String(name.dropLast("signature".count)) + "checkpoint")
            if !FileManager.default.fileExists(atPath: original.path) {
              try FileManager.default.removeItem(at: signatures.appendingPathComponent(name))
            }
          }
          try CheckpointSignature(office: cosigner.office, checkpointBytes: checkpoint.bytes, key: cosigner.key).canonicalJSON
            .write(to: signatures.appendingPathComponent(String(checkpoint.fileName.dropLast("checkpoint".count)) + "signature"))
          lastCheckpoint = checkpoint.frontier.total
          checkpointsWritten += 1
          newestCheckpointBytes = checkpoint.bytes.count
          totalFiles += 3
          totalBytes += Int64(newestCheckpointBytes)
          checkpointBytes += Int64(newestCheckpointBytes)
        }
      }
      let (files, bytes, changesetFiles) = DecadeSimulation.census(folder.url)
      let headsAndIdentity = DecadeSimulation.census(folder.url.appendingPathComponent("heads")).bytes
        + Int64((try? Data(contentsOf: folder.url.appendingPathComponent("samhand.json")).count) ?? 0)
      let year = DecadeYear(
        year: year, files: files, bytes: bytes, changesetFiles: changesetFiles, filesWithoutPruning: totalFiles,
        bytesWithoutPruning: totalBytes + headsAndIdentity, changesetFilesWithoutPruning: changesetsWritten,
        checkpointBytesWritten: checkpointBytes, changesets: Int(try ks.frontier().total),
        records: try ks.records(in: "cases").count, checkpoints: checkpointsWritten, checkpointBytes: newestCheckpointBytes,
        seconds: Double(DispatchTime.now().uptimeNanoseconds - began) / 1e9)
      result.years.append(year)
      progress(
        "year \(year.year): \(year.files) files (\(year.changesetFiles) changesets), \(year.bytes) bytes; without pruning \(year.filesWithoutPruning) files, \(year.bytesWithoutPruning) bytes; \(year.records) cases; \(String(format: "%.1f", year.seconds)) s")
    }

    // A new machine for an office joins in year ten.
    let joining = DispatchTime.now().uptimeNanoseconds
    let (fresh, report) = try Store.join(
      folder: folder, at: directory.appendingPathComponent("joiner"), replica: writers[0].office)
    result.bootstrapSeconds = Double(DispatchTime.now().uptimeNanoseconds - joining) / 1e9
    result.bootstrapImported = report.imported.count
    result.bootstrapCheckpointCovers = report.adoptedCheckpoint?.frontier.total ?? 0
    result.bootstrapAgrees = try fresh.frontier() == ks.frontier() && fresh.snapshotHash().1 == ks.snapshotHash().1
    return result
  }

  /// One changeset's edits for an office: mostly updates of its own cases,
  /// some new cases, some deletes of its oldest, now and then a shared one.
  static func work(_ writer: inout Writer, year: Int, weekOfYear: Int, keep: Int, _ random: inout SeededRandom) -> [Edit] {
    let office = writer.office.rawValue
    let roll = Int(random.next() % 100)
    let statuses = ["ny", "under-arbeid", "avsluttet"]
    if writer.live.isEmpty || roll < 20 {
      writer.created += 1
      let id = "sak-\(office)-\(writer.created)"
      writer.live.append(id)
      let record = RecordRef("cases", id)
      let kommuner = ["Stad", "Bergen", "Bodø", "Hamar", "Molde", "Arendal", "Tromsø", "Skien"]
      return [
        .set(record, field: "title", value: .text("Planveiledning \(writer.created) for \(office)")),
        .set(record, field: "kommune", value: .text(kommuner[Int(random.next() % UInt64(kommuner.count))])),
        .set(record, field: "status", value: .text("ny")),
        .set(record, field: "owner", value: .text(office)),
        .add(record, field: "participants", element: office),
      ]
    }
    if roll < 30, writer.live.count > keep {
      return [.delete(RecordRef("cases", writer.live.removeFirst()))]
    }
    if roll < 35, weekOfYear >= 2 {
      // The year's shared case, which KS makes in the first week.
      return [.set(RecordRef("cases", "samarbeid-\(year)"), field: "status", value: .text("innspill fra \(office)"))]
    }
    let id = writer.live[Int(random.next() % UInt64(writer.live.count))]
    return [
      .set(RecordRef("cases", id), field: "status", value: .text(statuses[Int(random.next() % 3)])),
      .set(RecordRef("cases", id), field: "notes", value: .text("Oppdatert uke \(weekOfYear + 1), år \(year)")),
    ]
  }

  /// Files under a folder, their bytes, and how many are changeset files.
  public static func census(_ url: URL) -> (files: Int, bytes: Int64, changesets: Int) {
    var files = 0
    var bytes: Int64 = 0
    var changesets = 0
    let enumerator = FileManager.default.enumerator(at: url, includingPropertiesForKeys: [.fileSizeKey, .isRegularFileKey])
    while let item = enumerator?.nextObject() as? URL {
      guard let values = try? item.resourceValues(forKeys: [.fileSizeKey, .isRegularFileKey]), values.isRegularFile == true else {
        continue
      }
      files += 1
      bytes += Int64(values.fileSize ?? 0)
      if item.pathExtension == ChangesetFile.fileExtension { changesets += 1 }
    }
    return (files, bytes, changesets)
  }
}
