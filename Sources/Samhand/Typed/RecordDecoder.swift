import Foundation

/// Decodes a typed record from a stored `Record`: the key `id` reads the
/// record's id, every other key reads the field of that name.
///
/// Every property is checked against the schema as it is asked for, even
/// when the record lacks its field: a property that is not a field, or
/// whose type maps to another kind (see `FieldTypes`), fails with
/// `SamhandError.schemaViolation`. A missing or null field decodes as nil
/// for an optional, as empty for a non-optional set or map, and fails with
/// `SamhandError.decodingFailed` otherwise.
struct RecordDecoder: Decoder {
  let record: Record
  let definition: Schema.Collection
  let context: TypedRecordContext
  var codingPath: [any CodingKey] { [] }
  var userInfo: [CodingUserInfoKey: Any] { [:] }

  /// Decodes `type` from `record`, turning every failure into a `SamhandError`.
  static func decode<T: Decodable>(
    _ type: T.Type, from record: Record, definition: Schema.Collection, context: TypedRecordContext
  ) throws -> T {
    do {
      return try T(from: RecordDecoder(record: record, definition: definition, context: context))
    } catch let error as DecodingError {
      throw context.decodingFailed(error)
    }
  }

  func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
    KeyedDecodingContainer(RecordDecodingContainer<Key>(decoder: self))
  }

  func unkeyedContainer() throws -> any UnkeyedDecodingContainer { throw notKeyed }

  func singleValueContainer() throws -> any SingleValueDecodingContainer { throw notKeyed }

  private var notKeyed: SamhandError {
    context.error(
      .schemaViolation,
      "\(context.typeName) does not decode as properties: a typed record must decode with a keyed container, one key per field")
  }

  /// Reads one property: the id, or a field checked against the schema.
  func property<T: Decodable>(_ type: T.Type, _ key: any CodingKey, optional: Bool) throws -> T? {
    let name = key.stringValue
    if name == "id" {
      return try FieldDecoder.decode(type, from: .value(.text(record.id)), codingPath: [key], context: context)
    }
    let field = try context.field(name, of: type, in: definition)
    switch record.fields[name] {
    case nil, .value(.null)?:
      if optional { return nil }
      switch field.kind {
      case .set: return try FieldDecoder.decode(type, from: .list([]), codingPath: [key], context: context)
      case .map: return try FieldDecoder.decode(type, from: .object([:]), codingPath: [key], context: context)
      default:
        throw context.error(
          .decodingFailed,
          "\(context.record) has no value in field '\(name)', which \(context.typeName).\(name) requires "
            + "(a \(FieldTypes.describe(type)); make the property optional to allow a missing value)",
          field: name)
      }
    case let stored?:
      return try FieldDecoder.decode(type, from: FieldTree(stored), codingPath: [key], context: context)
    }
  }

  /// Whether the record shows a non-null value for the field.
  func holds(_ name: String) -> Bool {
    if name == "id" { return true }
    switch record.fields[name] {
    case nil, .value(.null)?: return false
    default: return definition.fields[name] != nil
    }
  }
}

// MARK: - Checks

extension TypedRecordContext {
  /// The schema field for a property, after checking that the property's
  /// type maps to the field's kind.
  ///
  /// - Throws: `SamhandError.schemaViolation` for a property that is not a
  ///   field, a `Foundation.Date`, or a type of another kind.
  func field(_ name: String, of type: Any.Type, in definition: Schema.Collection) throws -> Schema.Field {
    guard let field = definition.fields[name] else {
      let known = definition.fields.keys.sorted().joined(separator: ", ")
      throw error(
        .schemaViolation,
        "\(typeName).\(name) is not a field of \(collection) (\(record); the collection has: \(known))",
        field: name)
    }
    let path = [NameKey(name)]
    switch FieldTypes.mapping(of: type) {
    case .foundationDate:
      throw foundationDate(path)
    case .kind(let kind) where kind != field.kind:
      throw fieldMismatch(name, field, type)
    case .kind(.map):
      if let values = field.values, case .kind(let valueKind) = FieldTypes.valueMapping(of: type), valueKind != values {
        throw fieldMismatch(name, field, type)
      }
      if FieldTypes.valueMapping(of: type) == .foundationDate { throw foundationDate(path) }
    case .kind, .unknown:
      break
    }
    return field
  }

  /// A property's type maps to another kind than its field's.
  func fieldMismatch(_ name: String, _ field: Schema.Field, _ type: Any.Type) -> SamhandError {
    var kind = field.kind.rawValue
    if let values = field.values { kind += " of \(values.rawValue)" }
    return error(
      .schemaViolation,
      "\(record) field '\(name)' has kind \(kind), but \(typeName).\(name) has kind \(FieldTypes.describe(type))",
      field: name)
  }

