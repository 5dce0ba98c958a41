import Foundation
import GRDB
import Samhand
import SamhandTestSupport
import XCTest

/// CSV, SQLite and HTML exports of a snapshot.
///
/// The golden files in `Fixtures/golden/v1/csv/`, `…/sqlite/` and
/// `…/report/` are the exports of the golden folder's snapshot. Rewrite them
/// after a deliberate change of an export format with
/// `SAMHAND_WRITE_GOLDEN=1 swift test --filter SnapshotExportTests`.
final class SnapshotExportTests: XCTestCase {
  private var golden: URL { fixturesDirectory().appendingPathComponent("golden/v\(ChangesetFile.formatVersion)") }
  private var goldenFolder: SharedFolder { SharedFolder(golden.appendingPathComponent("folder")) }
  private var writingGolden: Bool { ProcessInfo.processInfo.environment["SAMHAND_WRITE_GOLDEN"] == "1" }

  // MARK: - Golden files

  func testCSV_goldenFilesForBothDelimiters() throws {
    let snapshot = try goldenFolder.snapshot()
    for (delimiter, name) in [(Character(","), "comma"), (";", "semicolon")] {
      let directory = TemporaryDirectory("csv")
      try snapshot.writeCSV(to: directory.url, delimiter: delimiter)
      let written = try FileManager.default.contentsOfDirectory(atPath: directory.url.path).sorted()
      XCTAssertEqual(
        written, ["cases.csv", "conflicts.csv", "frontier.csv", "membership.csv", "projects.csv", "projects_funding.csv"])
      try compareGoldenDirectory("csv/\(name)", with: directory.url)
    }
  }

  func testSQLite_goldenDump() throws {
    let directory = TemporaryDirectory("sqlite")
    let file = directory.path("snapshot.sqlite")
    try goldenFolder.snapshot().writeSQLite(to: file)
    try compareGolden("sqlite/snapshot.sql", Data(try SQLiteDump.dump(file).utf8))
  }

  func testReport_goldenPage() throws {
    let report = try Report(folder: goldenFolder, title: "Samhand – golden scenario")
    var withHeads = report
    withHeads.heads = try goldenHeads()
    try compareGolden("report/report.html", Data(withHeads.html.utf8))
  }

  // MARK: - CSV

