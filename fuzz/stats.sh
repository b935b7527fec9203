#!/usr/bin/env bash
# Sums libFuzzer's final stats per target over every run logged in fuzz/target/logs/.
cd "$(dirname "$0")/target/logs" || exit 1
printf "| target | runs | total time (s) | executions | exec/s (last) | cov (last) | ft (last) | corpus (last) |\n|---|---|---|---|---|---|---|---|\n"
for f in request_helpscout_v2 request_helpscout_v1 request_helpcrunch request_reach \
    response_helpscout_v2 response_helpscout_v1 response_helpcrunch response_reach pipeline config; do
    [ -f "$f.log" ] || continue
    runs=$(grep -ac "DONE" "$f.log")
    secs=$(grep -aoE "Done [0-9]+ runs in [0-9]+ second" "$f.log" | awk '{s+=$5} END {print s}')
    execs=$(grep -a "stat::number_of_executed_units" "$f.log" | awk '{s+=$2} END {print s}')
    last=$(grep -a "DONE" "$f.log" | tail -1)
    eps=$(echo "$last" | grep -oE "exec/s: [0-9]+" | awk '{print $2}')
    cov=$(echo "$last" | grep -oE "cov: [0-9]+" | awk '{print $2}')
    ft=$(echo "$last" | grep -oE "ft: [0-9]+" | awk '{print $2}')
    corp=$(echo "$last" | grep -oE "corp: [^ ]+" | awk '{print $2}')
    printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n" "$f" "$runs" "$secs" "$execs" "$eps" "$cov" "$ft" "$corp"
done
