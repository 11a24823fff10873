#!/usr/bin/env bash
# zkServer.sh for zkd: the commands of ZooKeeper's zkServer.sh
# (start, start-foreground, stop, restart, status, print-cmd), running the
# zkd binary instead of a JVM. SERVER_JVMFLAGS and JVMFLAGS are read for
# -Dname=value system properties, as ZooKeeper's script passes them to Java.
#
#   zkServer.sh [--config <dir>] {start|start-foreground|stop|restart|status|print-cmd} [zoo.cfg]
set -u

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ZOOCFGDIR="${ZOOCFGDIR:-$here/../conf}"
if [ "${1:-}" = "--config" ]; then
  ZOOCFGDIR="$2"
  shift 2
fi
cmd="${1:-}"
ZOOCFG="${2:-${ZOOCFG:-$ZOOCFGDIR/zoo.cfg}}"
if [ ! -f "$ZOOCFG" ] && [ -f "$ZOOCFGDIR/$ZOOCFG" ]; then
  ZOOCFG="$ZOOCFGDIR/$ZOOCFG"
fi

ZKD="${ZKD_BIN:-}"
if [ -z "$ZKD" ]; then
  if [ -x "$here/../build/zkd" ]; then ZKD="$here/../build/zkd"
  elif command -v zkd >/dev/null 2>&1; then ZKD="$(command -v zkd)"
  else echo "zkd binary not found: run 'make build' or set ZKD_BIN" >&2; exit 1
  fi
fi

# cfg_get KEY: the value of KEY in the config file (last one wins).
cfg_get() {
  sed -n "s/^[[:space:]]*$1[[:space:]]*[=:][[:space:]]*//p" "$ZOOCFG" 2>/dev/null | tail -n 1 | tr -d '\r' | sed 's/[[:space:]]*$//'
}

ZOO_DATADIR="$(cfg_get dataDir)"
ZOOPIDFILE="${ZOOPIDFILE:-${ZOO_DATADIR:-/tmp}/zookeeper_server.pid}"
ZOO_LOG_DIR="${ZOO_LOG_DIR:-${ZOO_DATADIR:-.}}"
flags="${SERVER_JVMFLAGS:-} ${JVMFLAGS:-}"

echo "ZooKeeper JMX enabled by default" >&2
echo "Using config: $ZOOCFG" >&2

start_cmd() {
  # shellcheck disable=SC2086
  printf '%q ' "$ZKD" start-foreground $flags "$ZOOCFG"
}

case "$cmd" in
start-foreground)
  # shellcheck disable=SC2086
  exec "$ZKD" start-foreground $flags "$ZOOCFG"
  ;;
start)
  echo -n "Starting zookeeper ... "
  if [ -f "$ZOOPIDFILE" ] && kill -0 "$(cat "$ZOOPIDFILE")" 2>/dev/null; then
    echo "already running as process $(cat "$ZOOPIDFILE")."
    exit 1
  fi
  mkdir -p "$(dirname "$ZOOPIDFILE")" "$ZOO_LOG_DIR"
  # shellcheck disable=SC2086
  nohup "$ZKD" start-foreground $flags "$ZOOCFG" >"$ZOO_LOG_DIR/zookeeper.out" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$ZOOPIDFILE"
  sleep 1
  if kill -0 "$pid" 2>/dev/null; then
    echo STARTED
  else
    echo FAILED TO START
    rm -f "$ZOOPIDFILE"
    exit 1
  fi
  ;;
stop)
  echo -n "Stopping zookeeper ... "
  if [ ! -f "$ZOOPIDFILE" ]; then
    echo "no zookeeper to stop (could not find file $ZOOPIDFILE)"
  else
    pid="$(cat "$ZOOPIDFILE")"
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    rm -f "$ZOOPIDFILE"
    echo STOPPED
  fi
  exit 0
  ;;
restart)
  shift
  "$0" stop "$@"
  sleep 1
  "$0" start "$@"
  ;;
status)
  port="$(cfg_get clientPort)"
  host="$(cfg_get clientPortAddress)"
  host="${host:-localhost}"
  if [ -z "$port" ]; then
    echo "Unable to find client port in $ZOOCFG"
    exit 1
  fi
  echo "Client port found: $port. Client address: $host. Client SSL: false." >&2
  out="$( (exec 3<>"/dev/tcp/$host/$port" && printf srvr >&3 && cat <&3) 2>/dev/null)"
  mode="$(printf '%s\n' "$out" | sed -n 's/^Mode: //p')"
  if [ -z "$mode" ]; then
    echo "Error contacting service. It is probably not running." >&2
    exit 1
  fi
  echo "Mode: $mode"
  ;;
print-cmd)
  start_cmd
  echo
  ;;
*)
  echo "Usage: $0 [--config <conf-dir>] {start|start-foreground|stop|restart|status|print-cmd}" >&2
  exit 1
  ;;
esac
