import Foundation
import Samhand

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Writing to stdout and stderr.
enum Console {
  /// Prints a line for people on stdout.
  static func line(_ text: String = "") {
    print(text)
  }

  /// Prints without a newline and flushes, for prompts.
  static func prompt(_ text: String) {
    print(text, terminator: "")
    fflush(nil)  // all streams: stdout itself is not concurrency-safe to name
  }

  /// Writes `Error: <message>` to stderr, as argument-parser does.
  static func error(_ message: String) {
    writeToStandardError("Error: \(FileProblem.plainer(message, about: nil))\n")
  }

  /// Writes a library error to stderr: where (file, line, changeset, byte), then what.
  static func error(_ error: SamhandError) {
    var parts: [String] = []
    if let path = error.fileURL?.path, !error.message.contains(path) { parts.append(path) }
    if let line = error.line { parts.append("line \(line)") }
    if let changeset = error.changesetID, !error.message.contains(changeset.description) {
      parts.append("changeset \(changeset)")
    }
    if let offset = error.offset { parts.append("byte \(offset)") }
    let location = parts.isEmpty ? "" : parts.joined(separator: ", ") + ": "
    Console.error(location + FileProblem.plainer(error.message, about: error.fileURL))
    if let diagnosis = FileProblem.diagnose(error) { writeToStandardError("  \(diagnosis)\n") }
  }

  /// Writes `Warning: <message>` to stderr.
  static func warning(_ message: String) {
    writeToStandardError("Warning: \(message)\n")
  }

  static func writeToStandardError(_ text: String) {
    fflush(nil)  // all streams: stdout itself is not concurrency-safe to name
    FileHandle.standardError.write(Data(text.utf8))
  }

  /// Prints a JSON document on stdout, keys sorted, pretty-printed.
  static func json(_ value: JSONValue) {
    print(JSONText.encode(value, pretty: true))
  }

  /// Whether stderr is a terminal (for progress bars).
  static var standardErrorIsTerminal: Bool { isatty(STDERR_FILENO) == 1 }

  /// Whether stdin is a terminal (for interactive review).
  static var standardInputIsTerminal: Bool { isatty(STDIN_FILENO) == 1 }
}

/// JSON text from `JSONValue`: keys sorted by their bytes, two-space
/// indentation, only the characters JSON requires escaped.
enum JSONText {
  static func encode(_ value: JSONValue, pretty: Bool) -> String {
    var out = ""
    write(value, to: &out, indent: pretty ? "" : nil)
    return out
  }

  /// A string in JSON quotes, for showing text values unambiguously.
  static func quoted(_ text: String) -> String {
    var out = ""
    writeString(text, to: &out)
    return out
  }

  /// Writes `value`; `indent` is nil for compact output.
  private static func write(_ value: JSONValue, to out: inout String, indent: String?) {
    switch value {
    case .null: out += "null"
    case .bool(let flag): out += flag ? "true" : "false"
    case .integer(let integer): out += String(integer)
    case .number(let double):
      // Swift's shortest round-trip form (5.0, 0.1, 1e-07) is valid JSON.
      out += double.isFinite ? "\(double)" : "null"
    case .string(let string): writeString(string, to: &out)
    case .array(let items):
      guard !items.isEmpty else {
        out += "[]"
        return
      }
      out += "["
      let inner = indent.map { $0 + "  " }
      for (index, item) in items.enumerated() {
        if index > 0 { out += "," }
        if let inner { out += "\n" + inner }
        write(item, to: &out, indent: inner)
      }
      if let indent { out += "\n" + indent }
      out += "]"
    case .object(let fields):
      guard !fields.isEmpty else {
        out += "{}"
        return
      }
      out += "{"
      let inner = indent.map { $0 + "  " }
      let keys = fields.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
      for (index, key) in keys.enumerated() {
        if index > 0 { out += "," }
        if let inner { out += "\n" + inner }
        writeString(key, to: &out)
        out += indent == nil ? ":" : ": "
        write(fields[key]!, to: &out, indent: inner)
      }
      if let indent { out += "\n" + indent }
      out += "}"
    }
  }

