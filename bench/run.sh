#!/usr/bin/env bash
# Canal vs node-ws echo benchmark, driven by the wsload C load generator.
#
#   bench/run.sh                 # full run (-w 2 -D 10 per measurement)
#   QUICK=1 bench/run.sh         # smoke test (-w 1 -D 3)
#   ROUNDS=3 bench/run.sh        # repeat everything, report medians
#
# Every scenario runs against node-ws and against our server, one server at a
# time, each on a freshly started process (the order alternates between
# rounds). Results go to bench/out/.
# See bench/README.md for the environment variables and what the figures mean.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(dirname "$BENCH_DIR")
OUT_DIR=$BENCH_DIR/out
LOG_DIR=$OUT_DIR/logs
WSLOAD_SRC=${WSLOAD_SRC:-$REPO_DIR/../shared/bench/wsload/wsload.c}
WSLOAD=$OUT_DIR/wsload

if [[ ${QUICK:-0} == 1 ]]; then
  WARMUP=${WARMUP:-1}
  DURATION=${DURATION:-3}
else
  WARMUP=${WARMUP:-2}
  DURATION=${DURATION:-10}
fi
IDLE_CONNS=${IDLE_CONNS:-5000}
PORT_BASE=${PORT_BASE:-28400}           # node uses PORT_BASE, ours PORT_BASE+1
STARTUP_TIMEOUT=${STARTUP_TIMEOUT:-30}  # seconds for a server to accept TCP
SETTLE=${SETTLE:-1}                     # seconds of pause after each server stops
ROUNDS=${ROUNDS:-1}                     # repetitions; the table shows medians
SCENARIOS=${SCENARIOS:-echo64_d1 echo64_d16 echo1m handshake idle}
PIN=${PIN:-0}                           # 1 = server on CPU PIN_SERVER, wsload on PIN_LOAD
PIN_SERVER=${PIN_SERVER:-0}
PIN_LOAD=${PIN_LOAD:-1}
DEFAULT_NODE_CMD='node bench/node-echo.js {PORT}'
DEFAULT_OURS_CMD='.build/release/canal serve --echo-only --host 127.0.0.1 --port {PORT} --threads 1 --no-keepalive --max-message-size 2097152'
DEFAULT_ASYNC_CMD="$DEFAULT_OURS_CMD --async"
NODE_CMD=${NODE_CMD:-$DEFAULT_NODE_CMD}
OURS_CMD=${OURS_CMD:-$DEFAULT_OURS_CMD}
ASYNC_CMD=${ASYNC_CMD:-$DEFAULT_ASYNC_CMD}

# node first; "async" (our echo through the async API) is optional.
read -r -a SERVERS <<<"${SERVERS:-node ours async}"
[[ ${SERVERS[0]:-} == node && ${SERVERS[1]:-} == ours ]] ||
  { echo "run.sh: error: SERVERS must start with 'node ours'" >&2; exit 1; }
PIN_SERVER_CMD=()
PIN_LOAD_CMD=()
if [[ $PIN == 1 ]]; then
  command -v taskset >/dev/null || die "PIN=1 needs taskset (util-linux)"
  PIN_SERVER_CMD=(taskset -c "$PIN_SERVER")
  PIN_LOAD_CMD=(taskset -c "$PIN_LOAD")
fi
declare -A SERVER_CMD=([node]=$NODE_CMD [ours]=$OURS_CMD [async]=$ASYNC_CMD)
declare -A SERVER_PORT=([node]=$PORT_BASE [ours]=$((PORT_BASE + 1)) [async]=$((PORT_BASE + 2)))

declare -A RES=()   # "scenario.server.round.key" -> value from a RESULT line
PROBLEMS=()         # human-readable failures, reported at the end
SERVER_PGID=""      # process group of the running server (setsid), if any
SERVER_PID=""       # pid that owns the listening socket (for --server-pid)
LOAD_PID=""         # running wsload (under timeout), if any

log() { printf '%s\n' "$*" >&2; }
die() { log "run.sh: error: $*"; exit 1; }

# ---------------------------------------------------------------- scenarios

