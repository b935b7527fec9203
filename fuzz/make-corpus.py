#!/usr/bin/env python3
"""Builds the seed corpora in fuzz/corpus/<target>/ (ignored by git) from the golden fixtures,
the config fixtures and, when present, the vendor example bodies in ../shared/dialects/.

Input formats are those of fuzz/src/harness.rs:
- request_*: selector byte, then either (structured, high bit clear) an id byte and the body,
  or (raw, high bit set) `METHOD PATH[?QUERY]\\n` and the body;
- response_*: selector byte (status), then the upstream body;
- pipeline: selector byte (client dialect, policy, endpoint, id), body, optionally
  `\\n--state--\\n` and a canonical customer;
- config: the TOML text.
Usage: python3 fuzz/make-corpus.py   (from anywhere)"""
import hashlib, json, os, re, sys, tomllib

FUZZ = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(FUZZ)
FIX = os.path.join(ROOT, "tests", "fixtures")
SHARED = os.environ.get("PATCHBAY_SHARED_DIALECTS", os.path.join(ROOT, "..", "shared", "dialects"))
DIALECTS = ["helpscout-v2", "helpscout-v1", "helpcrunch", "reach"]
UNDER = {d: d.replace("-", "_") for d in DIALECTS}
counts = {}


def put(target, data):
    d = os.path.join(FUZZ, "corpus", target)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)
    counts[target] = counts.get(target, 0) + 1


def read(p):
    with open(p, "rb") as f:
        return f.read()


def json_blocks(path):
    """(line number, text) of each ```json block."""
    out, cur, start = [], None, 0
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f, 1):
            if cur is None and line.strip().startswith("```json"):
                cur, start = [], i
            elif cur is not None and line.strip().startswith("```"):
                out.append((start, "".join(cur).encode()))
                cur = None
            elif cur is not None:
                cur.append(line)
    return out


examples = {d: [] for d in DIALECTS}  # vendor example bodies per dialect
hs = os.path.join(SHARED, "helpscout.md")
if os.path.exists(hs):
    for line, body in json_blocks(hs):
        examples["helpscout-v2" if line < 679 else "helpscout-v1"].append(body)
hr = os.path.join(SHARED, "helpcrunch-reach.md")
if os.path.exists(hr):
    for line, body in json_blocks(hr):
        if line < 537:
            examples["helpcrunch"].append(body)
        elif line < 751:
            examples["reach"].append(body)

states = [b"{}"]
for i, d in enumerate(DIALECTS):
    ddir = os.path.join(FIX, d)
    for case in sorted(os.listdir(ddir)) if os.path.isdir(ddir) else []:
        cdir = os.path.join(ddir, case)
        try:
            meta = tomllib.loads(read(os.path.join(cdir, "case.toml")).decode())
        except (OSError, ValueError):
            continue
        body = read(os.path.join(cdir, "request.json")) if os.path.exists(os.path.join(cdir, "request.json")) else b""
        target = meta["path"] + ("?" + meta["query"] if meta.get("query") else "")
        put("request_" + UNDER[d], b"\x80" + f"{meta['method']} {target}\n".encode() + body)
        put("request_" + UNDER[d], b"\x00\x00" + body)
        # Pipeline: client dialect i, both policies, endpoint 0/1.
        for sel in (i, i | 4, i | 0x10):
            put("pipeline", bytes([sel]) + body)
        sp = os.path.join(cdir, "state.json")
        if os.path.exists(sp):
            st = read(sp)
            states.append(st)
            put("pipeline", bytes([i]) + body + b"\n--state--\n" + st)
        # The client's error body in dialect d is also what an upstream of dialect d answers.
        ce = os.path.join(cdir, "expected", "client-error.json")
        if os.path.exists(ce):
            err = json.loads(read(ce))
            if err.get("body") is not None:
                put("response_" + UNDER[d], bytes([3]) + json.dumps(err["body"]).encode())
    for body in examples[d]:
        put("response_" + UNDER[d], b"\x00" + body)
        put("response_" + UNDER[d], b"\x03" + body)
        put("request_" + UNDER[d], b"\x00\x00" + body)
        put("pipeline", bytes([i]) + body)
    # Canonical states double as plausible customer bodies.
for d in DIALECTS:
    for st in states[:20]:
        put("response_" + UNDER[d], b"\x00" + st)

for sub in ("config-valid", "config-invalid"):
    cdir = os.path.join(FIX, sub)
    for name in sorted(os.listdir(cdir)):
        if name.endswith(".toml"):
            put("config", read(os.path.join(cdir, name)))
put("config", read(os.path.join(ROOT, "gateway.toml")))

for t in sorted(counts):
    print(f"{t}: {counts[t]} seeds")
