import Foundation

// MARK: - The records, as the schema describes them

extension Report {
  /// Where a report's "what changed" starts: a date, or a frontier (what
  /// an office had seen at a board meeting, say).
  public enum Since: Sendable, Hashable {
    /// Changesets committed after this time (by their offices' clocks).
    case date(Date)
    /// Changesets not inside this frontier.
    case frontier(VersionVector)
  }

  /// How many records a collection's table lists; the rest are counted,
  /// and the CSV and SQLite exports hold them all.
  static let rowLimit = 1_000

  /// A collection as the report shows it, read from its schema alone, so
  /// that another schema gets a sensible report too:
  ///
  /// - **roles**: the fields its `write` rules name (`field:owner`): a text
  ///   field names one office (owner, lead, organisation), a set field
  ///   several (participants);
  /// - **categories**: text and set fields whose description lists their
  ///   values (`Status: ny, under-arbeid, avsluttet`), and text fields
  ///   whose values repeat among few distinct ones;
  /// - **label**: of the other text fields, the one with the shortest
  ///   description (`Tittel`, `Navn`), then by name;
  /// - **amounts**: map fields of integers or numbers, summed per key.
  package struct CollectionView {
    package var name: String
    package var title: String
    package var label: String?
    package var owners: [String] = []
    package var members: [String] = []
    package var categories: [String] = []
    package var dates: [String] = []
    package var amounts: [String] = []

    package init(_ name: String, schema: Schema, records: [Record]) {
      self.name = name
      let collection = schema.collections[name]
      let fields = (collection?.fields ?? [:]).sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
      title = collection?.description ?? name
      let roles = Set((collection?.writers ?? []).compactMap { if case .field(let field) = $0 { field } else { nil } })
      var texts: [(name: String, description: String?)] = []
      for (field, definition) in fields {
        switch definition.kind {
        case .text where roles.contains(field): owners.append(field)
        case .set where roles.contains(field): members.append(field)
        case .text:
          if CollectionView.listsValues(definition.description) || CollectionView.repeats(field, in: records) {
            categories.append(field)
          } else {
            texts.append((field, definition.description))
          }
        case .set where CollectionView.listsValues(definition.description): categories.append(field)
        case .date: dates.append(field)
        case .map where definition.values == .integer || definition.values == .number: amounts.append(field)
        default: break
        }
      }
      label =
        texts.min {
          let left = $0.description?.count ?? Int.max, right = $1.description?.count ?? Int.max
          return left != right ? left < right : $0.name.utf8.lexicographicallyPrecedes($1.name.utf8)
        }?.name
    }

    /// Whether a description lists a field's values: `Status: ny, under-arbeid, avsluttet`.
    static func listsValues(_ description: String?) -> Bool {
      guard let description, let colon = description.firstIndex(of: ":") else { return false }
      let values = description[description.index(after: colon)...].split(separator: ",").map {
        $0.trimmingCharacters(in: .whitespaces)
      }
      return values.count >= 2
        && values.allSatisfy { value in
          !value.isEmpty && value.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }
        }
    }

