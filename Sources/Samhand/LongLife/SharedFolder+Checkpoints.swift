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
/// only their signature files differ.
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
    /// The signature file beside it.
    public var signatureURL: URL
    /// The shared folder it is in, which reads it.
    var folder: SharedFolder

    /// The path relative to the shared folder.
    public var relativePath: String { "\(SharedFolder.checkpointsDirectory)/\(office.rawValue)/\(name)" }
  }

  /// The checkpoint files in the folder, those covering the most changesets first.
  ///
  /// Names Samhand does not write are passed over, as are folders that
  /// cannot be listed (there is then simply no checkpoint to use there).
  public func checkpoints() -> [CheckpointEntry] {
    // Links are not followed, here or below: the folder has none of its own.
    guard let offices = (try? exchange.list(SharedFolder.checkpointsDirectory)) ?? nil else { return [] }
    var found: [CheckpointEntry] = []
    for officeItem in offices where officeItem.type == .directory {
      guard let office = ReplicaID(rawValue: officeItem.name) else { continue }
      let folder = checkpointsURL.appendingPathComponent(officeItem.name)
      let names = ((try? exchange.list("\(SharedFolder.checkpointsDirectory)/\(officeItem.name)")) ?? nil)?.map(\.name)
      for name in names ?? [] {
        guard let total = Checkpoint.total(fromFileName: name) else { continue }
        let signature = String(name.dropLast(Checkpoint.fileExtension.count)) + CheckpointSignature.fileExtension
        found.append(
          CheckpointEntry(
            office: office, name: name, total: total, url: folder.appendingPathComponent(name),
            signatureURL: folder.appendingPathComponent(signature), folder: self))
      }
    }
    return found.sorted { $0.total != $1.total ? $0.total > $1.total : ($0.name, $0.office) < ($1.name, $1.office) }
  }

  /// Writes a checkpoint and its signature under `office`'s name, each to a
  /// temporary name first; the signature last, so a reader never finds a
  /// signature without its checkpoint.
  func writeCheckpoint(_ bytes: [UInt8], name: String, signature: CheckpointSignature) throws -> CheckpointEntry {
    let folder = checkpointsURL.appendingPathComponent(signature.office.rawValue)
    let url = folder.appendingPathComponent(name)
    let signatureURL = folder.appendingPathComponent(
      String(name.dropLast(Checkpoint.fileExtension.count)) + CheckpointSignature.fileExtension)
    try replace(url, bytes)
    try replace(signatureURL, [UInt8](signature.canonicalJSON))
    return CheckpointEntry(
      office: signature.office, name: name, total: Checkpoint.total(fromFileName: name) ?? 0, url: url,
      signatureURL: signatureURL, folder: self)
  }
}
