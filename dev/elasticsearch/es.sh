#!/usr/bin/env bash
# Runs a real Elasticsearch 8.x (jars from Maven Central) for local development and CI:
# one node, or a cluster of ES_NODES nodes on consecutive ports.
#
#   es.sh build    build the class path (mvn package) if sources changed
#   es.sh start    build if needed, start every node not running, wait until healthy, print the URLs
#   es.sh stop     SIGTERM, wait, then SIGKILL (every node with a pid file, whatever ES_NODES)
#   es.sh status   exit 0 if every node answers green/yellow, 1 otherwise
#   es.sh restart
#   es.sh urls     the nodes' HTTP URLs, comma-separated (what ELASTICSEARCH_URL takes)
#
# Environment (defaults):
#   ES_PORT=9200  ES_TRANSPORT_PORT=ES_PORT+100 (9300)  ES_HEAP=1g (per node)  STACK_DIR=<repo>/.stack
#   ES_NODES=1     nodes; node i listens on ES_PORT+i (HTTP) and ES_TRANSPORT_PORT+i (transport)
#   ES_START_TIMEOUT=120 (s)  ES_STOP_TIMEOUT=30 (s)
#   ES_JAVA_HOME / JAVA_HOME   JDK to run with (>= 17); default: `java` on PATH
#   ES_JAVA_OPTS               extra JVM options
#   ES_SETTINGS                extra node settings, whitespace separated key=value (e.g. "action.destructive_requires_name=false")
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"

STACK_DIR="${STACK_DIR:-$REPO/.stack}"
ES_PORT="${ES_PORT:-9200}"
# Derived from the HTTP port, so a second node on a shifted ES_PORT does not
# collide on the transport port.
ES_TRANSPORT_PORT="${ES_TRANSPORT_PORT:-$((ES_PORT + 100))}"
ES_HEAP="${ES_HEAP:-1g}"
ES_START_TIMEOUT="${ES_START_TIMEOUT:-120}"
ES_STOP_TIMEOUT="${ES_STOP_TIMEOUT:-30}"
ES_NODES="${ES_NODES:-1}"
[[ "$ES_NODES" =~ ^[1-9][0-9]*$ ]] || { echo "elasticsearch: ES_NODES must be a positive integer" >&2; exit 2; }

ES_HOME_DIR="$STACK_DIR/elasticsearch"
LOG_DIR="$STACK_DIR/logs"
BUILD_LOG="$LOG_DIR/elasticsearch-build.log"
RUN_DIR="$STACK_DIR/run"
LOCK_FILE="$RUN_DIR/elasticsearch.lock"

TARGET="$HERE/target"
STAMP="$TARGET/.es-build-stamp"
MAIN_CLASS="dev.movies.es.EsMain"

# node I: selects node I's ports, paths and name. A single node keeps the paths
# it always had; node i of a cluster gets its own data dir, log and pid file.
node() {
  local i=$1
  NODE_PORT=$((ES_PORT + i)) NODE_TRANSPORT_PORT=$((ES_TRANSPORT_PORT + i))
  URL="http://127.0.0.1:$NODE_PORT"
  if ((ES_NODES == 1)); then
    NODE_NAME=movies-node DATA_DIR="$ES_HOME_DIR/data" TMP_DIR="$ES_HOME_DIR/tmp"
    LOG_FILE="$LOG_DIR/elasticsearch.log" PID_FILE="$RUN_DIR/elasticsearch.pid"
  else
    NODE_NAME="movies-node-$i" DATA_DIR="$ES_HOME_DIR/node-$i/data" TMP_DIR="$ES_HOME_DIR/node-$i/tmp"
    LOG_FILE="$LOG_DIR/elasticsearch-$i.log" PID_FILE="$RUN_DIR/elasticsearch-$i.pid"
  fi
}

# Discovery settings: single-node discovery for one node; for a cluster, every
# node's transport address as seed and every node as an initial master.
discovery_settings() {
  if ((ES_NODES == 1)); then echo "-Ediscovery.type=single-node"; return; fi
  local i seeds="" masters=""
  for ((i = 0; i < ES_NODES; i++)); do
    seeds+="${seeds:+,}127.0.0.1:$((ES_TRANSPORT_PORT + i))"
    masters+="${masters:+,}movies-node-$i"
  done
  echo "-Ediscovery.seed_hosts=$seeds"
  echo "-Ecluster.initial_master_nodes=$masters"
}

urls() {
  local i out=""
  for ((i = 0; i < ES_NODES; i++)); do out+="${out:+,}http://127.0.0.1:$((ES_PORT + i))"; done
  echo "$out"
}

log() { echo "elasticsearch: $*" >&2; }

java_bin() {
  local jh="${ES_JAVA_HOME:-${JAVA_HOME:-}}"
  if [[ -n "$jh" && -x "$jh/bin/java" ]]; then echo "$jh/bin/java"; else command -v java || true; fi
}

