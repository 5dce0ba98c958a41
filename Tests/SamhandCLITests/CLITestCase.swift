import Foundation
import Samhand
import SamhandTestSupport
import XCTest

/// A test case that runs the built `samhand` executable in a temporary folder.
///
/// The executable is found next to the test bundle (SwiftPM builds every
/// product into the same folder), so any `--scratch-path` works.
class CLITestCase: XCTestCase {
  /// The temporary folder the commands run in; removed after each test.
  var temp: TemporaryDirectory!

  override func setUp() {
    super.setUp()
    temp = TemporaryDirectory("samhand-cli")
  }

  override func tearDown() {
    temp = nil
    super.tearDown()
  }

  struct Output {
    var status: Int32
    var stdout: String
    var stderr: String
  }

  /// The `samhand` executable next to the test bundle.
  static let executable: URL = {
    var candidates: [URL] = []
    for bundle in Bundle.allBundles + [Bundle.main] {
      let url = bundle.bundleURL
      candidates.append(url.deletingLastPathComponent().appendingPathComponent("samhand"))
      candidates.append(url.appendingPathComponent("samhand"))
    }
    if let argument = CommandLine.arguments.first {
      candidates.append(
        URL(fileURLWithPath: argument).deletingLastPathComponent().appendingPathComponent("samhand")
      )
    }
    // Last resort: the package's default build folders.
    let package = URL(fileURLWithPath: "\(#filePath)").deletingLastPathComponent()
      .deletingLastPathComponent()
      .deletingLastPathComponent()
    for folder in [".build-cli", ".build"] {
      candidates.append(package.appendingPathComponent("\(folder)/debug/samhand"))
    }
    for candidate in candidates where FileManager.default.isExecutableFile(atPath: candidate.path) {
      return candidate
    }
    fatalError("cannot find the samhand executable; looked at: \(candidates.map(\.path))")
  }()

