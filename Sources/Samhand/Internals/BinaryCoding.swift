import Foundation

/// Appends the primitives of Samhand's binary formats: big-endian integers,
/// LEB128 varints and length-prefixed UTF-8 strings.
struct BinaryWriter {
  var bytes: [UInt8] = []

  mutating func byte(_ value: UInt8) { bytes.append(value) }

  mutating func uint16(_ value: UInt16) {
    bytes.append(UInt8(value >> 8))
    bytes.append(UInt8(value & 0xFF))
  }

  mutating func uint32(_ value: UInt32) {
    for shift in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8((value >> UInt32(shift)) & 0xFF)) }
  }

  mutating func varint(_ value: UInt64) {
    var rest = value
    while rest >= 0x80 {
      bytes.append(UInt8(rest & 0x7F) | 0x80)
      rest >>= 7
    }
    bytes.append(UInt8(rest))
  }

  /// Zigzag-encoded signed varint.
  mutating func signed(_ value: Int64) {
    varint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
  }

  mutating func string(_ value: String) {
    varint(UInt64(value.utf8.count))
    bytes.append(contentsOf: value.utf8)
  }

  mutating func raw<Bytes: Sequence>(_ data: Bytes) where Bytes.Element == UInt8 {
    bytes.append(contentsOf: data)
  }
}

/// Reads what `BinaryWriter` wrote, with bounds checks on every read.
///
/// Lengths are checked against the bytes that remain before anything is
/// allocated, so a corrupt length cannot make the reader allocate more than
/// the input's size.
struct BinaryReader {
  struct Failure: Error {
    var message: String
    var offset: Int
  }

  let bytes: [UInt8]
  private(set) var offset: Int
  let end: Int

  init(_ bytes: [UInt8], from start: Int = 0, to end: Int? = nil) {
    self.bytes = bytes
    self.offset = start
    self.end = end ?? bytes.count
  }

  var remaining: Int { end - offset }
  var isAtEnd: Bool { offset == end }

  mutating func byte() throws(Failure) -> UInt8 {
    guard offset < end else { throw Failure(message: "unexpected end of data", offset: offset) }
    defer { offset += 1 }
    return bytes[offset]
  }

  mutating func uint16() throws(Failure) -> UInt16 {
    UInt16(try byte()) << 8 | UInt16(try byte())
  }

  mutating func uint32() throws(Failure) -> UInt32 {
    var value: UInt32 = 0
    for _ in 0..<4 { value = value << 8 | UInt32(try byte()) }
    return value
  }

  mutating func varint() throws(Failure) -> UInt64 {
    let start = offset
    var value: UInt64 = 0
    var shift: UInt64 = 0
    while true {
      let next = try byte()
      if shift == 63 && next > 1 { throw Failure(message: "varint overflows 64 bits", offset: start) }
      value |= UInt64(next & 0x7F) << shift
      if next & 0x80 == 0 { return value }
      shift += 7
      if shift > 63 { throw Failure(message: "varint too long", offset: start) }
    }
  }

  mutating func signed() throws(Failure) -> Int64 {
    let raw = try varint()
    return Int64(bitPattern: raw >> 1) ^ -Int64(bitPattern: raw & 1)
  }

  /// A count of items that each take at least `minimumSize` bytes: bounded by what remains.
  mutating func count(minimumSize: Int = 1) throws(Failure) -> Int {
    let start = offset
    let value = try varint()
    guard value <= UInt64(remaining / max(1, minimumSize)) else {
      throw Failure(message: "count \(value) exceeds the remaining data", offset: start)
    }
    return Int(value)
  }

  mutating func take(_ count: Int) throws(Failure) -> ArraySlice<UInt8> {
    guard count >= 0, count <= remaining else {
      throw Failure(message: "length \(count) exceeds the remaining \(remaining) bytes", offset: offset)
    }
    defer { offset += count }
    return bytes[offset..<offset + count]
  }

  mutating func string() throws(Failure) -> String {
    let start = offset
    let length = try count()
    let slice = try take(length)
    guard let text = String(validating: slice, as: UTF8.self) else {
      throw Failure(message: "invalid UTF-8 in a string", offset: start)
    }
    return text
  }
}
