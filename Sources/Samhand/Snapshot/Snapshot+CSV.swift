import Foundation

// MARK: - Writing

extension Snapshot {
  /// The file names `writeCSV(to:delimiter:byteOrderMark:)` uses for the
  /// conflicts and the frontier; no collection may have these names.
  public static let csvReservedNames: Set<String> = ["conflicts", "frontier"]

  /// Writes the snapshot as CSV files, one per collection, into a folder.
  ///
  /// The folder gets `<collection>.csv` for every collection of the schema
  /// (even an empty one: a header row alone), `<collection>_<field>.csv`
  /// for every map field (`id`, `key`, `value`: one row per key, for pivot
  /// tables), `conflicts.csv` (one row per
  /// sibling of every open conflict) and `frontier.csv` (one row per
  /// office). The layout and the cell encoding are specified in
  /// `Docs/FORMATS.md`, section 6. In short:
  ///
  /// - UTF-8 with a byte order mark (so that Excel reads `æ ø å` right),
  ///   RFC 4180 quoting, CRLF line ends, a header row.
  /// - A collection file has the column `id`, then the schema's fields in
  ///   byte order. An absent field, `null` and an empty text are an empty
  ///   cell; dates are `YYYY-MM-DD`; booleans `true` / `false`.
  /// - A set is its elements in byte order joined by `|`, with `\` written
  ///   as `\\` and `|` as `\|` inside an element.
  /// - A map is a canonical JSON object (`{"agder":150000,"ks":250000}`).
  /// - With `;` as the delimiter (spreadsheets in Norwegian locales), numbers
  ///   outside maps are written with a decimal comma (`1,5`), as such
  ///   spreadsheets expect; with `,` or a tab, with a decimal point.
  ///
  /// The same snapshot always gives the same bytes. Files of the same name
  /// are replaced (each one atomically); other files in the folder are left
  /// alone.
  ///
  /// ```swift
  /// try store.snapshot().writeCSV(to: URL(fileURLWithPath: "rapport"), delimiter: ";")
  /// ```
  ///
  /// - Parameters:
  ///   - directory: the folder to write into; created if missing.
  ///   - delimiter: `,` (the default), `;` or a tab.
  ///   - byteOrderMark: whether each file starts with the UTF-8 byte order
  ///     mark `EF BB BF`. Excel needs it to read UTF-8; Python reads such
  ///     files with `encoding="utf-8-sig"`.
  /// - Throws: `SamhandError.invalidArgument` for another delimiter, or when a
  ///   collection is named `conflicts` or `frontier`; `SamhandError.io` when a
  ///   file cannot be written, or when a map's long table would have the
  ///   name of a collection (`a_b` beside collection `a` with map `b`).
  public func writeCSV(to directory: URL, delimiter: Character = ",", byteOrderMark: Bool = true) throws {
    for (name, bytes) in try csvFiles(delimiter: delimiter, byteOrderMark: byteOrderMark) {
      try AtomicFile.write(bytes, to: directory.appendingPathComponent(name))
    }
  }

  /// The CSV files `writeCSV` writes, by file name, in the order written.
  func csvFiles(delimiter: Character = ",", byteOrderMark: Bool = true) throws -> [(name: String, bytes: [UInt8])] {
    guard let separator = CSVWriter.Delimiter(delimiter) else {
      throw SamhandError(
        .invalidArgument, "the CSV delimiter must be ',', ';' or a tab, not '\(delimiter.unicodeScalars.map { $0.escaped(asASCII: true) }.joined())'")
    }
    for name in schema.collectionNames where Snapshot.csvReservedNames.contains(name) {
      throw SamhandError(
        .invalidArgument,
        "collection '\(name)' would be written to \(name).csv, which the CSV export uses for its \(name); rename the collection to export it as CSV",
        collection: name)
    }
    // Every file name once: a map's long table `<collection>_<field>` must
    // not meet a collection, or another map's table, of the same name.
    var owners: [String: String] = [:]
    for name in schema.collectionNames { owners[name] = "collection '\(name)'" }
    for name in schema.collectionNames {
      for (field, definition) in schema.collections[name]?.fields ?? [:] where definition.kind == .map {
        let table = "\(name)_\(field)"
        if let other = owners[table] {
          throw SamhandError(
            .invalidArgument,
            "the map field '\(field)' of collection '\(name)' would be written to \(table).csv, as \(other) is; rename one of them to export the snapshot as CSV",
            collection: name, field: field)
        }
        owners[table] = "the map field '\(field)' of collection '\(name)'"
      }
    }
    var files: [(name: String, bytes: [UInt8])] = []
    for name in schema.collectionNames {
      var writer = CSVWriter(delimiter: separator, byteOrderMark: byteOrderMark)
      let fields = (schema.collections[name]?.fields ?? [:]).sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
      writer.row(["id"] + fields.map(\.key))
      for record in records[name] ?? [] {
        writer.row([record.id] + fields.map { writer.cell(record.fields[$0.key]) })
      }
      files.append(("\(name).csv", writer.bytes))
      // Each map field also as a long table, one row per key, for pivot
      // tables: the spleiselag is projects_funding.csv (id, key, value).
      for (field, definition) in fields where definition.kind == .map {
        var long = CSVWriter(delimiter: separator, byteOrderMark: byteOrderMark)
        long.row(["id", "key", "value"])
        for record in records[name] ?? [] {
          guard case .map(let map)? = record.fields[field] else { continue }
          for key in map.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
            long.row([record.id, key, long.cell(map[key] ?? .null)])
          }
        }
        files.append(("\(name)_\(field).csv", long.bytes))
      }
    }

