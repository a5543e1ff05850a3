#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what the tests need, builds, runs vitest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/setup-test-env.sh
npx vitest run "$@"
