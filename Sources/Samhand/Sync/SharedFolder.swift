import Foundation

/// The shared folder that offices replicate through.
///
/// ```
/// F/samhand.json                       store identity, format version, schema
/// F/changesets/<office>/<seq>.changeset immutable changeset files
/// F/heads/<office>.json                 each office's frontier and snapshot hash
/// F/checkpoints/<office>/<name>.checkpoint  the state at a stable frontier, and
/// F/checkpoints/<office>/<name>.signature   the office's signature of it
/// ```
///
/// A replica writes only under its own office's names, always to a
/// temporary name first. Readers pass over names they do not own.
///
/// Every file is read and written through ``exchange``: a ``LocalFolder``
/// for a directory, a ``WebDAVFolder`` for an `https://` URL, or any other
/// ``Exchange``.
public struct SharedFolder: Sendable, Hashable {
  /// The folder's location: a standardised file URL, or the `http(s)` URL
  /// of a WebDAV collection (ending in `/`, with no credentials in it).
  public let url: URL
  /// What the folder's files are listed, read and written through.
  public let exchange: any Exchange

  /// The folder layout version written in `samhand.json`. Version 2 added
  /// the genesis roster; a version 1 folder has none, and its replicas
  /// check no signatures. Version 3 added checkpoints and pruning: offices
  /// may delete changeset files a checkpoint covers, so a Samhand that
  /// does not know checkpoints must not read such a folder. Version 4 has
  /// a genesis roster of format 2, in which a key counts only once an
  /// administrator has confirmed it: a Samhand that would accept the first
  /// key an office signs with must not read such a folder. Version 5 lets
  /// changesets write their dependencies against the author's previous
  /// changeset (changeset format 2), which a Samhand that reads only
  /// format 1 cannot read. Version 6 lets an office fold its older
  /// changeset files into pack files (``PackFile``) and delete the loose
  /// ones: a Samhand that does not read packs must not read such a folder.
  /// Version 7 is a folder made with `--encrypt`: its payloads are sealed
  /// with a group key (``GroupKey``), and only such folders have it; a
  /// folder in plain form stays at 6.
  public static let formatVersion = 7
  /// The first layout whose changesets may be of format 2.
  static let deltaLayout = 5
  /// The first layout in which offices write pack files.
  static let packLayout = 6
  /// The layout of an encrypted folder: its genesis roster names the cipher.
  static let encryptedLayout = 7
  /// The layout of a new folder in plain form (not encrypted): 6.
  public static let plainLayout = 6

  /// The newest layout for a folder with this roster: a genesis roster of
  /// format 1 (keys claimed on first use) keeps the folder at layout 3 or
  /// below, since its hash, pinned by every office, cannot change.
  static func newestLayout(for roster: Roster?) -> Int {
    guard let roster else { return 1 }
    if roster.isEncrypted { return encryptedLayout }
    return roster.formatVersion >= 2 ? plainLayout : 3
  }
  static let identityFileName = "samhand.json"
  static let changesetsDirectory = "changesets"
  static let headsDirectory = "heads"

  /// Refers to the shared folder at `url`; nothing is read or checked yet.
  /// A file URL is a ``LocalFolder``; an `http` or `https` URL a
  /// ``WebDAVFolder``, whose problems (credentials in the URL, plain http
  /// to another machine) are reported when it is first used.
  public init(_ url: URL) {
    if url.isFileURL || url.scheme == nil {
      self.init(exchange: LocalFolder(url))
    } else {
      self.init(exchange: WebDAVFolder(url))
    }
  }

  /// Refers to a shared folder reached through any exchange.
  public init(exchange: any Exchange) {
    self.exchange = exchange
    self.url = exchange.url
  }

  public static func == (lhs: SharedFolder, rhs: SharedFolder) -> Bool { lhs.url == rhs.url }
  public func hash(into hasher: inout Hasher) { hasher.combine(url) }

  /// The folder in words, for messages and for the store to find it
  /// again: its path, or its URL.
  public var location: String { SharedFolder.describe(url) }

