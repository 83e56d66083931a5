#!/usr/bin/env bash
# Real hosts for integration and e2e tests on one machine (DESIGN.md §6). As root:
#   scripts/test-hosts.sh up N   a test dockerd at unix:///run/dstack-test/docker.sock with the dstack-test/* images,
#                                and N hosts dstack-h1..N: a network namespace at 10.77.0.(10+i) behind bridge
#                                dstkbr0, with its own sshd (port 22) and its own dockerd; /run/dstack-test/hosts.json
#   scripts/test-hosts.sh down   stops all of it and leaves no process, namespace, link or iptables rule behind
#   scripts/test-hosts.sh status
#   scripts/test-hosts.sh remove I  stops host dstack-hI only (and rewrites hosts.json)
# Idempotent and safe to re-run after a crash: `up` repairs what is missing, `down` sweeps what a crash left.
# Docker data roots live under /var/lib/dstack-test so images survive `down` and a warm `up` takes seconds.
set -euo pipefail

RUN=/run/dstack-test
VAR=/var/lib/dstack-test
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BRIDGE=dstkbr0            # the hosts' L2 segment, 10.77.0.1/24 in the root namespace
NET=10.77.0
NAT_RULE="-s 10.77.0.0/24 ! -d 10.77.0.0/24 -j MASQUERADE"
DOCK_BRIDGE=dstkdock0     # the root test dockerd's own bridge: another dockerd on this machine may own docker0
DOCK_PREFIX=172.28
DOCK_BIP=$DOCK_PREFIX.0.1/16
DOCK_POOL=base=172.27.0.0/16,size=24
IMAGES=(dstack-test/busybox:latest dstack-test/node:latest dstack-test/python:latest)
KEY=$RUN/id_ed25519
T0=$EPOCHREALTIME

log() { printf '[test-hosts %6ss] %s\n' "$(awk -v a="$EPOCHREALTIME" -v b="$T0" 'BEGIN { printf "%.1f", a - b }')" "$*" >&2; }
die() { echo "test-hosts: $*" >&2; exit 1; }
# A killed daemon may linger as a zombie until reaped, and kill -0 succeeds on zombies: check its state too.
alive() {
  local pid
  pid=$(cat "$1" 2>/dev/null) && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null &&
    ! grep -E '^State:\s+Z' "/proc/$pid/status" >/dev/null 2>&1
}
hdir() { echo "$RUN/hosts/h$1"; }
ns_of() { echo "dstack-h$1"; }
veth_of() { echo "dstk-h$1"; }
ip_of() { echo "$NET.$((10 + $1))"; }

# --- dockerd ------------------------------------------------------------------------------------------------------

# Waits until the engine at $1 answers, or fails with the tail of its log ($2).
wait_docker() {
  local sock=$1 logf=$2 i
  for i in $(seq 1 300); do
    docker -H "unix://$sock" version --format '{{.Server.Version}}' >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  tail -n 30 "$logf" >&2
  die "dockerd at $sock did not answer in 30 s (log: $logf)"
}

# start_dockerd DIR DATA_ROOT NSENTER_PREFIX... -- EXTRA_FLAGS...: one engine with everything of its own, so several
# can share this filesystem; its own daemon.json so a machine-wide /etc/docker/daemon.json cannot leak in.
start_dockerd() {
  local dir=$1 data=$2; shift 2
  local prefix=() flags=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do prefix+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  flags=("$@")
  if alive "$dir/docker.pid" && docker -H "unix://$dir/docker.sock" version >/dev/null 2>&1; then return 0; fi
  mkdir -p "$dir" "$data"
  [ -f "$dir/daemon.json" ] || echo '{}' >"$dir/daemon.json"
  rm -f "$dir/docker.sock" "$dir/docker.pid"
  "${prefix[@]}" setsid -f dockerd --host "unix://$dir/docker.sock" --data-root "$data" --exec-root "$dir/exec" \
    --pidfile "$dir/docker.pid" --config-file "$dir/daemon.json" --shutdown-timeout 2 "${flags[@]}" \
    </dev/null >"$dir/docker.log" 2>&1 9>&- # fd 9 is our lock: a daemon holding it would block every later run
  wait_docker "$dir/docker.sock" "$dir/docker.log"
}

