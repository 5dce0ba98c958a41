import Foundation
import Samhand

// How library values look on the command line: as JSON for `--json`, and
// as short lines for people. Text values are shown in JSON quotes wherever
// an empty or space-padded text would otherwise be invisible.

// MARK: - Values

extension Value {
  /// The value as JSON (the library's form).
  var jsonValue: JSONValue { json }

  /// The value for people: text in JSON quotes, others in their JSON form.
  var quoted: String {
    switch self {
    case .text(let text): JSONText.quoted(text)
    case .date(let day): day.description
    default: description
    }
  }
}

extension FieldValue {
  var jsonValue: JSONValue {
    switch self {
    case .value(let value): value.jsonValue
    case .set(let elements): .array(elements.map { .string($0) })
    case .map(let map): .object(map.mapValues(\.jsonValue))
    }
  }

  /// `Kari`, `["a", "b"]`, `{"ks": 50000}` for people.
  var displayed: String {
    switch self {
    case .value(.text(let text)): text
    case .value(let value): value.quoted
    case .set(let elements): "[" + elements.map(JSONText.quoted).joined(separator: ", ") + "]"
    case .map(let map):
      "{"
        + map.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        .map { "\(JSONText.quoted($0.key)): \($0.value.quoted)" }.joined(separator: ", ") + "}"
    }
  }
}

extension VersionVector {
  var jsonValue: JSONValue {
    .object(
      Dictionary(
        uniqueKeysWithValues: counters.map { ($0.key.rawValue, .integer(Int64($0.value))) }))
  }
}

// MARK: - Records and conflicts

extension Record {
  var jsonValue: JSONValue {
    .object([
      "collection": .string(collection),
      "id": .string(id),
      "fields": .object(fields.mapValues(\.jsonValue)),
      "conflicts": .array(conflicts.map(\.jsonValue)),
    ])
  }
}

extension Conflict {
  var jsonValue: JSONValue {
    var object: [String: JSONValue] = [
      "kind": .string(kind.rawValue),
      "collection": .string(collection),
      "id": .string(recordID),
      "siblings": .array(
        siblings.enumerated().map { index, sibling in
          var body: [String: JSONValue] = [
            "author": .string(sibling.author.rawValue),
            "sequence": .integer(Int64(sibling.sequence)),
            "lamport": .integer(Int64(sibling.lamport)),
            "time": .string(TimeText.iso(milliseconds: sibling.timestamp)),
            "time_ms": .integer(sibling.timestamp),
            "shown": .bool(index == 0),
          ]
          if kind == .delete {
            body["deleted"] = .bool(sibling.deleted)
          } else {
            body["value"] = (sibling.value ?? .null).jsonValue
          }
          return .object(body)
        }),
    ]
    object["field"] = field.map { .string($0) } ?? .null
    object["key"] = key.map { .string($0) } ?? .null
    return .object(object)
  }

  /// `cases/sak-1 field 'status'`, `projects/p field 'funding' key 'ks'`,
  /// `cases/sak-2 (deleted and updated at once)`.
  var place: String {
    switch kind {
    case .delete: return "\(collection)/\(recordID): deleted by one office while another updated it"
    case .value:
      var text = "\(collection)/\(recordID) field '\(field ?? "")'"
      if let key { text += " key '\(key)'" }
      return text
    }
  }

  /// The FIELD argument `resolve` takes for this conflict: `status` or `funding.ks`.
  var fieldArgument: String {
    guard let field else { return "" }
    return key.map { "\(field).\($0)" } ?? field
  }

  /// The command line that resolves this conflict, ready to paste: with
  /// `--store` when the user gave one (not when it comes from
  /// SAMHAND_STORE), and the first office's value picked, the others named.
  func resolveHint(store: String?) -> String {
    let id = ShellWords.quote(recordID)
    let command = "samhand resolve" + (store.map { " --store \(ShellWords.quote($0))" } ?? "")
    switch kind {
    case .delete:
      return "\(command) \(collection) \(id) --keep   (or --delete)"
    case .value:
      let authors = siblings.map(\.author.rawValue)
      let others = authors.dropFirst()
      let alternatives =
        others.isEmpty ? "" : "or --pick " + others.joined(separator: ", ") + "; "
      return
        "\(command) \(collection) \(id) \(ShellWords.quote(fieldArgument)) --pick \(authors.first ?? "SLUG")   (\(alternatives)or --value VALUE)"
    }
  }

