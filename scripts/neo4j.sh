#!/usr/bin/env bash
# Control a local Neo4j 5 (community, embedded in tools/neo4j-launcher) with Bolt, for
# provgraph's development and tests.
#
#   scripts/neo4j.sh build     build the launcher (skipped when pom.xml and sources are unchanged)
#   scripts/neo4j.sh start     build if needed, start in the background, wait until Bolt is ready
#   scripts/neo4j.sh stop      SIGTERM (clean shutdown), SIGKILL after NEO4J_STOP_TIMEOUT seconds
#   scripts/neo4j.sh restart   stop, then start
#   scripts/neo4j.sh status    exit 0 running, 3 not running, 1 crashed (stale pid file)
#   scripts/neo4j.sh wait      wait until Bolt answers (and the launcher reported ready)
#   scripts/neo4j.sh logs [tail options, e.g. -f]
#
# Environment (defaults):
#   NEO4J_HOME_DIR=.data/neo4j        data, logs, pid file; relative to the repo root
#   NEO4J_BOLT_ADDR=127.0.0.1:7687    Bolt listen address (also what `wait` probes)
#   NEO4J_PASSWORD=provgraph-local    password of user neo4j, (re)applied on every start (>= 8 chars)
#   NEO4J_HEAP=4g                     JVM -Xmx
#   NEO4J_PAGECACHE=4g                Neo4j page cache size (off-heap)
#   NEO4J_START_TIMEOUT=180           seconds `start`/`wait` wait for Bolt
#   NEO4J_STOP_TIMEOUT=60             seconds `stop` waits after SIGTERM before SIGKILL
#   NEO4J_JAVA_OPTS=                  extra JVM options (word-split)
#   JAVA_HOME                         Java 17+ to use (else `java` on PATH)
#
# The launcher is built into .data/neo4j-launcher/ (git-ignored); the JVM's output goes to
# $NEO4J_HOME_DIR/neo4j.log, Neo4j's own logs to $NEO4J_HOME_DIR/logs/.
set -euo pipefail

SELF="$(readlink -f "${BASH_SOURCE[0]}")"
ROOT="$(dirname "$(dirname "$SELF")")"
cd "$ROOT"

HOME_DIR="${NEO4J_HOME_DIR:-.data/neo4j}"
case "$HOME_DIR" in
  /*) ;;
  *) HOME_DIR="$ROOT/$HOME_DIR" ;;
esac
HOME_DIR="${HOME_DIR%/}"
BOLT_ADDR="${NEO4J_BOLT_ADDR:-127.0.0.1:7687}"
HEAP="${NEO4J_HEAP:-4g}"
START_TIMEOUT="${NEO4J_START_TIMEOUT:-180}"
STOP_TIMEOUT="${NEO4J_STOP_TIMEOUT:-60}"

SRC_DIR="$ROOT/tools/neo4j-launcher"
BUILD_DIR="$ROOT/.data/neo4j-launcher"
LIB_DIR="$BUILD_DIR/lib"
STAMP_FILE="$BUILD_DIR/build.stamp"
MAIN_CLASS="provgraph.launcher.Main"

PID_FILE="$HOME_DIR/neo4j.pid"
ADDR_FILE="$HOME_DIR/neo4j.addr"
LOG_FILE="$HOME_DIR/neo4j.log"
READY_FILE="$HOME_DIR/run/launcher.ready"
LOG_ROTATE_BYTES=$((20 * 1024 * 1024))

if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then
  JAVA="$JAVA_HOME/bin/java"
else
  JAVA="java"
fi

say() { printf 'neo4j: %s\n' "$*"; }
err() { printf 'neo4j: %s\n' "$*" >&2; }
die() { err "error: $*"; exit 1; }

# Serialise start/stop/build between concurrent callers (e.g. parallel test packages).
# Usage: take_lock FILE  (the lock is held until this script exits)
HELD_LOCKS=" "
LOCK_FDS=()
take_lock() {
  command -v flock >/dev/null 2>&1 || return 0
  [[ "$HELD_LOCKS" == *" $1 "* ]] && return 0 # already ours (e.g. restart = stop + start)
  mkdir -p "$(dirname "$1")"
  local fd
  exec {fd}>>"$1"
  flock -w 600 "$fd" || die "could not lock $1 within 600 s"
  HELD_LOCKS+="$1 "
  LOCK_FDS+=("$fd")
}

# Closes the lock fds in a (sub)shell that is about to exec a long-lived process, which must
# not inherit (and so keep holding) the locks.
close_lock_fds() {
  local fd
  for fd in "${LOCK_FDS[@]}"; do
    exec {fd}>&-
  done
}

# ---- build ---------------------------------------------------------------------------------

source_checksum() {
  (cd "$SRC_DIR" && find pom.xml src -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) |
    sha256sum | cut -d' ' -f1
}

build_is_current() {
  [[ -f "$STAMP_FILE" && -f "$LIB_DIR/neo4j-launcher.jar" ]] &&
    [[ "$(cat "$STAMP_FILE")" == "$(source_checksum)" ]]
}

check_java() {
  command -v "$JAVA" >/dev/null 2>&1 || die "java not found (install JDK 17+ or set JAVA_HOME)"
  local v major
  v="$("$JAVA" -version 2>&1 | sed -n 's/.* version "\([^"]*\)".*/\1/p' | head -n1)"
  major="${v%%.*}"
  [[ "$major" == 1 ]] && major=0 # 1.8 and older
  [[ "$major" =~ ^[0-9]+$ && "$major" -ge 17 ]] || die "Java 17+ required, found '${v:-unknown}' ($JAVA)"
}

