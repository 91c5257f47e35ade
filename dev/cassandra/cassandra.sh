#!/usr/bin/env bash
# Runs a real single-node Apache Cassandra 5.0 (jars from Maven Central) natively: no tarball,
# no Docker. Used by the UGC storage study (docs/research/ugc-storage.md).
#
#   cassandra.sh build    copy cassandra-all and its dependencies into target/lib (mvn package)
#   cassandra.sh start    build if needed, start the node, wait until it takes CQL connections
#   cassandra.sh stop     SIGTERM, wait, then SIGKILL
#   cassandra.sh status   exit 0 if the node takes CQL connections
#   cassandra.sh restart
#   cassandra.sh nodetool ARGS...   upstream's nodetool over local JMX (e.g. `flush ugc`)
#
# Environment (defaults):
#   CASSANDRA_DIR=<repo>/.stack/cassandra   the node's data, commit log, logs and pid file
#   CASSANDRA_NATIVE_PORT=19042  CASSANDRA_STORAGE_PORT=17000  CASSANDRA_JMX_PORT=17199
#   CASSANDRA_HEAP=2g  CASSANDRA_START_TIMEOUT=180 (s)  CASSANDRA_STOP_TIMEOUT=60 (s)
#   CASSANDRA_JAVA_HOME / JAVA_HOME   a JDK 17 (Cassandra 5.0 runs on 11 and 17); default `java`
#   CASSANDRA_JAVA_OPTS               extra JVM options
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"

DIR="${CASSANDRA_DIR:-$REPO/.stack/cassandra}"
NATIVE_PORT="${CASSANDRA_NATIVE_PORT:-19042}"
STORAGE_PORT="${CASSANDRA_STORAGE_PORT:-17000}"
JMX_PORT="${CASSANDRA_JMX_PORT:-17199}"
HEAP="${CASSANDRA_HEAP:-2g}"
START_TIMEOUT="${CASSANDRA_START_TIMEOUT:-180}"
STOP_TIMEOUT="${CASSANDRA_STOP_TIMEOUT:-60}"

TARGET="$HERE/target"
STAMP="$TARGET/.cassandra-build-stamp"
BUILD_LOG="$TARGET/build.log"
PID_FILE="$DIR/cassandra.pid"
LOG_DIR="$DIR/logs"
LOG_FILE="$LOG_DIR/cassandra.log"
OUT_FILE="$LOG_DIR/stdout.log"
MAIN_CLASS="org.apache.cassandra.service.CassandraDaemon"

# The module exports/opens of upstream's jvm17-server.options: Cassandra 5.0 (server and
# nodetool) needs them on Java 17.
JPMS=(
  --add-exports java.base/jdk.internal.misc=ALL-UNNAMED
  --add-exports java.management.rmi/com.sun.jmx.remote.internal.rmi=ALL-UNNAMED
  --add-exports java.rmi/sun.rmi.registry=ALL-UNNAMED
  --add-exports java.rmi/sun.rmi.server=ALL-UNNAMED
  --add-exports java.sql/java.sql=ALL-UNNAMED
  --add-exports java.base/java.lang.ref=ALL-UNNAMED
  --add-exports jdk.unsupported/sun.misc=ALL-UNNAMED
  --add-exports jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED
  --add-exports jdk.attach/sun.tools.attach=ALL-UNNAMED
  --add-opens java.base/java.lang.module=ALL-UNNAMED
  --add-opens java.base/jdk.internal.loader=ALL-UNNAMED
  --add-opens java.base/jdk.internal.ref=ALL-UNNAMED
  --add-opens java.base/jdk.internal.reflect=ALL-UNNAMED
  --add-opens java.base/jdk.internal.math=ALL-UNNAMED
  --add-opens java.base/jdk.internal.module=ALL-UNNAMED
  --add-opens java.base/jdk.internal.util.jar=ALL-UNNAMED
  --add-opens jdk.management/com.sun.management.internal=ALL-UNNAMED
  --add-opens java.base/sun.nio.ch=ALL-UNNAMED
  --add-opens java.base/java.io=ALL-UNNAMED
  --add-opens java.base/java.lang.reflect=ALL-UNNAMED
  --add-opens jdk.compiler/com.sun.tools.javac=ALL-UNNAMED
  --add-opens java.base/java.lang=ALL-UNNAMED
  --add-opens java.base/java.util=ALL-UNNAMED
)

log() { echo "cassandra: $*" >&2; }

java_bin() {
  local jh="${CASSANDRA_JAVA_HOME:-${JAVA_HOME:-}}"
  if [[ -n "$jh" && -x "$jh/bin/java" ]]; then echo "$jh/bin/java"; else command -v java || true; fi
}

needs_build() {
  [[ -f "$STAMP" && -d "$TARGET/lib" ]] || return 0
  [[ "$HERE/pom.xml" -nt "$STAMP" ]]
}

cmd_build() {
  needs_build || return 0
  command -v mvn >/dev/null || { log "mvn not found (apt-get install maven)"; exit 1; }
  mkdir -p "$TARGET"
  log "building the class path (mvn package, log: $BUILD_LOG) ..."
  rm -rf "$TARGET/lib"
  if ! mvn -q -B -f "$HERE/pom.xml" package >"$BUILD_LOG" 2>&1; then
    log "build FAILED:"; tail -n 60 "$BUILD_LOG" >&2; exit 1
  fi
  touch "$STAMP"
}

pid_alive() { # the pid from the pid file, if that process is this node's JVM
  [[ -f "$PID_FILE" ]] || return 1
  local pid; pid="$(cat "$PID_FILE" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ -r "/proc/$pid/cmdline" ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "$MAIN_CLASS" || return 1
  echo "$pid"
}

