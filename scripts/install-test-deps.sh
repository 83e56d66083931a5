#!/usr/bin/env bash
# Installs what the test suite needs on Debian 12, as root; idempotent (apt is skipped when all is present).
#   docker.io (dockerd, containerd, runc), openssh-server (sshd per test host), busybox-static and python3.11
#   (test images), iproute2 + iptables + util-linux (namespaces, nsenter, flock), nginx-light, wrk, hyperfine (bench),
#   postgresql (state on PostgreSQL: the tests run their own cluster, scripts/test-postgres.sh, port 55432),
#   chromium + fonts-liberation (the dashboard's browser tests, driven by playwright-core; no browser downloads).
# npm ci runs only when node_modules is missing or older than package-lock.json (in a working tree it replaces node_modules).
set -euo pipefail

PACKAGES=(docker.io openssh-server openssh-client busybox-static iproute2 iptables util-linux nginx-light wrk
  hyperfine python3-minimal libpython3.11-stdlib ca-certificates cloud-init postgresql chromium fonts-liberation)

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

if ! python3 -c 'import moto' 2>/dev/null || ! command -v moto_server >/dev/null; then
  echo "install-test-deps: the Python package moto 5.x (command moto_server) is missing: \`python3 -c 'import moto'\` fails." >&2
  echo "install-test-deps: the AWS tests run against moto_server; PyPI is not reachable here, so it must come with the machine image." >&2
  exit 1
fi

command -v node >/dev/null || { echo "install-test-deps: node 20 is required on PATH" >&2; exit 1; }
# A node_modules older than package-lock.json misses what was added since (npm writes its own lock copy last).
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "install-test-deps: npm ci"
  npm ci --no-audit --no-fund
else
  echo "install-test-deps: node_modules present, npm ci skipped"
fi
