import Foundation

/// What replication needs of the place offices exchange files through:
/// list, read, create, replace and delete, by paths relative to the
/// shared folder's top (`samhand.json`, `changesets/ks/1.changeset`).
///
/// ``SharedFolder`` reads and writes only through this protocol, and so do
/// the merge, the store and every check of the files it finds (damaged,
/// forged, conflict copies, collisions, set-aside). Two implementations
/// ship with Samhand: ``LocalFolder`` for a directory (an SMB share, a
/// OneDrive, Dropbox or Syncthing folder) and ``WebDAVFolder`` for an
/// `https://` WebDAV collection (SharePoint, OneDrive for Business,
/// Nextcloud, Apache `mod_dav`). The layout, the file names and the bytes
/// are the same in both (`Docs/FORMATS.md`, "The exchange").
///
/// Paths use `/` between names; names are those of the layout, never
/// `.` or `..`. An implementation must give these guarantees, which the
/// rest of Samhand relies on:
///
/// - **Whole files.** ``read(_:kind:prefix:)`` returns a file as one
///   writer wrote it, never part of a write in progress; a reader may see
///   a file appear only once it is complete.
/// - **Create-only.** ``create(_:_:)`` writes a file only when nothing is
///   under its name, atomically: of two writers creating one name at once,
///   one wins and the other learns so, and nothing is overwritten. Samhand
///   creates changeset files this way, so two installations writing as
///   one office cannot overwrite each other's changesets.
/// - **Atomic replace.** ``replace(_:_:)`` swaps a file for new bytes so
///   that a reader sees the old file or the new one, whole. Heads and
///   checkpoints are written this way.
/// - **No links followed.** Anything at a name that is not a plain file
///   or folder (a symbolic link, a FIFO, a device) is listed as what it is
///   and never opened: anyone who can write to the folder can put one there.
/// - **Bounded reads.** A file over its kind's limit (``FolderFileKind/limit``)
///   is refused with `SamhandError.tooLarge` without being read whole.
/// - **Errors that name the place.** Failures throw `SamhandError` naming
///   the file or folder (and for a server, its status), never a credential.
public protocol Exchange: Sendable {
  /// Where the exchange is: a file URL, or an `http(s)` URL with no
  /// credentials in it. Files are named in messages relative to it.
  var url: URL { get }

  /// What is directly in a folder (`""` for the top, `"changesets"`,
  /// `"changesets/ks"`): each name with its type, size and modification
  /// time; nil when the folder is not there.
  ///
  /// - Throws: `SamhandError.unsafeFile` when the name is a link or a file
  ///   rather than a folder; `.io` when it cannot be listed.
  func list(_ directory: String) throws -> [ExchangeItem]?

  /// A file's bytes, or its first `prefix` bytes; nil when nothing is there.
  ///
  /// - Throws: `SamhandError.unsafeFile` for anything but a regular file;
  ///   `.tooLarge` for a file over `kind.limit` (not read); `.io` otherwise.
  func read(_ path: String, kind: FolderFileKind, prefix: Int?) throws -> [UInt8]?

  /// Creates a file, and the folders above it, only if nothing is under
  /// its name.
  ///
  /// - Returns: false, with nothing written, when something is already there.
  func create(_ path: String, _ bytes: [UInt8]) throws -> Bool

  /// Writes a file, and the folders above it, replacing whatever file is
  /// under its name, atomically.
  func replace(_ path: String, _ bytes: [UInt8]) throws

  /// Deletes a file; a name with nothing under it is not an error.
  func delete(_ path: String) throws
}

/// One name found in a folder of an ``Exchange``.
public struct ExchangeItem: Sendable, Hashable {
  /// What is under the name.
  public enum FileType: Sendable, Hashable {
    case regular, directory, symbolicLink, fifo, device, socket, other
  }

  /// The name, without the folder.
  public var name: String
  /// Its type: anything but a regular file or folder is never opened.
  public var type: FileType
  /// Its size in bytes (0 for a folder).
  public var size: Int64
  /// When it last changed, in microseconds since 1970 (0 when unknown).
  /// Together with the size it tells whether a file read before changed.
  public var modified: Int64
  /// What the exchange offers beside the time to tell a change, when it
  /// has one: a WebDAV server's entity tag, which changes with every
  /// write even within the second its time is rounded to. Nil for a
  /// local folder, whose times are fine enough.
  public var tag: String?

  public init(name: String, type: FileType, size: Int64, modified: Int64, tag: String? = nil) {
    self.name = name
    self.type = type
    self.size = size
    self.modified = modified
    self.tag = tag
  }

  /// Whether the item is as it was when `stamp` was taken: the same type,
  /// size, time and tag. Folders and files that are not immutable are
  /// judged by this before being read again.
  func matches(_ stamp: ExchangeItem.Stamp?) -> Bool {
    guard let stamp, modified != 0 else { return false }
    return stamp == self.stamp
  }

  /// The type, size, time and tag of an item, as kept between syncs.
  struct Stamp: Hashable, Sendable {
    var size: Int64
    var modified: Int64
    var tag: String
  }

  var stamp: Stamp { Stamp(size: size, modified: modified, tag: (type == .directory ? "d:" : "f:") + (tag ?? "")) }

  /// The type in words, for messages.
  var typeName: String {
    switch type {
    case .regular: "a file"
    case .directory: "a folder"
    case .symbolicLink: "a symbolic link"
    case .fifo: "a FIFO (named pipe)"
    case .device: "a device"
    case .socket: "a socket"
    case .other: "not a regular file"
    }
  }

  /// Why the file is not read as a file of `kind`, or nil when it is a
  /// regular file within the kind's limit.
  func refusal(as kind: FolderFileKind) -> String? {
    guard type == .regular else {
      return type == .symbolicLink
        ? "a symbolic link: Samhand does not follow links in the shared folder"
        : "\(typeName), not a regular file: not opened"
    }
    guard size <= Int64(kind.limit) else {
      return "\(size) bytes, over the limit of \(kind.limit) bytes for \(kind.noun): not read"
    }
    return nil
  }
}
