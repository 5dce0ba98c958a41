import Foundation

/// A one-page HTML report on a snapshot: the records of every collection
/// as its schema describes them (roles, categories, amounts, with charts),
/// what changed since a date or frontier, open conflicts, each office's
/// frontier and how far behind it is, and activity over time.
///
/// The page is a single static file: its styles and its bar chart (inline
/// SVG) are inside it, it loads nothing and runs no script (a
/// Content-Security-Policy forbids both), and every text from the records
/// is escaped. It reads the same in any browser and prints cleanly. All times
/// are UTC. The same inputs always give the same bytes. The layout is
/// described in `Docs/FORMATS.md`, section 8.
///
/// ```swift
/// let report = try Report(folder: SharedFolder(url), title: "Samhand – status 1. juni")
/// try Data(report.html.utf8).write(to: URL(fileURLWithPath: "rapport.html"))
/// ```
public struct Report: Sendable {
  /// The page's title.
  public var title: String
  /// The merged state the report is on.
  public var snapshot: Snapshot
  /// The offices' heads, as read from the shared folder.
  public var heads: [Head]
  /// Changesets over time. Only those inside the snapshot's frontier are counted.
  public var history: [HistoryEntry]
  /// Display names for office slugs; an office not listed is shown by its slug.
  public var offices: [Office]
  /// Where "what changed" starts; none leaves the section out.
  public var since: Since?

  /// Creates a report from its parts.
  public init(
    title: String, snapshot: Snapshot, heads: [Head] = [], history: [HistoryEntry] = [],
    offices: [Office] = Office.cooperation
  ) {
    self.title = title
    self.snapshot = snapshot
    self.heads = heads
    self.history = history
    self.offices = offices
  }

  /// A report on a replica's current snapshot and history.
  ///
  /// - Parameters:
  ///   - store: the replica.
  ///   - heads: the offices' heads, usually `SharedFolder.heads().heads` of
  ///     the folder the replica syncs with; none leaves the office table empty.
  ///   - title: the page's title.
  public init(store: Store, heads: [Head] = [], title: String) throws {
    self.init(title: title, snapshot: try store.snapshot(), heads: heads, history: try store.history())
  }

  /// A report on a shared folder read on its own, as `SharedFolder.snapshot()`
  /// reads it: nothing is written into the folder.
  ///
  /// - Parameter keys: for an encrypted folder, its group keys (a key file's):
  ///   without every key its files need, the report is refused.
  public init(folder: SharedFolder, title: String, keys: GroupKeyring = .empty) throws {
    let (reader, _) = try folder.reader(keys: keys, whole: true)
    // Only heads their offices signed (Docs/FORMATS.md, section 1).
    let heads = try reader.countedHeads(folder.heads().heads, layout: try folder.identity().formatVersion)
    self.init(title: title, snapshot: try reader.snapshot(), heads: heads, history: try reader.history())
  }

  /// The report's HTML page.
  ///
  /// - Parameters:
  ///   - snapshot: the merged state to report on.
  ///   - heads: the offices' heads.
  ///   - history: the changesets over time (`Store.history()`).
  ///   - title: the page's title.
  /// - Returns: a complete HTML5 document in UTF-8.
  public static func html(snapshot: Snapshot, heads: [Head], history: [HistoryEntry], title: String) -> String {
    Report(title: title, snapshot: snapshot, heads: heads, history: history).html
  }

