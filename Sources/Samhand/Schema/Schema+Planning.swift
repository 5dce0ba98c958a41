import Foundation

// The built-in planning schema and the thirteen offices. Their text is the
// same as `Fixtures/schema.json` and `Fixtures/offices.json`; a test checks
// that the two never drift apart.

extension Schema {
  /// The planning cooperation's schema: `membership`, `cases` and `projects`.
  public static let planning: Schema = {
    do {
      return try Schema(json: Data(planningJSON.utf8))
    } catch {
      preconditionFailure("the built-in schema does not parse: \(error)")
    }
  }()

  /// The JSON text of the built-in schema.
  public static let planningJSON = #"""
{
  "description": "Planleggingssamarbeidet mellom fylkeskommunene, KS og KDD",
  "collections": {
    "membership": {
      "description": "Hvem er med i hvilket nettverk og styre (veilederkorpset, SEVS-styret)",
      "write": ["kind:ks", "kind:kdd", "field:organisation"],
      "fields": {
        "person": {"kind": "text", "description": "Navn"},
        "email": {"kind": "text", "description": "E-postadresse"},
        "organisation": {"kind": "text", "description": "Kontoret personen representerer (slug, f.eks. vestland)"},
        "network": {"kind": "text", "description": "Nettverk eller styre: veilederkorpset, sevs-styret, folkevalgtprogrammet"},
        "groups": {"kind": "set", "description": "Grupper etter plantype: kommuneplanens-samfunnsdel, kommuneplanens-arealdel, reguleringsplan"},
        "role": {"kind": "text", "description": "Rolle: planveileder, styremedlem, observatør, prosjektleder"},
        "from": {"kind": "date", "description": "Med fra"},
        "to": {"kind": "date", "description": "Med til"}
      }
    },
    "cases": {
      "description": "Felles saker",
      "write": ["kind:ks", "kind:kdd", "field:owner", "field:participants"],
      "fields": {
        "title": {"kind": "text", "description": "Tittel"},
        "kommune": {"kind": "text", "description": "Kommunen saken gjelder"},
        "plan_type": {"kind": "text", "description": "Plantype: kommuneplanens-samfunnsdel, kommuneplanens-arealdel, reguleringsplan, planstrategi"},
        "status": {"kind": "text", "description": "Status: ny, under-arbeid, avsluttet"},
        "owner": {"kind": "text", "description": "Eierkontor (slug)"},
        "participants": {"kind": "set", "description": "Kontorene som deltar (slugs)"},
        "deadline": {"kind": "date", "description": "Frist"},
        "notes": {"kind": "text", "description": "Notater"}
      }
    },
    "projects": {
      "description": "Fellesprosjekter, ofte finansiert som spleiselag",
      "write": ["kind:ks", "kind:kdd", "field:lead", "field:participants"],
      "fields": {
        "name": {"kind": "text", "description": "Navn"},
        "lead": {"kind": "text", "description": "Ledende kontor (slug)"},
        "participants": {"kind": "set", "description": "Kontorene som deltar (slugs)"},
        "funding": {"kind": "map", "values": "integer", "description": "Finansieringsandel per kontor i NOK (spleiselag)"},
        "status": {"kind": "text", "description": "Status: planlagt, aktiv, avsluttet"},
        "start": {"kind": "date", "description": "Oppstart"},
        "end": {"kind": "date", "description": "Slutt"},
        "description": {"kind": "text", "description": "Beskrivelse"}
      }
    }
  }
}
"""#
}

/// An office in the cooperation, as listed in the fixtures.
public struct Office: Hashable, Sendable {
  /// The office's slug, which its replica writes as.
  public var slug: ReplicaID
  /// The display name, with its Norwegian letters.
  public var name: String
  /// `fylkeskommune`, `kommune`, `ks` or `kdd`: rights in the schema name kinds.
  public var kind: String

  /// An office from its parts.
  public init(slug: ReplicaID, name: String, kind: String) {
    self.slug = slug
    self.name = name
    self.kind = kind
  }

  /// The thirteen offices of 2020–2023: eleven fylkeskommuner, KS and KDD.
  public static let cooperation: [Office] = {
    struct List: Decodable {
      struct Entry: Decodable { var slug: String; var name: String; var kind: String }
      var offices: [Entry]
    }
    do {
      let list = try JSONDecoder().decode(List.self, from: Data(officesJSON.utf8))
      return try list.offices.map { Office(slug: try ReplicaID(validating: $0.slug), name: $0.name, kind: $0.kind) }
    } catch {
      preconditionFailure("the built-in office list does not parse: \(error)")
    }
  }()

  /// The JSON text of the office list.
  public static let officesJSON = #"""
{
  "offices": [
    {"slug": "agder", "name": "Agder fylkeskommune", "kind": "fylkeskommune"},
    {"slug": "innlandet", "name": "Innlandet fylkeskommune", "kind": "fylkeskommune"},
    {"slug": "more-og-romsdal", "name": "Møre og Romsdal fylkeskommune", "kind": "fylkeskommune"},
    {"slug": "nordland", "name": "Nordland fylkeskommune", "kind": "fylkeskommune"},
    {"slug": "oslo", "name": "Oslo kommune", "kind": "fylkeskommune"},
    {"slug": "rogaland", "name": "Rogaland fylkeskommune", "kind": "fylkeskommune"},
    {"slug": "troms-og-finnmark", "name": "Troms og Finnmark fylkeskommune", "kind": "fylkeskommune"},
    {"slug": "trondelag", "name": "Trøndelag fylkeskommune", "kind": "fylkeskommune"},
    {"slug": "vestfold-og-telemark", "name": "Vestfold og Telemark fylkeskommune", "kind": "fylkeskommune"},
    {"slug": "vestland", "name": "Vestland fylkeskommune", "kind": "fylkeskommune"},
    {"slug": "viken", "name": "Viken fylkeskommune", "kind": "fylkeskommune"},
    {"slug": "ks", "name": "KS", "kind": "ks"},
    {"slug": "kdd", "name": "Kommunal- og distriktsdepartementet", "kind": "kdd"}
  ]
}
"""#
}
