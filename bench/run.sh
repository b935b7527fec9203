#!/usr/bin/env bash
# patchbay load benchmark (SPEC §10): in ALTERNATING rounds, on one machine, to the same upstream
# stub (the shared harness's nginx `return 200` Reach envelope on 127.0.0.1:19001):
#   (a) translate   patchbay, helpcrunch client -> reach upstream   bench/gateway.toml, :19020
#   (b) same-dialect patchbay, reach client -> reach upstream       bench/gateway-passthrough.toml, :19021
#   (c) nginx       plain nginx reverse proxy (the harness's peer A, :19010)
# and, as calibration (issue 11: the floor beside the result, on the same proxy core):
#   pingora-proxy   the smallest Pingora ProxyHttp passthrough (examples/calib_proxy.rs, :19022)
#   pingora-serve   Pingora's ServeHttp answering the stub's 811-byte body (examples/calib_serve.rs, :19023)
#   nginx-fixed     nginx answering the same body with `return 200` (the stub's config, :19024)
# then prints median req/s, p50, p99 per row, the ratios to nginx and the p99 added over nginx,
# and measures the RSS of the translating gateway (and of nginx) holding 1,000 idle keep-alive
# connections.
#
#   bench/run.sh                       # everything (builds target/release/patchbay if missing)
#   ROWS="nginx" bench/run.sh          # only the rows named (translate same-dialect nginx stub
#                                      #   pingora-proxy pingora-serve nginx-fixed)
#   ROWS=https bench/run.sh            # HTTPS: patchbay terminating TLS vs nginx terminating TLS
#                                      # (same certificate, TLS 1.3 AES-256-GCM, keep-alive)
#
# Env: SHARED_BENCH (default ../shared/bench from the repo, else /work/shared/bench),
#      ROUNDS=5 DURATION=10 CONNECTIONS=64 WARMUP=3,
#      ROWS="translate same-dialect nginx pingora-proxy pingora-serve nginx-fixed",
#      IDLE_CONNS=1000 (0 skips the RSS measurement), PATCHBAY_BIN, NO_BUILD=1,
#      PIN/LOAD_CPU/PROXY_CPU/STUB_CPU as in the shared harness (wrk + stub on core 0, the proxy
#      under test alone on core 1), MARKDOWN=1 (also print a Markdown table), RUN_DIR.
# Prerequisite (once, as root): "$SHARED_BENCH/setup.sh" (nginx, wrk).
# Every load run is bounded (wrk -d plus a timeout); only 127.0.0.1 is used; every process this
# script starts is stopped at exit, by its own pid.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -z "${SHARED_BENCH:-}" ]; then
    if [ -d "$ROOT/../shared/bench" ]; then SHARED_BENCH="$(cd "$ROOT/../shared/bench" && pwd)"
    else SHARED_BENCH=/work/shared/bench; fi
fi
[ -f "$SHARED_BENCH/lib/common.sh" ] || { echo "no shared harness at $SHARED_BENCH (set SHARED_BENCH)" >&2; exit 2; }
# Ports, pinning helpers (pin_prefix, wait_port, port_free), RUN_DIR. BENCH_DIR = the shared folder.
. "$SHARED_BENCH/lib/common.sh"
SERVERS="$SHARED_BENCH/servers.sh"

ROUNDS="${ROUNDS:-5}"
DURATION="${DURATION:-10}"
CONNECTIONS="${CONNECTIONS:-64}"
WARMUP="${WARMUP:-3}"
ROWS="${ROWS:-translate same-dialect nginx pingora-proxy pingora-serve nginx-fixed}"
IDLE_CONNS="${IDLE_CONNS:-1000}"
BIN="${PATCHBAY_BIN:-$ROOT/target/release/patchbay}"
GW_DIR="$RUN_DIR/patchbay-bench"
PORT_TRANSLATE=19020
PORT_SAME=19021
PORT_CALIB_PROXY=19022
PORT_CALIB_SERVE=19023
PORT_NGINX_FIXED=19024
CALIB_DIR="$ROOT/target/release/examples"
export PATCHBAY_BENCH_UPSTREAM_TOKEN="${PATCHBAY_BENCH_UPSTREAM_TOKEN:-bench-upstream-token}"

command -v wrk >/dev/null && [ -x "$NGINX_BIN" ] || {
    echo "wrk or nginx missing: run (as root) $SHARED_BENCH/setup.sh" >&2; exit 2; }