needs_build() {
  [[ -f "$STAMP" && -f "$TARGET/es-launcher.jar" && -d "$TARGET/lib" && -d "$TARGET/es-home/modules/transport-netty4" ]] || return 0
  [[ -n "$(find "$HERE/pom.xml" "$HERE/src" -newer "$STAMP" -print -quit)" ]]
}

cmd_build() {
  local force="${1:-}"
  if [[ "$force" != "force" ]] && ! needs_build; then return 0; fi
  command -v mvn >/dev/null || { log "mvn not found (apt-get install maven)"; exit 1; }
  mkdir -p "$LOG_DIR"
  local running; running="$(any_running | tr '\n' ' ')"
  [[ -n "$running" ]] && log "note: pid(s) $running run from this build; run 'es.sh restart' afterwards"
  log "building (mvn package, log: $BUILD_LOG) ..."
  if ! mvn -q -B -f "$HERE/pom.xml" package >"$BUILD_LOG" 2>&1; then
    log "build FAILED:"; tail -n 60 "$BUILD_LOG" >&2; exit 1
  fi
  touch "$STAMP"
}

pid_alive() { # pid from the current node's pid file, if that process is our JVM
  [[ -f "$PID_FILE" ]] || return 1
  local pid; pid="$(cat "$PID_FILE" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ -r "/proc/$pid/cmdline" ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "$MAIN_CLASS" || return 1
  echo "$pid"
}

any_running() { # pids of this build's nodes that are running (for the build note)
  local i
  for ((i = 0; i < ES_NODES; i++)); do node "$i"; pid_alive || true; done
}

health() { # prints the cluster status (green/yellow/red) as the current node sees it, or nothing
  curl -s -m 3 "$URL/_cluster/health" 2>/dev/null | sed -n 's/.*"status":"\([a-z]*\)".*/\1/p' || true
}

healthy() { local s; s="$(health)"; [[ "$s" == green || "$s" == yellow ]]; }

with_lock() {
  mkdir -p "$RUN_DIR"
  exec 9>"$LOCK_FILE"
  flock -w $((ES_START_TIMEOUT + ES_STOP_TIMEOUT + 60)) 9 || { log "could not get $LOCK_FILE"; exit 1; }
}

java_checked() { # prints the java binary and its JDK feature version, or exits
  local java; java="$(java_bin)"
  [[ -n "$java" ]] || { log "no java found (set ES_JAVA_HOME or JAVA_HOME)"; exit 1; }
  local feature; feature="$("$java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
  if [[ -z "$feature" || "${feature%%.*}" -lt 17 ]]; then log "$java is Java '$feature'; Java >= 17 is required"; exit 1; fi
  echo "$java ${feature%%.*}"
}

launch() { # launch JAVA FEATURE: starts the current node in the background
  local java=$1 feature=$2
  local providers="SPI,COMPAT"; [[ "$feature" -ge 23 ]] && providers="SPI,CLDR"
  mkdir -p "$DATA_DIR" "$TMP_DIR" "$LOG_DIR" "$RUN_DIR"
  local -a jvm=(
    "-Xms$ES_HEAP" "-Xmx$ES_HEAP" "-XX:+Use${ES_GC:-G1}GC" -Xss1m -XX:-OmitStackTraceInFastThrow
    -XX:+ExitOnOutOfMemoryError
    -Djava.awt.headless=true -Dfile.encoding=UTF-8 -Djna.nosys=true "-Djava.io.tmpdir=$TMP_DIR"
    -Dio.netty.noUnsafe=true -Dio.netty.noKeySetOptimization=true -Dio.netty.recycler.maxCapacityPerThread=0
    -Dlog4j.shutdownHookEnabled=false -Dlog4j2.disable.jmx=true -Dlog4j2.formatMsgNoLookups=true
    "-Djava.locale.providers=$providers" -Des.distribution.type=tar
  )
  [[ "$feature" -ge 21 ]] && jvm+=(--enable-native-access=ALL-UNNAMED)
  # shellcheck disable=SC2206
  [[ -n "${ES_JAVA_OPTS:-}" ]] && jvm+=(${ES_JAVA_OPTS})
  local -a settings=(
    "-Epath.home=$TARGET/es-home" "-Epath.data=$DATA_DIR" "-Epath.logs=$LOG_DIR"
    -Ecluster.name=movies "-Enode.name=$NODE_NAME"
    -Enetwork.host=127.0.0.1 "-Ehttp.port=$NODE_PORT" "-Etransport.port=$NODE_TRANSPORT_PORT"
    -Ecluster.routing.allocation.disk.threshold_enabled=false
  )
  local kv
  while read -r kv; do settings+=("$kv"); done < <(discovery_settings)
  # Later settings win: ES_SETTINGS can override any of the above (say, discovery.type).
  for kv in ${ES_SETTINGS:-}; do settings+=("-E$kv"); done

  if curl -s -m 2 -o /dev/null "$URL/" 2>/dev/null; then
    log "port $NODE_PORT is already in use by something that is not a healthy Elasticsearch"; exit 1
  fi
  echo "=== $(date -Is) es.sh start ($NODE_NAME, port $NODE_PORT, heap $ES_HEAP, $java)" >>"$LOG_FILE"
  # the wrapper writes its own pid then execs java: the pid file always holds the JVM's pid
  nohup setsid bash -c 'echo $$ >"$0"; exec "$@"' "$PID_FILE" \
    "$java" "${jvm[@]}" -cp "$TARGET/es-launcher.jar:$TARGET/lib/*" "$MAIN_CLASS" "${settings[@]}" \
    >>"$LOG_FILE" 2>&1 </dev/null 9>&- &
}