  func testCSV_goldenScenarioCells() throws {
    let snapshot = try goldenFolder.snapshot()
    let directory = TemporaryDirectory("csv")
    try snapshot.writeCSV(to: directory.url)
    let projects = try Data(contentsOf: directory.path("projects.csv"))
    XCTAssertEqual(Array(projects.prefix(3)), [0xEF, 0xBB, 0xBF], "UTF-8 byte order mark for Excel")
    let rows = try CSVReader.parse(projects, delimiter: ",")
    XCTAssertEqual(rows[0], ["id", "description", "end", "funding", "lead", "name", "participants", "start", "status"])
    XCTAssertEqual(rows[1][0], "veilederkorpset")
    XCTAssertEqual(rows[1][3], #"{"agder":150000,"kdd":100000,"ks":250000,"vestland":300000}"#)
    XCTAssertEqual(rows[1][5], "Veilederkorpset 2025–2029")
    // The funding map also as a long table, one row per pledge: the spleiselag for a pivot table.
    let funding = try CSVReader.parse(Data(contentsOf: directory.path("projects_funding.csv")), delimiter: ",")
    XCTAssertEqual(
      funding,
      [
        ["id", "key", "value"], ["veilederkorpset", "agder", "150000"], ["veilederkorpset", "kdd", "100000"],
        ["veilederkorpset", "ks", "250000"], ["veilederkorpset", "vestland", "300000"],
      ])
    let cases = try CSVReader.parse(Data(contentsOf: directory.path("cases.csv")), delimiter: ",")
    XCTAssertEqual(cases[0].firstIndex(of: "participants").map { cases[1][$0] }, "agder|ks|vestland")
    XCTAssertEqual(cases[0].firstIndex(of: "deadline").map { cases[1][$0] }, "2025-06-15")
    let frontier = try CSVReader.parse(Data(contentsOf: directory.path("frontier.csv")), delimiter: ",")
    XCTAssertEqual(frontier, [["office", "sequence"], ["agder", "1"], ["kdd", "1"], ["ks", "2"], ["vestland", "1"]])
    let conflicts = try CSVReader.parse(Data(contentsOf: directory.path("conflicts.csv")), delimiter: ",")
    XCTAssertEqual(conflicts.count, 1 + 4, "a header and two siblings for each of the two conflicts")
    XCTAssertEqual(
      conflicts[3],
      ["projects", "veilederkorpset", "funding", "kdd", "value", "1", "vestland", "1", "2", "2026-06-01T08:02:00.000Z", "100000", ""])
  }

  func testCSV_quotingEscapingAndParsingBack() throws {
    let (snapshot, directory) = try edgeCaseSnapshot()
    defer { _ = directory }
    let out = TemporaryDirectory("csv")
    try snapshot.writeCSV(to: out.url, byteOrderMark: false)
    let text = try String(contentsOf: out.path("items.csv"), encoding: .utf8)
    let expected =
      "id,active,count,due,extra,score,tags,title\r\n"
      + "a-1,true,-3,2026-01-02,\"{\"\"n\"\":1.5,\"\"t\"\":\"\"tekst\"\"}\",1.5,a\\\\b|plain|x\\|y,\"Hei, \"\"verden\"\"\nlinje 2\"\r\n"
      + "b-2,false,,,,1e-07,,\r\n"
      + "c-3,,,,,,,Blåbær; og tyttebær\r\n"
    XCTAssertEqual(text, expected)

    // A program parses every cell back to the snapshot's values.
    let rows = try CSVReader.parse(Data(text.utf8), delimiter: ",")
    let header = rows[0]
    for (row, record) in zip(rows.dropFirst(), snapshot.records["items"] ?? []) {
      XCTAssertEqual(row[0], record.id)
      for (index, name) in header.enumerated().dropFirst() {
        switch record.fields[name] {
        case .set(let elements)?: XCTAssertEqual(CSVReader.setElements(row[index]), elements)
        case .map(let map)?:
          let parsed = try JSONSerialization.jsonObject(with: Data(row[index].utf8)) as? [String: Any]
          XCTAssertEqual(parsed?.keys.sorted(), map.keys.sorted())
        case .value(let value)?:
          if case .text(let text) = value { XCTAssertEqual(row[index], text) }
        case nil: XCTAssertEqual(row[index], "", "\(record.id).\(name)")
        }
      }
    }
  }

  func testCSV_semicolonWritesDecimalCommas() throws {
    let (snapshot, directory) = try edgeCaseSnapshot()
    defer { _ = directory }
    let out = TemporaryDirectory("csv")
    try snapshot.writeCSV(to: out.url, delimiter: ";")
    let data = try Data(contentsOf: out.path("items.csv"))
    XCTAssertEqual(Array(data.prefix(3)), [0xEF, 0xBB, 0xBF])
    let text = String(decoding: data.dropFirst(3), as: UTF8.self)
    XCTAssertTrue(
      text.hasPrefix("id;active;count;due;extra;score;tags;title\r\na-1;true;-3;2026-01-02;\"{\"\"n\"\":1.5,"), text)
    XCTAssertTrue(text.contains(";1,5;a\\\\b|plain|x\\|y;\"Hei, \"\"verden\"\"\nlinje 2\"\r\n"), text)
    XCTAssertTrue(text.contains("\r\nb-2;false;;;;1e-07;;\r\n"), text)
    XCTAssertTrue(text.contains("\r\nc-3;;;;;;;\"Blåbær; og tyttebær\"\r\n"), text)
    // A map's long table writes its numbers as every other number cell.
    let extra = try CSVReader.parse(Data(contentsOf: out.path("items_extra.csv")), delimiter: ";")
    XCTAssertEqual(extra, [["id", "key", "value"], ["a-1", "n", "1,5"], ["a-1", "t", "tekst"]])
    // The conflict on `score` lists both numbers with decimal commas, the shown one first.
    let conflicts = try CSVReader.parse(Data(contentsOf: out.path("conflicts.csv")), delimiter: ";")
    XCTAssertEqual(conflicts.dropFirst().map { $0[10] }, ["1,5", "2,25"])
  }

  func testCSV_refusesOtherDelimitersAndReservedCollectionNames() throws {
    let snapshot = try goldenFolder.snapshot()
    let out = TemporaryDirectory("csv")
    XCTAssertThrowsError(try snapshot.writeCSV(to: out.url, delimiter: "\"")) { error in
      XCTAssertTrue(SamhandError.invalidArgument ~= error, "\(error)")
    }
    let schema = try Schema(collections: ["conflicts": .init(fields: ["title": .init(.text)])])
    let directory = TemporaryDirectory("store")
    let store = try Store.create(at: directory.path("store"), replica: "ks", storeID: .random(), schema: schema)
    XCTAssertThrowsError(try store.snapshot().writeCSV(to: out.url)) { error in
      XCTAssertTrue(SamhandError.invalidArgument ~= error, "\(error)")
      XCTAssertTrue("\(error)".contains("conflicts.csv"), "\(error)")
    }
    // A map's long table may not take a collection's file name.
    let meeting = try Schema(collections: [
      "a": .init(fields: ["b": .init(.map, values: .integer)]), "a_b": .init(fields: ["title": .init(.text)]),
    ])
    let other = try Store.create(at: directory.path("meeting"), replica: "ks", storeID: .random(), schema: meeting)
    XCTAssertThrowsError(try other.snapshot().writeCSV(to: out.url)) { error in
      XCTAssertTrue(SamhandError.invalidArgument ~= error, "\(error)")
      XCTAssertTrue("\(error)".contains("a_b.csv"), "\(error)")
      XCTAssertTrue("\(error)".contains("collection 'a_b'"), "\(error)")
    }
  }

  // MARK: - SQLite

  func testSQLite_queriedWithSQL() throws {
    let snapshot = try goldenFolder.snapshot()
    let directory = TemporaryDirectory("sqlite")
    let file = directory.path("snapshot.sqlite")
    try snapshot.writeSQLite(to: file)
    var configuration = Configuration()
    configuration.readonly = true
    let queue = try DatabaseQueue(path: file.path, configuration: configuration)
    try queue.read { db in
      // Funding per project: the spleiselag's sum.
      let funding = try Row.fetchAll(db, sql: "SELECT id, SUM(value) AS total FROM projects_funding GROUP BY id ORDER BY id")
      XCTAssertEqual(funding.map { $0["id"] as String }, ["veilederkorpset"])
      XCTAssertEqual(funding.map { $0["total"] as Int64 }, [800_000])
      // Members per group.
      let groups = try Row.fetchAll(
        db,
        sql: """
          SELECT g.element AS grp, COUNT(*) AS members, GROUP_CONCAT(m.person, ', ') AS people
          FROM membership_groups g JOIN membership m ON m.id = g.id
          GROUP BY g.element ORDER BY g.element
          """)
      XCTAssertEqual(groups.map { $0["grp"] as String }, ["kommuneplanens-samfunnsdel", "reguleringsplan"])
      XCTAssertEqual(groups.map { $0["members"] as Int }, [1, 1])
      XCTAssertEqual(groups.map { $0["people"] as String }, ["Solveig Brekke", "Håkon Lie"])
      // Participants per case, and typed columns.
      XCTAssertEqual(
        try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM cases_participants WHERE id = 'sak-2025-014'"), 3)
      XCTAssertEqual(
        try String.fetchOne(db, sql: "SELECT typeof(deadline) || ' ' || deadline FROM cases"), "text 2025-06-15")
      XCTAssertEqual(try String.fetchOne(db, sql: "SELECT typeof(value) FROM projects_funding LIMIT 1"), "integer")
      XCTAssertEqual(
        try String.fetchOne(db, sql: #"SELECT "from" FROM membership WHERE id = 'vk-agder-1'"#), "2024-10-01")
      XCTAssertNil(try String.fetchOne(db, sql: "SELECT email FROM membership WHERE id = 'vk-agder-1'"))
      // The snapshot it came from.
      let info = try XCTUnwrap(try Row.fetchOne(db, sql: "SELECT * FROM snapshot_info"))
      XCTAssertEqual(info["format"] as Int, Snapshot.sqliteFormatVersion)
      XCTAssertEqual(info["snapshot_format"] as Int, Snapshot.formatVersion)
      XCTAssertEqual(info["sha256"] as String, snapshot.sha256)
      XCTAssertEqual(info["frontier"] as String, #"{"agder":1,"kdd":1,"ks":2,"vestland":1}"#)
      XCTAssertEqual(info["changesets"] as Int, 5)
      XCTAssertEqual(try Int.fetchOne(db, sql: "PRAGMA user_version"), Snapshot.sqliteFormatVersion)
      XCTAssertEqual(try Int32.fetchOne(db, sql: "PRAGMA application_id"), Snapshot.sqliteApplicationID)
      XCTAssertEqual(try String.fetchOne(db, sql: "PRAGMA integrity_check"), "ok")
      XCTAssertEqual(try String.fetchOne(db, sql: "PRAGMA journal_mode"), "delete")
      // Open conflicts with their siblings, the shown one first.
      let siblings = try Row.fetchAll(
        db,
        sql: """
          SELECT c.collection, c.record, c.field, c.key, c.kind, s.position, s.author, s.value, s.deleted
          FROM conflicts c JOIN conflict_siblings s ON s.conflict = c.id ORDER BY c.id, s.position
          """)
      XCTAssertEqual(siblings.count, 4)
      XCTAssertEqual(siblings[0]["kind"] as String, "delete")
      XCTAssertEqual(siblings[1]["author"] as String, "kdd")
      XCTAssertEqual(siblings[1]["deleted"] as Int, 1)
      XCTAssertEqual(siblings[2]["key"] as String, "kdd")
      XCTAssertEqual(siblings[2]["value"] as Int, 100_000)
      XCTAssertEqual(siblings[3]["value"] as Int, 120_000)
      XCTAssertNil(siblings[3]["deleted"] as Int?)
      // Where each field went.
      XCTAssertEqual(
        try String.fetchOne(db, sql: "SELECT table_name FROM schema_fields WHERE collection = 'projects' AND field = 'funding'"),
        "projects_funding")
      XCTAssertEqual(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM schema_fields"), 24)
    }
    try queue.close()
  }

  func testSQLite_typedColumnsAndConflictsOfOtherKinds() throws {
    let (snapshot, directory) = try edgeCaseSnapshot()
    defer { _ = directory }
    let file = directory.path("items.sqlite")
    try snapshot.writeSQLite(to: file)
    let queue = try DatabaseQueue(path: file.path)
    try queue.read { db in
      let types = try Row.fetchOne(
        db,
        sql: "SELECT typeof(active), active, typeof(count), typeof(due), typeof(score), score, title FROM items WHERE id = 'a-1'")
      XCTAssertEqual(types?[0] as String?, "integer")
      XCTAssertEqual(types?[1] as Int?, 1)
      XCTAssertEqual(types?[2] as String?, "integer")
      XCTAssertEqual(types?[3] as String?, "text")
      XCTAssertEqual(types?[4] as String?, "real")
      XCTAssertEqual(types?[5] as Double?, 1.5)
      XCTAssertEqual(types?[6] as String?, "Hei, \"verden\"\nlinje 2")
      XCTAssertEqual(try String.fetchOne(db, sql: "SELECT title FROM items WHERE id = 'b-2'"), "", "empty text is not NULL")
      XCTAssertEqual(try String.fetchOne(db, sql: "SELECT typeof(title) FROM items WHERE id = 'c-3'"), "text")
      XCTAssertEqual(try String.fetchOne(db, sql: "SELECT typeof(active) FROM items WHERE id = 'c-3'"), "null")
      // An untyped map keeps each value's own type.
      let extra = try Row.fetchAll(db, sql: "SELECT key, typeof(value) AS type FROM items_extra ORDER BY key")
      XCTAssertEqual(extra.map { "\($0["key"] as String)=\($0["type"] as String)" }, ["n=real", "t=text"])
      XCTAssertEqual(
        try String.fetchAll(db, sql: "SELECT element FROM items_tags WHERE id = 'a-1' ORDER BY rowid"),
        ["a\\b", "plain", "x|y"])
      XCTAssertEqual(
        try Double.fetchAll(db, sql: "SELECT value FROM conflict_siblings ORDER BY position"), [1.5, 2.25])
    }
    try queue.close()
  }

  func testSQLite_refusesToOverwriteUnlessAsked() throws {
    let snapshot = try goldenFolder.snapshot()
    let directory = TemporaryDirectory("sqlite")
    let file = directory.path("out/snapshot.sqlite")
    try snapshot.writeSQLite(to: file)
    let first = try Data(contentsOf: file)
    XCTAssertThrowsError(try snapshot.writeSQLite(to: file)) { error in
      XCTAssertTrue(SamhandError.invalidArgument ~= error, "\(error)")
      XCTAssertTrue("\(error)".contains("already exists"), "\(error)")
    }
    XCTAssertEqual(try Data(contentsOf: file), first)
    try Data("not a database".utf8).write(to: file)
    try snapshot.writeSQLite(to: file, replace: true)
    XCTAssertEqual(try Data(contentsOf: file), first, "the same snapshot gives the same file")
    XCTAssertThrowsError(try snapshot.writeSQLite(to: directory.path("out"), replace: true)) { error in
      XCTAssertTrue("\(error)".contains("is a folder"), "\(error)")
    }
    let left = try FileManager.default.contentsOfDirectory(atPath: directory.path("out").path)
    XCTAssertEqual(left, ["snapshot.sqlite"], "no temporary or journal files left behind")
  }

  func testSQLite_refusesTableNamesThatClash() throws {
    let clashes: [[String: Schema.Collection]] = [
      ["a_b": .init(fields: ["c": .init(.set)]), "a": .init(fields: ["b_c": .init(.map)])],
      ["snapshot_info": .init(fields: ["title": .init(.text)])],
      ["sqlite_stat": .init(fields: ["title": .init(.text)])],
    ]
    let directory = TemporaryDirectory("sqlite")
    for (index, collections) in clashes.enumerated() {
      let store = try Store.create(
        at: directory.path("store-\(index)"), replica: "ks", storeID: .random(), schema: try Schema(collections: collections))
      let file = directory.path("clash-\(index).sqlite")
      XCTAssertThrowsError(try store.snapshot().writeSQLite(to: file)) { error in
        XCTAssertTrue(SamhandError.invalidArgument ~= error, "\(error)")
      }
      XCTAssertFalse(FileManager.default.fileExists(atPath: file.path))
    }
  }

  /// A consumer outside Swift reads the file: Python's `sqlite3` module,
  /// and the `sqlite3` shell, whichever are installed.
  func testSQLite_readOutsideSwift() throws {
    let snapshot = try goldenFolder.snapshot()
    let directory = TemporaryDirectory("sqlite")
    let file = directory.path("snapshot.sqlite")
    try snapshot.writeSQLite(to: file)
    let python = ExternalTool.find("python3")
    let shell = ExternalTool.find("sqlite3")
    guard python != nil || shell != nil else {
      print("skipping: neither python3 nor the sqlite3 shell is on PATH")
      throw XCTSkip("neither python3 nor the sqlite3 shell is on PATH, so no consumer outside Swift can read the file")
    }
    if let python {
      let script = """
        import sqlite3, sys
        db = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
        print(db.execute("SELECT sha256 FROM snapshot_info").fetchone()[0])
        for row in db.execute("SELECT id, SUM(value) FROM projects_funding GROUP BY id ORDER BY id"):
            print(row[0], row[1])
        for row in db.execute('SELECT id, person, "from" FROM membership ORDER BY id'):
            print(*row, sep="|")
        print(db.execute("SELECT COUNT(*) FROM conflicts").fetchone()[0])
        """
      let output = try ExternalTool.run(python, ["-c", script, file.path])
      XCTAssertEqual(
        output,
        "\(snapshot.sha256)\nveilederkorpset 800000\nvk-agder-1|Håkon Lie|2024-10-01\nvk-vestland-1|Solveig Brekke|2024-10-01\n2\n")
    } else {
      print("python3 is not on PATH: the file is read with the sqlite3 shell only")
    }
    if let shell {
      let output = try ExternalTool.run(
        shell,
        ["-readonly", "-batch", file.path, "SELECT id || '=' || SUM(value) FROM projects_funding GROUP BY id; SELECT format, changesets FROM snapshot_info;"])
      XCTAssertEqual(output, "veilederkorpset=800000\n1|5\n")
    } else {
      print("the sqlite3 shell is not on PATH: the file is read with Python only")
    }
  }

  // MARK: - Report

  func testReport_showsCountsConflictsAndOffices() throws {
    let report = try Report(folder: goldenFolder, title: "Samhand – status")
    var withHeads = report
    withHeads.heads = try goldenHeads()
    let html = withHeads.html
    XCTAssertTrue(html.hasPrefix("<!DOCTYPE html>\n"))
    XCTAssertTrue(html.contains("<title>Samhand – status</title>"))
    // Counts per collection.
    XCTAssertTrue(html.contains("<td><code>membership</code></td>"))
    XCTAssertTrue(
      html.contains(
        "<tr><td><code>membership</code></td><td>Hvem er med i hvilket nettverk og styre (veilederkorpset, SEVS-styret)</td><td class=\"number\">2</td><td class=\"number warn\">1</td></tr>"
      ), html)
    XCTAssertTrue(html.contains("<td class=\"number\">4</td><td class=\"number\">2</td></tr></tfoot>"), html)
    // Conflicts, with display names.
    XCTAssertTrue(html.contains("Open conflicts (2)"))
    XCTAssertTrue(html.contains("<code>membership/vk-vestland-1</code>"))
    XCTAssertTrue(html.contains("field <code>funding → kdd</code>"))
    XCTAssertTrue(html.contains("<strong>100000</strong> by Vestland fylkeskommune"))
    XCTAssertTrue(html.contains("<strong>deleted</strong> by Kommunal- og distriktsdepartementet"))
    // Offices and how far behind they are.
    XCTAssertTrue(html.contains("<span class=\"warn\">3 changesets</span>"), html)
    XCTAssertTrue(html.contains("same as this snapshot"))
    // The activity chart: one bar segment per office on the one day.
    let activity = try XCTUnwrap(html.components(separatedBy: "<section id=\"activity\">").last)
    XCTAssertEqual(activity.components(separatedBy: "<rect ").count - 1, 4)
    XCTAssertTrue(html.contains("<title>KS, 2026-06-01: 2</title>"))
    // Static: no scripts, nothing fetched.
    XCTAssertFalse(html.lowercased().contains("<script"))
    XCTAssertFalse(html.contains("http://"))
    XCTAssertFalse(html.contains("https://"))
    XCTAssertFalse(html.lowercased().contains("src="))
    XCTAssertFalse(html.lowercased().contains("<link"))
  }

  /// Issue 21: the records themselves, as the schema describes them.
  func testReport_showsTheRecordsAsTheSchemaDescribesThem() throws {
    let html = try Report(folder: goldenFolder, title: "Samarbeidet").html
    // Joint projects: lead (the group), participants, status, period, pledges with the sum.
    let projects = try section("records-projects", of: html)
    XCTAssertTrue(projects.contains("<h2>Fellesprosjekter, ofte finansiert som spleiselag"), projects)
    XCTAssertTrue(projects.contains("<tr class=\"group\"><th colspan=\"5\">Ledende kontor: Vestland fylkeskommune"), projects)
    XCTAssertTrue(projects.contains("<th>Oppstart – Slutt</th>"), projects)
    XCTAssertTrue(projects.contains("<td class=\"period\">2026-01-01 – </td>"), projects)
    XCTAssertTrue(projects.contains("KS: 250&nbsp;000<br>"), projects)
    XCTAssertTrue(projects.contains("<strong>Sum: 800&nbsp;000</strong>"), projects)
    // The spleiselag chart: one bar per office, largest first.
    let bars = try XCTUnwrap(projects.components(separatedBy: "<svg class=\"chart bars\"").dropFirst().first)
    XCTAssertEqual(bars.components(separatedBy: "<rect ").count - 1, 4)
    let order = ["Vestland fylkeskommune: 300 000", "KS: 250 000", "Agder fylkeskommune: 150 000", "Kommunal- og distriktsdepartementet: 100 000"]
    let positions = try order.map { try XCTUnwrap(bars.range(of: "<title>\($0)</title>")?.lowerBound, $0) }
    XCTAssertEqual(positions, positions.sorted())
    // Shared cases: owner, participants, charts by plan type and status.
    let cases = try section("records-cases", of: html)
    XCTAssertTrue(cases.contains("<h3>Plantype <span class=\"muted\">(cases per value)</span></h3>"), cases)
    XCTAssertTrue(cases.contains("<h3>Status <span class=\"muted\">(cases per value)</span></h3>"), cases)
    XCTAssertTrue(cases.contains("<title>under-arbeid: 1</title>"), cases)
    XCTAssertTrue(cases.contains("Eierkontor: KS"), cases)
    XCTAssertTrue(cases.contains("<td>Felles løft for samfunnsdelen<br><code class=\"muted\">sak-2025-014</code></td>"), cases)
    XCTAssertTrue(cases.contains("Agder fylkeskommune, KS, Vestland fylkeskommune"), cases)
    // Membership: per organisation, with network, group and role.
    let membership = try section("records-membership", of: html)
    XCTAssertTrue(membership.contains("Kontoret personen representerer: Agder fylkeskommune"), membership)
    XCTAssertTrue(membership.contains("<td>Solveig Brekke<br>"), membership)
    XCTAssertTrue(membership.contains("<td>veilederkorpset</td><td>prosjektleder</td>"), membership)
    XCTAssertFalse(html.contains("id=\"changes\""), "no --since, no section")
  }

  /// Another schema gets a sensible report from its own roles and descriptions.
  func testReport_viewsComeFromTheSchemaNotFromNames() throws {
    let schema = try Schema(collections: [
      "moter": .init(
        fields: [
          "tema": .init(.text, description: "Tema"), "referat": .init(.text, description: "Referat fra møtet"),
          "ansvarlig": .init(.text), "type": .init(.text, description: "Type: fysisk, digitalt"),
          "budsjett": .init(.map, values: .integer, description: "Budsjett per kontor"), "dato": .init(.date),
        ], description: "Samlinger", writers: [.kind("ks"), .field("ansvarlig")])
    ])
    let view = Report.CollectionView("moter", schema: schema, records: [])
    XCTAssertEqual(view.label, "tema")
    XCTAssertEqual(view.owners, ["ansvarlig"])
    XCTAssertEqual(view.categories, ["type"])
    XCTAssertEqual(view.amounts, ["budsjett"])
    XCTAssertEqual(view.dates, ["dato"])
    let planning = Report.CollectionView("cases", schema: .planning, records: [])
    XCTAssertEqual(planning.label, "title")
    XCTAssertEqual(planning.owners, ["owner"])
    XCTAssertEqual(planning.members, ["participants"])
    XCTAssertEqual(planning.categories, ["plan_type", "status"])
    XCTAssertEqual(Report.CollectionView("membership", schema: .planning, records: []).label, "person")
    XCTAssertEqual(Report.CollectionView("projects", schema: .planning, records: []).label, "name")

    let directory = TemporaryDirectory("report")
    let store = try Store.create(at: directory.path("ks"), replica: "ks", storeID: .random(), schema: schema)
    try store.transact {
      try $0.set("moter", "m-1", "tema", .text("Arealregnskap"))
      try $0.set("moter", "m-1", "type", .text("digitalt"))
      try $0.put("moter", "m-1", "budsjett", key: "ks", .integer(12000))
      try $0.set("moter", "m-2", "tema", .text("Samfunnsdelen"))
      try $0.set("moter", "m-2", "type", .text("fysisk"))
      try $0.put("moter", "m-2", "budsjett", key: "ks", .integer(3000))
    }
    let html = try Report(store: store, title: "Møter").html
    let moter = try section("records-moter", of: html)
    XCTAssertTrue(moter.contains("<h3>Budsjett per kontor per office, all moter together <span class=\"muted\">(sum 15&nbsp;000)</span></h3>"), moter)
    XCTAssertTrue(moter.contains("<title>KS: 15 000</title>"), moter)
    XCTAssertTrue(moter.contains("<title>digitalt: 1</title>"), moter)
    XCTAssertTrue(moter.contains("<td>Arealregnskap<br>"), moter)
  }

  /// `since`: what each office created, changed and deleted after a point.
  func testReport_whatChangedSinceAFrontierAndADate() throws {
    let directory = TemporaryDirectory("report")
    let folder = SharedFolder(directory.path("folder"))
    let ks = try Store.createListingTestKeys(folder: folder, at: directory.path("ks"), replica: "ks", schema: .planning)
    let kdd = try Store.joinWithTestKey(folder: folder, at: directory.path("kdd"), replica: "kdd").0
    try ks.transact {
      try $0.set("cases", "sak-1", "title", .text("Gammel sak"))
      try $0.set("cases", "sak-2", "title", .text("Skal bort"))
    }
    try ks.sync(with: folder)
    try kdd.sync(with: folder)
    let point = try kdd.frontier()
    try kdd.transact {
      try $0.set("cases", "sak-1", "status", .text("avsluttet"))
      try $0.delete("cases", "sak-2")
      try $0.set("cases", "sak-3", "title", .text("Ny sak"))
    }
    try ks.transact { try $0.set("cases", "sak-3", "notes", .text("KS la til")) }
    for store in [kdd, ks, kdd] { try store.sync(with: folder) }
    var report = try Report(store: kdd, title: "Endringar")
    report.since = .frontier(point)
    let changes = try section("changes", of: report.html)
    XCTAssertTrue(changes.contains("What changed since frontier ks&nbsp;1"), changes)
    let kddRow = try XCTUnwrap(changes.components(separatedBy: "<tr>").first { $0.contains("Kommunal- og distriktsdepartementet") })
    XCTAssertTrue(
      kddRow.contains("<td>1: <code>cases/sak-3</code> Ny sak</td><td>1: <code>cases/sak-1</code> Gammel sak</td><td>1: <code>cases/sak-2</code></td>"),
      kddRow)
    let ksRow = try XCTUnwrap(changes.components(separatedBy: "<tr>").first { $0.contains("<td>KS</td>") })
    XCTAssertTrue(ksRow.contains("<td><span class=\"muted\">none</span></td><td>1: <code>cases/sak-3</code> Ny sak</td>"), ksRow)
    report.since = .date(Date(timeIntervalSince1970: 4_000_000_000))
    XCTAssertTrue(try section("changes", of: report.html).contains("Nothing changed since then."))
  }

  private func section(_ id: String, of html: String) throws -> String {
    let start = try XCTUnwrap(html.range(of: "<section id=\"\(id)\""), "no section \(id)")
    let rest = html[start.lowerBound...]
    let end = try XCTUnwrap(rest.range(of: "</section>"))
    return String(rest[..<end.upperBound])
  }

  func testReport_escapesEverythingItShows() throws {
    let schema = try Schema(collections: [
      "notes": .init(fields: ["title": .init(.text), "by": .init(.map)], description: "<b>Notater</b> & mer")
    ])
    let directory = TemporaryDirectory("report")
    let folder = SharedFolder(directory.path("folder"))
    let ks = try Store.createListingTestKeys(folder: folder, at: directory.path("ks"), replica: "ks", schema: schema)
    let kdd = try Store.joinWithTestKey(folder: folder, at: directory.path("kdd"), replica: "kdd").0
    try ks.transact { try $0.set("notes", "<img src=x onerror=alert(1)>", "title", .text("x")) }
    try ks.sync(with: folder)
    try kdd.sync(with: folder)
    try ks.transact { try $0.put("notes", "<img src=x onerror=alert(1)>", "by", key: "\"'><script>", .text("<script>alert('ks')</script>")) }
    try kdd.transact { try $0.put("notes", "<img src=x onerror=alert(1)>", "by", key: "\"'><script>", .text("</td>&amp;")) }
    try ks.sync(with: folder)
    try kdd.sync(with: folder)
    try ks.sync(with: folder)
    let html = try Report(store: ks, heads: folder.heads().heads, title: "<script>alert(\"title\")</script>").html
    XCTAssertFalse(html.lowercased().contains("<script"), html)
    XCTAssertFalse(html.contains("<img"), html)
    XCTAssertFalse(html.contains("<b>"), html)
    XCTAssertTrue(html.contains("&lt;script&gt;alert(&quot;title&quot;)&lt;/script&gt;"))
    XCTAssertTrue(html.contains("&lt;b&gt;Notater&lt;/b&gt; &amp; mer"))
    XCTAssertTrue(html.contains("&lt;/td&gt;&amp;amp;"))
    XCTAssertTrue(html.contains("&quot;&#39;&gt;&lt;script&gt;"))
  }

  func testReport_flagsOfficesWhoseHashesDiffer() throws {
    let snapshot = try goldenFolder.snapshot()
    let heads = [
      Head(office: "ks", frontier: snapshot.frontier, snapshotHash: snapshot.sha256, timestamp: 1_780_301_200_000),
      Head(office: "agder", frontier: snapshot.frontier, snapshotHash: String(repeating: "0", count: 64), timestamp: 1_780_301_260_000),
    ]
    let html = Report.html(snapshot: snapshot, heads: heads, history: [], title: "Avvik")
    XCTAssertTrue(html.contains("same frontier but report different snapshot hashes: Agder fylkeskommune, KS"), html)
    XCTAssertTrue(html.contains("<span class=\"alert\">differs from this snapshot</span>"))
    XCTAssertTrue(html.contains("No changesets in this snapshot."))
    // kdd and vestland wrote changesets but have no head file.
    XCTAssertEqual(html.components(separatedBy: "no head file").count - 1, 2)
  }

  func testReport_activityIsBucketedByWeekOverLongerSpans() throws {
    let directory = TemporaryDirectory("report")
    let store = try Store.create(at: directory.path("ks"), replica: "ks", storeID: .random(), schema: .planning)
    let day: Int64 = 86_400_000
    let start: Int64 = 1_780_300_800_000  // Monday 2026-06-01
    for index in 0..<3 {
      try store.transact(timestamp: start + Int64(index) * 40 * day + 3_600_000) {
        try $0.set("cases", "sak-\(index)", "status", .text("ny"))
      }
    }
    let html = try Report(store: store, title: "Uker").html
    XCTAssertTrue(html.contains("Changesets per week (weeks start on Monday) (UTC), 2026-06-01 to 2026-08-17."), html)
    XCTAssertEqual(try section("activity", of: html).components(separatedBy: "<rect ").count - 1, 3)
    // An earlier snapshot counts only its own changesets.
    let earlier = Report.html(
      snapshot: try store.snapshot(at: VersionVector(["ks": 1])), heads: [], history: try store.history(), title: "Før")
    XCTAssertEqual(try section("activity", of: earlier).components(separatedBy: "<rect ").count - 1, 1)
    XCTAssertTrue(earlier.contains("Changesets per day (UTC), 2026-06-01 to 2026-06-01."), earlier)
  }

  // MARK: - Fixtures

  /// Heads for the golden folder: ks and agder up to date, vestland and kdd behind.
  private func goldenHeads() throws -> [Head] {
    let full = try goldenFolder.snapshot()
    let vestland = VersionVector(["ks": 1, "vestland": 1])
    let kdd = VersionVector(["ks": 1, "kdd": 1])
    return [
      Head(office: "agder", frontier: full.frontier, snapshotHash: full.sha256, timestamp: 1_780_301_400_000),
      Head(office: "kdd", frontier: kdd, snapshotHash: try goldenFolder.snapshot(at: kdd).sha256, timestamp: 1_780_301_100_000),
      Head(office: "ks", frontier: full.frontier, snapshotHash: full.sha256, timestamp: 1_780_301_160_000),
      Head(office: "vestland", frontier: vestland, snapshotHash: try goldenFolder.snapshot(at: vestland).sha256, timestamp: 1_780_300_980_000),
    ]
  }

  /// A snapshot with every field kind, awkward texts and a number conflict.
  private func edgeCaseSnapshot() throws -> (Snapshot, TemporaryDirectory) {
    let schema = try Schema(collections: [
      "items": .init(fields: [
        "title": .init(.text), "score": .init(.number), "active": .init(.bool), "tags": .init(.set),
        "extra": .init(.map), "due": .init(.date), "count": .init(.integer),
      ])
    ])
    let directory = TemporaryDirectory("edge")
    let folder = SharedFolder(directory.path("folder"))
    let ks = try Store.createListingTestKeys(folder: folder, at: directory.path("ks"), replica: "ks", schema: schema)
    let kdd = try Store.joinWithTestKey(folder: folder, at: directory.path("kdd"), replica: "kdd").0
    try ks.transact(timestamp: 1_780_300_800_000) { tx in
      try tx.set("items", "a-1", "title", .text("Hei, \"verden\"\nlinje 2"))
      try tx.set("items", "a-1", "score", .number(1.5))
      try tx.set("items", "a-1", "active", .bool(true))
      for tag in ["x|y", "plain", "a\\b"] { try tx.add("items", "a-1", "tags", tag) }
      try tx.put("items", "a-1", "extra", key: "t", .text("tekst"))
      try tx.put("items", "a-1", "extra", key: "n", .number(1.5))
      try tx.set("items", "a-1", "due", .text("2026-01-02"))
      try tx.set("items", "a-1", "count", .integer(-3))
      try tx.set("items", "b-2", "title", .text(""))
      try tx.set("items", "b-2", "score", .number(1e-7))
      try tx.set("items", "b-2", "active", .bool(false))
      try tx.set("items", "c-3", "title", .text("Blåbær; og tyttebær"))
    }
    try ks.sync(with: folder)
    try kdd.sync(with: folder)
    // Concurrent scores: kdd's (2.25) and ks's (1.5, unchanged) become siblings.
    try kdd.transact(timestamp: 1_780_300_860_000) { try $0.set("items", "a-1", "score", .number(2.25)) }
    try ks.transact(timestamp: 1_780_300_870_000) { try $0.set("items", "a-1", "score", .number(1.5)) }
    try kdd.sync(with: folder)
    try ks.sync(with: folder)
    return (try ks.snapshot(), directory)
  }

  // MARK: - Golden helpers

  /// Compares bytes with a golden file, or writes it when asked.
  private func compareGolden(_ path: String, _ bytes: Data, file: StaticString = #filePath, line: UInt = #line) throws {
    let url = golden.appendingPathComponent(path)
    if writingGolden {
      try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
      try bytes.write(to: url)
      print("wrote golden file \(url.path)")
      return
    }
    guard let expected = try? Data(contentsOf: url) else {
      XCTFail(
        "no golden file \(path): write it with SAMHAND_WRITE_GOLDEN=1 swift test --filter SnapshotExportTests",
        file: file, line: line)
      return
    }
    XCTAssertEqual(
      String(decoding: bytes, as: UTF8.self), String(decoding: expected, as: UTF8.self),
      "\(path) differs from the golden file: an export format changed", file: file, line: line)
    XCTAssertEqual(bytes, expected, "\(path): bytes differ", file: file, line: line)
  }

  /// Compares every file of a folder with a golden folder (same names, same bytes).
  private func compareGoldenDirectory(_ path: String, with directory: URL) throws {
    let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
    if writingGolden { try? FileManager.default.removeItem(at: golden.appendingPathComponent(path)) }
    for name in names {
      try compareGolden("\(path)/\(name)", try Data(contentsOf: directory.appendingPathComponent(name)))
    }
    if !writingGolden {
      let goldenNames = (try? FileManager.default.contentsOfDirectory(atPath: golden.appendingPathComponent(path).path)) ?? []
      XCTAssertEqual(goldenNames.sorted(), names, "\(path): other files than the golden folder holds")
    }
  }
}

// MARK: - Helpers

/// A strict RFC 4180 reader for the tests: quoted cells, doubled quotes, CRLF rows.
private enum CSVReader {
  struct Malformed: Error { var offset: Int }

  static func parse(_ data: Data, delimiter: Character) throws -> [[String]] {
    var bytes = [UInt8](data)
    if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
    let separator = delimiter.asciiValue!
    var rows: [[String]] = []
    var row: [String] = []
    var cell: [UInt8] = []
    var index = 0
    var quoted = false
    while index < bytes.count {
      let byte = bytes[index]
      if quoted {
        if byte == 0x22 {
          if index + 1 < bytes.count, bytes[index + 1] == 0x22 {
            cell.append(0x22)
            index += 1
          } else {
            quoted = false
          }
        } else {
          cell.append(byte)
        }
      } else if byte == 0x22 {
        guard cell.isEmpty else { throw Malformed(offset: index) }
        quoted = true
      } else if byte == separator {
        row.append(String(decoding: cell, as: UTF8.self))
        cell = []
      } else if byte == 0x0D {
        guard index + 1 < bytes.count, bytes[index + 1] == 0x0A else { throw Malformed(offset: index) }
        row.append(String(decoding: cell, as: UTF8.self))
        rows.append(row)
        row = []
        cell = []
        index += 1
      } else if byte == 0x0A {
        throw Malformed(offset: index)
      } else {
        cell.append(byte)
      }
      index += 1
    }
    guard !quoted, row.isEmpty, cell.isEmpty else { throw Malformed(offset: index) }
    return rows
  }

  /// Splits a set cell at unescaped `|` and removes the `\` escapes.
  static func setElements(_ cell: String) -> [String] {
    guard !cell.isEmpty else { return [] }
    var elements: [String] = []
    var current = ""
    var escaped = false
    for character in cell {
      if escaped {
        current.append(character)
        escaped = false
      } else if character == "\\" {
        escaped = true
      } else if character == "|" {
        elements.append(current)
        current = ""
      } else {
        current.append(character)
      }
    }
    elements.append(current)
    return elements
  }
}

/// A canonical text dump of a SQLite file: header pragmas, then each table's
/// `CREATE` statement and rows as `INSERT` statements, in creation and rowid
/// order. Loading it with `sqlite3 new.db < dump.sql` rebuilds the tables.
private enum SQLiteDump {
  static func dump(_ file: URL) throws -> String {
    var configuration = Configuration()
    configuration.readonly = true
    let queue = try DatabaseQueue(path: file.path, configuration: configuration)
    defer { try? queue.close() }
    return try queue.read { db in
      var out = ""
      out += "PRAGMA application_id = \(try Int32.fetchOne(db, sql: "PRAGMA application_id") ?? 0);\n"
      out += "PRAGMA user_version = \(try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0);\n"
      out += "BEGIN TRANSACTION;\n"
      let objects = try Row.fetchAll(db, sql: "SELECT type, name, sql FROM sqlite_master ORDER BY rowid")
      for object in objects {
        guard let sql = object["sql"] as String? else { continue }  // automatic indexes
        out += sql + ";\n"
        guard object["type"] as String == "table" else { continue }
        let name = object["name"] as String
        let quotedName = "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        for row in try Row.fetchAll(db, sql: "SELECT * FROM \(quotedName) ORDER BY rowid") {
          out += "INSERT INTO \(quotedName) VALUES(" + row.databaseValues.map(literal).joined(separator: ",") + ");\n"
        }
      }
      out += "COMMIT;\n"
      return out
    }
  }

  static func literal(_ value: DatabaseValue) -> String {
    switch value.storage {
    case .null: "NULL"
    case .int64(let integer): String(integer)
    case .double(let double): double.description
    case .string(let text): "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
    case .blob(let data): "X'" + data.map { String(format: "%02x", $0) }.joined() + "'"
    }
  }
}

/// Finds and runs programs outside Swift.
private enum ExternalTool {
  static func find(_ name: String) -> URL? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    for directory in path.split(separator: ":") {
      let candidate = URL(fileURLWithPath: String(directory)).appendingPathComponent(name)
      if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
    }
    return nil
  }

  static func run(_ executable: URL, _ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    var environment = ProcessInfo.processInfo.environment
    environment["PYTHONIOENCODING"] = "utf-8"
    process.environment = environment
    let output = Pipe(), errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    XCTAssertEqual(process.terminationStatus, 0, "\(executable.lastPathComponent) failed: \(errorText)")
    return String(decoding: data, as: UTF8.self)
  }
}