needs_gateway=0
needs_calib=0
for r in $ROWS; do
    case "$r" in
        translate|same-dialect) needs_gateway=1 ;;
        https) needs_gateway=1 ;;
        pingora-proxy|pingora-serve) needs_calib=1 ;;
        nginx|stub|nginx-fixed) ;;
        *) echo "unknown row $r (translate same-dialect nginx stub pingora-proxy pingora-serve nginx-fixed https)" >&2
           exit 2 ;;
    esac
done
if [ $needs_calib = 1 ] && { [ ! -x "$CALIB_DIR/calib_proxy" ] || [ ! -x "$CALIB_DIR/calib_serve" ]; }; then
    if [ "${NO_BUILD:-0}" = 1 ]; then echo "calibration examples missing and NO_BUILD=1" >&2; exit 2; fi
    echo "== building the calibration examples (cargo build --release --example calib_proxy --example calib_serve)"
    (cd "$ROOT" && cargo build --release --example calib_proxy --example calib_serve)
fi
if [ $needs_gateway = 1 ] && [ ! -x "$BIN" ]; then
    if [ "${NO_BUILD:-0}" = 1 ]; then echo "$BIN missing and NO_BUILD=1" >&2; exit 2; fi
    echo "== building the release binary (cargo build --release --bin patchbay)"
    (cd "$ROOT" && cargo build --release --bin patchbay)
fi

mkdir -p "$GW_DIR"
started=()      # shared-harness servers this script started
nginx_fixed_pid=""  # pid file of the nginx-fixed calibration row
gw_pids=()      # gateway process ids this script started
cleanup() {
    local pid i
    for pid in "${gw_pids[@]}"; do
        # SIGINT = Pingora's fast shutdown (SIGTERM would wait out its graceful-shutdown period).
        kill -INT "$pid" 2>/dev/null || true
    done
    for pid in "${gw_pids[@]}"; do
        i=0
        while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
        if kill -0 "$pid" 2>/dev/null; then
            echo "gateway pid $pid ignored SIGINT for 10 s: SIGKILL" >&2
            kill -KILL "$pid" 2>/dev/null || true
        fi
    done
    for n in "${started[@]}"; do "$SERVERS" stop "$n" >/dev/null 2>&1 || true; done
    if [ -n "${nginx_fixed_pid:-}" ] && [ -f "$nginx_fixed_pid" ]; then
        kill -QUIT "$(cat "$nginx_fixed_pid")" 2>/dev/null || true
    fi
}
trap cleanup EXIT

ensure() {
    if "$SERVERS" status | grep -q "^$1 running"; then
        echo "reusing running $1"
    else
        "$SERVERS" start "$1"; started+=("$1")
    fi
}

start_gateway() { # name config port [command...]: the command defaults to `patchbay serve -c config`
    local name="$1" conf="$2" port="$3" pid i=0
    shift 3
    [ $# -gt 0 ] || set -- "$BIN" serve -c "$conf"
    if ! port_free "$port"; then echo "port $port is busy: not starting $name" >&2; return 1; fi
    # Raise the descriptor limit for the idle-connection measurement.
    ( ulimit -n 65536 2>/dev/null || true
      exec $(pin_prefix proxy) "$@" ) > "$GW_DIR/$name.log" 2>&1 < /dev/null &
    pid=$!
    gw_pids+=("$pid")
    while port_free "$port"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "$name (pid $pid) exited before listening on $port; last log lines:" >&2
            tail -n 20 "$GW_DIR/$name.log" >&2; return 1
        fi
        [ $i -ge 600 ] && { echo "$name not listening on $port after 60 s" >&2; return 1; }
        sleep 0.1; i=$((i + 1))
    done
    echo "$name started on 127.0.0.1:$port (pid $pid, log $GW_DIR/$name.log)"
    eval "PID_$(tr - _ <<<"$name")=$pid"
}

# ---- rows: port, wrk script, path --------------------------------------------------------
row_port() { case "$1" in translate) echo $PORT_TRANSLATE ;; same-dialect) echo $PORT_SAME ;;
                          nginx) echo "$PORT_A" ;; stub) echo "$STUB_PORT" ;;
                          pingora-proxy) echo $PORT_CALIB_PROXY ;; pingora-serve) echo $PORT_CALIB_SERVE ;;
                          nginx-fixed) echo $PORT_NGINX_FIXED ;; esac; }
