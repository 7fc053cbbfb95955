#!/usr/bin/env bash
# Static files over HTTP/1.1 keep-alive: `canal serve` (the demo site) against Node's `http` module,
# both serving the same files, loaded by wrk one server at a time. Figures are ratios
# ours/node.
#
#   bench/http/run.sh                 # 10 s per measurement
#   QUICK=1 bench/http/run.sh         # 3 s per measurement
#   ROUNDS=3 bench/http/run.sh        # repeat, report medians
#
# Environment: OURS_BIN (default .build/release/canal), OURS_THREADS (1, like
# Node's single thread), CONNECTIONS (32), WRK_THREADS (1), SIZES (bytes of each file,
# default "4096 65536"), PORT_BASE (28500: node there, ours +1).
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$BENCH_DIR/../.." && pwd)
OUT_DIR=$REPO_DIR/bench/out/http   # bench/out/ is ignored by git
SITE_DIR=$OUT_DIR/site
cd "$REPO_DIR"

OURS_BIN=${OURS_BIN:-.build/release/canal}
OURS_THREADS=${OURS_THREADS:-1}
CONNECTIONS=${CONNECTIONS:-32}
WRK_THREADS=${WRK_THREADS:-1}
SIZES=${SIZES:-4096 65536}
PORT_BASE=${PORT_BASE:-28500}
ROUNDS=${ROUNDS:-1}
if [[ ${QUICK:-0} == 1 ]]; then DURATION=${DURATION:-3}; else DURATION=${DURATION:-10}; fi
WARMUP=${WARMUP:-1}

die() { echo "run.sh: $*" >&2; exit 1; }
command -v wrk >/dev/null || die "wrk is missing (apt-get install -y wrk)"
command -v node >/dev/null || die "node is missing"
[[ -x $OURS_BIN ]] || die "$OURS_BIN is missing: swift build -c release --product canal"

mkdir -p "$SITE_DIR" "$OUT_DIR/logs"
for size in $SIZES; do
  head -c "$size" /dev/urandom > "$SITE_DIR/file-$size.bin"
done

SERVER_PID=""
stop_server() {
  if [[ -n $SERVER_PID ]]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
  fi
}
trap stop_server EXIT

start_server() {  # name port
  local name=$1 port=$2
  case $name in
    node) node "$BENCH_DIR/node-static.js" "$port" "$SITE_DIR" >"$OUT_DIR/logs/$name.log" 2>&1 & ;;
    ours) "$OURS_BIN" serve --host 127.0.0.1 --port "$port" --public "$SITE_DIR" --threads "$OURS_THREADS" \
            --no-access-log --log-level warning >"$OUT_DIR/logs/$name.log" 2>&1 & ;;
  esac
  SERVER_PID=$!
  for _ in $(seq 1 100); do
    if curl -s --noproxy '*' -o /dev/null "http://127.0.0.1:$port/file-$(echo $SIZES | cut -d' ' -f1).bin"; then return 0; fi
    sleep 0.1
  done
  die "$name did not start on port $port"
}

cpu_ticks() {  # utime + stime of the server, in clock ticks
  awk '{print $14 + $15}' "/proc/$1/stat"
}

# One wrk run; prints "requests_per_s p50_ms p99_ms cpu_us_per_request".
measure() {  # name port size
  local name=$1 port=$2 size=$3 url="http://127.0.0.1:$2/file-$3.bin"
  wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" "$url" >/dev/null
  local before; before=$(cpu_ticks "$SERVER_PID")
  local report; report=$(wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency "$url")
  local after; after=$(cpu_ticks "$SERVER_PID")
  echo "$report" >"$OUT_DIR/logs/$name.$size.wrk.txt"
  if grep -q "Non-2xx\|Socket errors" <<<"$report"; then
    echo "run.sh: $name reported errors for $size bytes:" >&2
    grep "Non-2xx\|Socket errors" <<<"$report" >&2
  fi
  local rps; rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$report")
  local requests; requests=$(awk '/requests in/ {print $1}' <<<"$report")
  local p50; p50=$(awk '$1 == "50%" {print $2}' <<<"$report")
  local p99; p99=$(awk '$1 == "99%" {print $2}' <<<"$report")
  local hz; hz=$(getconf CLK_TCK)
  local cpu; cpu=$(awk -v t=$((after - before)) -v hz="$hz" -v n="$requests" 'BEGIN {printf "%.1f", t * 1e6 / hz / n}')
  echo "$rps $(to_ms "$p50") $(to_ms "$p99") $cpu"
}

to_ms() {  # wrk prints 1.23ms, 456.00us or 1.20s
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
    else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.3f", v * 1000 }
    else printf "%s", v }'
}

declare -A RESULT=()
for round in $(seq 1 "$ROUNDS"); do
  order=(node ours)
  (( round % 2 == 0 )) && order=(ours node)
  for name in "${order[@]}"; do
    port=$PORT_BASE
    [[ $name == ours ]] && port=$((PORT_BASE + 1))
    start_server "$name" "$port"
    for size in $SIZES; do
      RESULT[$name.$size.$round]=$(measure "$name" "$port" "$size")
    done
    stop_server
    sleep 1
  done
done

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

printf '%-28s %12s %12s %8s  %s\n' metric node ours ratio better | tee "$OUT_DIR/results.txt"
for size in $SIZES; do
  for index in 1 2 3 4; do
    case $index in
      1) metric="req_per_s" better=higher ;;
      2) metric="p50_ms" better=lower ;;
      3) metric="p99_ms" better=lower ;;
      4) metric="server_cpu_us_per_req" better=lower ;;
    esac
    node_value=$(for r in $(seq 1 "$ROUNDS"); do echo "${RESULT[node.$size.$r]}" | cut -d' ' -f$index; done | median)
    ours_value=$(for r in $(seq 1 "$ROUNDS"); do echo "${RESULT[ours.$size.$r]}" | cut -d' ' -f$index; done | median)
    ratio=$(awk -v a="$ours_value" -v b="$node_value" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "-"}')
    printf '%-28s %12s %12s %8s  %s\n' "${metric}_${size}B" "$node_value" "$ours_value" "$ratio" "$better" \
      | tee -a "$OUT_DIR/results.txt"
  done
done
echo "(ours: $OURS_BIN --threads $OURS_THREADS; wrk -t$WRK_THREADS -c$CONNECTIONS -d${DURATION}s; $ROUNDS round(s))" \
  | tee -a "$OUT_DIR/results.txt"
