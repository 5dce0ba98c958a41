import ArgumentParser
import Foundation
import Samhand

extension SamhandCommand {
  struct CheckpointCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "checkpoint",
      abstract: "Write a checkpoint of the state every office has acknowledged.",
      discussion: """
        A checkpoint is the merged state at the stable frontier (the \
        changesets every active office's head says it has applied), \
        compressed and signed by this office, in \
        checkpoints/<office>/ of the shared folder. A new office starts \
        from the newest one instead of replaying every changeset, and \
        offices may prune changeset files a checkpoint covers (see \
        'samhand retention' and 'samhand prune'). Every office writes the \
        same bytes for the same frontier.

        Syncs write checkpoints by themselves once enough changesets have \
        become stable ('samhand retention --checkpoint-every N'); this \
        command writes one now. Offices whose head is older than the \
        retention do not hold the stable frontier back.

        A checkpoint is used (to start a new office, or to prune) only once \
        two active offices have signed its exact bytes, so that one member \
        alone cannot make new offices start from a false state. When \
        another office wrote the same bytes already, this office only adds \
        its signature (checkpoints/<office>/<name>.signature). Syncs do \
        that in turn by themselves; --cosign does it now for the newest \
        checkpoint inside this office's frontier, after building it and \
        comparing the bytes. Other bytes mean one of the two is not the \
        state the changesets make: this office then writes its own, and \
        'samhand verify' reports both.

        Examples:
          samhand checkpoint
          samhand checkpoint --cosign
          samhand checkpoint --store ~/samhand/ks --json
        """)

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("Use this copy of the shared folder instead of the one set at init.", valueName: "shared"))
    var folder: String?

    @Flag(help: "Sign the newest checkpoint another office wrote, once this office builds the same bytes, instead of writing one at the stable frontier.")
    var cosign = false

    func validate() throws {
      try FolderArgument.validate(folder)
      try global.validateStore()
    }

    func run() async throws {
      let store = try global.openStore()
      let shared = try Sync.folder(folder, of: store)
      if cosign { return try cosignNewest(store, shared) }
      let stability = try store.stability(in: shared)
      guard stability.frontier.total > 0 else {
        throw CommandFailure("nothing is stable yet: no changeset has been applied by every active office")
      }
      let checkpoint = try store.writeCheckpoint(to: shared, at: stability.frontier)
      let size = checkpoint.bytes.count
      let entries = shared.checkpoints().filter { $0.name == checkpoint.fileName }
      // Only a signature when another office wrote the same bytes before.
      let written = entries.first { $0.office == store.replica } ?? entries.first
      let path = written?.relativePath ?? "checkpoints/\(store.replica.rawValue)/\(checkpoint.fileName)"
      let cosigned = written.map { $0.office != store.replica } ?? false
      let signers = Set(entries.flatMap { $0.signatures.map(\.office) }).sorted()
      if global.json {
        Console.json(
          .object([
            "path": .string(path),
            "cosigned": .bool(cosigned),
            "signers": .array(signers.map { .string($0.rawValue) }),
            "frontier": checkpoint.frontier.jsonValue,
            "changesets": .integer(Int64(checkpoint.frontier.total)),
            "bytes": .integer(Int64(size)),
            "snapshot": .string(checkpoint.snapshotHash),
            "rows": .object(checkpoint.rowCounts.mapValues { .integer(Int64($0)) }),
            "stale": .array(stability.stale.map { .string($0.rawValue) }),
            "without_head": .array(stability.withoutHead.map { .string($0.rawValue) }),
          ]))
        return
      }
      Console.line(cosigned ? "Signed \(path), which \(written!.office) wrote with the same bytes" : "Wrote \(path)")
      Console.line("  signed by:  \(signers.map(\.rawValue).joined(separator: ", "))\(signers.count < 2 ? " (used once another office signs it too)" : "")")
      Console.line("  frontier:   \(checkpoint.frontier) (\(Words.count(Int(checkpoint.frontier.total), "changeset")))")
      Console.line("  size:       \(Words.count(size, "byte")), \(Words.count(checkpoint.rowCounts["entries"] ?? 0, "entry", plural: "entries"))")
      Console.line("  snapshot:   \(checkpoint.snapshotHash)")
      LongLifeText.printStability(stability)
    }

    private func cosignNewest(_ store: Store, _ shared: SharedFolder) throws {
      let name = try store.cosignNewestCheckpoint(in: shared)
      let entries = shared.checkpoints().filter { $0.name == name }
      let signers = Set(entries.flatMap { $0.signatures.map(\.office) }).sorted()
      let problems = name.map { Store.disagreeingCheckpoints(in: shared, names: [$0]) } ?? []
      if global.json {
        Console.json(
          .object([
            "checkpoint": name.map { .string($0) } ?? .null,
            "signers": .array(signers.map { .string($0.rawValue) }),
            "disagree": .array(problems.map { .string($0.reason) }),
          ]))
        return
      }
      guard let name else {
        Console.line("Nothing to sign: no checkpoint inside this office's frontier lacks its signature, or this office's would not count.")
        return
      }
      if let problem = problems.first {
        Console.line("This office builds other bytes at the frontier of \(name): it wrote its own.")
        Console.line("  \(problem.reason)")
        return
      }
      Console.line("Signed \(name)")
      Console.line("  signed by:  \(signers.map(\.rawValue).joined(separator: ", "))")
    }
  }

  struct Prune: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Delete this office's changeset files that a checkpoint covers and the retention lets go.",
      discussion: """
        Deletes this office's own changeset files (never another office's) \
        from the shared folder once a checkpoint that every active office \
        has acknowledged covers them and they are older than the retention, \
        and its own older checkpoints. Nothing is deleted while the \
        retention is 'keep everything' (the default), nor in a folder of \
        layout 2 ('samhand upgrade-folder'). The replica keeps its whole \
        history locally all the same, unless --forget-history: then it \
        also forgets the history the newest checkpoint it keeps covers \
        (the state does not change; log and snapshot --at no longer reach \
        before it). Syncs prune by themselves; this command does it now, \
        or shows what it would do.

        Examples:
          samhand prune --dry-run
          samhand prune --json
          samhand prune --forget-history
        """)

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("Use this copy of the shared folder instead of the one set at init.", valueName: "shared"))
    var folder: String?

    @Flag(help: "Only list what would be deleted.")
    var dryRun = false

    @Flag(help: "Also forget the local history that the newest checkpoint this replica keeps covers.")
    var forgetHistory = false

    func forget(_ store: Store) throws -> (Int, String?) {
      guard forgetHistory, !dryRun else { return (0, nil) }
      return try store.forgetHistory()
    }

    func validate() throws {
      try FolderArgument.validate(folder)
      try global.validateStore()
    }

    func run() async throws {
      let store = try global.openStore()
      let shared = try Sync.folder(folder, of: store)
      let report = try store.prune(shared, dryRun: dryRun)
      let (forgotten, covering) = try forget(store)
      if global.json {
        Console.json(
          .object([
            "dry_run": .bool(dryRun),
            "forgotten": .integer(Int64(forgotten)),
            "checkpoint": report.checkpoint.map { .string($0) } ?? .null,
            "removed": .array(report.removed.map { .string($0) }),
            "blocked": report.blocked.map { .string($0) } ?? .null,
          ]))
        return
      }
      if forgetHistory && !dryRun {
        Console.line(
          covering.map { "Forgot the local history of \(Words.count(forgotten, "changeset")) inside \($0)" }
            ?? "No history forgotten: this replica keeps no checkpoint inside its frontier yet ('samhand checkpoint')")
      }
      if let blocked = report.blocked {
        Console.line("Nothing pruned: \(blocked)")
        return
      }
      Console.line(
        "\(dryRun ? "Would delete" : "Deleted") \(Words.count(report.removed.count, "file")) covered by \(report.checkpoint ?? "?")")
      for path in report.removed.prefix(dryRun ? .max : 20) { Console.line("  \(path)") }
      if !dryRun && report.removed.count > 20 { Console.line("  … (\(report.removed.count - 20) more)") }
    }
  }

  struct RetentionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "retention",
      abstract: "Show or set how long this office keeps its changeset files in the shared folder.",
      discussion: """
        'keep-all' (the default) never deletes a changeset file. A number \
        of days lets this office delete its own files once a checkpoint \
        every active office has acknowledged covers them and they are that \
        old; an office whose head is older than that no longer holds \
        pruning back (it catches up from a checkpoint when it returns). \
        The replica keeps its whole history locally either way.

        --checkpoint-every sets how many newly stable changesets make a \
        sync write a checkpoint (default 1000, or 10 per active office \
        where that is more; 0 turns it off).

        Examples:
          samhand retention
          samhand retention 90
          samhand retention keep-all --checkpoint-every 5000
        """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("'keep-all', or a number of days.", valueName: "keep-all|days"))
    var value: String?

    @Option(help: ArgumentHelp("Newly stable changesets between automatic checkpoints.", valueName: "n"))
    var checkpointEvery: Int?

    func validate() throws {
      try global.validateStore()
      if let value { _ = try RetentionCommand.parse(value) }
      if let checkpointEvery, checkpointEvery < 0 {
        throw ValidationError("--checkpoint-every must be 0 or more, not \(checkpointEvery)")
      }
    }

    static func parse(_ text: String) throws -> Retention {
      let lower = text.lowercased()
      if ["keep-all", "all", "keep-everything", "forever"].contains(lower) { return .keepEverything }
      let digits = lower.hasSuffix("d") ? String(lower.dropLast()) : lower
      guard let days = Int(digits), days >= 0 else {
        throw ValidationError("'\(text)' is not a retention: give 'keep-all' or a number of days such as 90")
      }
      return .days(days)
    }

    func run() async throws {
      let store = try global.openStore()
      if let value { try store.setRetention(try RetentionCommand.parse(value)) }
      if let checkpointEvery { try store.setCheckpointInterval(checkpointEvery) }
      let retention = try store.retention()
      let interval = try store.checkpointInterval()
      if global.json {
        var days: JSONValue = .null
        if case .days(let number) = retention { days = .integer(Int64(number)) }
        Console.json(
          .object([
            "retention": .string(retention.description), "days": days, "checkpoint_every": .integer(Int64(interval)),
          ]))
        return
      }
      Console.line("Retention:         \(LongLifeText.describe(retention))")
      Console.line("Checkpoint every:  \(interval == 0 ? "off (only 'samhand checkpoint')" : Words.count(interval, "stable changeset"))")
    }
  }

  struct UpgradeFolder: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "upgrade-folder",
      abstract: "Raise a shared folder to the newest layout its roster allows (2 to 3, 4 or 5 to 6).",
      discussion: """
        Rewrites samhand.json with the newest folder layout the folder's \
        genesis roster allows, keeping the store, the schema and the \
        roster. Layout 3 lets offices prune (Samhand versions from before \
        checkpoints then refuse the folder, instead of waiting for ever for \
        files that were pruned); layout 5 lets changesets write their \
        dependencies against the office's previous changeset, which keeps \
        headers small with many offices; layout 6 lets each office fold \
        its older changeset files into a few pack files, which keeps the \
        folder small for sync tools (versions that read only an older \
        layout then refuse the folder). Run it once every office runs this \
        version. Running it again changes nothing. A layout 3 folder \
        stays at 3: its roster lets offices claim keys on first use, and \
        the pinned roster cannot change.

        Examples:
          samhand upgrade-folder
          samhand upgrade-folder --folder /mnt/delt
        """)

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("Upgrade this folder instead of the store's.", valueName: "shared"))
    var folder: String?

    func validate() throws {
      try FolderArgument.validate(folder)
      if folder == nil { try global.validateStore() }
    }

    func run() async throws {
      let shared = try folder.map { FolderArgument.folder($0) } ?? Sync.folder(nil, of: try global.openStore())
      let before = try shared.upgradeLayout()
      let after = try shared.identity().formatVersion
      if global.json {
        Console.json(.object(["folder": .string(shared.location), "before": .integer(Int64(before)), "layout": .integer(Int64(after))]))
        return
      }
      Console.line(
        before == after
          ? "\(shared.location) already has layout \(after)"
          : "\(shared.location): layout \(before) → \(after)\(UpgradeFolder.gains(from: before, to: after))")
    }

    /// What the offices may do in the new layout that they did not before.
    static func gains(from before: Int, to after: Int) -> String {
      var gains: [String] = []
      if before < 3 && after >= 3 { gains.append("offices may now prune it") }
      if before < 5 && after >= 5 { gains.append("offices now write compact dependencies") }
      if before < 6 && after >= 6 { gains.append("offices now fold their older changeset files into pack files") }
      return gains.isEmpty ? "" : "; " + gains.joined(separator: ", ")
    }
  }
}

/// Words for checkpoints, stability and retention.
enum LongLifeText {
  static func describe(_ retention: Retention) -> String {
    switch retention {
    case .keepEverything: "keep everything (no changeset file is deleted)"
    case .days(let days): "\(Words.count(days, "day")) once a checkpoint covers them"
    }
  }

  static func printStability(_ stability: Stability) {
    Console.line("  stable:     \(stability.frontier) (\(Words.count(Int(stability.frontier.total), "changeset")) every counted office has applied)")
    if !stability.behind.isEmpty {
      Console.line("  behind:     \(stability.behind.map(\.rawValue).joined(separator: ", ")) (holding the stable frontier back)")
    }
    if !stability.stale.isEmpty {
      Console.line("  silent:     \(stability.stale.map(\.rawValue).joined(separator: ", ")) (head older than the retention: not waited for)")
    }
    if !stability.withoutHead.isEmpty {
      Console.line("  not joined: \(stability.withoutHead.map(\.rawValue).joined(separator: ", ")) (no head: will start from a checkpoint)")
    }
  }
}
