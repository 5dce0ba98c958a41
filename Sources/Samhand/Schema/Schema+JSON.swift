import Foundation

// MARK: - Reading

extension Schema {
  /// Reads a schema from its JSON form, rejecting unknown keys and kinds.
  ///
  /// - Throws: `SamhandError.invalidSchema` naming the collection, field and key;
  ///   `SamhandError.unsupportedFormat` when it names a format other than 1.
  public init(json data: Data) throws {
    let root: JSONValue
    do {
      root = try JSONValue.parse(data)
    } catch let error as SamhandError {
      throw SamhandError(.invalidSchema, "schema: \(error.message)")
    }
    try self.init(jsonValue: root)
  }

  init(jsonValue root: JSONValue) throws {
    guard case .object(let top) = root else {
      throw SamhandError(.invalidSchema, "schema: expected a JSON object at the top")
    }
    try Schema.rejectUnknown(top, allowed: ["collections", "description", "format"], place: "schema")
    if let format = top["format"], format != .integer(1) {
      throw SamhandError(.unsupportedFormat, "schema: format \(format) is not supported (this Samhand reads format 1)")
    }
    guard case .object(let collectionsJSON)? = top["collections"] else {
      throw SamhandError(.invalidSchema, "schema: missing object 'collections'")
    }
    var collections: [String: Collection] = [:]
    for (name, value) in collectionsJSON {
      guard case .object(let body) = value else {
        throw SamhandError(.invalidSchema, "schema: collection '\(name)' must be an object", collection: name)
      }
      try Schema.rejectUnknown(body, allowed: ["fields", "description", "write"], place: "collection '\(name)'")
      var writers: [WriteRule]?
      if let write = body["write"] {
        guard case .array(let items) = write else {
          throw SamhandError(
            .invalidSchema, "schema: 'write' in collection '\(name)' must be an array of rules such as \"kind:ks\" or \"field:owner\"",
            collection: name)
        }
        writers = try items.map { item in
          guard case .string(let text) = item, let rule = WriteRule(text) else {
            throw SamhandError(
              .invalidSchema,
              "schema: collection '\(name)': write rule \(item) is not one of kind:KIND, office:SLUG or field:FIELD",
              collection: name)
          }
          return rule
        }
      }
      guard case .object(let fieldsJSON)? = body["fields"] else {
        throw SamhandError(
          .invalidSchema, "schema: collection '\(name)' needs an object 'fields'", collection: name)
      }
      var fields: [String: Field] = [:]
      for (fieldName, spec) in fieldsJSON {
        fields[fieldName] = try Schema.parseField(spec, collection: name, field: fieldName)
      }
      collections[name] = Collection(fields: fields, description: body["description"]?.stringValue, writers: writers)
    }
    try self.init(collections: collections, description: top["description"]?.stringValue)
  }

  static func parseField(_ spec: JSONValue, collection: String, field: String) throws -> Field {
    func kind(_ json: JSONValue?, key: String) throws -> FieldKind {
      guard case .string(let name)? = json, let kind = FieldKind(rawValue: name) else {
        let allowed = FieldKind.allCases.map(\.rawValue).joined(separator: ", ")
        throw SamhandError(
          .invalidSchema,
          "schema: field '\(field)' in '\(collection)': \(key) must be one of \(allowed)",
          collection: collection, field: field)
      }
      return kind
    }
    switch spec {
    case .string:
      return Field(try kind(spec, key: "the kind"))
    case .object(let body):
      try rejectUnknown(body, allowed: ["kind", "values", "description"], place: "field '\(field)' in '\(collection)'")
      let values = try body["values"].map { try kind($0, key: "'values'") }
      return Field(try kind(body["kind"], key: "'kind'"), values: values, description: body["description"]?.stringValue)
    default:
      throw SamhandError(
        .invalidSchema, "schema: field '\(field)' in '\(collection)' must be a kind name or an object",
        collection: collection, field: field)
    }
  }

  static func rejectUnknown(_ object: [String: JSONValue], allowed: Set<String>, place: String) throws {
    let unknown = object.keys.filter { !allowed.contains($0) }.sorted()
    guard unknown.isEmpty else {
      throw SamhandError(
        .invalidSchema,
        "schema: unknown key\(unknown.count > 1 ? "s" : "") \(unknown.map { "'\($0)'" }.joined(separator: ", ")) in \(place) (allowed: \(allowed.sorted().joined(separator: ", ")))")
    }
  }
}

// MARK: - Writing

extension Schema {
  /// The schema as canonical JSON: the same schema always gives the same bytes.
  public var canonicalJSON: Data { CanonicalJSON.encode(canonicalNode) }

  var canonicalNode: CanonicalJSON.Node {
    var top: [(String, CanonicalJSON.Node)] = [("format", .integer(1))]
    if let description { top.append(("description", .string(description))) }
    let collectionNodes: [(String, CanonicalJSON.Node)] = collections.map { name, collection in
      var body: [(String, CanonicalJSON.Node)] = []
      if let description = collection.description { body.append(("description", .string(description))) }
      let fields: [(String, CanonicalJSON.Node)] = collection.fields.map { fieldName, field in
        if field.values == nil && field.description == nil {
          return (fieldName, .string(field.kind.rawValue))
        }
        var spec: [(String, CanonicalJSON.Node)] = [("kind", .string(field.kind.rawValue))]
        if let values = field.values { spec.append(("values", .string(values.rawValue))) }
        if let description = field.description { spec.append(("description", .string(description))) }
        return (fieldName, .object(spec))
      }
      body.append(("fields", .object(fields)))
      if let writers = collection.writers { body.append(("write", .array(writers.map { .string($0.description) }))) }
      return (name, .object(body))
    }
    top.append(("collections", .object(collectionNodes)))
    return .object(top)
  }
}

extension JSONValue {
  var stringValue: String? {
    if case .string(let string) = self { return string }
    return nil
  }
}