  /// One line per sibling for people.
  func siblingLines(indent: String = "    ", numbered: Bool = false) -> [String] {
    let width = siblings.map(\.author.rawValue.count).max() ?? 0
    return siblings.enumerated().map { index, sibling in
      let number = numbered ? "[\(index + 1)] " : ""
      let author = sibling.author.rawValue.padding(toLength: width, withPad: " ", startingAt: 0)
      let what: String
      if kind == .delete {
        what = sibling.deleted ? "deleted the record" : "updated the record"
      } else {
        what = (sibling.value ?? .null).quoted
      }
      let shown = index == 0 && kind == .value ? "   (shown now)" : ""
      return
        "\(indent)\(number)\(author)  \(TimeText.local(milliseconds: sibling.timestamp))  \(what)\(shown)"
    }
  }
}

// MARK: - Edits

extension Edit {
  /// The edit as a line `samhand apply` reads back.
  var jsonValue: JSONValue {
    let record = self.record
    var object: [String: JSONValue] = [
      "collection": .string(record.collection), "id": .string(record.id),
    ]
    switch self {
    case .set(_, let field, let value):
      object["op"] = .string("set")
      object["fields"] = .object([field: value.jsonValue])
    case .add(_, let field, let element):
      object["op"] = .string("add")
      object["field"] = .string(field)
      object["value"] = .string(element)
    case .remove(_, let field, let element):
      object["op"] = .string("remove")
      object["field"] = .string(field)
      object["value"] = .string(element)
    case .put(_, let field, let key, let value):
      object["op"] = .string("put")
      object["field"] = .string(field)
      object["key"] = .string(key)
      object["value"] = value.jsonValue
    case .removeKey(_, let field, let key):
      object["op"] = .string("remove-key")
      object["field"] = .string(field)
      object["key"] = .string(key)
    case .touch:
      object["op"] = .string("touch")
    case .delete:
      object["op"] = .string("delete")
    }
    return .object(object)
  }

  /// `cases/sak-1 status = "ny"` for people.
  var displayed: String {
    switch self {
    case .set(let record, let field, let value): "\(record) \(field) = \(value.quoted)"
    case .add(let record, let field, let element):
      "\(record) \(field) += \(JSONText.quoted(element))"
    case .remove(let record, let field, let element):
      "\(record) \(field) -= \(JSONText.quoted(element))"
    case .put(let record, let field, let key, let value):
      "\(record) \(field).\(key) = \(value.quoted)"
    case .removeKey(let record, let field, let key): "\(record) \(field).\(key) removed"
    case .touch(let record): "\(record) created or kept"
    case .delete(let record): "\(record) deleted"
    }
  }
}

// MARK: - Heads and problems

extension Head {
  var jsonValue: JSONValue {
    .object([
      "office": .string(office.rawValue),
      "frontier": frontier.jsonValue,
      "snapshot": .string(snapshotHash),
      "time": .string(TimeText.iso(milliseconds: timestamp)),
      "time_ms": .integer(timestamp),
    ])
  }
}

extension FolderProblem {
  var jsonValue: JSONValue { .object(["path": .string(path), "reason": .string(reason)]) }
}

extension Changeset.ID {
  var jsonValue: JSONValue { .string(description) }
}

// MARK: - Shell words

enum ShellWords {
  /// The word as typed in a POSIX shell: bare when safe, else in single quotes.
  static func quote(_ word: String) -> String {
    let safe = word.unicodeScalars.allSatisfy { scalar in
      CharacterSet.alphanumerics.contains(scalar) || "-_./:=+@,".unicodeScalars.contains(scalar)
    }
    if safe && !word.isEmpty { return word }
    return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
  }
}