cmd_build() {
  local quiet="${1:-}"
  if build_is_current; then
    [[ "$quiet" == --if-needed ]] || say "launcher is up to date ($LIB_DIR)"
    return 0
  fi
  take_lock "$ROOT/.data/neo4j-launcher.lock"
  build_is_current && return 0 # built by a concurrent caller meanwhile
  command -v mvn >/dev/null 2>&1 || die "mvn not found (install Maven 3.8+)"
  check_java
  local sum tmp log
  sum="$(source_checksum)"
  tmp="$ROOT/.data/neo4j-launcher.tmp"
  log="$ROOT/.data/neo4j-launcher-build.log"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  say "building launcher (Maven; the first build downloads Neo4j's jars) ..."
  local t0=$SECONDS
  if ! mvn -B -q -Dstyle.color=never -f "$SRC_DIR/pom.xml" -Dlauncher.buildDir="$tmp" package >"$log" 2>&1; then
    tail -n 60 "$log" >&2 || true
    rm -rf "$tmp"
    die "launcher build failed (full output: $log)"
  fi
  [[ -f "$tmp/lib/neo4j-launcher.jar" ]] || die "build produced no $tmp/lib/neo4j-launcher.jar (see $log)"
  printf '%s\n' "$sum" >"$tmp/build.stamp"
  # Swap in the new build; a running JVM keeps its open (deleted) jars.
  rm -rf "$BUILD_DIR"
  mv "$tmp" "$BUILD_DIR"
  say "launcher built in $((SECONDS - t0)) s ($LIB_DIR)"
}

# ---- process helpers ---------------------------------------------------------------------

# True if PID is a live launcher JVM for this home dir (guards against pid reuse).
is_ours() {
  local pid="$1" cmdline
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ -r "/proc/$pid/cmdline" ]] || return 1
  cmdline="$(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
  grep -qxF "$MAIN_CLASS" <<<"$cmdline" && grep -qxF "$HOME_DIR" <<<"$cmdline"
}

pid_from_file() {
  [[ -f "$PID_FILE" ]] || return 1
  local pid
  pid="$(tr -dc '0-9' <"$PID_FILE")"
  [[ -n "$pid" ]] || return 1
  printf '%s\n' "$pid"
}

# Prints the pid of our running launcher; fails if there is none.
running_pid() {
  local pid
  pid="$(pid_from_file)" || return 1
  is_ours "$pid" || return 1
  printf '%s\n' "$pid"
}

# True once launcher PID reported READY (ready file; its log line as a fallback).
launcher_ready() {
  [[ -f "$READY_FILE" && "$(tr -dc '0-9' <"$READY_FILE")" == "$1" ]] && return 0
  [[ -f "$LOG_FILE" ]] && grep -q "\[provgraph-neo4j\] READY .* pid=$1 " "$LOG_FILE"
}

recorded_addr() {
  if [[ -f "$ADDR_FILE" ]]; then cat "$ADDR_FILE"; else printf '%s\n' "$BOLT_ADDR"; fi
}

# Sets HOST and PORT to connect to for a listen address host:port ([v6]:port, 0.0.0.0:port).
split_addr() {
  HOST="${1%:*}"
  PORT="${1##*:}"
  HOST="${HOST#[}"
  HOST="${HOST%]}"
  [[ -z "$HOST" || "$HOST" == 0.0.0.0 ]] && HOST=127.0.0.1
  [[ "$HOST" == "::" ]] && HOST=::1
  [[ "$PORT" =~ ^[0-9]+$ ]]
}