  /// A `DecodingError` thrown by a property's own `Decodable` conformance.
  func decodingFailed(_ failure: DecodingError) -> SamhandError {
    let codingPath: [any CodingKey]
    let detail: String
    switch failure {
    case .typeMismatch(_, let context), .valueNotFound(_, let context), .keyNotFound(_, let context),
      .dataCorrupted(let context):
      codingPath = context.codingPath
      detail = context.debugDescription
    @unknown default:
      codingPath = []
      detail = "\(failure)"
    }
    let (field, path) = place(codingPath)
    let location = field == nil ? "" : " field '\(path)'"
    return error(.decodingFailed, "\(record)\(location) cannot be read as \(typeName): \(detail)", field: field)
  }
}

// MARK: - The record's keyed container

private struct RecordDecodingContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
  let decoder: RecordDecoder
  var codingPath: [any CodingKey] { [] }

  var allKeys: [Key] {
    (["id"] + decoder.record.fields.keys.filter(decoder.holds).sorted()).compactMap(Key.init(stringValue:))
  }

  func contains(_ key: Key) -> Bool { decoder.holds(key.stringValue) }

  func decodeNil(forKey key: Key) throws -> Bool {
    if key.stringValue != "id" {
      _ = try decoder.context.field(key.stringValue, of: Any.self, in: decoder.definition)
    }
    return !decoder.holds(key.stringValue)
  }

  private func required<T: Decodable>(_ type: T.Type, _ key: Key) throws -> T {
    // `property` returns nil only when asked for an optional.
    try decoder.property(type, key, optional: false)!
  }

  private func optional<T: Decodable>(_ type: T.Type, _ key: Key) throws -> T? {
    try decoder.property(type, key, optional: true)
  }

  func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try required(type, key) }
  func decode(_ type: String.Type, forKey key: Key) throws -> String { try required(type, key) }
  func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try required(type, key) }
  func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try required(type, key) }
  func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try required(type, key) }
  func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try required(type, key) }
  func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try required(type, key) }
  func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try required(type, key) }
  func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try required(type, key) }
  func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try required(type, key) }
  func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try required(type, key) }
  func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try required(type, key) }
  func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try required(type, key) }
  func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try required(type, key) }
  func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try required(type, key) }

  func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? { try optional(type, key) }
  func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? { try optional(type, key) }
  func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? { try optional(type, key) }
  func decodeIfPresent(_ type: Float.Type, forKey key: Key) throws -> Float? { try optional(type, key) }
  func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? { try optional(type, key) }
  func decodeIfPresent(_ type: Int8.Type, forKey key: Key) throws -> Int8? { try optional(type, key) }
  func decodeIfPresent(_ type: Int16.Type, forKey key: Key) throws -> Int16? { try optional(type, key) }
  func decodeIfPresent(_ type: Int32.Type, forKey key: Key) throws -> Int32? { try optional(type, key) }
  func decodeIfPresent(_ type: Int64.Type, forKey key: Key) throws -> Int64? { try optional(type, key) }
  func decodeIfPresent(_ type: UInt.Type, forKey key: Key) throws -> UInt? { try optional(type, key) }
  func decodeIfPresent(_ type: UInt8.Type, forKey key: Key) throws -> UInt8? { try optional(type, key) }
  func decodeIfPresent(_ type: UInt16.Type, forKey key: Key) throws -> UInt16? { try optional(type, key) }
  func decodeIfPresent(_ type: UInt32.Type, forKey key: Key) throws -> UInt32? { try optional(type, key) }
  func decodeIfPresent(_ type: UInt64.Type, forKey key: Key) throws -> UInt64? { try optional(type, key) }
  func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? { try optional(type, key) }

  func nestedContainer<NestedKey: CodingKey>(
    keyedBy type: NestedKey.Type, forKey key: Key
  ) throws -> KeyedDecodingContainer<NestedKey> {
    try fieldDecoder(key).container(keyedBy: type)
  }

  func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
    try fieldDecoder(key).unkeyedContainer()
  }

  func superDecoder() throws -> any Decoder { try fieldDecoder(NameKey("super")) }

  func superDecoder(forKey key: Key) throws -> any Decoder { try fieldDecoder(key) }

  /// A decoder over one field, for hand-written conformances.
  private func fieldDecoder(_ key: any CodingKey) throws -> FieldDecoder {
    let name = key.stringValue
    if name == "id" {
      return FieldDecoder(tree: .value(.text(decoder.record.id)), codingPath: [key], context: decoder.context)
    }
    let field = try decoder.context.field(name, of: Any.self, in: decoder.definition)
    let tree: FieldTree =
      switch decoder.record.fields[name] {
      case let stored?: FieldTree(stored)
      case nil where field.kind == .set: .list([])
      case nil where field.kind == .map: .object([:])
      case nil: .value(.null)
      }
    return FieldDecoder(tree: tree, codingPath: [key], context: decoder.context)
  }
}

