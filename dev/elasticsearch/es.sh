#!/usr/bin/env bash
# Runs a real single-node Elasticsearch 8.x (jars from Maven Central) for local development and CI.
#
#   es.sh build    build the class path (mvn package) if sources changed
#   es.sh start    build if needed, start in the background, wait until healthy, print the URL
#   es.sh stop     SIGTERM, wait, then SIGKILL
#   es.sh status   exit 0 if the node answers green/yellow, 1 otherwise
#   es.sh restart
#
# Environment (defaults):
#   ES_PORT=9200  ES_TRANSPORT_PORT=ES_PORT+100 (9300)  ES_HEAP=1g  STACK_DIR=<repo>/.stack
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

ES_HOME_DIR="$STACK_DIR/elasticsearch"
DATA_DIR="$ES_HOME_DIR/data"
TMP_DIR="$ES_HOME_DIR/tmp"
LOG_DIR="$STACK_DIR/logs"
LOG_FILE="$LOG_DIR/elasticsearch.log"
BUILD_LOG="$LOG_DIR/elasticsearch-build.log"
RUN_DIR="$STACK_DIR/run"
PID_FILE="$RUN_DIR/elasticsearch.pid"
LOCK_FILE="$RUN_DIR/elasticsearch.lock"

TARGET="$HERE/target"
STAMP="$TARGET/.es-build-stamp"
MAIN_CLASS="dev.movies.es.EsMain"
URL="http://127.0.0.1:$ES_PORT"

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
  local running; running="$(pid_alive || true)"
  [[ -n "$running" ]] && log "note: node pid $running is running from this build; run 'es.sh restart' afterwards"
  log "building (mvn package, log: $BUILD_LOG) ..."
  if ! mvn -q -B -f "$HERE/pom.xml" package >"$BUILD_LOG" 2>&1; then
    log "build FAILED:"; tail -n 60 "$BUILD_LOG" >&2; exit 1
  fi
  touch "$STAMP"
}

pid_alive() { # pid from the pid file, if that process is our JVM
  [[ -f "$PID_FILE" ]] || return 1
  local pid; pid="$(cat "$PID_FILE" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ -r "/proc/$pid/cmdline" ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "$MAIN_CLASS" || return 1
  echo "$pid"
}

health() { # prints the cluster status (green/yellow/red) or nothing
  curl -s -m 3 "$URL/_cluster/health" 2>/dev/null | sed -n 's/.*"status":"\([a-z]*\)".*/\1/p' || true
}

healthy() { local s; s="$(health)"; [[ "$s" == green || "$s" == yellow ]]; }

with_lock() {
  mkdir -p "$RUN_DIR"
  exec 9>"$LOCK_FILE"
  flock -w $((ES_START_TIMEOUT + ES_STOP_TIMEOUT + 60)) 9 || { log "could not get $LOCK_FILE"; exit 1; }
}

