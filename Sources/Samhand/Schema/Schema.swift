import Foundation

/// The collections of a store and the typed fields of their records.
///
/// A schema is read from JSON of this form (the `description` keys are
/// optional, and a field may be written as an object to give one):
///
/// ```json
/// {"collections": {"cases": {"fields": {
///   "title": "text", "participants": "set", "funding": "map",
///   "deadline": {"kind": "date", "description": "Frist"}}}}}
/// ```
///
/// A map field may name the kind of its values: `{"kind": "map", "values": "integer"}`.
public struct Schema: Hashable, Sendable {
  /// The kind of a field.
  public enum FieldKind: String, Hashable, Sendable, CaseIterable {
    /// A kind of field, named as in a schema's JSON.
    ///
    /// The scalar kinds hold one value each: `text` a string, `integer` a
    /// whole number, `number` a finite floating-point number, `bool` true or
    /// false, `date` a calendar day (``Day``). A `set` holds text elements
    /// and a `map` holds a value for each text key.
    case text, integer, number, bool, date, set, map

    /// Whether the field holds one value (as opposed to a set or a map).
    public var isScalar: Bool { self != .set && self != .map }
  }

  /// The definition of one field: its kind and, for a map, the kind of its values.
  public struct Field: Hashable, Sendable {
    /// What the field holds.
    public var kind: FieldKind
    /// For a map: the kind of its values, or nil for any scalar value.
    public var values: FieldKind?
    /// What the field is for, in words; optional.
    public var description: String?

    /// Creates a field definition.
    ///
    /// Nothing is checked here; ``Schema/init(collections:description:)``
    /// checks that only a map names `values`, and that they are a scalar kind.
    public init(_ kind: FieldKind, values: FieldKind? = nil, description: String? = nil) {
      self.kind = kind
      self.values = values
      self.description = description
    }
  }

  /// The definition of one collection: the fields its records may have.
  public struct Collection: Hashable, Sendable {
    /// The collection's fields, by name.
    public var fields: [String: Field]
    /// What the collection holds, in words; optional.
    public var description: String?
    /// Who may write the collection's records, when the store has a roster;
    /// nil lets every active member write them.
    public var writers: [WriteRule]?

    /// Creates a collection definition. Its names are checked when a schema is created from it.
    public init(fields: [String: Field], description: String? = nil, writers: [WriteRule]? = nil) {
      self.fields = fields
      self.description = description
      self.writers = writers
    }
  }

  /// One way an office may earn the right to write a record, written in a
  /// collection's `write` list as `kind:ks`, `office:kdd` or `field:owner`.
  public enum WriteRule: Hashable, Sendable, CustomStringConvertible {
    /// Offices of this kind in the roster (`fylkeskommune`, `ks`, `kdd`).
    case kind(String)
    /// This one office.
    case office(ReplicaID)
    /// Offices that the record names in this text or set field (an owner,
    /// the participants, a member's organisation).
    case field(String)

    /// The rule as written in the schema, such as `field:owner`.
    public var description: String {
      switch self {
      case .kind(let kind): "kind:\(kind)"
      case .office(let office): "office:\(office)"
      case .field(let field): "field:\(field)"
      }
    }

    /// Reads a rule from its text, or returns nil when it is not one.
    public init?(_ text: String) {
      let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
      guard parts.count == 2 else { return nil }
      switch parts[0] {
      case "kind" where Roster.isValidKind(parts[1]): self = .kind(parts[1])
      case "office": guard let office = ReplicaID(rawValue: parts[1]) else { return nil }; self = .office(office)
      case "field" where !parts[1].isEmpty: self = .field(parts[1])
      default: return nil
      }
    }
  }

  /// The collections, by name.
  public var collections: [String: Collection]
  /// What the schema is for, in words; optional.
  public var description: String?

  /// Creates a schema, checking its names and map value kinds.
  ///
  /// - Throws: `SamhandError.invalidSchema` when a collection or field name
  ///   is not 1–64 lowercase letters, digits and `_` starting with a letter,
  ///   or is `id`; or when a field that is not a map names `values`, or a
  ///   map names a kind of values that is not scalar.
  public init(collections: [String: Collection], description: String? = nil) throws {
    self.collections = collections
    self.description = description
    for (name, collection) in collections {
      try Schema.checkName(name, what: "collection")
      for fieldName in collection.fields.keys {
        try Schema.checkName(fieldName, what: "field", in: name)
      }
      for case .field(let fieldName) in collection.writers ?? [] {
        guard let field = collection.fields[fieldName], field.kind == .text || field.kind == .set else {
          throw SamhandError(
            .invalidSchema,
            "collection '\(name)': the write rule 'field:\(fieldName)' must name a text or set field of the collection",
            collection: name, field: fieldName)
        }
      }
      for (fieldName, field) in collection.fields where field.values != nil {
        guard field.kind == .map, let values = field.values, values.isScalar else {
          throw SamhandError(
            .invalidSchema,
            "field '\(fieldName)' in '\(name)': only a map may name 'values', and they must be a scalar kind",
            collection: name, field: fieldName)
        }
      }
    }
  }

