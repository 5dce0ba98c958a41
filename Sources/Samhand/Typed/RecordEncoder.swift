import Foundation

/// Encodes a typed record into one entry per coding key, keeping the
/// static type of each property, so that a nil optional still says which
/// field it is and what kind it would be.
///
/// Synthesized `Encodable` conformances skip nil optionals through
/// `encodeIfPresent`; this encoder's keyed container implements every
/// `encodeIfPresent` overload itself, so it sees them.
final class RecordEncoder: Encoder {
  /// One property as encoded.
  struct Entry {
    /// The property's static type, when the encoding call tells it.
    var type: Any.Type?
    /// The encoded value, or nil for a nil optional.
    var node: FieldNode?
  }

  let context: TypedRecordContext
  let codingPath: [any CodingKey] = []
  let userInfo: [CodingUserInfoKey: Any] = [:]
  private(set) var entries: [String: Entry] = [:]
  /// The type asked for an unkeyed or single-value container at the top.
  private(set) var notKeyed = false

  init(context: TypedRecordContext) { self.context = context }

  /// Encodes `record` and returns its entries by key.
  static func encode(_ record: some Encodable, context: TypedRecordContext) throws -> [String: Entry] {
    let encoder = RecordEncoder(context: context)
    try record.encode(to: encoder)
    guard !encoder.notKeyed else {
      throw context.error(
        .schemaViolation,
        "\(context.typeName) does not encode as properties: a typed record must encode with a keyed container, one key per field")
    }
    return encoder.entries
  }

  func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
    KeyedEncodingContainer(RecordEncodingContainer<Key>(encoder: self))
  }

  func unkeyedContainer() -> any UnkeyedEncodingContainer {
    notKeyed = true
    return FieldEncoder(node: FieldNode(), codingPath: [], context: context).unkeyedContainer()
  }

  func singleValueContainer() -> any SingleValueEncodingContainer {
    notKeyed = true
    return FieldEncoder(node: FieldNode(), codingPath: [], context: context).singleValueContainer()
  }

  fileprivate func put<T: Encodable>(_ value: T?, type: Any.Type?, key: any CodingKey) throws {
    guard let value else {
      // A second write for the same key keeps the first one's value.
      if entries[key.stringValue] == nil { entries[key.stringValue] = Entry(type: type, node: nil) }
      return
    }
    let node = FieldNode()
    try FieldEncoder.encode(value, into: node, codingPath: [key], context: context)
    entries[key.stringValue] = Entry(type: type, node: node)
  }

  fileprivate func node(for key: any CodingKey) -> FieldNode {
    if let node = entries[key.stringValue]?.node { return node }
    let node = FieldNode()
    entries[key.stringValue] = Entry(type: nil, node: node)
    return node
  }
}

// MARK: - The record's keyed container

