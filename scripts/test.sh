#!/usr/bin/env bash
# Runs every test Canal has, on a fresh machine: installs what the tests need,
# builds, runs the Swift unit and loopback tests, then the interop and Autobahn
# conformance suites against independent peers (python websockets, kosoku).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "System packages (tmux, openssl, chromium, chromium-driver)"
missing=()
command -v tmux >/dev/null || missing+=(tmux)
command -v openssl >/dev/null || missing+=(openssl)
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq && apt-get install -y -qq "${missing[@]}"
fi

step "Python test dependencies"
python3 -m pip install --quiet --disable-pip-version-check -r Tests/interop/requirements.txt -r Tests/cli/requirements.txt -r Tests/web/requirements.txt

step "Build (debug)"
swift build --build-tests

step "Swift tests"
swift test --skip-build

step "Interop and Autobahn conformance (pytest)"
export CANAL_BIN_DIR="$PWD/.build/debug"
export SWIFT_BACKTRACE="${SWIFT_BACKTRACE:-enable=no}"
python3 -m pytest Tests/interop

step "The canal command (pytest, with tmux)"
python3 -m pytest Tests/cli

step "Web server: HTTP, TLS and a headless Chromium (pytest)"
python3 -m pytest Tests/web
