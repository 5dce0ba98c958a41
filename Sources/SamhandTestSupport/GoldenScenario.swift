import Foundation
import Samhand

/// The fixed scenario behind the golden files in `Fixtures/golden/`.
///
/// Four offices edit the planning records with fixed times and a fixed
/// store id, with a resolved conflict, an open map-key conflict and an
/// open update/delete conflict. The people are invented.
public enum GoldenScenario {
  public static let storeID = StoreID(rawValue: "5a3d0c1e-2b4f-4e6a-9c7d-8e1f2a3b4c5d")!
  /// 2026-06-01T08:00:00Z.
  static let start: Int64 = 1_780_300_800_000

  /// A fixed signing key for each office of the scenario, so that its files
  /// are the same every time (Ed25519 signatures are deterministic).
  public static func key(_ office: ReplicaID) -> SigningKey {
    let seed = Array("samhand golden key \(office.rawValue)".utf8)
    return try! SigningKey(seed: Array((seed + [UInt8](repeating: 0x2e, count: 32)).prefix(32)))
  }

  /// Writes the scenario's shared folder (changesets and `samhand.json`).
  ///
  /// - Parameters:
  ///   - folder: an uninitialised folder.
  ///   - workspace: where the offices' stores are made.
  public static func write(folder: SharedFolder, workspace: URL) throws {
    var clock = start
    func tick() -> Int64 {
      clock += 60_000
      return clock
    }
    // The four offices' keys are in the genesis roster, so none waits for
    // a confirmation (and the changesets are those of the layout 2 golden folder).
    var members = Roster.cooperation(founder: "ks", key: key("ks").publicKey).sortedMembers
    for index in members.indices where ["vestland", "agder", "kdd"].contains(members[index].office) {
      members[index].keys = [key(members[index].office).publicKey]
    }
    let ks = try Store.create(
      folder: folder, at: workspace.appendingPathComponent("ks"), replica: "ks", schema: .planning, storeID: storeID,
      roster: Roster(members), key: key("ks"))
    try ks.transact(timestamp: tick()) { tx in
      try tx.set("membership", "vk-vestland-1", "person", .text("Solveig Brekke"))
      try tx.set("membership", "vk-vestland-1", "email", .text("solveig.brekke@vestland.example"))
      try tx.set("membership", "vk-vestland-1", "organisation", .text("vestland"))
      try tx.set("membership", "vk-vestland-1", "network", .text("veilederkorpset"))
      try tx.add("membership", "vk-vestland-1", "groups", "kommuneplanens-samfunnsdel")
      try tx.set("membership", "vk-vestland-1", "role", .text("planveileder"))
      try tx.set("membership", "vk-vestland-1", "from", .text("2024-10-01"))
      try tx.set("cases", "sak-2025-014", "title", .text("Felles løft for samfunnsdelen"))
      try tx.set("cases", "sak-2025-014", "kommune", .text("Stad"))
      try tx.set("cases", "sak-2025-014", "plan_type", .text("kommuneplanens-samfunnsdel"))
      try tx.set("cases", "sak-2025-014", "status", .text("ny"))
      try tx.set("cases", "sak-2025-014", "owner", .text("ks"))
      try tx.add("cases", "sak-2025-014", "participants", "ks")
      try tx.add("cases", "sak-2025-014", "participants", "vestland")
      try tx.add("cases", "sak-2025-014", "participants", "agder")
      try tx.set("cases", "sak-2025-014", "deadline", .date(Day(year: 2025, month: 6, day: 15)!))
      try tx.set("projects", "veilederkorpset", "name", .text("Veilederkorpset 2025–2029"))
      try tx.set("projects", "veilederkorpset", "lead", .text("vestland"))
      try tx.add("projects", "veilederkorpset", "participants", "agder")
      try tx.set("projects", "veilederkorpset", "status", .text("planlagt"))
      try tx.set("projects", "veilederkorpset", "start", .text("2026-01-01"))
      try tx.put("projects", "veilederkorpset", "funding", key: "ks", .integer(250_000))
    }
    try ks.sync(with: folder)
    let vestland = try Store.join(
      folder: folder, at: workspace.appendingPathComponent("vestland"), replica: "vestland", key: key("vestland")).0
    let agder = try Store.join(
      folder: folder, at: workspace.appendingPathComponent("agder"), replica: "agder", key: key("agder")).0
    let kdd = try Store.join(
      folder: folder, at: workspace.appendingPathComponent("kdd"), replica: "kdd", key: key("kdd")).0

    // Offline, at the same time.
    try vestland.transact(timestamp: tick()) { tx in
      try tx.add("cases", "sak-2025-014", "participants", "vestland")
      try tx.set("cases", "sak-2025-014", "status", .text("under-arbeid"))
      try tx.put("projects", "veilederkorpset", "funding", key: "vestland", .integer(300_000))
      try tx.put("projects", "veilederkorpset", "funding", key: "kdd", .integer(100_000))
      try tx.set("membership", "vk-vestland-1", "role", .text("prosjektleder"))
    }
    try agder.transact(timestamp: tick()) { tx in
      try tx.add("cases", "sak-2025-014", "participants", "agder")
      try tx.set("cases", "sak-2025-014", "status", .text("avsluttet"))
      try tx.put("projects", "veilederkorpset", "funding", key: "agder", .integer(150_000))
      try tx.put("projects", "veilederkorpset", "funding", key: "kdd", .integer(120_000))
      try tx.set("membership", "vk-agder-1", "person", .text("Håkon Lie"))
      try tx.set("membership", "vk-agder-1", "organisation", .text("agder"))
      try tx.add("membership", "vk-agder-1", "groups", "reguleringsplan")
      try tx.set("membership", "vk-agder-1", "from", .text("2024-10-01"))
    }
    try kdd.transact(timestamp: tick()) { tx in
      try tx.delete("membership", "vk-vestland-1")
      try tx.set("cases", "sak-2025-014", "notes", .text("KDD deltar fra planavdelingen."))
    }
    for store in [vestland, agder, kdd, ks, vestland, agder, kdd] { try store.sync(with: folder) }

    // KS settles the status; the funding for kdd and the membership stay open for review.
    try ks.transact(timestamp: tick()) { tx in
      try tx.set("cases", "sak-2025-014", "status", .text("under-arbeid"))
    }
    for store in [ks, vestland, agder, kdd] { try store.sync(with: folder) }
  }
}

