#!/usr/bin/env bash
# Builds the fuzz targets (Tests/Fuzz, libFuzzer + AddressSanitizer, scratch path
# .build-fuzz) and runs each one, then prints executions, coverage and crashes per target.
#
#   bench/fuzz/run.sh --time 600            every target for 10 minutes
#   bench/fuzz/run.sh --runs 20000          every target for a fixed number of inputs
#   bench/fuzz/run.sh --debug --runs 5000   unoptimised, quicker to build (CI): a smoke run
#   bench/fuzz/run.sh --time 60 FuzzEnginePayload FuzzSocketIOPacket
#
# Before fuzzing, each target replays the reproducers under Tests/Fuzz/Regressions/<target>/
# (inputs that once crashed it). The corpus grows in .build-fuzz/corpus/<target> from one
# run to the next; crashing inputs are saved in .build-fuzz/artifacts/<target>/.
# Exits 1 when any target crashed. Run it under the shared lock on a shared machine.
set -euo pipefail
cd "$(dirname "$0")/../.."

mode=time
amount=60
build=1
configuration=release
targets=()
while [ $# -gt 0 ]; do
    case "$1" in
    --time) mode=time amount=$2; shift 2 ;;
    --runs) mode=runs amount=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --debug) configuration=debug; shift ;;
    -h | --help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
    esac
done

scratch=.build-fuzz
if [ ${#targets[@]} -eq 0 ]; then
    for dir in Tests/Fuzz/Sources/Fuzz*/; do
        name=$(basename "$dir")
        [ "$name" = FuzzSupport ] || targets+=("$name")
    done
fi

if [ "$build" = 1 ]; then
    echo "==> building ${#targets[@]} fuzz targets ($configuration, -sanitize=fuzzer,address)"
    mkdir -p "$scratch"
    started=$(date +%s)
    swift build --package-path Tests/Fuzz --scratch-path "$scratch" -c "$configuration" \
        -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -enable-testing \
        >"$scratch/build.log" 2>&1 || { tail -40 "$scratch/build.log"; exit 1; }
    echo "    built in $(($(date +%s) - started)) s"
fi
bin="$scratch/$configuration"

python3 bench/fuzz/seeds.py "$scratch/seeds" >/dev/null

# Leaks are checked by the LeakSanitizer run of the test suite; here a leak report would
# stop a target on the runtime's own one-time allocations.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}"
# A failed fuzzCheck stops the target with fatalError; Swift's own backtracer then trips
# AddressSanitizer and buries the message. libFuzzer's report is enough.
export SWIFT_BACKTRACE=enable=no

failed=0
printf '\n%-24s %12s %9s %8s %10s %8s %8s\n' target executions exec/s cov features corpus crashes
for target in "${targets[@]}"; do
    corpus="$scratch/corpus/$target"
    artifacts="$scratch/artifacts/$target"
    log="$scratch/logs/$target.log"
    mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
    status=ok
    regressions=(Tests/Fuzz/Regressions/"$target"/*)
    if [ -e "${regressions[0]}" ]; then
        if ! "$bin/$target" "${regressions[@]}" >"$log.regressions" 2>&1; then
            status="regression crashed (see $log.regressions)"
        fi
    fi
    if [ "$mode" = time ]; then limit=(-max_total_time="$amount"); else limit=(-runs="$amount"); fi
    before=$(ls "$artifacts" | wc -l)
    if ! "$bin/$target" "$corpus" "$scratch/seeds/$target" "${limit[@]}" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$artifacts/" >"$log" 2>&1; then
        status="crashed (see $log)"
    fi
    new=$(($(ls "$artifacts" | wc -l) - before))
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
    size=$(ls "$corpus" | wc -l)
    printf '%-24s %12s %9s %8s %10s %8s %8s  %s\n' "$target" "${runs:-?}" "${speed:-?}" "${cov:-?}" "${ft:-?}" "$size" "$new" \
        "$([ "$status" = ok ] || echo "$status")"
    [ "$status" = ok ] && [ "$new" -eq 0 ] || failed=1
done
exit $failed
