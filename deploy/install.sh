#!/usr/bin/env bash
# Installs lomo-peer's Node dependencies and builds it. Idempotent: does nothing that is already done.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v node >/dev/null; then
  echo "lomo-peer needs Node.js >= 20 (apt-get install nodejs npm)" >&2
  exit 1
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
  echo "lomo-peer needs Node.js >= 20; this is $(node --version)" >&2
  exit 1
fi

# node-gyp compiles our addons (storage/crypto/*-native) against this Node's own headers when its
# package ships them (nodesource's nodejs does, in <prefix>/include/node) instead of downloading
# them from nodejs.org, which these machines cannot reach.
prefix=$(node -p 'require("path").resolve(process.execPath, "../..")')
if [ -z "${npm_config_nodedir:-}" ] && [ "$(npm config get nodedir)" = "undefined" ] && [ -f "$prefix/include/node/node_api.h" ]; then
  export npm_config_nodedir="$prefix"
fi

# npm ci only when the lockfile changed since the last install (it wipes node_modules).
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npx tsc -p tsconfig.json
