import Foundation

/// The canonical JSON encoding used by snapshots, heads and `samhand.json`.
///
/// - Object keys are sorted by their UTF-8 bytes; no whitespace anywhere.
/// - Strings are UTF-8; only `"`, `\` and control characters are escaped
///   (`\b \f \n \r \t`, others as `\u00xx` in lowercase hex).
/// - Integers in decimal; other numbers in Swift's shortest round-trip form
///   (`0.1`, `5.0`, `1e-07`), which is the same on every platform.
/// - Dates are strings `YYYY-MM-DD`.
enum CanonicalJSON {
  /// A tree to encode. Objects keep their keys as given and are sorted when written.
  indirect enum Node {
    case null
    case bool(Bool)
    case integer(Int64)
    case unsigned(UInt64)
    case number(Double)
    case string(String)
    case array([Node])
    case object([(String, Node)])
    /// Bytes already in canonical form, written as they are.
    case canonical([UInt8])
  }

  static func encode(_ node: Node) -> Data {
    var out = [UInt8]()
    out.reserveCapacity(256)
    write(node, to: &out)
    return Data(out)
  }

  static func encode(_ value: Value) -> String {
    var out = [UInt8]()
    write(node(value), to: &out)
    return String(decoding: out, as: UTF8.self)
  }

  static func node(_ value: Value) -> Node {
    switch value {
    case .null: .null
    case .bool(let flag): .bool(flag)
    case .integer(let integer): .integer(integer)
    case .number(let double): .number(double)
    case .text(let text): .string(text)
    case .date(let day): .string(day.description)
    }
  }

  static func node(_ json: JSONValue) -> Node {
    switch json {
    case .null: .null
    case .bool(let flag): .bool(flag)
    case .integer(let integer): .integer(integer)
    case .number(let double): .number(double)
    case .string(let string): .string(string)
    case .array(let items): .array(items.map(node))
    case .object(let fields): .object(fields.map { ($0.key, node($0.value)) })
    }
  }

  static func write(_ node: Node, to out: inout [UInt8]) {
    switch node {
    case .null: out.append(contentsOf: "null".utf8)
    case .bool(let flag): out.append(contentsOf: (flag ? "true" : "false").utf8)
    case .integer(let integer): out.append(contentsOf: String(integer).utf8)
    case .unsigned(let integer): out.append(contentsOf: String(integer).utf8)
    case .number(let double):
      precondition(double.isFinite, "canonical JSON holds finite numbers only")
      out.append(contentsOf: (double == 0 ? "0.0" : double.description).utf8)
    case .string(let string): writeString(string, to: &out)
    case .canonical(let bytes): out.append(contentsOf: bytes)
    case .array(let items):
      out.append(UInt8(ascii: "["))
      for (index, item) in items.enumerated() {
        if index > 0 { out.append(UInt8(ascii: ",")) }
        write(item, to: &out)
      }
      out.append(UInt8(ascii: "]"))
    case .object(let fields):
      out.append(UInt8(ascii: "{"))
      let sorted = fields.sorted { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) }
      for (index, field) in sorted.enumerated() {
        if index > 0 { out.append(UInt8(ascii: ",")) }
        writeString(field.0, to: &out)
        out.append(UInt8(ascii: ":"))
        write(field.1, to: &out)
      }
      out.append(UInt8(ascii: "}"))
    }
  }

  static func writeString(_ string: String, to out: inout [UInt8]) {
    var string = string
    string.withUTF8 { bytes in
      out.append(UInt8(ascii: "\""))
      defer { out.append(UInt8(ascii: "\"")) }
      // Most strings need no escape: their bytes go in at once.
      var plain = true
      for byte in bytes where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
        plain = false
        break
      }
      if plain {
        out.append(contentsOf: bytes)
        return
      }
      let hex: StaticString = "0123456789abcdef"
      for byte in bytes {
        switch byte {
        case UInt8(ascii: "\""): out.append(contentsOf: [92, 34])
        case UInt8(ascii: "\\"): out.append(contentsOf: [92, 92])
        case 0x08: out.append(contentsOf: [92, UInt8(ascii: "b")])
        case 0x0C: out.append(contentsOf: [92, UInt8(ascii: "f")])
        case 0x0A: out.append(contentsOf: [92, UInt8(ascii: "n")])
        case 0x0D: out.append(contentsOf: [92, UInt8(ascii: "r")])
        case 0x09: out.append(contentsOf: [92, UInt8(ascii: "t")])
        case 0..<0x20:
          out.append(contentsOf: Array("\\u00".utf8))
          hex.withUTF8Buffer { digits in
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0xF)])
          }
        default: out.append(byte)
        }
      }
    }
  }
}
