import ArgumentParser
import Foundation
import Samhand

/// The story `samhand demo` tells, step by step, with the library doing the work.
///
/// Everything narrated is in English; the records are in Norwegian. The
/// people are invented: no name or address comes from the seed documents.
struct DemoScript {
  let root: URL
  let shared: SharedFolder
  let offices = Office.cooperation
  private var stores: [ReplicaID: Store] = [:]
  private var step = 0

  init(root: URL) {
    self.root = root
    self.shared = SharedFolder(root.appendingPathComponent("shared-folder"))
  }

  // MARK: - Data

  static let caseID = "sak-2026-001"
  static let projectID = "veilederkorpset-2026"
  static let leavingMember = "vk-trondelag-3"
  static let groups = ["kommuneplanens-samfunnsdel", "kommuneplanens-arealdel", "reguleringsplan"]

  /// Invented advisers, two for each fylkeskommune.
  static let people = [
    "Ingrid Fjordvik", "Lars Bekkestad", "Siri Haugvollen", "Magnus Lyngmo", "Astrid Nesbøen",
    "Eirik Tjernåsen", "Hanne Skoglien", "Jonas Brekkhus", "Marte Storøya", "Sindre Vollaug",
    "Tuva Elvåsen", "Vegard Myrebø", "Åse Lindvåg", "Øyvind Kvernmo", "Liv Fossheim",
    "Torbjørn Åsgrend", "Guro Sandvær", "Håkon Bjørkelid", "Kristin Almedal", "Anders Grønnlid",
    "Synnøve Holmefjord", "Bjørnar Eikevoll", "Ragnhild Solbakk", "Petter Fjellstuen",
  ]

  /// `ingrid.fjordvik@vestland.example`: invented addresses under a reserved domain.
  static func email(_ person: String, _ office: ReplicaID) -> String {
    let ascii = person.lowercased()
      .replacingOccurrences(of: "ø", with: "o").replacingOccurrences(of: "å", with: "a")
      .replacingOccurrences(of: "æ", with: "ae").replacingOccurrences(of: " ", with: ".")
    return "\(ascii)@\(office).example"
  }

  /// `1 900 000 NOK`, grouped the Norwegian way.
  static func kroner(_ amount: Int64) -> String {
    var digits = Array(String(amount))
    var groups: [String] = []
    while digits.count > 3 {
      groups.insert(String(digits.suffix(3)), at: 0)
      digits.removeLast(3)
    }
    groups.insert(String(digits), at: 0)
    return groups.joined(separator: " ") + " NOK"
  }

  // MARK: - Narration

  private mutating func heading(_ text: String) {
    step += 1
    Console.line()
    Console.line("\(step). \(text)")
  }

  private func say(_ text: String) { Console.line("   \(text)") }

  private func store(_ slug: ReplicaID) -> Store { stores[slug]! }

  private var counties: [Office] { offices.filter { $0.kind == "fylkeskommune" } }

  private func name(_ slug: ReplicaID) -> String { OfficeNames.name(slug) ?? slug.rawValue }

  // MARK: - The story

  mutating func run() throws {
    let started = Date()
    Console.line(
      "Samhand demo: \(offices.count) offices of the planning cooperation, each with its own replica,"
    )
    Console.line("replicating through one shared folder. Working in \(root.path)")

    try createAndJoin()
    try setUp()
    try editOffline()
    try syncEveryone(
      rounds: 2,
      why: "so the offices that synced early also get the changesets of those that synced later")
    let conflicts = try listConflicts()
    try resolve(conflicts)
    try syncEveryone(rounds: 1, why: "KS first, so everyone gets the resolutions")
    try checkAgreement()
    try showTrust()
    let snapshotURL = try writeSnapshot()

    Console.line()
    Console.line(
      String(
        format: "Done in %.1f s. Replicas are in %@, the shared folder in %@.",
        Date().timeIntervalSince(started), root.appendingPathComponent("offices").path,
        shared.location))
    Console.line(
      "Try: samhand status --store \(ShellWords.quote(root.appendingPathComponent("offices/ks").path))"
    )
    Console.line("Snapshot: \(snapshotURL.path)")
  }

