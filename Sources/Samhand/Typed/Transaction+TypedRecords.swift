import Foundation

// MARK: - Saving typed records

extension Transaction {
  /// Writes the fields of a typed record that differ from `current`, as
  /// part of this transaction.
  ///
  /// Every property is checked against the schema before anything is
  /// written: when one fails, the transaction is left as it was. Then each
  /// field is compared with `current`, as changed by the edits this
  /// transaction already holds for the record:
  /// - a scalar field is set when its value differs;
  /// - a set field gets the elements it lacks added and the extra ones
  ///   removed; a map field gets changed keys put and extra keys removed;
  /// - a `nil` property clears what the field shows (see ``TypedRecord``);
  /// - fields the type does not have are left alone.
  ///
  /// A record that does not exist yet is created even if every property is
  /// empty. Saving a value equal to what `current` shows writes nothing.
  ///
  /// ```swift
  /// try store.transact { tx in
  ///   try tx.save(ola, over: store.record(Membership.collection, ola.id))
  ///   try tx.delete("membership", "vestland-kari")
  /// }
  /// ```
  ///
  /// - Parameters:
  ///   - record: the value to save.
  ///   - current: what the changes are computed against: normally the
  ///     record as the replica shows it now, `store.record(T.collection,
  ///     record.id)`; or the record as it was when the value was read for
  ///     editing, so that fields left unedited are not written back over
  ///     changes that arrived from other offices since. Nil for a record
  ///     that does not exist.
  /// - Throws: `SamhandError.schemaViolation` for an unknown collection, a
  ///   property that is not a field, or a value of the wrong kind, naming
  ///   the record and the field; `SamhandError.invalidArgument` for a bad
  ///   record id or a `current` that is another record.
  public mutating func save<T: TypedRecord>(_ record: T, over current: Record?) throws {
    try schema.checkCollection(T.collection, recordID: record.id)
    let id = try Transaction.recordID(record.id, collection: T.collection)
    let ref = RecordRef(T.collection, id)
    if let current, current.ref != ref {
      throw SamhandError(
        .invalidArgument, "cannot save \(ref) over \(current.ref): they are different records",
        collection: T.collection, recordID: id)
    }
    let definition = schema.collections[T.collection]!
    let context = TypedRecordContext(collection: T.collection, recordID: id, typeName: String(describing: T.self))

    // Check every property before writing anything.
    let entries = try RecordEncoder.encode(record, context: context)
    var targets: [(name: String, target: FieldTarget)] = []
    for name in entries.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) where name != "id" {
      let entry = entries[name]!
      let field = try context.field(name, of: entry.type ?? Any.self, in: definition)
      targets.append((name, try context.target(entry.node?.tree, field: field, name: name)))
    }

    let (shown, exists) = shownFields(of: ref, over: current)
    var draft = self
    for (name, target) in targets {
      try draft.write(target, over: shown[name], collection: T.collection, id: id, field: name)
    }
    if !exists && draft.edits.count == edits.count {
      try draft.touch(T.collection, id)
    }
    self = draft
  }

  /// The record's fields as `current` shows them once this transaction's
  /// edits of it so far apply, and whether the record will exist.
  private func shownFields(of ref: RecordRef, over current: Record?) -> ([String: ShownField], Bool) {
    var fields: [String: ShownField] = [:]
    for (name, value) in current?.fields ?? [:] {
      switch value {
      case .value(let value): fields[name] = .value(value)
      case .set(let elements): fields[name] = .set(Set(elements))
      case .map(let entries): fields[name] = .map(entries)
      }
    }
    var exists = current != nil
    for edit in edits where edit.record == ref {
      switch edit {
      case .set(_, let field, let value):
        fields[field] = .value(value)
      case .add(_, let field, let element):
        fields[field] = .set(fields[field]?.elements.union([element]) ?? [element])
      case .remove(_, let field, let element):
        fields[field] = .set(fields[field]?.elements.subtracting([element]) ?? [])
      case .put(_, let field, let key, let value):
        var entries = fields[field]?.entries ?? [:]
        entries[key] = value
        fields[field] = .map(entries)
      case .removeKey(_, let field, let key):
        var entries = fields[field]?.entries ?? [:]
        entries[key] = nil
        fields[field] = .map(entries)
      case .touch:
        break
      case .delete:
        fields = [:]
        exists = false
        continue
      }
      exists = true
    }
    return (fields, exists)
  }

  /// Appends the edits that take a field from what it shows to its target.
  private mutating func write(
    _ target: FieldTarget, over shown: ShownField?, collection: String, id: String, field: String
  ) throws {
    func sortedBytes(_ strings: some Sequence<String>) -> [String] {
      strings.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }
    switch target {
    case .value(let value):
      let old: Value =
        if case .value(let old)? = shown { old } else { .null }
      if value != old { try set(collection, id, field, value) }
    case .set(let elements):
      let old = shown?.elements ?? []
      for element in sortedBytes(elements.subtracting(old)) { try add(collection, id, field, element) }
      for element in sortedBytes(old.subtracting(elements)) { try remove(collection, id, field, element) }
    case .map(let entries):
      let old = shown?.entries ?? [:]
      for key in sortedBytes(entries.keys) where old[key] != entries[key] {
        try put(collection, id, field, key: key, entries[key]!)
      }
      for key in sortedBytes(old.keys) where entries[key] == nil {
        try removeKey(collection, id, field, key: key)
      }
    }
  }
}

