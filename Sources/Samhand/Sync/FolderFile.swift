import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

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
  /// `checkpoints/<office>/<name>.checkpoint`.
  case checkpoint
  /// `checkpoints/<office>/<name>.signature`.
  case checkpointSignature
  /// `heads/<office>.json`.
  case head
  /// `samhand.json`.
  case identity

  /// The largest file of this kind that is read, in bytes.
  public var limit: Int {
    switch self {
    // The largest payload (64 MiB) that does not compress, and a header
    // and signature block far larger than any roster makes them.
    case .changeset: 72 * 1024 * 1024
    case .checkpoint: Checkpoint.maximumFileSize
    case .checkpointSignature: 64 * 1024
    case .head: 1024 * 1024
    case .identity: 16 * 1024 * 1024
    }
  }

  /// The kind in words, for messages.
  var noun: String {
    switch self {
    case .changeset: "a changeset file"
    case .checkpoint: "a checkpoint file"
    case .checkpointSignature: "a checkpoint signature file"
    case .head: "a head file"
    case .identity: "samhand.json"
    }
  }
}

/// Reading files from the shared folder: type and size first.
enum FolderFile {
  /// What `lstat` says of a name: its type, size and modification time.
  struct Status {
    enum FileType: Equatable {
      case regular, directory, symbolicLink, fifo, device, socket, other
    }
    var type: FileType
    var size: Int64
    /// Microseconds since 1970.
    var modified: Int64

    /// The type in words, for messages.
    var typeName: String {
      switch type {
      case .regular: "a file"
      case .directory: "a folder"
      case .symbolicLink: "a symbolic link"
      case .fifo: "a FIFO (named pipe)"
      case .device: "a device"
      case .socket: "a socket"
      case .other: "not a regular file"
      }
    }
  }

  /// The status of `path` itself (a symbolic link is not followed), or nil
  /// when nothing is there.
  static func status(_ path: String) -> Status? {
    var info = stat()
    guard lstat(path, &info) == 0 else { return nil }
    return status(of: info)
  }

  private static func status(of info: stat) -> Status {
    let type: Status.FileType
    switch info.st_mode & S_IFMT {
    case S_IFREG: type = .regular
    case S_IFDIR: type = .directory
    case S_IFLNK: type = .symbolicLink
    case S_IFIFO: type = .fifo
    case S_IFCHR, S_IFBLK: type = .device
    case S_IFSOCK: type = .socket
    default: type = .other
    }
    #if canImport(Darwin)
      let seconds = Int64(info.st_mtimespec.tv_sec), nanoseconds = Int64(info.st_mtimespec.tv_nsec)
    #else
      let seconds = Int64(info.st_mtim.tv_sec), nanoseconds = Int64(info.st_mtim.tv_nsec)
    #endif
    return Status(type: type, size: Int64(info.st_size), modified: seconds * 1_000_000 + nanoseconds / 1000)
  }

  /// Why a name found in the folder is not read, or nil when it is a
  /// regular file within the limit of its kind.
  static func refusal(_ status: Status, kind: FolderFileKind) -> String? {
    guard status.type == .regular else {
      return status.type == .symbolicLink
        ? "a symbolic link: Samhand does not follow links in the shared folder"
        : "\(status.typeName), not a regular file: not opened"
    }
    guard status.size <= Int64(kind.limit) else {
      return "\(status.size) bytes, over the limit of \(kind.limit) bytes for \(kind.noun): not read"
    }
    return nil
  }

  /// Reads a whole file of the shared folder, refusing anything that is not
  /// a regular file within its kind's limit, without reading it.
  ///
  /// The type and size are checked before opening (`lstat`), the file is
  /// opened without following a link and without blocking on a FIFO, and
  /// checked again once open, so a name swapped in between is caught; no
  /// more than the limit is ever read.
  ///
  /// - Throws: `SamhandError.unsafeFile` for a link, FIFO, device, socket
  ///   or folder; `.tooLarge` for a file over the limit; `.io` when it
  ///   cannot be read.
  static func read(_ url: URL, kind: FolderFileKind) throws -> [UInt8] {
    try read(url, kind: kind, prefix: nil)
  }

