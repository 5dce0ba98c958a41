import XCTest

final class HelpTests: CLITestCase {
  static let commands = [
    "init", "set", "delete", "get", "list", "apply", "sync", "status", "conflicts", "resolve",
    "review",
    "log", "snapshot", "verify", "inspect", "key", "roster", "demo",
  ]

  func testHelp_rootListsEveryCommand() throws {
    let output = try succeed(["--help"])
    for command in HelpTests.commands {
      XCTAssertTrue(output.stdout.contains("  \(command)"), "--help lacks \(command)")
    }
    XCTAssertTrue(output.stdout.contains("SAMHAND_STORE"))
  }

  func testHelp_everyCommandHasAnExample() throws {
    for command in HelpTests.commands {
      let output = try succeed([command, "--help"])
      XCTAssertTrue(output.stdout.contains("Example"), "\(command) --help has no example")
      XCTAssertTrue(output.stdout.contains("USAGE"), "\(command) --help has no usage")
    }
  }
}
