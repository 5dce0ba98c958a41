import Crypto
import FuzzZlib
import Samhand

/// Builds changeset files around fuzzed headers and payloads.
///
/// A mutated changeset file almost never gets past its checksums and
/// sizes. For target 2 the fuzzer writes only what a writer chooses, and
/// the harness adds what a writer computes, as in `Docs/FORMATS.md`:
///
/// ```
/// options u8 | run u8 | prefix length P u8 | header prefix (P bytes) | payload
/// ```
///
/// - options bit 0: store the payload uncompressed (zlib level 0), else level 6;
/// - options bit 3: format version 2 (the header prefix then holds the
///   dependencies written against a base, `DependencyDelta`), else 1;
/// - options bits 1 and 2 both set: repeat the payload's last byte
///   `run` × 128 KiB more times (up to ~32 MiB), so that a short input can
///   be a large payload (both bits, to keep such slow inputs rare);
/// - the header prefix is the header up to its dependencies (flags, store
///   id, author, sequence, lamport, time, dependencies); the harness adds
///   the payload size, compressed size and payload hash;
/// - the signature block is empty; the file ends in its SHA-256.
///
/// Sealed (target 12, `build(from:sealedWith:)`), the header prefix starts
/// after the flags and the key id: the harness writes flags 1 and the id
/// of the key, seals the compressed payload with it (ChaCha20-Poly1305,
/// authenticating the magic, the version and the header up to its
/// payload size) and hashes the sealed bytes instead of the payload.
/// `buildCheckpoint(from:sealedWith:)` does the same for a checkpoint
/// (target 13), whose header prefix is its store id, frontier, Lamport
/// stamp, time and snapshot hash (`Docs/FORMATS.md` §10; option bit 3 unused).
enum ChangesetBuilder {
  static let magic: [UInt8] = Array("SHCS\r\n".utf8) + [0x1A, 0x0A]
  static let runUnit = 128 * 1024

  static let checkpointMagic: [UInt8] = Array("SHCP\r\n".utf8) + [0x1A, 0x0A]

  /// The options byte, the header prefix and the payload (run added) of a builder input.
  static func parts(of body: ArraySlice<UInt8>) -> (options: UInt8, prefix: ArraySlice<UInt8>, payload: [UInt8]) {
    var input = body
    let options = input.popFirst() ?? 0
    let run = Int(input.popFirst() ?? 0)
    let prefixLength = Int(input.popFirst() ?? 0)
    let prefix = input.prefix(prefixLength)
    var payload = Array(input.dropFirst(prefix.count))
    if options & 0b110 == 0b110, let last = payload.last {
      payload += [UInt8](repeating: last, count: run * runUnit)
    }
    return (options, prefix, payload)
  }

  static func build(from body: ArraySlice<UInt8>, sealedWith key: GroupKey? = nil) -> [UInt8] {
    let (options, prefix, payload) = parts(of: body)
    var compressed = compress(payload, level: options & 0b1 != 0 ? 0 : 6)
    let version: UInt8 = options & 0b1000 != 0 ? 2 : 1

    var header = key.map { [1] + $0.id.rawValue } ?? []
    header += prefix
    if let key { compressed = seal(compressed, with: key, authenticating: magic + [0, version] + header) }
    varint(UInt64(payload.count), to: &header)
    varint(UInt64(compressed.count), to: &header)
    header += SHA256.hash(data: key == nil ? payload : compressed)

    var file = magic + [0, version]
    uint32(UInt32(header.count), to: &file)
    file += header
    file += compressed
    uint32(1, to: &file)
    file.append(0)  // no signatures
    file += SHA256.hash(data: file)
    return file
  }

  /// A checkpoint file of format 1 sealed with `key`, from a builder input.
  static func buildCheckpoint(from body: ArraySlice<UInt8>, sealedWith key: GroupKey) -> [UInt8] {
    let (options, prefix, payload) = parts(of: body)
    var compressed = compress(payload, level: options & 0b1 != 0 ? 0 : 6)
    var header = [1] + key.id.rawValue + prefix
    compressed = seal(compressed, with: key, authenticating: checkpointMagic + [0, 1] + header)
    varint(UInt64(payload.count), to: &header)
    varint(UInt64(compressed.count), to: &header)
    header += SHA256.hash(data: compressed)

    var file = checkpointMagic + [0, 1]
    uint32(UInt32(header.count), to: &file)
    file += header
    file += compressed
    file += SHA256.hash(data: file)
    return file
  }

