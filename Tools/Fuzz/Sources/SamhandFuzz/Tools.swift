import Crypto
import Foundation
import Samhand

/// What `Tools/fuzz.sh` asks of the harness besides fuzzing, through the
/// environment (libFuzzer owns the command line):
///
/// - `SAMHAND_FUZZ_TOOL=seeds`: writes a seed corpus to `SAMHAND_FUZZ_OUT`
///   from the golden shared folder `SAMHAND_FUZZ_GOLDEN` (its changesets and
///   `samhand.json`, heads made from its changesets and, when it is there,
///   the golden snapshot next to it) and the schema file `SAMHAND_FUZZ_SCHEMA`,
///   and for the targets of encrypted folders key files made by the
///   harness and those changesets and checkpoints sealed with its group key.
/// - `SAMHAND_FUZZ_TOOL=materialize`: writes the bytes the decoder was given
///   for the fuzzer input `SAMHAND_FUZZ_IN` to `SAMHAND_FUZZ_OUT` plus an
///   extension naming the decoder (`.changeset`, `.head.json`,
///   `.samhand.json`, `.schema.json`, `.checkpoint`, `.signature`, `.pack`,
///   `.keys`), and prints that path.
enum Tools {
  struct Failure: Error, CustomStringConvertible {
    var description: String
  }

  static func run(_ tool: String, environment: [String: String]) throws {
    func value(_ name: String) throws -> String {
      guard let value = environment[name], !value.isEmpty else { throw Failure(description: "\(name) is not set") }
      return value
    }
    switch tool {
    case "seeds":
      let count = try writeSeeds(
        golden: URL(fileURLWithPath: try value("SAMHAND_FUZZ_GOLDEN")),
        schema: URL(fileURLWithPath: try value("SAMHAND_FUZZ_SCHEMA")),
        to: URL(fileURLWithPath: try value("SAMHAND_FUZZ_OUT")))
      print("samhand-fuzz: wrote \(count) seeds")
    case "materialize":
      let input = FuzzInput(try read(URL(fileURLWithPath: try value("SAMHAND_FUZZ_IN"))))
      let path = try value("SAMHAND_FUZZ_OUT") + "." + input.target.fileExtension
      try Data(input.decoderBytes).write(to: URL(fileURLWithPath: path))
      print(path)
    default:
      throw Failure(description: "unknown tool '\(tool)' (known: seeds, materialize)")
    }
  }

  static func read(_ url: URL) throws -> [UInt8] { [UInt8](try Data(contentsOf: url)) }

  // MARK: - Seeds

