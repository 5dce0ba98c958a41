#!/usr/bin/env bash
# Rewrites Fixtures/golden/v<format>/ from the fixed scenario in
# Sources/SamhandTestSupport/GoldenScenario.swift. Run it only together with a
# format version bump (a changed format under the same version must fail the
# golden tests, which is the point of them).
set -euo pipefail
cd "$(dirname "$0")/.."
SAMHAND_WRITE_GOLDEN=1 swift test --filter 'GoldenTests/testGolden_writeWhenAsked|SnapshotExportTests'
git status --short Fixtures/golden
