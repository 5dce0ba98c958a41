import ArgumentParser
import Foundation
import Samhand

extension SamhandCommand {
  struct Apply: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Apply a JSON Lines file of edits as one transaction.",
      discussion: """
        Each line is one JSON object:
          {"op":"set","collection":C,"id":I,"fields":{NAME: JSON value, ...}}
          {"op":"add","collection":C,"id":I,"field":F,"value":TEXT}
          {"op":"remove","collection":C,"id":I,"field":F,"value":TEXT}
          {"op":"put","collection":C,"id":I,"field":F,"key":K,"value":JSON}
          {"op":"delete","collection":C,"id":I}
          {"op":"remove-key","collection":C,"id":I,"field":F,"key":K}
          {"op":"touch","collection":C,"id":I}     (creates an empty record)
        In "set", an array for a set field adds each element, and an object \
        for a map field puts each key. Blank lines are skipped.

        The whole file is one transaction: if any line is invalid, the command \
        fails naming the line and nothing is written. Use - to read stdin.

        Lines for the roster (collection "_roster", as 'samhand log --json' \
        shows roster changes) are skipped, and the count is said: the roster \
        changes only through the 'samhand roster' commands.

        Examples:
          samhand apply medlemmer.jsonl
          samhand log --json | jq -c '.[].edits[]' | samhand apply --store kopi -
        """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The JSON Lines file, or - for stdin.")
    var file: String

    func validate() throws {
      try global.validateStore()
    }

    func run() async throws {
      let name = file == "-" ? "<stdin>" : URL(fileURLWithPath: file).path
      let data: Data
      if file == "-" {
        data = FileHandle.standardInput.readDataToEndOfFile()
      } else {
        do {
          data = try Data(contentsOf: URL(fileURLWithPath: file))
        } catch {
          throw CommandFailure("cannot read \(name): \(error.localizedDescription)")
        }
      }
      let store = try global.openStore()
      var lineCount = 0
      var rosterLines = 0
      let decoder = JSONDecoder()
      let changeset = try store.transact { transaction in
        var lineNumber = 0
        for line in Apply.lines(of: data) {
          lineNumber += 1
          if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
          do {
            let json: JSONValue
            do {
              json = try decoder.decode(JSONValue.self, from: Data(line))
            } catch let error as DecodingError {
              throw CommandFailure("malformed JSON: \(JSONValue.describe(error))")
            }
            if Apply.isRosterEdit(json, schema: store.schema) {
              rosterLines += 1
              continue
            }
            try Apply.apply(json, schema: store.schema, to: &transaction)
            lineCount += 1
          } catch let error as SamhandError {
            throw CommandFailure(
              "\(name), line \(lineNumber): \(error.message); nothing was written")
          } catch let error as CommandFailure {
            throw CommandFailure(
              "\(name), line \(lineNumber): \(error.message); nothing was written")
          }
        }
      }
      let edits = changeset?.edits.count ?? 0
      if rosterLines > 0 {
        Console.warning(
          "skipped \(Words.count(rosterLines, "line")) for the roster (\"\(Roster.collection)\"): "
            + "the roster changes only through 'samhand roster' commands")
      }
      if global.json {
        Console.json(
          .object([
            "file": .string(name), "lines": .integer(Int64(lineCount)),
            "skipped": .integer(Int64(rosterLines)),
            "edits": .integer(Int64(edits)),
            "changeset": changeset.map { $0.id.jsonValue } ?? .null,
          ]))
        return
      }
      guard let changeset else {
        Console.line("Nothing to apply in \(name).")
        return
      }
      Console.line(
        "Applied \(Words.count(lineCount, "line")) from \(name): \(Words.count(edits, "edit")) in changeset \(changeset.id) (not yet shared: run 'samhand sync')"
      )
    }

    /// Whether a line edits the roster, which `apply` does not write: the
    /// roster's own commands check who may change it and how.
    static func isRosterEdit(_ json: JSONValue, schema: Schema) -> Bool {
      guard case .object(let object) = json, case .string(let collection)? = object["collection"]
      else { return false }
      return collection == Roster.collection && schema.collections[collection] == nil
    }

