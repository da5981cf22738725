#!/usr/bin/env bash
# Builds the fuzz targets (tests/fuzz) and runs each for FUZZ_SECONDS; see
# docs/fuzzing.md. Used by `make fuzz` and CI.
#
#   FUZZ_SECONDS  seconds per target (default 60; 600 is the long run)
#   FUZZ_JOBS     targets fuzzed at once (default: the number of cores)
#   FUZZ_TARGETS  which targets (default: all of them)
#   FUZZ_BUILD_DIR  cargo's target dir for the build (default:
#                 target/fuzz/build; CI keeps it outside the checkout)
#
# The committed seeds (tests/fuzz/corpus/<target>) are only read: what the
# fuzzer finds goes to target/fuzz/corpus/<target>, which later runs start
# from too. A crash leaves its input in target/fuzz/artifacts/<target>/
# and fails the run, after every target had its turn.
set -euo pipefail
cd "$(dirname "$0")/../.."

FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_JOBS=${FUZZ_JOBS:-$(nproc)}
ALL_TARGETS="json_patch config_normalize identity_traits keto_params tenant_host webhook_jsonnet nul_scanner"
FUZZ_TARGETS=${FUZZ_TARGETS:-$ALL_TARGETS}
scratch=target/fuzz
build_dir=${FUZZ_BUILD_DIR:-$scratch/build}
bin_dir=$build_dir/x86_64-unknown-linux-gnu/release

# cargo-fuzz needs a nightly compiler (the sanitizer-coverage flags).
if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    echo "installing the nightly toolchain"
    RUSTUP_AUTO_INSTALL=1 rustup toolchain install nightly --profile minimal
fi
if ! command -v cargo-fuzz >/dev/null 2>&1; then
    echo "installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

# No sanitizer: the code under test is safe Rust (unsafe_code is forbidden
# in the workspace), so what a run looks for is a panic or a failed
# invariant; ASan would only slow it down. Release with debug assertions
# and overflow checks (cargo-fuzz's default), 16 codegen units instead of
# cargo-fuzz's 1: the dependency tree is large and the build is most of the
# stage's time; which crates are optimized is set in tests/fuzz/Cargo.toml.
started=$(date +%s)
cargo +nightly fuzz build --fuzz-dir tests/fuzz -s none --debug-assertions \
    --codegen-units 16 --target-dir "$build_dir"
echo "fuzz targets built in $(($(date +%s) - started)) s"

run_target() {
    local target=$1
    local log=$scratch/logs/$target.log
    mkdir -p "$scratch/corpus/$target" "$scratch/artifacts/$target" "$scratch/logs"
    # -timeout: one input running this long is a hang, reported as a crash.
    if "$bin_dir/$target" "$scratch/corpus/$target" "tests/fuzz/corpus/$target" \
        -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$scratch/artifacts/$target/" -print_final_stats=1 \
        >"$log" 2>&1; then
        echo "ok" >"$scratch/logs/$target.status"
    else
        echo "failed" >"$scratch/logs/$target.status"
    fi
}

rm -f "$scratch"/logs/*.status
running=0
for target in $FUZZ_TARGETS; do
    run_target "$target" &
    running=$((running + 1))
    if [ "$running" -ge "$FUZZ_JOBS" ]; then
        wait -n
        running=$((running - 1))
    fi
done
wait

failed=""
printf '%-18s %-7s %10s %10s %8s\n' target result execs execs/s cov
for target in $FUZZ_TARGETS; do
    log=$scratch/logs/$target.log
    status=$(cat "$scratch/logs/$target.status" 2>/dev/null || echo failed)
    runs=$(awk '/stat::number_of_executed_units:/ { print $2 }' "$log" | tail -n 1)
    speed=$(awk '/stat::average_exec_per_sec:/ { print $2 }' "$log" | tail -n 1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
    printf '%-18s %-7s %10s %10s %8s\n' "$target" "$status" "${runs:--}" "${speed:--}" "${cov:--}"
    if [ "$status" != ok ]; then
        failed="$failed $target"
    fi
done
if [ -n "$failed" ]; then
    for target in $failed; do
        echo "== $target failed; the end of its log ($scratch/logs/$target.log):"
        tail -n 60 "$scratch/logs/$target.log"
        echo "reproduce: $bin_dir/$target $scratch/artifacts/$target/<file>"
    done
    echo "fuzzing failed:$failed"
    exit 1
fi
