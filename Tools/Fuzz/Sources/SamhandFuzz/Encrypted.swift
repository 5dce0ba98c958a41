// The targets of encrypted folders (`Docs/FORMATS.md` §15): key files
// (`keys/<administrator>.keys`), and changesets and checkpoints whose
// payload is sealed with a group key.
//
// `@testable`: the key file (`KeyringFile`), the wrapped keys in it, the
// sealing encoder of changesets and `Checkpoint.decodeHeader` are not
// public, and `package` does not reach this package (a package of its
// own). `Tools/fuzz.sh` builds in debug, which compiles Samhand with
// testing enabled.

import Crypto
import Foundation
@testable import Samhand

/// The group key the harness seals with, and a keyring that holds it.
/// `FuzzRegressionTests` decodes with the same key, so that the sealed
/// files the fuzzer finds replay there too.
let fuzzGroupKey = try! GroupKey(bytes: [UInt8](repeating: 0x2A, count: 32))
let fuzzKeyring = GroupKeyring([fuzzGroupKey])
/// The agreement key the harness unwraps key files with (that of a fixed
/// signing key), and the store it unwraps for.
let fuzzAgreementKey = AgreementKey(for: try! SigningKey(seed: [UInt8](repeating: 9, count: 32)))
let fuzzStoreID = StoreID(rawValue: "5a3d0c1e-2b4f-4e6a-9c7d-8e1f2a3b4c5d")!

/// The bytes of targets 12 and 13: a builder input (`ChangesetBuilder`),
/// sealed by the harness with `fuzzGroupKey`; or, when bit 4 of the
/// options byte (the first) is set, the rest as a whole file, its last 32
/// bytes replaced by the SHA-256 of the rest, whatever its flags say.
enum SealedInput {
  static let raw: UInt8 = 0b1_0000

  static func changeset(_ body: ArraySlice<UInt8>) -> [UInt8] {
    if let options = body.first, options & raw != 0 { return sealed(Array(body.dropFirst())) }
    return ChangesetBuilder.build(from: body, sealedWith: fuzzGroupKey)
  }

  static func checkpoint(_ body: ArraySlice<UInt8>) -> [UInt8] {
    if let options = body.first, options & raw != 0 { return sealed(Array(body.dropFirst())) }
    return ChangesetBuilder.buildCheckpoint(from: body, sealedWith: fuzzGroupKey)
  }
}

// MARK: - Checks

/// A key file, or a group key file (`samhand key export-group`).
func decodeKeyFile(_ bytes: [UInt8]) throws {
  do {
    _ = try KeyringFile(json: bytes, fileURL: nil)
  } catch {
    guard (try? GroupKeyring(fileText: String(decoding: bytes, as: UTF8.self))) != nil else { throw error }
  }
}

/// A key file that decodes holds the same after a round trip through its
/// canonical JSON (the entries sorted), which is then stable; a wrapping
/// that opens with the harness's agreement key gives the key it names.
func checkKeyring(_ bytes: [UInt8]) {
  checkGroupKeyText(bytes)
  guard let file = try? KeyringFile(json: bytes, fileURL: nil) else { return }
  let canonical = [UInt8](file.canonicalJSON)
  let again: KeyringFile
  do {
    again = try KeyringFile(json: canonical, fileURL: nil)
  } catch {
    fatalError("a decoded key file does not decode from its canonical JSON: \(error)")
  }
  func counted(_ wrapped: [WrappedGroupKey]) -> [WrappedGroupKey: Int] {
    Dictionary(wrapped.map { ($0, 1) }, uniquingKeysWith: +)
  }
  guard again.storeID == file.storeID, again.author == file.author, counted(again.wrapped) == counted(file.wrapped) else {
    fatalError("a key file changes in a round trip:\n\(file)\n\(again)")
  }
  guard [UInt8](again.canonicalJSON) == canonical else { fatalError("a key file's canonical JSON is not stable") }
  let stores = file.storeID == fuzzStoreID ? [fuzzStoreID] : [fuzzStoreID, file.storeID]
  for wrapped in file.wrapped.prefix(64) {
    for store in stores {
      guard let key = wrapped.unwrap(with: fuzzAgreementKey, store: store) else { continue }
      guard key.id == wrapped.keyID else {
        fatalError("a wrapped key opens to key \(key.id), not to the key \(wrapped.keyID) it names")
      }
    }
  }
}

