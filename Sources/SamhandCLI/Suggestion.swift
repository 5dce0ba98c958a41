import Foundation

/// Guesses at what a user meant when a name they typed is unknown: the
/// office slug or folder name closest to it.
enum Suggestion {
  /// The candidate closest to `typed`, if it is near enough to be a typo:
  /// at most `most` (two) letters inserted, deleted, changed or swapped,
  /// and fewer than half the letters of the shorter name. Ties go to the first in
  /// sorted order, so the same input always gets the same guess.
  static func closest(to typed: String, among candidates: [String], within most: Int = 2) -> String? {
    let typed = Array(typed.lowercased())
    var best: (distance: Int, name: String)?
    for candidate in candidates.sorted() {
      let letters = Array(candidate.lowercased())
      let limit = min(most, max(1, (min(typed.count, letters.count) - 1) / 2))
      let distance = distance(typed, letters)
      guard distance <= limit, distance < (best?.distance ?? Int.max) else { continue }
      best = (distance, candidate)
    }
    return best?.name
  }

  /// A " (did you mean X?)" clause, or nothing.
  static func clause(for typed: String, among candidates: [String]) -> String {
    closest(to: typed, among: candidates).map { " (did you mean \($0)?)" } ?? ""
  }

  /// Edit distance with adjacent transpositions (optimal string alignment).
  static func distance(_ a: [Character], _ b: [Character]) -> Int {
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var before = [Int](repeating: 0, count: b.count + 1)
    var previous = Array(0...b.count)
    var current = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
      current[0] = i
      for j in 1...b.count {
        let cost = a[i - 1] == b[j - 1] ? 0 : 1
        current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
        if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
          current[j] = min(current[j], before[j - 2] + 1)
        }
      }
      (before, previous, current) = (previous, current, before)
    }
    return previous[b.count]
  }
}