  /// ChaCha20-Poly1305 as `GroupKey` seals: nonce, ciphertext, tag. The
  /// nonce is derived from the bytes, so that an input always builds the
  /// same file.
  static func seal(_ plaintext: [UInt8], with key: GroupKey, authenticating context: [UInt8]) -> [UInt8] {
    let nonce = try! ChaChaPoly.Nonce(data: Array(SHA256.hash(data: context + plaintext)).prefix(12))
    let box = try! ChaChaPoly.seal(plaintext, using: SymmetricKey(data: key.bytes), nonce: nonce, authenticating: context)
    return Array(box.combined)
  }

  /// The builder input that gives back a valid file's header and payload,
  /// for seeds; nil when the file does not decode.
  static func body(of file: [UInt8]) -> [UInt8]? {
    guard let (header, payloadRange) = try? ChangesetFile.decodeHeader(file),
      let payload = uncompress(file[payloadRange], size: header.payloadSize)
    else { return nil }
    var suffix: [UInt8] = []
    varint(UInt64(header.payloadSize), to: &suffix)
    varint(UInt64(header.compressedSize), to: &suffix)
    let headerEnd = payloadRange.lowerBound
    let prefixEnd = headerEnd - 32 - suffix.count
    let prefixStart = magic.count + 2 + 4
    guard prefixEnd >= prefixStart, prefixEnd - prefixStart <= 255 else { return nil }
    let options: UInt8 = header.formatVersion == 2 ? 0b1000 : 0
    return [options, 0, UInt8(prefixEnd - prefixStart)] + file[prefixStart..<prefixEnd] + payload
  }

  /// The input for `build(from:sealedWith:)` that gives back a valid
  /// file in plain form's header and payload, sealed; nil when the file
  /// does not decode.
  static func sealedBody(of file: [UInt8]) -> [UInt8]? {
    guard let body = body(of: file), body.count > 3, body[2] > 0, body[3] == 0 else { return nil }
    return [body[0], body[1], body[2] - 1] + body[4...]  // without the flags
  }

  // MARK: - Primitives

  static func varint(_ value: UInt64, to bytes: inout [UInt8]) {
    var rest = value
    while rest >= 0x80 {
      bytes.append(UInt8(rest & 0x7F) | 0x80)
      rest >>= 7
    }
    bytes.append(UInt8(rest))
  }

  static func uint32(_ value: UInt32, to bytes: inout [UInt8]) {
    for shift in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8((value >> UInt32(shift)) & 0xFF)) }
  }

  /// One zlib stream (RFC 1950). The corresponding zlib function is `compress2`.
  static func compress(_ input: [UInt8], level: Int32) -> [UInt8] {
    var output = [UInt8](repeating: 0, count: Int(compressBound(uLong(input.count))))
    var length = uLongf(output.count)
    let status = output.withUnsafeMutableBufferPointer { out in
      input.withUnsafeBufferPointer { source in
        compress2(out.baseAddress, &length, source.baseAddress, uLong(source.count), level)
      }
    }
    precondition(status == Z_OK, "compress2 returned \(status)")
    return Array(output[0..<Int(length)])
  }

  /// The corresponding zlib function is `uncompress`.
  static func uncompress(_ input: ArraySlice<UInt8>, size: Int) -> [UInt8]? {
    var output = [UInt8](repeating: 0, count: max(size, 1))
    var length = uLongf(size)
    let status = output.withUnsafeMutableBufferPointer { out in
      input.withUnsafeBufferPointer { source in
        FuzzZlib.uncompress(out.baseAddress, &length, source.baseAddress, uLong(source.count))
      }
    }
    guard status == Z_OK, Int(length) == size else { return nil }
    return Array(output[0..<size])
  }
}