  /// The URL of a folder as ``location`` wrote it: a URL with a scheme,
  /// else a path.
  static func url(stored location: String) -> URL {
    if location.hasPrefix("http://") || location.hasPrefix("https://"), let url = URL(string: location) { return url }
    return URL(fileURLWithPath: location)
  }

  /// A file URL's path, any other URL whole.
  static func describe(_ url: URL) -> String { url.isFileURL ? url.path : url.absoluteString }

  /// What `samhand.json` says: which store this folder belongs to, and its schema.
  public struct Identity: Sendable, Hashable {
    /// The store the folder belongs to.
    public var storeID: StoreID
    /// The folder layout version: the one `samhand.json` states, or this
    /// Samhand's for a new identity.
    public var formatVersion: Int
    /// The store's schema.
    public var schema: Schema
    /// The genesis roster, fixed when the folder was created; nil in a
    /// layout 1 folder.
    public var roster: Roster?

    /// Creates an identity in this Samhand's folder layout version.
    public init(storeID: StoreID, schema: Schema, roster: Roster? = nil) {
      self.storeID = storeID
      self.formatVersion = SharedFolder.newestLayout(for: roster)
      self.schema = schema
      self.roster = roster
    }

    /// The newest changeset format the folder's files may have: 2 from
    /// layout 5 on, else 1.
    public var changesetFormat: UInt16 {
      formatVersion >= SharedFolder.deltaLayout ? ChangesetFile.newestFormatVersion : ChangesetFile.formatVersion
    }

    /// The canonical bytes of `samhand.json`. They hold no time and no
    /// author, so every office that (re)writes the file writes the same bytes.
    public var canonicalJSON: Data {
      var fields: [(String, CanonicalJSON.Node)] = [
        ("format", .integer(Int64(formatVersion))),
        ("changeset_format", .integer(Int64(changesetFormat))),
        ("store_id", .string(storeID.rawValue)),
        ("schema", schema.canonicalNode),
      ]
      if let roster { fields.append(("roster", roster.canonicalNode)) }
      return CanonicalJSON.encode(.object(fields))
    }
  }

  var identityURL: URL { url.appendingPathComponent(SharedFolder.identityFileName) }
  var changesetsURL: URL { url.appendingPathComponent(SharedFolder.changesetsDirectory) }
  var headsURL: URL { url.appendingPathComponent(SharedFolder.headsDirectory) }

  /// The folder of one office's changesets.
  public func changesetsURL(for office: ReplicaID) -> URL {
    changesetsURL.appendingPathComponent(office.rawValue)
  }

  /// The path of one changeset file.
  public func changesetURL(_ id: Changeset.ID) -> URL {
    changesetsURL(for: id.author).appendingPathComponent(ChangesetFile.fileName(sequence: id.sequence))
  }

  /// The path of one pack file.
  public func packURL(of office: ReplicaID, _ range: ClosedRange<UInt64>) -> URL {
    changesetsURL(for: office).appendingPathComponent(PackFile.fileName(first: range.lowerBound, last: range.upperBound))
  }

  /// The head file of one office.
  public func headURL(for office: ReplicaID) -> URL {
    headsURL.appendingPathComponent("\(office.rawValue).json")
  }

  // MARK: - Identity

  /// Whether the folder holds its `samhand.json`. A store's own folder
  /// without one is most often a share that is not mounted.
  public var hasIdentity: Bool {
    exists(identityURL)
  }

  /// Whether the folder is there: a directory that exists, a collection the
  /// server lists. False too when it cannot be reached.
  public var isThere: Bool { ((try? exchange.list("")) ?? nil) != nil }

  /// Whether the folder holds files under an office's name: its changeset
  /// folder or its head.
  public func holdsFiles(of office: ReplicaID) -> Bool {
    exists(changesetsURL(for: office)) || exists(headURL(for: office))
  }

  /// Whether the folder has no `samhand.json` and no changesets: nothing to join.
  public var isUninitialised: Bool {
    guard let top = try? exchange.list("") else { return true }
    return !top.contains { $0.name == SharedFolder.identityFileName || $0.name == SharedFolder.changesetsDirectory }
  }

