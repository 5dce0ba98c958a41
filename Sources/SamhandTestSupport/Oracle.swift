import Foundation
import Samhand

// MARK: - The oracle

/// Checks a final state against the changesets that made it, from the
/// changesets alone (their edits and dependencies), never from a store.
///
/// - No lost write: a write is visible (as the value or as a sibling in a
///   conflict) unless a later edit of its changeset, or a changeset that
///   had seen it, wrote the same path, removed it or deleted the record;
///   a record written stays alive unless such a changeset deleted it.
/// - No resurrection: a removed element or key, or a deleted record, shows
///   only if a write the remover had not seen brings it back.
/// - The exact state MERGE.md prescribes (`model()`), compared both ways.
/// - Conflicts: siblings are concurrent, in the documented order, carry
///   the values and stamps their changesets wrote, and the first is shown.
public struct Oracle {
  let changesets: [Changeset]
  let records: [RecordRef: Record]
  let byDot: [Dot: Changeset]

  /// - Parameters:
  ///   - changesets: every changeset applied (not rejected), with its edits.
  ///   - records: the final state: every record, by reference.
  public init(changesets: [Changeset], records: [RecordRef: Record]) {
    self.changesets = changesets.sorted { $0.id < $1.id }
    self.records = records
    byDot = Dictionary(uniqueKeysWithValues: changesets.map { ($0.dot, $0) })
  }

  /// Whether an edit after `index` in the writer, or an edit of a changeset
  /// that had seen the writer, matches.
  func superseded(_ writer: Changeset, after index: Int, by matches: (Edit) -> Bool) -> Bool {
    if writer.edits[(index + 1)...].contains(where: matches) { return true }
    return changesets.contains { other in
      other.id != writer.id && other.dependencies.contains(writer.dot) && other.edits.contains(where: matches)
    }
  }

  /// Whether `other` happened outside what `changeset` had seen (concurrently or later).
  func unseen(_ other: Changeset, by changeset: Changeset) -> Bool {
    other.id != changeset.id && !changeset.dependencies.contains(other.dot)
  }

  static func isDelete(_ record: RecordRef) -> (Edit) -> Bool {
    { if case .delete(record) = $0 { true } else { false } }
  }

  /// Whether the changeset's last edit of the record deletes it.
  static func endsDeleted(_ changeset: Changeset, _ record: RecordRef) -> Bool? {
    guard let last = changeset.edits.last(where: { $0.record == record }) else { return nil }
    if case .delete = last { return true }
    return false
  }

  // Edits that write or clear one path.
  static func writesScalar(_ record: RecordRef, _ field: String) -> (Edit) -> Bool {
    { if case .set(record, field, _) = $0 { true } else { false } }
  }

  static func writesKey(_ record: RecordRef, _ field: String, _ key: String) -> (Edit) -> Bool {
    {
      switch $0 {
      case .put(record, field, key, _), .removeKey(record, field, key): true
      default: false
      }
    }
  }

  static func writesElement(_ record: RecordRef, _ field: String, _ element: String) -> (Edit) -> Bool {
    {
      switch $0 {
      case .add(record, field, element), .remove(record, field, element): true
      default: false
      }
    }
  }

  /// The documented order of siblings: higher Lamport stamp first, then
  /// the author slug that sorts later, then the higher sequence number.
  static func precedes(_ first: Sibling, _ second: Sibling) -> Bool {
    if first.lamport != second.lamport { return first.lamport > second.lamport }
    if first.author != second.author { return second.author < first.author }
    return first.sequence > second.sequence
  }

  /// Everything the final state gets wrong, in words; empty when it is right.
  public func problems() -> [String] {
    var problems: [String] = []
    problems += lostWrites()
    problems += deadRecords()
    problems += resurrections()
    problems += modelProblems()
    problems += badConflicts()
    return problems
  }

