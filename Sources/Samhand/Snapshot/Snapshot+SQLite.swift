import Foundation
import GRDB

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

// MARK: - Writing

extension Snapshot {
  /// The version of the SQLite export's layout, in `snapshot_info.format`
  /// and in the database header's `user_version`.
  public static let sqliteFormatVersion = 1

  /// The database header's `application_id` of a SQLite export: `SHND`.
  public static let sqliteApplicationID: Int32 = 0x5348_4E44

  /// Tables of the SQLite export that are not a collection or a set or map
  /// field; no collection or field table may have these names.
  public static let sqliteReservedTables: [String] = [
    "snapshot_info", "frontier", "schema_fields", "conflicts", "conflict_siblings",
  ]

  /// Writes the snapshot as a SQLite database file for reporting tools.
  ///
  /// The file holds one table per collection (the record `id`, then a
  /// typed column for each scalar field), one table per set field
  /// (`<collection>_<field>(id, element)`) and per map field
  /// (`<collection>_<field>(id, key, value)`), the open conflicts
  /// (`conflicts`, `conflict_siblings`), the frontier (`frontier`), the
  /// schema's fields (`schema_fields`) and `snapshot_info`: the layout
  /// version, the snapshot format version, the frontier and the canonical
  /// JSON's SHA-256. Every table and column is specified in
  /// `Docs/FORMATS.md`, section 7.
  ///
  /// The file is an ordinary SQLite 3 database in rollback-journal mode: it
  /// opens in the `sqlite3` shell, in Python's `sqlite3` module and in any
  /// SQLite tool, with no extension. The same snapshot always gives the same
  /// tables and rows, in the same order. The file is written under a
  /// temporary name in the same folder and renamed into place when complete.
  ///
  /// ```swift
  /// try store.snapshot().writeSQLite(to: URL(fileURLWithPath: "samhand.sqlite"))
  /// ```
  /// ```sh
  /// sqlite3 samhand.sqlite 'SELECT id, SUM(value) FROM projects_funding GROUP BY id'
  /// ```
  ///
  /// - Parameters:
  ///   - file: the database file to create. Its folder is created if missing.
  ///   - replace: whether to replace a file that is already there.
  /// - Throws: `SamhandError.invalidArgument` when the file exists and
  ///   `replace` is false, when it is a folder, or when two tables would get
  ///   the same name (a collection named like a reserved table, or
  ///   `a_b` + field `c` and `a` + field `b_c`); `SamhandError.io` or
  ///   `SamhandError.storage` when writing fails. On failure nothing is left
  ///   at `file`, and a file that was there is untouched.
  public func writeSQLite(to file: URL, replace: Bool = false) throws {
    let layout = try SQLiteExportLayout(schema: schema)
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: file.path, isDirectory: &isDirectory) {
      if isDirectory.boolValue {
        throw SamhandError(.invalidArgument, "\(file.path) is a folder, not a file for the SQLite snapshot", fileURL: file)
      }
      if !replace {
        throw SQLiteExportLayout.exists(file)
      }
    }
    let directory = file.deletingLastPathComponent()
    do {
      try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    } catch {
      throw SamhandError(.io, "cannot create folder \(directory.path): \(AtomicFile.reason(error))", fileURL: directory)
    }
    let temporary = directory.appendingPathComponent(
      "\(AtomicFile.temporaryPrefix)\(file.lastPathComponent).\(UUID().uuidString.prefix(8).lowercased())\(AtomicFile.temporarySuffix)")
    func removeTemporary() {
      for suffix in ["", "-journal", "-wal", "-shm"] { unlink(temporary.path + suffix) }
    }
    do {
      let queue = try DatabaseQueue(path: temporary.path)
      do {
        try queue.write { db in try layout.write(self, into: db) }
        try queue.close()
      } catch {
        try? queue.close()
        throw error
      }
    } catch let error as SamhandError {
      removeTemporary()
      throw error
    } catch let error as DatabaseError {
      removeTemporary()
      throw SamhandError(.storage, "cannot write the SQLite snapshot: \(error.message ?? "\(error.resultCode)")", fileURL: file)
    } catch {
      removeTemporary()
      throw SamhandError(.storage, "cannot write the SQLite snapshot: \(error)", fileURL: file)
    }
    try SQLiteExportLayout.moveIntoPlace(temporary, file, replace: replace)
    AtomicFile.syncDirectory(directory)
  }
}

