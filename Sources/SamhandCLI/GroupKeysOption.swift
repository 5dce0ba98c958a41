import ArgumentParser
import Foundation
import Samhand

/// `--group-keys FILE`: the group keys of an encrypted folder read without
/// a store (`samhand key export-group` writes the file).
struct GroupKeysOption: ParsableArguments {
  @Option(
    name: .customLong("group-keys"),
    help: ArgumentHelp(
      "For an encrypted folder read with --folder: a file of its group keys, as 'samhand key export-group' writes it.",
      valueName: "file"))
  var file: String?

  /// The keys in the file, or none.
  func keys() throws -> GroupKeyring {
    guard let file else { return .empty }
    return try GroupKeysOption.read(file)
  }

  /// The keys in a group key file, or an error naming what is wrong.
  static func read(_ file: String) throws -> GroupKeyring {
    let url = URL(fileURLWithPath: file)
    let text: String
    do { text = try String(contentsOf: url, encoding: .utf8) } catch {
      throw CommandFailure("cannot read the group key file \(url.path): \(error.localizedDescription)")
    }
    do { return try GroupKeyring(fileText: text) } catch let error as SamhandError {
      throw CommandFailure("\(url.path): \(error.message)")
    }
  }
}
