import Foundation

extension SamhandError.Code {
  /// A file or a value is larger than a documented limit (`Docs/FORMATS.md`,
  /// section 1): it is not read, or the changeset holding it is rejected.
  public static let tooLarge = Self(rawValue: "too-large")
  /// A name in the shared folder is not a regular file or folder (a
  /// symbolic link, a FIFO, a device, a socket): it is not followed or opened.
  public static let unsafeFile = Self(rawValue: "unsafe-file")
}

extension SamhandError {
  /// Larger than a documented limit; see ``SamhandError/Code/tooLarge``.
  public static let tooLarge = Code.tooLarge
  /// Not a regular file; see ``SamhandError/Code/unsafeFile``.
  public static let unsafeFile = Code.unsafeFile
}

/// The kinds of file Samhand reads from a shared folder, each with the
/// largest size it reads (`Docs/FORMATS.md`, section 1, "Limits").
///
/// Anyone who can write to the shared folder can drop a file there, so
/// nothing is read before its type and size are known: a symbolic link is
/// never followed, a FIFO or device never opened, and a file over its
/// limit is set aside with its size in the reason, without reading it.
public enum FolderFileKind: String, Sendable, CaseIterable {
  /// `changesets/<office>/<seq>.changeset` (and conflict copies of it).
  case changeset
  /// `changesets/<office>/<first>-<last>.pack`.
  case pack
  /// `checkpoints/<office>/<name>.checkpoint`.
  case checkpoint
  /// `checkpoints/<office>/<name>.signature`.
  case checkpointSignature
  /// `heads/<office>.json`.
  case head
  /// `samhand.json`.
  case identity
  /// `keys/<administrator>.keys` in an encrypted folder.
  case keyring

  /// The largest file of this kind that is read, in bytes.
  public var limit: Int {
    switch self {
    // The largest payload (64 MiB) that does not compress, and a header
    // and signature block far larger than any roster makes them.
    case .changeset: 72 * 1024 * 1024
    // Writers keep packs under 64 MiB; one changeset may be larger.
    case .pack: 80 * 1024 * 1024
    case .checkpoint: Checkpoint.maximumFileSize
    case .checkpointSignature: 64 * 1024
    case .head: 1024 * 1024
    case .identity: 16 * 1024 * 1024
    // About 400 bytes a wrapped key: 16 MiB is 40,000 of them.
    case .keyring: 16 * 1024 * 1024
    }
  }

  /// The kind in words, for messages.
  var noun: String {
    switch self {
    case .changeset: "a changeset file"
    case .pack: "a pack file"
    case .checkpoint: "a checkpoint file"
    case .checkpointSignature: "a checkpoint signature file"
    case .head: "a head file"
    case .identity: "samhand.json"
    case .keyring: "a key file"
    }
  }
}