// MARK: - Field values

/// Decodes one field's value (or a part of it: a set element, a map entry).
struct FieldDecoder: Decoder {
  let tree: FieldTree
  let codingPath: [any CodingKey]
  let context: TypedRecordContext
  var userInfo: [CodingUserInfoKey: Any] { [:] }

  /// Decodes a value, reading a `Day` from a date and refusing `Foundation.Date`.
  static func decode<T: Decodable>(
    _ type: T.Type, from tree: FieldTree, codingPath: [any CodingKey], context: TypedRecordContext
  ) throws -> T {
    if type == Day.self {
      guard case .value(.date(let day)) = tree else {
        throw context.mismatch(codingPath, expected: "date (Day)", found: tree.kindName)
      }
      return day as! T
    }
    if type == Date.self { throw context.foundationDate(codingPath) }
    return try T(from: FieldDecoder(tree: tree, codingPath: codingPath, context: context))
  }

  func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
    guard case .object(let members) = tree else {
      throw context.mismatch(codingPath, expected: "map", found: tree.kindName)
    }
    return KeyedDecodingContainer(FieldKeyedDecodingContainer<Key>(decoder: self, members: members))
  }

  func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
    guard case .list(let items) = tree else {
      throw context.mismatch(codingPath, expected: "set", found: tree.kindName)
    }
    return FieldUnkeyedDecodingContainer(decoder: self, items: items)
  }

  func singleValueContainer() throws -> any SingleValueDecodingContainer {
    FieldSingleValueDecodingContainer(decoder: self)
  }

  func child(_ tree: FieldTree, _ key: any CodingKey) -> FieldDecoder {
    FieldDecoder(tree: tree, codingPath: codingPath + [key], context: context)
  }
}

private struct FieldSingleValueDecodingContainer: SingleValueDecodingContainer {
  let decoder: FieldDecoder
  var codingPath: [any CodingKey] { decoder.codingPath }

  private func mismatch(_ expected: Any.Type) -> SamhandError {
    decoder.context.mismatch(codingPath, expected: FieldTypes.describe(expected), found: decoder.tree.kindName)
  }

  private func integer<I: FixedWidthInteger>(_ type: I.Type) throws -> I {
    guard case .value(.integer(let integer)) = decoder.tree else { throw mismatch(type) }
    guard let value = I(exactly: integer) else {
      let (field, path) = decoder.context.place(codingPath)
      throw decoder.context.error(
        .decodingFailed,
        "\(decoder.context.record) field '\(path)': \(integer) does not fit \(decoder.context.typeName).\(field ?? path), a \(type)",
        field: field)
    }
    return value
  }

  func decodeNil() -> Bool { decoder.tree == .value(.null) }

  func decode(_ type: Bool.Type) throws -> Bool {
    guard case .value(.bool(let flag)) = decoder.tree else { throw mismatch(type) }
    return flag
  }

  func decode(_ type: String.Type) throws -> String {
    guard case .value(.text(let text)) = decoder.tree else { throw mismatch(type) }
    return text
  }

  func decode(_ type: Double.Type) throws -> Double {
    switch decoder.tree {
    case .value(.number(let number)): return number
    // A map with no declared value kind may hold integers.
    case .value(.integer(let integer)): return Double(integer)
    default: throw mismatch(type)
    }
  }

  func decode(_ type: Float.Type) throws -> Float { Float(try decode(Double.self)) }
  func decode(_ type: Int.Type) throws -> Int { try integer(type) }
  func decode(_ type: Int8.Type) throws -> Int8 { try integer(type) }
  func decode(_ type: Int16.Type) throws -> Int16 { try integer(type) }
  func decode(_ type: Int32.Type) throws -> Int32 { try integer(type) }
  func decode(_ type: Int64.Type) throws -> Int64 { try integer(type) }
  func decode(_ type: UInt.Type) throws -> UInt { try integer(type) }
  func decode(_ type: UInt8.Type) throws -> UInt8 { try integer(type) }
  func decode(_ type: UInt16.Type) throws -> UInt16 { try integer(type) }
  func decode(_ type: UInt32.Type) throws -> UInt32 { try integer(type) }
  func decode(_ type: UInt64.Type) throws -> UInt64 { try integer(type) }

