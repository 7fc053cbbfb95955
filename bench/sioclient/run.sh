#!/usr/bin/env bash
# bench/sioclient: our Socket.IO client beside python-socketio's, receiving from our server.
# Build first: swift build -c release --product canal --product canal-sio-testclient
set -euo pipefail
cd "$(dirname "$0")/../.."
exec "${PYTHON:-.venv/bin/python}" bench/sioclient/run.py "$@"