# The native transport listens only once the node has joined and loaded its schema.
cql_open() { (exec 3<>"/dev/tcp/127.0.0.1/$NATIVE_PORT") 2>/dev/null; }

config() { # writes the node's cassandra.yaml from the template
  sed -e "s|@DIR@|$DIR|g" -e "s|@NATIVE_PORT@|$NATIVE_PORT|g" -e "s|@STORAGE_PORT@|$STORAGE_PORT|g" \
    "$HERE/conf/cassandra.yaml.in" >"$DIR/cassandra.yaml"
}

cmd_start() {
  if pid="$(pid_alive)"; then
    log "already running (pid $pid)"
  else
    rm -f "$PID_FILE"
    if cql_open; then log "port $NATIVE_PORT is taken by another process"; exit 1; fi
    cmd_build
    local java; java="$(java_bin)"
    [[ -n "$java" ]] || { log "no java found (set CASSANDRA_JAVA_HOME or JAVA_HOME)"; exit 1; }
    mkdir -p "$DIR" "$LOG_DIR"
    config
    # JVM options: upstream's jvm-server.options essentials and JPMS. jamm (on the class
    # path) must also be the agent: Cassandra measures object sizes with it.
    local -a jvm=(
      "-Xms$HEAP" "-Xmx$HEAP" -Xss256k -XX:+UseG1GC -XX:+ParallelRefProcEnabled -XX:MaxTenuringThreshold=1
      -XX:G1HeapRegionSize=16m -XX:MaxGCPauseMillis=300 -XX:+AlwaysPreTouch -XX:+PerfDisableSharedMem
      -XX:+HeapDumpOnOutOfMemoryError "-XX:HeapDumpPath=$DIR" -XX:+ExitOnOutOfMemoryError
      -XX:+UseTLAB -XX:+ResizeTLAB -XX:StringTableSize=1000003
      -XX:+UnlockDiagnosticVMOptions -XX:+DebugNonSafepoints
      "-javaagent:$TARGET/lib/jamm-0.4.0.jar"
      -Djava.net.preferIPv4Stack=true -Djdk.attach.allowAttachSelf=true -Djava.awt.headless=true
      -Dio.netty.tryReflectionSetAccessible=true -Dio.netty.allocator.useCacheForAllThreads=true
      -Dio.netty.allocator.maxOrder=11 -Dio.netty.transport.noNative=false
      "-Dcassandra.config=file://$DIR/cassandra.yaml" "-Dcassandra.storagedir=$DIR"
      "-Dcassandra.logdir=$LOG_DIR" "-Dlogback.configurationFile=$HERE/conf/logback.xml"
      "-Dcassandra.jmx.local.port=$JMX_PORT" -Dcassandra-foreground=yes
      -Dcassandra.ring_delay_ms=1000 -Dcassandra.skip_wait_for_gossip_to_settle=0
      "${JPMS[@]}"
    )
    # shellcheck disable=SC2206
    [[ -n "${CASSANDRA_JAVA_OPTS:-}" ]] && jvm+=(${CASSANDRA_JAVA_OPTS})
    echo "=== $(date -Is) cassandra.sh start (native $NATIVE_PORT, heap $HEAP, $java)" >>"$OUT_FILE"
    # the wrapper writes its own pid then execs java: the pid file holds the JVM's pid
    nohup setsid bash -c 'echo $$ >"$0"; exec "$@"' "$PID_FILE" \
      "$java" "${jvm[@]}" -cp "$TARGET/lib/*" "$MAIN_CLASS" >>"$OUT_FILE" 2>&1 </dev/null &
  fi
  local start=$SECONDS
  until cql_open; do
    if ((SECONDS - start >= START_TIMEOUT)); then
      log "no CQL port after ${START_TIMEOUT}s; last log lines:"; tail -n 40 "$LOG_FILE" "$OUT_FILE" >&2; exit 1
    fi
    if [[ -f "$PID_FILE" ]] && ! pid_alive >/dev/null; then
      sleep 0.2; pid_alive >/dev/null && continue
      log "the node exited during startup; last log lines:"; tail -n 40 "$LOG_FILE" "$OUT_FILE" >&2
      rm -f "$PID_FILE"; exit 1
    fi
    sleep 0.5
  done
  echo "cassandra up at 127.0.0.1:$NATIVE_PORT (pid $(cat "$PID_FILE"), $((SECONDS - start))s, data $DIR)"
}

cmd_stop() {
  local pid
  if ! pid="$(pid_alive)"; then rm -f "$PID_FILE"; echo "cassandra not running"; return 0; fi
  kill -TERM "$pid" 2>/dev/null || true
  local n
  for ((n = 0; n < STOP_TIMEOUT * 10; n++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    log "pid $pid still alive after ${STOP_TIMEOUT}s, sending SIGKILL"; kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$PID_FILE"
  echo "cassandra stopped (pid $pid)"
}

cmd_status() {
  if cql_open; then echo "cassandra running at 127.0.0.1:$NATIVE_PORT (pid $(pid_alive || echo '?'))"; else
    echo "cassandra not reachable at 127.0.0.1:$NATIVE_PORT"; return 1
  fi
}

case "${1:-}" in
  build) cmd_build ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  restart) cmd_stop; cmd_start ;;
  status) cmd_status ;;
  nodetool) shift; exec "$(java_bin)" -Xmx256m "${JPMS[@]}" "-Duser.home=$DIR" -cp "$TARGET/lib/*" org.apache.cassandra.tools.NodeTool \
    -h 127.0.0.1 -p "$JMX_PORT" "$@" ;;
  *) echo "usage: $0 {build|start|stop|status|restart|nodetool ARGS}" >&2; exit 2 ;;
esac
