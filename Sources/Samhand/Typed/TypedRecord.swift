/// A `Codable` model type whose values are the records of one collection.
///
/// The type names its collection and its record id; every other coding key
/// is a field of that collection, checked against the store's schema when
/// a value is saved or read:
///
/// ```swift
/// struct Membership: TypedRecord {
///   static let collection = "membership"
///   var id: String                 // the record id, not a field
///   var person: String
///   var email: String?
///   var organisation: ReplicaID    // a text field, as its raw value
///   var network: String
///   var groups: Set<String>
///   var role: String?
///   var from: Day?
///   var to: Day?
/// }
///
/// try store.save(Membership(
///   id: "vestland-ola", person: "Ola Fjordbotn", email: nil, organisation: "vestland",
///   network: "veilederkorpset", groups: ["reguleringsplan"], role: "planveileder",
///   from: Day(year: 2025, month: 1, day: 1), to: nil))
/// var ola = try store.load(Membership.self, id: "vestland-ola")!
/// ola.groups.insert("kommuneplanens-arealdel")
/// try store.save(ola)   // writes one set element, nothing else
/// ```
///
/// ## Properties and field kinds
///
/// | Swift type | field kind |
/// | --- | --- |
/// | `String`; an enum or other `RawRepresentable` with `String` raw values | `text` |
/// | `Int`, `Int8` … `Int64`, `UInt` … `UInt64`; integer raw values | `integer` |
/// | `Double`, `Float` | `number` |
/// | `Bool` | `bool` |
/// | ``Day`` | `date` |
/// | `Set<String>`, `[String]` (or of `String` enums) | `set` |
/// | `[String: V]`, with `V` a scalar type above | `map` |
///
/// Kinds must match exactly: an `Int` property for a `number` field, or a
/// `String` for a `date` field, is a schema violation. `Foundation.Date` is
/// refused, since a date field holds a calendar day without time or zone:
/// use ``Day``. An `[String]` property reads back sorted by bytes, without
/// duplicates, since a set field keeps no order. Other `Codable` types work
/// when they encode as one of these (a `UUID` as text, say).
///
/// A type may leave out fields of its collection: saving it never touches
/// fields it does not have. A property that is not a field of the
/// collection is a schema violation.
///
/// ## The record id
///
/// `id` is required so that values read with ``Store/all(_:)`` know their
/// records, and so that a value can be saved without saying where again.
/// It is coded under the key `id`, which a schema never uses as a field
/// name, and stored as the record id. Ids are stored in Unicode NFC.
///
/// ## Missing values
///
/// - Reading: a field the record lacks (or that holds `null`) reads as
///   `nil` for an optional property. A non-optional set or map property
///   reads an empty set or map; any other non-optional property fails with
///   ``SamhandError/Code/decodingFailed`` naming the record and the field.
/// - Saving: a `nil` property writes `null` to a scalar field that shows a
///   value, removes every element of a set field and every key of a map
///   field, and writes nothing when the field is already empty or missing.
///   An empty set or map and `nil` are stored alike.
///
/// ## Conflicts
///
/// A field in conflict reads as the value the store shows (see
/// `Docs/MERGE.md`); read ``Store/record(_:_:)`` for the conflicts
/// themselves, or decode one you already hold with
/// ``Store/decode(_:from:)``. Saving a value writes only the fields that
/// differ from what the replica shows, so saving a record read while a
/// field is in conflict leaves the conflict open unless that field changed.
public protocol TypedRecord: Codable {
  /// The collection whose records this type holds, such as `"membership"`.
  static var collection: String { get }

  /// The record id: unique in the collection, 1–256 bytes, no control
  /// characters.
  var id: String { get }
}