stop_dockerd() {
  local dir=$1 pid i
  if docker -H "unix://$dir/docker.sock" version >/dev/null 2>&1; then
    local ids
    ids=$(docker -H "unix://$dir/docker.sock" ps -aq 2>/dev/null || true)
    [ -z "$ids" ] || docker -H "unix://$dir/docker.sock" rm -f $ids >/dev/null 2>&1 || true
  fi
  if alive "$dir/docker.pid"; then
    pid=$(cat "$dir/docker.pid")
    kill "$pid" 2>/dev/null || true
    for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  kill_matching "$dir/exec"
  rm -f "$dir/docker.sock" "$dir/docker.pid"
}

# Kills, by pid, the processes whose command line names PATH (containerd and shims a killed dockerd left).
kill_matching() {
  local needle=$1 p cmd pids=()
  for p in /proc/[0-9]*; do
    cmd=$(tr '\0' ' ' 2>/dev/null <"$p/cmdline") || continue
    [[ $cmd == *"$needle"* ]] && pids+=("${p#/proc/}")
  done
  [ ${#pids[@]} -eq 0 ] || kill -9 "${pids[@]}" 2>/dev/null || true
}

# A crashed dockerd leaves overlay and netns mounts; unmount them so data roots can be reused or removed.
unmount_under() {
  local m
  for m in $(awk -v a="$RUN" -v b="$VAR" 'index($2, a) == 1 || index($2, b) == 1 { print $2 }' /proc/mounts | sort -r); do
    umount -l "$m" 2>/dev/null || true
  done
}

# dockerd leaves its iptables rules behind when it stops; drop the ones for our bridge, not other engines' rules.
drop_docker_rules() {
  local table line
  for table in filter nat; do
    iptables -t "$table" -S 2>/dev/null | grep -E -- "$DOCK_BRIDGE|${DOCK_PREFIX//./\\.}\\." | grep '^-A ' |
      while read -r line; do eval "iptables -t $table -D ${line#-A }" 2>/dev/null || true; done || true
  done
}

ensure_bridge() { # NAME CIDR
  ip link show "$1" >/dev/null 2>&1 || ip link add "$1" type bridge
  ip addr show dev "$1" | grep -F " $2 " >/dev/null || ip addr add "$2" dev "$1"
  ip link set "$1" up
}

up_root_docker() {
  ensure_bridge "$DOCK_BRIDGE" "$DOCK_BIP"
  start_dockerd "$RUN" "$VAR/docker" -- --bridge "$DOCK_BRIDGE" --default-address-pool "$DOCK_POOL" \
    --cgroup-parent dstack-test
  log "root test dockerd ready: unix://$RUN/docker.sock"
}

# --- hosts --------------------------------------------------------------------------------------------------------

ensure_network() {
  ensure_bridge "$BRIDGE" "$NET.1/24"
  # Docker sets FORWARD's policy to DROP and br_netfilter sends bridged frames through it: let the hosts talk.
  local rule
  for rule in "-i $BRIDGE -j ACCEPT" "-o $BRIDGE -j ACCEPT"; do
    iptables -C FORWARD $rule 2>/dev/null || iptables -I FORWARD $rule
  done
  # The hosts see the outside network as this machine does (NAT): without it their DNS queries go out unanswered
  # and every registry lookup (a `:latest` re-pull) waits 20 s for a timeout instead of failing at once.
  iptables -t nat -C POSTROUTING $NAT_RULE 2>/dev/null || iptables -t nat -A POSTROUTING $NAT_RULE
}

ensure_client_key() {
  mkdir -p "$RUN"
  [ -f "$KEY" ] || ssh-keygen -q -t ed25519 -N '' -C dstack-test-client -f "$KEY"
}

ensure_netns() {
  local i=$1 ns veth ip
  ns=$(ns_of "$i"); veth=$(veth_of "$i"); ip=$(ip_of "$i")
  [ -e "/var/run/netns/$ns" ] || ip netns add "$ns"
  if ! ip link show "$veth" >/dev/null 2>&1; then
    ip -n "$ns" link del eth0 2>/dev/null || true
    ip link add "$veth" type veth peer name eth0 netns "$ns"
  fi
  ip link set "$veth" master "$BRIDGE" up
  ip -n "$ns" link set lo up
  ip -n "$ns" addr show dev eth0 | grep -F " $ip/24 " >/dev/null || ip -n "$ns" addr add "$ip/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" route replace default via "$NET.1"
}

write_sshd_config() {
  local i=$1 dir
  dir=$(hdir "$i")
  cat >"$dir/sshd_config" <<CONF
Port 22
ListenAddress 0.0.0.0
HostKey $dir/ssh_host_ed25519_key
PidFile $dir/sshd.pid
AuthorizedKeysFile $dir/authorized_keys
StrictModes no
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
AllowTcpForwarding yes
AllowStreamLocalForwarding yes
X11Forwarding no
PrintMotd no
MaxSessions 100
MaxStartups 100:30:200
SetEnv HOME=$dir/home DOCKER_HOST=unix://$dir/docker.sock DSTACK_TEST_HOST=$(ns_of "$i")
Subsystem sftp internal-sftp
CONF
}

start_sshd() {
  local i=$1 dir
  dir=$(hdir "$i")
  alive "$dir/sshd.pid" && return 0
  [ -f "$dir/ssh_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N '' -C "$(ns_of "$i")" -f "$dir/ssh_host_ed25519_key"
  cp "$KEY.pub" "$dir/authorized_keys"
  mkdir -p "$dir/home" # each host its own $HOME (SetEnv below): the hosts share one filesystem
  write_sshd_config "$i"
  mkdir -p /run/sshd # privilege separation directory
  nsenter --net="/var/run/netns/$(ns_of "$i")" /usr/sbin/sshd -f "$dir/sshd_config" -E "$dir/sshd.log" 9>&-
}

# Loads the root engine's test images into a host's engine, skipping the ones it already has (same image id).
load_images() {
  local i=$1 sock img want have
  sock="unix://$(hdir "$i")/docker.sock"
  for img in "${IMAGES[@]}"; do
    want=$(docker -H "unix://$RUN/docker.sock" image inspect -f '{{.Id}}' "$img")
    have=$(docker -H "$sock" image inspect -f '{{.Id}}' "$img" 2>/dev/null || true)
    [ "$want" = "$have" ] || docker -H "unix://$RUN/docker.sock" save "$img" | docker -H "$sock" load -q >/dev/null
  done
}

up_host() {
  local i=$1 dir
  dir=$(hdir "$i")
  mkdir -p "$dir"
  ensure_netns "$i"
  start_sshd "$i"
  # nsenter --net, not `ip netns exec`: the latter remounts /sys, which hides the cgroup hierarchy from dockerd.
  start_dockerd "$dir" "$VAR/h$i/docker" nsenter --net="/var/run/netns/$(ns_of "$i")" -- \
    --bip "172.18.$i.1/24" --cgroup-parent "dstack-test-h$i"
  load_images "$i"
  log "host $(ns_of "$i") ready at $(ip_of "$i")"
}

down_host() {
  local i=$1 dir ns veth pids
  dir=$(hdir "$i"); ns=$(ns_of "$i"); veth=$(veth_of "$i")
  stop_dockerd "$dir"
  # Everything left in the namespace: sshd, its sessions, whatever tests started over SSH (agents).
  if [ -e "/var/run/netns/$ns" ]; then
    pids=$(ip netns pids "$ns" 2>/dev/null || true)
    [ -z "$pids" ] || kill -9 $pids 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
  fi
  ip link del "$veth" 2>/dev/null || true
  rm -f "$dir/sshd.pid" "$dir/docker.sock"
}

host_indexes() { # the hosts that exist in any form: namespaces, links, pid files a crash left
  { ip netns list 2>/dev/null | grep -oE '^dstack-h[0-9]+' | sed 's/dstack-h//'
    ip -o link show 2>/dev/null | grep -oE 'dstk-h[0-9]+' | sed 's/dstk-h//'
    ls "$RUN"/hosts/h*/*.pid 2>/dev/null | sed -n 's#.*/hosts/h\([0-9]\+\)/.*#\1#p'; } | sort -nu || true
}

write_hosts_json() {
  local i first=1 ip dir
  : >"$RUN/known_hosts"
  {
    printf '{\n  "dockerHost": "unix://%s/docker.sock",\n  "identityFile": "%s",\n' "$RUN" "$KEY"
    printf '  "knownHostsFile": "%s/known_hosts",\n  "hosts": [' "$RUN"
    for i in $(host_indexes); do
      dir=$(hdir "$i"); ip=$(ip_of "$i")
      alive "$dir/sshd.pid" || continue
      echo "$ip $(cut -d' ' -f1-2 "$dir/ssh_host_ed25519_key.pub")" >>"$RUN/known_hosts"
      [ $first = 1 ] || printf ','
      first=0
      printf '\n    {"name": "%s", "ip": "%s", "sshPort": 22, "user": "root", "identityFile": "%s",' \
        "$(ns_of "$i")" "$ip" "$KEY"
      printf ' "dockerHost": "unix://%s/docker.sock", "netns": "%s", "veth": "%s",' "$dir" "$(ns_of "$i")" "$(veth_of "$i")"
      printf ' "hostKey": "%s"}' "$(cut -d' ' -f1-2 "$dir/ssh_host_ed25519_key.pub")"
    done
    printf '\n  ]\n}\n'
  } >"$RUN/hosts.json.tmp"
  mv "$RUN/hosts.json.tmp" "$RUN/hosts.json"
}

# --- commands -----------------------------------------------------------------------------------------------------

cmd_up() {
  local n=${1:-3} i pids=() failed=0
  [[ $n =~ ^[0-9]+$ ]] && [ "$n" -le 50 ] || die "usage: $0 up N (N hosts, 0..50)"
  mkdir -p "$RUN/hosts" "$VAR"
  rm -f "$RUN/hosts.json"
  up_root_docker
  "$HERE/images/build-images.sh" "unix://$RUN/docker.sock" "$VAR/build"
  log "images ready: ${IMAGES[*]}"
  if [ "$n" -gt 0 ]; then
    ensure_network
    ensure_client_key
    # Each dockerd takes seconds to start and the images seconds to load: all hosts at once.
    for i in $(seq 1 "$n"); do up_host "$i" & pids+=($!); done
    for i in "${pids[@]}"; do wait "$i" || failed=1; done
    [ $failed = 0 ] || die "a host failed to start (logs under $RUN/hosts/h*/)"
  fi
  write_hosts_json
  log "up: $RUN/hosts.json (DSTACK_TEST_DOCKER_HOST=unix://$RUN/docker.sock)"
}

cmd_down() {
  local i rule pids=()
  rm -f "$RUN/hosts.json"
  for i in $(host_indexes); do down_host "$i" & pids+=($!); done
  stop_dockerd "$RUN" & pids+=($!)
  for i in "${pids[@]}"; do wait "$i" || true; done
  unmount_under
  for rule in "-i $BRIDGE -j ACCEPT" "-o $BRIDGE -j ACCEPT"; do
    while iptables -D FORWARD $rule 2>/dev/null; do :; done
  done
  while iptables -t nat -D POSTROUTING $NAT_RULE 2>/dev/null; do :; done
  drop_docker_rules
  ip link del "$BRIDGE" 2>/dev/null || true
  ip link del "$DOCK_BRIDGE" 2>/dev/null || true
  log "down: no test dockerd, sshd or namespace left"
}

cmd_status() {
  local i dir rc=0
  if docker -H "unix://$RUN/docker.sock" version >/dev/null 2>&1; then
    echo "root dockerd: up (unix://$RUN/docker.sock)"
  else echo "root dockerd: down"; rc=1; fi
  for i in $(host_indexes); do
    dir=$(hdir "$i")
    printf '%s %s: sshd %s, dockerd %s, link %s\n' "$(ns_of "$i")" "$(ip_of "$i")" \
      "$(alive "$dir/sshd.pid" && echo up || echo down)" \
      "$(docker -H "unix://$dir/docker.sock" version >/dev/null 2>&1 && echo up || echo down)" \
      "$(ip -br link show "$(veth_of "$i")" 2>/dev/null | awk '{print $2}' || echo missing)"
  done
  return $rc
}

[ "$(id -u)" = 0 ] || die "must run as root (it creates network namespaces and starts dockerd)"
mkdir -p "$RUN"
# One `up`/`down` at a time: two parallel test runs must not interleave namespace setup.
exec 9>/run/dstack-test.lock
flock 9
case ${1:-} in
  up) cmd_up "${2:-3}" ;;
  down) cmd_down ;;
  status) cmd_status ;;
  remove) [[ ${2:-} =~ ^[0-9]+$ ]] || die "usage: $0 remove I"; down_host "$2"; write_hosts_json ;;
  *) die "usage: $0 up N | down | status | remove I" ;;
esac
