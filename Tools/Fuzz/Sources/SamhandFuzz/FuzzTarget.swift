// libFuzzer entry point for every decoder that reads the shared folder.
//
// The first byte of an input picks the decoder (modulo the number of
// targets); the rest is what the decoder reads:
//
//   0  changeset file, as it is
//   1  changeset file with its whole-file SHA-256 recomputed, so that
//      mutations reach the header, signature block and inflate
//   2  changeset file built by the harness from a fuzzed header and an
//      uncompressed payload (see `ChangesetBuilder`), so that mutations
//      reach the edits
//   3  head file (`heads/<office>.json`)
//   4  `samhand.json`
//   5  schema JSON
//   6  checkpoint file
//   7  checkpoint file with its checksum recomputed
//   8  checkpoint signature file
//   9  pack file, as it is
//  10  pack file re-signed by the harness (its last 96 bytes replaced by
//      the harness key and its signature), so that mutations reach the
//      changesets inside
//  11  key file of an encrypted folder (`keys/<administrator>.keys`), or
//      a group key file (`samhand key export-group`)
//  12  changeset file sealed with the harness's group key: built by the
//      harness as for 2, the payload sealed, so that mutations reach the
//      decryption, inflate and the edits; or (options bit 4) a whole file
//      as for 1, whatever its flags say (see `SealedInput`)
//  13  checkpoint file sealed with the harness's group key, built or
//      whole as for 12
//
// Targets 11 to 13 are in `Encrypted.swift`. New targets go at the end, so
// that the inputs in `Fixtures/fuzz-regressions` keep their meaning (the
// first byte is taken modulo the number of targets: an input whose first
// byte is 11 or more meant another target before there were 14).
//
// A decoder may throw; it must not crash, hang or allocate without bound
// (`Tools/fuzz.sh` runs libFuzzer with `-rss_limit_mb`, `-malloc_limit_mb`
// and `-timeout`). What decodes must also survive a round trip through its
// encoder unchanged, otherwise the harness stops with a message.
//
// No `@main` and no top-level code: libFuzzer provides `main`.

import Crypto
import Foundation
import Samhand

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

@_cdecl("LLVMFuzzerTestOneInput")
public func samhandFuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  guard let data, size > 0 else { return 0 }
  let input = FuzzInput(Array(UnsafeBufferPointer(start: data, count: size)))
  switch input.target {
  case .changeset, .sealedChangeset, .builtChangeset: checkChangeset(input.decoderBytes)
  case .head: checkHead(input.decoderBytes)
  case .identity: checkIdentity(input.decoderBytes)
  case .schema: checkSchema(input.decoderBytes)
  case .checkpoint, .sealedCheckpoint: checkCheckpoint(input.decoderBytes)
  case .checkpointSignature: checkCheckpointSignature(input.decoderBytes)
  case .pack, .signedPack: checkPack(input.decoderBytes)
  case .keyring: checkKeyring(input.decoderBytes)
  case .encryptedChangeset: checkEncryptedChangeset(input.decoderBytes)
  case .encryptedCheckpoint: checkEncryptedCheckpoint(input.decoderBytes)
  }
  return 0
}

/// Runs a tool instead of fuzzing when `SAMHAND_FUZZ_TOOL` is set (see
/// `Tools.run`); libFuzzer calls this once before anything else.
@_cdecl("LLVMFuzzerInitialize")
public func samhandFuzzInitialize(_ argc: UnsafeMutableRawPointer?, _ argv: UnsafeMutableRawPointer?) -> CInt {
  let environment = ProcessInfo.processInfo.environment
  guard let tool = environment["SAMHAND_FUZZ_TOOL"] else { return 0 }
  do {
    try Tools.run(tool, environment: environment)
    exit(0)
  } catch {
    FileHandle.standardError.write(Data("samhand-fuzz: \(tool): \(error)\n".utf8))
    exit(2)
  }
}

// MARK: - Inputs

