import CZlib
import Foundation

/// Why a zlib call failed.
struct CompressionError: Error, Sendable, CustomStringConvertible {
  var message: String
  var description: String { message }
}

/// Thin wrappers over zlib's streaming `deflate` and `inflate`.
///
/// This is the only file that imports `CZlib`. Streams are zlib-wrapped
/// (RFC 1950, with an Adler-32 check) at compression level 6.
enum Zlib {
  static let chunkSize = 64 * 1024

  /// Compresses `input` in one zlib stream.
  ///
  /// The corresponding zlib functions are `deflateInit2`, `deflate` and `deflateEnd`.
  static func deflate(_ input: [UInt8], level: Int32 = 6) -> [UInt8] {
    switch _deflate(input, level: level) {
    case .success(let output): return output
    case .failure(let error): preconditionFailure("zlib deflate failed: \(error)")
    }
  }

  static func _deflate(_ input: [UInt8], level: Int32) -> Result<[UInt8], CompressionError> {
    var stream = z_stream()
    guard samhand_deflateInit2(&stream, level, 15, 8) == Z_OK else {
      return .failure(CompressionError(message: "deflateInit2 failed"))
    }
    defer { deflateEnd(&stream) }
    var output: [UInt8] = []
    output.reserveCapacity(input.count / 3 + 64)
    var chunk = [UInt8](repeating: 0, count: chunkSize)
    return input.withUnsafeBufferPointer { inputBuffer in
      stream.next_in = UnsafeMutablePointer(mutating: inputBuffer.baseAddress)
      stream.avail_in = UInt32(inputBuffer.count)
      while true {
        let status = chunk.withUnsafeMutableBufferPointer { chunkBuffer -> Int32 in
          stream.next_out = chunkBuffer.baseAddress
          stream.avail_out = UInt32(chunkBuffer.count)
          return CZlib.deflate(&stream, Z_FINISH)
        }
        output.append(contentsOf: chunk[0..<(chunkSize - Int(stream.avail_out))])
        if status == Z_STREAM_END { return .success(output) }
        guard status == Z_OK || status == Z_BUF_ERROR else {
          return .failure(CompressionError(message: "deflate returned \(status)"))
        }
      }
    }
  }

  /// Decompresses one zlib stream that must expand to exactly `expectedSize` bytes.
  ///
  /// Stops with an error as soon as the output would exceed `expectedSize`,
  /// so a hostile stream cannot make it allocate more. Trailing bytes after
  /// the end of the stream are an error too.
  ///
  /// The corresponding zlib functions are `inflateInit2`, `inflate` and `inflateEnd`.
  static func inflate(_ input: ArraySlice<UInt8>, expectedSize: Int) throws(CompressionError) -> [UInt8] {
    try _inflate(input, expectedSize: expectedSize).get()
  }

  static func _inflate(_ input: ArraySlice<UInt8>, expectedSize: Int) -> Result<[UInt8], CompressionError> {
    var stream = z_stream()
    guard samhand_inflateInit2(&stream, 15) == Z_OK else {
      return .failure(CompressionError(message: "inflateInit2 failed"))
    }
    defer { inflateEnd(&stream) }
    // One spare byte lets a stream that is too long show itself.
    var output = [UInt8](repeating: 0, count: expectedSize + 1)
    var status: Int32 = Z_OK
    var produced = 0
    var unread = 0
    input.withUnsafeBufferPointer { inputBuffer in
      output.withUnsafeMutableBufferPointer { outputBuffer in
        stream.next_in = UnsafeMutablePointer(mutating: inputBuffer.baseAddress)
        stream.avail_in = UInt32(inputBuffer.count)
        stream.next_out = outputBuffer.baseAddress
        stream.avail_out = UInt32(outputBuffer.count)
        status = CZlib.inflate(&stream, Z_FINISH)
        produced = outputBuffer.count - Int(stream.avail_out)
        unread = Int(stream.avail_in)
      }
    }
    switch status {
    case Z_STREAM_END:
      guard produced == expectedSize else {
        return .failure(CompressionError(message: "payload inflates to \(produced) bytes, header says \(expectedSize)"))
      }
      guard unread == 0 else {
        return .failure(CompressionError(message: "\(unread) stray bytes after the compressed payload"))
      }
      output.removeLast()
      return .success(output)
    case Z_OK, Z_BUF_ERROR:
      if produced > expectedSize {
        return .failure(CompressionError(message: "payload inflates to more than the \(expectedSize) bytes the header says"))
      }
      return .failure(CompressionError(message: "compressed payload is truncated"))
    case Z_DATA_ERROR:
      let detail = stream.msg.map { String(cString: $0) } ?? "invalid data"
      return .failure(CompressionError(message: "compressed payload is corrupt (\(detail))"))
    default:
      return .failure(CompressionError(message: "inflate returned \(status)"))
    }
  }
}
