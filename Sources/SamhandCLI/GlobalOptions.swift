import ArgumentParser
import Foundation
import Samhand

/// Options shared by every command that works on a replica.
struct GlobalOptions: ParsableArguments {
  /// The environment variable naming the store when `--store` is not given.
  static let storeVariable = "SAMHAND_STORE"

  @Option(
    name: .long,
    help: ArgumentHelp(
      "The replica's store folder (default: $SAMHAND_STORE).", valueName: "dir"))
  var store: String?

  @Flag(name: .long, help: "Print machine-readable JSON on stdout.")
  var json = false

  /// The store folder from `--store`, else `SAMHAND_STORE`.
  var storeURLIfGiven: URL? {
    if let store, !store.isEmpty { return URL(fileURLWithPath: store) }
    if let value = ProcessInfo.processInfo.environment[GlobalOptions.storeVariable], !value.isEmpty
    {
      return URL(fileURLWithPath: value)
    }
    return nil
  }

  /// The store folder, or a validation error saying how to give one.
  func storeURL() throws -> URL {
    guard let url = storeURLIfGiven else {
      throw ValidationError(
        "no store given: pass --store DIR or set the environment variable \(GlobalOptions.storeVariable)"
      )
    }
    return url
  }

  /// Checks that a store is named, for a command's `validate()`.
  func validateStore() throws {
    _ = try storeURL()
  }

  /// Opens the store; `SamhandError.storeNotFound` names the folder when there is none.
  func openStore() throws -> Store {
    try Store.open(at: try storeURL())
  }
}