  private mutating func createAndJoin() throws {
    let officesDirectory = root.appendingPathComponent("offices")
    heading(
      "KDD creates the store: a new shared folder with the planning schema (membership, cases, projects)."
    )
    let kdd: ReplicaID = "kdd"
    stores[kdd] = try Store.create(
      folder: shared, at: officesDirectory.appendingPathComponent(kdd.rawValue), replica: kdd,
      schema: .planning)
    say("shared folder: \(shared.location)")
    say("kdd's replica: \(officesDirectory.appendingPathComponent(kdd.rawValue).path)")

    heading("The other twelve offices join the folder, each with a replica of its own.")
    for office in offices where office.slug != kdd {
      let (store, _) = try Store.join(
        folder: shared, at: officesDirectory.appendingPathComponent(office.slug.rawValue),
        replica: office.slug)
      stores[office.slug] = store
    }
    say(offices.filter { $0.slug != kdd }.map(\.slug.rawValue).joined(separator: ", "))
    heading("KDD confirms each office's key, after comparing its fingerprint with the office by phone.")
    for office in offices where office.slug != kdd {
      let key = try stores[office.slug]!.publicKey()
      try stores[kdd]!.confirmKey(key, of: office.slug)
      say("\(office.slug.rawValue.padding(toLength: 20, withPad: " ", startingAt: 0)) \(key.fingerprint)")
    }
    // Everyone learns of the confirmations before writing.
    try stores[kdd]!.sync(with: shared)
    for office in offices where office.slug != kdd { try stores[office.slug]!.sync(with: shared) }
  }

  private mutating func setUp() throws {
    heading(
      "KS registers a shared case with Vestland and Nordland, Trøndelag the joint project of the fylkeskommuner; everyone syncs once."
    )
    try store("ks").transact { tx in
      let c = "cases"
      let id = DemoScript.caseID
      try tx.set(
        c, id, "title", .text("Felles løft for kommuneplanens samfunnsdel i Fjordvik kommune"))
      try tx.set(c, id, "kommune", .text("Fjordvik kommune"))
      try tx.set(c, id, "plan_type", .text("kommuneplanens-samfunnsdel"))
      try tx.set(c, id, "status", .text("ny"))
      try tx.set(c, id, "owner", .text("ks"))
      // Only the owner, the participants, KS and KDD may write a case.
      for slug in ["ks", "vestland", "nordland"] { try tx.add(c, id, "participants", slug) }
      try tx.set(c, id, "deadline", .text("2026-06-30"))
    }
    try store("trondelag").transact { tx in
      let p = "projects"
      let id = DemoScript.projectID
      try tx.set(p, id, "name", .text("Veilederkorpset 2026–2029"))
      try tx.set(p, id, "lead", .text("trondelag"))
      try tx.set(p, id, "status", .text("planlagt"))
      try tx.set(p, id, "start", .text("2026-01-01"))
      try tx.set(p, id, "end", .text("2029-12-31"))
      try tx.set(
        p, id, "description",
        .text("Kompetanseprogram for planveiledere i fylkeskommunene, finansiert som spleiselag"))
      // Every fylkeskommune takes part, so each may pledge its share.
      for office in counties { try tx.add(p, id, "participants", office.slug.rawValue) }
      let m = "membership"
      let member = DemoScript.leavingMember
      try tx.set(m, member, "person", .text("Petter Fjellstuen"))
      try tx.set(m, member, "email", .text(DemoScript.email("Petter Fjellstuen", "trondelag")))
      try tx.set(m, member, "organisation", .text("trondelag"))
      try tx.set(m, member, "network", .text("veilederkorpset"))
      try tx.add(m, member, "groups", "kommuneplanens-arealdel")
      try tx.set(m, member, "role", .text("planveileder"))
      try tx.set(m, member, "from", .text("2024-10-01"))
    }
    say(
      "cases/\(DemoScript.caseID): «Felles løft for kommuneplanens samfunnsdel i Fjordvik kommune», status «ny»"
    )
    say(
      "cases/\(DemoScript.caseID): owned by ks, with vestland and nordland taking part (only they, KS and KDD may edit it)"
    )
    say(
      "projects/\(DemoScript.projectID): «Veilederkorpset 2026–2029», led by trondelag, the \(counties.count) fylkeskommuner taking part"
    )
    say("membership/\(DemoScript.leavingMember): Petter Fjellstuen, planveileder in Trøndelag")
    for slug in ["ks", "trondelag"] as [ReplicaID] { try store(slug).sync(with: shared) }
    for office in offices { try store(office.slug).sync(with: shared) }
    say("all \(offices.count) replicas now hold the case, the project and the membership record")
  }

