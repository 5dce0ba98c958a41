import Foundation
import Samhand

/// How a value typed on the command line is read: the same after `=` in
/// `samhand set`, in `resolve --value` and in `review`'s new value, so that
/// what works in one works in the others.
///
/// - A text or date field takes the text as typed (a date as YYYY-MM-DD).
///   A JSON string in double quotes is unquoted, so `'"x"'` still means x.
/// - An integer, number or bool field takes the number, `true` or `false`
///   as typed, and `null` clears it.
/// - Anything else is taken as text, and the schema says what is wrong.
///
/// `set field:=JSON` remains for an explicit JSON value (null for a text).
enum ValueSyntax {
  static func value(_ typed: String, kind: Schema.FieldKind?) -> Value {
    let json = try? JSONValue.parse(typed)
    if kind == .text || kind == .date || kind == nil {
      if case .string(let text)? = json { return .text(text) }
      return .text(typed)
    }
    if let json, let value = try? Value(json: json) { return value }
    return .text(typed)
  }

  /// The kind of value a field (or, with a key, an entry of a map field) holds.
  static func kind(_ schema: Schema, _ collection: String, _ field: String, key: String?) -> Schema.FieldKind? {
    guard let definition = schema.collections[collection]?.fields[field] else { return nil }
    return key == nil ? definition.kind : definition.values
  }

  /// What to write for a field of `kind` that did not take a value, with
  /// an example as the command takes it: by default `target=VALUE` (such
  /// as `funding.ks=150000`), for `resolve` `--value VALUE`.
  static func advice(
    for kind: Schema.FieldKind, target: String, example: ((String) -> String)? = nil
  ) -> String? {
    let written = example ?? { "\(target)=\($0)" }
    return switch kind {
    case .integer: "'\(target)' holds a whole number: write it as such, for example \(written("150000"))"
    case .number: "'\(target)' holds a number: write it with a point, for example \(written("2.5"))"
    case .bool: "'\(target)' holds true or false, for example \(written("true"))"
    case .date: "'\(target)' holds a date: write YYYY-MM-DD, for example \(written("2026-06-30"))"
    case .text, .set, .map: nil
    }
  }
}
