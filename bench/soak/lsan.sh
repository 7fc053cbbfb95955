#!/usr/bin/env bash
# The Swift test suite under AddressSanitizer with LeakSanitizer: builds every test
# target with -sanitize=address in its own scratch path (.build-asan, so the normal build
# is untouched), runs them, and counts the leak reports. Exits 1 on any leak or failure.
#
#   bench/soak/lsan.sh                   every test
#   bench/soak/lsan.sh --filter Keepalive
#
# The Swift toolchain ships the sanitizer runtimes; Debian's clang runtime
# (libclang-rt-14-dev) is an alternative for runtimes the toolchain lacks.
set -euo pipefail
cd "$(dirname "$0")/../.."
scratch=.build-asan
mkdir -p bench/out/soak
log=bench/out/soak/lsan.log

swift build --build-tests --scratch-path "$scratch" -Xswiftc -sanitize=address >"$log.build" 2>&1 ||
    { tail -30 "$log.build"; exit 1; }
set +e
ASAN_OPTIONS="detect_leaks=1:halt_on_error=0:abort_on_error=0" \
    LSAN_OPTIONS="report_objects=0:max_leaks=30" \
    SWIFT_BACKTRACE=enable=no \
    swift test --scratch-path "$scratch" --skip-build "$@" >"$log" 2>&1
status=$?
set -e
leaks=$(grep -c "ERROR: LeakSanitizer" "$log" || true)
asan=$(grep -c "ERROR: AddressSanitizer" "$log" || true)
grep -E "^(✔|✘|􁁛|􀢄).*(Test run|tests? in)|Executed [0-9]+ tests" "$log" | tail -3 || true
echo "LeakSanitizer reports: $leaks; AddressSanitizer errors: $asan; swift test exit status $status (log: $log)"
[ "$leaks" -eq 0 ] && [ "$asan" -eq 0 ] && [ "$status" -eq 0 ]