  /// Writes that no later write superseded must be visible.
  func lostWrites() -> [String] {
    var problems: [String] = []
    for changeset in changesets {
      for (index, edit) in changeset.edits.enumerated() {
        let record = records[edit.record]
        switch edit {
        case .set(let ref, let field, let value):
          let writesPath = Self.writesScalar(ref, field), deletes = Self.isDelete(ref)
          guard !superseded(changeset, after: index, by: { writesPath($0) || deletes($0) }) else { continue }
          let shown = record?.fields[field] == .value(value)
          let sibling = record?.conflicts.contains { conflict in
            conflict.kind == .value && conflict.field == field && conflict.key == nil
              && conflict.siblings.contains { $0.dot == changeset.dot && $0.value == value }
          }
          if !shown && sibling != true {
            problems.append("lost write: \(changeset.id) set \(ref).\(field) = \(value); shown: \(describe(record))")
          }
        case .put(let ref, let field, let key, let value):
          let writesPath = Self.writesKey(ref, field, key), deletes = Self.isDelete(ref)
          guard !superseded(changeset, after: index, by: { writesPath($0) || deletes($0) }) else { continue }
          var shown = false
          if case .map(let map)? = record?.fields[field] { shown = map[key] == value }
          let sibling = record?.conflicts.contains { conflict in
            conflict.kind == .value && conflict.field == field && conflict.key == key
              && conflict.siblings.contains { $0.dot == changeset.dot && $0.value == value }
          }
          if !shown && sibling != true {
            problems.append("lost write: \(changeset.id) put \(ref).\(field)[\(key)] = \(value); shown: \(describe(record))")
          }
        case .add(let ref, let field, let element):
          let writesPath = Self.writesElement(ref, field, element), deletes = Self.isDelete(ref)
          guard !superseded(changeset, after: index, by: { writesPath($0) || deletes($0) }) else { continue }
          var shown = false
          if case .set(let elements)? = record?.fields[field] { shown = elements.contains(element) }
          if !shown {
            problems.append("lost write: \(changeset.id) add \(element) to \(ref).\(field); shown: \(describe(record))")
          }
        default:
          continue
        }
      }
    }
    return problems
  }

  /// A record that a changeset wrote stays alive unless a changeset that
  /// had seen that write deleted it.
  func deadRecords() -> [String] {
    var problems: [String] = []
    for changeset in changesets {
      for ref in Set(changeset.edits.map(\.record)).sorted() where Self.endsDeleted(changeset, ref) == false {
        let last = changeset.edits.lastIndex { $0.record == ref }!
        guard !superseded(changeset, after: last, by: Self.isDelete(ref)) else { continue }
        if records[ref] == nil {
          problems.append("lost record: \(changeset.id) wrote \(ref) and no changeset that saw it deleted it, yet it is gone")
        }
      }
    }
    return problems
  }

  /// Removed elements, removed keys and deleted records stay gone unless a
  /// write the remover had not seen brings them back.
  func resurrections() -> [String] {
    var problems: [String] = []
    for changeset in changesets {
      for (index, edit) in changeset.edits.enumerated() {
        let record = records[edit.record]
        switch edit {
        case .remove(let ref, let field, let element):
          guard case .set(let elements)? = record?.fields[field], elements.contains(element) else { continue }
          let readded = changesets.contains { other in
            (other.id == changeset.id
              ? other.edits[(index + 1)...].contains(.add(ref, field: field, element: element))
              : unseen(other, by: changeset) && other.edits.contains(.add(ref, field: field, element: element)))
          }
          if !readded {
            problems.append("resurrected: \(changeset.id) removed \(element) from \(ref).\(field), nothing re-added it, yet it shows")
          }
        case .removeKey(let ref, let field, let key):
          guard case .map(let map)? = record?.fields[field], map[key] != nil else { continue }
          let isPut: (Edit) -> Bool = { if case .put(ref, field, key, _) = $0 { true } else { false } }
          let reput = changesets.contains { other in
            other.id == changeset.id
              ? other.edits[(index + 1)...].contains(where: isPut)
              : unseen(other, by: changeset) && other.edits.contains(where: isPut)
          }
          if !reput {
            problems.append("resurrected: \(changeset.id) removed \(ref).\(field)[\(key)], nothing put it again, yet it shows")
          }
        case .delete(let ref):
          guard record != nil, Self.endsDeleted(changeset, ref) == true,
            changeset.edits.lastIndex(where: { $0.record == ref }) == index
          else { continue }
          let alive = changesets.contains { other in unseen(other, by: changeset) && Self.endsDeleted(other, ref) == false }
          if !alive {
            problems.append("resurrected: \(changeset.id) deleted \(ref), no write it had not seen touched it, yet it shows")
          }
        default:
          continue
        }
      }
    }
    return problems
  }