  private mutating func editOffline() throws {
    heading("Offline, every office edits its own replica (nobody syncs):")
    var nextPerson = 0
    for (index, office) in counties.enumerated() {
      let slug = office.slug
      var ids: [String] = []
      try store(slug).transact { tx in
        for number in 1...2 {
          let id = "vk-\(slug)-\(number)"
          let person = DemoScript.people[nextPerson % DemoScript.people.count]
          nextPerson += 1
          ids.append(id)
          try tx.set("membership", id, "person", .text(person))
          try tx.set("membership", id, "email", .text(DemoScript.email(person, slug)))
          try tx.set("membership", id, "organisation", .text(slug.rawValue))
          try tx.set("membership", id, "network", .text("veilederkorpset"))
          try tx.set("membership", id, "role", .text("planveileder"))
          try tx.set("membership", id, "from", .text("2026-01-01"))
          try tx.add("membership", id, "groups", DemoScript.groups[(index + number) % 3])
          if number == 1 {
            try tx.add("membership", id, "groups", DemoScript.groups[(index + 2) % 3])
          }
        }
        try tx.put(
          "projects", DemoScript.projectID, "funding", key: slug.rawValue, .integer(150_000))
      }
      say(
        "\(slug.rawValue.padding(toLength: 20, withPad: " ", startingAt: 0)) registers 2 advisers (\(ids.joined(separator: ", "))), pledges 150 000 NOK to the project"
      )
    }
    // The collisions.
    try store("vestland").transact { tx in
      try tx.set("cases", DemoScript.caseID, "status", .text("under-arbeid"))
      try tx.set("cases", DemoScript.caseID, "deadline", .text("2026-09-01"))
    }
    say(
      "vestland             sets the case's status to «under-arbeid» and its deadline to 2026-09-01"
    )
    try store("nordland").transact { tx in
      try tx.set("cases", DemoScript.caseID, "deadline", .text("2026-10-15"))
      try tx.set("cases", DemoScript.caseID, "notes", .text("Nordland deler erfaringer fra egen samfunnsdel"))
    }
    say("nordland             sets the case's deadline to 2026-10-15 and adds a note")
    try store("ks").transact { tx in
      try tx.set("cases", DemoScript.caseID, "status", .text("avsluttet"))
      try tx.set("membership", DemoScript.leavingMember, "role", .text("prosjektleder"))
      try tx.put("projects", DemoScript.projectID, "funding", key: "kdd", .integer(250_000))
      try tx.set("membership", "vk-ks-1", "person", .text("Kristin Almedal"))
      try tx.set("membership", "vk-ks-1", "email", .text(DemoScript.email("Kristin Almedal", "ks")))
      try tx.set("membership", "vk-ks-1", "organisation", .text("ks"))
      try tx.set("membership", "vk-ks-1", "network", .text("veilederkorpset"))
      try tx.set("membership", "vk-ks-1", "role", .text("observatør"))
    }
    say(
      "ks                   marks the case «avsluttet», makes \(DemoScript.leavingMember) prosjektleder, notes 250 000 NOK from KDD, adds an observer"
    )
    try store("kdd").transact { tx in
      try tx.put("projects", DemoScript.projectID, "funding", key: "kdd", .integer(500_000))
      try tx.add("projects", DemoScript.projectID, "participants", "kdd")
    }
    say("kdd                  pledges 500 000 NOK to the project and joins it")
    try store("trondelag").transact { tx in
      try tx.delete("membership", DemoScript.leavingMember)
    }
    say("trondelag            deletes \(DemoScript.leavingMember): the adviser has left")
    say(
      "Expected collisions: the case's status and deadline, KDD's share of the funding, and \(DemoScript.leavingMember) (deleted and updated at once)."
    )
  }

  private mutating func syncEveryone(rounds: Int, why: String) throws {
    heading("Everyone syncs\(rounds > 1 ? " \(rounds) times" : ""), \(why).")
    var order = offices.map(\.slug)
    if let ks = order.firstIndex(of: "ks") { order.insert(order.remove(at: ks), at: 0) }
    for round in 1...rounds {
      var published = 0
      var imported = 0
      var setAside = 0
      for slug in order {
        let report = try store(slug).sync(with: shared)
        published += report.published.count
        imported += report.imported.count
        setAside += report.setAside.count
      }
      say(
        "round \(round): \(Words.count(published, "changeset")) published, \(imported) imported in all, \(setAside) set aside"
      )
    }
  }

  private mutating func listConflicts() throws -> [Conflict] {
    let conflicts = try store("kdd").conflicts()
    heading("The conflicts, the same on every replica (\(conflicts.count)):")
    for office in offices {
      let count = try store(office.slug).conflicts().count
      guard count == conflicts.count else {
        throw CommandFailure("demo: \(office.slug) sees \(count) conflicts, kdd \(conflicts.count)")
      }
    }
    for conflict in conflicts {
      say(conflict.place)
      for line in conflict.siblingLines(indent: "      ") { Console.line(line) }
    }
    let project = try store("kdd").record("projects", DemoScript.projectID)
    if case .map(let funding)? = project?.fields["funding"] {
      let total = funding.values.reduce(Int64(0)) { sum, value in
        if case .integer(let amount) = value { return sum + amount }
        return sum
      }
      say(
        "Meanwhile the spleiselag merged key by key without conflict: \(funding.count) pledges, \(DemoScript.kroner(total)) shown in all."
      )
    }
    return conflicts
  }