/// A group key file that decodes reads the same from what it writes.
func checkGroupKeyText(_ bytes: [UInt8]) {
  guard let keyring = try? GroupKeyring(fileText: String(decoding: bytes, as: UTF8.self)) else { return }
  do {
    guard try GroupKeyring(fileText: keyring.fileText) == keyring else { fatalError("a group key file changes in a round trip") }
  } catch {
    fatalError("a decoded group key file does not decode from its text: \(error)")
  }
}

/// What decoding a file with and without the harness key may give.
///
/// A file in plain form (or whose header does not decode: `keyID` nil)
/// decodes alike with and without the key. A sealed one never decodes
/// without it; one that decodes with the key throws `.missingKey` without
/// it; one sealed with another key never decodes.
func checkKeyedOutcomes<Decoded: Equatable>(
  _ kind: String, keyID: GroupKeyID?, withKey: Result<Decoded, any Error>, without: Result<Decoded, any Error>
) {
  func code(_ result: Result<Decoded, any Error>) -> SamhandError.Code? {
    guard case .failure(let error) = result else { return nil }
    return (error as? SamhandError)?.code
  }
  guard let keyID else {
    switch (withKey, without) {
    case (.success(let first), .success(let second)) where first == second: return
    case (.failure, .failure) where code(withKey) == code(without): return
    default: fatalError("a \(kind) in plain form decodes differently with a group key: \(withKey) / \(without)")
    }
  }
  if case .success = without { fatalError("a sealed \(kind) decodes without its group key") }
  if case .success = withKey {
    guard code(without) == .missingKey else {
      fatalError("a sealed \(kind) that opens with its key fails without it other than as missing-key: \(without)")
    }
  }
  if keyID != fuzzGroupKey.id, case .success = withKey {
    fatalError("a \(kind) sealed with group key \(keyID) decodes with another")
  }
}

/// A changeset of an encrypted folder: see `checkKeyedOutcomes`. One that
/// decodes with the key, sealed again, decodes to the same, and only with
/// the key.
func checkEncryptedChangeset(_ bytes: [UInt8]) {
  let envelope = try? ChangesetFile.open(bytes)
  let keyID = envelope?.header.keyID
  let withKey = Result { try ChangesetFile.decode(bytes, keys: fuzzKeyring) }
  let without = Result { try ChangesetFile.decode(bytes) }
  checkKeyedOutcomes("changeset", keyID: keyID, withKey: withKey, without: without)
  if let envelope, !envelope.header.dependenciesResolved {
    _ = try? envelope.resolved(against: envelope.header.dependencies).changeset(keys: fuzzKeyring)
  }
  guard case .success(let changeset) = withKey else { return }
  guard keyID != nil else {
    checkChangeset(bytes)
    return
  }
  let again = ChangesetFile.encode(changeset, base: nil, sealedWith: fuzzGroupKey)
  do {
    guard try ChangesetFile.decode(again, keys: fuzzKeyring) == changeset else {
      fatalError("a sealed changeset changes in an encode/decode round trip")
    }
  } catch {
    fatalError("a decoded sealed changeset does not decode after sealing it again: \(error)")
  }
  do {
    _ = try ChangesetFile.decode(again)
    fatalError("a changeset sealed again decodes without its group key")
  } catch let error as SamhandError where error.code == .missingKey {
  } catch {
    fatalError("a changeset sealed again fails without its group key other than as missing-key: \(error)")
  }
  checkDependencyDelta(changeset)
}

/// A checkpoint of an encrypted folder: see `checkKeyedOutcomes`. One that
/// decodes keeps its key, encodes to the same bytes again (every office
/// writes the same file) and decodes to the same, and only with the key.
func checkEncryptedCheckpoint(_ bytes: [UInt8]) {
  _ = try? Checkpoint.decodeHeader(bytes, fileURL: nil, verifying: false)
  let keyID = (try? Checkpoint.header(of: bytes))?.keyID
  let withKey = Result { try Checkpoint(bytes: bytes, keys: fuzzKeyring) }
  let without = Result { try Checkpoint(bytes: bytes) }
  checkKeyedOutcomes("checkpoint", keyID: keyID, withKey: withKey, without: without)
  guard case .success(let checkpoint) = withKey else { return }
  guard checkpoint.groupKey?.id == keyID else { fatalError("a decoded checkpoint does not keep its group key") }
  let encoded = checkpoint.bytes
  let again: Checkpoint
  do {
    again = try Checkpoint(bytes: encoded, keys: fuzzKeyring)
  } catch {
    fatalError("a decoded sealed checkpoint does not decode after encoding: \(error)")
  }
  guard again == checkpoint, again.groupKey == checkpoint.groupKey else {
    fatalError("a sealed checkpoint changes in an encode/decode round trip")
  }
  guard again.bytes == encoded else { fatalError("a sealed checkpoint encodes to other bytes the second time") }
  guard keyID != nil else { return }
  do {
    _ = try Checkpoint(bytes: encoded)
    fatalError("a checkpoint sealed again decodes without its group key")
  } catch let error as SamhandError where error.code == .missingKey {
  } catch {
    fatalError("a checkpoint sealed again fails without its group key other than as missing-key: \(error)")
  }
}