row_script() { case "$1" in same-dialect|stub|nginx-fixed) echo "$ROOT/bench/wrk/reach-patch.lua" ;;
                            *) echo "$SHARED_BENCH/wrk/patch.lua" ;; esac; }
row_path() { case "$1" in same-dialect|stub|nginx-fixed) echo /api/resources/customers/12345 ;;
                          *) echo /v1/customers/12345 ;; esac; }
row_label() { case "$1" in translate) echo "patchbay translate hc->reach" ;;
                           same-dialect) echo "patchbay same-dialect reach" ;;
                           nginx) echo "nginx passthrough (peer A)" ;;
                           stub) echo "stub direct (ceiling)" ;;
                           pingora-proxy) echo "calib: Pingora ProxyHttp passthrough" ;;
                           pingora-serve) echo "calib: Pingora ServeHttp fixed 811 B" ;;
                           nginx-fixed) echo "calib: nginx return 200 fixed 811 B" ;; esac; }

# one bounded wrk run, pinned to the load core; prints the RESULT line
wrk_run() { # row duration
    local row="$1" dur="$2" out
    out=$(BENCH_PATH=$(row_path "$row") $(pin_prefix load) timeout --kill-after=5 $((dur + 20)) \
        wrk -t"${WRK_THREADS:-1}" -c"$CONNECTIONS" -d"${dur}s" --timeout "${WRK_TIMEOUT:-5s}" --latency \
        -s "$(row_script "$row")" "http://127.0.0.1:$(row_port "$row")")
    grep '^RESULT ' <<<"$out" || { echo "$out" >&2; echo "wrk produced no RESULT line" >&2; return 1; }
}

# one request per row before measuring: must be 200 (no point measuring 4xx answers)
smoke() { # row
    local row="$1" body hdrs code
    if [ "$(row_script "$row")" = "$ROOT/bench/wrk/reach-patch.lua" ]; then body="$ROOT/bench/body-reach.json"
    else body="$ROOT/bench/body-helpcrunch.json"; fi
    hdrs="$GW_DIR/smoke-$row.headers"
    code=$(curl -sS -o "$GW_DIR/smoke-$row.body" -D "$hdrs" -w '%{http_code}' --max-time 5 -X PATCH \
        -H 'Content-Type: application/json' --data-binary "@$body" \
        "http://127.0.0.1:$(row_port "$row")$(row_path "$row")") || code=000
    if [ "$code" != 200 ]; then
        echo "smoke request on row $row answered $code:" >&2
        cat "$GW_DIR/smoke-$row.body" >&2 2>/dev/null; echo >&2
        return 1
    fi
    local dropped; dropped=$(grep -i '^patchbay-dropped-fields:' "$hdrs" | tr -d '\r' | cut -d: -f2- | xargs || true)
    echo "smoke $row: 200${dropped:+, Patchbay-Dropped-Fields: $dropped}"
    if [ "$row" = translate ] && [ -z "$dropped" ]; then
        echo "row translate: Patchbay-Dropped-Fields missing (company, notes expected)" >&2; return 1
    fi
}