  /// Runs `samhand` with `arguments` in the temporary folder.
  ///
  /// `SAMHAND_STORE` is removed from the environment unless given in `environment`.
  @discardableResult
  func samhand(
    _ arguments: [String], stdin: String? = nil, environment: [String: String] = [:],
    file: StaticString = #filePath, line: UInt = #line
  ) throws -> Output {
    let process = Process()
    process.executableURL = CLITestCase.executable
    process.arguments = arguments
    process.currentDirectoryURL = temp.url
    var env = ProcessInfo.processInfo.environment
    env["SAMHAND_STORE"] = nil
    for (key, value) in self.environment { env[key] = value }
    for (key, value) in environment { env[key] = value }
    process.environment = env
    let id = UUID().uuidString.prefix(8)
    let outURL = temp.path(".out-\(id)")
    let errURL = temp.path(".err-\(id)")
    _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
    let out = try FileHandle(forWritingTo: outURL)
    let err = try FileHandle(forWritingTo: errURL)
    process.standardOutput = out
    process.standardError = err
    var inURL: URL?
    if let stdin {
      let url = temp.path(".in-\(id)")
      try Data(stdin.utf8).write(to: url)
      process.standardInput = try FileHandle(forReadingFrom: url)
      inURL = url
    } else {
      process.standardInput = FileHandle.nullDevice
    }
    try process.run()
    process.waitUntilExit()
    try out.close()
    try err.close()
    let result = Output(
      status: process.terminationStatus,
      stdout: String(decoding: try Data(contentsOf: outURL), as: UTF8.self),
      stderr: String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
    for url in [outURL, errURL] + (inURL.map { [$0] } ?? []) {
      try? FileManager.default.removeItem(at: url)
    }
    return result
  }

  /// Runs `samhand` and fails the test unless it exits 0.
  @discardableResult
  func succeed(
    _ arguments: [String], stdin: String? = nil, environment: [String: String] = [:],
    file: StaticString = #filePath, line: UInt = #line
  ) throws -> Output {
    let output = try samhand(arguments, stdin: stdin, environment: environment)
    XCTAssertEqual(
      output.status, 0, "samhand \(arguments.joined(separator: " ")) failed: \(output.stderr)",
      file: file, line: line)
    return output
  }

  /// Runs `samhand` expecting failure with `status` (any non-zero when nil)
  /// and a message on stderr containing every one of `messages`.
  @discardableResult
  func fail(
    _ arguments: [String], status: Int32? = nil, messages: [String], stdin: String? = nil,
    environment: [String: String] = [:], file: StaticString = #filePath, line: UInt = #line
  ) throws -> Output {
    let output = try samhand(arguments, stdin: stdin, environment: environment)
    if let status {
      XCTAssertEqual(output.status, status, "stderr: \(output.stderr)", file: file, line: line)
    } else {
      XCTAssertNotEqual(
        output.status, 0, "samhand \(arguments.joined(separator: " ")) should fail", file: file,
        line: line)
    }
    for message in messages {
      XCTAssertTrue(
        output.stderr.contains(message), "stderr lacks \"\(message)\": \(output.stderr)",
        file: file, line: line)
    }
    return output
  }

  /// Parses stdout as JSON.
  func json(_ output: Output, file: StaticString = #filePath, line: UInt = #line) throws -> Any {
    do {
      return try JSONSerialization.jsonObject(
        with: Data(output.stdout.utf8), options: [.fragmentsAllowed])
    } catch {
      XCTFail("stdout is not JSON: \(output.stdout)", file: file, line: line)
      throw error
    }
  }

  /// The store that founded each shared folder, by folder.
  var founders: [String: String] = [:]

  /// Set for every command a test runs (for example a WebDAV password).
  var environment: [String: String] = [:]

  /// Whether ``initOffice(_:store:folder:confirmed:)`` gives each office a
  /// fixed test key that the founder's genesis roster lists (the documented
  /// way to need no confirmations), so that tests of other things see the
  /// changesets they make and no others. Trust tests turn it off to go
  /// through claims and `roster confirm` as people do.
  var listTestKeys = true

  /// Creates (or joins) an office's store `name` on the shared folder
  /// `shared`.
  ///
  /// With ``listTestKeys``, an office whose store is named after it signs
  /// with its test key, listed in the roster from the start; another
  /// installation of it (a store of another name) gets a key of its own.
  /// Otherwise, or for such an installation, a joining office's key is
  /// confirmed by the founding office (`roster confirm`, written there and
  /// published at its next sync), as an administrator does after comparing
  /// fingerprints; pass `confirmed: false` to leave the claim waiting.
  func initOffice(_ slug: String, store: String? = nil, folder: String = "shared", confirmed: Bool = true) throws {
    let name = store ?? slug
    // A folder given as a URL is on a server: whoever came first founded it.
    let founding =
      founders[folder] == nil
      && !FileManager.default.fileExists(atPath: temp.path(folder).appendingPathComponent("samhand.json").path)
    var arguments = ["init", "--store", name, "--replica", slug, "--folder", folder]
    if listTestKeys, URL(fileURLWithPath: name).lastPathComponent == slug, let office = ReplicaID(rawValue: slug) {
      let keys = temp.path("test-keys")
      try FileManager.default.createDirectory(at: keys, withIntermediateDirectories: true)
      let keyFile = keys.appendingPathComponent("\(slug).key")
      _ = FileManager.default.createFile(
        atPath: keyFile.path, contents: Data(TestKeys.key(office).fileText.utf8), attributes: [.posixPermissions: 0o600])
      arguments += ["--key", keyFile.path]
      if founding {
        let rosterFile = keys.appendingPathComponent("roster-\(String(folder.map { $0.isLetter || $0.isNumber ? $0 : "-" })).json")
        try TestKeys.roster(founder: office).canonicalJSON.write(to: rosterFile)
        arguments += ["--roster", rosterFile.path]
      }
    }
    // A new collection on a server is made on purpose, as people do.
    if founding, folder.contains("://") { arguments.append("--create-folder") }
    try succeed(arguments)
    if founding {
      founders[folder] = name
    } else if confirmed, let founder = founders[folder], try openStore(name).ownKeyIsConfirmed() == false,
      try openStore(founder).roster()?.members[ReplicaID(rawValue: slug) ?? "ks"]?.keys.isEmpty == true
    {
      try confirmKey(of: slug, store: name, by: founder)
    }
  }

  /// Has the store `by` confirm the key of the office whose store is `store`.
  func confirmKey(of slug: String, store: String, by administrator: String) throws {
    let key = try openStore(store).publicKey()
    try succeed(["roster", "confirm", "--store", administrator, slug, "--key", key.hex])
  }

  /// Opens a store directly, to check what the commands did.
  func openStore(_ name: String) throws -> Store {
    try Store.open(at: temp.path(name))
  }

  /// How many changesets the store holds in all.
  func changesetCount(_ name: String) throws -> UInt64 {
    try openStore(name).frontier().total
  }
}