// MARK: - Seeds

extension Tools {
  typealias Seed = (String, FuzzTarget, [UInt8]) throws -> Void

  /// Key files with the harness's group key wrapped for the harness's
  /// agreement key (and for another), and a group key file.
  static func keyringSeeds(_ seed: Seed) throws {
    let other = try GroupKey(bytes: Array(SHA256.hash(data: Array("samhand fuzz other group key".utf8))))
    let otherAgreement = AgreementKey(for: try SigningKey(seed: [UInt8](repeating: 11, count: 32)))
    func recipient(_ agreement: AgreementKey) -> [UInt8] { Array(agreement.key.publicKey.rawRepresentation) }
    let ks = ReplicaID(rawValue: "ks")!, vestland = ReplicaID(rawValue: "vestland")!
    let wrapped = [
      WrappedGroupKey.wrap(fuzzGroupKey, for: ks, recipient: recipient(fuzzAgreementKey), store: fuzzStoreID),
      WrappedGroupKey.wrap(other, for: ks, recipient: recipient(fuzzAgreementKey), store: fuzzStoreID),
      WrappedGroupKey.wrap(fuzzGroupKey, for: vestland, recipient: recipient(otherAgreement), store: fuzzStoreID),
    ].compactMap { $0 }
    guard wrapped.count == 3, wrapped[0].unwrap(with: fuzzAgreementKey, store: fuzzStoreID) == fuzzGroupKey else {
      throw Failure(description: "the harness's group key does not wrap and unwrap")
    }
    try seed("ks.keys", .keyring, [UInt8](KeyringFile(storeID: fuzzStoreID, author: ks, wrapped: wrapped).canonicalJSON))
    try seed("ks-one.keys", .keyring, [UInt8](KeyringFile(storeID: fuzzStoreID, author: ks, wrapped: [wrapped[0]]).canonicalJSON))
    try seed("group-keys", .keyring, Array(GroupKeyring([fuzzGroupKey, other]).fileText.utf8))
  }

  /// A golden changeset in plain form as builder input for sealing, and
  /// sealed by Samhand with the harness key.
  static func encryptedChangesetSeeds(_ label: String, _ bytes: [UInt8], _ seed: Seed) throws {
    guard let body = ChangesetBuilder.sealedBody(of: bytes) else {
      throw Failure(description: "golden changeset \(label) does not decode")
    }
    try seed(label, .encryptedChangeset, body)
    let sealedFile = ChangesetFile.encode(try ChangesetFile.decode(bytes), signedBy: fuzzKey, base: nil, sealedWith: fuzzGroupKey)
    try seed(label + "-raw", .encryptedChangeset, [SealedInput.raw] + sealedFile)
  }

  /// A golden checkpoint in plain form as builder input for sealing, and
  /// sealed by Samhand with the harness key.
  static func encryptedCheckpointSeeds(_ label: String, _ bytes: [UInt8], _ seed: Seed) throws {
    let (header, payloadRange, expected) = try Checkpoint.decodeHeader(bytes, fileURL: nil)
    let headerStart = Checkpoint.magic.count + 2 + 4
    guard header.keyID == nil, bytes[headerStart] == 0,
      let payload = ChangesetBuilder.uncompress(bytes[payloadRange], size: expected.size)
    else { throw Failure(description: "golden checkpoint \(label) is sealed or does not inflate") }
    let prefix = bytes[(headerStart + 1)..<header.sealContextEnd]  // without the flags
    guard prefix.count <= 255 else { throw Failure(description: "golden checkpoint \(label): header too long for a seed") }
    try seed(label, .encryptedCheckpoint, [0, 0, UInt8(prefix.count)] + prefix + payload)
    var checkpoint = try Checkpoint(bytes: bytes)
    checkpoint.groupKey = fuzzGroupKey
    try seed(label + "-raw", .encryptedCheckpoint, [SealedInput.raw] + checkpoint.bytes)
  }
}