  /// Creates the folder (if needed) and writes `samhand.json`.
  ///
  /// - Throws: `SamhandError.storeExists` when the folder already belongs to a store.
  public func initialise(_ identity: Identity) throws {
    if exists(identityURL) {
      throw SamhandError(.storeExists, "\(location) already holds a Samhand store", fileURL: identityURL)
    }
    try writeIdentity(identity)
  }

  /// Raises a layout 2 folder to layout 3, so that offices may prune it.
  /// Samhand versions from before checkpoints then refuse the folder (with
  /// a message to upgrade), instead of waiting for pruned files for ever:
  /// run it once every office runs this Samhand. (A folder's roster, and so
  /// the rule for keys, cannot change: layout 4 is for new folders only.)
  ///
  /// - Returns: the layout before.
  @discardableResult
  public func upgradeLayout() throws -> Int {
    var identity = try identity()
    let before = identity.formatVersion
    guard identity.roster != nil else {
      throw SamhandError(
        .invalidArgument, "\(location) has layout 1 (no roster); it cannot be upgraded in place", fileURL: identityURL)
    }
    let newest = SharedFolder.newestLayout(for: identity.roster)
    guard before < newest else { return before }
    identity.formatVersion = newest
    try replace(identityURL, [UInt8](identity.canonicalJSON))
    return before
  }

  /// Writes `samhand.json` if it is missing (as after a wiped folder).
  func writeIdentity(_ identity: Identity) throws {
    _ = try create(identityURL, [UInt8](identity.canonicalJSON))
  }

  /// Reads and checks `samhand.json`.
  ///
  /// - Throws: `SamhandError.storeNotFound` when it is missing, `.io` when
  ///   it cannot be read, `.unsupportedFormat` for a newer layout,
  ///   `.invalidArgument` when malformed, `.invalidSchema` when the schema
  ///   in it is.
  public func identity() throws -> Identity {
    guard let bytes = try exchange.read(SharedFolder.identityFileName, kind: .identity, prefix: nil) else {
      throw SamhandError(.storeNotFound, "\(location) has no \(SharedFolder.identityFileName): not a Samhand folder", fileURL: identityURL)
    }
    return try SharedFolder.decodeIdentity(bytes, fileURL: identityURL)
  }

  static func decodeIdentity(_ bytes: [UInt8], fileURL: URL?) throws -> Identity {
    func malformed(_ detail: String) -> SamhandError {
      SamhandError(.invalidArgument, "\(identityFileName) is malformed: \(detail)", fileURL: fileURL)
    }
    let json: JSONValue
    do { json = try JSONValue.parse(Data(bytes)) } catch let error as SamhandError { throw malformed(error.message) }
    guard case .object(let top) = json else { throw malformed("expected an object") }
    guard case .integer(let format)? = top["format"] else { throw malformed("missing 'format'") }
    guard format >= 1 else { throw malformed("'format' must be 1 or more") }
    guard format <= Int64(formatVersion) else {
      throw SamhandError(
        .unsupportedFormat,
        "the folder uses layout format \(format), newer than this Samhand reads (\(formatVersion)); upgrade Samhand",
        fileURL: fileURL)
    }
    guard case .string(let storeText)? = top["store_id"], let storeID = StoreID(rawValue: storeText) else {
      throw malformed("missing or invalid 'store_id'")
    }
    guard let schemaJSON = top["schema"] else { throw malformed("missing 'schema'") }
    let schema = try Schema(jsonValue: schemaJSON)
    var roster: Roster?
    if format >= 2 {
      guard let rosterJSON = top["roster"] else { throw malformed("missing 'roster' (layout 2 and later have one)") }
      do { roster = try Roster(jsonValue: rosterJSON) } catch let error as SamhandError {
        if error.code == .unsupportedFormat { throw SamhandError(.unsupportedFormat, error.message, fileURL: fileURL) }
        throw malformed(error.message)
      }
      // Layout 4 came with roster format 2; they go together.
      let rosterFormat = roster?.formatVersion ?? 1
      guard (format >= 4) == (rosterFormat >= 2) else {
        throw malformed("layout \(format) cannot hold a roster of format \(rosterFormat) (layout 4 and later hold format 2, earlier ones format 1)")
      }
      // Layout 7 is exactly the encrypted folders.
      guard (format >= Int64(encryptedLayout)) == (roster?.isEncrypted ?? false) else {
        throw malformed(
          format >= Int64(encryptedLayout)
            ? "layout \(format) is for encrypted folders, and its roster names no encryption"
            : "the roster names encryption, which needs layout \(encryptedLayout), not \(format)")
      }
    } else if top["roster"] != nil {
      throw malformed("a layout 1 folder has no 'roster'")
    }
    var identity = Identity(storeID: storeID, schema: schema, roster: roster)
    identity.formatVersion = Int(format)
    return identity
  }

