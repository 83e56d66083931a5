#!/usr/bin/env bash
# Builds the local test images with `docker import` (no registry exists here, DESIGN.md §6):
#   dstack-test/busybox:latest  busybox-static, applet links, /etc/passwd with root, nobody and app (uid 1000)
#   dstack-test/node:latest     busybox + this machine's node + the libraries ldd lists + /srv test servers
#   dstack-test/python:latest   busybox + Debian python3.11 + its libraries + the stdlib (no tests)
# An image is rebuilt only when the hash of its inputs (this file, the binaries, the servers) changed; the hash is
# stored in the label dstack.test.inputs, so a warm `test-hosts.sh up` costs one `docker image inspect` per image.
# Usage: build-images.sh DOCKER_HOST WORK_DIR
set -euo pipefail

DOCKER_HOST_URL=$1
WORK=$2
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
BUSYBOX=/bin/busybox
NODE_BIN=$(readlink -f "$(command -v node)")
PY_BIN=/usr/bin/python3.11
PY_LIB=/usr/lib/python3.11
PATH_ENV=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

dk() { docker -H "$DOCKER_HOST_URL" "$@"; }
log() { echo "[images] $*" >&2; }

# Copies a binary's shared libraries to the same paths inside ROOT. Files are dereferenced (-L) because Debian's
# merged /usr makes /lib a symlink, and the image has no such link: the loader's default dirs hold real files.
copy_libs() {
  local root=$1; shift
  local lib
  for lib in $(ldd "$@" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// && $2 ~ /^\(0x/ { print $1 }' | sort -u); do
    mkdir -p "$root$(dirname "$lib")"
    [ -e "$root$lib" ] || cp -L "$lib" "$root$lib"
  done
}

rootfs_busybox() {
  local root=$1
  mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,usr/local/bin,etc,root,home/app,srv,tmp,var/www,proc,sys,dev}
  chmod 1777 "$root/tmp"
  cp "$BUSYBOX" "$root/bin/busybox"
  local applet
  for applet in $("$BUSYBOX" --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
  done
  ln -sf /bin/busybox "$root/usr/bin/env" # for `#!/usr/bin/env sh` shebangs
  printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' \
    'app:x:1000:1000:app:/home/app:/bin/sh' >"$root/etc/passwd"
  printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' 'app:x:1000:' >"$root/etc/group"
  chown 1000:1000 "$root/home/app"
}

rootfs_node() {
  local root=$1
  rootfs_busybox "$root"
  cp "$NODE_BIN" "$root/usr/local/bin/node"
  copy_libs "$root" "$NODE_BIN"
  cp "$REPO"/test/fixtures/servers/*.mjs "$root/srv/"
}

rootfs_python() {
  local root=$1
  rootfs_busybox "$root"
  cp "$PY_BIN" "$root/usr/bin/python3.11"
  ln -sf python3.11 "$root/usr/bin/python3"
  ln -sf python3.11 "$root/usr/bin/python"
  mkdir -p "$root/usr/lib"
  # The test suite, idle and tk are 30 MB nobody runs in a test container.
  tar -C /usr/lib --exclude='python3.11/test' --exclude='python3.11/idlelib' --exclude='python3.11/tkinter' \
    --exclude='python3.11/ensurepip' --exclude='python3.11/lib2to3' --exclude='python3.11/config-*' \
    --exclude='python3.11/sitecustomize.py' -cf - python3.11 | tar -C "$root/usr/lib" -xf -
  copy_libs "$root" "$PY_BIN" "$PY_LIB"/lib-dynload/*.so
}

# The inputs of an image, hashed: a changed server, binary or this script rebuilds it.
inputs_hash() {
  local name=$1
  {
    sha256sum "${BASH_SOURCE[0]}" "$BUSYBOX"
    case $name in
      node) sha256sum "$NODE_BIN" "$REPO"/test/fixtures/servers/*.mjs ;;
      python) sha256sum "$PY_BIN"; dpkg-query -W libpython3.11-stdlib libpython3.11-minimal 2>/dev/null || true ;;
    esac
  } | sed "s#$REPO/##" | sha256sum | cut -c1-16
}

build_one() {
  local name=$1 cmd=$2
  local image="dstack-test/$name:latest" hash current
  hash=$(inputs_hash "$name")
  current=$(dk image inspect -f '{{index .Config.Labels "dstack.test.inputs"}}' "$image" 2>/dev/null || true)
  if [ "$current" = "$hash" ]; then
    log "$image is current ($hash)"
    return 0
  fi
  log "building $image ($hash)"
  local root="$WORK/rootfs-$name"
  rm -rf "$root"
  mkdir -p "$root"
  "rootfs_$name" "$root"
  tar --numeric-owner -C "$root" -cf - . | dk import \
    --change "ENV PATH=$PATH_ENV" \
    --change "LABEL dstack.test.inputs=$hash" \
    --change "LABEL dstack.test.image=$name" \
    --change "WORKDIR /" \
    --change "CMD $cmd" \
    - "$image" >/dev/null
  rm -rf "$root"
  # The previous build, now untagged, would pile up in the data root with every server edit.
  dk image prune -f --filter label=dstack.test.image="$name" >/dev/null
}

mkdir -p "$WORK"
build_one busybox '["/bin/sh"]'
build_one node '["node", "/srv/http-echo.mjs"]'
build_one python '["python3", "-m", "http.server", "8000"]'
