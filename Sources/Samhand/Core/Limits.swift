/// The largest values, records and changesets Samhand writes and accepts
/// (`Docs/FORMATS.md`, section 2, "Limits").
///
/// Writers refuse what is larger, and readers apply a changeset that breaks
/// a limit as *rejected* (it counts in the frontier and changes nothing),
/// the same way on every replica: the checks read only the changeset.
/// Without them, a small compressed file signed by any member could make
/// every replica store hundreds of megabytes.
public enum Limits {
  /// A text value, in UTF-8 bytes: 1 MiB.
  public static let maximumTextBytes = 1024 * 1024
  /// A set element or a map key, in UTF-8 bytes: 4 KiB.
  public static let maximumKeyBytes = 4 * 1024
  /// A record id, in UTF-8 bytes.
  public static let maximumRecordIDBytes = 256
  /// What one changeset writes to one record, as encoded in its payload
  /// (every edit's ids, field names, keys and values): 4 MiB.
  public static let maximumRecordBytes = 4 * 1024 * 1024
  /// A changeset's payload, uncompressed: 64 MiB.
  public static let maximumPayloadBytes = ChangesetFile.maximumPayloadSize

  /// Why a text, element or key breaks its limit, or nil.
  static func textViolation(_ text: String, what: String, _ record: RecordRef, _ field: String) -> SamhandError? {
    let limit = what == "text" ? maximumTextBytes : maximumKeyBytes
    let size = text.utf8.count
    guard size > limit else { return nil }
    return SamhandError(
      .tooLarge, "\(record) field '\(field)': a \(what) of \(size) bytes is over the limit of \(limit) bytes",
      collection: record.collection, recordID: record.id, field: field)
  }

  /// Why the edits to one record break ``maximumRecordBytes``, or nil.
  static func recordViolation(in edits: [Edit]) -> String? {
    var bytes: [RecordRef: Int] = [:]
    for edit in edits {
      let total = bytes[edit.record, default: 0] + edit.encodedSize
      if total > maximumRecordBytes {
        return "\(edit.record): the changeset writes more than \(maximumRecordBytes) bytes to one record"
      }
      bytes[edit.record] = total
    }
    return nil
  }
}

extension Edit {
  /// The bytes of the edit in a changeset payload (`Docs/FORMATS.md`, section 2).
  var encodedSize: Int {
    func string(_ text: String) -> Int {
      let count = text.utf8.count
      return count + Edit.varintSize(UInt64(count))
    }
    func value(_ value: Value) -> Int {
      switch value {
      case .null, .bool: 1
      case .integer(let integer): 1 + Edit.varintSize(UInt64(bitPattern: (integer << 1) ^ (integer >> 63)))
      case .number: 9
      case .text(let text): 1 + string(text)
      case .date: 1 + 4
      }
    }
    let head = 1 + string(record.collection) + string(record.id)
    switch self {
    case .set(_, let field, let v): return head + string(field) + value(v)
    case .add(_, let field, let element), .remove(_, let field, let element): return head + string(field) + string(element)
    case .put(_, let field, let key, let v): return head + string(field) + string(key) + value(v)
    case .removeKey(_, let field, let key): return head + string(field) + string(key)
    case .touch, .delete: return head
    }
  }

  static func varintSize(_ value: UInt64) -> Int {
    var size = 1
    var rest = value >> 7
    while rest != 0 {
      size += 1
      rest >>= 7
    }
    return size
  }
}
