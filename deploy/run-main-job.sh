#!/usr/bin/env bash
# The main job on the embedded default — no cloud credentials, no peers:
#   bash deploy/run-main-job.sh [library-folder]
# Installs lomo-peer (idempotent), then runs lomob's whole two-stage flow on the given folder (or a
# generated sample library) into ./lomo-sample/, with the local folder tiers standing in for the
# clouds (<work>/staging for Google Drive, <work>/archive for S3/Glacier):
#   scan -> init -> upload files -> list files / list gdrive -> iso create -> upload iso -> list iso
#   -> upload files (drops staged copies that are now archived) -> restore gdrive / restore aws /
#   restore file,
#   and checks the restored bytes against the library.
# The passphrase comes from LOMOB_MASTER_KEY; without it a random one is made once and kept in
# <work>/passphrase.txt (mode 0600) — for real use, pick your own and keep it safe.
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/install.sh >&2
source deploy/node-env.sh   # Node 24 from .node/ where the system has an older one

work=${LOMO_WORK:-$PWD/lomo-sample}
mkdir -p "$work"
if [ $# -ge 1 ]; then
  library=$(cd "$1" && pwd)
else
  library=$work/library
  node dist/deploy/sample-library.js "$library"
fi
if [ -z "${LOMOB_MASTER_KEY:-}" ]; then
  if [ ! -s "$work/passphrase.txt" ]; then
    (umask 077; node -e 'console.log(require("crypto").randomBytes(18).toString("base64url"))' > "$work/passphrase.txt")
    echo "main job: generated a passphrase in $work/passphrase.txt (keep it to restore)" >&2
  fi
  LOMOB_MASTER_KEY=$(cat "$work/passphrase.txt")
fi
export LOMOB_MASTER_KEY
# No cloud credentials: the folder tiers are used (each command says so).
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_ENDPOINT_URL
lomo() { node "$PWD/bin/lomo-peer.js" --db "$work/lomob.db" "$@"; }

echo "== scan $library"
lomo scan "$library"
if [ ! -f "$work/identity.key" ]; then
  echo "== init"
  lomo init
fi
echo "== upload files (stage 1: staging copies)"
lomo upload files
echo "== list files"
lomo list files
echo "== list gdrive"
lomo list gdrive
check=$work/restore-check
rm -rf "$check" && mkdir -p "$check/x"
first=$(lomo list bigfiles -s 0 --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const f=JSON.parse(s);console.log(f[f.length-1].path)})')
if lomo list files --json | grep -q '"inCloud": true'; then
  echo "== restore gdrive (one staged file)"
  lomo restore gdrive "$first" "$check/staged-copy"
  cmp "$first" "$check/staged-copy"
fi
echo "== iso create --partial (stage 2: volumes, encrypted on the fly)"
lomo iso create --partial -p "$work"
echo "== upload iso"
lomo upload iso
echo "== list iso"
lomo list iso
echo "== upload files (archived files leave the staging area)"
lomo upload files

echo "== restore aws (the newest volume from the archive)"
volume=$(lomo list iso --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const v=JSON.parse(s);console.log(v[v.length-1].name)})')
lomo restore aws "$volume" "$check/volume.iso"
# Checked with lomo-peer itself (no outside ISO reader: install.sh installs none): its ISO reader lists the
# restored image, and `restore file` brings the whole library back from its volumes, each file
# verified against its SHA-256 before it is placed.
echo "== iso dump (the restored volume, read by lomo-peer's ISO reader)"
lomo iso dump "$check/volume.iso" | tail -5
echo "== restore file (the whole library, from its volumes)"
lomo restore file "$library" --to "$check/x"
restored=$(find "$check/x" -type d -name "$(basename "$library")" | head -1)
diff -r "$library" "$restored"
echo "main job: $(find "$restored" -type f | wc -l) files restored from their volumes, identical to the library"
