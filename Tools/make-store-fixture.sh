#!/usr/bin/env bash
# Writes a golden pair of stores and their shared folder with a given
# `samhand` binary, to pin a store format that later versions must read:
#
#   SAMHAND=/path/to/old/samhand Tools/make-store-fixture.sh Fixtures/stores/format-N
#
# Build the binary from the last commit of that store format (for format 2:
# `git worktree add /tmp/old a6fb8dd && (cd /tmp/old && swift build --product samhand)`).
# Two offices, KS and Vestland, share a folder; they create records, make
# a concurrent edit (a conflict) and a delete, and sync until both are up to
# date. The output holds each office's replica.sqlite (its log checkpointed
# into the file), the folder, and KS's canonical snapshot as that version
# wrote it. Times in it are the run's own: the fixture is made once and kept.
set -euo pipefail
out=${1:?usage: SAMHAND=path Tools/make-store-fixture.sh OUTPUT-FOLDER}
mkdir -p "$out" && out=$(cd "$out" && pwd)   # the script works in a temporary folder
samhand=${SAMHAND:?set SAMHAND to the samhand binary of the format to pin}
command -v sqlite3 >/dev/null || { echo "needs sqlite3 (apt-get install -y sqlite3)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
s() { "$samhand" "$@" >/dev/null; }

s init --store ks --replica ks --folder delt
s init --store vestland --replica vestland --folder delt
# From store format 5 on, a joining office's key counts once an
# administrator confirms it.
if "$samhand" roster confirm --help >/dev/null 2>&1; then
  key=$("$samhand" key show --store vestland --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["public_key"])')
  s roster confirm --store ks vestland --key "$key"
fi
s set --store ks cases sak-1 "title=Felles løft for samfunnsdelen" owner=ks participants+=ks participants+=vestland status=ny
s set --store ks cases sak-2 "title=Arealregnskap i kommuneplanens arealdel" owner=ks participants+=ks
s set --store vestland projects veilederkorpset "name=Veilederkorpset 2026–2029" lead=vestland \
  participants+=vestland funding.vestland:=300000 status=planlagt
s sync --store ks
s sync --store vestland
s sync --store ks
# Both offline: a concurrent edit of one field, then a delete.
s set --store ks cases sak-1 status=under-arbeid
s set --store vestland cases sak-1 status=avsluttet "notes=Oppstartsamling i Bergen"
s delete --store ks cases sak-2
s sync --store ks
s sync --store vestland
s sync --store ks
"$samhand" snapshot --store ks --format json --out snapshot.json >/dev/null

mkdir -p "$out"
rm -rf "${out:?}/ks" "${out:?}/vestland" "${out:?}/folder"
for office in ks vestland; do
  sqlite3 "$office/replica.sqlite" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
  mkdir -p "$out/$office"
  cp "$office/replica.sqlite" "$out/$office/"
done
cp -R delt "$out/folder"
cp snapshot.json "$out/snapshot.json"
echo "wrote $out: $(cd "$out" && find . -type f | sort | tr '\n' ' ')"