// MARK: - Layout

/// The tables of a SQLite export for one schema, with their names checked.
struct SQLiteExportLayout {
  struct Table {
    var name: String
    var collection: String
    var field: String?
    var kind: Schema.FieldKind?
    var definition: Schema.Field?
  }

  let schema: Schema
  /// Per collection (in byte order): its table, then its set and map tables in field order.
  let tables: [Table]

  init(schema: Schema) throws {
    self.schema = schema
    var tables: [Table] = []
    var owners: [String: String] = [:]
    for name in Snapshot.sqliteReservedTables { owners[name] = "the export's own table '\(name)'" }
    func claim(_ name: String, by owner: String, collection: String) throws {
      if name.hasPrefix("sqlite_") {
        throw SamhandError(
          .invalidArgument, "\(owner) would need the table name '\(name)', which SQLite reserves", collection: collection)
      }
      if let other = owners[name] {
        throw SamhandError(
          .invalidArgument,
          "\(owner) and \(other) would both need the table name '\(name)'; rename one to export the snapshot as SQLite",
          collection: collection)
      }
      owners[name] = owner
    }
    for collection in schema.collectionNames {
      try claim(collection, by: "collection '\(collection)'", collection: collection)
      tables.append(Table(name: collection, collection: collection))
      for (field, definition) in SQLiteExportLayout.fields(of: collection, in: schema) where !definition.kind.isScalar {
        let name = "\(collection)_\(field)"
        try claim(name, by: "field '\(field)' of collection '\(collection)'", collection: collection)
        tables.append(Table(name: name, collection: collection, field: field, kind: definition.kind, definition: definition))
      }
    }
    self.tables = tables
  }

  static func fields(of collection: String, in schema: Schema) -> [(String, Schema.Field)] {
    (schema.collections[collection]?.fields ?? [:])
      .sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
      .map { ($0.key, $0.value) }
  }

  static func exists(_ file: URL) -> SamhandError {
    SamhandError(
      .invalidArgument, "\(file.path) already exists; choose another name, remove the file, or ask for it to be replaced",
      fileURL: file)
  }

  // MARK: - SQL

  static func quoted(_ identifier: String) -> String {
    "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\""
  }

  static func columnType(_ kind: Schema.FieldKind?) -> String {
    switch kind {
    case .text?, .date?: "TEXT"
    case .integer?, .bool?: "INTEGER"
    case .number?: "REAL"
    case .set?, .map?, nil: ""
    }
  }

  static func column(_ name: String, _ kind: Schema.FieldKind?, notNull: Bool = false) -> String {
    var text = quoted(name)
    let type = columnType(kind)
    if !type.isEmpty { text += " " + type }
    if notNull { text += " NOT NULL" }
    if kind == .bool { text += " CHECK (\(quoted(name)) IN (0, 1))" }
    return text
  }

  static func createTable(_ name: String, _ lines: [String]) -> String {
    "CREATE TABLE \(quoted(name)) (\n  " + lines.joined(separator: ",\n  ") + "\n)"
  }

  /// A value as SQLite stores it: booleans as 0 or 1, dates as `YYYY-MM-DD` text.
  static func databaseValue(_ value: Value?) -> DatabaseValue {
    switch value {
    case nil, .null?: .null
    case .bool(let flag)?: Int64(flag ? 1 : 0).databaseValue
    case .integer(let integer)?: integer.databaseValue
    case .number(let double)?: double.databaseValue
    case .text(let text)?: text.databaseValue
    case .date(let day)?: day.description.databaseValue
    }
  }

