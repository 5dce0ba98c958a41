import ArgumentParser
import Foundation
import Samhand

/// One `samhand set` assignment: `field=text`, `field:=JSON`, `field+=text`,
/// `field-=text`, `field.key=text` or `field.key:=JSON`.
struct Assignment: Equatable {
  enum Action: Equatable {
    /// Set a scalar field, or a map entry when `key` is given.
    case set(Value)
    /// Add an element to a set field.
    case add(String)
    /// Remove an element from a set field.
    case remove(String)
  }

  var field: String
  /// The map key, for `field.key=...`.
  var key: String?
  var action: Action
  /// Whether the value was written as text (`=`), not JSON (`:=`).
  var isText: Bool
  /// The assignment as typed, for messages.
  var text: String

  /// Parses an assignment.
  ///
  /// The operator is found at the first `=`: a `:`, `+` or `-` just before it
  /// makes it `:=`, `+=` or `-=`. A `.` before the operator separates the
  /// field from a map key (field names have no dots; keys may).
  ///
  /// - Throws: `ValidationError` naming the assignment and what is wrong.
  init(parsing text: String) throws {
    self.text = text
    guard let equals = text.firstIndex(of: "=") else {
      throw ValidationError(
        "'\(text)' is not an assignment: write field=text, field:=JSON, field+=text, field-=text or field.key=text"
      )
    }
    var left = String(text[..<equals])
    let right = String(text[text.index(after: equals)...])
    var operation = Operator.text
    switch left.last {
    case ":": operation = .json
    case "+": operation = .add
    case "-": operation = .remove
    default: break
    }
    if operation != .text { left.removeLast() }
    if let dot = left.firstIndex(of: ".") {
      field = String(left[..<dot])
      key = String(left[left.index(after: dot)...])
    } else {
      field = left
      key = nil
    }
    guard !field.isEmpty else {
      throw ValidationError("'\(text)': the field name is missing before the '\(operation.symbol)'")
    }
    if let key, key.isEmpty {
      throw ValidationError("'\(text)': the map key after '\(field).' is missing")
    }
    isText = operation == .text || operation == .add || operation == .remove
    switch operation {
    case .text:
      action = .set(.text(right))
    case .json:
      action = .set(try Assignment.parseJSON(right, in: text))
    case .add, .remove:
      if let key {
        throw ValidationError(
          "'\(text)': \(operation.symbol) adds to or removes from a set field; '\(field).\(key)' names a map entry"
        )
      }
      guard !right.isEmpty else {
        throw ValidationError(
          "'\(text)': the element to \(operation == .add ? "add" : "remove") is missing")
      }
      action = operation == .add ? .add(right) : .remove(right)
    }
  }

  private enum Operator {
    case text, json, add, remove

    var symbol: String {
      switch self {
      case .text: "="
      case .json: ":="
      case .add: "+="
      case .remove: "-="
      }
    }
  }

  /// A JSON number, bool, null or string.
  static func parseJSON(_ json: String, in text: String) throws -> Value {
    let parsed: JSONValue
    do {
      parsed = try JSONValue.parse(json)
    } catch {
      throw ValidationError(
        "'\(text)': \(JSONText.quoted(json)) is not JSON; ':=' takes a number, true, false, null or a string in double quotes (for text, write '=' instead of ':=')"
      )
    }
    do {
      return try Value(json: parsed)
    } catch {
      throw ValidationError(
        "'\(text)': ':=' takes a number, true, false, null or a string, not an \(parsed.kindName)")
    }
  }

  /// Adds the assignment to a transaction. A value after `=` is read by
  /// the field's kind (``ValueSyntax``): `count=5` writes a number.
  func apply(to transaction: inout Transaction, schema: Schema, collection: String, id: String) throws {
    switch action {
    case .set(var value):
      if isText, case .text(let typed) = value {
        value = ValueSyntax.value(typed, kind: ValueSyntax.kind(schema, collection, field, key: key))
      }
      if let key {
        try transaction.put(collection, id, field, key: key, value)
      } else {
        try transaction.set(collection, id, field, value)
      }
    case .add(let element):
      try transaction.add(collection, id, field, element)
    case .remove(let element):
      try transaction.remove(collection, id, field, element)
    }
  }

  /// What to write instead, when the schema refused the assignment: a
  /// hint, and the corrected assignment where one can be written.
  func correction(schema: Schema, collection: String) -> (hint: String, corrected: String?)? {
    guard let definition = schema.collections[collection]?.fields[field] else { return nil }
    let target = key.map { "\(field).\($0)" } ?? field
    switch action {
    case .set(let value):
      if key == nil, definition.kind == .set {
        let element = value.textValue ?? "ELEMENT"
        return (
          "'\(field)' is a set: add to it with \(field)+=\(element), remove with \(field)-=\(element)",
          value.textValue.map { "\(field)+=\($0)" }
        )
      }
      if key == nil, definition.kind == .map {
        return ("'\(field)' is a map: set one entry with \(field).KEY=VALUE, for example \(field).ks=…", nil)
      }
      let kind = key == nil ? definition.kind : definition.values
      return kind.flatMap { ValueSyntax.advice(for: $0, target: target) }.map { ($0, nil) }
    case .add(let element), .remove(let element):
      guard definition.kind != .set else { return nil }
      let corrected = definition.kind == .map ? "\(field).KEY=VALUE" : "\(field)=\(element)"
      return (
        "'\(field)' is not a set: \(definition.kind == .map ? "set an entry with" : "write") \(corrected)",
        definition.kind == .map ? nil : corrected
      )
    }
  }
}

extension Value {
  /// The text of a text value, for messages.
  fileprivate var textValue: String? {
    if case .text(let text) = self { return text }
    return nil
  }
}
