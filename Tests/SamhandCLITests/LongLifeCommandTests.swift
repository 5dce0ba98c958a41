import Foundation
import Samhand
import XCTest

/// `checkpoint`, `prune`, `retention`, `upgrade-folder`, and what `status`,
/// `sync` and `log` say about checkpoints.
final class LongLifeCommandTests: CLITestCase {
  func testCheckpointPruneAndJoin_fromTheCommandLine() throws {
    try initOffice("vestland")
    try initOffice("ks")
    try succeed(["set", "--store", "vestland", "cases", "sak-1", "title=Felles løft", "participants+=vestland"])
    try succeed(["set", "--store", "ks", "cases", "sak-2", "title=Arealregnskap", "owner=ks"])
    for store in ["vestland", "ks", "vestland", "ks"] { try succeed(["sync", "--store", store]) }

    // Keep everything is the default, and nothing is pruned.
    XCTAssertTrue(try succeed(["retention", "--store", "vestland"]).stdout.contains("keep everything"))
    let kept = try succeed(["prune", "--store", "vestland"])
    XCTAssertTrue(kept.stdout.contains("Nothing pruned: retention is 'keep everything'"), kept.stdout)
    try fail(["retention", "--store", "vestland", "soon"], status: 64, messages: ["'soon' is not a retention"])

    let set = try json(try succeed(["retention", "--store", "vestland", "0", "--checkpoint-every", "0", "--json"])) as? [String: Any]
    XCTAssertEqual(set?["days"] as? Int, 0)
    XCTAssertEqual(set?["checkpoint_every"] as? Int, 0)
    try succeed(["retention", "--store", "ks", "0d", "--checkpoint-every", "0"])

    let written = try XCTUnwrap(try json(try succeed(["checkpoint", "--store", "vestland", "--json"])) as? [String: Any])
    let path = try XCTUnwrap(written["path"] as? String)
    XCTAssertTrue(path.hasPrefix("checkpoints/vestland/") && path.hasSuffix(".checkpoint"), path)
    XCTAssertEqual(written["changesets"] as? Int, 2)
    XCTAssertTrue(FileManager.default.fileExists(atPath: temp.path("shared").appendingPathComponent(path).path))
    XCTAssertEqual(written["signers"] as? [String], ["vestland"])
    XCTAssertEqual(written["cosigned"] as? Bool, false)
    // One signature is not enough to prune by (or to start an office from): KS vouches for the same bytes.
    let alone = try succeed(["prune", "--store", "vestland", "--dry-run"])
    XCTAssertTrue(alone.stdout.contains("no checkpoint that every active office has acknowledged"), alone.stdout)
    let name = String(path.split(separator: "/").last!)
    let vouched = try XCTUnwrap(try json(try succeed(["checkpoint", "--store", "ks", "--cosign", "--json"])) as? [String: Any])
    XCTAssertEqual(vouched["checkpoint"] as? String, name)
    XCTAssertEqual(vouched["signers"] as? [String], ["ks", "vestland"])
    XCTAssertEqual(vouched["disagree"] as? [String], [])
    let cosignature = "shared/checkpoints/ks/" + name.replacingOccurrences(of: ".checkpoint", with: ".signature")
    XCTAssertTrue(FileManager.default.fileExists(atPath: temp.path(cosignature).path))
    XCTAssertFalse(FileManager.default.fileExists(atPath: temp.path("shared/checkpoints/ks/\(name)").path), "a signature only")
    let nothing = try succeed(["checkpoint", "--store", "ks", "--cosign"])
    XCTAssertTrue(nothing.stdout.contains("Nothing to sign"), nothing.stdout)

    let own = temp.path("shared/changesets/vestland/000000000001.changeset")
    let dry = try succeed(["prune", "--store", "vestland", "--dry-run"])
    XCTAssertTrue(dry.stdout.contains("Would delete 1 file"), dry.stdout)
    XCTAssertTrue(dry.stdout.contains("changesets/vestland/000000000001.changeset"), dry.stdout)
    XCTAssertTrue(FileManager.default.fileExists(atPath: own.path))
    let pruned = try succeed(["prune", "--store", "vestland"])
    XCTAssertTrue(pruned.stdout.contains("Deleted 1 file"), pruned.stdout)
    XCTAssertFalse(FileManager.default.fileExists(atPath: own.path))
    let again = try succeed(["sync", "--store", "vestland", "--json"])
    let counts = (try json(again) as? [String: Any])?["counts"] as? [String: Any]
    XCTAssertEqual(counts?["published"] as? Int, 0, "a pruned file is not written again")

    // A new office starts from the checkpoint, and says what history it lacks.
    let joined = try succeed(["init", "--store", "nordland", "--replica", "nordland", "--folder", "shared"])
    XCTAssertEqual(joined.status, 0)
    let log = try succeed(["log", "--store", "nordland"])
    XCTAssertTrue(log.stdout.contains("is not held here: this replica started from a checkpoint of 2 changesets"), log.stdout)
    XCTAssertEqual(try openStore("nordland").snapshotHash().1, try openStore("vestland").snapshotHash().1)
    let status = try XCTUnwrap(try json(try succeed(["status", "--store", "nordland", "--json"])) as? [String: Any])
    let longLife = try XCTUnwrap(status["long_life"] as? [String: Any])
    XCTAssertNotNil(longLife["checkpoint_base"] as? [String: Any])
    XCTAssertEqual(longLife["newest_checkpoint"] as? String, path)
    XCTAssertEqual(longLife["newest_checkpoint_signed_by"] as? [String], ["ks", "vestland"])
    let text = try succeed(["status", "--store", "nordland"]).stdout
    XCTAssertTrue(text.contains("History:     from a checkpoint of"), text)

    let snapshotAt = try samhand(["snapshot", "--store", "nordland", "--at", "2001-01-01T00:00:00Z", "--out", "old.json"])
    XCTAssertNotEqual(snapshotAt.status, 0)
    XCTAssertTrue(snapshotAt.stderr.contains("before the history this replica holds"), snapshotAt.stderr)

    let forgot = try succeed(["prune", "--store", "vestland", "--forget-history"])
    XCTAssertTrue(forgot.stdout.contains("Forgot the local history of 2 changesets inside"), forgot.stdout)
    XCTAssertTrue(try succeed(["log", "--store", "vestland"]).stdout.contains("is not held here"))

    let upgrade = try succeed(["upgrade-folder", "--store", "vestland"])
    XCTAssertTrue(upgrade.stdout.contains("already has layout \(SharedFolder.plainLayout)"), upgrade.stdout)
  }
}
