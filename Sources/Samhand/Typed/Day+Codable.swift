import Foundation

// MARK: - Codable

/// A day is coded as its ISO 8601 text, `"YYYY-MM-DD"`.
///
/// This lets a typed record hold `Day` properties and still be written as
/// JSON with `JSONEncoder`. Samhand's own record coding does not go through
/// this text: it stores a `Day` as a `date` value.
///
/// ```swift
/// let data = try JSONEncoder().encode(Day(year: 2026, month: 3, day: 1)!)
/// // "2026-03-01"
/// ```
extension Day: Codable {
  /// Reads a day from its `"YYYY-MM-DD"` text.
  ///
  /// - Throws: `DecodingError.dataCorrupted` when the text is not exactly
  ///   `YYYY-MM-DD` or not a real calendar date.
  public init(from decoder: any Decoder) throws {
    let container = try decoder.singleValueContainer()
    let text = try container.decode(String.self)
    guard let day = Day(iso8601: text) else {
      throw DecodingError.dataCorruptedError(
        in: container, debugDescription: "expected a day written YYYY-MM-DD, found '\(text)'")
    }
    self = day
  }

  /// Writes the day as its `"YYYY-MM-DD"` text.
  public func encode(to encoder: any Encoder) throws {
    var container = encoder.singleValueContainer()
    try container.encode(description)
  }
}
