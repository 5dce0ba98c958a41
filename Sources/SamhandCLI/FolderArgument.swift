import ArgumentParser
import Foundation

/// Checks on a `--folder` argument, shared by every command that takes one.
enum FolderArgument {
  /// Refuses a URL (`https://host/delt/`, `smb://…`, `file://…`): Samhand
  /// reads and writes shared folders through the file system only, and a
  /// URL taken as a path would create a folder named `https:` here.
  ///
  /// - Throws: a `ValidationError` (exit code 64) before anything is created.
  static func validate(_ text: String?, option: String = "--folder") throws {
    guard let text, let scheme = urlScheme(text) else { return }
    throw ValidationError(
      "\(option) '\(text)' is a URL (\(scheme)://), but a shared folder must be a path in the file system: mount the share (SMB, WebDAV, a OneDrive or Dropbox folder) and give the path where it is mounted. Nothing was created."
    )
  }

  /// The scheme of `scheme://…` (RFC 3986: a letter, then letters, digits,
  /// `+`, `-` or `.`), or nil for anything else.
  static func urlScheme(_ text: String) -> String? {
    guard let range = text.range(of: "://") else { return nil }
    let scheme = text[..<range.lowerBound]
    guard let first = scheme.unicodeScalars.first, first.isASCII, CharacterSet.letters.contains(first),
      scheme.unicodeScalars.allSatisfy({
        $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "+-.".unicodeScalars.contains($0))
      })
    else { return nil }
    return String(scheme)
  }
}
