#!/bin/bash
# Builds the fuzz targets and runs each for FUZZ_SECONDS (default 60), one after the other
# (`make fuzz`). A crash stops the run with libFuzzer's report and the input under
# fuzz/artifacts/TARGET/. Seeds: fuzz/seeds/TARGET (committed); what the fuzzer finds on the
# way is kept in fuzz/corpus/TARGET (not committed); the GPT target also starts from the crafted
# disks of tests/corpus/gpt. FUZZ_TARGETS picks targets (default: all).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-60}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked --version 0.13.2
cargo +nightly fuzz build -s none --debug-assertions
targets=${FUZZ_TARGETS:-$(cargo +nightly fuzz list)}
# the GPT and LUKS targets read whole disk heads; the text formats stay small
declare -A maxlen=([gpt]=262144 [luks_probe]=65536 [pe_sections]=65536)
for t in $targets; do
    mkdir -p "fuzz/corpus/$t"
    log=$(mktemp)
    echo "== $t: ${seconds}s"
    seeds=()
    for d in "fuzz/seeds/$t" "tests/corpus/$t"; do [ -d "$d" ] && seeds+=("$d"); done
    if ! cargo +nightly fuzz run -s none --debug-assertions "$t" "fuzz/corpus/$t" "${seeds[@]}" -- \
        -max_total_time="$seconds" -max_len="${maxlen[$t]:-8192}" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 >"$log" 2>&1; then
        grep -A 12 'panicked at' "$log" | head -n 30 || true
        tail -n 25 "$log"
        echo "fuzz target $t FAILED (input under fuzz/artifacts/$t/)"
        exit 1
    fi
    grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb|Done [0-9]+ runs' "$log" | tr '\n' ' '
    echo
    rm -f "$log"
done
