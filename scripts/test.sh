#!/usr/bin/env bash
# Runs every test Canal has, on a fresh machine: installs what the tests need (Debian
# packages from scripts/debian-packages.txt, Python packages into a virtual environment
# at .venv), builds, runs the Swift unit and loopback tests, then every Python suite under
# Tests/ (interop and Autobahn conformance, the CLI, the web server, Socket.IO, ...).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "System packages (scripts/debian-packages.txt)"
# One line per package: "package" or "package command" (installed when the command is
# missing, or when dpkg does not know the package).
missing=()
while read -r package command _; do
    [ -n "$package" ] && [ "${package#\#}" = "$package" ] || continue
    if [ -n "${command:-}" ]; then
        command -v "$command" >/dev/null && continue
    else
        dpkg -s "$package" >/dev/null 2>&1 && continue
    fi
    missing+=("$package")
done < scripts/debian-packages.txt
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

step "Python test dependencies (virtual environment .venv)"
# Debian's and Ubuntu's system Python refuse pip installs ("externally managed
# environment"), so the test peers live in a virtual environment of our own, reused.
[ -x .venv/bin/python ] || python3 -m venv .venv
requirements=()
for file in Tests/*/requirements.txt; do requirements+=(-r "$file"); done
.venv/bin/python -m pip install --quiet --disable-pip-version-check "${requirements[@]}"
export PATH="$PWD/.venv/bin:$PATH"

step "Build (debug)"
swift build --build-tests

step "Swift tests"
swift test --skip-build

step "Fuzz targets (libFuzzer + AddressSanitizer, a fixed number of inputs each; bench/fuzz/README.md)"
# Replays the stored crash reproducers, then each target's seeds and corpus, then new
# inputs: a parser that regressed crashes here. A debug build: the optimiser's time (about
# six minutes of a clean clone's run) buys nothing for a few thousand inputs; long fuzzing
# runs use bench/fuzz/run.sh --time N, optimised.
bench/fuzz/run.sh --debug --runs "${FUZZ_RUNS:-5000}"

export CANAL_BIN_DIR="$PWD/.build/debug"
export SWIFT_BACKTRACE="${SWIFT_BACKTRACE:-enable=no}"
# Every folder of Tests/ that holds pytest files is a suite; interop (the longest) first.
suites=(Tests/interop)
for dir in Tests/*/; do
    dir=${dir%/}
    [ "$dir" = Tests/interop ] && continue
    compgen -G "$dir/test_*.py" >/dev/null && suites+=("$dir")
done
for suite in "${suites[@]}"; do
    step "pytest $suite"
    .venv/bin/python -m pytest "$suite"
done
