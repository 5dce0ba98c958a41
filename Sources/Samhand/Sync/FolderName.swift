/// What a name found in a shared folder's `changesets/<office>/` is.
///
/// Sync tools leave their own files next to ours: partial downloads,
/// temporary files, conflict copies. Samhand reads only names it wrote
/// (and conflict copies of them, which it verifies); everything else is
/// passed over.
enum FolderName: Equatable {
  /// `000000000042.changeset`: a changeset file as Samhand writes it.
  case changeset(sequence: UInt64)
  /// A sync tool's copy of a changeset file, such as
  /// `000000000042.sync-conflict-20261121-101500-ABCDEFG.changeset`,
  /// `000000000042 (host's conflicted copy 2026-11-21).changeset` or
  /// `000000000042-HOST.changeset`.
  case conflictCopy(sequence: UInt64)
  /// `000000000001-000000000064.pack`: the office's changesets 1 to 64 in
  /// one pack file (layout 6).
  case pack(ClosedRange<UInt64>)
  /// A temporary or lock file of Samhand or of a sync tool; never read.
  case temporary
  /// Anything else (`desktop.ini`, `.DS_Store`, `Thumbs.db`, …); never read.
  case foreign

  init(_ name: String) {
    if let sequence = ChangesetFile.sequence(fromFileName: name) {
      self = .changeset(sequence: sequence)
      return
    }
    if let range = PackFile.range(fromFileName: name) {
      self = .pack(range)
      return
    }
    let lower = name.lowercased()
    if lower.hasPrefix(AtomicFile.temporaryPrefix) || lower.hasPrefix(".syncthing.") || lower.hasPrefix("~syncthing~")
      || lower.hasPrefix("~$") || lower.hasPrefix(".~lock.") || lower.hasSuffix(".tmp") || lower.hasSuffix(".partial")
      || lower.hasSuffix(".part") || lower.hasSuffix(".crdownload") || lower.hasSuffix("#")
    {
      self = .temporary
      return
    }
    // A conflict copy starts with the twelve digits of a changeset name and
    // ends with its extension, with the sync tool's words in between.
    let bytes = Array(name.utf8)
    let suffix = Array(("." + ChangesetFile.fileExtension).utf8)
    if bytes.count > 12 + suffix.count, bytes.suffix(suffix.count).elementsEqual(suffix),
      bytes[0..<12].allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
      [UInt8(ascii: "."), UInt8(ascii: " "), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "(")].contains(bytes[12]),
      let sequence = UInt64(String(decoding: bytes[0..<12], as: UTF8.self)), sequence > 0
    {
      self = .conflictCopy(sequence: sequence)
      return
    }
    self = .foreign
  }
}
