import Foundation

/// Any JSON value, decoded with Foundation's `JSONDecoder`.
///
/// Keeps whole numbers apart from fractional ones, which `JSONSerialization`
/// does not do the same way on every platform.
public enum JSONValue: Hashable, Sendable, Codable {
  /// JSON `null`.
  case null
  /// `true` or `false`.
  case bool(Bool)
  /// A whole number that fits in `Int64`.
  case integer(Int64)
  /// Any other number: one with a fraction, or too large for `Int64`.
  case number(Double)
  /// A string.
  case string(String)
  /// An array of values.
  case array([JSONValue])
  /// An object: its members by key, in no particular order.
  case object([String: JSONValue])

  /// Decodes whatever JSON value the decoder holds.
  public init(from decoder: any Decoder) throws {
    // The likeliest kinds first (objects, then strings): each failed try
    // costs a thrown error, and most values in an edit file are texts.
    if let object = try? decoder.container(keyedBy: AnyKey.self) {
      var fields: [String: JSONValue] = [:]
      for key in object.allKeys {
        fields[key.stringValue] = try object.decode(JSONValue.self, forKey: key)
      }
      self = .object(fields)
      return
    }
    let single = try decoder.singleValueContainer()
    if let text = try? single.decode(String.self) {
      self = .string(text)
      return
    }
    if var array = try? decoder.unkeyedContainer() {
      var items: [JSONValue] = []
      while !array.isAtEnd { items.append(try array.decode(JSONValue.self)) }
      self = .array(items)
      return
    }
    if single.decodeNil() {
      self = .null
    } else if let flag = try? single.decode(Bool.self) {
      self = .bool(flag)
    } else if let integer = try? single.decode(Int64.self) {
      self = .integer(integer)
    } else if let double = try? single.decode(Double.self) {
      self = .number(double)
    } else {
      self = .string(try single.decode(String.self))
    }
  }

  /// Encodes the value as the JSON it holds.
  public func encode(to encoder: any Encoder) throws {
    var single = encoder.singleValueContainer()
    switch self {
    case .null: try single.encodeNil()
    case .bool(let flag): try single.encode(flag)
    case .integer(let integer): try single.encode(integer)
    case .number(let double): try single.encode(double)
    case .string(let string): try single.encode(string)
    case .array(let items): try single.encode(items)
    case .object(let fields): try single.encode(fields)
    }
  }

  /// Parses one JSON document, naming where it failed in the error.
  public static func parse(_ data: Data) throws -> JSONValue {
    do {
      return try JSONDecoder().decode(JSONValue.self, from: data)
    } catch let error as DecodingError {
      throw SamhandError(.invalidArgument, "malformed JSON: \(JSONValue.describe(error))")
    }
  }

  /// Parses one JSON document from text.
  ///
  /// - Throws: `SamhandError.invalidArgument` when the text is not JSON.
  public static func parse(_ text: String) throws -> JSONValue {
    try parse(Data(text.utf8))
  }

  /// "object", "array", "string", ... for error messages.
  public var kindName: String {
    switch self {
    case .null: "null"
    case .bool: "bool"
    case .integer, .number: "number"
    case .string: "string"
    case .array: "array"
    case .object: "object"
    }
  }

  /// A short description of a JSON decoding failure, for error messages.
  public static func describe(_ error: DecodingError) -> String {
    switch error {
    case .dataCorrupted(let context):
      if let underlying = context.underlyingError as NSError?,
        let detail = underlying.userInfo[NSDebugDescriptionErrorKey] as? String
      {
        return detail
      }
      return context.debugDescription
    case .keyNotFound(let key, _): return "missing key '\(key.stringValue)'"
    case .typeMismatch(_, let context), .valueNotFound(_, let context):
      return context.debugDescription
    @unknown default: return "\(error)"
    }
  }
}

struct AnyKey: CodingKey {
  var stringValue: String
  var intValue: Int? { nil }
  init(stringValue: String) { self.stringValue = stringValue }
  init?(intValue: Int) { nil }
}
