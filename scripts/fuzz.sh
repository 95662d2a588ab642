#!/usr/bin/env bash
# Bounded coverage-guided fuzzing of rhttpd's parsers (fuzz/fuzz_targets/*.rs) with
# libFuzzer, on stable Rust: the libfuzzer-sys crate builds libFuzzer with the C++
# compiler, and rustc's stable `-C passes=sancov-module` flags instrument the code (what
# cargo-fuzz does, without its nightly-only sanitizer flags).
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]      default: 20 s, every target
#   scripts/fuzz.sh --merge [SECONDS_PER_TARGET] [TARGET...]
#
# Each target starts from its committed corpus fuzz/corpus/<target>/ (and the dictionary
# fuzz/dict/<target>.dict if there is one); what a run finds goes to a scratch directory
# and is dropped, except with --merge, which rewrites the committed corpus as its seed-*
# files plus the fewest inputs that reach every edge reached so far (commit it). A crash, a failed assertion, a timeout or running out
# of memory leaves its input in fuzz/artifacts/<target>/ and makes this script exit 1
# after the other targets ran; rerun one input with
#   fuzz/target/<host>/release/<target> fuzz/artifacts/<target>/crash-...
# then turn it into a regression test in the owning crate.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

# libfuzzer-sys compiles libFuzzer with the C++ compiler.
if ! command -v c++ >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "scripts/fuzz.sh: installing g++"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends g++ >/dev/null
    else
        echo "scripts/fuzz.sh: a C++ compiler (g++) is needed" >&2
        exit 1
    fi
fi

merge=0
if [ "${1:-}" = --merge ]; then
    merge=1
    shift
fi
secs=20
if [ $# -gt 0 ] && [[ $1 =~ ^[0-9]+$ ]]; then
    secs=$1
    shift
fi
all=(h1_request h1_conn chunked range config fcgi_response ssl_cipher x509 hpack h2_frame h2_session metadata auth deflate expr htaccess negotiation balancer proxy_response)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")

host=$(rustc -vV | sed -n 's/^host: //p')
# --target keeps build scripts and proc macros uninstrumented (they run at build time,
# without libFuzzer's runtime).
export RUSTFLAGS="-Cpasses=sancov-module \
 -Cllvm-args=-sanitizer-coverage-level=4 \
 -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
 -Cllvm-args=-sanitizer-coverage-pc-table \
 -Cllvm-args=-sanitizer-coverage-trace-compares \
 -Cllvm-args=-sanitizer-coverage-stack-depth \
 -Cdebug-assertions -Coverflow-checks"
start=$SECONDS
bin_args=()
for t in "${targets[@]}"; do bin_args+=(--bin "$t"); done
echo "scripts/fuzz.sh: building ${#targets[@]} target(s) (libFuzzer, stable rustc)"
cargo build --release --quiet --target "$host" "${bin_args[@]}"
echo "scripts/fuzz.sh: built in $((SECONDS - start)) s; ${secs} s per target"
bin_dir=${CARGO_TARGET_DIR:-$PWD/target}/$host/release

scratch=$(mktemp -d "${TMPDIR:-/tmp}/rhttpd-fuzz-XXXXXX")
trap 'rm -rf "$scratch"' EXIT
failed=()
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "artifacts/$t" "$scratch/$t"
    opts=(-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
        -artifact_prefix="artifacts/$t/")
    [ ! -f "dict/$t.dict" ] || opts+=(-dict="dict/$t.dict")
    log=$scratch/$t.log
    status=0
    # An empty environment: the config target must not see ${HOME} and friends.
    env -i "$bin_dir/$t" "${opts[@]}" "$scratch/$t" "corpus/$t" >"$log" 2>&1 || status=$?
    inited=$(grep -m1 -oE 'INITED cov: [0-9]+ ft: [0-9]+' "$log" | sed 's/INITED //' || true)
    done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 | grep -oE 'cov: [0-9]+ ft: [0-9]+' || true)
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    new=$(sed -n 's/^stat::new_units_added: *//p' "$log")
    seeds=$(find "corpus/$t" -type f | wc -l)
    if [ "$status" = 0 ]; then
        echo "fuzz $t: ok, ${runs:-?} runs (${rate:-?}/s), ${inited:-?} -> ${done_line:-?}, $seeds seeds, ${new:-0} new inputs"
        if [ "$merge" = 1 ]; then
            # The seeds, then the fewest inputs that reach every edge the old corpus and
            # this run's finds reach (edges only: hit counts would keep thousands).
            merged=$scratch/$t.merged
            mkdir -p "$merged"
            cp corpus/"$t"/seed-* "$merged"/ 2>/dev/null || true
            "$bin_dir/$t" -set_cover_merge=1 -use_counters=0 "$merged" "corpus/$t" "$scratch/$t" \
                >"$scratch/$t.merge.log" 2>&1
            find "corpus/$t" -type f ! -name 'seed-*' -delete
            cp -n "$merged"/* "corpus/$t"/
            echo "fuzz $t: corpus $seeds -> $(find "corpus/$t" -type f | wc -l) inputs (merged)"
        fi
    else
        failed+=("$t")
        echo "fuzz $t: FAILED (exit $status) after ${runs:-?} runs; its log ends:" >&2
        # Without the progress lines and the backtrace frames: the panic message, the
        # input (hex, text, base64) and libFuzzer's verdict.
        grep -vE '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse)|^ +[0-9]+: |^ +at ' "$log" | tail -25 >&2
        for a in $(grep -oE "artifacts/$t/[a-z-]+-[0-9a-f]+" "$log" | sort -u); do
            echo "fuzz $t: reproducer fuzz/$a: rerun with $bin_dir/$t fuzz/$a" >&2
        done
    fi
done
echo "scripts/fuzz.sh: ${#targets[@]} target(s) in $((SECONDS - start)) s"
if [ ${#failed[@]} -gt 0 ]; then
    echo "scripts/fuzz.sh: failed: ${failed[*]}" >&2
    exit 1
fi