    var conflictsWriter = CSVWriter(delimiter: separator, byteOrderMark: byteOrderMark)
    conflictsWriter.row([
      "collection", "record", "field", "key", "kind", "position", "author", "sequence", "lamport", "time", "value",
      "deleted",
    ])
    for conflict in conflicts {
      for (index, sibling) in conflict.siblings.enumerated() {
        conflictsWriter.row([
          conflict.collection, conflict.recordID, conflict.field ?? "", conflict.key ?? "", conflict.kind.rawValue,
          String(index + 1), sibling.author.rawValue, String(sibling.sequence), String(sibling.lamport),
          Timestamp.iso8601(milliseconds: sibling.timestamp),
          conflict.kind == .value ? conflictsWriter.cell(sibling.value ?? .null) : "",
          conflict.kind == .delete ? String(sibling.deleted) : "",
        ])
      }
    }
    files.append(("conflicts.csv", conflictsWriter.bytes))

    var frontierWriter = CSVWriter(delimiter: separator, byteOrderMark: byteOrderMark)
    frontierWriter.row(["office", "sequence"])
    for entry in frontier.sorted { frontierWriter.row([entry.replica.rawValue, String(entry.counter)]) }
    files.append(("frontier.csv", frontierWriter.bytes))
    return files
  }
}

// MARK: - Cells

/// Builds one CSV file: RFC 4180 quoting, CRLF line ends.
struct CSVWriter {
  enum Delimiter {
    case comma, semicolon, tab

    init?(_ character: Character) {
      switch character {
      case ",": self = .comma
      case ";": self = .semicolon
      case "\t": self = .tab
      default: return nil
      }
    }

    var byte: UInt8 {
      switch self {
      case .comma: UInt8(ascii: ",")
      case .semicolon: UInt8(ascii: ";")
      case .tab: 0x09
      }
    }
  }

  let delimiter: Delimiter
  private(set) var bytes: [UInt8]

  init(delimiter: Delimiter, byteOrderMark: Bool) {
    self.delimiter = delimiter
    bytes = byteOrderMark ? [0xEF, 0xBB, 0xBF] : []
  }

  /// Appends a row; a cell is quoted when it holds the delimiter, a quote,
  /// CR or LF, and quotes inside are doubled.
  mutating func row(_ cells: [String]) {
    for (index, cell) in cells.enumerated() {
      if index > 0 { bytes.append(delimiter.byte) }
      let utf8 = cell.utf8
      let special: [UInt8] = [delimiter.byte, 0x22, 0x0D, 0x0A]
      let needsQuotes = utf8.contains { special.contains($0) }
      guard needsQuotes else {
        bytes.append(contentsOf: utf8)
        continue
      }
      bytes.append(0x22)
      for byte in utf8 {
        if byte == 0x22 { bytes.append(0x22) }
        bytes.append(byte)
      }
      bytes.append(0x22)
    }
    bytes.append(contentsOf: [0x0D, 0x0A])
  }

  /// A field's cell: empty when absent.
  func cell(_ field: FieldValue?) -> String {
    switch field {
    case nil: ""
    case .value(let value)?: cell(value)
    case .set(let elements)?: CSVWriter.setCell(elements)
    case .map(let map)?:
      map.isEmpty ? "" : CanonicalJSON.encode(.object(map.map { ($0.key, CanonicalJSON.node($0.value)) })).utf8String
    }
  }

  /// A scalar value's cell: `null` is empty, a number has a decimal comma
  /// when the delimiter is `;`.
  func cell(_ value: Value) -> String {
    switch value {
    case .null: return ""
    case .bool(let flag): return flag ? "true" : "false"
    case .integer(let integer): return String(integer)
    case .number:
      let text = CanonicalJSON.encode(value)
      return delimiter == .semicolon ? text.replacingOccurrences(of: ".", with: ",") : text
    case .text(let text): return text
    case .date(let day): return day.description
    }
  }

  /// A set's elements joined by `|`, with `\` and `|` escaped by `\`.
  static func setCell(_ elements: [String]) -> String {
    elements.map { element in
      var escaped = ""
      for character in element.unicodeScalars {
        if character == "\\" || character == "|" { escaped.unicodeScalars.append("\\") }
        escaped.unicodeScalars.append(character)
      }
      return escaped
    }.joined(separator: "|")
  }
}

extension Data {
  fileprivate var utf8String: String { String(decoding: self, as: UTF8.self) }
}