/// A field as the replica shows it, while saving.
private enum ShownField {
  case value(Value)
  case set(Set<String>)
  case map([String: Value])

  var elements: Set<String> {
    if case .set(let elements) = self { return elements }
    return []
  }

  var entries: [String: Value] {
    if case .map(let entries) = self { return entries }
    return [:]
  }
}

/// What a saved field must show: a value (`.null` to clear it), a set's
/// elements or a map's entries, in the form the store keeps them in.
enum FieldTarget: Equatable {
  case value(Value)
  case set(Set<String>)
  case map([String: Value])
}

// MARK: - Checking encoded values

extension TypedRecordContext {
  /// Checks an encoded property against its field and puts it in the form
  /// the store keeps (texts in NFC, numbers canonical).
  ///
  /// - Parameter tree: the encoded value, or nil for a nil optional.
  func target(_ tree: FieldTree?, field: Schema.Field, name: String) throws -> FieldTarget {
    func mismatch(_ found: String) -> SamhandError {
      var kind = field.kind.rawValue
      if let values = field.values { kind += " of \(values.rawValue)" }
      return error(
        .schemaViolation, "\(record) field '\(name)' has kind \(kind), but \(typeName).\(name) encodes as \(found)",
        field: name)
    }
    let tree = tree ?? .value(.null)
    switch field.kind {
    case .set:
      switch tree {
      case .value(.null): return .set([])
      case .list(let items):
        var elements: Set<String> = []
        for item in items {
          guard case .value(.text(let element)) = item else { throw mismatch("a list of \(item.kindName)") }
          elements.insert(element.precomposedStringWithCanonicalMapping)
        }
        return .set(elements)
      default: throw mismatch(tree.kindName)
      }
    case .map:
      switch tree {
      case .value(.null): return .map([:])
      case .object(let members):
        var entries: [String: Value] = [:]
        for (key, member) in members {
          guard case .value(var value) = member else { throw mismatch("a map of \(member.kindName)") }
          value = Transaction.normalized(value)
          if let values = field.values, value != .null {
            guard value.kindName == values.rawValue else { throw mismatch("a map of \(value.kindName)") }
            value = try Schema.conform(value, to: values, collection: collection, recordID: recordID, field: "\(name).\(key)")
          } else if case .number(let number) = value {
            guard number.isFinite else { throw mismatch("a number that is not finite") }
            value = .number(number == 0 ? 0 : number)
          }
          entries[key.precomposedStringWithCanonicalMapping] = value
        }
        return .map(entries)
      default: throw mismatch(tree.kindName)
      }
    default:
      guard case .value(let value) = tree else { throw mismatch(tree.kindName) }
      guard value == .null || value.kindName == field.kind.rawValue else { throw mismatch(value.kindName) }
      return .value(
        try Schema.conform(Transaction.normalized(value), to: field.kind, collection: collection, recordID: recordID, field: name))
    }
  }
}
