import Foundation

/// Checkpoint files in the shared folder:
///
/// ```
/// F/checkpoints/<office>/<total>-<digest>.checkpoint   the state at a frontier
/// F/checkpoints/<office>/<total>-<digest>.signature    the office's signature of it
/// ```
///
/// An office writes only under its own name. Two offices that checkpoint
/// the same frontier write the same name and the same checkpoint bytes;
/// only their signature files differ. An office that vouches for a
/// checkpoint another office wrote, with the same bytes, writes only the
/// signature file under its own name (a co-signature): a checkpoint is used
/// once enough offices sign its exact bytes (`Docs/FORMATS.md` section 10).
extension SharedFolder {
  static let checkpointsDirectory = "checkpoints"

  var checkpointsURL: URL { url.appendingPathComponent(SharedFolder.checkpointsDirectory) }

  /// One checkpoint file found in the folder, not yet read.
  public struct CheckpointEntry: Sendable, Hashable {
    /// The office that wrote it.
    public var office: ReplicaID
    /// Its file name.
    public var name: String
    /// How many changesets its name says it covers.
    public var total: UInt64
    /// The checkpoint file.
    public var url: URL
    /// The signature file beside it (the writer's own).
    public var signatureURL: URL
    /// Every office's signature file of this name, its own among them, by
    /// office: each may sign these bytes or another copy's.
    public var signatures: [SignatureFile] = []
    /// The shared folder it is in, which reads it.
    var folder: SharedFolder

    /// The path relative to the shared folder.
    public var relativePath: String { "\(SharedFolder.checkpointsDirectory)/\(office.rawValue)/\(name)" }
  }

  /// One office's signature file of a checkpoint name, not yet read.
  public struct SignatureFile: Sendable, Hashable {
    /// The office whose folder holds it.
    public var office: ReplicaID
    /// The signature file.
    public var url: URL
  }

  /// The checkpoint files in the folder, those covering the most changesets first.
  ///
  /// Names Samhand does not write are passed over, as are folders that
  /// cannot be listed (there is then simply no checkpoint to use there).
  public func checkpoints() -> [CheckpointEntry] { checkpointListing().entries }

  /// The checkpoint files, and every signature file by the checkpoint name
  /// it signs (co-signatures without a checkpoint beside them included).
  func checkpointListing() -> (entries: [CheckpointEntry], signatures: [String: [SignatureFile]]) {
    // Links are not followed, here or below: the folder has none of its own.
    guard let offices = (try? exchange.list(SharedFolder.checkpointsDirectory)) ?? nil else { return ([], [:]) }
    var found: [CheckpointEntry] = []
    var signatures: [String: [SignatureFile]] = [:]
    for officeItem in offices.sorted(by: { $0.name < $1.name }) where officeItem.type == .directory {
      guard let office = ReplicaID(rawValue: officeItem.name) else { continue }
      let folder = checkpointsURL.appendingPathComponent(officeItem.name)
      let names = ((try? exchange.list("\(SharedFolder.checkpointsDirectory)/\(officeItem.name)")) ?? nil)?.map(\.name)
      for name in names ?? [] {
        if let checkpoint = SharedFolder.checkpointName(ofSignature: name) {
          signatures[checkpoint, default: []].append(SignatureFile(office: office, url: folder.appendingPathComponent(name)))
          continue
        }
        guard let total = Checkpoint.total(fromFileName: name) else { continue }
        found.append(
          CheckpointEntry(
            office: office, name: name, total: total, url: folder.appendingPathComponent(name),
            signatureURL: folder.appendingPathComponent(SharedFolder.signatureName(of: name)), folder: self))
      }
    }
    for index in found.indices { found[index].signatures = signatures[found[index].name] ?? [] }
    let entries = found.sorted { $0.total != $1.total ? $0.total > $1.total : ($0.name, $0.office) < ($1.name, $1.office) }
    return (entries, signatures)
  }

  /// The signature file's name for a checkpoint name.
  static func signatureName(of checkpoint: String) -> String {
    String(checkpoint.dropLast(Checkpoint.fileExtension.count)) + CheckpointSignature.fileExtension
  }

  /// The checkpoint name a signature file's name signs, or nil for any
  /// other name.
  static func checkpointName(ofSignature name: String) -> String? {
    guard name.hasSuffix("." + CheckpointSignature.fileExtension) else { return nil }
    let checkpoint = String(name.dropLast(CheckpointSignature.fileExtension.count)) + Checkpoint.fileExtension
    return Checkpoint.total(fromFileName: checkpoint) == nil ? nil : checkpoint
  }

  /// Writes a checkpoint and its signature under `office`'s name, each to a
  /// temporary name first; the signature last, so a reader never finds a
  /// signature of the writer's without its checkpoint.
  func writeCheckpoint(_ bytes: [UInt8], name: String, signature: CheckpointSignature) throws -> CheckpointEntry {
    let folder = checkpointsURL.appendingPathComponent(signature.office.rawValue)
    let url = folder.appendingPathComponent(name)
    let signatureURL = folder.appendingPathComponent(SharedFolder.signatureName(of: name))
    try replace(url, bytes)
    try replace(signatureURL, [UInt8](signature.canonicalJSON))
    var entry = CheckpointEntry(
      office: signature.office, name: name, total: Checkpoint.total(fromFileName: name) ?? 0, url: url,
      signatureURL: signatureURL, folder: self)
    entry.signatures = [SignatureFile(office: signature.office, url: signatureURL)]
    return entry
  }

  /// Writes only a signature file under the signer's name: a co-signature
  /// of a checkpoint another office wrote with the same bytes.
  func writeCheckpointSignature(name: String, signature: CheckpointSignature) throws {
    let folder = checkpointsURL.appendingPathComponent(signature.office.rawValue)
    try replace(folder.appendingPathComponent(SharedFolder.signatureName(of: name)), [UInt8](signature.canonicalJSON))
  }
}