  /// The report's HTML page: a complete HTML5 document.
  public var html: String {
    var page = HTMLPage()
    page.line("<!DOCTYPE html>")
    page.line("<html lang=\"en\">")
    page.line("<head>")
    page.line("<meta charset=\"utf-8\">")
    page.line("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
    page.line(
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">")
    page.line("<meta name=\"generator\" content=\"Samhand\">")
    page.line("<title>\(escapeHTML(title))</title>")
    page.line("<style>")
    page.line(Report.styleSheet)
    page.line("</style>")
    page.line("</head>")
    page.line("<body>")
    header(&page)
    collectionsSection(&page)
    recordSections(&page)
    changesSection(&page)
    conflictsSection(&page)
    officesSection(&page)
    activitySection(&page)
    page.line(
      "<footer>Written by Samhand from the snapshot above. All times are UTC. The same snapshot, heads and history always give this same page.</footer>"
    )
    page.line("</body>")
    page.line("</html>")
    return page.text
  }
}

// MARK: - Sections

extension Report {
  private func header(_ page: inout HTMLPage) {
    page.line("<header>")
    page.line("<h1>\(escapeHTML(title))</h1>")
    let total = snapshot.frontier.total
    let offices = snapshot.frontier.counters.count
    page.line(
      "<p>Snapshot of \(total) \(plural(total, "changeset")) from \(offices) \(plural(offices, "office")), snapshot format \(Snapshot.formatVersion).</p>"
    )
    page.line("<dl class=\"facts\">")
    page.line("<dt>Frontier</dt><dd>\(frontierText(snapshot.frontier))</dd>")
    page.line("<dt>SHA-256</dt><dd><code>\(escapeHTML(snapshot.sha256))</code></dd>")
    page.line("</dl>")
    page.line("</header>")
  }

  private func collectionsSection(_ page: inout HTMLPage) {
    page.line("<section id=\"collections\">")
    page.line("<h2>Records</h2>")
    page.line("<table>")
    page.line(
      "<thead><tr><th>Collection</th><th>Description</th><th class=\"number\">Records</th><th class=\"number\">Open conflicts</th></tr></thead>"
    )
    page.line("<tbody>")
    var totalRecords = 0
    for name in snapshot.schema.collectionNames {
      let count = snapshot.records[name]?.count ?? 0
      let conflicts = snapshot.conflicts.filter { $0.collection == name }.count
      totalRecords += count
      let description = snapshot.schema.collections[name]?.description ?? ""
      page.line(
        "<tr><td><code>\(escapeHTML(name))</code></td><td>\(escapeHTML(description))</td><td class=\"number\">\(count)</td><td class=\"number\(conflicts > 0 ? " warn" : "")\">\(conflicts)</td></tr>"
      )
    }
    page.line("</tbody>")
    page.line(
      "<tfoot><tr><th>Total</th><td></td><td class=\"number\">\(totalRecords)</td><td class=\"number\">\(snapshot.conflicts.count)</td></tr></tfoot>"
    )
    page.line("</table>")
    page.line("</section>")
  }

  private func conflictsSection(_ page: inout HTMLPage) {
    page.line("<section id=\"conflicts\">")
    page.line("<h2>Open conflicts (\(snapshot.conflicts.count))</h2>")
    guard !snapshot.conflicts.isEmpty else {
      page.line("<p>No open conflicts.</p>")
      page.line("</section>")
      return
    }
    page.line(
      "<p>Concurrent edits kept for review. The first state listed is the one shown until someone resolves the conflict.</p>"
    )
    page.line("<table>")
    page.line("<thead><tr><th>Record</th><th>Conflict</th><th>States</th></tr></thead>")
    page.line("<tbody>")
    for conflict in snapshot.conflicts {
      let what: String
      switch conflict.kind {
      case .delete: what = "deleted and updated at the same time"
      case .value:
        let path = [conflict.field, conflict.key].compactMap { $0 }.map { escapeHTML($0) }.joined(separator: " → ")
        what = "field <code>\(path)</code>"
      }
      var states = "<ol class=\"siblings\">"
      for (index, sibling) in conflict.siblings.enumerated() {
        let state: String
        if conflict.kind == .delete {
          state = sibling.deleted ? "<strong>deleted</strong>" : "<strong>kept and updated</strong>"
        } else {
          state = "<strong>\(valueText(sibling.value ?? .null))</strong>"
        }
        let shown = index == 0 ? " <span class=\"tag\">shown</span>" : ""
        states +=
          "<li>\(state) by \(officeName(sibling.author)), \(timeText(sibling.timestamp)) <span class=\"muted\">(\(escapeHTML(sibling.author.rawValue)) #\(sibling.sequence))</span>\(shown)</li>"
      }
      states += "</ol>"
      page.line(
        "<tr><td><code>\(escapeHTML(conflict.collection))/\(escapeHTML(conflict.recordID))</code></td><td>\(what)</td><td>\(states)</td></tr>"
      )
    }
    page.line("</tbody>")
    page.line("</table>")
    page.line("</section>")
  }

