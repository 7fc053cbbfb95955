#!/usr/bin/env bash
# Where is the floor? Runs bench/run.sh once per probe, each paired with node-ws:
#
#   floor-echo  the least a C server can do with epoll (bench/floor/floor-echo.c)
#   nio-floor   the least a SwiftNIO handler can do (bench/floor/nio/)
#   nio-floor-batch  the same, flushing once per event-loop round as Canal does
#   canal       our server, as bench/run.sh runs it
#
#   bench/floor/run.sh                          # echo64_d1, one round each
#   PIN=1 ROUNDS=3 bench/floor/run.sh           # what the README reports
#   SCENARIOS="echo64_d1 echo64_d16" bench/floor/run.sh
#
# Every variable of bench/run.sh applies. Tables go to bench/out/floor/.
set -euo pipefail

FLOOR_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$FLOOR_DIR/../.." && pwd)
OUT_DIR=$REPO_DIR/bench/out/floor
PROBES=${PROBES:-floor-echo nio-floor nio-floor-batch canal}
export SCENARIOS=${SCENARIOS:-echo64_d1}

cd "$REPO_DIR"
mkdir -p "$OUT_DIR"

declare -A PROBE_CMD=(
  [floor-echo]="bench/out/floor-echo {PORT}"
  [nio-floor]="bench/floor/nio/.build/release/nio-floor {PORT}"
  [nio-floor-batch]="bench/floor/nio/.build/release/nio-floor {PORT} --batch"
  [canal]=""
)

for probe in $PROBES; do
  case $probe in
    floor-echo)
      gcc -O2 -Wall -Wextra -o bench/out/floor-echo "$FLOOR_DIR/floor-echo.c" -lcrypto ;;
    nio-floor | nio-floor-batch)
      swift build -c release --package-path "$FLOOR_DIR/nio" >&2 ;;
    canal)
      swift build -c release --product canal >&2 ;;
    *)
      echo "floor/run.sh: unknown probe '$probe' (floor-echo, nio-floor, nio-floor-batch, canal)" >&2
      exit 2 ;;
  esac
done

for probe in $PROBES; do
  echo "== $probe against node-ws" >&2
  # An empty OURS_CMD (canal) leaves bench/run.sh on its own default.
  SERVERS="node ours" OURS_CMD=${PROBE_CMD[$probe]} bench/run.sh >"$OUT_DIR/$probe.txt"
  cp bench/out/results.tsv "$OUT_DIR/$probe.tsv"
done

echo
printf 'probe\tmetric\tnode\tprobe\tratio\n' >"$OUT_DIR/summary.tsv"
for probe in $PROBES; do
  awk -v p="$probe" -F'\t' 'NR > 1 && $1 ~ /msgs_per_s|cpu_us|kb_per_conn/ { print p "\t" $1 "\t" $2 "\t" $3 "\t" $4 }' \
    "$OUT_DIR/$probe.tsv" >>"$OUT_DIR/summary.tsv"
done
column -t -s $'\t' "$OUT_DIR/summary.tsv"
echo
echo "ratio = probe/node (msgs/s: higher is better; CPU us per message: lower is better)."
echo "full tables: $OUT_DIR/"
