import Foundation

/// The writes of one local transaction, checked against the schema as they are made.
///
/// Every call validates at once and throws `SamhandError.schemaViolation`
/// naming the record, the field and the expected kind; a body that throws
/// commits nothing. Texts, ids, set elements and map keys are stored in
/// Unicode NFC, so `ø` typed on macOS and on Windows is the same letter.
public struct Transaction: Sendable {
  /// The schema the writes are checked against: the store's.
  public let schema: Schema
  /// The edits made so far, checked and in canonical form, in the order made.
  public internal(set) var edits: [Edit] = []

  init(schema: Schema) { self.schema = schema }

  /// Sets a scalar field (text, integer, number, bool, date); creates the record if needed.
  public mutating func set(_ collection: String, _ id: String, _ field: String, _ value: Value) throws {
    let record = try reference(collection, id)
    let definition = try schema.field(collection, field, recordID: record.id)
    guard definition.kind.isScalar else {
      throw SamhandError(
        .schemaViolation,
        "\(record) field '\(field)' is a \(definition.kind.rawValue); use add/remove for a set and put for a map",
        collection: collection, recordID: record.id, field: field)
    }
    let conformed = try Schema.conform(
      Transaction.normalized(value), to: definition.kind, collection: collection, recordID: record.id, field: field)
    try Transaction.checkSize(of: conformed, record, field)
    edits.append(.set(record, field: field, value: conformed))
  }

  /// Adds an element to a set field.
  public mutating func add(_ collection: String, _ id: String, _ field: String, _ element: String) throws {
    let record = try reference(collection, id)
    try expect(.set, record, field)
    edits.append(.add(record, field: field, element: try Transaction.text(element, what: "set element", record, field)))
  }

  /// Removes an element from a set field (as far as this replica has seen it added).
  public mutating func remove(_ collection: String, _ id: String, _ field: String, _ element: String) throws {
    let record = try reference(collection, id)
    try expect(.set, record, field)
    edits.append(.remove(record, field: field, element: try Transaction.text(element, what: "set element", record, field)))
  }

  /// Sets one key of a map field.
  public mutating func put(_ collection: String, _ id: String, _ field: String, key: String, _ value: Value) throws {
    let record = try reference(collection, id)
    let definition = try expect(.map, record, field)
    let key = try Transaction.text(key, what: "map key", record, field)
    var conformed = Transaction.normalized(value)
    if let kind = definition.values {
      conformed = try Schema.conform(conformed, to: kind, collection: collection, recordID: record.id, field: "\(field).\(key)")
    } else if case .number(let double) = conformed {
      guard double.isFinite else {
        throw SamhandError(.schemaViolation, "\(record) field '\(field).\(key)': numbers must be finite",
          collection: collection, recordID: record.id, field: field)
      }
      // -0.0 and 0.0 are one value and must have one encoding.
      if double == 0 { conformed = .number(0) }
    }
    try Transaction.checkSize(of: conformed, record, field)
    edits.append(.put(record, field: field, key: key, value: conformed))
  }

  /// Removes one key of a map field.
  public mutating func removeKey(_ collection: String, _ id: String, _ field: String, key: String) throws {
    let record = try reference(collection, id)
    try expect(.map, record, field)
    edits.append(.removeKey(record, field: field, key: try Transaction.text(key, what: "map key", record, field)))
  }

  /// Creates a record with no fields, or keeps an existing one alive (for
  /// example to resolve a delete conflict in favour of keeping the record).
  public mutating func touch(_ collection: String, _ id: String) throws {
    edits.append(.touch(try reference(collection, id)))
  }

  /// Deletes a record as far as this replica has seen it.
  public mutating func delete(_ collection: String, _ id: String) throws {
    edits.append(.delete(try reference(collection, id)))
  }

  /// Appends an operation that was built elsewhere, after checking it against the schema.
  public mutating func append(_ operation: Edit) throws {
    let record = operation.record
    switch operation {
    case .set(_, let field, let value): try set(record.collection, record.id, field, value)
    case .add(_, let field, let element): try add(record.collection, record.id, field, element)
    case .remove(_, let field, let element): try remove(record.collection, record.id, field, element)
    case .put(_, let field, let key, let value): try put(record.collection, record.id, field, key: key, value)
    case .removeKey(_, let field, let key): try removeKey(record.collection, record.id, field, key: key)
    case .touch: try touch(record.collection, record.id)
    case .delete: try delete(record.collection, record.id)
    }
  }

  // MARK: - Checks

  private func reference(_ collection: String, _ id: String) throws -> RecordRef {
    try schema.checkCollection(collection, recordID: id)
    return RecordRef(collection, try Transaction.recordID(id, collection: collection))
  }

  @discardableResult
  private func expect(_ kind: Schema.FieldKind, _ record: RecordRef, _ field: String) throws -> Schema.Field {
    let definition = try schema.field(record.collection, field, recordID: record.id)
    guard definition.kind == kind else {
      throw SamhandError(
        .schemaViolation,
        "\(record) field '\(field)' is a \(definition.kind.rawValue), not a \(kind.rawValue)",
        collection: record.collection, recordID: record.id, field: field)
    }
    return definition
  }

  static func recordID(_ id: String, collection: String) throws -> String {
    let normalized = nfc(id)
    guard !normalized.isEmpty, normalized.utf8.count <= Limits.maximumRecordIDBytes,
      !normalized.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) })
    else {
      throw SamhandError(
        .invalidArgument, "record id '\(id)' in \(collection) must be 1–256 bytes with no control characters",
        collection: collection, recordID: id)
    }
    return normalized
  }

  static func text(_ text: String, what: String, _ record: RecordRef, _ field: String) throws -> String {
    let normalized = nfc(text)
    guard !normalized.isEmpty else {
      throw SamhandError(.schemaViolation, "\(record) field '\(field)': an empty \(what) is not allowed",
        collection: record.collection, recordID: record.id, field: field)
    }
    if let error = Limits.textViolation(normalized, what: what, record, field) { throw error }
    return normalized
  }

  /// A text value over ``Limits/maximumTextBytes`` is refused.
  static func checkSize(of value: Value, _ record: RecordRef, _ field: String) throws {
    if case .text(let text) = value, let error = Limits.textViolation(text, what: "text", record, field) { throw error }
  }

  static func normalized(_ value: Value) -> Value {
    if case .text(let text) = value { return .text(nfc(text)) }
    return value
  }

  /// The text in Unicode NFC. Every scalar below U+0300 (ASCII, Latin-1
  /// with æ, ø and å, Latin Extended) is unchanged by NFC and cannot
  /// combine with what precedes it, so such a text is returned as it is,
  /// without Foundation's normalization (the common case, and most of the
  /// cost of checking a changeset against the schema).
  static func nfc(_ text: String) -> String {
    if text.unicodeScalars.allSatisfy({ $0.value < 0x300 }) { return text }
    return text.precomposedStringWithCanonicalMapping
  }
}