  func write(_ snapshot: Snapshot, into db: Database) throws {
    try db.execute(sql: "PRAGMA application_id = \(Snapshot.sqliteApplicationID)")
    try db.execute(sql: "PRAGMA user_version = \(Snapshot.sqliteFormatVersion)")
    let q = SQLiteExportLayout.quoted
    func insert(_ table: String, _ columns: [String], _ values: [DatabaseValue]) throws {
      let statement = try db.cachedStatement(
        sql: "INSERT INTO \(q(table)) (\(columns.map(q).joined(separator: ", "))) VALUES (\(Array(repeating: "?", count: columns.count).joined(separator: ", ")))")
      try statement.execute(arguments: StatementArguments(values))
    }

    // snapshot_info: one row.
    try db.execute(
      sql: SQLiteExportLayout.createTable(
        "snapshot_info",
        [
          "\(q("format")) INTEGER NOT NULL", "\(q("snapshot_format")) INTEGER NOT NULL",
          "\(q("sha256")) TEXT NOT NULL", "\(q("frontier")) TEXT NOT NULL", "\(q("changesets")) INTEGER NOT NULL",
          "\(q("schema")) TEXT NOT NULL",
        ]))
    try insert(
      "snapshot_info", ["format", "snapshot_format", "sha256", "frontier", "changesets", "schema"],
      [
        Int64(Snapshot.sqliteFormatVersion).databaseValue, Int64(Snapshot.formatVersion).databaseValue,
        snapshot.sha256.databaseValue,
        String(decoding: CanonicalJSON.encode(Snapshot.node(snapshot.frontier)), as: UTF8.self).databaseValue,
        Int64(clamping: snapshot.frontier.total).databaseValue,
        String(decoding: schema.canonicalJSON, as: UTF8.self).databaseValue,
      ])

    // frontier: one row per office.
    try db.execute(
      sql: SQLiteExportLayout.createTable(
        "frontier", ["\(q("office")) TEXT NOT NULL PRIMARY KEY", "\(q("sequence")) INTEGER NOT NULL"]))
    for entry in snapshot.frontier.sorted {
      try insert(
        "frontier", ["office", "sequence"],
        [entry.replica.rawValue.databaseValue, Int64(clamping: entry.counter).databaseValue])
    }

    // schema_fields: where each field went.
    try db.execute(
      sql: SQLiteExportLayout.createTable(
        "schema_fields",
        [
          "\(q("collection")) TEXT NOT NULL", "\(q("field")) TEXT NOT NULL", "\(q("kind")) TEXT NOT NULL",
          "\(q("value_kind")) TEXT", "\(q("description")) TEXT", "\(q("table_name")) TEXT NOT NULL",
          "PRIMARY KEY (\(q("collection")), \(q("field")))",
        ]))
    for collection in schema.collectionNames {
      for (field, definition) in SQLiteExportLayout.fields(of: collection, in: schema) {
        try insert(
          "schema_fields", ["collection", "field", "kind", "value_kind", "description", "table_name"],
          [
            collection.databaseValue, field.databaseValue, definition.kind.rawValue.databaseValue,
            definition.values?.rawValue.databaseValue ?? .null, definition.description?.databaseValue ?? .null,
            (definition.kind.isScalar ? collection : "\(collection)_\(field)").databaseValue,
          ])
      }
    }

    // Collections, each followed by its set and map tables.
    for table in tables {
      let records = snapshot.records[table.collection] ?? []
      let idColumn = "\(q("id")) TEXT NOT NULL"
      let reference = "REFERENCES \(q(table.collection)) (\(q("id")))"
      switch table.kind {
      case nil:
        let scalars = SQLiteExportLayout.fields(of: table.collection, in: schema).filter { $0.1.kind.isScalar }
        try db.execute(
          sql: SQLiteExportLayout.createTable(
            table.name, ["\(idColumn) PRIMARY KEY"] + scalars.map { SQLiteExportLayout.column($0.0, $0.1.kind) }))
        for record in records {
          try insert(
            table.name, ["id"] + scalars.map(\.0),
            [record.id.databaseValue]
              + scalars.map { name, _ in
                if case .value(let value)? = record.fields[name] { return SQLiteExportLayout.databaseValue(value) }
                return .null
              })
        }
      case .set?:
        try db.execute(
          sql: SQLiteExportLayout.createTable(
            table.name,
            [
              "\(idColumn) \(reference)", "\(q("element")) TEXT NOT NULL",
              "PRIMARY KEY (\(q("id")), \(q("element")))",
            ]))
        for record in records {
          guard case .set(let elements)? = record.fields[table.field ?? ""] else { continue }
          for element in elements {
            try insert(table.name, ["id", "element"], [record.id.databaseValue, element.databaseValue])
          }
        }
      case .map?:
        try db.execute(
          sql: SQLiteExportLayout.createTable(
            table.name,
            [
              "\(idColumn) \(reference)", "\(q("key")) TEXT NOT NULL",
              SQLiteExportLayout.column("value", table.definition?.values),
              "PRIMARY KEY (\(q("id")), \(q("key")))",
            ]))
        for record in records {
          guard case .map(let map)? = record.fields[table.field ?? ""] else { continue }
          for key in map.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
            try insert(
              table.name, ["id", "key", "value"],
              [record.id.databaseValue, key.databaseValue, SQLiteExportLayout.databaseValue(map[key])])
          }
        }
      default:
        preconditionFailure("only set and map fields get tables of their own")
      }
    }

