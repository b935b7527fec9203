-- wrk script: the benchmark's customer update as a Reach client sends it (the same change
-- as ../shared/bench/wrk/patch.lua after translation: name split, unsubscribed ->
-- emailOptOut; company/notes have no Reach field). For the same-dialect row of bench/run.sh.
-- done() prints the same RESULT line as the shared harness.
wrk.method = "PATCH"
wrk.path = os.getenv("BENCH_PATH") or "/api/resources/customers/12345"
wrk.body = '{"data":{"firstName":"John","lastName":"Doe","email":"john@example.com",'
        .. '"phone":"+10233456781","emailOptOut":false}}'
wrk.headers["Content-Type"] = "application/json"

function done(summary, latency, requests)
    local e = summary.errors
    local secs = summary.duration / 1e6
    io.write(string.format(
        "RESULT requests=%d duration_s=%.3f rps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d "
        .. "non2xx=%d connect_err=%d read_err=%d write_err=%d timeouts=%d\n",
        summary.requests, secs, summary.requests / secs,
        latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
        e.status, e.connect, e.read, e.write, e.timeout))
end
