import Foundation
import GRDB
import Synchronization

/// One office's full replica: a SQLite database in a folder of its own.
///
/// All replica state lives in the database, and every read or write goes
/// through GRDB's serial `DatabaseQueue`; the only other state, the list of
/// `changes()` subscribers, sits behind a mutex. So a store can be shared
/// between tasks.
///
/// ```swift
/// let store = try Store.create(at: folder, replica: "vestland", storeID: .random(), schema: schema)
/// try store.transact { tx in
///   try tx.set("cases", "sak-1", "title", .text("Felles løft for samfunnsdelen"))
/// }
/// ```
public final class Store: Sendable {
  /// The folder that holds the store.
  public let directory: URL
  /// The office this replica writes as.
  public let replica: ReplicaID
  /// The id of the store this replica belongs to.
  public let storeID: StoreID
  /// The schema every write is checked against, fixed when the store was created.
  public let schema: Schema
  /// The roster pinned when the replica was created; nil for a store that
  /// checks no signatures.
  let genesis: Roster?
  let database: DatabaseQueue
  /// Subscribers to `changes()`, by subscription.
  let observers = Mutex<[UUID: AsyncStream<StoreChange>.Continuation]>([:])
  /// Decoded roster changes and the last roster folded from them, so that
  /// judging a changeset does not decode every roster change again.
  let rosterCache = Mutex(RosterCache())
  /// The group keys held, read once (`Store+Encryption.swift`); read
  /// again when a key is asked for that it lacks.
  let keyringCache = Mutex<GroupKeyring?>(nil)

  /// The database file inside a store's folder.
  public static let databaseFileName = "replica.sqlite"
  /// Version 2 added signing keys, the roster and rights; version 3 the
  /// per-record pieces of the snapshot hash; version 4 checkpoints;
  /// version 5 unconfirmed claims, several buffered files under one
  /// number, and collisions that people have cleared; version 6 one row
  /// per record for its whole merge state (`Docs/STORAGE.md`).
  static let storeFormatVersion = 7

  private init(directory: URL, database: DatabaseQueue) throws {
    self.directory = directory
    self.database = database
    let meta: [String: String]
    do {
      try Store.migrate(database, directory: directory)
      meta = try database.read { db in
        try Dictionary(
          uniqueKeysWithValues: Row.fetchAll(db, sql: "SELECT key, value FROM meta").map {
            ($0["key"] as String, $0["value"] as String)
          })
      }
    } catch let error as DatabaseError {
      throw SamhandError(.storage, "cannot read the store database: \(error.message ?? "\(error)")", fileURL: directory)
    }
    guard let format = meta["format"].flatMap(Int.init) else {
      throw SamhandError(.storeNotFound, "\(directory.path) holds no Samhand store (no format in its database)")
    }
    guard format <= Store.storeFormatVersion else {
      throw SamhandError(
        .unsupportedFormat,
        "store format \(format) is newer than this Samhand reads (\(Store.storeFormatVersion)); upgrade Samhand",
        fileURL: directory)
    }
    guard let replicaText = meta["replica"], let replica = ReplicaID(rawValue: replicaText),
      let storeText = meta["store_id"], let storeID = StoreID(rawValue: storeText),
      let schemaText = meta["schema"]
    else {
      throw SamhandError(.storage, "the store's identity is damaged", fileURL: directory)
    }
    self.replica = replica
    self.storeID = storeID
    self.schema = try Schema(json: Data(schemaText.utf8))
    self.genesis = try meta["genesis_roster"].map { try Roster(json: Data($0.utf8)) }
  }

