#!/usr/bin/env bash
# The main job on the embedded default — no cloud credentials, no peers:
#   bash deploy/run-main-job.sh [library-folder]
# Installs lomo-peer (idempotent), then backs up the given folder (or a generated sample library)
# into ./lomo-sample/: scan -> list. Later stages (volumes, encryption, the file:// tier, peers)
# extend this same script.
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/install.sh >&2

work=${LOMO_WORK:-$PWD/lomo-sample}
mkdir -p "$work"
if [ $# -ge 1 ]; then
  library=$(cd "$1" && pwd)
else
  library=$work/library
  node dist/deploy/sample-library.js "$library"
fi
lomo() { node "$PWD/bin/lomo-peer.js" --db "$work/lomob.db" "$@"; }

echo "== scan $library"
lomo scan "$library"
echo "== list dirs"
lomo list dirs
echo "== list files (not yet in a volume)"
lomo list files