# ---- HTTPS rows (issue 13): a self-contained block, run first when ROWS names "https" -------
# patchbay translating with [server] tls (bench/gateway.toml plus a tls table, :19022) against
# nginx terminating TLS in front of the same stub (peer A's configuration with `ssl`, :19014),
# both with one certificate made here (EC P-256), TLS 1.3 only, AES-256-GCM (nginx pinned to it;
# wrk's OpenSSL offers it first and rustls follows the client's order), keep-alive connections
# (wrk reuses each one, so the handshake is paid once per connection, as in production).
PORT_HTTPS=19022
PORT_HTTPS_NGINX="${PORT_HTTPS_NGINX:-19014}"
HTTPS_CIPHER=TLS_AES_256_GCM_SHA384
https_bench() {
    local d="$GW_DIR/https" ng="$RUN_DIR/https-nginx" round r port out line serr
    mkdir -p "$d" "$ng/tmp"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
        -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" -keyout "$d/tls.key" -out "$d/tls.crt" \
        >/dev/null 2>&1
    sed -e "s|^listen = .*|listen = \"127.0.0.1:$PORT_HTTPS\"\ntls = { cert_file = \"$d/tls.crt\", key_file = \"$d/tls.key\" }|" \
        -e 's|^admin = .*|admin = "127.0.0.1:19028"|' "$ROOT/bench/gateway.toml" > "$d/gateway.toml"
    start_gateway https "$d/gateway.toml" $PORT_HTTPS
    port_free "$PORT_HTTPS_NGINX" || { echo "port $PORT_HTTPS_NGINX is busy" >&2; return 1; }
    render "$SHARED_BENCH/conf/peer-a.conf" "$ng/nginx.conf" DIR="$ng" PORT="$PORT_HTTPS_NGINX" \
        WORKERS="$(proxy_workers)" STUB_PORT="$STUB_PORT"
    sed -i "s|listen 127.0.0.1:$PORT_HTTPS_NGINX backlog=4096;|listen 127.0.0.1:$PORT_HTTPS_NGINX ssl backlog=4096;\n        ssl_certificate $d/tls.crt;\n        ssl_certificate_key $d/tls.key;\n        ssl_protocols TLSv1.3;\n        ssl_conf_command Ciphersuites $HTTPS_CIPHER;\n        ssl_session_cache shared:SSL:10m;|" "$ng/nginx.conf"
    grep -q "ssl_certificate " "$ng/nginx.conf" || { echo "peer-a.conf changed: cannot add ssl" >&2; return 1; }
    "$NGINX_BIN" -t -q -p "$ng" -c "$ng/nginx.conf" -e "$ng/error.log"
    $(pin_prefix proxy) "$NGINX_BIN" -p "$ng" -c "$ng/nginx.conf" -e "$ng/error.log"
    https_started=1
    wait_port "$PORT_HTTPS_NGINX" 10
    for port in $PORT_HTTPS "$PORT_HTTPS_NGINX"; do
        out=$(curl -sS -o /dev/null -w '%{http_code} %{http_version}' --max-time 5 --cacert "$d/tls.crt" \
            -X PATCH -H 'Content-Type: application/json' --data-binary "@$ROOT/bench/body-helpcrunch.json" \
            "https://127.0.0.1:$port/v1/customers/12345") || out=000
        line=$(openssl s_client -connect "127.0.0.1:$port" -tls1_3 </dev/null 2>/dev/null | grep -m1 'Cipher is' || true)
        echo "smoke https :$port: $out, ${line:-no cipher line}"
        [ "${out%% *}" = 200 ] || { echo "smoke request on :$port answered $out" >&2; return 1; }
        [[ "$line" == *"$HTTPS_CIPHER"* ]] || { echo ":$port did not negotiate $HTTPS_CIPHER" >&2; return 1; }
    done
    https_wrk() { # port duration
        BENCH_PATH=/v1/customers/12345 $(pin_prefix load) timeout --kill-after=5 $(($2 + 20)) \
            wrk -t"${WRK_THREADS:-1}" -c"$CONNECTIONS" -d"$2s" --timeout "${WRK_TIMEOUT:-5s}" --latency \
            -s "$SHARED_BENCH/wrk/patch.lua" "https://127.0.0.1:$1" | grep '^RESULT '
    }
    echo "== HTTPS warm-up ${WARMUP}s per row"
    https_wrk $PORT_HTTPS "$WARMUP" >/dev/null
    https_wrk "$PORT_HTTPS_NGINX" "$WARMUP" >/dev/null
    local tsv="$GW_DIR/results-https-$(date +%Y%m%d-%H%M%S).tsv"
    printf 'round\trow\tlabel\tport\trps\tp50_us\tp99_us\tnon2xx\tsocket_errors\n' > "$tsv"
    for round in $(seq 1 "$ROUNDS"); do
        for r in https-nginx https-patchbay; do
            if [ $r = https-nginx ]; then port=$PORT_HTTPS_NGINX; else port=$PORT_HTTPS; fi
            line=$(https_wrk "$port" "$DURATION")
            eval "$(sed 's/^RESULT //' <<<"$line" | tr ' ' '\n' | sed 's/^/r_/')"
            serr=$((r_connect_err + r_read_err + r_write_err + r_timeouts))
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$r" "$r (TLS 1.3, keep-alive)" "$port" \
                "$r_rps" "$r_p50_us" "$r_p99_us" "$r_non2xx" "$serr" >> "$tsv"
            printf 'round %d/%d  %-16s req/s %8.0f  p99 %7.2f ms  non-2xx %d  sock err %d\n' "$round" "$ROUNDS" \
                "$r" "$r_rps" "$(awk -v v="$r_p99_us" 'BEGIN{print v/1000}')" "$r_non2xx" "$serr"
        done
    done
    echo "== HTTPS medians over $ROUNDS rounds (raw: $tsv); ratio = patchbay / nginx"
    python3 - "$tsv" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
med = {k: (statistics.median(float(r["rps"]) for r in rows if r["row"] == k),
           statistics.median(float(r["p99_us"]) for r in rows if r["row"] == k) / 1000)
       for k in ("https-nginx", "https-patchbay")}
for k, (rps, p99) in med.items():
    print(f"{k:16s} median req/s {rps:9.0f}  median p99 {p99:7.2f} ms")
(n_rps, n_p99), (p_rps, p99) = med["https-nginx"], med["https-patchbay"]
print(f"| HTTPS translate (TLS 1.3, keep-alive) | {p_rps:.0f} | {n_rps:.0f} | {p_rps / n_rps:.2f}x | {p99:.2f} | {n_p99:.2f} |")
PY
}
https_started=0
https_stop() { [ "$https_started" = 1 ] && "$NGINX_BIN" -p "$RUN_DIR/https-nginx" -c "$RUN_DIR/https-nginx/nginx.conf" -s stop 2>/dev/null || true; }
if [[ " $ROWS " == *" https "* ]]; then
    trap 'https_stop; cleanup' EXIT
    ensure stub
    https_bench
    ROWS=$(tr ' ' '\n' <<<"$ROWS" | grep -vx https | xargs || true)
    [ -n "$ROWS" ] || exit 0