# True if something accepts TCP connections at host:port.
tcp_open() {
  local HOST PORT
  split_addr "$1" || return 1
  # shellcheck disable=SC2016 # $0/$1 are expanded by the inner bash
  timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$HOST" "$PORT" 2>/dev/null
}

# Bolt handshake over /dev/tcp: magic 0x6060B017, then four version proposals
# (5.0-5.8, 4.2-4.4, 4.0, 3.0). Prints the agreed version; fails if none/no answer.
bolt_handshake() {
  local HOST PORT out
  split_addr "$1" || return 1
  local host="$HOST" port="$PORT"
  # shellcheck disable=SC2016 # $0/$1 are expanded by the inner bash
  out="$(timeout 5 bash -c '
    exec 3<>"/dev/tcp/$0/$1" || exit 1
    printf "\x60\x60\xb0\x17\x00\x08\x08\x05\x00\x02\x04\x04\x00\x00\x00\x04\x00\x00\x00\x03" >&3
    head -c 4 <&3 | od -An -tx1
  ' "$host" "$port" 2>/dev/null)" || return 1
  out="${out//[[:space:]]/}"
  [[ ${#out} -eq 8 && "$out" != 00000000 ]] || return 1
  printf '%d.%d\n' "0x${out:6:2}" "0x${out:4:2}"
}

show_log_tail() {
  local n="${1:-40}"
  if [[ -f "$LOG_FILE" ]]; then
    err "---- last $n lines of $LOG_FILE ----"
    tail -n "$n" "$LOG_FILE" >&2 || true
    err "----"
  fi
}

# ---- commands ------------------------------------------------------------------------------

cmd_wait() {
  local deadline=$((SECONDS + START_TIMEOUT)) pid="" version=""
  pid="$(pid_from_file)" || pid=""
  [[ -n "$pid" ]] || say "no pid file ($PID_FILE); waiting for Bolt at $BOLT_ADDR anyway"
  while :; do
    if [[ -n "$pid" ]] && ! is_ours "$pid"; then
      show_log_tail 40
      die "Neo4j (pid $pid) is not running: it crashed or exited (see the log above, $LOG_FILE)"
    fi
    if version="$(bolt_handshake "$BOLT_ADDR")"; then
      if [[ -z "$pid" ]] || launcher_ready "$pid"; then
        say "ready: bolt://$BOLT_ADDR (Bolt $version${pid:+, pid $pid})"
        return 0
      fi
    fi
    if ((SECONDS >= deadline)); then
      [[ -n "$pid" ]] && show_log_tail 40
      die "timed out after ${START_TIMEOUT} s waiting for Bolt at $BOLT_ADDR${pid:+ (pid $pid still running)}"
    fi
    sleep 0.5
  done
}

cmd_start() {
  mkdir -p "$HOME_DIR"
  take_lock "$HOME_DIR/.neo4j-sh.lock"
  local pid
  if pid="$(running_pid)"; then
    local addr
    addr="$(recorded_addr)"
    if [[ "$addr" != "$BOLT_ADDR" ]]; then
      die "already running (pid $pid) on Bolt $addr, but NEO4J_BOLT_ADDR=$BOLT_ADDR; stop it first"
    fi
    build_is_current || say "note: launcher sources changed since this instance was built; restart to use them"
    say "already running (pid $pid, bolt $addr)"
    cmd_wait
    return
  fi
  if pid="$(pid_from_file)"; then
    say "removing stale pid file (pid $pid is no longer our Neo4j: it crashed or was killed)"
  fi
  rm -f "$PID_FILE" "$ADDR_FILE" "$READY_FILE"

  cmd_build --if-needed
  check_java
  if tcp_open "$BOLT_ADDR"; then
    die "something already listens on $BOLT_ADDR (another Neo4j? stop it or set NEO4J_BOLT_ADDR)"
  fi

  if [[ -f "$LOG_FILE" ]] && (($(stat -c %s "$LOG_FILE") > LOG_ROTATE_BYTES)); then
    mv -f "$LOG_FILE" "$LOG_FILE.1"
  fi
  local -a jvm_opts=(
    "-Xmx$HEAP"
    -XX:+UseG1GC
    -XX:-OmitStackTraceInFastThrow
    -XX:+UnlockExperimentalVMOptions
    -XX:+TrustFinalNonStaticFields
    -XX:+DisableExplicitGC
    -XX:+ExitOnOutOfMemoryError
    -XX:+UnlockDiagnosticVMOptions
    -XX:+DebugNonSafepoints
    -Djdk.nio.maxCachedBufferSize=1024
    -Dio.netty.tryReflectionSetAccessible=true
    -Dlog4j2.disable.jmx=true
    -Dfile.encoding=UTF-8
    --add-opens=java.base/java.nio=ALL-UNNAMED
    --add-opens=java.base/java.io=ALL-UNNAMED
    --add-opens=java.base/sun.nio.ch=ALL-UNNAMED
  )
  local -a extra=()
  # shellcheck disable=SC2206 # word splitting intended
  [[ -n "${NEO4J_JAVA_OPTS:-}" ]] && extra=(${NEO4J_JAVA_OPTS})

  printf '\n==== %s scripts/neo4j.sh start: bolt %s, heap %s, page cache %s ====\n' \
    "$(date -u '+%Y-%m-%d %H:%M:%S+0000')" "$BOLT_ADDR" "$HEAP" "${NEO4J_PAGECACHE:-4g}" >>"$LOG_FILE"
  # setsid: own session, so Ctrl-C in the caller's terminal doesn't reach Neo4j. In this
  # non-interactive script the subshell is not a process-group leader, so it, setsid and nohup
  # all exec in place and $! is the JVM's pid (checked by is_ours via /proc).
  (
    close_lock_fds
    export NEO4J_BOLT_ADDR="$BOLT_ADDR" NEO4J_HOME_DIR="$HOME_DIR"
    exec setsid nohup "$JAVA" "${jvm_opts[@]}" "${extra[@]}" -cp "$LIB_DIR/*" "$MAIN_CLASS" "$HOME_DIR" \
      >>"$LOG_FILE" 2>&1 </dev/null
  ) &
  pid=$!
  printf '%s\n' "$pid" >"$PID_FILE"
  printf '%s\n' "$BOLT_ADDR" >"$ADDR_FILE"
  say "started (pid $pid, log $LOG_FILE); waiting for Bolt at $BOLT_ADDR ..."
  cmd_wait
}

cmd_stop() {
  mkdir -p "$HOME_DIR"
  take_lock "$HOME_DIR/.neo4j-sh.lock"
  local pid
  if ! pid="$(pid_from_file)"; then
    say "not running"
    return 0
  fi
  if ! is_ours "$pid"; then
    say "not running (removed stale pid file: pid $pid is no longer our Neo4j; it had crashed or was killed)"
    rm -f "$PID_FILE" "$ADDR_FILE" "$READY_FILE"
    return 0
  fi
  say "stopping (pid $pid) ..."
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + STOP_TIMEOUT))
  while is_ours "$pid" && ((SECONDS < deadline)); do
    sleep 0.2
  done
  if is_ours "$pid"; then
    err "still running after ${STOP_TIMEOUT} s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    local _
    for _ in $(seq 50); do
      is_ours "$pid" || break
      sleep 0.1
    done
    is_ours "$pid" && die "pid $pid survived SIGKILL"
    rm -f "$PID_FILE" "$ADDR_FILE" "$READY_FILE"
    say "killed (pid $pid); the next start will recover the store"
    return 0
  fi
  rm -f "$PID_FILE" "$ADDR_FILE" "$READY_FILE"
  say "stopped"
}

cmd_status() {
  local pid addr version
  if ! pid="$(pid_from_file)"; then
    if version="$(bolt_handshake "$BOLT_ADDR")"; then
      say "not running (no pid file in $HOME_DIR), but something answers Bolt $version at $BOLT_ADDR"
    else
      say "not running"
    fi
    return 3
  fi
  if ! is_ours "$pid"; then
    say "crashed: stale pid file $PID_FILE (pid $pid is no longer our Neo4j); see: scripts/neo4j.sh logs"
    return 1
  fi
  addr="$(recorded_addr)"
  if launcher_ready "$pid"; then
    say "running (pid $pid, bolt $addr)"
  else
    say "starting (pid $pid, bolt $addr; not ready yet)"
  fi
  return 0
}

cmd_logs() {
  [[ -f "$LOG_FILE" ]] || die "no log yet ($LOG_FILE)"
  tail -n 100 "$@" "$LOG_FILE"
}

usage() {
  sed -n '2,/^set -euo/p' "$SELF" | sed '$d' | sed 's/^# \{0,1\}//'
}

main() {
  local cmd="${1:-}"
  [[ $# -gt 0 ]] && shift
  case "$cmd" in
    build) cmd_build "$@" ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    restart) cmd_stop && cmd_start ;;
    status) cmd_status ;;
    wait) cmd_wait ;;
    logs) cmd_logs "$@" ;;
    -h | --help | help) usage ;;
    *)
      usage >&2
      exit 2
      ;;
  esac
}

main "$@"