  /// Brings a store of an earlier format up to this one, in one transaction.
  private static func migrate(_ database: DatabaseQueue, directory: URL) throws {
    // Read first: a store that needs nothing opens without a write, so
    // reading works on a full disk or a read-only folder.
    let format = try database.read { db in try meta(db, "format").flatMap(Int.init) }
    guard let format, format < storeFormatVersion else { return }
    try database.write { db in
      guard let format = try meta(db, "format").flatMap(Int.init), format < storeFormatVersion else { return }
      if format < 2 {
        try createTrustTables(db)
        if try meta(db, "signing_key") == nil {
          try setMeta(db, "signing_key", Data(SigningKey.generate().seed).base64EncodedString())
        }
      }
      if format < 4 {
        try createLongLifeTables(db)
      }
      if format < 5 {
        try db.execute(
          sql: """
            CREATE TABLE pending_5(
              author TEXT NOT NULL, seq INTEGER NOT NULL, hash BLOB NOT NULL,
              bytes BLOB NOT NULL, deps BLOB NOT NULL,
              PRIMARY KEY(author, seq, hash)) WITHOUT ROWID;
            INSERT INTO pending_5(author, seq, hash, bytes, deps) SELECT author, seq, hash, bytes, deps FROM pending;
            DROP TABLE pending;
            ALTER TABLE pending_5 RENAME TO pending;
            """)
        let columns = try db.columns(in: "collisions").map(\.name)
        if !columns.contains("cleared") {
          try db.execute(sql: "ALTER TABLE collisions ADD COLUMN cleared INTEGER NOT NULL DEFAULT 0")
        }
        if !columns.contains("other_bytes") {
          try db.execute(sql: "ALTER TABLE collisions ADD COLUMN other_bytes BLOB")
        }
        try createClaimTables(db)
      }
      if format < 6 {
        try migrateToRecords(db)
      }
      if format < 7 {
        try createListingTables(db)
      }
      try setMeta(db, "format", String(storeFormatVersion))
    }
  }

  // MARK: - Creating and opening

  /// Creates a new, empty replica in `directory` (created if missing).
  ///
  /// - Throws: `SamhandError.storeExists` if a store is already there.
  ///
  /// Such a store makes a signing key and signs what it writes, but has no
  /// roster, so it checks no signatures or rights: it is for programs that
  /// exchange changesets by other means. Stores made with a shared folder
  /// (``create(folder:at:replica:schema:roster:)``, ``join(folder:at:replica:trust:key:progress:)``)
  /// pin the folder's roster and check everything they receive.
  public static func create(
    at directory: URL, replica: ReplicaID, storeID: StoreID, schema: Schema
  ) throws -> Store {
    try create(at: directory, replica: replica, storeID: storeID, schema: schema, genesis: nil, key: nil)
  }

