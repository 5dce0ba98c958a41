import Foundation

/// A single value held by a field or a map entry.
///
/// Numbers are finite; `-0.0` is stored as `0.0` so that equal values have
/// equal encodings.
public enum Value: Hashable, Sendable, CustomStringConvertible {
  /// No value. Every scalar field accepts it.
  case null
  /// `true` or `false`, for a `bool` field.
  case bool(Bool)
  /// A whole number, for an `integer` field; a `number` field stores it as `.number`.
  case integer(Int64)
  /// A finite floating-point number, for a `number` field.
  case number(Double)
  /// A text, for a `text` field; a `date` field reads `YYYY-MM-DD` text as `.date`.
  case text(String)
  /// A calendar day, for a `date` field.
  case date(Day)

  /// The kind name used in schemas and error messages.
  public var kindName: String {
    switch self {
    case .null: "null"
    case .bool: "bool"
    case .integer: "integer"
    case .number: "number"
    case .text: "text"
    case .date: "date"
    }
  }

  /// The value as people read it: text as is, others in their JSON form.
  public var description: String {
    switch self {
    case .text(let text): text
    case .date(let day): day.description
    default: CanonicalJSON.encode(self)
    }
  }

  /// The value as JSON: dates as `"YYYY-MM-DD"` strings.
  public var json: JSONValue {
    switch self {
    case .null: .null
    case .bool(let flag): .bool(flag)
    case .integer(let integer): .integer(integer)
    case .number(let double): .number(double)
    case .text(let text): .string(text)
    case .date(let day): .string(day.description)
    }
  }

  /// Converts a parsed JSON value to a value.
  ///
  /// Whole numbers become `.integer`, others `.number`; strings become
  /// `.text` (a schema may later read them as dates). Arrays and objects
  /// are not values and throw.
  public init(json: JSONValue) throws {
    switch json {
    case .null: self = .null
    case .bool(let flag): self = .bool(flag)
    case .integer(let integer): self = .integer(integer)
    case .number(let double): self = .number(double == 0 ? 0 : double)
    case .string(let string): self = .text(string)
    case .array, .object:
      throw SamhandError(
        .invalidArgument, "expected a JSON number, bool, null or string, found an \(json.kindName)")
    }
  }
}
