import Foundation
import Samhand
import XCTest

final class ApplyTests: CLITestCase {
  override func setUp() {
    super.setUp()
    XCTAssertNoThrow(try initOffice("ks"))
  }

  private func write(_ lines: [String], to name: String = "edits.jsonl") throws {
    try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: temp.path(name))
  }

  func testApply_everyOperationInOneChangeset() throws {
    try write([
      #"{"op":"set","collection":"membership","id":"m-1","fields":{"person":"Åse Lindvåg","from":"2026-01-01","groups":["reguleringsplan"]}}"#,
      #"{"op":"add","collection":"membership","id":"m-1","field":"groups","value":"kommuneplanens-arealdel"}"#,
      #"{"op":"remove","collection":"membership","id":"m-1","field":"groups","value":"reguleringsplan"}"#,
      "",
      #"{"op":"put","collection":"projects","id":"p-1","field":"funding","key":"ks","value":250000}"#,
      #"{"op":"set","collection":"projects","id":"p-1","fields":{"funding":{"kdd":500000,"agder":1}}}"#,
      #"{"op":"remove-key","collection":"projects","id":"p-1","field":"funding","key":"agder"}"#,
      #"{"op":"set","collection":"cases","id":"sak-9","fields":{"title":"Borte"}}"#,
      #"{"op":"delete","collection":"cases","id":"sak-9"}"#,
      #"{"op":"touch","collection":"cases","id":"tom"}"#,
    ])
    let output = try succeed(["apply", "--store", "ks", "edits.jsonl"])
    XCTAssertTrue(output.stdout.contains("Applied 9 lines"), output.stdout)
    XCTAssertTrue(output.stdout.contains("ks#1"), output.stdout)
    XCTAssertEqual(try changesetCount("ks"), 1)
    let store = try openStore("ks")
    let member = try XCTUnwrap(try store.record("membership", "m-1"))
    XCTAssertEqual(member.fields["groups"], .set(["kommuneplanens-arealdel"]))
    XCTAssertEqual(member.fields["from"], .value(.date(Day(year: 2026, month: 1, day: 1)!)))
    XCTAssertEqual(
      try store.record("projects", "p-1")?.fields["funding"],
      .map(["ks": .integer(250000), "kdd": .integer(500000)]))
    XCTAssertNil(try store.record("cases", "sak-9"))
    XCTAssertNotNil(try store.record("cases", "tom"))
  }

  func testApply_fromStandardInput() throws {
    let line = #"{"op":"set","collection":"cases","id":"sak-1","fields":{"title":"Fra stdin"}}"#
    let output = try succeed(["apply", "--store", "ks", "-", "--json"], stdin: line + "\n")
    let object = try XCTUnwrap(try json(output) as? [String: Any])
    XCTAssertEqual(object["lines"] as? Int, 1)
    XCTAssertEqual(object["changeset"] as? String, "ks#1")
    XCTAssertEqual(
      try openStore("ks").record("cases", "sak-1")?.fields["title"], .value(.text("Fra stdin")))
  }

  func testApply_byteOrderMarkAndWindowsLineEnds() throws {
    let lines = [
      #"{"op":"set","collection":"cases","id":"sak-1","fields":{"title":"Fra regneark"}}"#,
      #"{"op":"add","collection":"cases","id":"sak-1","field":"participants","value":"ks"}"#,
    ]
    try Data(
      ([0xEF, 0xBB, 0xBF] as [UInt8]) + Array(lines.joined(separator: "\r\n").utf8) + [0x0D, 0x0A]
    ).write(to: temp.path("bom.jsonl"))
    try succeed(["apply", "--store", "ks", "bom.jsonl"])
    let record = try XCTUnwrap(try openStore("ks").record("cases", "sak-1"))
    XCTAssertEqual(record.fields["title"], .value(.text("Fra regneark")))
    XCTAssertEqual(record.fields["participants"], .set(["ks"]))
  }

  func testApply_malformedLineWritesNothing() throws {
    try write([
      #"{"op":"set","collection":"cases","id":"sak-1","fields":{"title":"ok"}}"#,
      #"{"op":"set","collection":"cases","id":"sak-2","fields":{"title":"ok"}}"#,
      #"{"op":"set","collection":"cases","id":"sak-3","fields":{"title":"ok"}"#,
    ])
    try fail(
      ["apply", "--store", "ks", "edits.jsonl"],
      messages: ["edits.jsonl, line 3", "malformed JSON", "nothing was written"])
    XCTAssertEqual(try changesetCount("ks"), 0)
  }

  func testApply_unknownFieldNamesTheLine() throws {
    try write([
      #"{"op":"set","collection":"cases","id":"sak-1","fields":{"title":"ok"}}"#,
      #"{"op":"set","collection":"cases","id":"sak-2","fields":{"tittel":"feil"}}"#,
    ])
    try fail(
      ["apply", "--store", "ks", "edits.jsonl"],
      messages: ["line 2", "unknown field 'tittel'", "cases/sak-2"])
    XCTAssertEqual(try changesetCount("ks"), 0)
  }

  func testApply_wrongTypeNamesTheLineAndField() throws {
    try write([
      #"{"op":"put","collection":"projects","id":"p","field":"funding","key":"ks","value":"mye"}"#
    ])
    try fail(
      ["apply", "--store", "ks", "edits.jsonl"],
      messages: ["line 1", "funding.ks", "expects integer"])
    try write([#"{"op":"set","collection":"membership","id":"m","fields":{"from":20260101}}"#])
    try fail(["apply", "--store", "ks", "edits.jsonl"], messages: ["line 1", "'from'", "date"])
    try write([#"{"op":"add","collection":"membership","id":"m","field":"groups","value":7}"#])
    try fail(
      ["apply", "--store", "ks", "edits.jsonl"], messages: ["line 1", "\"value\" must be a string"])
    try write([#"{"op":"set","collection":"cases","id":"s","fields":{"participants":"ks"}}"#])
    try fail(["apply", "--store", "ks", "edits.jsonl"], messages: ["line 1", "'participants'"])
    XCTAssertEqual(try changesetCount("ks"), 0)
  }

  func testApply_badShapes() throws {
    let cases: [(String, String)] = [
      (#"[1, 2]"#, "expected a JSON object"),
      (#"{"op":"upsert","collection":"cases","id":"s"}"#, "unknown \"op\":\"upsert\""),
      (#"{"op":"set","collection":"cases","fields":{}}"#, "missing \"id\""),
      (#"{"op":"delete","collection":"cases","id":"s","field":"x"}"#, "unknown key \"field\""),
      (
        #"{"op":"set","collection":"saker","id":"s","fields":{"title":"x"}}"#,
        "unknown collection 'saker'"
      ),
    ]
    for (line, message) in cases {
      try write([#"{"op":"touch","collection":"cases","id":"ok"}"#, line])
      try fail(["apply", "--store", "ks", "edits.jsonl"], messages: ["line 2", message])
    }
    XCTAssertEqual(try changesetCount("ks"), 0)
  }

  /// The example in `apply --help`: a log piped back in, on a store whose
  /// history holds a roster change. The roster lines are skipped and counted.
  func testApply_theLogOfAStoreWithRosterChangesSkipsTheRosterLines() throws {
    // A second installation of Vestland gets a key of its own, which KS
    // confirms: a roster change in KS's log.
    try initOffice("vestland", store: "kopi", confirmed: false)
    try confirmKey(of: "vestland", store: "kopi", by: "ks")
    try succeed(["set", "--store", "ks", "membership", "m-v", "organisation=vestland", "person=Åse Lind"])
    let log = try XCTUnwrap(try json(try succeed(["log", "--store", "ks", "--json"])) as? [[String: Any]])
    let edits = log.flatMap { ($0["edits"] as? [Any]) ?? [] }
    XCTAssertTrue(
      edits.contains { ($0 as? [String: Any])?["collection"] as? String == "_roster" }, "\(edits)")
    let lines = try edits.map {
      String(decoding: try JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys]), as: UTF8.self)
    }
    let rosterLines = lines.filter { $0.contains(#""collection":"_roster""#) }.count
    let output = try succeed(["apply", "--store", "kopi", "-", "--json"], stdin: lines.joined(separator: "\n") + "\n")
    XCTAssertTrue(output.stderr.contains("skipped \(rosterLines)"), output.stderr)
    XCTAssertTrue(output.stderr.contains("samhand roster"), output.stderr)
    let object = try XCTUnwrap(try json(output) as? [String: Any])
    XCTAssertEqual(object["skipped"] as? Int, rosterLines)
    XCTAssertEqual(object["lines"] as? Int, lines.count - rosterLines)
    XCTAssertEqual(object["changeset"] as? String, "vestland#1")
    let store = try openStore("kopi")
    XCTAssertEqual(try store.record("membership", "m-v")?.fields["person"], .value(.text("Åse Lind")))
    // A line for a collection the schema lacks is still an error.
    try write([#"{"op":"set","collection":"_rosterx","id":"a","fields":{"x":1}}"#])
    try fail(["apply", "--store", "kopi", "edits.jsonl"], messages: ["line 1", "_rosterx"])
  }

  func testApply_missingFileAndStore() throws {
    try fail(
      ["apply", "--store", "ks", "nothing.jsonl"], messages: ["cannot read", "nothing.jsonl"])
    try fail(["apply", "nothing.jsonl"], status: 64, messages: ["SAMHAND_STORE"])
  }

  /// Bulk loading a membership list: 100,000 lines in one transaction.
  func testApply_hundredThousandLines() throws {
    var text = ""
    text.reserveCapacity(100_000 * 200)
    let groups = ["kommuneplanens-samfunnsdel", "kommuneplanens-arealdel", "reguleringsplan"]
    for index in 0..<100_000 {
      let id = String(format: "m-%06d", index)
      text +=
        #"{"op":"set","collection":"membership","id":"\#(id)","fields":{"person":"Person \#(index)","organisation":"ks","network":"veilederkorpset","groups":["\#(groups[index % 3])"]}}"#
        + "\n"
    }
    try Data(text.utf8).write(to: temp.path("members.jsonl"))
    let started = Date()
    let output = try succeed(["apply", "--store", "ks", "members.jsonl"])
    let elapsed = Date().timeIntervalSince(started)
    print("apply of 100,000 lines: \(String(format: "%.1f", elapsed)) s")
    XCTAssertTrue(output.stdout.contains("Applied 100000 lines"), output.stdout)
    XCTAssertTrue(output.stdout.contains("400000 edits"), output.stdout)
    let store = try openStore("ks")
    XCTAssertEqual(try store.frontier(), VersionVector(["ks": 1]))
    XCTAssertEqual(
      try store.record("membership", "m-099999")?.fields["person"], .value(.text("Person 99999")))
  }
}
