PRAGMA application_id = 1397247556;
PRAGMA user_version = 1;
BEGIN TRANSACTION;
CREATE TABLE "snapshot_info" (
  "format" INTEGER NOT NULL,
  "snapshot_format" INTEGER NOT NULL,
  "sha256" TEXT NOT NULL,
  "frontier" TEXT NOT NULL,
  "changesets" INTEGER NOT NULL,
  "schema" TEXT NOT NULL
);
INSERT INTO "snapshot_info" VALUES(1,1,'2c6d5d01f2676bbd70a5075ea47431147e279a7329231bba5e865d963328a298','{"agder":1,"kdd":1,"ks":2,"vestland":1}',5,'{"collections":{"cases":{"description":"Felles saker","fields":{"deadline":{"description":"Frist","kind":"date"},"kommune":{"description":"Kommunen saken gjelder","kind":"text"},"notes":{"description":"Notater","kind":"text"},"owner":{"description":"Eierkontor (slug)","kind":"text"},"participants":{"description":"Kontorene som deltar (slugs)","kind":"set"},"plan_type":{"description":"Plantype: kommuneplanens-samfunnsdel, kommuneplanens-arealdel, reguleringsplan, planstrategi","kind":"text"},"status":{"description":"Status: ny, under-arbeid, avsluttet","kind":"text"},"title":{"description":"Tittel","kind":"text"}},"write":["kind:ks","kind:kdd","field:owner","field:participants"]},"membership":{"description":"Hvem er med i hvilket nettverk og styre (veilederkorpset, SEVS-styret)","fields":{"email":{"description":"E-postadresse","kind":"text"},"from":{"description":"Med fra","kind":"date"},"groups":{"description":"Grupper etter plantype: kommuneplanens-samfunnsdel, kommuneplanens-arealdel, reguleringsplan","kind":"set"},"network":{"description":"Nettverk eller styre: veilederkorpset, sevs-styret, folkevalgtprogrammet","kind":"text"},"organisation":{"description":"Kontoret personen representerer (slug, f.eks. vestland)","kind":"text"},"person":{"description":"Navn","kind":"text"},"role":{"description":"Rolle: planveileder, styremedlem, observatør, prosjektleder","kind":"text"},"to":{"description":"Med til","kind":"date"}},"write":["kind:ks","kind:kdd","field:organisation"]},"projects":{"description":"Fellesprosjekter, ofte finansiert som spleiselag","fields":{"description":{"description":"Beskrivelse","kind":"text"},"end":{"description":"Slutt","kind":"date"},"funding":{"description":"Finansieringsandel per kontor i NOK (spleiselag)","kind":"map","values":"integer"},"lead":{"description":"Ledende kontor (slug)","kind":"text"},"name":{"description":"Navn","kind":"text"},"participants":{"description":"Kontorene som deltar (slugs)","kind":"set"},"start":{"description":"Oppstart","kind":"date"},"status":{"description":"Status: planlagt, aktiv, avsluttet","kind":"text"}},"write":["kind:ks","kind:kdd","field:lead","field:participants"]}},"description":"Planleggingssamarbeidet mellom fylkeskommunene, KS og KDD","format":1}');
CREATE TABLE "frontier" (
  "office" TEXT NOT NULL PRIMARY KEY,
  "sequence" INTEGER NOT NULL
);
INSERT INTO "frontier" VALUES('agder',1);
INSERT INTO "frontier" VALUES('kdd',1);
INSERT INTO "frontier" VALUES('ks',2);
INSERT INTO "frontier" VALUES('vestland',1);
CREATE TABLE "schema_fields" (
  "collection" TEXT NOT NULL,
  "field" TEXT NOT NULL,
  "kind" TEXT NOT NULL,
  "value_kind" TEXT,
  "description" TEXT,
  "table_name" TEXT NOT NULL,
  PRIMARY KEY ("collection", "field")
);
INSERT INTO "schema_fields" VALUES('cases','deadline','date',NULL,'Frist','cases');
INSERT INTO "schema_fields" VALUES('cases','kommune','text',NULL,'Kommunen saken gjelder','cases');
INSERT INTO "schema_fields" VALUES('cases','notes','text',NULL,'Notater','cases');
INSERT INTO "schema_fields" VALUES('cases','owner','text',NULL,'Eierkontor (slug)','cases');
INSERT INTO "schema_fields" VALUES('cases','participants','set',NULL,'Kontorene som deltar (slugs)','cases_participants');
INSERT INTO "schema_fields" VALUES('cases','plan_type','text',NULL,'Plantype: kommuneplanens-samfunnsdel, kommuneplanens-arealdel, reguleringsplan, planstrategi','cases');
INSERT INTO "schema_fields" VALUES('cases','status','text',NULL,'Status: ny, under-arbeid, avsluttet','cases');
INSERT INTO "schema_fields" VALUES('cases','title','text',NULL,'Tittel','cases');
INSERT INTO "schema_fields" VALUES('membership','email','text',NULL,'E-postadresse','membership');
INSERT INTO "schema_fields" VALUES('membership','from','date',NULL,'Med fra','membership');
INSERT INTO "schema_fields" VALUES('membership','groups','set',NULL,'Grupper etter plantype: kommuneplanens-samfunnsdel, kommuneplanens-arealdel, reguleringsplan','membership_groups');
INSERT INTO "schema_fields" VALUES('membership','network','text',NULL,'Nettverk eller styre: veilederkorpset, sevs-styret, folkevalgtprogrammet','membership');
INSERT INTO "schema_fields" VALUES('membership','organisation','text',NULL,'Kontoret personen representerer (slug, f.eks. vestland)','membership');
INSERT INTO "schema_fields" VALUES('membership','person','text',NULL,'Navn','membership');
INSERT INTO "schema_fields" VALUES('membership','role','text',NULL,'Rolle: planveileder, styremedlem, observatør, prosjektleder','membership');
INSERT INTO "schema_fields" VALUES('membership','to','date',NULL,'Med til','membership');
INSERT INTO "schema_fields" VALUES('projects','description','text',NULL,'Beskrivelse','projects');
INSERT INTO "schema_fields" VALUES('projects','end','date',NULL,'Slutt','projects');
INSERT INTO "schema_fields" VALUES('projects','funding','map','integer','Finansieringsandel per kontor i NOK (spleiselag)','projects_funding');
INSERT INTO "schema_fields" VALUES('projects','lead','text',NULL,'Ledende kontor (slug)','projects');
INSERT INTO "schema_fields" VALUES('projects','name','text',NULL,'Navn','projects');
INSERT INTO "schema_fields" VALUES('projects','participants','set',NULL,'Kontorene som deltar (slugs)','projects_participants');
INSERT INTO "schema_fields" VALUES('projects','start','date',NULL,'Oppstart','projects');
INSERT INTO "schema_fields" VALUES('projects','status','text',NULL,'Status: planlagt, aktiv, avsluttet','projects');
CREATE TABLE "cases" (
  "id" TEXT NOT NULL PRIMARY KEY,
  "deadline" TEXT,
  "kommune" TEXT,
  "notes" TEXT,
  "owner" TEXT,
  "plan_type" TEXT,
  "status" TEXT,
  "title" TEXT
);
INSERT INTO "cases" VALUES('sak-2025-014','2025-06-15','Stad','KDD deltar fra planavdelingen.','ks','kommuneplanens-samfunnsdel','under-arbeid','Felles løft for samfunnsdelen');
CREATE TABLE "cases_participants" (
  "id" TEXT NOT NULL REFERENCES "cases" ("id"),
  "element" TEXT NOT NULL,
  PRIMARY KEY ("id", "element")
);
INSERT INTO "cases_participants" VALUES('sak-2025-014','agder');
INSERT INTO "cases_participants" VALUES('sak-2025-014','ks');
INSERT INTO "cases_participants" VALUES('sak-2025-014','vestland');
CREATE TABLE "membership" (
  "id" TEXT NOT NULL PRIMARY KEY,
  "email" TEXT,
  "from" TEXT,
  "network" TEXT,
  "organisation" TEXT,
  "person" TEXT,
  "role" TEXT,
  "to" TEXT
);
INSERT INTO "membership" VALUES('vk-agder-1',NULL,'2024-10-01',NULL,'agder','Håkon Lie',NULL,NULL);
INSERT INTO "membership" VALUES('vk-vestland-1','solveig.brekke@vestland.example','2024-10-01','veilederkorpset','vestland','Solveig Brekke','prosjektleder',NULL);
CREATE TABLE "membership_groups" (
  "id" TEXT NOT NULL REFERENCES "membership" ("id"),
  "element" TEXT NOT NULL,
  PRIMARY KEY ("id", "element")
);
INSERT INTO "membership_groups" VALUES('vk-agder-1','reguleringsplan');
INSERT INTO "membership_groups" VALUES('vk-vestland-1','kommuneplanens-samfunnsdel');
CREATE TABLE "projects" (
  "id" TEXT NOT NULL PRIMARY KEY,
  "description" TEXT,
  "end" TEXT,
  "lead" TEXT,
  "name" TEXT,
  "start" TEXT,
  "status" TEXT
);
INSERT INTO "projects" VALUES('veilederkorpset',NULL,NULL,'vestland','Veilederkorpset 2025–2029','2026-01-01','planlagt');
CREATE TABLE "projects_funding" (
  "id" TEXT NOT NULL REFERENCES "projects" ("id"),
  "key" TEXT NOT NULL,
  "value" INTEGER,
  PRIMARY KEY ("id", "key")
);
INSERT INTO "projects_funding" VALUES('veilederkorpset','agder',150000);
INSERT INTO "projects_funding" VALUES('veilederkorpset','kdd',100000);
INSERT INTO "projects_funding" VALUES('veilederkorpset','ks',250000);
INSERT INTO "projects_funding" VALUES('veilederkorpset','vestland',300000);
CREATE TABLE "projects_participants" (
  "id" TEXT NOT NULL REFERENCES "projects" ("id"),
  "element" TEXT NOT NULL,
  PRIMARY KEY ("id", "element")
);
INSERT INTO "projects_participants" VALUES('veilederkorpset','agder');
CREATE TABLE "conflicts" (
  "id" INTEGER PRIMARY KEY,
  "collection" TEXT NOT NULL,
  "record" TEXT NOT NULL,
  "field" TEXT,
  "key" TEXT,
  "kind" TEXT NOT NULL CHECK ("kind" IN ('value', 'delete'))
);
INSERT INTO "conflicts" VALUES(1,'membership','vk-vestland-1',NULL,NULL,'delete');
INSERT INTO "conflicts" VALUES(2,'projects','veilederkorpset','funding','kdd','value');
CREATE TABLE "conflict_siblings" (
  "conflict" INTEGER NOT NULL REFERENCES "conflicts" ("id"),
  "position" INTEGER NOT NULL,
  "author" TEXT NOT NULL,
  "sequence" INTEGER NOT NULL,
  "lamport" INTEGER NOT NULL,
  "time" TEXT NOT NULL,
  "value",
  "deleted" INTEGER CHECK ("deleted" IN (0, 1)),
  PRIMARY KEY ("conflict", "position")
);
INSERT INTO "conflict_siblings" VALUES(1,1,'vestland',1,2,'2026-06-01T08:02:00.000Z',NULL,0);
INSERT INTO "conflict_siblings" VALUES(1,2,'kdd',1,2,'2026-06-01T08:04:00.000Z',NULL,1);
INSERT INTO "conflict_siblings" VALUES(2,1,'vestland',1,2,'2026-06-01T08:02:00.000Z',100000,NULL);
INSERT INTO "conflict_siblings" VALUES(2,2,'agder',1,2,'2026-06-01T08:03:00.000Z',120000,NULL);
COMMIT;
