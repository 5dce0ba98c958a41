import Foundation
import Samhand
import XCTest

/// Issue 19, point 4: an office whose key was revoked makes a new one with
/// `samhand key new`, an administrator admits it with `roster add`, and the
/// office goes on with its store and history.
final class KeyNewTests: CLITestCase {
  private func publicKeyHex(_ store: String) throws -> String {
    let object = try XCTUnwrap(try json(try succeed(["key", "show", "--store", store, "--json"])) as? [String: Any])
    return try XCTUnwrap(object["public_key"] as? String)
  }

  func testKeyNew_afterRevocationTheOfficeGoesOnWithItsStore() throws {
    try initOffice("ks")
    try initOffice("kdd")
    try initOffice("vestland")
    try succeed(["set", "--store", "vestland", "membership", "m-1", "organisation=vestland", "person=Åse Lind"])
    try succeed(["sync", "--store", "vestland"])
    try succeed(["sync", "--store", "ks"])

    // A key in force is rotated, not replaced.
    try fail(["key", "new", "--store", "vestland"], status: 1, messages: ["is not revoked", "samhand key rotate"])

    let stolen = try publicKeyHex("vestland")
    try succeed(["roster", "revoke", "vestland", "--key", stolen, "--store", "ks"])
    try succeed(["sync", "--store", "ks"])
    try succeed(["sync", "--store", "vestland"])
    let refused = try fail(["set", "--store", "vestland", "membership", "m-1", "role=x"], status: 1, messages: ["revoked"])
    XCTAssertFalse(refused.stderr.isEmpty)
    XCTAssertTrue(try succeed(["status", "--store", "vestland"]).stdout.contains("samhand key new"))

    let made = try XCTUnwrap(try json(try succeed(["key", "new", "--store", "vestland", "--json"])) as? [String: Any])
    let newKey = try XCTUnwrap((made["new"] as? [String: Any])?["public_key"] as? String)
    XCTAssertNotEqual(newKey, stolen)
    XCTAssertEqual((made["old"] as? [String: Any])?["public_key"] as? String, stolen)
    XCTAssertEqual(made["admit_with"] as? String, "samhand roster add vestland --key \(newKey)")
    XCTAssertEqual(try publicKeyHex("vestland"), newKey, "the store signs with the new key")
    XCTAssertEqual(try changesetCount("vestland"), 2, "nothing written: the revoked key cannot sign")
    // Until an administrator admits it, the office writes, and the others keep what it writes without applying it.
    let waiting = try succeed(["set", "--store", "vestland", "membership", "m-1", "role=venter"])
    XCTAssertTrue(waiting.stdout.contains("vestland#2"), "the numbering continues: \(waiting.stdout)")
    try succeed(["sync", "--store", "vestland"])
    try succeed(["sync", "--store", "kdd"])
    XCTAssertNil(try openStore("kdd").record("membership", "m-1")?.fields["role"], "not applied before the key is admitted")

    try succeed(["roster", "add", "vestland", "--key", newKey, "--store", "ks"])
    try succeed(["sync", "--store", "ks"])
    try succeed(["sync", "--store", "vestland"])
    XCTAssertTrue(try succeed(["key", "show", "--store", "vestland"]).stdout.contains("in force"))
    try succeed(["sync", "--store", "kdd"])
    XCTAssertEqual(try openStore("kdd").record("membership", "m-1")?.fields["role"], .value(.text("venter")))
    let written = try succeed(["set", "--store", "vestland", "membership", "m-1", "role=styremedlem"])
    XCTAssertTrue(written.stdout.contains("vestland#3"), written.stdout)
    try succeed(["sync", "--store", "vestland"])
    try succeed(["sync", "--store", "kdd"])
    let member = try succeed(["get", "--store", "kdd", "membership", "m-1"]).stdout
    XCTAssertTrue(member.contains("styremedlem"), member)
    XCTAssertTrue(member.contains("Åse Lind"), "the history from before stays: \(member)")
    // Its own history is all there, in one store.
    let log = try XCTUnwrap(try json(try succeed(["log", "--store", "vestland", "--json"])) as? [[String: Any]])
    XCTAssertEqual(log.compactMap { $0["changeset"] as? String }.filter { $0.hasPrefix("vestland#") }, ["vestland#1", "vestland#2", "vestland#3"])
  }

  /// Changesets signed with the key after its revocation can never be
  /// accepted, and a new key cannot sign their numbers again: `key new`
  /// says so and points to a new replica.
  func testKeyNew_refusedWhileTheStoreHoldsChangesetsSignedAfterTheRevocation() throws {
    try initOffice("ks")
    try initOffice("vestland")
    try succeed(["set", "--store", "vestland", "membership", "m-1", "organisation=vestland"])
    try succeed(["sync", "--store", "vestland"])
    try succeed(["sync", "--store", "ks"])
    let stolen = try publicKeyHex("vestland")
    try succeed(["roster", "revoke", "vestland", "--key", stolen, "--store", "ks"])  // from vestland#2
    try succeed(["set", "--store", "vestland", "membership", "m-1", "role=offline"])  // vestland#2, before it knows
    try succeed(["sync", "--store", "ks"])
    try succeed(["sync", "--store", "vestland"])
    try fail(
      ["key", "new", "--store", "vestland"], status: 1,
      messages: ["vestland#2…#2 were signed with the key", "no office accepts them", "samhand init --store NEWDIR"])
    XCTAssertEqual(try publicKeyHex("vestland"), stolen, "the key is unchanged")
  }
}
