#!/usr/bin/env bash
# Instructions per request of a gateway binary, counted by callgrind (`perf stat` counters are
# not available on this VM; instruction counts do not depend on the machine's load, so an A/B of
# two binaries is exact even while other work runs).
#
#   bench/callgrind.sh [BIN] [CONFIG] [PORT] [PATH] [BODY]     (defaults: the translate row)
#   N=2000 WARM=200 CONNS=4 bench/callgrind.sh target/release/patchbay bench/gateway.toml
#   CMD="target/release/examples/calib_serve 19023 ../shared/bench/conf/stub-body.json" \
#       bench/callgrind.sh - - 19023          # any server: CMD replaces `BIN serve -c CONFIG`
#
# Starts the shared harness's stub if it is not running, starts BIN under
# `valgrind --tool=callgrind`, sends WARM requests, zeroes the counters, sends N requests (PATCH
# of BODY to PATH over CONNS keep-alive connections, every answer must be 200), dumps the
# counters and prints the instructions per request (the whole process: every thread, kernel
# time not included). Only 127.0.0.1; bounded; the gateway it started is stopped by its pid.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${1:-$ROOT/target/release/patchbay}"
CONF="${2:-$ROOT/bench/gateway.toml}"
PORT="${3:-19020}"
REQ_PATH="${4:-/v1/customers/12345}"
BODY="${5:-$ROOT/bench/body-helpcrunch.json}"
N="${N:-2000}"; WARM="${WARM:-200}"; CONNS="${CONNS:-4}"
SHARED_BENCH="${SHARED_BENCH:-$( [ -d "$ROOT/../shared/bench" ] && cd "$ROOT/../shared/bench" && pwd || echo /work/shared/bench)}"
OUT="${OUT:-/tmp/patchbay-callgrind}"
mkdir -p "$OUT"
command -v valgrind >/dev/null || { echo "valgrind missing (apt-get install valgrind)" >&2; exit 2; }
"$SHARED_BENCH/servers.sh" status | grep -q '^stub running' || "$SHARED_BENCH/servers.sh" start stub >/dev/null
export PATCHBAY_BENCH_UPSTREAM_TOKEN="${PATCHBAY_BENCH_UPSTREAM_TOKEN:-bench-upstream-token}"
if [ -n "${CMD:-}" ]; then read -r -a cmd <<<"$CMD"; else cmd=("$BIN" serve -c "$CONF"); fi
tag="$(basename "${cmd[0]}")-$$"
valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.$tag.%p" \
    "${cmd[@]}" > "$OUT/$tag.log" 2>&1 &
vg=$!
trap 'kill -INT $vg 2>/dev/null || true; sleep 1; kill -KILL $vg 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done
send() { # count
    timeout 600 python3 - "$PORT" "$REQ_PATH" "$BODY" "$1" "$CONNS" <<'PY'
import http.client, sys, threading
port, path, body, n, conns = int(sys.argv[1]), sys.argv[2], open(sys.argv[3], "rb").read(), int(sys.argv[4]), int(sys.argv[5])
bad = []
def run(k):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for _ in range(k):
        c.request("PATCH", path, body, {"Content-Type": "application/json"})
        r = c.getresponse(); r.read()
        if r.status != 200: bad.append(r.status)
ts = [threading.Thread(target=run, args=(n // conns + (1 if i < n % conns else 0),)) for i in range(conns)]
[t.start() for t in ts]; [t.join() for t in ts]
if bad: sys.exit(f"{len(bad)} answers were not 200: {bad[:5]}")
PY
}
send "$WARM"
callgrind_control -z "$vg" >/dev/null
send "$N"
callgrind_control -d "$vg" >/dev/null
sleep 1
dump=$(ls -t "$OUT"/callgrind."$tag".* | head -1)
total=$(awk '/^summary:|^totals:/ {print $2; exit}' "$dump")
echo "RESULT cmd=${cmd[*]} requests=$N instructions=$total per_request=$((total / N)) dump=$dump"
