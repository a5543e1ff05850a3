#!/usr/bin/env bash
# Installs every tool and service the test suite needs, idempotently: ISO readers (xorriso, isoinfo,
# bsdtar, 7z), the S3 emulator (moto), network tools for the multi-site tests (iproute2, iperf3,
# miniupnpd). Safe to run again: it checks before installing.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
have() { command -v "$1" >/dev/null 2>&1; }
have xorriso  || need_apt+=(xorriso)
have isoinfo  || need_apt+=(genisoimage)
have bsdtar   || need_apt+=(libarchive-tools)
have 7z       || need_apt+=(p7zip-full)
have ip       || need_apt+=(iproute2)
have iperf3   || need_apt+=(iperf3)
have iptables || need_apt+=(iptables)
[ -x /usr/sbin/miniupnpd ] || need_apt+=(miniupnpd)
have upnpc    || need_apt+=(miniupnpc)
have nft      || need_apt+=(nftables)   # miniupnpd's nftables chains in the UPnP test
have openssl  || need_apt+=(openssl)
have curl     || need_apt+=(curl)
[ -x /usr/bin/time ] || need_apt+=(time)

if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup-test-env: installing ${need_apt[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  # miniupnpd asks debconf questions at install time; answer them up front.
  echo "miniupnpd miniupnpd/start_daemon boolean false" | debconf-set-selections 2>/dev/null || true
  echo "miniupnpd miniupnpd/ip6script boolean false" | debconf-set-selections 2>/dev/null || true
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# moto's S3 server, in a project-local virtualenv so the system Python stays untouched.
if [ ! -x .venv/bin/moto_server ]; then
  echo "setup-test-env: installing moto[server] into .venv" >&2
  if ! python3 -m venv .venv 2>/dev/null; then
    # Debian's system Python keeps venv in a separate package.
    rm -rf .venv
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    python3 -m venv .venv
  fi
  .venv/bin/pip install -q 'moto[server]==5.2.5'
fi

bash deploy/install.sh