    /// The file's lines as byte slices, without their line ends.
    static func lines(of data: Data) -> [ArraySlice<UInt8>] {
      let bytes = [UInt8](data)
      var result: [ArraySlice<UInt8>] = []
      // A byte order mark, as spreadsheet programs write, is not part of the first line.
      var start = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
      for index in bytes.indices where bytes[index] == 0x0A {
        result.append(bytes[start..<index])
        start = index + 1
      }
      if start < bytes.count { result.append(bytes[start...]) }
      return result
    }

    /// Adds the edits of one line to the transaction.
    static func apply(_ json: JSONValue, schema: Schema, to transaction: inout Transaction) throws {
      guard case .object(let object) = json else {
        throw CommandFailure(
          "expected a JSON object, found \(json.kindName == "array" ? "an" : "a") \(json.kindName)")
      }
      func text(_ key: String) throws -> String {
        guard let value = object[key] else { throw CommandFailure("missing \"\(key)\"") }
        guard case .string(let string) = value else {
          throw CommandFailure("\"\(key)\" must be a string, found \(value.kindName)")
        }
        return string
      }
      func allow(_ keys: Swift.Set<String>) throws {
        let unknown = object.keys.filter {
          !keys.contains($0) && !["op", "collection", "id"].contains($0)
        }.sorted()
        guard unknown.isEmpty else {
          throw CommandFailure(
            "unknown key \(unknown.map { "\"\($0)\"" }.joined(separator: ", ")) for \"op\":\"\(try text("op"))\""
          )
        }
      }
      let op = try text("op")
      let collection = try text("collection")
      let id = try text("id")
      switch op {
      case "set":
        try allow(["fields"])
        guard let fieldsJSON = object["fields"] else { throw CommandFailure("missing \"fields\"") }
        guard case .object(let fields) = fieldsJSON else {
          throw CommandFailure("\"fields\" must be an object, found \(fieldsJSON.kindName)")
        }
        if fields.isEmpty { try transaction.touch(collection, id) }
        for name in fields.keys.sorted() {
          try setField(
            name, fields[name]!, collection: collection, id: id, schema: schema, to: &transaction)
        }
      case "add", "remove":
        try allow(["field", "value"])
        let field = try text("field")
        let element = try text("value")
        if op == "add" {
          try transaction.add(collection, id, field, element)
        } else {
          try transaction.remove(collection, id, field, element)
        }
      case "put":
        try allow(["field", "key", "value"])
        let field = try text("field")
        let key = try text("key")
        guard let value = object["value"] else { throw CommandFailure("missing \"value\"") }
        try transaction.put(
          collection, id, field, key: key, try scalar(value, field: "\(field).\(key)"))
      case "remove-key":
        try allow(["field", "key"])
        try transaction.removeKey(collection, id, try text("field"), key: try text("key"))
      case "delete":
        try allow([])
        try transaction.delete(collection, id)
      case "touch":
        try allow([])
        try transaction.touch(collection, id)
      default:
        throw CommandFailure(
          "unknown \"op\":\"\(op)\" (use set, add, remove, put, remove-key, delete or touch)")
      }
    }

    static func setField(
      _ name: String, _ value: JSONValue, collection: String, id: String, schema: Schema,
      to transaction: inout Transaction
    ) throws {
      let kind = schema.collections[collection]?.fields[name]?.kind
      switch value {
      case .array(let items):
        guard kind == .set else {
          // Let the schema name an unknown field; otherwise explain arrays.
          _ = try schema.field(collection, name, recordID: id)
          throw CommandFailure(
            "field '\(name)' is a \(kind?.rawValue ?? "?"); an array is only for a set field")
        }
        for item in items {
          guard case .string(let element) = item else {
            throw CommandFailure(
              "field '\(name)': set elements must be strings, found \(item.kindName)")
          }
          try transaction.add(collection, id, name, element)
        }
      case .object(let entries):
        guard kind == .map else {
          _ = try schema.field(collection, name, recordID: id)
          throw CommandFailure(
            "field '\(name)' is a \(kind?.rawValue ?? "?"); an object is only for a map field")
        }
        for key in entries.keys.sorted() {
          try transaction.put(
            collection, id, name, key: key, try scalar(entries[key]!, field: "\(name).\(key)"))
        }
      default:
        try transaction.set(collection, id, name, try scalar(value, field: name))
      }
    }

    static func scalar(_ json: JSONValue, field: String) throws -> Value {
      do {
        return try Value(json: json)
      } catch {
        throw CommandFailure(
          "field '\(field)': expected a number, bool, null or string, found an \(json.kindName)"
        )
      }
    }
  }
}