  /// The first `count` bytes of a file, with the same checks as
  /// ``read(_:kind:)`` (a shorter file gives all its bytes).
  static func readPrefix(_ url: URL, count: Int, kind: FolderFileKind) throws -> [UInt8] {
    try read(url, kind: kind, prefix: count)
  }

  private static func read(_ url: URL, kind: FolderFileKind, prefix: Int?) throws -> [UInt8] {
    guard let before = status(url.path) else {
      throw SamhandError(.io, "cannot read \(url.path): \(String(cString: strerror(errno)))", fileURL: url)
    }
    if let refusal = refusal(before, kind: kind) {
      throw SamhandError(before.type == .regular ? .tooLarge : .unsafeFile, refusal, fileURL: url)
    }
    let descriptor = open(url.path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
    guard descriptor >= 0 else {
      let code = errno
      if code == ELOOP {
        throw SamhandError(.unsafeFile, "a symbolic link: Samhand does not follow links in the shared folder", fileURL: url)
      }
      throw SamhandError(.io, "cannot read \(url.path): \(String(cString: strerror(code)))", fileURL: url)
    }
    defer { close(descriptor) }
    var info = stat()
    guard fstat(descriptor, &info) == 0 else {
      throw SamhandError(.io, "cannot read \(url.path): \(String(cString: strerror(errno)))", fileURL: url)
    }
    let opened = status(of: info)
    if let refusal = refusal(opened, kind: kind) {
      throw SamhandError(opened.type == .regular ? .tooLarge : .unsafeFile, refusal, fileURL: url)
    }
    // Read at most one byte past the limit: a file that grew since it was
    // looked at is refused, not read whole.
    var bytes = [UInt8](repeating: 0, count: prefix.map { min($0, Int(opened.size)) } ?? Int(opened.size) + 1)
    var filled = 0
    while filled < bytes.count {
      let count = bytes.withUnsafeMutableBytes { buffer in
        systemRead(descriptor, buffer.baseAddress! + filled, buffer.count - filled)
      }
      if count < 0 {
        if errno == EINTR { continue }
        throw SamhandError(.io, "cannot read \(url.path): \(String(cString: strerror(errno)))", fileURL: url)
      }
      if count == 0 { break }
      filled += count
      if filled == bytes.count, prefix == nil, filled <= kind.limit {
        // Still growing: read on, up to the limit.
        bytes.append(contentsOf: repeatElement(0, count: min(64 * 1024, kind.limit + 1 - filled)))
      }
    }
    guard filled <= kind.limit else {
      throw SamhandError(
        .tooLarge, "over the limit of \(kind.limit) bytes for \(kind.noun) (it grew while being read): not read", fileURL: url)
    }
    bytes.removeLast(bytes.count - filled)
    return bytes
  }

  /// The names in a folder of the shared folder, or an error when it is a
  /// symbolic link or not a folder. A link to a folder is not followed:
  /// the folder's layout is Samhand's own, with no links in it.
  static func listDirectory(_ url: URL) throws -> [String] {
    guard let info = status(url.path) else {
      throw SamhandError(.io, "cannot list \(url.path): \(String(cString: strerror(errno)))", fileURL: url)
    }
    guard info.type == .directory else {
      throw SamhandError(
        .unsafeFile,
        info.type == .symbolicLink
          ? "\(url.lastPathComponent) is a symbolic link: Samhand does not follow links in the shared folder"
          : "\(url.lastPathComponent) is \(info.typeName), not a folder",
        fileURL: url)
    }
    do {
      return try FileManager.default.contentsOfDirectory(atPath: url.path)
    } catch {
      throw SamhandError(.io, "cannot list \(url.path): \(AtomicFile.reason(error))", fileURL: url)
    }
  }
}

private func systemRead(_ descriptor: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
  #if canImport(Glibc)
    Glibc.read(descriptor, buffer, count)
  #else
    Darwin.read(descriptor, buffer, count)
  #endif
}