cmd_start() {
  with_lock
  local pid
  if pid="$(pid_alive)"; then
    if healthy; then echo "elasticsearch already running at $URL (pid $pid, status $(health))"; return 0; fi
    log "pid $pid is running but not healthy yet; waiting"
  else
    rm -f "$PID_FILE"
    if healthy; then
      echo "elasticsearch already running at $URL (status $(health); not started by this script, no pid file at $PID_FILE)"
      return 0
    fi
    cmd_build
    local java; java="$(java_bin)"
    [[ -n "$java" ]] || { log "no java found (set ES_JAVA_HOME or JAVA_HOME)"; exit 1; }
    local feature; feature="$("$java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
    if [[ -z "$feature" || "${feature%%.*}" -lt 17 ]]; then log "$java is Java '$feature'; Java >= 17 is required"; exit 1; fi
    local providers="SPI,COMPAT"; [[ "${feature%%.*}" -ge 23 ]] && providers="SPI,CLDR"

    mkdir -p "$DATA_DIR" "$TMP_DIR" "$LOG_DIR" "$RUN_DIR"
    local -a jvm=(
      "-Xms$ES_HEAP" "-Xmx$ES_HEAP" "-XX:+Use${ES_GC:-G1}GC" -Xss1m -XX:-OmitStackTraceInFastThrow
      -XX:+ExitOnOutOfMemoryError
      -Djava.awt.headless=true -Dfile.encoding=UTF-8 -Djna.nosys=true "-Djava.io.tmpdir=$TMP_DIR"
      -Dio.netty.noUnsafe=true -Dio.netty.noKeySetOptimization=true -Dio.netty.recycler.maxCapacityPerThread=0
      -Dlog4j.shutdownHookEnabled=false -Dlog4j2.disable.jmx=true -Dlog4j2.formatMsgNoLookups=true
      "-Djava.locale.providers=$providers" -Des.distribution.type=tar
    )
    [[ "${feature%%.*}" -ge 21 ]] && jvm+=(--enable-native-access=ALL-UNNAMED)
    # shellcheck disable=SC2206
    [[ -n "${ES_JAVA_OPTS:-}" ]] && jvm+=(${ES_JAVA_OPTS})
    local -a settings=(
      "-Epath.home=$TARGET/es-home" "-Epath.data=$DATA_DIR" "-Epath.logs=$LOG_DIR"
      -Ecluster.name=movies -Enode.name=movies-node -Ediscovery.type=single-node
      -Enetwork.host=127.0.0.1 "-Ehttp.port=$ES_PORT" "-Etransport.port=$ES_TRANSPORT_PORT"
      -Ecluster.routing.allocation.disk.threshold_enabled=false
    )
    local kv; for kv in ${ES_SETTINGS:-}; do settings+=("-E$kv"); done

    if curl -s -m 2 -o /dev/null "$URL/" 2>/dev/null; then
      log "port $ES_PORT is already in use by something that is not a healthy Elasticsearch"; exit 1
    fi
    echo "=== $(date -Is) es.sh start (port $ES_PORT, heap $ES_HEAP, $java)" >>"$LOG_FILE"
    # the wrapper writes its own pid then execs java: the pid file always holds the JVM's pid
    nohup setsid bash -c 'echo $$ >"$0"; exec "$@"' "$PID_FILE" \
      "$java" "${jvm[@]}" -cp "$TARGET/es-launcher.jar:$TARGET/lib/*" "$MAIN_CLASS" "${settings[@]}" \
      >>"$LOG_FILE" 2>&1 </dev/null 9>&- &
  fi

  local start=$SECONDS
  while (( SECONDS - start < ES_START_TIMEOUT )); do
    if healthy; then
      pid="$(cat "$PID_FILE" 2>/dev/null || echo '?')"
      echo "elasticsearch up at $URL (pid $pid, status $(health), $((SECONDS - start))s)"
      return 0
    fi
    if [[ -f "$PID_FILE" ]] && ! pid_alive >/dev/null; then
      sleep 0.2; pid_alive >/dev/null && continue
      log "process exited during startup; last log lines ($LOG_FILE):"
      tail -n 60 "$LOG_FILE" >&2; rm -f "$PID_FILE"; exit 1
    fi
    sleep 0.5
  done
  log "not healthy after ${ES_START_TIMEOUT}s; last log lines ($LOG_FILE):"
  tail -n 60 "$LOG_FILE" >&2
  exit 1
}

cmd_stop() {
  with_lock
  local pid
  if ! pid="$(pid_alive)"; then
    rm -f "$PID_FILE"; echo "elasticsearch not running"; return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  local i
  for ((i = 0; i < ES_STOP_TIMEOUT * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "pid $pid still alive after ${ES_STOP_TIMEOUT}s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.5
  fi
  rm -f "$PID_FILE"
  echo "elasticsearch stopped (pid $pid)"
}

cmd_status() {
  local s pid; s="$(health)"; pid="$(pid_alive || echo none)"
  if [[ "$s" == green || "$s" == yellow ]]; then
    echo "elasticsearch running at $URL (pid $pid, status $s)"; return 0
  fi
  echo "elasticsearch not healthy at $URL (pid $pid, status ${s:-unreachable})"; return 1
}

case "${1:-}" in
  build) mkdir -p "$RUN_DIR"; cmd_build "${2:-}" ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  restart) cmd_stop; cmd_start ;;
  status) cmd_status ;;
  *) echo "usage: $0 {start|stop|status|restart|build [force]}" >&2; exit 2 ;;
esac