  func decode<T: Decodable>(_ type: T.Type) throws -> T {
    try FieldDecoder.decode(type, from: decoder.tree, codingPath: codingPath, context: decoder.context)
  }
}

private struct FieldUnkeyedDecodingContainer: UnkeyedDecodingContainer {
  let decoder: FieldDecoder
  let items: [FieldTree]
  var currentIndex = 0
  var codingPath: [any CodingKey] { decoder.codingPath }
  var count: Int? { items.count }
  var isAtEnd: Bool { currentIndex >= items.count }

  init(decoder: FieldDecoder, items: [FieldTree]) {
    self.decoder = decoder
    self.items = items
  }

  private mutating func next() throws -> FieldDecoder {
    guard !isAtEnd else {
      throw DecodingError.valueNotFound(
        Any.self, .init(codingPath: codingPath, debugDescription: "the set has only \(items.count) elements"))
    }
    defer { currentIndex += 1 }
    return decoder.child(items[currentIndex], IndexKey(currentIndex))
  }

  private mutating func single() throws -> FieldSingleValueDecodingContainer {
    FieldSingleValueDecodingContainer(decoder: try next())
  }

  mutating func decodeNil() throws -> Bool {
    guard !isAtEnd, items[currentIndex] == .value(.null) else { return false }
    currentIndex += 1
    return true
  }

  mutating func decode(_ type: Bool.Type) throws -> Bool { try single().decode(type) }
  mutating func decode(_ type: String.Type) throws -> String { try single().decode(type) }
  mutating func decode(_ type: Double.Type) throws -> Double { try single().decode(type) }
  mutating func decode(_ type: Float.Type) throws -> Float { try single().decode(type) }
  mutating func decode(_ type: Int.Type) throws -> Int { try single().decode(type) }
  mutating func decode(_ type: Int8.Type) throws -> Int8 { try single().decode(type) }
  mutating func decode(_ type: Int16.Type) throws -> Int16 { try single().decode(type) }
  mutating func decode(_ type: Int32.Type) throws -> Int32 { try single().decode(type) }
  mutating func decode(_ type: Int64.Type) throws -> Int64 { try single().decode(type) }
  mutating func decode(_ type: UInt.Type) throws -> UInt { try single().decode(type) }
  mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try single().decode(type) }
  mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try single().decode(type) }
  mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try single().decode(type) }
  mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try single().decode(type) }
  mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try single().decode(type) }

  mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
    try next().container(keyedBy: type)
  }

  mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer { try next().unkeyedContainer() }

  mutating func superDecoder() throws -> any Decoder { try next() }
}

private struct FieldKeyedDecodingContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
  let decoder: FieldDecoder
  let members: [String: FieldTree]
  var codingPath: [any CodingKey] { decoder.codingPath }

  var allKeys: [Key] {
    members.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }.compactMap(Key.init(stringValue:))
  }

  func contains(_ key: Key) -> Bool { members[key.stringValue] != nil }

  private func member(_ key: any CodingKey) throws -> FieldDecoder {
    guard let tree = members[key.stringValue] else {
      let (_, path) = decoder.context.place(codingPath)
      throw DecodingError.keyNotFound(
        key, .init(codingPath: codingPath, debugDescription: "the map '\(path)' has no key '\(key.stringValue)'"))
    }
    return decoder.child(tree, key)
  }

  private func single(_ key: Key) throws -> FieldSingleValueDecodingContainer {
    FieldSingleValueDecodingContainer(decoder: try member(key))
  }

  func decodeNil(forKey key: Key) throws -> Bool { members[key.stringValue].map { $0 == .value(.null) } ?? true }

  func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try single(key).decode(type) }
  func decode(_ type: String.Type, forKey key: Key) throws -> String { try single(key).decode(type) }
  func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try single(key).decode(type) }
  func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try single(key).decode(type) }
  func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try single(key).decode(type) }
  func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try single(key).decode(type) }
  func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try single(key).decode(type) }
  func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try single(key).decode(type) }
  func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try single(key).decode(type) }
  func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try single(key).decode(type) }
  func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try single(key).decode(type) }
  func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try single(key).decode(type) }
  func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try single(key).decode(type) }
  func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try single(key).decode(type) }
  func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try single(key).decode(type) }

  func nestedContainer<NestedKey: CodingKey>(
    keyedBy type: NestedKey.Type, forKey key: Key
  ) throws -> KeyedDecodingContainer<NestedKey> {
    try member(key).container(keyedBy: type)
  }

  func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
    try member(key).unkeyedContainer()
  }

  func superDecoder() throws -> any Decoder { try member(NameKey("super")) }

  func superDecoder(forKey key: Key) throws -> any Decoder { try member(key) }
}
