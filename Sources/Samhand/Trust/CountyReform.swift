import Foundation

/// The county split of 1 January 2024, a roster change rather than a code
/// change: Viken became Østfold, Akershus and Buskerud; Vestfold og
/// Telemark became Vestfold and Telemark; Troms og Finnmark became Troms
/// and Finnmark. The same text as `Fixtures/reform-2024.json`.
public enum CountyReform {
  /// One county that retired, and the new counties that took over from it.
  public struct Split: Hashable, Sendable {
    /// The county that retired.
    public var retired: ReplicaID
    /// The new counties, as they join the roster.
    public var successors: [Office]
  }

  /// The three splits of 2024, in the order of the fixture.
  public static let splits2024: [Split] = {
    struct File: Decodable {
      struct Entry: Decodable {
        struct Successor: Decodable { var slug: String; var name: String }
        var retired: String
        var successors: [Successor]
      }
      var splits: [Entry]
    }
    do {
      let file = try JSONDecoder().decode(File.self, from: Data(reform2024JSON.utf8))
      return try file.splits.map { entry in
        Split(
          retired: try ReplicaID(validating: entry.retired),
          successors: try entry.successors.map {
            Office(slug: try ReplicaID(validating: $0.slug), name: $0.name, kind: "fylkeskommune")
          })
      }
    } catch {
      preconditionFailure("the built-in county reform does not parse: \(error)")
    }
  }()

  /// The JSON text of the 2024 split.
  public static let reform2024JSON = #"""
{
  "date": "2024-01-01",
  "description": "Regionreformen reversert: tre fylker delt fra 1. januar 2024",
  "splits": [
    {"retired": "viken", "successors": [
      {"slug": "ostfold", "name": "Østfold fylkeskommune"},
      {"slug": "akershus", "name": "Akershus fylkeskommune"},
      {"slug": "buskerud", "name": "Buskerud fylkeskommune"}]},
    {"retired": "vestfold-og-telemark", "successors": [
      {"slug": "vestfold", "name": "Vestfold fylkeskommune"},
      {"slug": "telemark", "name": "Telemark fylkeskommune"}]},
    {"retired": "troms-og-finnmark", "successors": [
      {"slug": "troms", "name": "Troms fylkeskommune"},
      {"slug": "finnmark", "name": "Finnmark fylkeskommune"}]}
  ]
}

"""#
}
