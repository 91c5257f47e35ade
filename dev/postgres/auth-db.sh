#!/usr/bin/env bash
# compose's PostgreSQL runs this once, on an empty data directory: each service's
# login role and the database it owns (the catalogue's, the auth service's, the
# UGC service's). The
# superuser stays `postgres`. Names and passwords go in as psql variables, quoted
# by psql, never pasted into the SQL.
set -euo pipefail
database() {
  psql -v ON_ERROR_STOP=1 --username postgres --dbname postgres \
    -v db="$1" -v owner="$2" -v pw="$3" <<'SQL'
create role :"owner" login password :'pw';
create database :"db" owner :"owner";
SQL
}
database "$PG_DB" "$PG_USER" "$PG_PASSWORD"
database "$AUTH_PG_DB" "$AUTH_PG_USER" "$AUTH_PG_PASSWORD"
database "$UGC_PG_DB" "$UGC_PG_USER" "$UGC_PG_PASSWORD"