  private func officesSection(_ page: inout HTMLPage) {
    page.line("<section id=\"offices\">")
    page.line("<h2>Offices</h2>")
    // The newest state anyone is known to have: the snapshot and every head together.
    var newest = snapshot.frontier
    for head in heads { newest.formUnion(head.frontier) }
    let headsByOffice = Dictionary(heads.map { ($0.office, $0) }, uniquingKeysWith: { $0.timestamp >= $1.timestamp ? $0 : $1 })
    let slugs = Set(headsByOffice.keys).union(snapshot.frontier.counters.keys).sorted()
    guard !slugs.isEmpty else {
      page.line("<p>No office has written anything yet.</p>")
      page.line("</section>")
      return
    }
    page.line(
      "<p>Each office's last sync, as its head file in the shared folder says, against the newest state known (\(newest.total) \(plural(newest.total, "changeset"))).</p>"
    )
    for group in SharedFolder.divergentHeads(heads) {
      let names = group.map { officeName($0.office) }.joined(separator: ", ")
      page.line(
        "<p class=\"alert\">These offices are at the same frontier but report different snapshot hashes: \(names). Run <code>samhand verify</code>.</p>"
      )
    }
    page.line("<table>")
    page.line(
      "<thead><tr><th>Office</th><th>Last sync</th><th>Frontier</th><th class=\"number\">Changesets</th><th>Behind the newest</th><th>Snapshot hash</th></tr></thead>"
    )
    page.line("<tbody>")
    for slug in slugs {
      let name = "\(officeName(slug)) <span class=\"muted\">(\(escapeHTML(slug.rawValue)))</span>"
      guard let head = headsByOffice[slug] else {
        page.line(
          "<tr><td>\(name)</td><td class=\"muted\">no head file</td><td></td><td></td><td></td><td></td></tr>")
        continue
      }
      var missing: [String] = []
      var behind: UInt64 = 0
      for entry in newest.sorted where entry.counter > head.frontier[entry.replica] {
        let count = entry.counter - head.frontier[entry.replica]
        behind += count
        missing.append("\(escapeHTML(entry.replica.rawValue)) \(count)")
      }
      let behindText =
        behind == 0
        ? "<span class=\"ok\">up to date</span>"
        : "<span class=\"warn\">\(behind) \(plural(behind, "changeset"))</span> <span class=\"muted\">(\(missing.joined(separator: ", ")))</span>"
      let hash: String
      if head.frontier == snapshot.frontier {
        hash =
          head.snapshotHash == snapshot.sha256
          ? "<span class=\"ok\">same as this snapshot</span>"
          : "<span class=\"alert\">differs from this snapshot</span>"
      } else {
        hash = "<code>\(escapeHTML(String(head.snapshotHash.prefix(12))))…</code>"
      }
      page.line(
        "<tr><td>\(name)</td><td>\(timeText(head.timestamp))</td><td>\(frontierText(head.frontier))</td><td class=\"number\">\(head.frontier.total)</td><td>\(behindText)</td><td>\(hash)</td></tr>"
      )
    }
    page.line("</tbody>")
    page.line("</table>")
    page.line("</section>")
  }