scenario_args() {
  case $1 in
    echo64_d1)  echo "-m echo -c 50 -d 1 -s 64 -w $WARMUP -D $DURATION" ;;
    echo64_d16) echo "-m echo -c 50 -d 16 -s 64 -w $WARMUP -D $DURATION" ;;
    echo1m)     echo "-m echo -c 4 -d 1 -s 1m -b -w $WARMUP -D $DURATION" ;;
    handshake)  echo "-m handshake -c 50 -w $WARMUP -D $DURATION" ;;
    idle)       echo "-m idle -c $IDLE_CONNS -D $DURATION" ;;
    *)          die "unknown scenario '$1'" ;;
  esac
}

# Metrics shown in the table, as key:better (better = higher|lower).
scenario_metrics() {
  case $1 in
    echo64_*)  echo "msgs_per_s:higher p50_us:lower p99_us:lower server_cpu_us_per_msg:lower" ;;
    echo1m)    echo "MB_per_s:higher p50_us:lower p99_us:lower server_cpu_us_per_msg:lower" ;;
    handshake) echo "handshakes_per_s:higher p50_us:lower p99_us:lower server_cpu_us_per_hs:lower" ;;
    idle)      echo "server_kb_per_conn:lower server_rss_kb_before:lower" ;;
  esac
}

# Count of connections wsload should report as open/held, or "" if n/a.
scenario_conns_key() {
  case $1 in
    echo*) echo open ;;
    idle)  echo held ;;
    *)     echo "" ;;
  esac
}

# ---------------------------------------------------------------- setup

build_wsload() {
  mkdir -p "$OUT_DIR" "$LOG_DIR"
  [[ -r $WSLOAD_SRC ]] || die "wsload source not found: $WSLOAD_SRC"
  if [[ -x $WSLOAD && $WSLOAD -nt $WSLOAD_SRC ]]; then
    return
  fi
  log "building $WSLOAD"
  local flags=(-O2 -Wall -Wextra -o "$WSLOAD" "$WSLOAD_SRC")
  if ! gcc "${flags[@]}" -lcrypto -lpthread 2>"$LOG_DIR/wsload-build.log"; then
    log "  (no usable OpenSSL libcrypto, using the built-in SHA-1)"
    gcc "${flags[@]}" -DWSLOAD_NO_OPENSSL -lpthread 2>>"$LOG_DIR/wsload-build.log" ||
      die "wsload build failed, see $LOG_DIR/wsload-build.log"
  fi
  "$WSLOAD" --selftest >"$LOG_DIR/wsload-selftest.log" 2>&1 ||
    die "wsload --selftest failed, see $LOG_DIR/wsload-selftest.log"
}

raise_fd_limit() {
  ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  local limit
  limit=$(ulimit -n)
  if [[ $limit != unlimited ]] && ((limit < IDLE_CONNS + 100)); then
    log "warning: open-file limit is $limit, the idle scenario ($IDLE_CONNS conns) may fail"
  fi
}

check_server_cmd() {
  local name=$1 exe
  read -r exe _ <<<"${SERVER_CMD[$name]}"
  command -v "$exe" >/dev/null ||
    die "$name server: '$exe' not found (from \"${SERVER_CMD[$name]}\"; run from $REPO_DIR)"
}

# ---------------------------------------------------------------- servers

port_accepts() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

listener_pid() {
  ss -Hltnp "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | head -n 1 | cut -d= -f2
}

