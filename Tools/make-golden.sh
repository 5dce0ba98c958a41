#!/usr/bin/env bash
# Rewrites golden files from the fixed scenario in
# Sources/SamhandTestSupport/GoldenScenario.swift. Run it only together with a
# format version bump (a changed format under the same version must fail the
# golden tests, which is the point of them):
#
#   Tools/make-golden.sh changesets   Fixtures/golden/v<changeset format>/ and the export goldens
#   Tools/make-golden.sh layout       Fixtures/golden/layout-<folder layout>/ (samhand.json, a checkpoint)
#   Tools/make-golden.sh format2      Fixtures/golden/v2/ (changeset files that write their dependencies against a base)
#   Tools/make-golden.sh pack         Fixtures/golden/pack-<pack format>/ (the format 2 files in one pack)
#
# Fixtures/golden/v1/ was written in folder layout 2 and is kept so: it is
# also the golden older folder that every later Samhand must read.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  changesets) filter='GoldenTests/testGolden_writeWhenAsked|SnapshotExportTests' ;;
  layout) filter='GoldenTests/testGolden_writeLayoutWhenAsked' ;;
  format2) filter='GoldenTests/testGolden_writeFormatTwoWhenAsked' ;;
  pack) filter='GoldenTests/testGolden_writePackWhenAsked' ;;
  *) echo "usage: Tools/make-golden.sh changesets|layout|format2|pack" >&2; exit 64 ;;
esac
SAMHAND_WRITE_GOLDEN=1 swift test --filter "$filter"
git status --short Fixtures/golden