  private func activitySection(_ page: inout HTMLPage) {
    page.line("<section id=\"activity\">")
    page.line("<h2>Activity</h2>")
    let entries = history.filter {
      snapshot.frontier.contains(Dot($0.changeset.author, $0.changeset.sequence))
    }
    guard !entries.isEmpty else {
      page.line("<p>No changesets in this snapshot.</p>")
      page.line("</section>")
      return
    }
    let chart = ActivityChart(entries: entries)
    page.line(
      "<p>Changesets per \(chart.unit.name) (UTC), \(escapeHTML(chart.label(0, long: true))) to \(escapeHTML(chart.label(chart.bucketCount - 1, long: true))).</p>"
    )
    page.line(chart.svg(colour: colour, name: { officeName($0, html: false) }))
    page.line("<ul class=\"legend\">")
    for office in chart.offices {
      page.line("<li><span class=\"swatch\" style=\"background:\(colour(office))\"></span>\(officeName(office))</li>")
    }
    page.line("</ul>")
    page.line("<table>")
    page.line(
      "<thead><tr><th>Office</th><th class=\"number\">Changesets</th><th class=\"number\">Rejected</th><th>First</th><th>Last</th></tr></thead>"
    )
    page.line("<tbody>")
    for office in chart.offices {
      let own = entries.filter { $0.changeset.author == office }
      let rejected = own.filter { $0.rejected != nil }.count
      let first = own.map(\.timestamp).min() ?? 0, last = own.map(\.timestamp).max() ?? 0
      page.line(
        "<tr><td>\(officeName(office))</td><td class=\"number\">\(own.count)</td><td class=\"number\(rejected > 0 ? " warn" : "")\">\(rejected)</td><td>\(timeText(first))</td><td>\(timeText(last))</td></tr>"
      )
    }
    page.line("</tbody>")
    page.line("</table>")
    page.line("</section>")
  }
}

// MARK: - Text

extension Report {
  /// The office's display name (escaped unless `html` is false), or its slug.
  func officeName(_ slug: ReplicaID, html: Bool = true) -> String {
    let name = offices.first { $0.slug == slug }?.name ?? slug.rawValue
    return html ? escapeHTML(name) : name
  }

  func frontierText(_ frontier: VersionVector) -> String {
    let entries = frontier.sorted
    guard !entries.isEmpty else { return "<span class=\"muted\">nothing</span>" }
    return entries.map { "\(escapeHTML($0.replica.rawValue))&nbsp;\($0.counter)" }.joined(separator: " · ")
  }

  func valueText(_ value: Value) -> String {
    switch value {
    case .null: "<em>empty</em>"
    case .text(let text) where text.isEmpty: "<em>empty text</em>"
    default: escapeHTML(value.description)
    }
  }

  /// `2026-06-01 08:02 UTC`.
  func timeText(_ milliseconds: Int64) -> String {
    let text = Timestamp.iso8601(milliseconds: milliseconds)
    return escapeHTML(text.prefix(10) + " " + text.dropFirst(11).prefix(5)) + "&nbsp;UTC"
  }

  func plural<Count: BinaryInteger>(_ count: Count, _ word: String) -> String {
    count == 1 ? word : word + "s"
  }

  /// A fixed colour per office: by the office's place among those active.
  func colour(_ office: ReplicaID) -> String {
    let active = Set(history.map(\.changeset.author)).union(snapshot.frontier.counters.keys).sorted()
    let index = active.firstIndex(of: office) ?? 0
    return Report.palette[index % Report.palette.count]
  }

  static let palette = [
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#17becf",
    "#bcbd22", "#8c564b", "#7f7f7f", "#1f3a93", "#d35400",
  ]