  private mutating func resolve(_ conflicts: [Conflict]) throws {
    heading("KS reviews and resolves them (each resolution is an ordinary edit):")
    let ks = store("ks")
    for conflict in conflicts {
      switch (conflict.kind, conflict.field, conflict.key) {
      case (.value, "status"?, nil):
        try ks.resolve(conflict.collection, conflict.recordID, field: "status", pick: "vestland")
        say("\(conflict.place): keeps vestland's «under-arbeid»")
      case (.value, "deadline"?, nil):
        try ks.resolve(
          conflict.collection, conflict.recordID, field: "deadline", with: .text("2026-09-30"))
        say("\(conflict.place): a new value, 2026-09-30")
      case (.value, "funding"?, "kdd"?):
        try ks.resolve(
          conflict.collection, conflict.recordID, field: "funding", key: "kdd", pick: "kdd")
        say("\(conflict.place): keeps KDD's own pledge, \(DemoScript.kroner(500_000))")
      case (.delete, _, _):
        try ks.resolveDelete(conflict.collection, conflict.recordID, keep: false)
        say("\(conflict.collection)/\(conflict.recordID): deleted, since the adviser has left")
      default:
        if let first = conflict.siblings.first {
          try ks.resolve(
            conflict.collection, conflict.recordID, field: conflict.field ?? "", key: conflict.key,
            pick: first.author)
          say("\(conflict.place): keeps \(first.author)'s value")
        }
      }
    }
  }

  private mutating func checkAgreement() throws {
    var hashes: [ReplicaID: String] = [:]
    var open = 0
    for office in offices {
      hashes[office.slug] = try store(office.slug).snapshot().sha256
      open += try store(office.slug).conflicts().count
    }
    let distinct = Set(hashes.values)
    guard distinct.count == 1, let hash = distinct.first else {
      let list = hashes.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value.prefix(12))" }
        .joined(separator: ", ")
      throw CommandFailure("demo: the replicas disagree: \(list)")
    }
    guard open == 0 else {
      throw CommandFailure("demo: \(open) conflicts are still open after the resolutions")
    }
    heading("All \(offices.count) replicas hold the same state, with no open conflicts:")
    say("snapshot sha256 \(hash) on every replica")
    let folderHash = try shared.snapshot().sha256
    say(
      folderHash == hash
        ? "the shared folder read on its own (no store) gives the same snapshot"
        : "warning: the shared folder read on its own gives a different snapshot (\(folderHash.prefix(12)))"
    )
    let record = try store("agder").record("cases", DemoScript.caseID)
    if let record {
      say("agder's view of the case:")
      for line in SamhandCommand.Get.lines(for: record, schema: store("agder").schema) {
        say("  \(line)")
      }
    }
  }

  private mutating func showTrust() throws {
    heading("Every changeset is signed, and the roster says whose signature counts and who may write what:")
    let agder = store("agder")
    let target = "vk-vestland-1"
    do {
      try agder.transact { tx in try tx.set("membership", target, "role", .text("styremedlem")) }
      throw CommandFailure("demo: agder was allowed to edit vestland's membership record \(target)")
    } catch let error as SamhandError where error.code == .notPermitted {
      say("agder tries to change vestland's adviser \(target): refused before anything is written:")
      say("  \(error.message)")
    }
    guard let roster = try store("kdd").roster(), let genesis = store("kdd").genesisRoster else { return }
    let claimed = roster.sortedMembers.filter { !$0.activeKeys.isEmpty }.count
    let admins = roster.sortedMembers.filter(\.isAdministrator).map(\.office.rawValue)
    say(
      "the roster: \(roster.members.count) offices, \(claimed) with a key (KDD's from the start, the others' confirmed by KDD); administrators \(admins.joined(separator: " and "))"
    )
    let pinned = Set(offices.compactMap { store($0.slug).genesisRoster?.hash })
    guard pinned == [genesis.hash] else {
      throw CommandFailure("demo: the replicas pinned different rosters: \(pinned.sorted().joined(separator: ", "))")
    }
    say("every replica pinned the same roster: \(genesis.hash) (what 'samhand init --trust' checks)")
    say("see it with: samhand roster --store \(ShellWords.quote(store("ks").directory.path))")
  }

  private mutating func writeSnapshot() throws -> URL {
    let snapshot = try store("kdd").snapshot()
    let url = root.appendingPathComponent("snapshot.json")
    try snapshot.bytes.write(to: url, options: .atomic)
    heading(
      "KDD writes the merged snapshot for reporting (\(snapshot.bytes.count) bytes of canonical JSON)."
    )
    return url
  }
}
