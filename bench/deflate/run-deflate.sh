#!/bin/bash
# permessage-deflate benchmark: Canal (release `canal serve --echo-only --compression PRESET`) beside Node's ws
# with perMessageDeflate on. One server at a time, one event-loop thread each, load from a Node ws
# client (deflate-load.js). Usage: run-deflate.sh CANAL_BIN [CONNS_MEMORY] [CONNS_RATE] [SECONDS]
# Environment: MODES ("memory rate" by default; "memory" alone is quick and its figures are
# stable, throughput on a busy machine is not), REPEAT (runs of each, default 1), SERVERS
# (which of "node-ws balanced low-memory maximum off" to run; default all).
set -u
CANAL=$1; MEMCONNS=${2:-2000}; RATECONNS=${3:-32}; SECONDS_=${4:-10}
MODES=${MODES:-memory rate}; REPEAT=${REPEAT:-1}; SERVERS=${SERVERS:-node-ws balanced low-memory maximum off}
wanted() { [[ " $SERVERS " == *" $1 "* ]]; }
DIR=$(cd "$(dirname "$0")" && pwd)
LOGS=$DIR/../out/deflate
mkdir -p "$LOGS"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
run() { # name, command with {PORT}
  local name=$1 cmd=$2 mode
  for mode in $MODES; do for _ in $(seq "$REPEAT"); do
    local port; port=$(free_port)
    local c=${cmd//\{PORT\}/$port}
    setsid bash -c "exec $c" > "$LOGS/$name.$mode.server.log" 2>&1 &
    local pid=$!
    for _ in $(seq 100); do (echo > /dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
    if [ $mode = memory ]; then
      timeout 120 node "$DIR/deflate-load.js" memory $port $pid $MEMCONNS | sed "s/^RESULT/$name/"
    else
      timeout 120 node "$DIR/deflate-load.js" rate $port $pid $RATECONNS $SECONDS_ | sed "s/^RESULT/$name/"
    fi
    kill -TERM -- -$pid 2>/dev/null; sleep 0.5; kill -KILL -- -$pid 2>/dev/null; wait $pid 2>/dev/null; sleep 1
  done; done
}
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
wanted node-ws && run node-ws "node $DIR/node-deflate-echo.js {PORT}"
for preset in balanced low-memory maximum; do
  wanted $preset && run canal-$preset "$CANAL serve --echo-only --host 127.0.0.1 --port {PORT} --threads 1 --no-keepalive --compression $preset --compression-threshold 0"
done
wanted off && run canal-off "$CANAL serve --echo-only --host 127.0.0.1 --port {PORT} --threads 1 --no-keepalive"
exit 0