  // MARK: The exact model

  /// A place that holds values: a scalar field (key ""), a map key or a set element.
  struct Path: Hashable, Comparable {
    var record: RecordRef
    var field: String
    var key: String

    static func < (lhs: Path, rhs: Path) -> Bool {
      (lhs.record, lhs.field, lhs.key) < (rhs.record, rhs.field, rhs.key)
    }
  }

  /// The path an edit writes, whether it leaves a value there, and the value.
  static func path(of edit: Edit) -> (path: Path, writes: Bool, value: Value?)? {
    switch edit {
    case .set(let ref, let field, let value): (Path(record: ref, field: field, key: ""), true, value)
    case .put(let ref, let field, let key, let value): (Path(record: ref, field: field, key: key), true, value)
    case .removeKey(let ref, let field, let key): (Path(record: ref, field: field, key: key), false, nil)
    case .add(let ref, let field, let element): (Path(record: ref, field: field, key: element), true, nil)
    case .remove(let ref, let field, let element): (Path(record: ref, field: field, key: element), false, nil)
    case .touch, .delete: nil
    }
  }

  /// Whether a changeset's marker on a record survives: no changeset that
  /// touched the record had seen it.
  func markerSurvives(_ changeset: Changeset, _ ref: RecordRef) -> Bool {
    !changesets.contains { other in
      other.id != changeset.id && other.dependencies.contains(changeset.dot) && other.edits.contains { $0.record == ref }
    }
  }

  /// The state that MERGE.md prescribes, computed from the changesets alone:
  /// a path holds the writes that no other write to it had seen; a record is
  /// visible while one of its surviving markers is a write; a delete hides
  /// what it had seen, but keeps it while its own marker survives (the
  /// conflict is open) unless the same changeset went on to write the record.
  func model() -> (visible: Set<RecordRef>, deleteConflicts: [RecordRef: Set<Dot>], entries: [Path: [(Dot, Value?)]]) {
    var visible = Set<RecordRef>()
    var deleteConflicts: [RecordRef: Set<Dot>] = [:]
    let touched = Set(changesets.flatMap { $0.edits.map(\.record) })
    for ref in touched {
      let surviving = changesets.filter { $0.edits.contains { $0.record == ref } && markerSurvives($0, ref) }
      if surviving.contains(where: { Self.endsDeleted($0, ref) == false }) {
        visible.insert(ref)
        if surviving.contains(where: { Self.endsDeleted($0, ref) == true }) {
          deleteConflicts[ref] = Set(surviving.map(\.dot))
        }
      }
    }
    var entries: [Path: [(Dot, Value?)]] = [:]
    for changeset in changesets {
      var last: [Path: (index: Int, writes: Bool, value: Value?)] = [:]
      for (index, edit) in changeset.edits.enumerated() {
        if let (path, writes, value) = Self.path(of: edit) { last[path] = (index, writes, value) }
      }
      for (path, write) in last where write.writes && visible.contains(path.record) {
        let seenByWriter = changesets.contains { other in
          other.id != changeset.id && other.dependencies.contains(changeset.dot)
            && other.edits.contains { Self.path(of: $0)?.path == path }
        }
        if seenByWriter { continue }
        let hiders = changesets.filter { other in
          other.id == changeset.id
            ? other.edits[(write.index + 1)...].contains(where: Self.isDelete(path.record))
            : other.dependencies.contains(changeset.dot) && other.edits.contains(where: Self.isDelete(path.record))
        }
        let hidden = hiders.contains { hider in
          Self.endsDeleted(hider, path.record) == false || !markerSurvives(hider, path.record)
        }
        if hidden { continue }
        entries[path, default: []].append((changeset.dot, write.value))
      }
    }
    return (visible, deleteConflicts, entries)
  }

