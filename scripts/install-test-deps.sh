#!/usr/bin/env bash
# Installs what the test suite needs on Debian 12, as root; idempotent (apt is skipped when all is present).
#   docker.io (dockerd, containerd, runc), openssh-server (sshd per test host), busybox-static and python3.11
#   (test images), iproute2 + iptables + util-linux (namespaces, nsenter, flock), nginx-light, wrk, hyperfine (bench).
# npm ci runs only when node_modules is missing: in a working tree it would delete other people's node_modules.
set -euo pipefail

PACKAGES=(docker.io openssh-server openssh-client busybox-static iproute2 iptables util-linux nginx-light wrk
  hyperfine python3-minimal libpython3.11-stdlib ca-certificates)

[ "$(id -u)" = 0 ] || { echo "install-test-deps: run as root" >&2; exit 1; }
cd "$(dirname "${BASH_SOURCE[0]}")/.."

missing=()
for p in "${PACKAGES[@]}"; do
  [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = 'install ok installed' ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-test-deps: apt-get install ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "install-test-deps: all Debian packages present"
fi

command -v node >/dev/null || { echo "install-test-deps: node 20 is required on PATH" >&2; exit 1; }
if [ ! -d node_modules ]; then
  echo "install-test-deps: npm ci"
  npm ci --no-audit --no-fund
else
  echo "install-test-deps: node_modules present, npm ci skipped"
fi
