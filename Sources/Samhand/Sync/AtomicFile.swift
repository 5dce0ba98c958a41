import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Writes files the way every writer into a shared folder must: to a
/// temporary name in the same directory, flushed to disk, then renamed.
enum AtomicFile {
  /// The prefix and suffix of our temporary files; readers skip such names.
  static let temporaryPrefix = ".samhand-"
  static let temporarySuffix = ".tmp"

  /// Writes `bytes` to `url` atomically, replacing any file there; with
  /// `replace` false, only creates the file if nothing is there (an
  /// existing file is left as it is, and that is not an error).
  ///
  /// - Throws: `SamhandError.io` naming the file and the system's reason
  ///   (for example a full disk or a read-only folder). The destination is
  ///   then untouched and no temporary file is left behind.
  static func write(_ bytes: [UInt8], to url: URL, replace: Bool = true) throws {
    let directory = url.deletingLastPathComponent()
    do {
      try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    } catch {
      throw SamhandError(.io, "cannot create folder \(directory.path): \(error.localizedDescription)", fileURL: directory)
    }
    let temporary = directory.appendingPathComponent(
      "\(temporaryPrefix)\(url.lastPathComponent).\(UUID().uuidString.prefix(8).lowercased())\(temporarySuffix)")
    let descriptor = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
    guard descriptor >= 0 else { throw systemError("cannot create", temporary) }
    var written = 0
    var failure: SamhandError?
    bytes.withUnsafeBytes { buffer in
      while written < buffer.count {
        let result = systemWrite(descriptor, buffer.baseAddress! + written, buffer.count - written)
        if result < 0 {
          if errno == EINTR { continue }
          failure = systemError("cannot write", url)
          return
        }
        written += result
      }
    }
    if failure == nil, fsync(descriptor) != 0 { failure = systemError("cannot flush", url) }
    if close(descriptor) != 0, failure == nil { failure = systemError("cannot close", url) }
    if let failure {
      unlink(temporary.path)
      throw failure
    }
    if replace {
      guard rename(temporary.path, url.path) == 0 else {
        let error = systemError("cannot rename into place", url)
        unlink(temporary.path)
        throw error
      }
    } else {
      // link() fails if the name exists: create-if-absent, atomically.
      let result = link(temporary.path, url.path)
      let linkErrno = errno
      unlink(temporary.path)
      if result != 0 && linkErrno != EEXIST {
        errno = linkErrno
        throw systemError("cannot create", url)
      }
    }
    syncDirectory(directory)
  }

  /// Flushes a directory so a rename in it survives a power cut.
  static func syncDirectory(_ directory: URL) {
    let descriptor = open(directory.path, O_RDONLY)
    guard descriptor >= 0 else { return }
    fsync(descriptor)
    close(descriptor)
  }

  static func systemError(_ what: String, _ url: URL) -> SamhandError {
    let reason = String(cString: strerror(errno))
    return SamhandError(.io, "\(what) \(url.path): \(reason)", fileURL: url)
  }

  /// Reads a whole file.
  static func read(_ url: URL) throws -> [UInt8] {
    do {
      return [UInt8](try Data(contentsOf: url))
    } catch {
      throw SamhandError(.io, "cannot read \(url.path): \(error.localizedDescription)", fileURL: url)
    }
  }
}

private func systemWrite(_ descriptor: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
  #if canImport(Glibc)
    Glibc.write(descriptor, buffer, count)
  #else
    Darwin.write(descriptor, buffer, count)
  #endif
}