  private static func writeString(_ string: String, to out: inout String) {
    out += "\""
    for scalar in string.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      case _ where scalar.value < 0x20:
        let hex = String(scalar.value, radix: 16)
        out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
      default: out.unicodeScalars.append(scalar)
      }
    }
    out += "\""
  }
}

/// Times for people (local time) and for machines (UTC, ISO 8601).
enum TimeText {
  private static let formatter: DateFormatter = {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone.current
    formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
    return formatter
  }()

  /// `2026-01-12 10:15:03` in the local time zone.
  static func local(milliseconds: Int64) -> String {
    formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
  }

  /// `2026-01-12T09:15:03.120Z`.
  static func iso(milliseconds: Int64) -> String {
    Timestamp.iso8601(milliseconds: milliseconds)
  }
}

/// Office display names from the cooperation's list.
enum OfficeNames {
  private static let names: [ReplicaID: String] = Dictionary(
    uniqueKeysWithValues: Office.cooperation.map { ($0.slug, $0.name) })

  /// `Vestland fylkeskommune`, or nil for an office not in the list.
  static func name(_ slug: ReplicaID) -> String? { names[slug] }

  /// `vestland (Vestland fylkeskommune)`, or the bare slug.
  static func labelled(_ slug: ReplicaID) -> String {
    guard let name = names[slug] else { return slug.rawValue }
    return "\(slug) (\(name))"
  }
}

/// Small English helpers.
enum Words {
  /// `1 changeset`, `3 changesets`.
  static func count(_ number: Int, _ noun: String, plural: String? = nil) -> String {
    "\(number) \(number == 1 ? noun : plural ?? noun + "s")"
  }
}

/// What a file error means, found by looking at the file system when the
/// error is shown: the local database reports a full disk as "disk I/O
/// error" and a folder it may not enter as a missing store, and Foundation
/// words a refused permission as "The operation could not be completed".
enum FileProblem {
  /// Foundation's vague wording, which hides the system's reason.
  static let vague = "The operation could not be completed"
  /// Less free space than this on the store's disk, with a database
  /// failure, means the disk is full: SQLite needs room for its journal.
  static let nearlyFull: UInt64 = 1 << 20

  /// `message` with Foundation's vague wording replaced by the system's
  /// reason for `url` (such as `Permission denied`), where one is found.
  static func plainer(_ message: String, about url: URL?) -> String {
    guard let range = message.range(of: vague) else { return message }
    // A missing file says nothing about why it could not be made.
    if let url, let code = refusal(reading: url.path), code != ENOENT && code != ENOTDIR {
      return String(message[..<range.lowerBound]) + String(cString: strerror(code))
    }
    var rest = message[range.upperBound...].drop { $0 == "." || $0 == " " }
    if rest.isEmpty { rest = message[range] }
    return String(message[..<range.lowerBound]) + String(rest)
  }

  /// The system's reason for a Foundation file error (`Permission
  /// denied`, `No space left on device`), for messages such as
  /// "cannot read PATH: <reason>"; the error's description otherwise.
  static func reason(_ error: any Error) -> String {
    if let code = systemCode(error) { return String(cString: strerror(code)) }
    return error.localizedDescription
  }

  /// The `errno` behind a Foundation file error, if it carries one.
  private static func systemCode(_ error: any Error, depth: Int = 0) -> Int32? {
    if let posix = error as? POSIXError { return posix.code.rawValue }
    let nsError = error as NSError
    if nsError.domain == NSPOSIXErrorDomain { return Int32(truncatingIfNeeded: nsError.code) }
    guard depth < 4, let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? any Error else { return nil }
    return systemCode(underlying, depth: depth + 1)
  }