  static func writeSeeds(golden: URL, schema: URL, to corpus: URL) throws -> Int {
    let manager = FileManager.default
    try manager.createDirectory(at: corpus, withIntermediateDirectories: true)
    var count = 0
    func seed(_ name: String, _ target: FuzzTarget, _ body: [UInt8]) throws {
      let input = FuzzInput(target: target, body: body)
      // A seed that does not decode would only teach the fuzzer errors.
      do {
        switch target {
        case .changeset, .sealedChangeset, .builtChangeset: _ = try ChangesetFile.decode(input.decoderBytes)
        case .head: _ = try Head(json: input.decoderBytes)
        case .identity: _ = try SharedFolder.Identity(json: input.decoderBytes)
        case .schema: _ = try Schema(json: Data(input.decoderBytes))
        case .checkpoint, .sealedCheckpoint: _ = try Checkpoint(bytes: input.decoderBytes)
        case .checkpointSignature: _ = try CheckpointSignature(json: input.decoderBytes)
        case .pack, .signedPack: _ = try PackFile.decode(input.decoderBytes)
        case .keyring: try decodeKeyFile(input.decoderBytes)
        case .encryptedChangeset: _ = try ChangesetFile.decode(input.decoderBytes, keys: fuzzKeyring)
        case .encryptedCheckpoint: _ = try Checkpoint(bytes: input.decoderBytes, keys: fuzzKeyring)
        }
      } catch {
        throw Failure(description: "seed \(name) for target \(target) does not decode: \(error)")
      }
      try Data(input.bytes).write(to: corpus.appendingPathComponent("seed-\(target.rawValue)-\(name)"))
      count += 1
    }

    // Changesets: as they are, for resealing, and as builder input.
    var changesets: [Changeset] = []
    let changesetsURL = golden.appendingPathComponent("changesets")
    // Format 2 files (dependencies against the previous changeset) are
    // golden beside the folder: `golden/v2/changesets`.
    let formatTwoURL = golden.deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("v2/changesets")
    var officeURLs = try manager.contentsOfDirectory(atPath: changesetsURL.path).sorted().map {
      changesetsURL.appendingPathComponent($0)
    }
    if manager.fileExists(atPath: formatTwoURL.path) {
      officeURLs += try manager.contentsOfDirectory(atPath: formatTwoURL.path).sorted().map {
        formatTwoURL.appendingPathComponent($0)
      }
    }
    for officeURL in officeURLs {
      let office = (officeURL.path.contains("/v2/") ? "v2-" : "") + officeURL.lastPathComponent
      for name in try manager.contentsOfDirectory(atPath: officeURL.path).sorted() where name.hasSuffix(".changeset") {
        let bytes = try read(officeURL.appendingPathComponent(name))
        let label = "\(office)-\(name)"
        try seed(label, .changeset, bytes)
        try seed(label, .sealedChangeset, bytes)
        guard let body = ChangesetBuilder.body(of: bytes) else {
          throw Failure(description: "golden changeset \(office)/\(name) does not decode")
        }
        try seed(label, .builtChangeset, body)
        var stored = body
        stored[0] |= 1  // the same, stored uncompressed
        try seed(label + "-stored", .builtChangeset, stored)
        try encryptedChangesetSeeds(label, bytes, seed)
        changesets.append(try ChangesetFile.decode(bytes))
      }
    }
    guard !changesets.isEmpty else { throw Failure(description: "no changesets under \(changesetsURL.path)") }

    // samhand.json, and its schema in canonical form.
    let identityBytes = try read(golden.appendingPathComponent("samhand.json"))
    try seed("samhand.json", .identity, identityBytes)
    let identity = try SharedFolder.Identity(json: identityBytes)
    try seed("canonical", .schema, [UInt8](identity.schema.canonicalJSON))
    try seed("schema.json", .schema, try read(schema))

    // Heads, as offices would write them for the golden folder.
    var frontier = VersionVector()
    for changeset in changesets {
      frontier[changeset.author] = max(frontier[changeset.author], changeset.sequence)
    }
    let snapshotURL = golden.deletingLastPathComponent().appendingPathComponent("snapshot.json")
    let snapshotHash = hex(SHA256.hash(data: (try? read(snapshotURL)) ?? []))
    let latest = changesets.map(\.timestamp).max() ?? 0
    for (index, office) in Set(changesets.map(\.author)).sorted().enumerated() {
      let full = Head(office: office, frontier: frontier, snapshotHash: snapshotHash, timestamp: latest + Int64(index))
      try seed("\(office)", .head, [UInt8](full.canonicalJSON))
      // Signed, as this Samhand writes heads (a key made from the slug).
      let key = try SigningKey(seed: Array(SHA256.hash(data: Array(office.rawValue.utf8))))
      try seed("\(office)-signed", .head, [UInt8](full.signed(by: key).canonicalJSON))
      var own = VersionVector()
      own[office] = frontier[office]
      let alone = Head(
        office: office, frontier: own, snapshotHash: hex(SHA256.hash(data: Array(office.rawValue.utf8))),
        timestamp: latest - 86_400_000)
      try seed("\(office)-alone", .head, [UInt8](alone.canonicalJSON))
    }
    // The golden pack, as it is and for re-signing.
    let pack = golden.deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("pack-\(PackFile.formatVersion)/changesets/vestland/000000000001-000000000003.pack")
    if manager.fileExists(atPath: pack.path) {
      let bytes = try read(pack)
      try seed("vestland-pack", .pack, bytes)
      try seed("vestland-pack", .signedPack, bytes)
    }
    // Checkpoints and their signatures, from the golden layout folder
    // beside: the newest there is (a new layout's may not be made yet).
    let goldenRoot = golden.deletingLastPathComponent().deletingLastPathComponent()
    let layout =
      stride(from: SharedFolder.formatVersion, through: 1, by: -1)
      .map { goldenRoot.appendingPathComponent("layout-\($0)/folder/checkpoints") }
      .first { manager.fileExists(atPath: $0.path) } ?? goldenRoot.appendingPathComponent("layout-\(SharedFolder.formatVersion)")
    for office in (try? manager.contentsOfDirectory(atPath: layout.path))?.sorted() ?? [] {
      let officeURL = layout.appendingPathComponent(office)
      for name in try manager.contentsOfDirectory(atPath: officeURL.path).sorted() {
        let bytes = try read(officeURL.appendingPathComponent(name))
        if name.hasSuffix(".checkpoint") {
          try seed("\(office)-\(name)", .checkpoint, bytes)
          try seed("\(office)-\(name)", .sealedCheckpoint, bytes)
          try encryptedCheckpointSeeds("\(office)-\(name)", bytes, seed)
        } else if name.hasSuffix(".signature") {
          try seed("\(office)-\(name)", .checkpointSignature, bytes)
        }
      }
    }
    try keyringSeeds(seed)
    return count
  }

  static func hex<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
    bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
  }
}
