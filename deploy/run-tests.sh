#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what the tests need, builds, type-checks the
# tests, runs vitest (both projects, unit then e2e: see vitest.config.ts).
# Extra arguments go to vitest (e.g. a folder: bash deploy/run-tests.sh test/scan, or --project unit).
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/setup-test-env.sh
source deploy/node-env.sh   # Node 24 from .node/ where the system has an older one
results=$(mktemp /tmp/lomo-vitest-XXXXXX.json)
trap 'rm -f "$results"' EXIT
# The CLI tests run the built program (dist/), so build first; then the tests themselves must
# type-check (vitest strips types without checking them).
if ! npx tsc -p tsconfig.json; then
  echo "0 passed, 1 failed (the build: npx tsc -p tsconfig.json)"
  exit 1
fi
if ! npx tsc -p test/tsconfig.json; then
  echo "0 passed, 1 failed (the tests do not type-check: npx tsc -p test/tsconfig.json)"
  exit 1
fi
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$results" "$@" || status=$?
# One plain closing line for CI: "N passed, N failed".
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed` + (skipped ? `, ${skipped} skipped` : ""));
' "$results" || true
exit $status
