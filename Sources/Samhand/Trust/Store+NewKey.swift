import Foundation
import GRDB

// MARK: - A new key after revocation

extension Store {
  /// Gives this office a fresh key pair after its key was revoked (for
  /// example when a laptop holding it was stolen), so that it goes on with
  /// its store and history instead of starting a new replica.
  ///
  /// No changeset is written: the revoked key can no longer sign one, and
  /// an office cannot vouch for its own new key. An administrator admits
  /// the new key with a roster change adding it to the office's entry
  /// (`samhand roster add OFFICE --key HEX`, or ``confirmKey(_:of:)``)
  /// after comparing its fingerprint with the office. The office writes
  /// meanwhile, signing with the new key and continuing its sequence; the
  /// others keep those changesets as unconfirmed and apply them once the
  /// administrator's change reaches them (Docs/FORMATS.md section 9).
  ///
  /// - Returns: the revoked key and the new one.
  /// - Throws: `SamhandError.notPermitted` when the store has no roster, the
  ///   office is not a member or has retired, or its key still signs (then
  ///   ``rotateKey(timestamp:)`` replaces it in the open); also when this
  ///   replica holds changesets of its own numbered from the revocation on,
  ///   which no office accepts and a new key cannot sign again.
  @discardableResult
  public func replaceRevokedKey() throws -> (old: PublicKey, new: PublicKey) {
    guard checksTrust, let roster = try roster() else {
      throw SamhandError(.notPermitted, "this store has no roster to admit a new key: it was made without a shared folder")
    }
    guard let member = roster.members[replica], !member.isRetired else {
      throw SamhandError(
        .notPermitted, "\(replica) is \(roster.members[replica] == nil ? "not in the roster" : "retired"): a new key would sign nothing")
    }
    let old = try publicKey()
    let own = try frontier()[replica]
    if member.keys.contains(old) {
      guard let from = member.revoked[old], own + 1 >= from else {
        throw SamhandError(
          .notPermitted,
          "the key \(old.fingerprint) of \(replica) is not revoked: replace it with 'samhand key rotate' (Store.rotateKey), which the other offices accept at once")
      }
      if own >= from {
        throw SamhandError(
          .notPermitted,
          "\(replica)#\(from)…#\(own) were signed with the key \(old.fingerprint) after it was revoked from #\(from): no office accepts them, and a new key cannot sign them again under the same numbers. Start a new replica (samhand init --store NEWDIR --replica \(replica) --folder …; it continues at #\(from)) and enter those edits again ('samhand log' shows them)")
      }
    }
    let next = SigningKey.generate()
    try write { db in try Store.setMeta(db, "signing_key", Data(next.seed).base64EncodedString()) }
    return (old, next.publicKey)
  }
}