private struct RecordEncodingContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
  let encoder: RecordEncoder
  var codingPath: [any CodingKey] { [] }

  mutating func encodeNil(forKey key: Key) throws { try encoder.put(Int?.none, type: nil, key: key) }
  mutating func encode(_ value: Bool, forKey key: Key) throws { try put(value, key) }
  mutating func encode(_ value: String, forKey key: Key) throws { try put(value, key) }
  mutating func encode(_ value: Double, forKey key: Key) throws { try put(value, key) }
  mutating func encode(_ value: Float, forKey key: Key) throws { try put(value, key) }
  mutating func encode(_ value: Int, forKey key: Key) throws { try put(value, key) }
  mutating func encode(_ value: Int8, forKey key: Key) throws { try put(value, key) }
  mutating func encode(_ value: Int16, forKey key: Key) throws { try put(value, key) }
  mutating func encode(_ value: Int32, forKey key: Key) throws { try put(value, key) }
  mutating func encode(_ value: Int64, forKey key: Key) throws { try put(value, key) }
  mutating func encode(_ value: UInt, forKey key: Key) throws { try put(value, key) }
  mutating func encode(_ value: UInt8, forKey key: Key) throws { try put(value, key) }
  mutating func encode(_ value: UInt16, forKey key: Key) throws { try put(value, key) }
  mutating func encode(_ value: UInt32, forKey key: Key) throws { try put(value, key) }
  mutating func encode(_ value: UInt64, forKey key: Key) throws { try put(value, key) }
  mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws { try put(value, key) }

  mutating func encodeIfPresent(_ value: Bool?, forKey key: Key) throws { try put(value, key) }
  mutating func encodeIfPresent(_ value: String?, forKey key: Key) throws { try put(value, key) }
  mutating func encodeIfPresent(_ value: Double?, forKey key: Key) throws { try put(value, key) }
  mutating func encodeIfPresent(_ value: Float?, forKey key: Key) throws { try put(value, key) }
  mutating func encodeIfPresent(_ value: Int?, forKey key: Key) throws { try put(value, key) }
  mutating func encodeIfPresent(_ value: Int8?, forKey key: Key) throws { try put(value, key) }
  mutating func encodeIfPresent(_ value: Int16?, forKey key: Key) throws { try put(value, key) }
  mutating func encodeIfPresent(_ value: Int32?, forKey key: Key) throws { try put(value, key) }
  mutating func encodeIfPresent(_ value: Int64?, forKey key: Key) throws { try put(value, key) }
  mutating func encodeIfPresent(_ value: UInt?, forKey key: Key) throws { try put(value, key) }
  mutating func encodeIfPresent(_ value: UInt8?, forKey key: Key) throws { try put(value, key) }
  mutating func encodeIfPresent(_ value: UInt16?, forKey key: Key) throws { try put(value, key) }
  mutating func encodeIfPresent(_ value: UInt32?, forKey key: Key) throws { try put(value, key) }
  mutating func encodeIfPresent(_ value: UInt64?, forKey key: Key) throws { try put(value, key) }
  mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws { try put(value, key) }

  mutating func nestedContainer<NestedKey: CodingKey>(
    keyedBy keyType: NestedKey.Type, forKey key: Key
  ) -> KeyedEncodingContainer<NestedKey> {
    FieldEncoder(node: encoder.node(for: key), codingPath: [key], context: encoder.context)
      .container(keyedBy: keyType)
  }

  mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
    FieldEncoder(node: encoder.node(for: key), codingPath: [key], context: encoder.context).unkeyedContainer()
  }

  mutating func superEncoder() -> any Encoder {
    let key = NameKey("super")
    return FieldEncoder(node: encoder.node(for: key), codingPath: [key], context: encoder.context)
  }

  mutating func superEncoder(forKey key: Key) -> any Encoder {
    FieldEncoder(node: encoder.node(for: key), codingPath: [key], context: encoder.context)
  }

  private func put<T: Encodable>(_ value: T?, _ key: Key) throws {
    try encoder.put(value, type: T.self, key: key)
  }
}

// MARK: - Field values

/// A property's value while it is being encoded.
final class FieldNode {
  enum Shape { case empty, value, list, object }
  var shape: Shape = .empty
  var value: Value = .null
  var items: [FieldNode] = []
  var members: [String: FieldNode] = [:]

  /// The finished value; an empty node (nothing encoded) is `.null`.
  var tree: FieldTree {
    switch shape {
    case .empty: .value(.null)
    case .value: .value(value)
    case .list: .list(items.map(\.tree))
    case .object: .object(members.mapValues(\.tree))
    }
  }

  func set(_ value: Value) {
    shape = .value
    self.value = value
  }
}

/// Encodes one property's value into a `FieldNode`.
struct FieldEncoder: Encoder {
  let node: FieldNode
  let codingPath: [any CodingKey]
  let context: TypedRecordContext
  var userInfo: [CodingUserInfoKey: Any] { [:] }

  /// Encodes a value, storing a `Day` as a date and refusing `Foundation.Date`.
  static func encode<T: Encodable>(
    _ value: T, into node: FieldNode, codingPath: [any CodingKey], context: TypedRecordContext
  ) throws {
    if let day = value as? Day {
      node.set(.date(day))
    } else if value is Date {
      throw context.foundationDate(codingPath)
    } else {
      try value.encode(to: FieldEncoder(node: node, codingPath: codingPath, context: context))
    }
  }

