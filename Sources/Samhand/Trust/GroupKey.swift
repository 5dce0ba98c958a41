import Crypto
import Foundation

extension SamhandError.Code {
  /// A file of an encrypted folder is encrypted with a group key this
  /// store does not hold (yet): it is left in the folder and read again
  /// once the key has arrived.
  public static let missingKey = Self(rawValue: "missing-key")
}

extension SamhandError {
  /// A group key is missing; see ``SamhandError/Code/missingKey``.
  public static let missingKey = Code.missingKey
}

/// The name of a group key: the first 16 bytes of the SHA-256 of
/// `samhand group key 1\n` and the key. Knowing it tells nothing of the
/// key; a key that hashes to it is the key (`Docs/FORMATS.md` §15).
public struct GroupKeyID: Hashable, Comparable, Sendable, CustomStringConvertible {
  /// The 16 bytes.
  public let rawValue: [UInt8]

  /// An id from its 16 bytes, or nil for another length.
  public init?(rawValue: [UInt8]) {
    guard rawValue.count == 16 else { return nil }
    self.rawValue = rawValue
  }

  /// An id from its 32 hex digits, or nil.
  public init?(hex: String) {
    guard let bytes = PublicKey.bytes(hex: hex) else { return nil }
    self.init(rawValue: bytes)
  }

  /// The 32 hex digits.
  public var hex: String { Data(rawValue).hexString }
  public var description: String { hex }

  public static func < (lhs: GroupKeyID, rhs: GroupKeyID) -> Bool { lhs.rawValue.lexicographicallyPrecedes(rhs.rawValue) }
}

/// The symmetric key an encrypted folder's payloads are sealed with
/// (ChaCha20-Poly1305 from swift-crypto). Every active office holds the
/// keys in use, each wrapped for it in the folder's `keys/` files; a new
/// one is made when an office retires or a key is revoked.
public struct GroupKey: Hashable, Sendable {
  /// The 32 key bytes. Keep them secret.
  public let bytes: [UInt8]
  /// Its name, as file headers and the roster give it.
  public let id: GroupKeyID

  /// A new random key.
  public static func generate() -> GroupKey {
    // 32 bytes from the system's generator, through swift-crypto.
    try! GroupKey(bytes: SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) })
  }

  /// A key from its 32 bytes.
  ///
  /// - Throws: `SamhandError.invalidArgument` for another length.
  public init(bytes: [UInt8]) throws {
    guard bytes.count == 32 else { throw SamhandError(.invalidArgument, "a group key is 32 bytes, not \(bytes.count)") }
    self.bytes = bytes
    self.id = GroupKeyID(rawValue: Array(SHA256.hash(data: Array("samhand group key 1\n".utf8) + bytes).prefix(16)))!
  }

  var symmetric: SymmetricKey { SymmetricKey(data: bytes) }

  /// Bytes added by ``seal(_:authenticating:deterministic:)``: a 12-byte nonce and a 16-byte tag.
  static let overhead = 12 + 16

  /// `plaintext` sealed with ChaCha20-Poly1305, authenticating `context`:
  /// the nonce, the ciphertext and the tag.
  ///
  /// - Parameter deterministic: derive the nonce from the key, the context
  ///   and the plaintext (HMAC-SHA256) rather than at random, so that
  ///   sealing the same bytes gives the same bytes (what checkpoints need:
  ///   every office writes the same file). A nonce repeats only for the
  ///   same context and plaintext, which gives the same ciphertext.
  func seal(_ plaintext: [UInt8], authenticating context: [UInt8], deterministic: Bool = false) -> [UInt8] {
    let nonce: ChaChaPoly.Nonce
    if deterministic {
      var mac = HMAC<SHA256>(key: symmetric)
      mac.update(data: Array("samhand nonce 1\n".utf8))
      mac.update(data: context)
      mac.update(data: plaintext)
      nonce = try! ChaChaPoly.Nonce(data: Array(mac.finalize()).prefix(12))
    } else {
      nonce = ChaChaPoly.Nonce()
    }
    // Sealing fails only for a malformed nonce or key, which cannot happen here.
    let box = try! ChaChaPoly.seal(plaintext, using: symmetric, nonce: nonce, authenticating: context)
    return Array(box.combined)
  }

  /// The plaintext of bytes ``seal(_:authenticating:deterministic:)``
  /// made with this key and `context`, or nil when they were not (another
  /// key, another context, or altered).
  func open(_ sealed: some DataProtocol, authenticating context: [UInt8]) -> [UInt8]? {
    guard sealed.count >= GroupKey.overhead, let box = try? ChaChaPoly.SealedBox(combined: Data(sealed)),
      let plain = try? ChaChaPoly.open(box, using: symmetric, authenticating: context)
    else { return nil }
    return Array(plain)
  }
}

/// The group keys a store or a key file holds, by id.
public struct GroupKeyring: Sendable, Hashable {
  /// The keys, by id.
  public private(set) var keys: [GroupKeyID: GroupKey]