    /// Whether a text field's values repeat among few distinct ones, as a
    /// category's do: at most 12 values, and fewer than the records.
    static func repeats(_ field: String, in records: [Record]) -> Bool {
      var counts: [String: Int] = [:]
      for record in records {
        if case .value(.text(let text))? = record.fields[field], !text.isEmpty { counts[text, default: 0] += 1 }
      }
      return !counts.isEmpty && counts.count <= 12 && counts.values.contains { $0 > 1 }
    }
  }

  /// One section per collection: its records with their roles,
  /// categories, dates and amounts, grouped by their first role, and a
  /// chart per amount and per category.
  func recordSections(_ page: inout HTMLPage) {
    for name in snapshot.schema.collectionNames {
      let records = snapshot.records[name] ?? []
      let view = CollectionView(name, schema: snapshot.schema, records: records)
      page.line("<section id=\"records-\(escapeHTML(name))\" class=\"records\">")
      page.line("<h2>\(escapeHTML(view.title)) <span class=\"muted\">(\(escapeHTML(name)), \(records.count))</span></h2>")
      guard !records.isEmpty else {
        page.line("<p>No records.</p>")
        page.line("</section>")
        continue
      }
      for field in view.amounts { amountChart(&page, view: view, field: field, records: records) }
      for field in view.categories { categoryChart(&page, view: view, field: field, records: records) }
      if view.categories.count >= 2, view.categories.prefix(2).allSatisfy({ distinctValues(records, $0) >= 2 }) {
        crossTable(&page, view: view, records: records)
      }
      recordTable(&page, view: view, records: records)
      page.line("</section>")
    }
  }

  /// A field's heading: its description up to a colon or bracket, or its name.
  func heading(_ view: CollectionView, _ field: String) -> String {
    let description = snapshot.schema.collections[view.name]?.fields[field]?.description
    let short = description.map { String($0.prefix { $0 != ":" && $0 != "(" }).trimmingCharacters(in: .whitespaces) }
    return escapeHTML(short.flatMap { $0.isEmpty ? nil : $0 } ?? field)
  }

  private func recordTable(_ page: inout HTMLPage, view: CollectionView, records: [Record]) {
    // Grouped by the first role (the owner, the lead, the organisation),
    // which the group's heading row shows instead of a column.
    let group = view.owners.first
    // Two dates are a period.
    var dates = view.dates
    var period: (String, String)?
    if dates.count == 2 {
      period = Report.periodOrder(dates[0], dates[1], in: records)
      dates = []
    }
    let columns = view.owners.dropFirst() + view.members + view.categories + dates
    var headings = ["<th>\(view.label.map { heading(view, $0) } ?? "Id")</th>"]
    headings += columns.map { "<th>\(heading(view, $0))</th>" }
    if let period { headings.append("<th>\(heading(view, period.0)) – \(heading(view, period.1))</th>") }
    headings += view.amounts.map { "<th>\(heading(view, $0))</th>" }
    page.line("<table class=\"record-table\">")
    page.line("<thead><tr>\(headings.joined())</tr></thead>")
    page.line("<tbody>")
    var current: String?
    for record in sortedRecords(records, group: group, view: view).prefix(Report.rowLimit) {
      if let group {
        let value = text(of: record, group)
        if value != current {
          current = value
          page.line(
            "<tr class=\"group\"><th colspan=\"\(headings.count)\">\(heading(view, group)): \(value.isEmpty ? "<em>none</em>" : officeText(value))</th></tr>"
          )
        }
      }
      var cells = ["<td>\(escapeHTML(label(of: record, view)))<br><code class=\"muted\">\(escapeHTML(record.id))</code></td>"]
      for field in columns { cells.append(cell(record, field: field, view: view)) }
      if let period {
        let from = dateText(record, period.0), to = dateText(record, period.1)
        cells.append(from.isEmpty && to.isEmpty ? "<td></td>" : "<td class=\"period\">\(from) – \(to)</td>")
      }
      for field in view.amounts { cells.append(cell(record, field: field, view: view)) }
      page.line("<tr>\(cells.joined())</tr>")
    }
    page.line("</tbody>")
    page.line("</table>")
    if records.count > Report.rowLimit {
      page.line(
        "<p class=\"muted\">The first \(Report.rowLimit) of \(records.count) records; the CSV and SQLite snapshots hold them all.</p>")
    }
  }

  /// The records by group, then label, then id, each record's keys worked out once.
  private func sortedRecords(_ records: [Record], group: String?, view: CollectionView) -> [Record] {
    func precedes(_ a: String, _ b: String) -> Bool { a.utf8.lexicographicallyPrecedes(b.utf8) }
    return records.map { record in
      (group: group.map { text(of: record, $0) } ?? "", label: label(of: record, view), record: record)
    }
      .sorted { a, b in
        if a.group != b.group { return precedes(a.group, b.group) }
        if a.label != b.label { return precedes(a.label, b.label) }
        return precedes(a.record.id, b.record.id)
      }
      .map(\.record)
  }

  /// The order of two date fields in a period: the one that comes first in
  /// most records that hold both; when no record tells, the one with the
  /// earliest date (one with dates before one without).
  static func periodOrder(_ a: String, _ b: String, in records: [Record]) -> (String, String) {
    var earlier = 0, later = 0
    var firstA: String?, firstB: String?
    for record in records {
      var dayA: String?, dayB: String?
      if case .value(.date(let day))? = record.fields[a] { dayA = day.description }
      if case .value(.date(let day))? = record.fields[b] { dayB = day.description }
      if let dayA { firstA = min(firstA ?? dayA, dayA) }
      if let dayB { firstB = min(firstB ?? dayB, dayB) }
      if let dayA, let dayB {
        if dayA <= dayB { earlier += 1 } else { later += 1 }
      }
    }
    if earlier == later { return (firstB ?? "~") < (firstA ?? "~") ? (b, a) : (a, b) }
    return earlier > later ? (a, b) : (b, a)
  }

  private func cell(_ record: Record, field: String, view: CollectionView) -> String {
    let isRole = view.owners.contains(field) || view.members.contains(field)
    switch record.fields[field] {
    case .value(.text(let text))? where !text.isEmpty:
      return "<td>\(isRole ? officeText(text) : escapeHTML(text))</td>"
    case .value(.date(let day))?:
      return "<td class=\"date\">\(escapeHTML(day.description))</td>"
    case .value(let value)? where value != .null:
      return "<td>\(escapeHTML(value.description))</td>"
    case .set(let elements)? where !elements.isEmpty:
      return "<td>\(elements.map { isRole ? displayName($0) : escapeHTML($0) }.joined(separator: ", "))</td>"
    case .map(let map)? where !map.isEmpty:
      let keys = map.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
      let lines = keys.map { "\(displayName($0)): \(amountText(map[$0] ?? .null))" }
      let sum = Report.sum(map.values)
      return
        "<td class=\"amounts\">\(lines.joined(separator: "<br>"))<br><strong>Sum: \(amountText(sum))</strong></td>"
    default:
      return "<td></td>"
    }
  }

  /// The sum of amounts per key across records, as horizontal bars: the
  /// pledges per office to all projects (the spleiselag).
  private func amountChart(_ page: inout HTMLPage, view: CollectionView, field: String, records: [Record]) {
    var totals: [String: Value] = [:]
    for record in records {
      guard case .map(let map)? = record.fields[field] else { continue }
      for (key, value) in map { totals[key] = Report.sum([totals[key] ?? .integer(0), value]) }
    }
    guard !totals.isEmpty else { return }
    let description = snapshot.schema.collections[view.name]?.fields[field]?.description ?? field
    let rows = totals.map { (label: displayName($0.key, html: false), key: $0.key, value: $0.value) }
      .sorted { Report.number($0.value) != Report.number($1.value) ? Report.number($0.value) > Report.number($1.value) : $0.key < $1.key }
    let total = Report.sum(Array(totals.values))
    page.line(
      "<h3>\(heading(view, field)) per office, all \(escapeHTML(view.name)) together <span class=\"muted\">(sum \(amountText(total)))</span></h3>")
    page.line(
      BarChart(rows: rows.map { ($0.label, Report.number($0.value), Report.plainAmount($0.value)) }).svg(
        label: "\(description) per office", colour: "#4e79a7"))
  }

  /// Records per value of a category, as horizontal bars: cases by status.
  private func categoryChart(_ page: inout HTMLPage, view: CollectionView, field: String, records: [Record]) {
    var counts: [String: Int] = [:]
    for record in records {
      switch record.fields[field] {
      case .value(.text(let text))? where !text.isEmpty: counts[text, default: 0] += 1
      case .set(let elements)?: for element in elements { counts[element, default: 0] += 1 }
      default: counts["", default: 0] += 1
      }
    }
    let rows = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
    page.line("<h3>\(heading(view, field)) <span class=\"muted\">(\(escapeHTML(view.name)) per value)</span></h3>")
    page.line(
      BarChart(rows: rows.map { ($0.key.isEmpty ? "(none)" : $0.key, Double($0.value), String($0.value)) }).svg(
        label: "\(view.name) by \(field)", colour: "#59a14f"))
  }

  private func distinctValues(_ records: [Record], _ field: String) -> Int {
    var values = Set<String>()
    for record in records {
      switch record.fields[field] {
      case .value(.text(let text))?: values.insert(text)
      case .set(let elements)?: values.formUnion(elements)
      default: continue
      }
    }
    return values.count
  }

  /// Records counted by the first two categories: cases by plan type and status.
  private func crossTable(_ page: inout HTMLPage, view: CollectionView, records: [Record]) {
    let rowsField = view.categories[0], columnsField = view.categories[1]
    func values(_ record: Record, _ field: String) -> [String] {
      switch record.fields[field] {
      case .value(.text(let text))? where !text.isEmpty: [text]
      case .set(let elements)? where !elements.isEmpty: elements
      default: ["(none)"]
      }
    }
    var counts: [String: [String: Int]] = [:]
    var columnNames = Set<String>()
    for record in records {
      for row in values(record, rowsField) {
        for column in values(record, columnsField) {
          counts[row, default: [:]][column, default: 0] += 1
          columnNames.insert(column)
        }
      }
    }
    let columns = columnNames.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    page.line("<table class=\"cross\">")
    page.line(
      "<thead><tr><th>\(heading(view, rowsField)) \\ \(heading(view, columnsField))</th>\(columns.map { "<th class=\"number\">\(escapeHTML($0))</th>" }.joined())</tr></thead>"
    )
    page.line("<tbody>")
    for row in counts.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
      let cells = columns.map { "<td class=\"number\">\(counts[row]?[$0].map(String.init) ?? "")</td>" }.joined()
      page.line("<tr><th>\(escapeHTML(row))</th>\(cells)</tr>")
    }
    page.line("</tbody>")
    page.line("</table>")
  }

  // MARK: What changed

  /// Records created, changed and deleted since a date or frontier, by office.
  func changesSection(_ page: inout HTMLPage) {
    guard let since else { return }
    let applied = history.filter {
      $0.rejected == nil && snapshot.frontier.contains(Dot($0.changeset.author, $0.changeset.sequence))
    }
    func isAfter(_ entry: HistoryEntry) -> Bool {
      switch since {
      case .date(let date): entry.timestamp > Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
      case .frontier(let frontier): !frontier.contains(Dot(entry.changeset.author, entry.changeset.sequence))
      }
    }
    var before = Set<RecordRef>()
    var firstWriter: [RecordRef: (UInt64, ReplicaID)] = [:]
    for entry in applied {
      for edit in entry.edits {
        if !isAfter(entry) { before.insert(edit.record) }
        let stamp = (entry.lamport, entry.changeset.author)
        if let known = firstWriter[edit.record], known <= stamp { continue }
        firstWriter[edit.record] = stamp
      }
    }
    // Per office, the records it touched after the point, and whether it deleted them.
    var touched: [ReplicaID: [RecordRef: Bool]] = [:]
    for entry in applied where isAfter(entry) {
      for edit in entry.edits where !edit.record.collection.hasPrefix("_") {
        var deleted = touched[entry.changeset.author, default: [:]][edit.record] ?? false
        if case .delete = edit { deleted = true }
        touched[entry.changeset.author, default: [:]][edit.record] = deleted
      }
    }
    let present = Set(snapshot.records.flatMap { name, records in records.map { RecordRef(name, $0.id) } })
    let point: String
    switch since {
    case .date(let date): point = timeText(Int64((date.timeIntervalSince1970 * 1000).rounded(.down)))
    case .frontier(let frontier): point = "frontier \(frontierText(frontier))"
    }
    page.line("<section id=\"changes\">")
    page.line("<h2>What changed since \(point)</h2>")
    guard !touched.isEmpty else {
      page.line("<p>Nothing changed since then.</p>")
      page.line("</section>")
      return
    }
    page.line(
      "<p>Records each office created, changed or deleted in changesets after that point: created by the office that first wrote a record no earlier changeset wrote, deleted when it is gone now, changed otherwise.</p>"
    )
    let names = labels(of: Set(touched.values.flatMap(\.keys)))
    page.line("<table>")
    page.line("<thead><tr><th>Office</th><th>Created</th><th>Changed</th><th>Deleted</th></tr></thead>")
    page.line("<tbody>")
    for office in touched.keys.sorted() {
      var created: [RecordRef] = [], changed: [RecordRef] = [], deleted: [RecordRef] = []
      for (record, didDelete) in touched[office] ?? [:] {
        if !present.contains(record) && didDelete {
          deleted.append(record)
        } else if !before.contains(record), firstWriter[record]?.1 == office {
          created.append(record)
        } else {
          changed.append(record)
        }
      }
      page.line(
        "<tr><td>\(officeName(office))</td><td>\(refList(created, labels: names))</td><td>\(refList(changed, labels: names))</td><td>\(refList(deleted, labels: names))</td></tr>")
    }
    page.line("</tbody>")
    page.line("</table>")
    page.line("</section>")
  }

  /// The records' labels, as their collections' sections show them, for
  /// those that are still there and have one.
  private func labels(of refs: Set<RecordRef>) -> [RecordRef: String] {
    var labels: [RecordRef: String] = [:]
    for (collection, refs) in Dictionary(grouping: refs, by: \.collection) {
      let records = snapshot.records[collection] ?? []
      let view = CollectionView(collection, schema: snapshot.schema, records: records)
      let wanted = Set(refs.map(\.id))
      for record in records where wanted.contains(record.id) {
        let name = label(of: record, view)
        if name != record.id { labels[RecordRef(collection, record.id)] = name }
      }
    }
    return labels
  }

  private func refList(_ refs: [RecordRef], labels: [RecordRef: String]) -> String {
    guard !refs.isEmpty else { return "<span class=\"muted\">none</span>" }
    let sorted = refs.sorted()
    var items = sorted.prefix(50).map { ref -> String in
      "<code>\(escapeHTML(ref.description))</code>\(labels[ref].map { " \(escapeHTML($0))" } ?? "")"
    }
    if sorted.count > 50 { items.append("and \(sorted.count - 50) more") }
    return "\(sorted.count): " + items.joined(separator: "; ")
  }

  // MARK: Text

  private func label(of record: Record, _ view: CollectionView) -> String {
    view.label.map { text(of: record, $0) }.flatMap { $0.isEmpty ? nil : $0 } ?? record.id
  }

  private func text(of record: Record, _ field: String) -> String {
    if case .value(.text(let text))? = record.fields[field] { return text }
    return ""
  }

  /// An office slug as its display name, with the slug; other text as it is.
  private func officeText(_ text: String) -> String {
    guard let slug = ReplicaID(rawValue: text), offices.contains(where: { $0.slug == slug }) else {
      return escapeHTML(text)
    }
    return "\(officeName(slug)) <span class=\"muted\">(\(escapeHTML(text)))</span>"
  }

  /// An office's display name for text that is its slug; other text as it
  /// is (escaped when `html`).
  private func displayName(_ text: String, html: Bool = true) -> String {
    if let slug = ReplicaID(rawValue: text) { return officeName(slug, html: html) }
    return html ? escapeHTML(text) : text
  }

  private func dateText(_ record: Record, _ field: String) -> String {
    if case .value(let value)? = record.fields[field], value != .null { return escapeHTML(value.description) }
    return ""
  }

  /// An amount with spaces between thousands, as Norwegian reports write them.
  private func amountText(_ value: Value) -> String {
    escapeHTML(Report.plainAmount(value)).replacingOccurrences(of: " ", with: "&nbsp;")
  }

  static func plainAmount(_ value: Value) -> String {
    switch value {
    case .integer(let integer):
      let digits = String(integer.magnitude)
      var grouped = ""
      for (index, digit) in digits.enumerated() {
        if index > 0 && (digits.count - index) % 3 == 0 { grouped += " " }
        grouped.append(digit)
      }
      return (integer < 0 ? "−" : "") + grouped
    default:
      return value.description
    }
  }

  static func number(_ value: Value) -> Double {
    switch value {
    case .integer(let integer): Double(integer)
    case .number(let number): number
    default: 0
    }
  }

  /// The sum of amounts: an integer while every amount is one.
  static func sum<Values: Sequence>(_ values: Values) -> Value where Values.Element == Value {
    var integer: Int64 = 0
    var double = 0.0
    var exact = true
    for value in values {
      switch value {
      case .integer(let amount):
        let (result, overflow) = integer.addingReportingOverflow(amount)
        if overflow { exact = false } else { integer = result }
        double += Double(amount)
      case .number(let amount):
        exact = false
        double += amount
      default: continue
      }
    }
    return exact ? .integer(integer) : .number(double)
  }
}

