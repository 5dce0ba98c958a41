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
  /// - Returns: false when `replace` is false and something was already
  ///   there (nothing was written); true otherwise.
  /// - Throws: `SamhandError.io` naming the file (or the folder, when no
  ///   file can be made in it) and the system's reason, such as `No space
  ///   left on device` or `Permission denied`. The destination is then
  ///   untouched and no temporary file is left behind.
  @discardableResult
  static func write(_ bytes: [UInt8], to url: URL, replace: Bool = true) throws -> Bool {
    let directory = url.deletingLastPathComponent()
    try makeDirectory(directory)
    let temporary = directory.appendingPathComponent(
      "\(temporaryPrefix)\(url.lastPathComponent).\(UUID().uuidString.prefix(8).lowercased())\(temporarySuffix)")
    let descriptor = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
    guard descriptor >= 0 else {
      // Name the folder: that is where the permission or the space is lacking,
      // and the temporary name means nothing to people.
      let reason = String(cString: strerror(errno))
      throw SamhandError(
        .io, "cannot write \(url.lastPathComponent) into \(directory.path): \(reason)", fileURL: directory)
    }
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
      if result != 0 { return false }
    }
    syncDirectory(directory)
    return true
  }

  /// Creates `directory` and any missing parents, like `mkdir -p`.
  ///
  /// - Throws: `SamhandError.io` naming the folder that could not be
  ///   made (the first missing one) and the system's reason, such as
  ///   `Permission denied` or `No space left on device`.
  static func makeDirectory(_ directory: URL) throws {
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue {
      return
    }
    let parent = directory.deletingLastPathComponent()
    if parent.path != directory.path { try makeDirectory(parent) }
    if mkdir(directory.path, 0o777) != 0 {
      let code = errno
      // Made meanwhile by another process: fine if it is a folder.
      if code == EEXIST, FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory),
        isDirectory.boolValue
      {
        return
      }
      throw SamhandError(
        .io, "cannot create folder \(directory.path): \(String(cString: strerror(code)))", fileURL: directory)
    }
  }

  /// The system's reason for a Foundation file error, such as
  /// `Permission denied`, rather than Foundation's vaguer wording
  /// ("The operation could not be completed"); the error's own
  /// description when it carries no system error.
  static func reason(_ error: any Error) -> String {
    if let code = systemCode(error) { return String(cString: strerror(code)) }
    return error.localizedDescription
  }

  /// The `errno` behind a Foundation file error, if it carries one.
  private static func systemCode(_ error: any Error, depth: Int = 0) -> Int32? {
    if let posix = error as? POSIXError { return posix.code.rawValue }
    let nsError = error as NSError
    if nsError.domain == NSPOSIXErrorDomain { return Int32(truncatingIfNeeded: nsError.code) }
    // On Linux the underlying error is a Swift error, not always an NSError.
    guard depth < 4, let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? any Error else { return nil }
    return systemCode(underlying, depth: depth + 1)
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
      throw SamhandError(.io, "cannot read \(url.path): \(reason(error))", fileURL: url)
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
