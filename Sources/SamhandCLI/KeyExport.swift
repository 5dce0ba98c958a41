import ArgumentParser
import Foundation
import Samhand

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

extension SamhandCommand.KeyCommand {
  struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Write this office's private signing key to a file, for a backup.",
      discussion: """
        Writes the private key to a new file that only you can read (mode \
        0600); an existing file is never overwritten. Keep it somewhere safe \
        and offline: anyone who has it can sign as this office. After a \
        reinstall, give it to 'samhand init --key FILE' so the new replica \
        signs with the key the roster lists.

        Examples:
          samhand key export --out /media/usb/vestland.key
          samhand init --store ~/samhand/vl --replica vestland --folder /mnt/delt \\
            --key /media/usb/vestland.key
        """)

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("The file to write; it must not exist yet.", valueName: "file"))
    var out: String

    func validate() throws {
      try global.validateStore()
      if out.isEmpty { throw ValidationError("--out must name a file") }
    }

    func run() async throws {
      let store = try global.openStore()
      let key = try store.exportSigningKey()
      let url = URL(fileURLWithPath: out)
      try Export.writeSecret(Data(key.fileText.utf8), to: url)
      if global.json {
        Console.json(
          .object([
            "office": .string(store.replica.rawValue), "file": .string(url.path),
            "public_key": .string(key.publicKey.hex), "fingerprint": .string(key.publicKey.fingerprint),
          ]))
      } else {
        Console.line("Wrote the private key of \(store.replica) to \(url.path) (readable only by you)")
        Console.line("  fingerprint: \(key.publicKey.fingerprint)")
      }
      Console.warning(
        "keep \(url.path) safe and offline: anyone who has it can sign as \(store.replica). If it is lost or stolen, have an administrator revoke the key ('samhand roster revoke')."
      )
    }

    /// Creates `url` with mode 0600 and writes `data`; refuses an existing file.
    static func writeSecret(_ data: Data, to url: URL) throws {
      let descriptor = open(url.path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
      guard descriptor >= 0 else {
        let code = errno
        if code == EEXIST {
          throw CommandFailure("\(url.path) already exists: choose a new file (an existing one is never overwritten)")
        }
        throw CommandFailure("cannot create \(url.path): \(String(cString: strerror(code)))")
      }
      var failure: Int32 = 0
      data.withUnsafeBytes { buffer in
        var offset = 0
        while offset < buffer.count {
          let written = write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
          if written < 0 {
            if errno == EINTR { continue }
            failure = errno
            return
          }
          offset += written
        }
      }
      if failure == 0, fsync(descriptor) != 0 { failure = errno }
      close(descriptor)
      if failure != 0 {
        unlink(url.path)
        throw CommandFailure("cannot write \(url.path): \(String(cString: strerror(failure)))")
      }
    }
  }
}
