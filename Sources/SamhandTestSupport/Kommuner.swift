import Foundation
import Samhand

/// Norway's municipal structure from 1 January 2024 (`Fixtures/kommuner-2024.json`):
/// the 15 fylker and the 357 kommuner, with their numbers and slugs.
public struct MunicipalStructure: Decodable, Sendable {
  public struct Fylke: Decodable, Sendable, Hashable {
    /// The two-digit fylkesnummer.
    public var number: String
    public var slug: ReplicaID
    /// The fylke's official name, with its Sámi and Kven forms where it has them.
    public var name: String

    /// The Norwegian name alone: the part before the first " - ".
    public var norwegianName: String { name.components(separatedBy: " - ")[0] }
  }

  public struct Kommune: Decodable, Sendable, Hashable {
    /// The four-digit kommunenummer; its first two digits are its fylke's.
    public var number: String
    public var slug: ReplicaID
    /// The official name, with its Sámi and Kven forms where it has them.
    public var name: String
    /// The fylke's slug.
    public var fylke: ReplicaID
  }

  public var date: String
  public var source: String
  public var fylker: [Fylke]
  public var kommuner: [Kommune]

  /// The fixture's file.
  public static var fixtureURL: URL { fixturesDirectory().appendingPathComponent("kommuner-2024.json") }

  /// The roster file built from it (``rosterJSON``).
  public static var rosterURL: URL { fixturesDirectory().appendingPathComponent("roster-kommuner-2024.json") }

  /// Reads `Fixtures/kommuner-2024.json`.
  public static func load(from url: URL = fixtureURL) throws -> MunicipalStructure {
    try JSONDecoder().decode(MunicipalStructure.self, from: Data(contentsOf: url))
  }

  /// Every office when every kommune joins the cooperation, 373 in all: KS
  /// and KDD (the administrators); the fylkeskommuner, with Oslo (a kommune
  /// with a county's tasks, one office, listed as today); and the other 356
  /// kommuner, of kind `kommune`. Their rights are those the schema gives
  /// every office: a kommune writes its own membership records and the cases
  /// and projects that name it, as the fylkeskommuner do.
  public var offices: [Office] {
    var offices = [
      Office(slug: "ks", name: "KS", kind: "ks"),
      Office(slug: "kdd", name: "Kommunal- og distriktsdepartementet", kind: "kdd"),
    ]
    for fylke in fylker {
      let name = fylke.slug == "oslo" ? "Oslo kommune" : "\(fylke.norwegianName) fylkeskommune"
      offices.append(Office(slug: fylke.slug, name: name, kind: "fylkeskommune"))
    }
    let counties = Set(fylker.map(\.slug))
    for kommune in kommuner where !counties.contains(kommune.slug) {
      offices.append(Office(slug: kommune.slug, name: "\(kommune.name) kommune", kind: "kommune"))
    }
    return offices
  }

  /// The text of `Fixtures/roster-kommuner-2024.json`: a roster file for
  /// `samhand init --roster` listing ``offices``, one office per line.
  public var rosterJSON: String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.withoutEscapingSlashes]
    func quoted(_ text: String) -> String { String(decoding: try! encoder.encode(text), as: UTF8.self) }
    let lines = offices.map { office in
      "    {\"slug\": \(quoted(office.slug.rawValue)), \"name\": \(quoted(office.name)), \"kind\": \(quoted(office.kind))}"
    }
    return "{\n  \"offices\": [\n" + lines.joined(separator: ",\n") + "\n  ]\n}\n"
  }
}
