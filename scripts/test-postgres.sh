#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the test suite's PostgreSQL-state pass (issue 17), as root:
#   scripts/test-postgres.sh up     → initdb into /run/dstack-test/postgres, pg_ctl start on 127.0.0.1:$PORT as the
#                                      `postgres` OS user (trust auth, loopback only); prints the admin URL
#   scripts/test-postgres.sh down   → stops it and removes the cluster
# Debian's postgresql (15) provides the binaries (scripts/install-test-deps.sh installs it).
set -euo pipefail
# The bench runs a second cluster elsewhere with fsync on (DSTACK_TEST_POSTGRES_DIR/PORT/FSYNC).
DIR=${DSTACK_TEST_POSTGRES_DIR:-/run/dstack-test/postgres}
PORT=${DSTACK_TEST_POSTGRES_PORT:-55432}
FSYNC=${DSTACK_TEST_POSTGRES_FSYNC:-off}
BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$BIN" ] || { echo "test-postgres: PostgreSQL binaries are missing: apt-get install postgresql" >&2; exit 1; }
as_pg() { runuser -u postgres -- "$@"; }

case "${1:-}" in
  up)
    if [ -f "$DIR/data/postmaster.pid" ] && as_pg "$BIN/pg_ctl" -D "$DIR/data" status >/dev/null 2>&1; then
      echo "postgres://postgres@127.0.0.1:$PORT/postgres"
      exit 0
    fi
    rm -rf "$DIR"
    mkdir -p "$DIR/run"
    chown -R postgres:postgres "$DIR"
    as_pg "$BIN/initdb" -D "$DIR/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$DIR/initdb.log" 2>&1 ||
      { cat "$DIR/initdb.log" >&2; exit 1; }
    # Many test daemons at once, each with a few connections; fsync off for tests (nothing here survives a crash of the box).
    as_pg "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $PORT -k $DIR/run -c max_connections=400 -c fsync=$FSYNC -c shared_buffers=64MB" start >/dev/null ||
      { cat "$DIR/server.log" >&2; exit 1; }
    echo "postgres://postgres@127.0.0.1:$PORT/postgres"
    ;;
  down)
    if [ -d "$DIR/data" ]; then as_pg "$BIN/pg_ctl" -D "$DIR/data" -m immediate stop >/dev/null 2>&1 || true; fi
    rm -rf "$DIR"
    ;;
  *)
    echo "usage: $0 up|down" >&2
    exit 2
    ;;
esac