  func integer<I: BinaryInteger>(_ value: I) throws -> Value {
    guard let integer = Int64(exactly: value) else {
      let (field, path) = context.place(codingPath)
      throw context.error(
        .schemaViolation, "\(context.record) field '\(path)': \(value) does not fit a 64-bit integer", field: field)
    }
    return .integer(integer)
  }

  func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
    if node.shape != .object {
      node.shape = .object
      node.members = [:]
    }
    return KeyedEncodingContainer(FieldKeyedEncodingContainer<Key>(encoder: self))
  }

  func unkeyedContainer() -> any UnkeyedEncodingContainer {
    if node.shape != .list {
      node.shape = .list
      node.items = []
    }
    return FieldUnkeyedEncodingContainer(encoder: self)
  }

  func singleValueContainer() -> any SingleValueEncodingContainer {
    FieldSingleValueEncodingContainer(encoder: self)
  }

  /// An encoder for a new child node: a list item or an object member.
  func child(_ key: any CodingKey) -> FieldEncoder {
    FieldEncoder(node: FieldNode(), codingPath: codingPath + [key], context: context)
  }
}

private struct FieldSingleValueEncodingContainer: SingleValueEncodingContainer {
  let encoder: FieldEncoder
  var codingPath: [any CodingKey] { encoder.codingPath }

  func encodeNil() throws { encoder.node.set(.null) }
  func encode(_ value: Bool) throws { encoder.node.set(.bool(value)) }
  func encode(_ value: String) throws { encoder.node.set(.text(value)) }
  func encode(_ value: Double) throws { encoder.node.set(.number(value)) }
  func encode(_ value: Float) throws { encoder.node.set(.number(Double(value))) }
  func encode(_ value: Int) throws { encoder.node.set(try encoder.integer(value)) }
  func encode(_ value: Int8) throws { encoder.node.set(try encoder.integer(value)) }
  func encode(_ value: Int16) throws { encoder.node.set(try encoder.integer(value)) }
  func encode(_ value: Int32) throws { encoder.node.set(try encoder.integer(value)) }
  func encode(_ value: Int64) throws { encoder.node.set(try encoder.integer(value)) }
  func encode(_ value: UInt) throws { encoder.node.set(try encoder.integer(value)) }
  func encode(_ value: UInt8) throws { encoder.node.set(try encoder.integer(value)) }
  func encode(_ value: UInt16) throws { encoder.node.set(try encoder.integer(value)) }
  func encode(_ value: UInt32) throws { encoder.node.set(try encoder.integer(value)) }
  func encode(_ value: UInt64) throws { encoder.node.set(try encoder.integer(value)) }
  func encode<T: Encodable>(_ value: T) throws {
    try FieldEncoder.encode(value, into: encoder.node, codingPath: codingPath, context: encoder.context)
  }
}

private struct FieldUnkeyedEncodingContainer: UnkeyedEncodingContainer {
  let encoder: FieldEncoder
  var codingPath: [any CodingKey] { encoder.codingPath }
  var count: Int { encoder.node.items.count }

  private func append() -> FieldEncoder {
    let child = encoder.child(IndexKey(encoder.node.items.count))
    encoder.node.items.append(child.node)
    return child
  }

