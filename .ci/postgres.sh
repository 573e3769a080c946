#!/usr/bin/env bash
# A PostgreSQL for the tests, on loopback: installed from Debian's packages when missing, one cluster of its
# own ("assistant-ci", port $PGPORT or 54329) run by the packaged cluster tools as the `postgres` user (the
# server refuses root), and a role that may create the per-test databases. Prints the admin URL the tests
# read from ASSISTANT_TEST_POSTGRES_URL. Run as root (CI) or as a user allowed to run pg_createcluster.
set -euo pipefail
port="${PGPORT:-54329}"
if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
  echo "installing PostgreSQL from Debian's packages" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
version="$(ls /usr/lib/postgresql | sort -V | tail -1)"
if ! pg_lsclusters -h | awk '{print $1 "/" $2}' | grep -qx "$version/assistant-ci"; then
  pg_createcluster "$version" assistant-ci --port "$port" --start-conf manual \
    -- --auth-local peer --auth-host scram-sha-256 >/dev/null
fi
# listen on loopback only; already running is fine. Only the URL goes to stdout (callers capture it).
if ! pg_ctlcluster "$version" assistant-ci status >/dev/null 2>&1; then
  pg_ctlcluster "$version" assistant-ci start -o "-c listen_addresses=127.0.0.1" >&2
fi
runuser -u postgres -- psql -q -p "$port" -v ON_ERROR_STOP=1 -d postgres >/dev/null <<'SQL'
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'assistant_test') THEN
    CREATE ROLE assistant_test LOGIN CREATEDB PASSWORD 'assistant_test';
  END IF;
END $$;
SQL
echo "postgresql://assistant_test:assistant_test@127.0.0.1:${port}/postgres"