  /// Compares the final state with the model, both ways.
  func modelProblems() -> [String] {
    var problems: [String] = []
    let (visible, deleteConflicts, entries) = model()
    let shownRecords = Set(records.keys)
    for ref in visible.subtracting(shownRecords).sorted() {
      problems.append("model: \(ref) should be visible (a write marker survives), but it is gone")
    }
    for ref in shownRecords.subtracting(visible).sorted() {
      problems.append("model: \(ref) should be gone (no write marker survives), but it shows")
    }
    for ref in visible.intersection(shownRecords).sorted() {
      let record = records[ref]!
      let shownDelete = record.conflicts.first { $0.kind == .delete }.map { Set($0.siblings.map(\.dot)) }
      if shownDelete != deleteConflicts[ref] {
        problems.append(
          "model: \(ref) delete conflict should be \(deleteConflicts[ref].map { $0.sorted().description } ?? "none"), "
            + "shows \(shownDelete.map { $0.sorted().description } ?? "none")")
      }
      // Every path the record shows or should show.
      var paths = Set(entries.keys.filter { $0.record == ref })
      for (field, value) in record.fields {
        switch value {
        case .value: paths.insert(Path(record: ref, field: field, key: ""))
        case .set(let elements): for element in elements { paths.insert(Path(record: ref, field: field, key: element)) }
        case .map(let map): for key in map.keys { paths.insert(Path(record: ref, field: field, key: key)) }
        }
      }
      for path in paths.sorted() {
        let expected = entries[path] ?? []
        let label = "\(ref).\(path.field)\(path.key.isEmpty ? "" : "[\(path.key)]")"
        var shown: [(Dot?, Value?)] = []
        let conflict = record.conflicts.first {
          $0.kind == .value && $0.field == path.field && ($0.key ?? "") == path.key
        }
        switch record.fields[path.field] {
        case .value(let value)?:
          shown = conflict.map { $0.siblings.map { ($0.dot, $0.value) } } ?? [(nil, value)]
        case .map(let map)?:
          if let value = map[path.key] { shown = conflict.map { $0.siblings.map { ($0.dot, $0.value) } } ?? [(nil, value)] }
        case .set(let elements)?:
          if elements.contains(path.key) { shown = [(nil, nil)] }
        case nil:
          break
        }
        let isSet = { if case .set? = record.fields[path.field] { true } else { false } }()
        if isSet || (expected.isEmpty && shown.isEmpty) {
          if expected.isEmpty != shown.isEmpty {
            problems.append("model: \(label) should \(expected.isEmpty ? "be absent" : "be present"), but \(shown.isEmpty ? "is absent" : "is present")")
          }
          continue
        }
        let expectedDots = Set(expected.map(\.0))
        if expected.count >= 2 || shown.count >= 2 {
          let shownDots = Set(shown.compactMap(\.0))
          if shownDots != expectedDots || shown.count != shownDots.count {
            problems.append("model: \(label) should hold siblings \(expectedDots.sorted()), holds \(shown.map { $0.0.map(\.description) ?? "?" })")
          }
        } else if expected.count == 1, shown.count == 1 {
          if shown[0].1 != expected[0].1 {
            problems.append("model: \(label) should show \(String(describing: expected[0].1)) from \(expected[0].0), shows \(String(describing: shown[0].1))")
          }
        } else {
          problems.append("model: \(label) should hold \(expected.count) value(s) \(expectedDots.sorted()), holds \(shown.count)")
        }
      }
    }
    return problems
  }

