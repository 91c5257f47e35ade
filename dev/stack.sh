#!/usr/bin/env bash
# The native dev stack: every part of the topology as a plain process on
# loopback, state and logs under $STACK_DIR. `up` is idempotent: a part that is
# already healthy is left alone. Installs what a fresh Debian 12 machine lacks.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export STACK_DIR=${STACK_DIR:-$ROOT/.stack}
export PG_PORT=${PG_PORT:-5432} REDIS_PORT=${REDIS_PORT:-6379} ES_PORT=${ES_PORT:-9200}
export GRPC_PORT=${GRPC_PORT:-50051} ENVOY_PORT=${ENVOY_PORT:-8080} ENVOY_ADMIN_PORT=${ENVOY_ADMIN_PORT:-9901}
export ENVOY_TRANSCODER_PORT=${ENVOY_TRANSCODER_PORT:-8090}
# ENVOY_PORT is the door's (Varnish); Envoy's edge listener is behind it on
# loopback, and real gRPC from clients has a port of its own.
export ENVOY_EDGE_PORT=${ENVOY_EDGE_PORT:-8081} ENVOY_GRPC_PORT=${ENVOY_GRPC_PORT:-8082}
# Everything else a stack binds follows the ports above, so a second stack on
# shifted ports (and its own STACK_DIR) runs beside the default one.
export ES_TRANSPORT_PORT=${ES_TRANSPORT_PORT:-$((ES_PORT + 100))}
# ES_NODES Elasticsearch nodes (dev/elasticsearch/es.sh) on ES_PORT, ES_PORT+1, ...
# and API_REPLICAS content-API processes on GRPC_PORT, GRPC_PORT+API_PORT_STEP, ...
# (a step of 100 keeps clear of the auth service's 50052), all behind one Envoy.
export ES_NODES=${ES_NODES:-1} API_REPLICAS=${API_REPLICAS:-1} API_PORT_STEP=${API_PORT_STEP:-100}
[[ $ES_NODES =~ ^[1-9][0-9]*$ ]] || { echo "ES_NODES must be a positive integer" >&2; exit 2; }
[[ $API_REPLICAS =~ ^[1-9][0-9]*$ ]] || { echo "API_REPLICAS must be a positive integer" >&2; exit 2; }
export PG_DB=${PG_DB:-movies} PG_USER=${PG_USER:-movies} PG_PASSWORD=${PG_PASSWORD:-movies}
export POSTGRES_DSN=${POSTGRES_DSN:-postgresql://$PG_USER:$PG_PASSWORD@127.0.0.1:$PG_PORT/$PG_DB}
# TCP logins to PostgreSQL need a password (scram-sha-256), the superuser's too;
# Redis asks for one (requirepass). Dev defaults: set your own outside a laptop.
# Not exported: only what the services need travels, inside their URLs.
PG_SUPERUSER_PASSWORD=${PG_SUPERUSER_PASSWORD:-postgres}
REDIS_PASSWORD=${REDIS_PASSWORD:-movies-redis}
export REDIS_URL=${REDIS_URL:-redis://:$REDIS_PASSWORD@127.0.0.1:$REDIS_PORT/0}
# The auth service: its own database (and owner) on the same PostgreSQL, the
# same Redis (deny-list, throttling, OAuth state), gRPC on AUTH_GRPC_PORT.
export AUTH_GRPC_PORT=${AUTH_GRPC_PORT:-50052}
export AUTH_PG_DB=${AUTH_PG_DB:-auth} AUTH_PG_USER=${AUTH_PG_USER:-auth} AUTH_PG_PASSWORD=${AUTH_PG_PASSWORD:-auth}
export AUTH_POSTGRES_DSN=${AUTH_POSTGRES_DSN:-postgresql://$AUTH_PG_USER:$AUTH_PG_PASSWORD@127.0.0.1:$PG_PORT/$AUTH_PG_DB}
export AUTH_REDIS_URL=${AUTH_REDIS_URL:-$REDIS_URL}
# The admin panel (Django under gunicorn) on ADMIN_PORT, reached through the edge
# at /admin/; its own tables live in schema admin_panel of the catalogue's database.
export ADMIN_PORT=${ADMIN_PORT:-8000}
# The UGC service (ratings, reviews, bookmarks): its own database (and owner)
# on the same PostgreSQL, tokens checked against the auth service (JWKS over
# gRPC, deny-list in AUTH_REDIS_URL), films against the content API.
export UGC_GRPC_PORT=${UGC_GRPC_PORT:-50053}
export UGC_PG_DB=${UGC_PG_DB:-ugc} UGC_PG_USER=${UGC_PG_USER:-ugc} UGC_PG_PASSWORD=${UGC_PG_PASSWORD:-ugc}
export UGC_POSTGRES_DSN=${UGC_POSTGRES_DSN:-postgresql://$UGC_PG_USER:$UGC_PG_PASSWORD@127.0.0.1:$PG_PORT/$UGC_PG_DB}
# Every node's URL, comma-separated: the API and the ETL spread requests over them.
export ELASTICSEARCH_URL=${ELASTICSEARCH_URL:-$(./dev/elasticsearch/es.sh urls)}
VENV=$ROOT/.venv
LOGS=$STACK_DIR/logs RUN=$STACK_DIR/run
mkdir -p "$LOGS" "$RUN"

log() { printf '%s %s\n' "$(date +%T)" "$*"; }

# without_fds CMD...: CMD without the caller's open files beyond stdio. A daemon
# started under `flock LOCK dev/stack.sh ...` would otherwise hold LOCK as long as
# it runs, and every test waiting for LOCK with it.
without_fds() { python3 -c 'import os, sys; os.closerange(3, 65536); os.execvp(sys.argv[1], sys.argv[1:])' "$@"; }
die() { log "ERROR: $*"; exit 1; }

# wait_for NAME SECONDS CMD...: polls CMD until it succeeds.
wait_for() {
  local name=$1 secs=$2; shift 2
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || die "$name not healthy after ${secs}s (logs: $LOGS)"
    sleep 0.3
  done
}

# The kept process supervisor: one supervisord (PyPI `supervisor`, in the venv) per
# STACK_DIR runs every long-running part except PostgreSQL and Elasticsearch, and
# restarts whatever dies (autorestart). Its socket, pid file and own log live under
# $STACK_DIR, so stacks on shifted ports and their own STACK_DIR run side by side.
# A part is a program in $SUP_DIR/programs/NAME.conf; its command is NAME.sh,
# the environment of the start_bg call (`X=1 start_bg ...` included) and the command.
SUP_DIR=$STACK_DIR/supervisor
SUP_CONF=$SUP_DIR/supervisord.conf
# Stopping sends SIGTERM and waits this long before SIGKILL: longer than the API's
# SHUTDOWN_DRAIN_SECONDS + SHUTDOWN_GRACE_SECONDS (2 + 5), as compose's stop_grace_period.
STOP_WAIT_SECONDS=${STOP_WAIT_SECONDS:-15}

sup() { "$VENV/bin/supervisorctl" -c "$SUP_CONF" "$@"; }
sup_running() { [ -S "$RUN/supervisor.sock" ] && sup pid >/dev/null 2>&1; }

# supervisor_up: starts this STACK_DIR's supervisord unless it is running.
supervisor_up() {
  sup_running && return 0
  mkdir -p "$SUP_DIR/programs"
  cat >"$SUP_CONF" <<EOC
; written by dev/stack.sh: this stack's supervisor (programs in programs/*.conf)
[unix_http_server]
file=$RUN/supervisor.sock
chmod=0700

[supervisord]
pidfile=$RUN/supervisord.pid
logfile=$LOGS/supervisord.log
logfile_maxbytes=10MB
logfile_backups=1
childlogdir=$LOGS
directory=$ROOT

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://$RUN/supervisor.sock

[include]
files = $SUP_DIR/programs/*.conf
EOC
  without_fds "$VENV/bin/supervisord" -c "$SUP_CONF"
  wait_for supervisord 20 sup_running
  log "supervisord started ($SUP_CONF)"
}

# pid_alive NAME: NAME runs (or is starting) under the supervisor.
pid_alive() {
  local pid
  sup_running && pid=$(sup pid "$1" 2>/dev/null) && [[ $pid =~ ^[1-9][0-9]*$ ]]
}

# start_bg NAME CMD...: runs CMD under the supervisor, restarted whenever it exits,
# with the caller's environment (captured now), logging to $LOGS/NAME.log.
start_bg() {
  local name=$1 prog=$SUP_DIR/programs/$1; shift
  supervisor_up
  sup stop "$name" >/dev/null 2>&1 || true
  sup remove "$name" >/dev/null 2>&1 || true
  (
    umask 077  # the environment holds secrets
    { echo "# $name, written by dev/stack.sh start_bg: its environment and command"
      export -p; printf 'cd %q\nexec' "$PWD"; printf ' %q' "$@"; echo; } >"$prog.sh"
  )
  cat >"$prog.conf" <<EOC
[program:$name]
command=/usr/bin/env -i /bin/bash $prog.sh
autostart=true
autorestart=true
startsecs=1
startretries=5
stopsignal=TERM
stopwaitsecs=$STOP_WAIT_SECONDS
killasgroup=true
redirect_stderr=true
stdout_logfile=$LOGS/$name.log
stdout_logfile_maxbytes=50MB
stdout_logfile_backups=1
EOC
  sup reread >/dev/null
  sup add "$name" >/dev/null
}

# stop_pid NAME: SIGTERM, up to STOP_WAIT_SECONDS, then SIGKILL; NAME leaves the
# supervisor. A pid file is a process started before the supervisor: stopped too.
stop_pid() {
  local name=$1 pidf=$RUN/$1.pid stopped=""
  if [ -f "$pidf" ]; then
    local pid; pid=$(cat "$pidf")
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$pidf"; stopped=1
  fi
  if [ -f "$SUP_DIR/programs/$name.conf" ]; then
    if sup_running; then sup stop "$name" >/dev/null 2>&1 || true; fi
    rm -f "$SUP_DIR/programs/$name.conf" "$SUP_DIR/programs/$name.sh"
    if sup_running; then sup remove "$name" >/dev/null 2>&1 || true; fi
    stopped=1
  fi
  [ -z "$stopped" ] || log "$name stopped"
}

# supervisor_down: stops every program still supervised, then supervisord.
supervisor_down() {
  local conf
  for conf in "$SUP_DIR"/programs/*.conf; do [ -f "$conf" ] && stop_pid "$(basename "$conf" .conf)"; done
  sup_running || return 0
  local pid; pid=$(sup pid)
  sup shutdown >/dev/null 2>&1 || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  log "supervisord stopped"
}

apt_install() {
  log "installing $* from Debian"
  if [ ! -f "$STACK_DIR/.apt-updated" ]; then apt-get update -qq && touch "$STACK_DIR/.apt-updated"; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >>"$LOGS/apt.log" 2>&1
}

ensure_tools() {
  local pkgs=()
  pg_bin >/dev/null 2>&1 || pkgs+=(postgresql)
  command -v redis-server >/dev/null || pkgs+=(redis-server)
  command -v java >/dev/null || pkgs+=(openjdk-17-jdk-headless)
  command -v mvn >/dev/null || pkgs+=(maven)
  command -v docker-compose >/dev/null || pkgs+=(docker-compose)
  command -v npm >/dev/null || pkgs+=(npm)
  command -v go >/dev/null || pkgs+=(golang-go)
  command -v wrk >/dev/null || pkgs+=(wrk)
  # The admin panel's browser tests: Playwright drives Debian's Chromium (no download).
  command -v chromium >/dev/null || pkgs+=(chromium)
  [ -x /usr/sbin/varnishd ] || pkgs+=(varnish)
  [ ${#pkgs[@]} -eq 0 ] || apt_install "${pkgs[@]}"
  # Where services may start, Debian's package starts a varnishd of its own (:6081):
  # the stack runs its own door (varnish_up), so that one stops.
  if [[ " ${pkgs[*]} " == *" varnish "* ]]; then
    { service varnishncsa stop; service varnish stop; } >/dev/null 2>&1 || true
  fi
  if [ ! -x "$VENV/bin/python" ] || [ uv.lock -nt "$VENV/.synced" ]; then
    command -v uv >/dev/null || python3 -m pip install -q uv
    log "creating the virtual environment from uv.lock"
    uv sync --frozen -q && touch "$VENV/.synced"
  fi
  if [ ! -f gen/descriptors.pb ] || [ -n "$(find protos -newer gen/descriptors.pb -name '*.proto')" ]; then
    ./dev/gen.sh >/dev/null
  fi
  [ -x dev/tools/node_modules/.bin/buf ] || (cd dev/tools && npm ci --no-audit --no-fund --silent)
  ensure_grpcurl
}

# grpcurl, pinned, from the Go module proxy (as the bench builds ghz): the README's
# gRPC examples and tests/e2e/test_readme.py use it. A stamp records the version,
# so changing GRPCURL_VERSION rebuilds it. v1.8.9 is the newest that builds with
# Debian 12's Go (1.19; v1.9 needs 1.21+) and asks for reflection v1 first.
GRPCURL_VERSION=v1.8.9
TOOLS_BIN=$ROOT/dev/tools/bin
ensure_grpcurl() {
  [ -x "$TOOLS_BIN/grpcurl" ] && [ "$(cat "$TOOLS_BIN/.grpcurl-version" 2>/dev/null)" = "$GRPCURL_VERSION" ] && return 0
  log "installing grpcurl $GRPCURL_VERSION into dev/tools/bin (go install)"
  GOBIN=$TOOLS_BIN go install "github.com/fullstorydev/grpcurl/cmd/grpcurl@$GRPCURL_VERSION"
  echo "$GRPCURL_VERSION" >"$TOOLS_BIN/.grpcurl-version"
}

pg_bin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do [ -x "$d/pg_ctl" ] && { echo "$d"; return 0; }; done
  return 1
}

# PostgreSQL refuses to run as root: run it as the `postgres` system user.
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# The server's unix socket and its lock live with the stack's state, not in /tmp.
PG_SOCKET_DIR=$STACK_DIR/postgres-socket

pg_up() {
  local bin data=$STACK_DIR/postgres
  bin=$(pg_bin)
  if "$bin/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; then log "postgres already up on :$PG_PORT"; else
    if [ ! -f "$data/PG_VERSION" ]; then
      mkdir -p "$data"; [ "$(id -u)" = 0 ] && chown postgres: "$data" "$LOGS"
      # The superuser's password from a file only it can read, never on a command line.
      local pwfile=$STACK_DIR/postgres-superuser.pw
      (umask 077; printf '%s\n' "$PG_SUPERUSER_PASSWORD" >"$pwfile")
      [ "$(id -u)" = 0 ] && chown postgres: "$pwfile"
      as_pg "$bin/initdb" -D "$data" -U postgres --auth-local=peer --auth-host=scram-sha-256 \
        --pwfile="$pwfile" -E UTF8 --locale=C.UTF-8 >>"$LOGS/postgres.log"
      rm -f "$pwfile"
    fi
    mkdir -p "$PG_SOCKET_DIR"
    [ "$(id -u)" = 0 ] && { touch "$LOGS/postgres.log"; chown postgres: "$LOGS/postgres.log" "$PG_SOCKET_DIR"; }
    local as_postgres=(); [ "$(id -u)" = 0 ] && as_postgres=(runuser -u postgres --)
    without_fds "${as_postgres[@]}" "$bin/pg_ctl" -D "$data" -l "$LOGS/postgres.log" -w -t 60 \
      -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -k '$PG_SOCKET_DIR' -c fsync=on" start >/dev/null
    wait_for postgres 60 "$bin/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"
    log "postgres started on :$PG_PORT"
  fi
  pg_password_auth "$bin" "$data"
  pg_database "$bin" "$PG_DB" "$PG_USER" "$PG_PASSWORD"
  pg_database "$bin" "$AUTH_PG_DB" "$AUTH_PG_USER" "$AUTH_PG_PASSWORD"
  pg_database "$bin" "$UGC_PG_DB" "$UGC_PG_USER" "$UGC_PG_PASSWORD"
}

# pg_admin BIN ARGS...: psql as the superuser over TCP, with its password.
pg_admin() {
  local bin=$1; shift
  PGPASSWORD=$PG_SUPERUSER_PASSWORD "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres \
    -v ON_ERROR_STOP=1 -qAt "$@"
}

# Who may log in how: a password (scram-sha-256) for every TCP login; on the
# stack's own unix socket, the OS user of the same name (peer).
pg_hba() {
  cat <<EOH
# written by dev/stack.sh (pg_password_auth)
local   all   all                  peer
host    all   all   127.0.0.1/32   scram-sha-256
host    all   all   ::1/128        scram-sha-256
EOH
}

# pg_password_auth BIN DATA: TCP logins need a password. A cluster made before
# (initdb --auth=trust) is converted in place: the superuser gets
# PG_SUPERUSER_PASSWORD while TCP still trusts, then pg_hba.conf is rewritten and
# reloaded; no restart, no data touched.
pg_password_auth() {
  local bin=$1 hba=$2/pg_hba.conf
  cmp -s "$hba" <(pg_hba) && return 0
  pg_admin "$bin" -v pw="$PG_SUPERUSER_PASSWORD" <<<"alter role postgres password :'pw'" \
    || die "postgres refused the superuser: is PG_SUPERUSER_PASSWORD its password?"
  pg_hba >"$hba"
  as_pg "$bin/pg_ctl" -D "$2" reload >/dev/null
  log "postgres: TCP logins need a password now (scram-sha-256, $hba)"
}

# pg_database BIN DB USER PASSWORD: the login role (its password kept equal to
# PASSWORD) and the database it owns.
pg_database() {
  local bin=$1
  if [ "$(pg_admin "$bin" -c "select 1 from pg_roles where rolname='$3'")" != 1 ]; then
    pg_admin "$bin" -c "create role \"$3\" login"
  fi
  pg_admin "$bin" -v pw="$4" <<<"alter role \"$3\" password :'pw'"
  if [ "$(pg_admin "$bin" -c "select 1 from pg_database where datname='$2'")" != 1 ]; then
    pg_admin "$bin" -c "create database \"$2\" owner \"$3\""
  fi
}

pg_down() {
  local bin; bin=$(pg_bin) || return 0
  [ -f "$STACK_DIR/postgres/postmaster.pid" ] || return 0
  as_pg "$bin/pg_ctl" -D "$STACK_DIR/postgres" -m fast -w stop >/dev/null 2>&1 || true
  log "postgres stopped"
}

# redis-cli with the password (REDISCLI_AUTH: not on its command line).
rcli() { REDISCLI_AUTH=$REDIS_PASSWORD redis-cli -p "$REDIS_PORT" "$@"; }
redis_ping() { rcli ping 2>/dev/null | grep -q PONG; }

redis_up() {
  if pid_alive redis && redis_ping; then log "redis already up on :$REDIS_PORT"; return; fi
  stop_pid redis
  mkdir -p "$STACK_DIR/redis"
  # The password in a file only the stack's user reads, not on a command line.
  (umask 077; printf 'requirepass "%s"\n' "$(sed 's/[\\"]/\\&/g' <<<"$REDIS_PASSWORD")" >"$STACK_DIR/redis/redis.conf")
  start_bg redis redis-server "$STACK_DIR/redis/redis.conf" --port "$REDIS_PORT" --bind 127.0.0.1 \
    --dir "$STACK_DIR/redis" --save "" --appendonly no --maxmemory "${REDIS_MAXMEMORY:-256mb}" \
    --maxmemory-policy allkeys-lru
  wait_for redis 20 redis_ping
  log "redis started on :$REDIS_PORT (password required)"
}

es_up() { without_fds ./dev/elasticsearch/es.sh start; }
es_down() { ./dev/elasticsearch/es.sh stop || true; }

grpc_healthy() { "$VENV/bin/python" -m content_api.healthcheck --port "$1" --timeout 1; }

# Replica i: its name (pid and log files) and port. Replica 0 keeps the names a
# single process always had.
api_name() { if (($1 == 0)); then echo content-api; else echo "content-api-$1"; fi; }
api_port() { echo $((GRPC_PORT + $1 * API_PORT_STEP)); }

# Envoy's upstreams: every replica.
grpc_upstreams() {
  local i out=""
  for ((i = 0; i < API_REPLICAS; i++)); do out+="${out:+,}127.0.0.1:$(api_port "$i")"; done
  echo "$out"
}

api_up() {
  local i name port
  for ((i = 0; i < API_REPLICAS; i++)); do
    name=$(api_name "$i") port=$(api_port "$i")
    if pid_alive "$name" && grpc_healthy "$port" >/dev/null 2>&1; then log "$name already up on :$port"; continue; fi
    stop_pid "$name"
    GRPC_PORT=$port start_bg "$name" "$VENV/bin/content-api"
  done
  for ((i = 0; i < API_REPLICAS; i++)); do
    name=$(api_name "$i") port=$(api_port "$i")
    wait_for "$name" 60 grpc_healthy "$port"
    pid_alive "$name" || die "$name exited (is :$port taken? see $LOGS/$name.log)"
    log "$name (gRPC) serving on :$port"
  done
  # Replicas beyond API_REPLICAS (left by an earlier, larger `up`) stop.
  api_down "$API_REPLICAS"
}

# api_down [FROM]: stops every replica with an index >= FROM (default 0: all), in
# parallel: each drains for SHUTDOWN_DRAIN_SECONDS first.
api_down() {
  local from=${1:-0} f name i
  for f in "$SUP_DIR"/programs/content-api{,-*}.conf "$RUN"/content-api{,-*}.pid; do
    [ -f "$f" ] || continue
    name=$(basename "${f%.*}") i=${name#content-api}; i=${i#-}
    if (( ${i:-0} >= from )); then stop_pid "$name" & fi
  done
  wait
}

# The key that encrypts the auth service's signing keys (no default in code):
# from the environment, else the one generated into $STACK_DIR on the first `up`
# (kept there, mode 600, so restarts read the same keys).
auth_kek() {
  local file=$STACK_DIR/auth/key-encryption-key
  if [ -n "${AUTH_KEY_ENCRYPTION_KEY:-}" ]; then echo "$AUTH_KEY_ENCRYPTION_KEY"; return; fi
  if [ ! -s "$file" ]; then
    mkdir -p "$(dirname "$file")"
    (umask 077; "$VENV/bin/auth" keys new-encryption-key >"$file")
    log "auth: generated AUTH_KEY_ENCRYPTION_KEY into $file" >&2
  fi
  cat "$file"
}

auth_up() {
  if pid_alive auth && grpc_healthy "$AUTH_GRPC_PORT" >/dev/null 2>&1; then log "auth already up on :$AUTH_GRPC_PORT"; return; fi
  stop_pid auth
  AUTH_KEY_ENCRYPTION_KEY=$(auth_kek) start_bg auth "$VENV/bin/auth" serve
  wait_for auth 60 grpc_healthy "$AUTH_GRPC_PORT"
  pid_alive auth || die "auth exited (is :$AUTH_GRPC_PORT taken? see $LOGS/auth.log)"
  log "auth (gRPC) serving on :$AUTH_GRPC_PORT"
}

# The UGC service migrates its schema at start-up (services/ugc_service/migrations).
ugc_up() {
  if pid_alive ugc && grpc_healthy "$UGC_GRPC_PORT" >/dev/null 2>&1; then log "ugc already up on :$UGC_GRPC_PORT"; return; fi
  stop_pid ugc
  AUTH_GRPC_TARGET=${AUTH_GRPC_TARGET:-127.0.0.1:$AUTH_GRPC_PORT} UGC_CATALOGUE_PORT=${UGC_CATALOGUE_PORT:-$GRPC_PORT} \
    start_bg ugc "$VENV/bin/python" -m ugc_service serve
  wait_for ugc 60 grpc_healthy "$UGC_GRPC_PORT"
  pid_alive ugc || die "ugc exited (is :$UGC_GRPC_PORT taken? see $LOGS/ugc.log)"
  log "ugc (gRPC) serving on :$UGC_GRPC_PORT"
}

envoy_up() {
  local cfg=$STACK_DIR/envoy/envoy.yaml
  mkdir -p "$STACK_DIR/envoy"
  DOCS_DIR=$ROOT/gen/docs GRPC_UPSTREAMS=${GRPC_UPSTREAMS:-$(grpc_upstreams)} \
    "$VENV/bin/python" envoy/render.py --descriptor "$ROOT/gen/descriptors.pb" --out "$cfg"
  if pid_alive envoy && cmp -s "$cfg" "$RUN/envoy.applied.yaml" \
     && cmp -s gen/descriptors.pb "$RUN/envoy.applied.pb" \
     && curl -sf "http://127.0.0.1:$ENVOY_ADMIN_PORT/ready" >/dev/null; then
    log "envoy already up on :$ENVOY_PORT"; return
  fi
  stop_pid envoy
  # envoy/launch.py builds Envoy's command line for the stack, the tests and the bench.
  local launch=("$VENV/bin/python" envoy/launch.py --config "$cfg"
    ${ENVOY_BASE_ID:+--base-id "$ENVOY_BASE_ID"} ${ENVOY_LOG_LEVEL:+--log-level "$ENVOY_LOG_LEVEL"}
    ${ENVOY_CONCURRENCY:+--concurrency "$ENVOY_CONCURRENCY"})
  "${launch[@]}" --validate >>"$LOGS/envoy.log" 2>&1 || die "envoy config invalid (see $LOGS/envoy.log)"
  start_bg envoy "${launch[@]}"
  cp "$cfg" "$RUN/envoy.applied.yaml"; cp gen/descriptors.pb "$RUN/envoy.applied.pb"
  wait_for envoy 30 curl -sf "http://127.0.0.1:$ENVOY_ADMIN_PORT/ready"
  pid_alive envoy || die "envoy exited (is another Envoy on :$ENVOY_ADMIN_PORT? see $LOGS/envoy.log)"
  log "envoy started: edge on 127.0.0.1:$ENVOY_EDGE_PORT, gRPC on :$ENVOY_GRPC_PORT, admin on 127.0.0.1:$ENVOY_ADMIN_PORT"
}

# The door: Varnish on ENVOY_PORT in front of Envoy's edge listener (varnish/door.py).
varnish_up() {
  local vcl=$STACK_DIR/varnish/door.vcl
  mkdir -p "$STACK_DIR/varnish"
  export DOOR_WORKDIR=${DOOR_WORKDIR:-$STACK_DIR/varnish/work}
  "$VENV/bin/python" varnish/door.py render --out "$vcl"
  # What runs is the VCL and varnishd's arguments (the door's limits): either changed, restart.
  { cat "$vcl"; "$VENV/bin/python" varnish/door.py args --vcl "$vcl"; } >"$STACK_DIR/varnish/door.state"
  if pid_alive varnish && cmp -s "$STACK_DIR/varnish/door.state" "$RUN/varnish.applied" \
     && curl -s -o /dev/null "http://127.0.0.1:$ENVOY_PORT/.door/"; then
    log "varnish already up on :$ENVOY_PORT"; return
  fi
  stop_pid varnish
  start_bg varnish "$VENV/bin/python" varnish/door.py launch --vcl "$vcl"
  cp "$STACK_DIR/varnish/door.state" "$RUN/varnish.applied"
  wait_for varnish 30 curl -s -o /dev/null "http://127.0.0.1:$ENVOY_PORT/.door/"
  log "varnish (the door) on :$ENVOY_PORT, in front of Envoy's 127.0.0.1:$ENVOY_EDGE_PORT"
}

# The panel's SECRET_KEY (no default in code): from the environment, else the
# one generated into $STACK_DIR on the first `up` (kept, so sessions survive restarts).
admin_secret() {
  local file=$STACK_DIR/admin/secret-key
  if [ -n "${ADMIN_SECRET_KEY:-}" ]; then echo "$ADMIN_SECRET_KEY"; return; fi
  if [ ! -s "$file" ]; then
    mkdir -p "$(dirname "$file")"
    (umask 077; "$VENV/bin/python" -c 'import secrets; print(secrets.token_urlsafe(50))' >"$file")
  fi
  cat "$file"
}

admin_healthy() { curl -sf -o /dev/null "http://127.0.0.1:$ADMIN_PORT/admin/login/"; }

# admin_panel.serve migrates the panel's own schema, collects static files, then
# becomes gunicorn (same pid).
admin_up() {
  if pid_alive admin && admin_healthy; then log "admin panel already up on :$ADMIN_PORT"; return; fi
  stop_pid admin
  ADMIN_SECRET_KEY=$(admin_secret) ADMIN_STATIC_ROOT=${ADMIN_STATIC_ROOT:-$STACK_DIR/admin/static} \
    start_bg admin "$VENV/bin/python" -m admin_panel.serve
  wait_for admin 120 admin_healthy
  pid_alive admin || die "admin panel exited (is :$ADMIN_PORT taken? see $LOGS/admin.log)"
  log "admin panel serving on :$ADMIN_PORT (through the edge: http://127.0.0.1:$ENVOY_PORT/admin/)"
}

etl_up() {
  "$VENV/bin/etl" migrate
  "$VENV/bin/etl" seed
  if pid_alive etl; then log "etl already running"; return; fi
  stop_pid etl
  start_bg etl "$VENV/bin/etl" run
  log "etl (continuous) started"
}

summary() {
  cat <<EOS

  REST (the door)  http://127.0.0.1:$ENVOY_PORT/api/v1/films  (Varnish, then Envoy on 127.0.0.1:$ENVOY_EDGE_PORT)
  gRPC (the edge)  127.0.0.1:$ENVOY_GRPC_PORT  (token check and rate limits, as REST)
  gRPC             $(grpc_upstreams | sed 's/,/ /g')  (reflection + grpc.health.v1)
  auth (gRPC)      127.0.0.1:$AUTH_GRPC_PORT  (REST under /api/v1/auth, /api/v1/users, /api/v1/roles)
  admin panel      http://127.0.0.1:$ENVOY_PORT/admin/  (gunicorn on 127.0.0.1:$ADMIN_PORT)
  ugc (gRPC)       127.0.0.1:$UGC_GRPC_PORT  (ratings, reviews, bookmarks; database $UGC_PG_DB)
  Envoy admin      http://127.0.0.1:$ENVOY_ADMIN_PORT  (transcoder 127.0.0.1:$ENVOY_TRANSCODER_PORT)
  Elasticsearch    $ELASTICSEARCH_URL  (transport from 127.0.0.1:$ES_TRANSPORT_PORT)
  PostgreSQL       $POSTGRES_DSN
  Redis            $REDIS_URL
  state and logs   $STACK_DIR
EOS
}

cmd_up() {
  ensure_tools
  pg_up; supervisor_up; redis_up; es_up
  [ -x "$VENV/bin/etl" ] && [ -f etl/movies_etl/cli.py ] && etl_up
  api_up; auth_up; admin_up; ugc_up; envoy_up; varnish_up
  summary
}

cmd_down() {
  stop_pid varnish; stop_pid envoy; api_down; stop_pid ugc; stop_pid admin; stop_pid auth; stop_pid etl
  stop_pid redis; es_down; pg_down
  supervisor_down
}

# Single parts, for tests that stop and start one backend.
case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  tools) ensure_tools ;;
  start) shift; for p in "$@"; do "${p//-/_}_up"; done ;;
  stop) shift; for p in "$@"; do case $p in postgres) pg_down ;; elasticsearch|es) es_down ;; api) api_down ;; supervisor) supervisor_down ;; *) stop_pid "$p" ;; esac; done ;;
  env) summary ;;
  # The pid of a supervised part now (it changes when the supervisor restarts it).
  pid) sup pid "${2:?usage: $0 pid NAME}" ;;
  # Every supervised part: its state, pid and uptime.
  status) sup status ;;
  *) echo "usage: $0 up|down|tools|start PART...|stop PART...|status|pid NAME|env" >&2; exit 2 ;;
esac