// MARK: - Horizontal bars

/// Labelled horizontal bars, one per row, as inline SVG in whole pixels.
struct BarChart {
  var rows: [(label: String, value: Double, text: String)]

  func svg(label: String, colour: String) -> String {
    let labelWidth = 230, barWidth = 420, valueWidth = 110, rowHeight = 20, top = 4
    let width = labelWidth + barWidth + valueWidth, height = top * 2 + rowHeight * rows.count
    let largest = max(rows.map(\.value).max() ?? 1, 1e-9)
    var svg =
      "<svg class=\"chart bars\" viewBox=\"0 0 \(width) \(height)\" width=\"\(width)\" height=\"\(height)\" role=\"img\" aria-label=\"\(escapeHTML(label))\">\n"
    for (index, row) in rows.enumerated() {
      let y = top + index * rowHeight
      let length = row.value > 0 ? max(1, Int((row.value / largest * Double(barWidth)).rounded())) : 0
      let name = row.label.count > 34 ? String(row.label.prefix(33)) + "…" : row.label
      svg += "<text x=\"\(labelWidth - 6)\" y=\"\(y + 14)\" text-anchor=\"end\">\(escapeHTML(name))</text>"
      svg +=
        "<rect x=\"\(labelWidth)\" y=\"\(y + 3)\" width=\"\(length)\" height=\"\(rowHeight - 6)\" fill=\"\(colour)\"><title>\(escapeHTML(row.label)): \(escapeHTML(row.text))</title></rect>"
      svg += "<text x=\"\(labelWidth + length + 6)\" y=\"\(y + 14)\">\(escapeHTML(row.text))</text>\n"
    }
    svg += "</svg>"
    return svg
  }
}