extension GoldenScenario {
  /// Vestland's first three changesets in a folder of thirteen offices, as
  /// the golden files of changeset format 2 (`Fixtures/golden/v2/`): #1
  /// lists its dependencies in full (format 1, nothing before it), #2
  /// writes them against #1 with every other office one further (runs),
  /// #3 against #2 with increments that differ, and an office #2 did not
  /// name.
  public static func formatTwoChain() -> [(name: String, bytes: [UInt8], dependencies: VersionVector)] {
    let offices: [ReplicaID] = [
      "agder", "innlandet", "kdd", "ks", "more-og-romsdal", "nordland", "oslo", "rogaland", "troms-og-finnmark",
      "trondelag", "vestfold-og-telemark", "viken",
    ]
    let first = VersionVector(Dictionary(uniqueKeysWithValues: offices.map { ($0, UInt64(1)) }))
    var second = VersionVector(Dictionary(uniqueKeysWithValues: offices.map { ($0, UInt64(2)) }))
    second["vestland"] = 1
    var third = second
    third["ks"] = 5
    third["oslo"] = 3
    third["agder"] = 9
    third["nyby"] = 1
    third["vestland"] = 2
    var chain: [(name: String, bytes: [UInt8], dependencies: VersionVector)] = []
    var base: VersionVector?
    for (index, dependencies) in [first, second, third].enumerated() {
      let sequence = UInt64(index + 1)
      let changeset = Changeset(
        storeID: storeID, author: "vestland", sequence: sequence, dependencies: dependencies, lamport: 10 + sequence,
        timestamp: start + Int64(sequence) * 60_000,
        edits: [.set(RecordRef("cases", "sak-2025-014"), field: "notes", value: .text("Vestland, notat \(sequence)"))])
      chain.append((ChangesetFile.fileName(sequence: sequence), ChangesetFile.encode(changeset, signedBy: key("vestland"), base: base), dependencies))
      base = dependencies
      base?["vestland"] = sequence
    }
    return chain
  }
}
