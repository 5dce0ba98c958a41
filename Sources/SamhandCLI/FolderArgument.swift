import ArgumentParser
import Foundation
import Samhand

/// Checks on a `--folder` argument, shared by every command that takes one.
enum FolderArgument {
  /// Accepts a path, or the URL of a WebDAV collection (`https://HOST/PATH/`,
  /// `http://127.0.0.1:PORT/PATH/` for tests); refuses any other URL
  /// (`smb://…`, `file://…`), which taken as a path would create a folder
  /// named `smb:` here, and a URL with a user name or password in it.
  ///
  /// - Throws: a `ValidationError` (exit code 64) before anything is created.
  static func validate(_ text: String?, option: String = "--folder") throws {
    guard let text, let scheme = urlScheme(text) else { return }
    guard scheme.lowercased() == "https" || scheme.lowercased() == "http" else {
      throw ValidationError(
        "\(option) '\(text)' is a URL (\(scheme)://), but a shared folder is a path in the file system or a WebDAV URL (https://HOST/PATH/): mount the share (SMB, a OneDrive or Dropbox folder) and give the path where it is mounted. Nothing was created."
      )
    }
    guard let url = URL(string: text), let host = url.host, !host.isEmpty else {
      throw ValidationError("\(option) '\(text)' is not a URL Samhand can read: expected https://HOST/PATH/. Nothing was created.")
    }
    if url.user != nil || url.password != nil {
      throw ValidationError(
        "\(option): put no user name or password in the URL (it would be kept in the store and in shell histories); set SAMHAND_DAV_USER and SAMHAND_DAV_PASSWORD, or a netrc entry for \(host). Nothing was created."
      )
    }
    if scheme.lowercased() == "http", !WebDAVFolder.isLoopback(host) {
      throw ValidationError(
        "\(option) '\(text)': plain http is only for the loopback address (tests); use https://\(text.dropFirst("http://".count)). Nothing was created.")
    }
  }

  /// The shared folder a `--folder` argument names (validated before).
  static func folder(_ text: String) -> SharedFolder {
    if let scheme = urlScheme(text)?.lowercased(), scheme == "https" || scheme == "http", let url = URL(string: text) {
      return SharedFolder(url)
    }
    return SharedFolder(URL(fileURLWithPath: text))
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