    // Open conflicts and their siblings.
    try db.execute(
      sql: SQLiteExportLayout.createTable(
        "conflicts",
        [
          "\(q("id")) INTEGER PRIMARY KEY", "\(q("collection")) TEXT NOT NULL", "\(q("record")) TEXT NOT NULL",
          "\(q("field")) TEXT", "\(q("key")) TEXT",
          "\(q("kind")) TEXT NOT NULL CHECK (\(q("kind")) IN ('value', 'delete'))",
        ]))
    try db.execute(
      sql: SQLiteExportLayout.createTable(
        "conflict_siblings",
        [
          "\(q("conflict")) INTEGER NOT NULL REFERENCES \(q("conflicts")) (\(q("id")))",
          "\(q("position")) INTEGER NOT NULL", "\(q("author")) TEXT NOT NULL", "\(q("sequence")) INTEGER NOT NULL",
          "\(q("lamport")) INTEGER NOT NULL", "\(q("time")) TEXT NOT NULL", "\(q("value"))",
          "\(q("deleted")) INTEGER CHECK (\(q("deleted")) IN (0, 1))",
          "PRIMARY KEY (\(q("conflict")), \(q("position")))",
        ]))
    for (index, conflict) in snapshot.conflicts.enumerated() {
      let id = Int64(index + 1)
      try insert(
        "conflicts", ["id", "collection", "record", "field", "key", "kind"],
        [
          id.databaseValue, conflict.collection.databaseValue, conflict.recordID.databaseValue,
          conflict.field?.databaseValue ?? .null, conflict.key?.databaseValue ?? .null,
          conflict.kind.rawValue.databaseValue,
        ])
      for (position, sibling) in conflict.siblings.enumerated() {
        try insert(
          "conflict_siblings", ["conflict", "position", "author", "sequence", "lamport", "time", "value", "deleted"],
          [
            id.databaseValue, Int64(position + 1).databaseValue, sibling.author.rawValue.databaseValue,
            Int64(clamping: sibling.sequence).databaseValue, Int64(clamping: sibling.lamport).databaseValue,
            Timestamp.iso8601(milliseconds: sibling.timestamp).databaseValue,
            conflict.kind == .value ? SQLiteExportLayout.databaseValue(sibling.value) : .null,
            conflict.kind == .delete ? Int64(sibling.deleted ? 1 : 0).databaseValue : .null,
          ])
      }
    }
  }

  // MARK: - Placing the file

  /// Renames the finished temporary file to `file`; without `replace`, only
  /// if nothing is there (atomically where the file system has hard links).
  static func moveIntoPlace(_ temporary: URL, _ file: URL, replace: Bool) throws {
    defer { unlink(temporary.path) }
    if !replace {
      if link(temporary.path, file.path) == 0 { return }
      let linkErrno = errno
      if linkErrno == EEXIST { throw exists(file) }
      // No hard links here (some network and FAT file systems): check, then rename.
      if FileManager.default.fileExists(atPath: file.path) { throw exists(file) }
    }
    guard rename(temporary.path, file.path) == 0 else {
      throw AtomicFile.systemError("cannot rename into place", file)
    }
  }
}