  // MARK: - Listing

  /// One file found under `changesets/<office>/`.
  struct Entry {
    var office: ReplicaID
    var name: String
    var url: URL
    var kind: FolderName
    var size: Int64
    /// Microseconds since 1970.
    var modified: Int64
    /// What `lstat` says it is: anything but a regular file is refused when read.
    var type: ExchangeItem.FileType = .regular
    /// For a changeset read from a pack (`name` is the pack's), its number.
    var member: UInt64?

    /// Path relative to the shared folder, as stored and reported; a
    /// changeset in a pack is `<pack path>#<number>`.
    var relativePath: String {
      let path = "\(SharedFolder.changesetsDirectory)/\(office.rawValue)/\(name)"
      guard let member else { return path }
      return "\(path)#\(member)"
    }
  }

  /// Lists every file in the office folders, with size and modification time.
  ///
  /// - Parameters:
  ///   - top: the folder's top, when the caller has just listed it.
  ///   - only: which office folders to open, asked with each office and
  ///     its folder as `changesets/` lists it; all when nil.
  /// - Returns: the entries; how many names were passed over (folders
  ///   that are not office slugs, files directly in `changesets/`, …); and
  ///   office folders that could not be listed, with the reason. One such
  ///   folder does not stop the others from being read.
  /// - Throws: `SamhandError.io` when `changesets/` itself cannot be listed.
  func listChangesets(top listedTop: [ExchangeItem]? = nil, only: ((ReplicaID, ExchangeItem) -> Bool)? = nil) throws
    -> (entries: [Entry], ignored: Int, unreadable: [FolderProblem], listed: [ReplicaID: ExchangeItem?])
  {
    guard let top = try (listedTop ?? exchange.list(""))?.first(where: { $0.name == SharedFolder.changesetsDirectory }) else {
      return ([], 0, [], [:])
    }
    guard top.type == .directory else {
      // A link here could point anywhere: nothing under it is read.
      return (
        [], 0,
        [
          FolderProblem(
            path: SharedFolder.changesetsDirectory,
            reason: top.type == .symbolicLink
              ? "is a symbolic link: Samhand does not follow links in the shared folder, so no changeset is read from it"
              : "is \(top.typeName), not a folder: no changeset is read from it")
        ], [:]
      )
    }
    var unreadable: [FolderProblem] = []
    var entries: [Entry] = []
    var ignored = 0
    // Each office folder opened, with its state; nil when it could not be.
    var listed: [ReplicaID: ExchangeItem?] = [:]
    let offices = try exchange.list(SharedFolder.changesetsDirectory) ?? []
    for item in offices {
      guard let office = ReplicaID(rawValue: item.name) else {
        ignored += 1
        continue
      }
      guard item.type == .directory || item.type == .symbolicLink else {
        // A file named like an office: not a folder of ours.
        ignored += 1
        continue
      }
      guard item.type == .directory else {
        listed[office] = .some(nil)
        unreadable.append(
          FolderProblem(
            path: "\(SharedFolder.changesetsDirectory)/\(office.rawValue)",
            reason: "is a symbolic link: Samhand does not follow links in the shared folder, so its changesets are not read"))
        continue
      }
      if let only, !only(office, item) { continue }
      listed[office] = .some(nil)
      let officeURL = changesetsURL(for: office)
      let files: [ExchangeItem]
      do {
        files = try exchange.list("\(SharedFolder.changesetsDirectory)/\(office.rawValue)") ?? []
      } catch let error as SamhandError {
        unreadable.append(
          FolderProblem(
            path: "\(SharedFolder.changesetsDirectory)/\(office.rawValue)",
            reason: error.code == .unsafeFile
              ? "is a symbolic link: Samhand does not follow links in the shared folder, so its changesets are not read"
              : "\(error.message); its files are read at the next sync once it can be listed"))
        continue
      }
      for file in files {
        guard file.type != .directory else {
          ignored += 1
          continue
        }
        entries.append(
          Entry(
            office: office, name: file.name, url: officeURL.appendingPathComponent(file.name), kind: FolderName(file.name),
            size: file.size, modified: file.modified, type: file.type))
      }
      listed[office] = .some(item)
    }
    entries.sort { lhs, rhs in
      lhs.office != rhs.office ? lhs.office < rhs.office : lhs.name.utf8.lexicographicallyPrecedes(rhs.name.utf8)
    }
    return (entries, ignored, unreadable, listed)
  }
}