  func badConflicts() -> [String] {
    var problems: [String] = []
    for (ref, record) in records.sorted(by: { $0.key < $1.key }) {
      for conflict in record.conflicts {
        let label = "\(conflict.kind) conflict on \(ref)\(conflict.field.map { ".\($0)" } ?? "")\(conflict.key.map { "[\($0)]" } ?? "")"
        guard conflict.siblings.count >= 2 else {
          problems.append("\(label) has \(conflict.siblings.count) sibling(s)")
          continue
        }
        let writers = conflict.siblings.compactMap { byDot[$0.dot] }
        guard writers.count == conflict.siblings.count else {
          problems.append("\(label) names a sibling no changeset wrote: \(conflict.siblings.map(\.dot))")
          continue
        }
        for (first, second) in zip(conflict.siblings, conflict.siblings.dropFirst()) where !Self.precedes(first, second) {
          problems.append("\(label): sibling \(first.dot) is shown before \(second.dot), against the documented order")
        }
        for first in writers {
          for second in writers where first.id < second.id {
            if first.dependencies.contains(second.dot) || second.dependencies.contains(first.dot) {
              problems.append("\(label): siblings \(first.id) and \(second.id) are not concurrent")
            }
          }
        }
        for (sibling, writer) in zip(conflict.siblings, writers) where sibling.lamport != writer.lamport {
          problems.append("\(label): sibling \(sibling.dot) has Lamport \(sibling.lamport), its changeset \(writer.lamport)")
        }
        switch conflict.kind {
        case .value:
          guard let field = conflict.field else {
            problems.append("\(label) has no field")
            continue
          }
          for (sibling, writer) in zip(conflict.siblings, writers) {
            let last = writer.edits.last { edit in
              switch edit {
              case .set(ref, field, _): conflict.key == nil
              case .put(ref, field, conflict.key ?? "", _): conflict.key != nil
              default: false
              }
            }
            let written: Value? = {
              switch last {
              case .set(_, _, let value)?, .put(_, _, _, let value)?: value
              default: nil
              }
            }()
            if written != sibling.value {
              problems.append("\(label): sibling \(sibling.dot) shows \(String(describing: sibling.value)), its changeset wrote \(String(describing: written))")
            }
            let writesPath = conflict.key.map { Self.writesKey(ref, field, $0) } ?? Self.writesScalar(ref, field)
            let index = writer.edits.lastIndex(where: writesPath) ?? 0
            if superseded(writer, after: index, by: writesPath) {
              problems.append("\(label): sibling \(sibling.dot) was superseded by a later write")
            }
          }
          let shown: Value? = {
            switch record.fields[field] {
            case .value(let value)?: value
            case .map(let map)?: conflict.key.flatMap { map[$0] }
            default: nil
            }
          }()
          if shown != conflict.siblings[0].value {
            problems.append("\(label): shows \(String(describing: shown)), but the first sibling is \(String(describing: conflict.siblings[0].value))")
          }
        case .delete:
          for (sibling, writer) in zip(conflict.siblings, writers) where Self.endsDeleted(writer, ref) != sibling.deleted {
            problems.append("\(label): sibling \(sibling.dot) says deleted \(sibling.deleted), its changeset disagrees")
          }
          if !conflict.siblings.contains(where: \.deleted) || conflict.siblings.allSatisfy(\.deleted) {
            problems.append("\(label) needs a delete and a live sibling")
          }
        }
      }
    }
    return problems
  }
}

// MARK: - Descriptions

/// Edits in short form, for traces and failure messages.
public func describe(_ edits: [Edit]) -> String {
  edits.map { edit in
    switch edit {
    case .set(let ref, let field, let value): "set \(ref).\(field)=\(value)"
    case .add(let ref, let field, let element): "add \(ref).\(field)+\(element)"
    case .remove(let ref, let field, let element): "remove \(ref).\(field)-\(element)"
    case .put(let ref, let field, let key, let value): "put \(ref).\(field)[\(key)]=\(value)"
    case .removeKey(let ref, let field, let key): "removeKey \(ref).\(field)[\(key)]"
    case .touch(let ref): "touch \(ref)"
    case .delete(let ref): "delete \(ref)"
    }
  }.joined(separator: "; ")
}

private func describe(_ record: Record?) -> String {
  guard let record else { return "no record" }
  let fields = record.fields.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
  let conflicts = record.conflicts.map { conflict in
    "\(conflict.kind)(\(conflict.field ?? "")\(conflict.key.map { "[\($0)]" } ?? ""): "
      + conflict.siblings.map { "\($0.dot)=\($0.deleted ? "deleted" : String(describing: $0.value))" }.joined(separator: ", ") + ")"
  }
  return "{\(fields)}" + (conflicts.isEmpty ? "" : " conflicts \(conflicts)")
}
