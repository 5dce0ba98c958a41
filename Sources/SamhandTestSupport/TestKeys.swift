import Foundation
import Samhand

/// Fixed signing keys for tests, and shared folders whose genesis roster
/// lists them: the offices' keys are then confirmed from the start (the
/// documented way to need no claims), so tests that are not about claims
/// need no administrator to confirm each joining office.
public enum TestKeys {
  /// A fixed key for an office, the same in every test.
  public static func key(_ office: ReplicaID) -> SigningKey {
    // FNV-1a of the slug, stretched by xorshift: a fixed, distinct seed
    // per office (not a secret: these keys are for tests only).
    var state: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in "samhand test key \(office.rawValue)".utf8 { state = (state ^ UInt64(byte)) &* 0x100_0000_01b3 }
    var seed: [UInt8] = []
    while seed.count < 32 {
      state ^= state << 13
      state ^= state >> 7
      state ^= state << 17
      seed += withUnsafeBytes(of: state.littleEndian, Array.init)
    }
    return try! SigningKey(seed: seed)
  }

  /// The cooperation's roster (``Roster/cooperation(founder:key:)``) with
  /// every office's test key listed, and `extra` offices added as counties.
  public static func roster(founder: ReplicaID, extra: [ReplicaID] = []) -> Roster {
    var members = Roster.cooperation(founder: founder, key: key(founder).publicKey).sortedMembers
    for office in extra where !members.contains(where: { $0.office == office }) {
      members.append(Roster.Member(office: office, name: office.rawValue, kind: "fylkeskommune"))
    }
    for index in members.indices { members[index].keys.insert(key(members[index].office).publicKey) }
    return Roster(members)
  }
}

extension Store {
  /// Creates a shared folder and its first replica, with every office's
  /// test key in the genesis roster (``TestKeys``).
  public static func createListingTestKeys(
    folder: SharedFolder, at directory: URL, replica: ReplicaID, schema: Schema = .planning, extra: [ReplicaID] = []
  ) throws -> Store {
    try Store.create(
      folder: folder, at: directory, replica: replica, schema: schema,
      roster: TestKeys.roster(founder: replica, extra: extra), key: TestKeys.key(replica))
  }

  /// Joins a folder made by ``createListingTestKeys(folder:at:replica:schema:extra:)``
  /// with the office's test key.
  public static func joinWithTestKey(
    folder: SharedFolder, at directory: URL, replica: ReplicaID, trust: String? = nil,
    progress: (@Sendable (SyncProgress) -> Void)? = nil
  ) throws -> (Store, SyncReport) {
    try Store.join(folder: folder, at: directory, replica: replica, trust: trust, key: TestKeys.key(replica), progress: progress)
  }

  /// Offices on one shared folder `root/shared`, each store in `root/<slug>`:
  /// the first founds it (with every office's test key in the roster), the
  /// others join. With `layout`, `samhand.json` is rewritten in that older
  /// layout before they join, as a folder made by an older Samhand.
  public static func testOffices(_ names: [ReplicaID], in root: TemporaryDirectory, layout: Int? = nil) throws
    -> (SharedFolder, [ReplicaID: Store])
  {
    let folder = SharedFolder(root.path("shared"))
    var stores: [ReplicaID: Store] = [:]
    stores[names[0]] = try Store.createListingTestKeys(folder: folder, at: root.path(names[0].rawValue), replica: names[0], extra: names)
    if let layout {
      var identity = try folder.identity()
      identity.formatVersion = layout
      try identity.canonicalJSON.write(to: folder.url.appendingPathComponent("samhand.json"))
    }
    for name in names.dropFirst() {
      stores[name] = try Store.joinWithTestKey(folder: folder, at: root.path(name.rawValue), replica: name).0
    }
    return (folder, stores)
  }
}