  static let styleSheet = """
    :root { color-scheme: light; }
    body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: #1b1b1b; background: #fff; margin: 2rem auto; max-width: 60rem; padding: 0 1rem; line-height: 1.4; }
    h1 { font-size: 1.6rem; margin-bottom: 0.3rem; }
    h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #ccc; padding-bottom: 0.2rem; }
    table { border-collapse: collapse; width: 100%; margin: 0.5rem 0; font-size: 0.95rem; }
    th, td { text-align: left; vertical-align: top; padding: 0.3rem 0.5rem; border-bottom: 1px solid #e2e2e2; }
    thead th { border-bottom: 2px solid #999; }
    tfoot th, tfoot td { border-top: 2px solid #999; border-bottom: none; }
    .number { text-align: right; font-variant-numeric: tabular-nums; }
    code { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 0.9em; overflow-wrap: anywhere; }
    .muted { color: #666; }
    .ok { color: #1a7f37; }
    .warn { color: #9a6700; font-weight: 600; }
    .alert { color: #b3261e; font-weight: 600; }
    .tag { display: inline-block; font-size: 0.75rem; padding: 0 0.35rem; border: 1px solid #999; border-radius: 0.6rem; color: #444; }
    ol.siblings { margin: 0; padding-left: 1.2rem; }
    dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 0.2rem 1rem; margin: 0.5rem 0; }
    dl.facts dt { font-weight: 600; }
    dl.facts dd { margin: 0; }
    ul.legend { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: 0.3rem 1.2rem; font-size: 0.9rem; }
    .swatch { display: inline-block; width: 0.8rem; height: 0.8rem; margin-right: 0.35rem; vertical-align: -0.05rem; border-radius: 2px; }
    svg.chart { max-width: 100%; height: auto; display: block; }
    svg.chart text { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; font-size: 11px; fill: #444; }
    h3 { font-size: 1rem; margin: 1.2rem 0 0.3rem; }
    tr.group th { background: #f3f3f3; border-bottom: 1px solid #ccc; }
    td.amounts { white-space: nowrap; font-variant-numeric: tabular-nums; }
    td.period, td.date { white-space: nowrap; }
    table.cross { width: auto; }
    footer { margin-top: 2.5rem; font-size: 0.85rem; color: #666; border-top: 1px solid #ccc; padding-top: 0.5rem; }
    @media print { body { margin: 0; max-width: none; } h2 { break-after: avoid; } tr { break-inside: avoid; } }
    """
}

/// Escapes text for HTML element content and attribute values.
func escapeHTML<Text: StringProtocol>(_ text: Text) -> String {
  var out = ""
  out.reserveCapacity(text.utf8.count)
  for character in text.unicodeScalars {
    switch character {
    case "&": out += "&amp;"
    case "<": out += "&lt;"
    case ">": out += "&gt;"
    case "\"": out += "&quot;"
    case "'": out += "&#39;"
    default: out.unicodeScalars.append(character)
    }
  }
  return out
}

/// Lines of an HTML page, joined by LF.
struct HTMLPage {
  private(set) var text = ""

  mutating func line(_ line: String) {
    text += line
    text += "\n"
  }
}

// MARK: - Chart

/// Changesets per day, week or month and office, drawn as stacked bars.
struct ActivityChart {
  enum Unit {
    case day, week, month

    var name: String {
      switch self {
      case .day: "day"
      case .week: "week (weeks start on Monday)"
      case .month: "month"
      }
    }
  }

  let unit: Unit
  /// The first bucket: a day number (days since 1970) for days and weeks,
  /// a month number (year × 12 + month − 1) for months.
  let first: Int64
  let bucketCount: Int
  /// Offices with changesets, in slug order.
  let offices: [ReplicaID]
  /// Changesets per bucket and office.
  let counts: [[ReplicaID: Int]]

  static let millisecondsPerDay: Int64 = 86_400_000

  init(entries: [HistoryEntry]) {
    let days = entries.map { ActivityChart.floorDivide($0.timestamp, ActivityChart.millisecondsPerDay) }
    let firstDay = days.min() ?? 0, lastDay = days.max() ?? 0
    let unit: Unit
    if lastDay - firstDay < 62 {
      unit = .day
    } else if (ActivityChart.monday(lastDay) - ActivityChart.monday(firstDay)) / 7 < 104 {
      unit = .week
    } else {
      unit = .month
    }
    func bucket(_ day: Int64) -> Int64 {
      switch unit {
      case .day: day
      case .week: ActivityChart.monday(day)
      case .month: ActivityChart.monthNumber(day)
      }
    }
    func index(_ day: Int64) -> Int {
      let distance = bucket(day) - bucket(firstDay)
      return Int(unit == .week ? distance / 7 : distance)
    }
    self.unit = unit
    first = bucket(firstDay)
    bucketCount = index(lastDay) + 1
    var counts = Array(repeating: [ReplicaID: Int](), count: bucketCount)
    for (entry, day) in zip(entries, days) { counts[index(day)][entry.changeset.author, default: 0] += 1 }
    self.counts = counts
    offices = Set(entries.map(\.changeset.author)).sorted()
  }

  static func floorDivide(_ value: Int64, _ divisor: Int64) -> Int64 {
    let quotient = value / divisor
    return value % divisor < 0 ? quotient - 1 : quotient
  }