fi

echo "== setup: shared harness $SHARED_BENCH; pin=$PIN load_cpu=$LOAD_CPU proxy_cpu=$PROXY_CPU" \
     "stub_cpu=$STUB_CPU; rows: $ROWS; $ROUNDS rounds x ${DURATION}s, $CONNECTIONS connections"
echo "   machine: $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), kernel $(uname -r)"
echo "   $("$NGINX_BIN" -v 2>&1), wrk $(dpkg-query -W -f='${Version}' wrk 2>/dev/null || echo '?')"
ensure stub
for r in $ROWS; do
    case "$r" in
        nginx) ensure A ;;
        translate) start_gateway translate "$ROOT/bench/gateway.toml" $PORT_TRANSLATE ;;
        same-dialect) start_gateway same-dialect "$ROOT/bench/gateway-passthrough.toml" $PORT_SAME ;;
        pingora-proxy) start_gateway pingora-proxy - $PORT_CALIB_PROXY \
                           "$CALIB_DIR/calib_proxy" $PORT_CALIB_PROXY "$STUB_PORT" ;;
        pingora-serve) start_gateway pingora-serve - $PORT_CALIB_SERVE \
                           "$CALIB_DIR/calib_serve" $PORT_CALIB_SERVE "$SHARED_BENCH/conf/stub-body.json" ;;
        nginx-fixed)
            # The stub's own config (same body, same `return 200`), one worker on the proxy core.
            nd="$GW_DIR/nginx-fixed"; mkdir -p "$nd/tmp"; : > "$nd/error.log"
            port_free $PORT_NGINX_FIXED || { echo "port $PORT_NGINX_FIXED is busy" >&2; exit 1; }
            render "$SHARED_BENCH/conf/stub.conf" "$nd/nginx.conf" DIR="$nd" PORT=$PORT_NGINX_FIXED \
                WORKERS=1 STUB_BODY="$(stub_body)"
            $(pin_prefix proxy) "$NGINX_BIN" -p "$nd" -c "$nd/nginx.conf" -e "$nd/error.log"
            nginx_fixed_pid="$nd/nginx.pid"
            wait_port $PORT_NGINX_FIXED ;;
    esac
done
[ $needs_gateway = 1 ] && echo "   patchbay: $BIN ($(stat -c %y "$BIN" | cut -d. -f1))"
for r in $ROWS; do smoke "$r"; done

echo "== warm-up ${WARMUP}s per row"
for r in $ROWS; do wrk_run "$r" "$WARMUP" >/dev/null; done