/// Which decoder an input is for.
enum FuzzTarget: UInt8, CaseIterable {
  case changeset, sealedChangeset, builtChangeset, head, identity, schema, checkpoint, sealedCheckpoint, checkpointSignature
  case pack, signedPack
  case keyring, encryptedChangeset, encryptedCheckpoint

  /// The file name extension of what the decoder reads, for reproducers.
  var fileExtension: String {
    switch self {
    case .changeset, .sealedChangeset, .builtChangeset: "changeset"
    case .head: "head.json"
    case .identity: "samhand.json"
    case .schema: "schema.json"
    case .checkpoint, .sealedCheckpoint: "checkpoint"
    case .checkpointSignature: "signature"
    case .pack, .signedPack: "pack"
    case .keyring: "keys"
    case .encryptedChangeset: "changeset"
    case .encryptedCheckpoint: "checkpoint"
    }
  }
}

/// One fuzzer input: a target byte, then the target's bytes.
struct FuzzInput {
  var target: FuzzTarget
  var body: ArraySlice<UInt8>

  init(_ bytes: [UInt8]) {
    target = FuzzTarget(rawValue: (bytes.first ?? 0) % UInt8(FuzzTarget.allCases.count))!
    body = bytes.dropFirst()
  }

  init(target: FuzzTarget, body: [UInt8]) {
    self.target = target
    self.body = body[...]
  }

  var bytes: [UInt8] { [target.rawValue] + body }

  /// The bytes the decoder is given: what a file in the folder would hold.
  var decoderBytes: [UInt8] {
    switch target {
    case .changeset, .head, .identity, .schema, .checkpoint, .checkpointSignature: Array(body)
    case .sealedChangeset, .sealedCheckpoint: sealed(Array(body))
    case .builtChangeset: ChangesetBuilder.build(from: body)
    case .pack: Array(body)
    case .signedPack: resigned(Array(body))
    case .keyring: Array(body)
    case .encryptedChangeset: SealedInput.changeset(body)
    case .encryptedCheckpoint: SealedInput.checkpoint(body)
    }
  }
}

/// The bytes with their last 32 replaced by the SHA-256 of the rest, as a
/// writer of a changeset file would end it.
func sealed(_ bytes: [UInt8]) -> [UInt8] {
  guard bytes.count >= 32 else { return bytes }
  let content = bytes.dropLast(32)
  return Array(content) + Array(SHA256.hash(data: content))
}

/// The bytes of a pack with their last 96 replaced by the harness key and
/// its signature, as a writer would end them.
func resigned(_ bytes: [UInt8]) -> [UInt8] {
  guard bytes.count >= 96 else { return bytes }
  let content = Array(bytes.dropLast(96)) + fuzzKey.publicKey.rawValue
  return content + fuzzKey.sign(Array("samhand pack 1\n".utf8) + content)
}

// MARK: - Checks

/// A pack that decodes holds what it encodes to again, and each changeset in
/// it goes to the changeset checks.
func checkPack(_ bytes: [UInt8]) {
  guard let pack = try? PackFile.decode(bytes) else { return }
  let again = PackFile.encode(storeID: pack.storeID, office: pack.office, first: pack.first, members: pack.members, signedBy: fuzzKey)
  do {
    let decoded = try PackFile.decode(again, name: pack.first...pack.last)
    guard decoded.members == pack.members, decoded.office == pack.office, decoded.storeID == pack.storeID else {
      fatalError("a pack changes in an encode/decode round trip")
    }
  } catch {
    fatalError("a decoded pack does not decode after encoding: \(error)")
  }
  for member in pack.members.prefix(8) { checkChangeset(member) }
}

