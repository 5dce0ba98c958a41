import ArgumentParser
import Foundation
import Samhand

extension SamhandCommand {
  struct Init: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Create an office's replica store and connect it to a shared folder.",
      discussion: """
        If the shared folder is empty or missing, it is initialised as a new \
        store with the schema (by default the built-in planning schema, the \
        one in Fixtures/schema.json). Otherwise the replica joins the store \
        already there and imports everything in it; if this office has \
        published there before (a reinstalled machine), its own history is \
        recovered too.

        A new folder gets a genesis roster: by default the cooperation's \
        thirteen offices, KS and KDD as administrators, and this office's key \
        (the others claim theirs with their first changeset); --roster gives \
        another. Its hash is printed: the other offices join with --trust \
        HASH, so that nobody can slip them another roster. An office joining \
        without --trust is shown the hash to confirm with the founding office.

        A joining office's key counts for the others once an administrator \
        (KS, KDD or the founding office) has confirmed it with 'samhand \
        roster confirm', after comparing its fingerprint by phone; until then \
        the office writes, and the others keep what it writes. Joining \
        publishes the office's claim to its key at once, so that the \
        administrators see it at their next sync.

        Typos are caught before anything is created: a slug that is not \
        among the offices (the cooperation's, or the folder's roster when \
        joining) needs --new-office, and a new shared folder whose parent \
        folder is missing, or that has a shared folder of a similar name \
        beside it, needs --create-folder.

        Interrupted (Ctrl-C) while joining, init says what state the store \
        is in and exits with 130; nothing is lost, and 'samhand sync' \
        finishes the join. Run on a store that exists, init changes nothing \
        and describes it: office, folder, roster hash and what to run next.

        Examples:
          samhand init --store ~/samhand/ks --replica ks --folder /mnt/delt
          samhand init --store ~/samhand/vl --replica vestland --folder /mnt/delt \\
            --trust HASH    (HASH: the 64 hex digits the founding office printed)
          samhand init --store ./ks --replica ks --folder ./delt --schema schema.json \\
            --roster roster.json
          samhand init --store ~/samhand/vl --replica vestland --folder /mnt/delt \\
            --key /media/usb/vestland.key
          samhand init --store ~/samhand/ostfold --replica ostfold --folder /mnt/delt \\
            --trust HASH --new-office    (an office the roster does not list yet)
        """)

    @OptionGroup var global: GlobalOptions

    @Option(
      help: ArgumentHelp("The office's slug, such as vestland, ks or kdd.", valueName: "slug"))
    var replica: String

    @Option(
      help: ArgumentHelp("The shared folder the offices replicate through.", valueName: "shared"))
    var folder: String

    @Option(
      help: ArgumentHelp(
        "A schema JSON file, used only when the shared folder is new.", valueName: "file"))
    var schema: String?

    @Option(
      help: ArgumentHelp(
        "When joining: the roster hash the founding office printed; joining fails if the folder's roster differs.",
        valueName: "hash"))
    var trust: String?

    @Option(
      help: ArgumentHelp(
        "A private key file from 'samhand key export' to sign with, instead of a new key.", valueName: "file"))
    var key: String?

    @Option(
      help: ArgumentHelp(
        "A genesis roster JSON file, used only when the shared folder is new.", valueName: "file"))
    var roster: String?

    @Flag(
      help: ArgumentHelp(
        "Allow a slug that is not among the offices: a new office, which an administrator then adds with 'samhand roster add'."
      ))
    var newOffice = false

    @Flag(
      help: ArgumentHelp(
        "Make the new shared folder encrypted: every record is sealed with a group key (ChaCha20-Poly1305) that administrators give each office whose key they confirm. Only for a new folder; it cannot be turned on or off later."
      ))
    var encrypt = false

    @Flag(
      help: ArgumentHelp(
        "Create the new shared folder even though the path looks mistyped (its parent is missing, or a shared folder of a similar name is beside it)."
      ))
    var createFolder = false

    func validate() throws {
      try global.validateStore()
      if ReplicaID(rawValue: replica) == nil {
        throw ValidationError(
          "'\(replica)' is not a valid office slug: use 1–63 lowercase letters a–z, digits and inner hyphens (for example more-og-romsdal)"
        )
      }
      if folder.isEmpty { throw ValidationError("--folder must name a folder") }
      try FolderArgument.validate(folder)
      if let trust {
        let digits = trust.lowercased().filter { !$0.isWhitespace }
        if digits.count != 64 || !digits.allSatisfy({ $0.isHexDigit }) {
          throw ValidationError(
            "--trust '\(trust)' is not a roster hash: expected the 64 hex digits the founding office's 'samhand init' printed")
        }
      }
    }

    func run() async throws {
      let storeURL = try global.storeURL()
      let replicaID = try ReplicaID(validating: replica)
      let shared = FolderArgument.folder(folder)
      var isDirectory: ObjCBool = false
      if shared.url.isFileURL, FileManager.default.fileExists(atPath: shared.location, isDirectory: &isDirectory),
        !isDirectory.boolValue
      {
        throw CommandFailure("\(shared.location) is a file, not a shared folder")
      }
      // Checked before the shared folder is touched, so a wrong --store writes nothing.
      if FileManager.default.fileExists(atPath: storeURL.path, isDirectory: &isDirectory),
        !isDirectory.boolValue
      {
        throw CommandFailure("\(storeURL.path) is a file, not a folder for a store")
      }
      if FileManager.default.fileExists(atPath: storeURL.appendingPathComponent(Store.databaseFileName).path) {
        throw CommandFailure(Init.describeExisting(storeURL, replica: replicaID, folder: shared))
      }
      let givenSchema = try schema.map(Init.readSchema)
      let givenKey = try key.map(Init.readKey)
      let interruption = Interruption()
      defer { interruption.finish() }
      let storeWords = ShellWords.quote(storeURL.path)

      // A server is asked first, so a wrong password or URL says so at once.
      if !shared.url.isFileURL { _ = try shared.exchange.list("") }
      if shared.isUninitialised {
        if trust != nil {
          throw CommandFailure(
            "--trust is for joining a store, but \(shared.location) holds none yet (is the share mounted, and is it the right folder?); nothing was created")
        }
        if !createFolder, let doubt = Init.doubtAboutNewFolder(shared.url) {
          throw CommandFailure(
            "\(doubt)\(doubt.hasSuffix("?") ? "" : ".") Nothing was created. To create a new shared folder at \(shared.location) all the same, pass --create-folder"
          )
        }
        if roster == nil, !newOffice, !Office.cooperation.contains(where: { $0.slug == replicaID }) {
          let slugs = Office.cooperation.map(\.slug.rawValue)
          throw CommandFailure(
            "'\(replicaID)' is not one of the cooperation's offices\(Suggestion.clause(for: replicaID.rawValue, among: slugs)); nothing was created. The offices: \(slugs.sorted().joined(separator: ", ")). To found the store as a new office of that name, pass --new-office (or list the offices with --roster FILE)"
          )
        }
        let signingKey = givenKey ?? SigningKey.generate()
        let genesis = try roster.map { try Init.readRoster($0, founder: replicaID, key: signingKey.publicKey) }
        // The folder and the store are made together: a Ctrl-C between
        // them would leave a folder whose only key is lost.
        interruption.say {
          "The store in \(storeURL.path) and the shared folder were created together; run 'samhand init' again with the same options to see them."
        }
        let store = try interruption.uninterrupted {
          try Store.create(
            folder: shared, at: storeURL, replica: replicaID, schema: givenSchema ?? .planning,
            roster: genesis, key: signingKey, encrypted: encrypt)
        }
        let encryption = try store.encryptionState()
        let pinned = store.genesisRoster
        let hash = pinned?.hash ?? ""
        if global.json {
          Console.json(
            .object([
              "action": .string("created"), "store": .string(store.directory.path),
              "replica": .string(replicaID.rawValue), "folder": .string(shared.location),
              "store_id": .string(store.storeID.rawValue),
              "roster_hash": .string(hash),
              "public_key": .string(signingKey.publicKey.hex),
              "encrypted": .bool(encryption != nil),
            ]))
          return
        }
        Console.line("Created a new store in the shared folder \(shared.location)")
        Console.line("  office:     \(TrustText.labelled(replicaID, in: pinned))")
        Console.line("  replica:    \(store.directory.path)")
        Console.line(
          "  schema:     \(schema ?? "built-in planning schema") (\(store.schema.collectionNames.joined(separator: ", ")))"
        )
        if let pinned {
          let admins = TrustText.administrators(pinned)
          Console.line(
            "  roster:     \(roster ?? "the cooperation's offices") (\(Words.count(pinned.members.count, "office")); administrators: \(admins))"
          )
        }
        Console.line("  key:        \(signingKey.publicKey.fingerprint)")
        if let encryption {
          Console.line(
            "  encrypted:  yes (ChaCha20-Poly1305); group key \(encryption.keyInForce.map { String($0.hex.prefix(12)) } ?? "?"), given to each office whose key an administrator confirms, at the administrator's next sync")
        }
        Console.line("roster: \(hash)")
        Console.line(
          "Other offices join with: samhand init --store DIR --replica SLUG --folder \(ShellWords.quote(shared.location)) --trust \(hash)"
        )
        Console.line("Give them the hash by another channel than the folder (phone, e-mail), so that they know the roster is yours.")
        return
      }

      let identity = try shared.identity()
      if encrypt, identity.roster?.isEncrypted != true {
        throw CommandFailure(
          "--encrypt makes a new shared folder encrypted, but \(shared.location) already holds a store in plain form (encryption cannot be turned on later); nothing was created. Join without --encrypt, or make a new folder")
      }
      // An office with files in the folder is no typo: one an administrator
      // added after the genesis roster, reinstalled.
      if !newOffice, let genesis = identity.roster, genesis.members[replicaID] == nil,
        !shared.holdsFiles(of: replicaID)
      {
        let slugs = genesis.members.keys.map(\.rawValue)
        throw CommandFailure(
          "'\(replicaID)' is not in the roster of the store in \(shared.location)\(Suggestion.clause(for: replicaID.rawValue, among: slugs)); nothing was created. If it is a new office, which an administrator (\(TrustText.administrators(genesis))) then adds with 'samhand roster add', pass --new-office"
        )
      }
      if let givenSchema, givenSchema != identity.schema {
        Console.warning(
          "\(shared.location) already holds a store with its own schema; --schema \(schema ?? "") is ignored"
        )
      }
      if let roster {
        Console.warning(
          "\(shared.location) already holds a store with its own roster; --roster \(roster) is ignored (an administrator changes it with 'samhand roster')"
        )
      }
      interruption.say {
        guard FileManager.default.fileExists(atPath: storeURL.appendingPathComponent(Store.databaseFileName).path) else {
          return "Nothing was created."
        }
        return
          "The store in \(storeURL.path) was created, but joining had not finished. Nothing is lost: run 'samhand sync --store \(storeWords)' to finish it ('samhand init' with the same options shows where it stands)."
      }
      let progress = ProgressBar(label: "joining")
      let store: Store
      var report: SyncReport
      do {
        (store, report) = try Store.join(
          folder: shared, at: storeURL, replica: replicaID, trust: trust, key: givenKey,
          progress: progress.update)
        // A key an administrator must confirm is claimed at once, so that
        // the administrators see it, with its fingerprint, at their next sync.
        if try store.claimKeyIfNeeded() != nil {
          report.published += try await store.sync(with: shared).published
        }
        progress.finish()
      } catch {
        progress.finish()
        throw error
      }
      let recovered = try store.frontier()[replicaID]
      let rosterInForce = try store.roster()
      let hash = store.genesisRoster?.hash
      let (publicKey, standing) = try TrustText.ownStanding(of: store)
      if global.json {
        Console.json(
          .object([
            "action": .string("joined"), "store": .string(store.directory.path),
            "replica": .string(replicaID.rawValue), "folder": .string(shared.location),
            "store_id": .string(store.storeID.rawValue),
            "imported": .integer(Int64(report.imported.count)),
            "recovered": .integer(Int64(recovered)),
            "sync": SyncSummary(report).jsonValue,
            "roster_hash": hash.map { .string($0) } ?? .null,
            "roster_trusted": .bool(trust != nil),
            "public_key": .string(publicKey.hex),
            "key_status": .string(standing.code),
          ]))
      } else {
        Console.line("Joined the store in \(shared.location)")
        Console.line("  office:     \(TrustText.labelled(replicaID, in: rosterInForce))")
        Console.line("  replica:    \(store.directory.path)")
        Console.line("  imported:   \(Words.count(report.imported.count, "changeset"))")
        if recovered > 0 {
          Console.line(
            "  recovered:  \(Words.count(Int(recovered), "changeset")) this office had published before; its sequence continues at \(recovered + 1)"
          )
        }
        Console.line("  key:        \(publicKey.fingerprint)")
        Console.line("              \(TrustText.describe(standing, office: replicaID, roster: rosterInForce))")
        if let hash {
          Console.line("roster: \(hash)\(trust != nil ? " (the one you were told to trust)" : "")")
          if trust == nil {
            Console.line(
              "Confirm this roster hash with the founding office (by phone, not through the folder) before relying on it; to check it when joining, pass --trust HASH."
            )
          }
        }
        SyncSummary(report).printProblems()
      }
      if standing == .awaitingConfirmation, !global.json {
        Console.line(
          "Next: \(TrustText.advice(standing, office: replicaID, key: publicKey, roster: rosterInForce) ?? ""). This office can write meanwhile; the others apply what it writes once the key is confirmed.")
      } else if let advice = TrustText.advice(standing, office: replicaID, key: publicKey, roster: rosterInForce) {
        Console.warning(
          "\(TrustText.describe(standing, office: replicaID, roster: rosterInForce)). Until then it cannot write; \(advice)"
        )
      } else if case .retired = standing {
        Console.warning(TrustText.describe(standing, office: replicaID, roster: rosterInForce))
      }
    }

    /// What `init` says about a store already in `directory`: whose it
    /// is, whether its join finished, its roster hash and what to run next.
    static func describeExisting(_ directory: URL, replica: ReplicaID, folder: SharedFolder) -> String {
      let storeWords = ShellWords.quote(directory.path)
      let store: Store
      let total: UInt64
      do {
        store = try Store.open(at: directory)
        total = try store.frontier().total
      } catch {
        return
          "\(directory.path) holds a store that cannot be read (\((error as? SamhandError)?.message ?? FileProblem.reason(error))): an 'init' interrupted while it made the store leaves one that holds nothing. If this office has never used it, remove the folder (rm -r \(storeWords)) and run 'samhand init' again"
      }
      var lines = ["a store already exists in \(directory.path): nothing was changed."]
      let ownFolder = try? store.folder()
      lines.append(
        "  office:     \(store.replica)\(store.replica == replica ? "" : " (not \(replica): give another --store for \(replica)'s store)")")
      if let ownFolder {
        let same = ownFolder.url.standardizedFileURL.path == folder.url.standardizedFileURL.path
        lines.append("  folder:     \(ownFolder.location)\(same ? "" : " (not \(folder.location))")")
      }
      lines.append("  changesets: \(total)")
      if let hash = store.genesisRoster?.hash { lines.append("roster: \(hash)") }
      if (try? store.hasFinishedFirstSync()) == false {
        lines.append(
          "Its joining had not finished (an interrupted 'init'?). Nothing is lost: run 'samhand sync --store \(storeWords)' to finish it.")
      } else {
        lines.append("It is ready: run 'samhand sync --store \(storeWords)' to sync it, 'samhand status --store \(storeWords)' to see it.")
      }
      return lines.joined(separator: "\n")
    }

    /// Why a new shared folder at `url` looks like a mistyped path, if it
    /// does: the folder it would go in is missing (an unmounted share, a
    /// wrong drive), or beside it is a shared folder of a similar name.
    static func doubtAboutNewFolder(_ url: URL) -> String? {
      guard url.isFileURL else {
        let there = ((try? SharedFolder(url).exchange.list("")) ?? nil) != nil
        return there ? nil : "\(url.absoluteString) is not on the server: is the URL right?"
      }
      let files = FileManager.default
      guard !files.fileExists(atPath: url.path) else { return nil }
      let parent = url.deletingLastPathComponent()
      guard files.fileExists(atPath: parent.path) else {
        return "neither \(url.path) nor the folder it would be in, \(parent.path), exists: is the share mounted, and is the path right?"
      }
      let folders = ((try? files.contentsOfDirectory(atPath: parent.path)) ?? []).filter {
        SharedFolder(parent.appendingPathComponent($0)).hasIdentity
      }
      // A name that extends an existing one ("delt-2" beside "delt") is a
      // deliberate second folder; one letter off is a typo.
      let typed = url.lastPathComponent
      guard
        let near = Suggestion.closest(
          to: typed, among: folders.filter { !typed.lowercased().hasPrefix($0.lowercased()) || typed.count == $0.count },
          within: 1)
      else { return nil }
      return "\(url.path) does not exist, but \(parent.appendingPathComponent(near).path) beside it is a shared folder: did you mean --folder \(ShellWords.quote(parent.appendingPathComponent(near).path))?"
    }


    /// Reads a private key file written by `samhand key export`.
    static func readKey(_ path: String) throws -> SigningKey {
      let url = URL(fileURLWithPath: path)
      let text: String
      do {
        text = try String(contentsOf: url, encoding: .utf8)
      } catch {
        throw CommandFailure("cannot read the key file \(url.path): \(error.localizedDescription)")
      }
      let key: SigningKey
      do {
        key = try SigningKey(fileText: text)
      } catch var error as SamhandError {
        error.fileURL = url
        throw error
      }
      if let mode = (try? FileManager.default.attributesOfItem(atPath: url.path))?[.posixPermissions] as? Int,
        mode & 0o077 != 0
      {
        Console.warning("the key file \(url.path) can be read by others: keep it private (chmod 600)")
      }
      return key
    }

    /// Reads a genesis roster for a new folder. The founding office must be
    /// in it; listed without a key, it gets this installation's key.
    static func readRoster(_ path: String, founder: ReplicaID, key: PublicKey) throws -> Roster {
      let url = URL(fileURLWithPath: path)
      let data: Data
      do {
        data = try Data(contentsOf: url)
      } catch {
        throw CommandFailure("cannot read the roster file \(url.path): \(error.localizedDescription)")
      }
      var roster: Roster
      do {
        roster = try Roster(json: data)
      } catch var error as SamhandError {
        error.fileURL = url
        throw error
      }
      guard let member = roster.members[founder] else {
        throw CommandFailure(
          "\(url.path) does not list \(founder), the office creating the store: add {\"slug\": \"\(founder)\", \"kind\": \"…\"} to its offices"
        )
      }
      if member.keys.isEmpty {
        roster.members[founder]?.keys = [key]
      } else if !member.keys.contains(key) {
        throw CommandFailure(
          "\(url.path) lists \(founder) with key \(member.keys.sorted().map(\.fingerprint).joined(separator: ", ")), not this installation's \(key.fingerprint): pass --key FILE with the matching private key, or leave the office's keys out"
        )
      }
      return roster
    }

    static func readSchema(_ path: String) throws -> Schema {
      let url = URL(fileURLWithPath: path)
      let data: Data
      do {
        data = try Data(contentsOf: url)
      } catch {
        throw CommandFailure(
          "cannot read the schema file \(url.path): \(error.localizedDescription)")
      }
      do {
        return try Schema(json: data)
      } catch var error as SamhandError {
        error.fileURL = url
        throw error
      }
    }
  }
}
