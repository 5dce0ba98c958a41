import Crypto
import Foundation

/// An office's public Ed25519 key, as listed in the roster and named in
/// every signature it makes.
///
/// Written as 64 lowercase hex digits (the 32 raw key bytes). Its
/// ``fingerprint`` is shorter, for people to compare over the phone.
public struct PublicKey: Hashable, Comparable, Sendable, CustomStringConvertible {
  /// The 32 raw bytes of the Ed25519 public key.
  public let rawValue: [UInt8]

  /// Creates a key from its 32 raw bytes, or returns nil for any other length
  /// or bytes that are not a valid Ed25519 point.
  public init?(rawValue: [UInt8]) {
    guard rawValue.count == 32, (try? Curve25519.Signing.PublicKey(rawRepresentation: rawValue)) != nil else {
      return nil
    }
    self.rawValue = rawValue
  }

  /// Reads a key from its text: 64 hex digits, optionally after `ed25519:`.
  ///
  /// - Throws: `SamhandError.invalidArgument` naming what is wrong.
  public init(text: String) throws {
    var hex = text.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
    if hex.hasPrefix("ed25519:") { hex.removeFirst("ed25519:".count) }
    guard let bytes = PublicKey.bytes(hex: hex), let key = PublicKey(rawValue: bytes) else {
      throw SamhandError(
        .invalidArgument,
        "'\(text)' is not a public key: expected 64 hex digits, as 'samhand key show' prints")
    }
    self = key
  }

  /// The key as 64 lowercase hex digits.
  public var hex: String { rawValue.map { String(format: "%02x", $0) }.joined() }

  /// The key as text, the same as ``hex``.
  public var description: String { hex }

  /// The first 16 bytes of the SHA-256 of the key, as 32 hex digits in
  /// groups of four: what people read aloud to check a key.
  public var fingerprint: String {
    let digest = Array(SHA256.hash(data: rawValue)).prefix(16)
    let hex = digest.map { String(format: "%02x", $0) }.joined()
    return stride(from: 0, to: hex.count, by: 4).map { offset in
      let start = hex.index(hex.startIndex, offsetBy: offset)
      return String(hex[start..<hex.index(start, offsetBy: 4)])
    }.joined(separator: " ")
  }

  /// Whether `signature` is this key's signature of `bytes`.
  public func isValidSignature(_ signature: [UInt8], of bytes: some DataProtocol) -> Bool {
    guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: rawValue) else { return false }
    return key.isValidSignature(signature, for: bytes)
  }

  /// Orders keys by their bytes.
  public static func < (lhs: PublicKey, rhs: PublicKey) -> Bool {
    lhs.rawValue.lexicographicallyPrecedes(rhs.rawValue)
  }

  static func bytes(hex: String) -> [UInt8]? {
    let digits = Array(hex.utf8)
    guard digits.count % 2 == 0 else { return nil }
    var bytes: [UInt8] = []
    bytes.reserveCapacity(digits.count / 2)
    func value(_ digit: UInt8) -> UInt8? {
      switch digit {
      case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
      case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
      default: nil
      }
    }
    for index in stride(from: 0, to: digits.count, by: 2) {
      guard let high = value(digits[index]), let low = value(digits[index + 1]) else { return nil }
      bytes.append(high << 4 | low)
    }
    return bytes
  }
}

/// An office's private Ed25519 signing key. It stays in the office's store
/// and is never written to the shared folder.
public struct SigningKey: Sendable {
  let key: Curve25519.Signing.PrivateKey

  /// A new random key.
  public static func generate() -> SigningKey { SigningKey(key: Curve25519.Signing.PrivateKey()) }

  /// A key from its 32-byte seed, for fixed scenarios and for keys restored from a backup.
  ///
  /// - Throws: `SamhandError.invalidArgument` when the seed is not 32 bytes.
  public init(seed: [UInt8]) throws {
    do {
      key = try Curve25519.Signing.PrivateKey(rawRepresentation: seed)
    } catch {
      throw SamhandError(.invalidArgument, "a signing key seed is 32 bytes, not \(seed.count)")
    }
  }

  init(key: Curve25519.Signing.PrivateKey) { self.key = key }

  /// The 32-byte seed the key is made from. Keep it secret.
  public var seed: [UInt8] { Array(key.rawRepresentation) }

  /// The public half, which the roster lists.
  public var publicKey: PublicKey { PublicKey(rawValue: Array(key.publicKey.rawRepresentation))! }

  /// Signs `bytes`.
  public func sign(_ bytes: some DataProtocol) -> [UInt8] {
    // Ed25519 signing fails only on a broken crypto library.
    do { return Array(try key.signature(for: bytes)) } catch {
      preconditionFailure("Ed25519 signing failed: \(error)")
    }
  }

  /// The key as a text file: a first line naming the format, then the seed in base64.
  public var fileText: String {
    "samhand-ed25519-private-key 1\n" + Data(seed).base64EncodedString() + "\n"
  }

  /// Reads a key from the text that ``fileText`` writes.
  ///
  /// - Throws: `SamhandError.invalidArgument` naming what is wrong.
  public init(fileText: String) throws {
    let lines = fileText.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
    guard lines.count == 2, lines[0] == "samhand-ed25519-private-key 1",
      let seed = Data(base64Encoded: lines[1]), seed.count == 32
    else {
      throw SamhandError(
        .invalidArgument,
        "not a Samhand key file: expected the line 'samhand-ed25519-private-key 1' and a base64 seed of 32 bytes")
    }
    try self.init(seed: Array(seed))
  }
}