  /// Collection names sorted by their bytes.
  public var collectionNames: [String] {
    collections.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
  }

  /// The field definition, or a schema-violation error naming what is unknown.
  public func field(_ collection: String, _ field: String, recordID: String? = nil) throws -> Field {
    guard let definition = collections[collection] else {
      throw SamhandError(
        .schemaViolation,
        "unknown collection '\(collection)' (the schema has: \(collectionNames.joined(separator: ", ")))",
        collection: collection, recordID: recordID)
    }
    guard let fieldDefinition = definition.fields[field] else {
      let known = definition.fields.keys.sorted().joined(separator: ", ")
      throw SamhandError(
        .schemaViolation,
        "unknown field '\(field)' in \(collection)/\(recordID ?? "?") (the collection has: \(known))",
        collection: collection, recordID: recordID, field: field)
    }
    return fieldDefinition
  }

  /// Checks that the collection exists.
  public func checkCollection(_ collection: String, recordID: String? = nil) throws {
    guard collections[collection] != nil else {
      throw SamhandError(
        .schemaViolation,
        "unknown collection '\(collection)' (the schema has: \(collectionNames.joined(separator: ", ")))",
        collection: collection, recordID: recordID)
    }
  }

  static func checkName(_ name: String, what: String, in collection: String? = nil) throws {
    let bytes = Array(name.utf8)
    let valid =
      (1...64).contains(bytes.count)
      && bytes[0] >= UInt8(ascii: "a") && bytes[0] <= UInt8(ascii: "z")
      && bytes.allSatisfy { byte in
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
          || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
          || byte == UInt8(ascii: "_")
      }
    guard valid, name != "id" else {
      let place = collection.map { " in '\($0)'" } ?? ""
      throw SamhandError(
        .invalidSchema,
        "\(what) name '\(name)'\(place) is not allowed: use 1–64 lowercase letters, digits and '_', starting with a letter, and not 'id'",
        collection: collection, field: what == "field" ? name : nil)
    }
  }
}

// MARK: - Values

extension Schema {
  /// Checks a value against a field's kind and returns it in canonical form.
  ///
  /// An `.integer` written to a `number` field becomes `.number`; a `.text`
  /// written to a `date` field must be `YYYY-MM-DD` and becomes `.date`.
  /// `null` is accepted by every scalar field.
  static func conform(
    _ value: Value, to kind: FieldKind, collection: String, recordID: String, field: String
  ) throws -> Value {
    func mismatch(_ detail: String = "") -> SamhandError {
      SamhandError(
        .schemaViolation,
        "\(collection)/\(recordID) field '\(field)' expects \(kind.rawValue), got \(value.kindName)\(detail)",
        collection: collection, recordID: recordID, field: field)
    }
    switch (kind, value) {
    case (_, .null): return .null
    case (.text, .text), (.integer, .integer), (.bool, .bool), (.date, .date): return value
    case (.number, .number(let double)):
      guard double.isFinite else { throw mismatch(" (not finite)") }
      return .number(double == 0 ? 0 : double)
    case (.number, .integer(let integer)): return .number(Double(integer))
    case (.date, .text(let text)):
      guard let day = Day(iso8601: text) else {
        throw SamhandError(
          .schemaViolation,
          "\(collection)/\(recordID) field '\(field)' expects a date YYYY-MM-DD, got '\(text)'",
          collection: collection, recordID: recordID, field: field)
      }
      return .date(day)
    default: throw mismatch()
    }
  }
}

// MARK: - Changesets

extension Schema {
  /// Why a changeset breaks the schema, or nil when it conforms.
  ///
  /// A conforming changeset is one that a local transaction would have
  /// produced: known collections and fields, right kinds, canonical values.
  public func violation(in changeset: Changeset) -> String? {
    var transaction = Transaction(schema: self)
    for operation in changeset.edits {
      do {
        try transaction.append(operation)
      } catch let error as SamhandError {
        return error.message
      } catch {
        return "\(error)"
      }
      if transaction.edits.last != operation {
        return "\(operation.record) field '\(operation.field ?? "")' holds a value not in canonical form"
      }
    }
    return Limits.recordViolation(in: changeset.edits)
  }
}
