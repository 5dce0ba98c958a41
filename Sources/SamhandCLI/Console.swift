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
    writeToStandardError("Error: \(message)\n")
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
    Console.error(location + error.message)
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
