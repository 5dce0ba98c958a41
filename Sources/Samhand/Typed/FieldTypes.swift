import Foundation

/// What a Swift type says about the kind of field it is stored in.
enum FieldMapping: Equatable {
  /// The type is stored as a field of this kind.
  case kind(Schema.FieldKind)
  /// `Foundation.Date`: a moment, not a day; never stored (use `Day`).
  case foundationDate
  /// The type does not say (a custom `Codable` type): its encoded form decides.
  case unknown
}

/// The Swift types that map to field kinds, as far as their static type tells:
///
/// | Swift type | field kind |
/// | --- | --- |
/// | `String`, a `RawRepresentable` with `String` raw values | `text` |
/// | `Int`, `Int8` … `Int64`, `UInt` … `UInt64`, integer raw values | `integer` |
/// | `Double`, `Float` | `number` |
/// | `Bool` | `bool` |
/// | `Day` | `date` |
/// | `Set<String>`, `[String]` (or of text enums) | `set` |
/// | `[String: V]`, `V` one of the scalar types above | `map` |
///
/// `Optional` takes the kind of what it wraps.
enum FieldTypes {
  static func mapping(of type: Any.Type) -> FieldMapping {
    if type == String.self { return .kind(.text) }
    if type == Bool.self { return .kind(.bool) }
    if type == Double.self || type == Float.self { return .kind(.number) }
    if type == Day.self { return .kind(.date) }
    if type == Date.self { return .foundationDate }
    let integers: [Any.Type] = [
      Int.self, Int8.self, Int16.self, Int32.self, Int64.self,
      UInt.self, UInt8.self, UInt16.self, UInt32.self, UInt64.self,
    ]
    if integers.contains(where: { $0 == type }) { return .kind(.integer) }
    if let optional = type as? any OptionalFieldType.Type { return mapping(of: optional.wrappedType) }
    if let list = type as? any ListFieldType.Type {
      return mapping(of: list.elementType) == .kind(.text) ? .kind(.set) : .unknown
    }
    if let map = type as? any MapFieldType.Type {
      return map.keyType == String.self ? .kind(.map) : .unknown
    }
    if let raw = type as? any RawRepresentable.Type {
      let mapped = mapping(of: rawValueType(raw))
      if case .kind(let kind) = mapped, kind.isScalar { return mapped }
    }
    return .unknown
  }

  /// For a dictionary type (or an optional one), what its values map to.
  static func valueMapping(of type: Any.Type) -> FieldMapping {
    if let optional = type as? any OptionalFieldType.Type { return valueMapping(of: optional.wrappedType) }
    if let map = type as? any MapFieldType.Type { return mapping(of: map.valueType) }
    return .unknown
  }

  /// A type for people: `text (String)`, `map of integer ([String: Int])`,
  /// or just the type's name when it does not say its kind.
  static func describe(_ type: Any.Type) -> String {
    switch mapping(of: type) {
    case .kind(.map):
      if case .kind(let values) = valueMapping(of: type) { return "map of \(values.rawValue) (\(name(of: type)))" }
      return "map (\(name(of: type)))"
    case .kind(let kind): return "\(kind.rawValue) (\(name(of: type)))"
    case .foundationDate, .unknown: return name(of: type)
    }
  }

  /// A type's name as written in Swift: `String?`, `[String]`, `[String: Int]`.
  static func name(of type: Any.Type) -> String {
    if let optional = type as? any OptionalFieldType.Type { return name(of: optional.wrappedType) + "?" }
    if let map = type as? any MapFieldType.Type {
      return "[\(name(of: map.keyType)): \(name(of: map.valueType))]"
    }
    if let list = type as? any ListFieldType.Type, String(describing: type).hasPrefix("Array<") {
      return "[\(name(of: list.elementType))]"
    }
    if let list = type as? any ListFieldType.Type {
      return "Set<\(name(of: list.elementType))>"
    }
    return String(describing: type)
  }

  private static func rawValueType<Raw: RawRepresentable>(_: Raw.Type) -> Any.Type { Raw.RawValue.self }
}

// MARK: - Type markers

