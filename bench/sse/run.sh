#!/usr/bin/env bash
# Fan-out to 1,000 subscribers: server-sent events from Canal, beside the same fan-out over
# Canal's WebSocket and beside SSE served by hand with Node's `http`, as ratios.
# See bench/sse/README.md. Usage (from anywhere):  bench/sse/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO_DIR=$PWD

OUT_DIR=${OUT_DIR:-$REPO_DIR/bench/out/sse}
LOG_DIR=$OUT_DIR/logs
OURS=${OURS:-$REPO_DIR/.build/release/canal-sse-testserver}
NODE=${NODE:-node}
WSLOAD_SRC=${WSLOAD_SRC:-$REPO_DIR/../shared/bench/wsload/wsload.c}
CONNS=${CONNS:-1000}
RATES=${RATES:-"50 200"}          # events published per second, each to every subscriber
PAYLOAD=${PAYLOAD:-64}            # bytes of data per event (a timestamp, then padding)
WARMUP=${WARMUP:-2}
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-1}
PORT=${PORT:-28600}
THREADS=${THREADS:-1}             # our event loops; Node has one

mkdir -p "$LOG_DIR"
[ -x "$OURS" ] || { echo "missing $OURS: run 'swift build -c release --product canal-sse-testserver'" >&2; exit 2; }
command -v "$NODE" >/dev/null || { echo "missing node (apt-get install nodejs)" >&2; exit 2; }
ulimit -n 20000

gcc -O2 -Wall -o "$OUT_DIR/sseload" bench/sse/sseload.c -lm
if ! gcc -O2 -o "$OUT_DIR/wsload" "$WSLOAD_SRC" -lcrypto -lpthread 2>"$LOG_DIR/wsload-build.log"; then
  gcc -O2 -DWSLOAD_NO_OPENSSL -o "$OUT_DIR/wsload" "$WSLOAD_SRC" -lpthread
fi
"$OUT_DIR/wsload" --selftest >/dev/null

SERVER_PID=""
cleanup() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true; }
trap cleanup EXIT

start_server() { # name rate
  case $1 in
    ours-sse|ours-ws)
      "$OURS" --port "$PORT" --rate "$2" --payload "$PAYLOAD" --threads "$THREADS" --heartbeat 0 \
        >"$LOG_DIR/$1.r$2.server.log" 2>&1 & ;;
    node-sse)
      "$NODE" bench/sse/node-sse.js "$PORT" "$2" "$PAYLOAD" >"$LOG_DIR/$1.r$2.server.log" 2>&1 & ;;
  esac
  SERVER_PID=$!
  for _ in $(seq 100); do
    (exec 3<>/dev/tcp/127.0.0.1/"$PORT") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "server $1 did not start" >&2; exit 1
}

stop_server() {
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
  sleep 1
}

# Prints: events_per_s p50_us p99_us server_cpu_us_per_event problems
measure() { # name rate round
  local name=$1 rate=$2 log="$LOG_DIR/$1.r$2.$3.txt" line status=0
  start_server "$name" "$rate"
  if [ "$name" = ours-ws ]; then
    timeout $((WARMUP + DURATION + 60)) "$OUT_DIR/wsload" -m broadcast -p "$PORT" --path /bench/ws -c "$CONNS" \
      -w "$WARMUP" -D "$DURATION" --server-pid "$SERVER_PID" --latency on -q >"$log" 2>&1 || status=$?
    line=$(grep '^RESULT' "$log" | tail -1)
    stop_server
    awk -v s=$status '{for(i=2;i<=NF;i++){split($i,kv,"=");v[kv[1]]=kv[2]}}
      END{p=(s!=0||v["errors"]>0||v["drops"]>0||v["open"]<v["conns"])?"PROBLEM":"ok";
          print v["msgs_per_s"], v["p50_us"], v["p99_us"], v["server_cpu_us_per_msg"], p}' <<<"$line"
  else
    timeout $((WARMUP + DURATION + 60)) "$OUT_DIR/sseload" -p "$PORT" --path /feed -c "$CONNS" \
      -w "$WARMUP" -D "$DURATION" --server-pid "$SERVER_PID" --check -q >"$log" 2>&1 || status=$?
    line=$(grep '^RESULT' "$log" | tail -1)
    stop_server
    awk -v s=$status '{for(i=2;i<=NF;i++){split($i,kv,"=");v[kv[1]]=kv[2]}}
      END{p=(s!=0)?"PROBLEM":"ok"; print v["events_per_s"], v["p50_us"], v["p99_us"], v["server_cpu_us_per_event"], p}' <<<"$line"
  fi
}

RESULTS=$OUT_DIR/results.tsv
printf 'rate\tround\tserver\tevents_per_s\tp50_us\tp99_us\tserver_cpu_us_per_event\tcheck\n' >"$RESULTS"
for rate in $RATES; do
  for round in $(seq "$ROUNDS"); do
    for name in ours-sse ours-ws node-sse; do
      read -r eps p50 p99 cpu check < <(measure "$name" "$rate" "$round")
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$rate" "$round" "$name" "$eps" "$p50" "$p99" "$cpu" "$check" >>"$RESULTS"
      echo "rate $rate round $round $name: $eps events/s, p50 $p50 us, p99 $p99 us, $cpu CPU us/event ($check)" >&2
    done
  done
done

python3 - "$RESULTS" "$CONNS" <<'PY'
import statistics, sys
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1])][1:]
conns = sys.argv[2]
def median(rate, server, column):
    values = [float(r[column]) for r in rows if r[0] == rate and r[2] == server and r[column] not in ("", "na")]
    return statistics.median(values) if values else float("nan")
metrics = [("events_per_s", 3, "higher"), ("p50_us", 4, "lower"), ("p99_us", 5, "lower"),
           ("server_cpu_us_per_event", 6, "lower")]
print(f"SSE fan-out to {conns} subscribers (medians); ratios below 1 are better for 'lower' metrics")
print(f"{'rate/s':>7} {'metric':<24} {'ours-sse':>10} {'ours-ws':>10} {'node-sse':>10} {'sse/node':>9} {'sse/ws':>8}  better")
for rate in sorted({r[0] for r in rows}, key=float):
    for name, column, better in metrics:
        sse, ws, node = (median(rate, s, column) for s in ("ours-sse", "ours-ws", "node-sse"))
        print(f"{rate:>7} {name:<24} {sse:>10.2f} {ws:>10.2f} {node:>10.2f} {sse / node:>9.2f} {sse / ws:>8.2f}  {better}")
problems = [r for r in rows if r[7] != "ok"]
if problems:
    print("PROBLEMS:", *("\t".join(r) for r in problems), sep="\n")
    sys.exit(1)
PY