  mutating func encodeNil() throws { append().node.set(.null) }
  mutating func encode(_ value: Bool) throws { try FieldSingleValueEncodingContainer(encoder: append()).encode(value) }
  mutating func encode(_ value: String) throws { try FieldSingleValueEncodingContainer(encoder: append()).encode(value) }
  mutating func encode(_ value: Double) throws { try FieldSingleValueEncodingContainer(encoder: append()).encode(value) }
  mutating func encode(_ value: Float) throws { try FieldSingleValueEncodingContainer(encoder: append()).encode(value) }
  mutating func encode(_ value: Int) throws { try FieldSingleValueEncodingContainer(encoder: append()).encode(value) }
  mutating func encode(_ value: Int8) throws { try FieldSingleValueEncodingContainer(encoder: append()).encode(value) }
  mutating func encode(_ value: Int16) throws { try FieldSingleValueEncodingContainer(encoder: append()).encode(value) }
  mutating func encode(_ value: Int32) throws { try FieldSingleValueEncodingContainer(encoder: append()).encode(value) }
  mutating func encode(_ value: Int64) throws { try FieldSingleValueEncodingContainer(encoder: append()).encode(value) }
  mutating func encode(_ value: UInt) throws { try FieldSingleValueEncodingContainer(encoder: append()).encode(value) }
  mutating func encode(_ value: UInt8) throws { try FieldSingleValueEncodingContainer(encoder: append()).encode(value) }
  mutating func encode(_ value: UInt16) throws { try FieldSingleValueEncodingContainer(encoder: append()).encode(value) }
  mutating func encode(_ value: UInt32) throws { try FieldSingleValueEncodingContainer(encoder: append()).encode(value) }
  mutating func encode(_ value: UInt64) throws { try FieldSingleValueEncodingContainer(encoder: append()).encode(value) }
  mutating func encode<T: Encodable>(_ value: T) throws {
    try FieldSingleValueEncodingContainer(encoder: append()).encode(value)
  }

  mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
    append().container(keyedBy: keyType)
  }

  mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer { append().unkeyedContainer() }

  mutating func superEncoder() -> any Encoder { append() }
}

private struct FieldKeyedEncodingContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
  let encoder: FieldEncoder
  var codingPath: [any CodingKey] { encoder.codingPath }

  private func member(_ key: any CodingKey) -> FieldEncoder {
    let child = encoder.child(key)
    encoder.node.members[key.stringValue] = child.node
    return child
  }

  private func single(_ key: Key) -> FieldSingleValueEncodingContainer {
    FieldSingleValueEncodingContainer(encoder: member(key))
  }

  mutating func encodeNil(forKey key: Key) throws { try single(key).encodeNil() }
  mutating func encode(_ value: Bool, forKey key: Key) throws { try single(key).encode(value) }
  mutating func encode(_ value: String, forKey key: Key) throws { try single(key).encode(value) }
  mutating func encode(_ value: Double, forKey key: Key) throws { try single(key).encode(value) }
  mutating func encode(_ value: Float, forKey key: Key) throws { try single(key).encode(value) }
  mutating func encode(_ value: Int, forKey key: Key) throws { try single(key).encode(value) }
  mutating func encode(_ value: Int8, forKey key: Key) throws { try single(key).encode(value) }
  mutating func encode(_ value: Int16, forKey key: Key) throws { try single(key).encode(value) }
  mutating func encode(_ value: Int32, forKey key: Key) throws { try single(key).encode(value) }
  mutating func encode(_ value: Int64, forKey key: Key) throws { try single(key).encode(value) }
  mutating func encode(_ value: UInt, forKey key: Key) throws { try single(key).encode(value) }
  mutating func encode(_ value: UInt8, forKey key: Key) throws { try single(key).encode(value) }
  mutating func encode(_ value: UInt16, forKey key: Key) throws { try single(key).encode(value) }
  mutating func encode(_ value: UInt32, forKey key: Key) throws { try single(key).encode(value) }
  mutating func encode(_ value: UInt64, forKey key: Key) throws { try single(key).encode(value) }
  mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws { try single(key).encode(value) }

  mutating func nestedContainer<NestedKey: CodingKey>(
    keyedBy keyType: NestedKey.Type, forKey key: Key
  ) -> KeyedEncodingContainer<NestedKey> {
    member(key).container(keyedBy: keyType)
  }

  mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
    member(key).unkeyedContainer()
  }

  mutating func superEncoder() -> any Encoder { member(NameKey("super")) }

  mutating func superEncoder(forKey key: Key) -> any Encoder { member(key) }
}
