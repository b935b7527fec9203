#!/usr/bin/env bash
# Runs fuzz targets one after another on one core (FUZZ_CPU, default 1), each for
# SECONDS_PER_TARGET seconds, with the seed corpus from make-corpus.py. Crashes land in
# fuzz/artifacts/<target>/; libFuzzer's logs in fuzz/target/logs/<target>.log. Two queues with
# different targets and FUZZ_CPU may run side by side: each target works in its own directory.
# Usage: fuzz/run.sh [SECONDS_PER_TARGET] [target...]   (build first: see docs/fuzzing.md)
# FUZZ_NICE=19 runs the fuzzers at the lowest priority (wall-clock time still counts).
set -u
cd "$(dirname "$0")"
secs=${1:-60}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(request_helpscout_v2 request_helpscout_v1 request_helpcrunch request_reach
        response_helpscout_v2 response_helpscout_v1 response_helpcrunch response_reach
        pipeline config)
fi
bin=target/x86_64-unknown-linux-gnu/release
mkdir -p target/logs
[ -d corpus ] || python3 make-corpus.py
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "artifacts/$t"
    echo "== $t ($secs s)"
    # libFuzzer writes fuzz-0.log into its working directory: one directory per target.
    mkdir -p "target/logs/$t.d"
    (cd "target/logs/$t.d" && nice -n "${FUZZ_NICE:-0}" taskset -c "${FUZZ_CPU:-1}" \
        "../../../$bin/$t" "../../../corpus/$t" \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="../../../artifacts/$t/" -jobs=1 -workers=1 >/dev/null 2>&1;
     cat fuzz-0.log >> "../$t.log"; rm -f fuzz-0.log)
    grep -E "^(stat::|Done|==[0-9]+== ERROR|SUMMARY|thread '.*' panicked|artifact_prefix|Test unit written)" "target/logs/$t.log" | tail -12
    grep -aE "#[0-9]+.DONE" "target/logs/$t.log" | tail -1
done
