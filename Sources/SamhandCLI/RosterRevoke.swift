import ArgumentParser
import Foundation
import Samhand

extension SamhandCommand.RosterCommand {
  struct Revoke: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Revoke an office's key, for example when a machine or key file was stolen.",
      discussion: """
        For administrators (an office may also revoke its own keys). The key \
        may no longer sign the office's changesets from number N on: those \
        it signs with the key from there, once they have seen the revocation, \
        are set aside. By default N is one past the last changeset of the \
        office this replica has, so everything already seen stays valid. To \
        let the office write again, add a new key of its: 'samhand roster add \
        SLUG --key NEWHEX'.

        Examples:
          samhand roster revoke vestland --key HEX    (HEX: the 64 hex digits)
          samhand roster revoke vestland --key HEX --from 12
        """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The office whose key to revoke.")
    var slug: String

    @Option(help: ArgumentHelp("The key to revoke: 64 hex digits.", valueName: "hex"))
    var key: String

    @Option(
      help: ArgumentHelp(
        "The first of the office's changeset numbers the key may no longer sign (default: one past the last this replica has).",
        valueName: "n"))
    var from: UInt64?

    func validate() throws {
      try global.validateStore()
      _ = try TrustText.parseSlug(slug, option: "SLUG")
      _ = try TrustText.parseKey(key)
      if let from, from < 1 { throw ValidationError("--from must be 1 or more") }
      if let from, from > UInt64(Int64.max) { throw ValidationError("--from is too large") }
    }

    func run() async throws {
      let office = try TrustText.parseSlug(slug, option: "SLUG")
      let publicKey = try TrustText.parseKey(key)
      let store = try global.openStore()
      let roster = try TrustText.roster(of: store)
      guard let member = roster.members[office] else {
        throw CommandFailure("\(office) is not in the roster: see 'samhand roster show'")
      }
      guard member.keys.contains(publicKey) else {
        let keys = member.keys.sorted().map(\.fingerprint)
        throw CommandFailure(
          "\(publicKey.fingerprint) is not a key of \(office); its keys: \(keys.isEmpty ? "none (unclaimed)" : keys.joined(separator: "; "))")
      }
      let seen = try store.frontier()[office]
      let start = from ?? seen + 1
      if let earlier = member.revoked[publicKey], earlier <= start {
        let message = "\(office)'s key \(publicKey.fingerprint) is already revoked from \(office)#\(earlier) on; nothing written."
        if global.json {
          Console.json(
            .object([
              "office": .string(office.rawValue), "public_key": .string(publicKey.hex),
              "fingerprint": .string(publicKey.fingerprint), "from": .integer(Int64(earlier)),
              "changeset": .null,
            ]))
        } else {
          Console.line(message)
        }
        return
      }
      let changeset = try store.transact { tx in try tx.revokeKey(publicKey, of: office, from: start) }!
      if global.json {
        Console.json(
          .object([
            "office": .string(office.rawValue), "public_key": .string(publicKey.hex),
            "fingerprint": .string(publicKey.fingerprint), "from": .integer(Int64(start)),
            "changeset": changeset.id.jsonValue,
          ]))
      } else {
        Console.line("Revoked \(office)'s key \(publicKey.fingerprint) from \(office)#\(start) on.")
        Console.line(
          start > 1
            ? "  \(start == 2 ? "\(office)#1 stays" : "\(office)#1…#\(start - 1) stay") valid (this replica has \(office) up to #\(seen)); later changesets signed with the key are set aside."
            : "  every changeset signed with the key is set aside once the revocation is seen.")
        TrustText.printWritten(changeset)
        if member.activeKeys.allSatisfy({ $0 == publicKey }) {
          Console.line(
            "\(office) has no other key now: to let it write again, add a new one with 'samhand roster add \(office) --key NEWHEX'.")
        }
      }
      if from != nil, start <= seen {
        Console.warning(
          "this replica already has \(office)#\(start)…#\(seen): replicas that have not yet judged them will set aside those signed with this key")
      }
      if office == store.replica, publicKey == (try store.publicKey()) {
        Console.warning("this is this replica's own key: after this, it can no longer write with it")
      }
    }
  }
}