  /// The Monday on or before a day (1970-01-01 was a Thursday).
  static func monday(_ day: Int64) -> Int64 {
    day - ((day + 3) % 7 + 7) % 7
  }

  static func monthNumber(_ day: Int64) -> Int64 {
    let text = Timestamp.iso8601(milliseconds: day * millisecondsPerDay)
    let year = Int64(text.prefix(4)) ?? 1970, month = Int64(text.dropFirst(5).prefix(2)) ?? 1
    return year * 12 + month - 1
  }

  /// The bucket's label: `2026-06-01` (day, week) or `2026-06` (month);
  /// short labels under the bars leave out the year for days.
  func label(_ index: Int, long: Bool = false) -> String {
    switch unit {
    case .day, .week:
      let day = first + Int64(index) * (unit == .week ? 7 : 1)
      let text = String(Timestamp.iso8601(milliseconds: day * ActivityChart.millisecondsPerDay).prefix(10))
      return long || unit == .week ? text : String(text.dropFirst(5))
    case .month:
      let month = first + Int64(index)
      let year = String(month / 12), number = String(month % 12 + 1)
      return String(repeating: "0", count: max(0, 4 - year.count)) + year + "-" + (number.count < 2 ? "0" : "") + number
    }
  }

  /// The chart as inline SVG, in whole-pixel coordinates.
  func svg(colour: (ReplicaID) -> String, name: (ReplicaID) -> String) -> String {
    let slot = max(10, min(48, 720 / max(bucketCount, 1)))
    let bar = slot - max(2, slot / 5)
    let left = 40, right = 10, top = 10, plotHeight = 180, bottom = 28
    // At least 240 pixels wide, with few bars in the middle.
    let plotWidth = max(240, slot * bucketCount), offset = (plotWidth - slot * bucketCount) / 2
    let width = left + plotWidth + right, height = top + plotHeight + bottom
    // The axis goes up to the first tick at or above the highest bar.
    let tallest = max(1, counts.map { $0.values.reduce(0, +) }.max() ?? 1)
    let step = max(1, (tallest + 3) / 4)
    let highest = (tallest + step - 1) / step * step
    func y(_ count: Int) -> Int { top + plotHeight - (count * plotHeight * 2 + highest) / (2 * highest) }

    var svg =
      "<svg class=\"chart\" viewBox=\"0 0 \(width) \(height)\" width=\"\(width)\" height=\"\(height)\" role=\"img\" aria-label=\"Changesets per \(escapeHTML(unit.name)) and office\">\n"
    // Horizontal grid lines and their counts.
    for tick in stride(from: 0, through: highest, by: step) {
      svg +=
        "<line x1=\"\(left)\" x2=\"\(width - right)\" y1=\"\(y(tick))\" y2=\"\(y(tick))\" stroke=\"\(tick == 0 ? "#999" : "#e2e2e2")\"/>"
      svg += "<text x=\"\(left - 6)\" y=\"\(y(tick) + 4)\" text-anchor=\"end\">\(tick)</text>\n"
    }
    // Bars, stacked by office in slug order.
    for (index, byOffice) in counts.enumerated() {
      let x = left + offset + index * slot + (slot - bar) / 2
      var below = 0
      for office in offices {
        guard let count = byOffice[office], count > 0 else { continue }
        let top = y(below + count), base = y(below)
        svg +=
          "<rect x=\"\(x)\" y=\"\(top)\" width=\"\(bar)\" height=\"\(base - top)\" fill=\"\(colour(office))\"><title>\(escapeHTML(name(office))), \(escapeHTML(label(index, long: true))): \(count)</title></rect>\n"
        below += count
      }
    }
    // Labels under the bars, as many as fit.
    let every = max(1, (62 + slot - 1) / slot)
    for index in stride(from: 0, to: bucketCount, by: every) {
      let x = left + offset + index * slot + slot / 2
      svg += "<text x=\"\(x)\" y=\"\(top + plotHeight + 16)\" text-anchor=\"middle\">\(escapeHTML(label(index)))</text>\n"
    }
    svg += "</svg>"
    return svg
  }
}
