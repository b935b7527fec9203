#!/usr/bin/env python3
"""Memory of a server holding many open, idle keep-alive connections.

  idle_conns.py --port 19020 --pid 1234 [--pid 1235 ...] [--conns 1000] [--hold 3]
                [--request PATH_TO_BODY --path /v1/customers/12345]

Reads VmRSS of every --pid (summed: pass all worker pids of a multi-process server) from
/proc/<pid>/status, opens --conns TCP connections to 127.0.0.1:--port, optionally sends one
HTTP/1.1 keep-alive PATCH on each and reads its answer (so the server has parsed a request and
keeps the connection open for the next one), holds them idle for --hold seconds, reads VmRSS
again, closes everything, reads VmRSS a last time --settle seconds later (is the memory given
back?) and prints one line per measurement plus a RESULT line.
Only 127.0.0.1; every socket operation has a timeout; the whole run is bounded.
"""

import argparse
import resource
import socket
import sys
import time


def rss_kib(pids):
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total


def read_response(s):
    """Read one HTTP/1.1 response with a Content-Length body; return its status code."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            raise ConnectionError("closed before the response head")
        buf += chunk
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for h in lines[1:]:
        k, _, v = h.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v.strip())
        if k.strip().lower() == b"transfer-encoding" and b"chunked" in v.lower():
            # read until the terminating chunk
            while not body.endswith(b"0\r\n\r\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                body += chunk
            return status
    while len(body) < length:
        chunk = s.recv(65536)
        if not chunk:
            break
        body += chunk
    return status


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--pid", type=int, action="append", required=True)
    ap.add_argument("--conns", type=int, default=1000)
    ap.add_argument("--hold", type=float, default=3.0)
    ap.add_argument("--request", help="file with a JSON body to PATCH once on every connection")
    ap.add_argument("--path", default="/v1/customers/12345")
    ap.add_argument("--label", default="server")
    ap.add_argument("--settle", type=float, default=3.0, help="seconds after closing before the last reading")
    a = ap.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = a.conns + 64
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))

    before = rss_kib(a.pid)
    req = None
    if a.request:
        body = open(a.request, "rb").read().strip()
        req = (f"PATCH {a.path} HTTP/1.1\r\nHost: 127.0.0.1:{a.port}\r\n"
               f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
    socks, statuses, t0 = [], {}, time.monotonic()
    try:
        for _ in range(a.conns):
            s = socket.create_connection(("127.0.0.1", a.port), timeout=5)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            socks.append(s)
            if req is not None:
                s.sendall(req)
                st = read_response(s)
                statuses[st] = statuses.get(st, 0) + 1
        opened = time.monotonic() - t0
        time.sleep(a.hold)
        # every connection must still be open (no EOF pending) after the hold
        alive = 0
        for s in socks:
            s.setblocking(False)
            try:
                alive += 0 if s.recv(1) == b"" else 1
            except BlockingIOError:
                alive += 1
            except OSError:
                pass
        after = rss_kib(a.pid)
    finally:
        for s in socks:
            s.close()
    # Memory the server gives back once its connections are gone.
    time.sleep(a.settle)
    closed = rss_kib(a.pid)
    print(f"{a.label}: {len(socks)} connections opened in {opened:.2f}s, {alive} still open after {a.hold:.0f}s idle"
          + (f", answers {dict(sorted(statuses.items()))}" if statuses else ""))
    print(f"{a.label}: VmRSS of pid(s) {' '.join(map(str, a.pid))}: {before / 1024:.1f} MiB before, {after / 1024:.1f} MiB with {alive} idle connections"
          f" ({(after - before) / max(alive, 1):.1f} KiB per connection), {closed / 1024:.1f} MiB {a.settle:.0f}s after closing them")
    print(f"RESULT label={a.label} conns={alive} rss_before_kib={before} rss_after_kib={after} rss_closed_kib={closed}")
    return 0 if alive == a.conns else 1


if __name__ == "__main__":
    sys.exit(main())
