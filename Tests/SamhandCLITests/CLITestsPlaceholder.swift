import XCTest

final class CLIPlaceholderTests: XCTestCase {
  func testPlaceholder() {}
}