  /// A keyring of these keys.
  public init(_ keys: [GroupKey] = []) {
    self.keys = Dictionary(keys.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
  }

  /// No keys: what reads a folder that is not encrypted.
  public static let empty = GroupKeyring()

  /// The key of this id, if held.
  public subscript(id: GroupKeyID) -> GroupKey? { keys[id] }

  /// Adds a key; returns whether it was new.
  @discardableResult
  public mutating func insert(_ key: GroupKey) -> Bool { keys.updateValue(key, forKey: key.id) == nil }

  /// The ids held, in order.
  public var ids: [GroupKeyID] { keys.keys.sorted() }

  /// The keys as a text file (`samhand key export-group`): a line naming
  /// the format, then one line per key, its id and its bytes in base64.
  public var fileText: String {
    "samhand-group-keys 1\n" + ids.map { "\($0.hex) \(Data(keys[$0]!.bytes).base64EncodedString())\n" }.joined()
  }

  /// Reads the text that ``fileText`` writes.
  ///
  /// - Throws: `SamhandError.invalidArgument` naming the line that is wrong.
  public init(fileText: String) throws {
    let lines = fileText.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    guard lines.first == "samhand-group-keys 1" else {
      throw SamhandError(.invalidArgument, "not a Samhand group key file: the first line must be 'samhand-group-keys 1'")
    }
    var keys: [GroupKey] = []
    for (number, line) in lines.dropFirst().enumerated() {
      let parts = line.split(separator: " ")
      guard parts.count == 2, let id = GroupKeyID(hex: String(parts[0])), let data = Data(base64Encoded: String(parts[1])),
        let key = try? GroupKey(bytes: Array(data)), key.id == id
      else {
        throw SamhandError(
          .invalidArgument, "group key file, line \(number + 2): expected a key id (32 hex digits) and its 32 bytes in base64, and they must match")
      }
      keys.append(key)
    }
    self.init(keys)
  }
}

/// An office's X25519 key-agreement key, which the group keys are wrapped
/// for. It is derived from the office's signing key (HKDF-SHA256 of its
/// seed), so a key backup holds it and a new signing key brings a new one;
/// its public half is published in the roster beside the signing key.
public struct AgreementKey: Sendable {
  let key: Curve25519.KeyAgreement.PrivateKey

  /// The agreement key that belongs to `signingKey`.
  public init(for signingKey: SigningKey) {
    let derived = HKDF<SHA256>.deriveKey(
      inputKeyMaterial: SymmetricKey(data: signingKey.seed), info: Array("samhand x25519 1".utf8), outputByteCount: 32)
    key = try! Curve25519.KeyAgreement.PrivateKey(rawRepresentation: derived.withUnsafeBytes { Array($0) })
  }

  /// The public half, in 64 hex digits: what the roster lists.
  public var publicKeyHex: String { Data(key.publicKey.rawRepresentation).hexString }
}

/// A group key sealed for one office's agreement key: an ephemeral X25519
/// key agreed with the recipient's, HKDF-SHA256 of the shared secret, and
/// ChaCha20-Poly1305 of the group key (`Docs/FORMATS.md` §15).
struct WrappedGroupKey: Hashable, Sendable {
  /// The office it is for.
  var office: ReplicaID
  /// The recipient's agreement public key (32 bytes).
  var recipient: [UInt8]
  /// The group key's id.
  var keyID: GroupKeyID
  /// The ephemeral public key (32 bytes).
  var ephemeral: [UInt8]
  /// The sealed group key: nonce, ciphertext, tag.
  var sealed: [UInt8]

  static func info(store: StoreID, office: ReplicaID, keyID: GroupKeyID) -> [UInt8] {
    Array("samhand wrapped group key 1\n\(store.rawValue)\n\(office.rawValue)\n\(keyID.hex)".utf8)
  }

  /// `key` wrapped for `office`'s agreement public key `recipient`, or nil
  /// when `recipient` is not a valid X25519 public key.
  static func wrap(_ key: GroupKey, for office: ReplicaID, recipient: [UInt8], store: StoreID) -> WrappedGroupKey? {
    guard let publicKey = try? Curve25519.KeyAgreement.PublicKey(rawRepresentation: recipient) else { return nil }
    let ephemeral = Curve25519.KeyAgreement.PrivateKey()
    guard let secret = try? ephemeral.sharedSecretFromKeyAgreement(with: publicKey) else { return nil }
    let ephemeralPublic = Array(ephemeral.publicKey.rawRepresentation)
    let info = info(store: store, office: office, keyID: key.id)
    let wrapping = secret.hkdfDerivedSymmetricKey(
      using: SHA256.self, salt: ephemeralPublic + recipient, sharedInfo: info, outputByteCount: 32)
    guard let box = try? ChaChaPoly.seal(key.bytes, using: wrapping, authenticating: info) else { return nil }
    return WrappedGroupKey(office: office, recipient: recipient, keyID: key.id, ephemeral: ephemeralPublic, sealed: Array(box.combined))
  }

  /// The group key, when this wrapping is for `agreement` and opens to a
  /// key of the id it names; nil otherwise (not for us, or forged).
  func unwrap(with agreement: AgreementKey, store: StoreID) -> GroupKey? {
    guard recipient == Array(agreement.key.publicKey.rawRepresentation),
      let publicKey = try? Curve25519.KeyAgreement.PublicKey(rawRepresentation: ephemeral),
      let secret = try? agreement.key.sharedSecretFromKeyAgreement(with: publicKey)
    else { return nil }
    let info = WrappedGroupKey.info(store: store, office: office, keyID: keyID)
    let wrapping = secret.hkdfDerivedSymmetricKey(using: SHA256.self, salt: ephemeral + recipient, sharedInfo: info, outputByteCount: 32)
    guard let box = try? ChaChaPoly.SealedBox(combined: sealed), let plain = try? ChaChaPoly.open(box, using: wrapping, authenticating: info),
      let key = try? GroupKey(bytes: Array(plain)), key.id == keyID
    else { return nil }
    return key
  }
}
