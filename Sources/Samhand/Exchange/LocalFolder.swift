import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The exchange as a directory on this machine: an SMB share, or a folder
/// that OneDrive, Dropbox or Syncthing keeps in step with the other offices.
///
/// Nothing is read before its type and size are known (`lstat`): a symbolic
/// link is never followed, a FIFO or device never opened. Files are written
/// to a temporary name in the same folder, flushed, then renamed into place
/// (replace) or hard-linked (create-only: `link` fails if the name exists).
public struct LocalFolder: Exchange, Hashable {
  public let url: URL

  /// The folder at `url` (a file URL); nothing is read or checked yet.
  public init(_ url: URL) { self.url = url.standardizedFileURL }

  func fileURL(_ path: String) -> URL { path.isEmpty ? url : url.appendingPathComponent(path) }

  public func list(_ directory: String) throws -> [ExchangeItem]? {
    let folder = fileURL(directory)
    guard let info = LocalFolder.status(folder.path, name: folder.lastPathComponent) else { return nil }
    guard info.type == .directory else {
      throw SamhandError(
        .unsafeFile,
        info.type == .symbolicLink
          ? "\(folder.lastPathComponent) is a symbolic link: Samhand does not follow links in the shared folder"
          : "\(folder.lastPathComponent) is \(info.typeName), not a folder",
        fileURL: folder)
    }
    let names: [String]
    do {
      names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
    } catch {
      throw SamhandError(.io, "cannot list \(folder.path): \(AtomicFile.reason(error))", fileURL: folder)
    }
    // A name removed between the listing and its lstat is simply gone.
    return names.compactMap { LocalFolder.status(folder.appendingPathComponent($0).path, name: $0) }
  }

  public func read(_ path: String, kind: FolderFileKind, prefix: Int?) throws -> [UInt8]? {
    let url = fileURL(path)
    guard let before = LocalFolder.status(url.path, name: url.lastPathComponent) else {
      if errno == ENOENT || errno == ENOTDIR { return nil }
      throw SamhandError(.io, "cannot read \(url.path): \(String(cString: strerror(errno)))", fileURL: url)
    }
    if let refusal = before.refusal(as: kind) {
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
    // Checked again once open, so a name swapped in between is caught.
    let opened = LocalFolder.item(of: info, name: url.lastPathComponent)
    if let refusal = opened.refusal(as: kind) {
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

  public func create(_ path: String, _ bytes: [UInt8]) throws -> Bool {
    try AtomicFile.write(bytes, to: fileURL(path), replace: false)
  }

  public func replace(_ path: String, _ bytes: [UInt8]) throws {
    try AtomicFile.write(bytes, to: fileURL(path), replace: true)
  }

  public func delete(_ path: String) throws {
    let url = fileURL(path)
    guard unlink(url.path) == 0 || errno == ENOENT else {
      throw SamhandError(.io, "cannot delete \(url.path): \(String(cString: strerror(errno)))", fileURL: url)
    }
  }

  // MARK: - lstat

  /// What `lstat` says of `path` (a link is not followed), or nil when
  /// nothing is there (`errno` says why).
  static func status(_ path: String, name: String) -> ExchangeItem? {
    var info = stat()
    guard lstat(path, &info) == 0 else { return nil }
    return item(of: info, name: name)
  }

  private static func item(of info: stat, name: String) -> ExchangeItem {
    let type: ExchangeItem.FileType
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
    return ExchangeItem(
      name: name, type: type, size: type == .directory ? 0 : Int64(info.st_size),
      modified: seconds * 1_000_000 + nanoseconds / 1000)
  }
}

private func systemRead(_ descriptor: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
  #if canImport(Glibc)
    Glibc.read(descriptor, buffer, count)
  #else
    Darwin.read(descriptor, buffer, count)
  #endif
}
