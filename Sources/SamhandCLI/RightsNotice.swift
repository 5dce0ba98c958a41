import Foundation
import Samhand

/// What `set` says when a write may not mean what the writer thinks,
/// because of how rights are judged (Docs/FORMATS.md section 9).
///
/// Rights are judged by the writer's causal past, the same on every
/// replica: a record this replica has never seen names nobody, so a
/// county may write it. If another office made it (and owns it) since
/// this office last synced, the write is accepted everywhere and meets
/// the owner's values as a conflict, shown until someone resolves it.
/// `set` cannot know; it says so when it matters.
enum RightsNotice {
  /// A warning for a write that made a record new to this replica, in a
  /// collection whose records belong to the offices they name, when the
  /// record names nobody and the writer has no right of its own to it.
  static func unseenRecord(in store: Store, collection: String, id: String, existedBefore: Bool) throws -> String? {
    guard !existedBefore, let rules = store.schema.collections[collection]?.writers else { return nil }
    let fields = rules.compactMap { if case .field(let field) = $0 { field } else { nil } }
    guard !fields.isEmpty else { return nil }
    let kind = try store.roster()?.members[store.replica]?.kind
    for rule in rules {
      switch rule {
      case .kind(let granted) where granted == kind: return nil
      case .office(let granted) where granted == store.replica: return nil
      default: continue
      }
    }
    guard let record = try store.record(collection, id) else { return nil }
    let named = fields.contains { field in
      switch record.fields[field] {
      case .value(.text(let text))?: !text.isEmpty
      case .set(let elements)?: !elements.isEmpty
      default: false
      }
    }
    guard !named else { return nil }
    let owner = fields.first ?? "owner"
    return
      "\(collection)/\(id) was not on this replica, so it was written as a new record that names nobody in \(fields.joined(separator: " or ")), which any member may write. If another office has made it since your last sync, your values meet theirs as conflicts they will see; sync before editing others' records, or name this office (\(owner)\(store.schema.collections[collection]?.fields[owner]?.kind == .set ? "+=" : "=")\(store.replica)) to make it yours."
  }
}
