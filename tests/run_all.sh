#!/usr/bin/env bash
# `make test`: install what the tests need, start a throwaway PostgreSQL cluster on a free
# loopback port, run the suite on SQLite and on PostgreSQL, stop the cluster whatever happened.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=${PYTHON:-python3}

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || need_apt+=(postgresql)
fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || need_apt+=(fonts-noto-cjk)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing Debian packages: ${need_apt[*]}"
  apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need_apt[@]}" >/dev/null || {
    echo "apt-get install ${need_apt[*]} failed"; exit 1; }
fi

[ -x .venv/bin/python ] || $PY -m venv .venv
if [ ! -f .venv/.test-installed ] || [ pyproject.toml -nt .venv/.test-installed ]; then
  .venv/bin/pip install -q --disable-pip-version-check -e '.[test]' && touch .venv/.test-installed || exit 1
fi
if [ -f tests/browser/package.json ] && [ ! -d tests/browser/node_modules ]; then
  (cd tests/browser && npm install --silent --no-audit --no-fund) || exit 1
fi

PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
PGDIR=$(mktemp -d /tmp/fs-pg.XXXXXX)
PGPORT=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
chown postgres:postgres "$PGDIR" 2>/dev/null || true
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
stop_pg() {
  as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -m immediate stop >/dev/null 2>&1
  rm -rf "$PGDIR"
}
trap stop_pg EXIT INT TERM

pg_ok=0
if as_pg "$PGBIN/initdb" -D "$PGDIR/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$PGDIR/initdb.log" 2>&1 \
  && as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/server.log" -w -t 60 \
       -o "-p $PGPORT -k $PGDIR -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=200" start >/dev/null; then
  pg_ok=1
else
  echo "PostgreSQL could not be started:"; cat "$PGDIR"/*.log 2>/dev/null | tail -20
fi

status=0
echo "=== SQLite: the whole suite"
if [ $# -gt 0 ]; then sqlite_paths=("$@"); pg_paths=("$@"); else sqlite_paths=(tests); pg_paths=(tests/integration); fi
.venv/bin/python -m pytest -q -p no:cacheprovider "${sqlite_paths[@]}" || status=1
if [ $pg_ok = 1 ]; then
  echo "=== PostgreSQL $PGPORT: everything that touches the database"
  FS_TEST_PG_URL="postgresql://postgres@127.0.0.1:$PGPORT/postgres" \
    .venv/bin/python -m pytest -q -p no:cacheprovider "${pg_paths[@]}" || status=1
else
  echo "PostgreSQL tests not run: the server could not be started (see above)"; status=1
fi
exit $status