  /// Creates a store that pins `genesis` (nil for none) and signs with `key` (a new one when nil).
  static func create(
    at directory: URL, replica: ReplicaID, storeID: StoreID, schema: Schema, genesis: Roster?, key: SigningKey?
  ) throws -> Store {
    let file = directory.appendingPathComponent(databaseFileName)
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), !isDirectory.boolValue {
      throw SamhandError(.invalidArgument, "\(directory.path) is a file, not a folder for a store", fileURL: directory)
    }
    if FileManager.default.fileExists(atPath: file.path) {
      throw SamhandError(.storeExists, "a store already exists in \(directory.path)", fileURL: directory)
    }
    do {
      try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    } catch {
      throw SamhandError(.io, "cannot create the store folder: \(AtomicFile.reason(error))", fileURL: directory)
    }
    // Only the office may read its replica: it holds the private key and personal data.
    // SQLite gives its -wal and -shm files the database file's mode.
    try? FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: directory.path)
    guard FileManager.default.createFile(atPath: file.path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
      throw SamhandError(.io, "cannot create \(file.path)", fileURL: file)
    }
    let database = try openDatabase(file)
    try database.write { db in
      try createTables(db)
      try writeMeta(db, replica: replica, storeID: storeID, schema: schema, genesis: genesis, key: key ?? .generate())
    }
    return try Store(directory: directory, database: database)
  }

  static func writeMeta(
    _ db: Database, replica: ReplicaID, storeID: StoreID, schema: Schema, genesis: Roster?, key: SigningKey,
    extra: [(String, String)] = []
  ) throws {
    var meta: [(String, String)] = [
      ("format", String(storeFormatVersion)), ("replica", replica.rawValue),
      ("store_id", storeID.rawValue), ("schema", String(decoding: schema.canonicalJSON, as: UTF8.self)),
      ("lamport", "0"), ("signing_key", Data(key.seed).base64EncodedString()),
    ] + extra
    if let genesis { meta.append(("genesis_roster", String(decoding: genesis.canonicalJSON, as: UTF8.self))) }
    for (key, value) in meta {
      try db.execute(sql: "INSERT INTO meta(key, value) VALUES (?, ?)", arguments: [key, value])
    }
  }

  /// Creates a replica held in memory only, for reading a folder without a store of one's own.
  static func createInMemory(replica: ReplicaID, storeID: StoreID, schema: Schema, genesis: Roster?) throws -> Store {
    let database = try DatabaseQueue()
    try database.write { db in
      try createTables(db)
      try writeMeta(
        db, replica: replica, storeID: storeID, schema: schema, genesis: genesis, key: .generate(),
        extra: [("recovering", "1")])
    }
    return try Store(directory: URL(fileURLWithPath: "/dev/null"), database: database)
  }

  /// Opens an existing replica.
  ///
  /// - Throws: `SamhandError.storeNotFound` when `directory` holds no store.
  public static func open(at directory: URL) throws -> Store {
    let file = directory.appendingPathComponent(databaseFileName)
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory) else {
      throw SamhandError(.storeNotFound, "no store at \(directory.path) (run 'samhand init' first)", fileURL: directory)
    }
    guard isDirectory.boolValue else {
      throw SamhandError(.storeNotFound, "\(directory.path) is a file, not a store folder", fileURL: directory)
    }
    guard FileManager.default.fileExists(atPath: file.path) else {
      if access(directory.path, X_OK) != 0 {
        throw SamhandError(
          .io, "cannot look inside the store folder \(directory.path): \(String(cString: strerror(errno)))", fileURL: directory)
      }
      throw SamhandError(.storeNotFound, "no store in \(directory.path) (missing \(databaseFileName))", fileURL: directory)
    }
    return try Store(directory: directory, database: try openDatabase(file))
  }

  static func openDatabase(_ file: URL) throws -> DatabaseQueue {
    var configuration = Configuration()
    configuration.busyMode = .timeout(30)
    configuration.prepareDatabase { db in
      try db.execute(sql: "PRAGMA journal_mode = WAL")
      // FULL: a commit reported to the caller survives a power cut too.
      try db.execute(sql: "PRAGMA synchronous = FULL")
    }
    do {
      return try DatabaseQueue(path: file.path, configuration: configuration)
    } catch let error as DatabaseError {
      throw SamhandError(.storage, "cannot open the store database: \(error.message ?? "\(error)")", fileURL: file)
    }
  }

  package static func createTables(_ db: Database) throws {
    try db.execute(
      sql: """
        CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE frontier(replica TEXT PRIMARY KEY, counter INTEGER NOT NULL);
        CREATE TABLE changesets(
          author TEXT NOT NULL, seq INTEGER NOT NULL, lamport INTEGER NOT NULL,
          wall INTEGER NOT NULL, hash BLOB NOT NULL, deps BLOB NOT NULL,
          rejected TEXT, published INTEGER NOT NULL DEFAULT 0,
          PRIMARY KEY(author, seq)) WITHOUT ROWID;
        -- The exact file bytes, apart, so that reading a changeset's
        -- metadata never reads a large file.
        CREATE TABLE changeset_files(
          author TEXT NOT NULL, seq INTEGER NOT NULL, bytes BLOB NOT NULL,
          PRIMARY KEY(author, seq));
        CREATE INDEX changesets_unpublished ON changesets(published) WHERE published = 0;
        -- Several files may wait under one number: a forged one beside the real one.
        CREATE TABLE pending(
          author TEXT NOT NULL, seq INTEGER NOT NULL, hash BLOB NOT NULL,
          bytes BLOB NOT NULL, deps BLOB NOT NULL,
          PRIMARY KEY(author, seq, hash)) WITHOUT ROWID;
        CREATE TABLE folder_files(
          path TEXT PRIMARY KEY, size INTEGER NOT NULL, modified INTEGER NOT NULL) WITHOUT ROWID;
        CREATE TABLE set_aside(
          path TEXT PRIMARY KEY, code TEXT NOT NULL, reason TEXT NOT NULL,
          since INTEGER NOT NULL) WITHOUT ROWID;
        CREATE TABLE collisions(
          author TEXT NOT NULL, seq INTEGER NOT NULL, known_hash BLOB NOT NULL,
          other_hash BLOB NOT NULL, path TEXT NOT NULL, since INTEGER NOT NULL,
          cleared INTEGER NOT NULL DEFAULT 0, other_bytes BLOB,
          PRIMARY KEY(author, seq, other_hash)) WITHOUT ROWID;
        """)
    try createTrustTables(db)
    try createClaimTables(db)
    try createLongLifeTables(db)
    try createRecordsTable(db)
    try createListingTables(db)
  }

  // MARK: - Meta

  /// The version vector of every changeset this replica has applied.
  public func frontier() throws -> VersionVector {
    try read { db in try Store.readFrontier(db) }
  }

  static func readFrontier(_ db: Database) throws -> VersionVector {
    var vector = VersionVector()
    for row in try Row.fetchAll(try db.cachedStatement(sql: "SELECT replica, counter FROM frontier")) {
      if let replica = ReplicaID(rawValue: row[0]) { vector[replica] = UInt64(row[1] as Int64) }
    }
    return vector
  }

  static func meta(_ db: Database, _ key: String) throws -> String? {
    try String.fetchOne(try db.cachedStatement(sql: "SELECT value FROM meta WHERE key = ?"), arguments: [key])
  }

  static func setMeta(_ db: Database, _ key: String, _ value: String) throws {
    try db.cachedStatement(sql: "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)").execute(arguments: [key, value])
  }

  /// Runs a read, turning database failures into `SamhandError.storage`.
  ///
  /// A read made from inside this store's own database access on this
  /// thread (a sync's progress handler, called while the sync applies
  /// files) runs on that access's connection and sees what it has written
  /// so far, instead of waiting for itself.
  func read<T>(_ body: (Database) throws -> T) throws -> T {
    do {
      if let db = activeDatabase { return try body(db) }
      return try database.read { db in
        defer { try? endMerge(commit: false) }
        return try withActive(db) { try body(db) }
      }
    } catch let error as DatabaseError {
      throw SamhandError(.storage, "database read failed: \(error.message ?? "\(error)")", fileURL: directory)
    }
  }

  /// The key under which a thread notes that it is inside this store's
  /// database access (made once: it is looked up on every access).
  private let activeKey = "samhand.store.\(UUID().uuidString)"
  /// The key under which a thread keeps this store's merge state (``MergeState``).
  let mergeKey = "samhand.merge.\(UUID().uuidString)"

  /// The connection of this store's database access that this thread is inside, if any.
  private var activeDatabase: Database? { Thread.current.threadDictionary[activeKey] as? Database }

  private func withActive<T>(_ db: Database, _ body: () throws -> T) rethrows -> T {
    let key = activeKey
    Thread.current.threadDictionary[key] = db
    defer { Thread.current.threadDictionary.removeObject(forKey: key) }
    return try body()
  }

  /// Runs a write in one transaction, turning database failures into `SamhandError.storage`.
  ///
  /// - Parameter durable: whether the commit must survive a power cut
  ///   (`synchronous = FULL`, an fsync per commit). Local writes are durable.
  ///   Imports need not be: any commit survives a crash of the process, and
  ///   what a power cut takes back is read again from the shared folder,
  ///   since the record of which files were read rolls back with it.
  func write<T>(durable: Bool = true, _ body: (Database) throws -> T) throws -> T {
    guard activeDatabase == nil else {
      // Nested in the sync's transaction, the write would stand or fall
      // with it: refuse rather than acknowledge what may be rolled back.
      throw SamhandError(
        .invalidArgument,
        "cannot write to the store from inside its own database access (for example a sync's progress handler); write after the sync",
        fileURL: directory)
    }
    do {
      return try database.writeWithoutTransaction { db in
        try db.cachedStatement(sql: durable ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL").execute()
        var result: T?
        do {
          try db.inTransaction(.immediate) {
            result = try withActive(db) {
              let value = try body(db)
              // The records the transaction changed, written before it commits.
              try endMerge(commit: true)
              return value
            }
            return .commit
          }
        } catch {
          try? endMerge(commit: false)
          throw error
        }
        return result!
      }
    } catch let error as DatabaseError {
      throw SamhandError(.storage, "database write failed: \(error.message ?? "\(error)")", fileURL: directory)
    }
  }
}