/// Lets `FieldTypes` see through `Optional` without a value.
protocol OptionalFieldType { static var wrappedType: Any.Type { get } }

extension Optional: OptionalFieldType {
  static var wrappedType: Any.Type { Wrapped.self }
}

/// Lets `FieldTypes` recognise arrays and sets, which map to set fields.
protocol ListFieldType { static var elementType: Any.Type { get } }

extension Array: ListFieldType {
  static var elementType: Any.Type { Element.self }
}

extension Set: ListFieldType {
  static var elementType: Any.Type { Element.self }
}

/// Lets `FieldTypes` recognise dictionaries, which map to map fields.
protocol MapFieldType {
  static var keyType: Any.Type { get }
  static var valueType: Any.Type { get }
}

extension Dictionary: MapFieldType {
  static var keyType: Any.Type { Key.self }
  static var valueType: Any.Type { Value.self }
}

// MARK: - Encoded fields

/// A property's value as its `Encodable` conformance wrote it, before it is
/// checked against the schema.
indirect enum FieldTree: Equatable {
  /// One value (`.null` for nil).
  case value(Value)
  /// An unkeyed container: a set field's elements.
  case list([FieldTree])
  /// A keyed container: a map field's entries.
  case object([String: FieldTree])

  /// The tree for a stored field, as a decoder reads it.
  init(_ field: FieldValue) {
    switch field {
    case .value(let value): self = .value(value)
    case .set(let elements): self = .list(elements.map { .value(.text($0)) })
    case .map(let entries): self = .object(entries.mapValues { .value($0) })
    }
  }

  /// The kind of field this tree looks like, for error messages.
  var kindName: String {
    switch self {
    case .value(let value): value.kindName
    case .list: "set"
    case .object: "map"
    }
  }
}

// MARK: - Context

/// The key of an element in an unkeyed container.
struct IndexKey: CodingKey {
  var index: Int
  init(_ index: Int) { self.index = index }
  init?(stringValue: String) { nil }
  init?(intValue: Int) { self.index = intValue }
  var stringValue: String { "\(index)" }
  var intValue: Int? { index }
}

/// A key given by name, for the record's `id` and for map keys.
struct NameKey: CodingKey {
  var stringValue: String
  init(_ name: String) { stringValue = name }
  init?(stringValue: String) { self.stringValue = stringValue }
  init?(intValue: Int) { nil }
  var intValue: Int? { nil }
}

/// Which typed record is being coded, for error messages.
struct TypedRecordContext {
  var collection: String
  var recordID: String
  /// The Swift type's name, such as `Membership`.
  var typeName: String

  var record: String { "\(collection)/\(recordID)" }

  /// The field (the first key) and the rest of a coding path, as `funding.vestland`.
  func place(_ codingPath: [any CodingKey]) -> (field: String?, path: String) {
    guard let first = codingPath.first else { return (nil, "") }
    var path = first.stringValue
    for key in codingPath.dropFirst() {
      if let index = key as? IndexKey {
        path += "[\(index.index)]"
      } else {
        path += ".\(key.stringValue)"
      }
    }
    return (first.stringValue, path)
  }

  func error(_ code: SamhandError.Code, _ message: String, field: String? = nil) -> SamhandError {
    SamhandError(code, message, collection: collection, recordID: recordID, field: field)
  }

  /// A property holds or asks for a kind its field cannot give.
  func mismatch(_ codingPath: [any CodingKey], expected: String, found: String) -> SamhandError {
    let (field, path) = place(codingPath)
    return error(
      .schemaViolation,
      "\(record) field '\(path)': \(typeName).\(field ?? path) expects \(expected), found \(found)",
      field: field)
  }

  /// `Foundation.Date` in a typed record.
  func foundationDate(_ codingPath: [any CodingKey]) -> SamhandError {
    let (field, path) = place(codingPath)
    return error(
      .schemaViolation,
      "\(record) field '\(path)': \(typeName).\(field ?? path) is a Foundation.Date, a moment in time; "
        + "date fields hold a calendar day without time or zone: use Day",
      field: field)
  }
}