func checkChangeset(_ bytes: [UInt8]) {
  _ = try? ChangesetFile.decodeHeader(bytes)
  _ = try? ChangesetFile.signedBytes(of: bytes)
  guard let changeset = try? ChangesetFile.decode(bytes) else { return }
  let again: Changeset
  do {
    again = try ChangesetFile.decode(ChangesetFile.encode(changeset))
  } catch {
    fatalError("a decoded changeset does not decode after encoding: \(error)")
  }
  guard again == changeset else {
    fatalError("a changeset changes in an encode/decode round trip:\n\(changeset)\n\(again)")
  }
  if let envelope = try? ChangesetFile.open(bytes), !envelope.header.dependenciesResolved {
    _ = try? envelope.resolved(against: envelope.header.dependencies)
  }
  checkDependencyDelta(changeset)
}

/// Written against a base its dependencies include (the author's previous
/// changeset and half the others, lower), a changeset must resolve back to
/// its dependencies.
func checkDependencyDelta(_ changeset: Changeset) {
  guard changeset.sequence > 1 else { return }
  var base = VersionVector()
  for (index, entry) in changeset.dependencies.counters.sorted(by: { $0.key < $1.key }).enumerated()
  where index % 2 == 0 || entry.key == changeset.author {
    base[entry.key] = entry.key == changeset.author ? changeset.sequence - 1 : max(1, entry.value / 2)
  }
  let bytes = ChangesetFile.encode(changeset, signedBy: fuzzKey, base: base)
  do {
    let resolved = try ChangesetFile.open(bytes).resolved(against: base)
    guard resolved.header.dependencies == changeset.dependencies else {
      fatalError("dependencies written against a base resolve to others:\n\(changeset.dependencies)\n\(resolved.header.dependencies)")
    }
  } catch {
    fatalError("a changeset written against a base does not resolve: \(error)")
  }
}

let fuzzKey = try! SigningKey(seed: [UInt8](repeating: 7, count: 32))

func checkHead(_ bytes: [UInt8]) {
  guard let head = try? Head(json: bytes) else { return }
  let again: Head
  do {
    again = try Head(json: [UInt8](head.canonicalJSON))
  } catch {
    fatalError("a decoded head does not decode from its canonical JSON: \(error)")
  }
  guard again == head else { fatalError("a head changes in a round trip:\n\(head)\n\(again)") }
}

func checkIdentity(_ bytes: [UInt8]) {
  guard let identity = try? SharedFolder.Identity(json: bytes) else { return }
  let again: SharedFolder.Identity
  do {
    again = try SharedFolder.Identity(json: [UInt8](identity.canonicalJSON))
  } catch {
    fatalError("a decoded samhand.json does not decode from its canonical JSON: \(error)")
  }
  guard again == identity else { fatalError("samhand.json changes in a round trip:\n\(identity)\n\(again)") }
}

func checkSchema(_ bytes: [UInt8]) {
  guard let schema = try? Schema(json: Data(bytes)) else { return }
  let again: Schema
  do {
    again = try Schema(json: schema.canonicalJSON)
  } catch {
    fatalError("a decoded schema does not decode from its canonical JSON: \(error)")
  }
  guard again == schema else { fatalError("a schema changes in a round trip:\n\(schema)\n\(again)") }
}

func checkCheckpoint(_ bytes: [UInt8]) {
  _ = try? Checkpoint.header(of: bytes)
  guard let checkpoint = try? Checkpoint(bytes: bytes) else { return }
  let again: Checkpoint
  do {
    again = try Checkpoint(bytes: checkpoint.bytes)
  } catch {
    fatalError("a decoded checkpoint does not decode after encoding: \(error)")
  }
  guard again == checkpoint else { fatalError("a checkpoint changes in an encode/decode round trip") }
}

func checkCheckpointSignature(_ bytes: [UInt8]) {
  guard let signature = try? CheckpointSignature(json: bytes) else { return }
  let again: CheckpointSignature
  do {
    again = try CheckpointSignature(json: [UInt8](signature.canonicalJSON))
  } catch {
    fatalError("a decoded checkpoint signature does not decode from its canonical JSON: \(error)")
  }
  guard again == signature else { fatalError("a checkpoint signature changes in a round trip") }
}
