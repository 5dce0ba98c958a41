import Foundation
import XCTest

/// The report of the golden folder, rendered by a real browser (Chromium,
/// headless): the DOM holds the records and the charts, and a screenshot is
/// not blank. `.ci/run` installs Chromium from Debian; where it is missing
/// the test says SKIP with the reason.
final class ReportBrowserTests: CLITestCase {
  private static let browser: URL? = {
    var names = ["chromium", "chromium-browser", "google-chrome"]
    if let given = ProcessInfo.processInfo.environment["SAMHAND_CHROMIUM"] { names.insert(given, at: 0) }
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    for name in names {
      if name.hasPrefix("/"), FileManager.default.isExecutableFile(atPath: name) { return URL(fileURLWithPath: name) }
      for folder in path.split(separator: ":") {
        let candidate = URL(fileURLWithPath: String(folder)).appendingPathComponent(name)
        if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
      }
    }
    return nil
  }()

  private var goldenFolder: URL {
    URL(fileURLWithPath: "\(#filePath)").deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent("Fixtures/golden/v1/folder")
  }

  func testReport_rendersInChromiumWithItsRecordsAndCharts() throws {
    guard let browser = ReportBrowserTests.browser else {
      throw XCTSkip("SKIP: Chromium is not installed (.ci/run installs the Debian package 'chromium'; SAMHAND_CHROMIUM names another)")
    }
    try succeed(["report", "--folder", goldenFolder.path, "--out", "rapport.html", "--title", "Planleggingssamarbeidet"])
    let page = temp.path("rapport.html")

    let dom = try run(browser, ["--dump-dom", page.absoluteString])
    guard dom.status == 0, dom.stdout.contains("<html") else {
      throw XCTSkip("SKIP: Chromium is installed but did not render (exit \(dom.status)): \(dom.stderr.suffix(400))")
    }
    for id in ["records-projects", "records-cases", "records-membership", "conflicts", "offices", "activity"] {
      XCTAssertTrue(dom.stdout.contains("<section id=\"\(id)\""), "no section \(id) in the DOM")
    }
    XCTAssertGreaterThanOrEqual(dom.stdout.components(separatedBy: "<svg class=\"chart bars\"").count - 1, 3, "the bar charts")
    XCTAssertTrue(dom.stdout.contains("<svg class=\"chart\""), "the activity chart")
    XCTAssertTrue(dom.stdout.contains("Sum: 800&nbsp;000") || dom.stdout.contains("Sum: 800\u{00A0}000"), "the pledges' sum")
    XCTAssertTrue(dom.stdout.contains("Felles løft for samfunnsdelen"))
    XCTAssertTrue(dom.stdout.contains("Solveig Brekke"))
    XCTAssertFalse(dom.stdout.lowercased().contains("<script"))

    // A screenshot of the report against one of an empty page: not blank.
    try Data("<!DOCTYPE html><html><body></body></html>".utf8).write(to: temp.path("tom.html"))
    let shot = temp.path("rapport.png"), empty = temp.path("tom.png")
    for (url, png) in [(page, shot), (temp.path("tom.html"), empty)] {
      let output = try run(browser, ["--screenshot=\(png.path)", "--window-size=1100,1600", url.absoluteString])
      XCTAssertEqual(output.status, 0, output.stderr)
    }
    let image = try Data(contentsOf: shot), blank = try Data(contentsOf: empty)
    XCTAssertEqual(Array(image.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "a PNG")
    XCTAssertGreaterThan(image.count, blank.count * 5, "the screenshot (\(image.count) bytes) is not much more than a blank page's (\(blank.count))")
    print("report screenshot: \(image.count) bytes, blank page: \(blank.count) bytes")
  }

  /// Runs the browser headless with a profile of its own, for at most a minute.
  private func run(_ browser: URL, _ arguments: [String]) throws -> Output {
    let process = Process()
    process.executableURL = browser
    process.arguments =
      ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
       "--user-data-dir=\(temp.path("chromium-profile").path)"] + arguments
    process.currentDirectoryURL = temp.url
    var environment = ProcessInfo.processInfo.environment
    environment["HOME"] = temp.url.path
    process.environment = environment
    let out = temp.path(".chromium-out"), err = temp.path(".chromium-err")
    _ = FileManager.default.createFile(atPath: out.path, contents: nil)
    _ = FileManager.default.createFile(atPath: err.path, contents: nil)
    process.standardOutput = try FileHandle(forWritingTo: out)
    process.standardError = try FileHandle(forWritingTo: err)
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let deadline = Date().addingTimeInterval(60)
    while process.isRunning, Date() < deadline { usleep(20_000) }
    if process.isRunning {
      process.terminate()
      process.waitUntilExit()
      throw XCTSkip("SKIP: Chromium did not finish within a minute")
    }
    return Output(
      status: process.terminationStatus,
      stdout: String(decoding: try Data(contentsOf: out), as: UTF8.self),
      stderr: String(decoding: try Data(contentsOf: err), as: UTF8.self))
  }
}
