import Foundation
import GRDB

// Signed heads (`Docs/FORMATS.md`, section 1, "heads"): an office signs
// its head with its key, and a replica counts a head (as an acknowledgement,
// for staleness, for pruning and checkpoints) only when the roster in force
// at its frontier lists that key for the office. In a folder of layout 3 or
// older, written by Samhands that did not sign heads, an unsigned head is
// still counted. A replica keeps the newest head it counted for each office:
// a head file that is deleted, damaged, forged or replaced by an older copy
// of the office's own head does not undo it.

extension Store {
  /// What heads are judged by: the roster in force at this replica's
  /// frontier (nil without one) and its folder's layout, as it last read it.
  func headRules(_ db: Database) throws -> (roster: Roster?, layout: Int) {
    let roster = genesis == nil ? nil : try self.roster(at: try Store.readFrontier(db), db)
    return (roster, try Store.meta(db, "folder_layout").flatMap(Int.init) ?? SharedFolder.newestLayout(for: genesis))
  }

  /// Why this replica does not count `head`, or nil when it does.
  ///
  /// - Parameters:
  ///   - roster: the roster in force at this replica's frontier (nil for a
  ///     store without one, where heads are not signed).
  ///   - layout: the folder's layout: below 4, an unsigned head counts.
  static func reasonToIgnore(_ head: Head, roster: Roster?, layout: Int) -> String? {
    guard let roster else { return nil }
    guard let member = roster.members[head.office] else { return "\(head.office) is not in the roster" }
    guard let signature = head.signature else {
      return layout >= 4 ? "not signed: in a folder of layout \(layout) every head is signed by its office" : nil
    }
    guard head.hasValidSignature else { return "its signature does not verify: altered or forged" }
    guard member.keys.contains(signature.key) else {
      return
        "signed with the key \(signature.key.fingerprint), which the roster does not list for \(head.office): forged, or a new key no administrator has confirmed yet"
    }
    if member.revoked[signature.key] != nil {
      return "signed with \(head.office)'s key \(signature.key.fingerprint), which is revoked"
    }
    return nil
  }

  /// The heads among `heads` that this replica does not count, each with
  /// the reason (for `status` and `verify`).
  ///
  /// - Parameter layout: the folder's layout; this replica's when nil.
  public func ignoredHeads(_ heads: [Head], layout: Int? = nil) throws -> [FolderProblem] {
    try judge(heads, layout: layout).ignored
  }

  /// The heads among `heads` that this replica counts (the others are
  /// named by ``ignoredHeads(_:layout:)``).
  public func countedHeads(_ heads: [Head], layout: Int? = nil) throws -> [Head] {
    try judge(heads, layout: layout).counted
  }

  /// `heads` parted into those this replica counts and those it does not,
  /// with the reasons.
  ///
  /// - Parameter layout: the folder's layout; this replica's when nil.
  public func judge(_ heads: [Head], layout: Int? = nil) throws -> (counted: [Head], ignored: [FolderProblem]) {
    let rules = try read { db in try headRules(db) }
    var result: (counted: [Head], ignored: [FolderProblem]) = ([], [])
    for head in heads {
      if let reason = Store.reasonToIgnore(head, roster: rules.roster, layout: layout ?? rules.layout) {
        result.ignored.append(
          FolderProblem(path: "\(SharedFolder.headsDirectory)/\(head.office.rawValue).json", reason: "not counted: \(reason)"))
      } else {
        result.counted.append(head)
      }
    }
    return result
  }

  /// The head this replica writes: signed with its key in a store with a
  /// roster.
  func signedHead(_ head: Head) throws -> Head {
    guard genesis != nil else { return head }
    return head.signed(by: try read { db in try signingKey(db) })
  }
}
