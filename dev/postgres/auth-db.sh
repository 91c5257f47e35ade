#!/usr/bin/env bash
# compose's PostgreSQL runs this once, on an empty data directory: the auth
# service's database and its owner, beside the catalogue's (POSTGRES_DB).
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<SQL
create role "$AUTH_PG_USER" login password '$AUTH_PG_PASSWORD';
create database "$AUTH_PG_DB" owner "$AUTH_PG_USER";
SQL