// MARK: - Files, by their URLs inside the folder

extension SharedFolder {
  /// The path of a file or folder inside the shared folder, relative to its top.
  func path(of url: URL) -> String {
    let base = self.url.path.hasSuffix("/") ? self.url.path : self.url.path + "/"
    let full = url.path
    precondition(full == self.url.path || full.hasPrefix(base), "\(full) is not inside \(self.url.path)")
    return full == self.url.path ? "" : String(full.dropFirst(base.count))
  }

  /// What is under a name: its type, size and time; nil when nothing is
  /// there (or its folder cannot be listed).
  func status(_ url: URL) -> ExchangeItem? {
    let path = path(of: url)
    let parent = path.split(separator: "/").dropLast().joined(separator: "/")
    let name = url.lastPathComponent
    return (try? exchange.list(parent))??.first { $0.name == name }
  }

  /// Whether anything is under a name.
  func exists(_ url: URL) -> Bool { status(url) != nil }

  /// A whole file, refused unless it is a regular file within its kind's limit.
  ///
  /// - Throws: `SamhandError.io` when nothing is there, `.unsafeFile`,
  ///   `.tooLarge` or `.io` as the exchange says.
  func read(_ url: URL, kind: FolderFileKind) throws -> [UInt8] {
    guard let bytes = try exchange.read(path(of: url), kind: kind, prefix: nil) else {
      throw SamhandError(.io, "cannot read \(SharedFolder.describe(url)): No such file or directory", fileURL: url)
    }
    return bytes
  }

  /// The first `count` bytes of a file, with the checks of ``read(_:kind:)``.
  func readPrefix(_ url: URL, count: Int, kind: FolderFileKind) throws -> [UInt8] {
    guard let bytes = try exchange.read(path(of: url), kind: kind, prefix: count) else {
      throw SamhandError(.io, "cannot read \(SharedFolder.describe(url)): No such file or directory", fileURL: url)
    }
    return bytes
  }

  /// Creates a file only if nothing is under its name; false when something is.
  func create(_ url: URL, _ bytes: [UInt8]) throws -> Bool { try exchange.create(path(of: url), bytes) }

  /// Writes a file, replacing what is under its name, atomically.
  func replace(_ url: URL, _ bytes: [UInt8]) throws { try exchange.replace(path(of: url), bytes) }

  /// Deletes a file, if it is there.
  func delete(_ url: URL) throws { try exchange.delete(path(of: url)) }
}

extension SharedFolder.Identity {
  /// Reads `samhand.json` from its bytes, checking every field.
  ///
  /// - Parameters:
  ///   - bytes: the file's contents.
  ///   - fileURL: where they came from, for error messages.
  /// - Throws: `SamhandError.unsupportedFormat` for a newer layout,
  ///   `.invalidArgument` when malformed, `.invalidSchema` for a bad schema.
  public init(json bytes: [UInt8], fileURL: URL? = nil) throws {
    self = try SharedFolder.decodeIdentity(bytes, fileURL: fileURL)
  }
}