  /// A line that says what is wrong with the store's disk or folder, for
  /// a database failure or a store that cannot be found; nil when
  /// nothing is found or for other errors.
  static func diagnose(_ error: SamhandError) -> String? {
    guard let url = error.fileURL, error.code == .storage || error.code == .storeNotFound else { return nil }
    // The store's folder, whether the error names it or its database file.
    let store =
      url.lastPathComponent.hasPrefix(Store.databaseFileName) ? url.deletingLastPathComponent() : url
    if error.code == .storeNotFound {
      guard let (paths, code) = refusals(store, need: R_OK | X_OK, files: []) else { return nil }
      return "User \(userName) may not look inside \(paths[0]) (\(String(cString: strerror(code)))), "
        + "so the store there cannot be seen."
    }
    // Only the database's own failures: the store's other storage errors
    // (a sync lock held too long) say what they mean.
    guard error.message.contains("database") else { return nil }
    // SQLite says "disk I/O error" or "unable to open database file" when it
    // cannot grow its journal or shared-memory index on a full disk.
    let message = error.message
    let maybeFull = ["full", "disk I/O error", "unable to open"].contains { message.contains($0) }
    if maybeFull, let free = freeBytes(store), free < nearlyFull {
      return "The disk holding \(store.path) is full (\(free / 1024) KiB free): "
        + "free some space and try again. Nothing committed is lost."
    }
    let files = ["", "-wal", "-shm"].map { store.appendingPathComponent(Store.databaseFileName + $0).path }
    if let (paths, code) = refusals(store, need: W_OK | X_OK, files: files) {
      // All of them: SQLite gives its -wal and -shm files the database's
      // mode, so fixing only the database would fail again.
      return "User \(userName) may not write \(paths.joined(separator: ", ")) (\(String(cString: strerror(code)))): "
        + "make the store folder and its files writable for this user "
        + "(chmod -R u+rwX \(store.path), or chown). Nothing committed is lost."
    }
    return nil
  }

  /// What this user may not use, with the system's reason for the first:
  /// the first of `folder`'s parents that it may not enter, else `folder`
  /// itself if it lacks `need`, and the `files` that exist and that it may
  /// not read (and write, when `need` asks for writing).
  private static func refusals(_ folder: URL, need: Int32, files: [String]) -> ([String], Int32)? {
    var ancestors: [String] = []
    var parent = folder.deletingLastPathComponent()
    while parent.path != "/" && !parent.path.isEmpty && ancestors.count < 64 {
      ancestors.insert(parent.path, at: 0)
      parent = parent.deletingLastPathComponent()
    }
    for path in ancestors where access(path, X_OK) != 0 && errno != ENOENT { return ([path], errno) }
    guard access(folder.path, F_OK) == 0 else { return nil }
    var refused: [String] = []
    var reason: Int32 = 0
    if access(folder.path, need) != 0 {
      refused.append(folder.path)
      reason = errno
    }
    let mode = need & W_OK != 0 ? R_OK | W_OK : R_OK
    for path in files where access(path, F_OK) == 0 && access(path, mode) != 0 {
      if refused.isEmpty { reason = errno }
      refused.append(path)
    }
    return refused.isEmpty ? nil : (refused, reason)
  }

  /// Why this user cannot read `path` (list it, for a folder), or nil if it can.
  private static func refusal(reading path: String) -> Int32? {
    var status = stat()
    guard stat(path, &status) == 0 else { return errno }
    if status.st_mode & S_IFMT == S_IFDIR {
      guard let directory = opendir(path) else { return errno }
      closedir(directory)
      return nil
    }
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { return errno }
    close(descriptor)
    return nil
  }

  /// Free bytes for this user on the disk holding `url` (or its nearest existing parent).
  private static func freeBytes(_ url: URL) -> UInt64? {
    var place = url
    for _ in 0..<64 {
      var info = statvfs()
      if statvfs(place.path, &info) == 0 { return UInt64(info.f_bavail) * UInt64(info.f_frsize) }
      guard place.path != "/" else { return nil }
      place = place.deletingLastPathComponent()
    }
    return nil
  }

  /// This user's name, for saying who lacks a permission.
  private static var userName: String {
    if let entry = getpwuid(geteuid()), let name = entry.pointee.pw_name { return String(cString: name) }
    return "uid \(geteuid())"
  }
}