tsv="$GW_DIR/results-$(date +%Y%m%d-%H%M%S).tsv"
printf 'round\trow\tlabel\tport\trps\tp50_us\tp99_us\tnon2xx\tsocket_errors\n' > "$tsv"
for round in $(seq 1 "$ROUNDS"); do
    for r in $ROWS; do
        line=$(wrk_run "$r" "$DURATION")
        eval "$(sed 's/^RESULT //' <<<"$line" | tr ' ' '\n' | sed 's/^/r_/')"
        serr=$((r_connect_err + r_read_err + r_write_err + r_timeouts))
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$r" "$(row_label "$r")" "$(row_port "$r")" \
            "$r_rps" "$r_p50_us" "$r_p99_us" "$r_non2xx" "$serr" >> "$tsv"
        printf 'round %d/%d  %-30s req/s %8.0f  p50 %6.2f ms  p99 %7.2f ms  non-2xx %d  sock err %d\n' \
            "$round" "$ROUNDS" "$(row_label "$r")" "$r_rps" \
            "$(awk -v v="$r_p50_us" 'BEGIN{print v/1000}')" "$(awk -v v="$r_p99_us" 'BEGIN{print v/1000}')" \
            "$r_non2xx" "$serr"
    done
done

echo
echo "== medians over $ROUNDS alternating rounds of ${DURATION}s, $CONNECTIONS connections (raw: $tsv)"
python3 - "$tsv" "${MARKDOWN:-0}" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
order, by = [], {}
for r in rows:
    if r["row"] not in by:
        order.append(r["row"]); by[r["row"]] = []
    by[r["row"]].append(r)
st = {}
for k in order:
    rs = by[k]
    st[k] = dict(label=rs[0]["label"], n=len(rs),
                 rps=statistics.median(float(r["rps"]) for r in rs),
                 lo=min(float(r["rps"]) for r in rs), hi=max(float(r["rps"]) for r in rs),
                 p50=statistics.median(float(r["p50_us"]) for r in rs) / 1000,
                 p99=statistics.median(float(r["p99_us"]) for r in rs) / 1000,
                 non2xx=sum(int(r["non2xx"]) for r in rs), err=sum(int(r["socket_errors"]) for r in rs))
base = st.get("nginx")
head = ["row", "runs", "median req/s", "req/s min-max", "median p50 ms", "median p99 ms",
        "non-2xx", "sock err", "req/s vs nginx", "p99 vs nginx", "p99 added ms"]
table = []
for k in order:
    s = st[k]
    table.append([s["label"], str(s["n"]), "%.0f" % s["rps"], "%.0f-%.0f" % (s["lo"], s["hi"]),
                  "%.2f" % s["p50"], "%.2f" % s["p99"], str(s["non2xx"]), str(s["err"]),
                  "%.2fx" % (s["rps"] / base["rps"]) if base else "-",
                  "%.2fx" % (s["p99"] / base["p99"]) if base and base["p99"] else "-",
                  "%+.2f" % (s["p99"] - base["p99"]) if base else "-"])
w = [max(len(h), *(len(t[i]) for t in table)) for i, h in enumerate(head)]
fmt = "  ".join("%-*s" if i == 0 else "%*s" for i in range(len(head)))
print(fmt % tuple(x for p in zip(w, head) for x in p))
for t in table:
    print(fmt % tuple(x for p in zip(w, t) for x in p))
if sys.argv[2] == "1":
    print()
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join("---" if i == 0 else "---:" for i in range(len(head))) + "|")
    for t in table:
        print("| " + " | ".join(t) + " |")
PY

# ---- memory with idle connections ---------------------------------------------------------
if [ "$IDLE_CONNS" -gt 0 ]; then
    echo
    echo "== RSS with $IDLE_CONNS open idle keep-alive connections (one request answered on each)"
    idle() { # label port body path pids...
        local label="$1" port="$2" body="$3" path="$4"; shift 4
        local args=(); for p in "$@"; do args+=(--pid "$p"); done
        timeout 120 python3 "$ROOT/bench/idle_conns.py" --label "$label" --port "$port" \
            --conns "$IDLE_CONNS" --hold 3 --request "$body" --path "$path" "${args[@]}"
    }
    for r in $ROWS; do
        case "$r" in
            translate) idle "patchbay translate" $PORT_TRANSLATE "$ROOT/bench/body-helpcrunch.json" \
                            /v1/customers/12345 "$PID_translate" ;;
            nginx)
                master=$(cat "$RUN_DIR/A/nginx.pid")
                # the master and its worker processes (children of that pid)
                idle "nginx peer A" "$PORT_A" "$ROOT/bench/body-helpcrunch.json" /v1/customers/12345 \
                    "$master" $(ps -o pid= --ppid "$master") ;;
        esac
    done
fi