cmd_start() {
  with_lock
  local i pid java_feature="" started=() start=$SECONDS
  # Every missing node is launched before any is waited for: a cluster elects a
  # master only once a majority of its nodes is up.
  for ((i = 0; i < ES_NODES; i++)); do
    node "$i"
    if pid="$(pid_alive)"; then
      healthy || log "$NODE_NAME (pid $pid) is running but not healthy yet; waiting"
      continue
    fi
    rm -f "$PID_FILE"
    if healthy; then
      echo "elasticsearch already running at $URL (status $(health); not started by this script, no pid file at $PID_FILE)"
      continue
    fi
    if [[ -z "$java_feature" ]]; then cmd_build; java_feature="$(java_checked)"; fi
    # shellcheck disable=SC2086
    launch $java_feature
    started+=("$i")
  done

  for ((i = 0; i < ES_NODES; i++)); do
    node "$i"
    while ! healthy; do
      if (( SECONDS - start >= ES_START_TIMEOUT )); then
        log "$NODE_NAME not healthy after ${ES_START_TIMEOUT}s; last log lines ($LOG_FILE):"
        tail -n 60 "$LOG_FILE" >&2; exit 1
      fi
      if [[ -f "$PID_FILE" ]] && ! pid_alive >/dev/null; then
        sleep 0.2; pid_alive >/dev/null && continue
        log "$NODE_NAME exited during startup; last log lines ($LOG_FILE):"
        tail -n 60 "$LOG_FILE" >&2; rm -f "$PID_FILE"; exit 1
      fi
      sleep 0.5
    done
    pid="$(cat "$PID_FILE" 2>/dev/null || echo '?')"
    if [[ " ${started[*]} " == *" $i "* ]]; then
      echo "elasticsearch up at $URL ($NODE_NAME, pid $pid, status $(health), $((SECONDS - start))s)"
    else
      echo "elasticsearch already running at $URL ($NODE_NAME, pid $pid, status $(health))"
    fi
  done
}

# Stops every node with a pid file, whatever ES_NODES says now, so a plain
# `make down` stops a cluster that `ES_NODES=3 make up` started.
cmd_stop() {
  with_lock
  local pid stopped=0
  for PID_FILE in "$RUN_DIR"/elasticsearch.pid "$RUN_DIR"/elasticsearch-*.pid; do
    [[ -f "$PID_FILE" ]] || continue
    NODE_NAME=$(basename "$PID_FILE" .pid); NODE_NAME=movies-node${NODE_NAME#elasticsearch}
    stopped=1
    if ! pid="$(pid_alive)"; then
      rm -f "$PID_FILE"; echo "elasticsearch $NODE_NAME not running"; continue
    fi
    kill -TERM "$pid" 2>/dev/null || true
    local n
    for ((n = 0; n < ES_STOP_TIMEOUT * 10; n++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "pid $pid still alive after ${ES_STOP_TIMEOUT}s, sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.5
    fi
    rm -f "$PID_FILE"
    echo "elasticsearch $NODE_NAME stopped (pid $pid)"
  done
  ((stopped)) || echo "elasticsearch not running"
}

cmd_status() {
  local i s pid rc=0
  for ((i = 0; i < ES_NODES; i++)); do
    node "$i"
    s="$(health)"; pid="$(pid_alive || echo none)"
    if [[ "$s" == green || "$s" == yellow ]]; then
      echo "elasticsearch running at $URL ($NODE_NAME, pid $pid, status $s)"
    else
      echo "elasticsearch not healthy at $URL ($NODE_NAME, pid $pid, status ${s:-unreachable})"; rc=1
    fi
  done
  return $rc
}

case "${1:-}" in
  build) mkdir -p "$RUN_DIR"; cmd_build "${2:-}" ;;
  start) cmd_start ;;
  urls) urls ;;
  stop) cmd_stop ;;
  restart) cmd_stop; cmd_start ;;
  status) cmd_status ;;
  *) echo "usage: $0 {start|stop|status|restart|urls|build [force]}" >&2; exit 2 ;;
esac