start_server() {
  local name=$1 port=$2 log=$3
  local cmd=${SERVER_CMD[$name]//"{PORT}"/$port}
  port_accepts "$port" && die "port $port is already in use (set PORT_BASE)"

  # A new session, so the whole process tree can be killed as one group.
  setsid "${PIN_SERVER_CMD[@]}" bash -c "exec $cmd" >"$log" 2>&1 </dev/null &
  SERVER_PGID=$!

  local deadline=$((SECONDS + STARTUP_TIMEOUT))
  until port_accepts "$port"; do
    kill -0 "$SERVER_PGID" 2>/dev/null || die "$name server exited at startup, see $log"
    ((SECONDS < deadline)) || die "$name server not accepting on port $port after ${STARTUP_TIMEOUT}s, see $log"
    sleep 0.1
  done
  SERVER_PID=$(listener_pid "$port")
  SERVER_PID=${SERVER_PID:-$SERVER_PGID}
}

stop_server() {
  [[ -n $SERVER_PGID ]] || return 0
  kill -TERM -- "-$SERVER_PGID" 2>/dev/null || true
  local i
  for ((i = 0; i < 50; i++)); do
    kill -0 -- "-$SERVER_PGID" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL -- "-$SERVER_PGID" 2>/dev/null || true
  wait "$SERVER_PGID" 2>/dev/null || true
  SERVER_PGID=""
  SERVER_PID=""
}

cleanup() {
  if [[ -n $LOAD_PID ]]; then
    kill -TERM "$LOAD_PID" 2>/dev/null || true
    wait "$LOAD_PID" 2>/dev/null || true
  fi
  stop_server
}

# ---------------------------------------------------------------- one run

# Parse the last RESULT line of a log into RES["<run>.key"], run = scenario.server.round.
parse_result() {
  local run=$1 file=$2 line kv
  line=$(grep '^RESULT ' "$file" | tail -n 1) || return 1
  printf '%s\t%s\n' "$run" "$line" >>"$OUT_DIR/results.raw.tsv"
  for kv in ${line#RESULT }; do
    RES["$run.${kv%%=*}"]=${kv#*=}
  done
}

problem() { PROBLEMS+=("$*"); log "  PROBLEM: $*"; }

# Sanity checks on one run: exit status, errors, connections, server alive.
check_run() {
  local scenario=$1 p=$2 rc=$3 key want got
  ((rc == 0)) || problem "$p: wsload exit status $rc (see $LOG_DIR/$p.txt)"
  [[ ${RES[$p.errors]:-x} == 0 ]] || problem "$p: errors=${RES[$p.errors]:-missing}"
  [[ ${RES[$p.connect_failures]:-0} == 0 ]] || problem "$p: connect_failures=${RES[$p.connect_failures]}"
  key=$(scenario_conns_key "$scenario")
  if [[ -n $key ]]; then
    want=${RES[$p.conns]:-?}
    got=${RES[$p.$key]:-missing}
    [[ $got == "$want" ]] || problem "$p: $key=$got of $want connections"
  fi
  kill -0 "$SERVER_PID" 2>/dev/null || problem "$p: server died during the run"
}

run_one() {
  local scenario=$1 server=$2 round=$3
  local port=${SERVER_PORT[$server]} p="$scenario.$server.$round"
  local -a args
  read -r -a args <<<"$(scenario_args "$scenario")"
  # Hard bound: warm-up + measurement + connect/close time + slack.
  local limit=$((WARMUP + DURATION + 60)) rc=0

  start_server "$server" "$port" "$LOG_DIR/$p.server.log"
  timeout -k 5 "$limit" "${PIN_LOAD_CMD[@]}" "$WSLOAD" -p "$port" "${args[@]}" \
    --server-pid "$SERVER_PID" --interval 0 >"$LOG_DIR/$p.txt" 2>&1 &
  LOAD_PID=$!
  wait "$LOAD_PID" || rc=$?
  LOAD_PID=""

  log "  $server: $(grep '^RESULT ' "$LOG_DIR/$p.txt" | tail -n 1 | cut -c8-150)"
  parse_result "$p" "$LOG_DIR/$p.txt" || problem "$p: no RESULT line (exit $rc)"
  check_run "$scenario" "$p" "$rc"
  stop_server
  sleep "$SETTLE"
}

# ---------------------------------------------------------------- report

# Median of one metric over all rounds ("-" if no round produced a number).
median() {
  local scenario=$1 server=$2 key=$3 r
  for ((r = 1; r <= ROUNDS; r++)); do
    echo "${RES[$scenario.$server.$r.$key]:-}"
  done | awk '/^[0-9]+([.][0-9]+)?$/' | sort -g | awk '
    { v[NR] = $1 }
    END {
      if (NR == 0) print "-"
      else if (NR % 2) print v[(NR + 1) / 2]
      else printf "%.6g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

ratio() {
  awk -v o="$1" -v n="$2" 'BEGIN {
    num = "^[0-9]+([.][0-9]+)?$"
    if (o !~ num || n !~ num || n + 0 == 0) print "n/a"; else printf "%.2f\n", o / n }'
}

has_async() { [[ " ${SERVERS[*]} " == *" async "* ]]; }

write_report() {
  local tsv=$OUT_DIR/results.tsv scenario m key better node ours async
  # The first five columns stay as they were without the async server (bench/floor reads them).
  if has_async; then
    printf 'metric\tnode\tours\tratio_ours_over_node\tbetter\tasync\tratio_async_over_node\tratio_async_over_ours\n' >"$tsv"
  else
    printf 'metric\tnode\tours\tratio_ours_over_node\tbetter\n' >"$tsv"
  fi
  for scenario in $SCENARIOS; do
    for m in $(scenario_metrics "$scenario"); do
      key=${m%%:*} better=${m#*:}
      node=$(median "$scenario" node "$key")
      ours=$(median "$scenario" ours "$key")
      printf '%s\t%s\t%s\t%s\t%s' "$scenario.$key" "$node" "$ours" "$(ratio "$ours" "$node")" "$better" >>"$tsv"
      if has_async; then
        async=$(median "$scenario" async "$key")
        printf '\t%s\t%s\t%s' "$async" "$(ratio "$async" "$node")" "$(ratio "$async" "$ours")" >>"$tsv"
      fi
      printf '\n' >>"$tsv"
    done
  done

  echo
  echo "ours = canal serve --echo-only (event-loop handler); async = the same with --async (the"
  echo "README's for-await loop). ratio = ours/node; async/node and async/ours likewise. 'better' gives the good direction: for throughput (msgs_per_s,"
  echo "MB_per_s, handshakes_per_s) higher is better; for latency (p50/p99 us), server CPU-us"
  echo "per message/handshake and memory (server_kb_per_conn, RSS) LOWER is better."
  echo "warm-up ${WARMUP}s, measure ${DURATION}s, idle conns $IDLE_CONNS, rounds $ROUNDS (medians);"
  if [[ $PIN == 1 ]]; then
    echo "pinned: servers on CPU $PIN_SERVER, wsload on CPU $PIN_LOAD;"
  fi
  echo "load average before: $LOAD_BEFORE, after: $(load_avg)"
  echo
  {
    if has_async; then
      printf 'metric\tnode\tours\tratio\tbetter\tasync\tasync/node\tasync/ours\n'
    else
      printf 'metric\tnode\tours\tratio\tbetter\n'
    fi
    tail -n +2 "$tsv"
  } | column -t -s $'\t'
  echo
  echo "results: $tsv   logs: $LOG_DIR/"
}

load_avg() { cut -d' ' -f1-3 /proc/loadavg; }

# ---------------------------------------------------------------- main

main() {
  cd "$REPO_DIR"
  trap cleanup EXIT
  trap 'exit 130' INT TERM

  local server scenario round
  local -a order
  for server in "${SERVERS[@]}"; do check_server_cmd "$server"; done
  for scenario in $SCENARIOS; do scenario_args "$scenario" >/dev/null; done
  build_wsload
  raise_fd_limit

  rm -f "$OUT_DIR/results.tsv" "$OUT_DIR/results.raw.tsv" "$LOG_DIR"/*.txt "$LOG_DIR"/*.server.log
  LOAD_BEFORE=$(load_avg)
  for ((round = 1; round <= ROUNDS; round++)); do
    order=("${SERVERS[@]}")
    if ((round % 2 == 0)); then
      local i
      order=()
      for ((i = ${#SERVERS[@]} - 1; i >= 0; i--)); do order+=("${SERVERS[i]}"); done
    fi
    for scenario in $SCENARIOS; do
      log "== round $round/$ROUNDS $scenario: $(scenario_args "$scenario")"
      for server in "${order[@]}"; do
        run_one "$scenario" "$server" "$round"
      done
    done
  done

  write_report
  if ((${#PROBLEMS[@]} > 0)); then
    echo
    echo "PROBLEMS (${#PROBLEMS[@]}):"
    printf '  %s\n' "${PROBLEMS[@]}"
    exit 1
  fi
}

main "$@"
