#!/usr/bin/env python3
"""Checks behind scripts/check-deploy.sh that need a parser rather than a CLI tool.

Subcommands (each prints what it checked and exits 1 on any failure):
  dockerfile FILE            parse with dockerfile-parse; multi-stage, cmake (no clang) in the builder,
                             dependencies in their own layer before the sources, stripped binary,
                             non-root USER in the final stage, EXPOSE 8080/9090, STOPSIGNAL SIGTERM
  grafana FILE --rules-out F load the dashboard JSON, extract every PromQL expression, write them
                             as recording rules to F (for `promtool check rules`, a real PromQL parser)
  metrics --dashboard F --alerts F [--scrape F]
                             every patchbay_* name used is a SPEC §7 family (or its _bucket/_sum/_count);
                             with --scrape, every one is also present in that /metrics text
  toml FILE...               parse gateway.toml files; tables and keys against the documented schema;
                             no literal secret values
  consistency ROOT           cross-file facts: ConfigMap == deploy/gateway.toml, directory mount (no
                             subPath), probes, drain budget, ingress hashing on a path capture
  kustomization ROOT [--rendered F]
                             deploy/k8s/kustomization.yaml lists every manifest of deploy/k8s/ and
                             only those; no Secret is applied (the example lives in deploy/examples/,
                             its keys are the secret files of deploy/gateway.toml); with --rendered
                             (kustomize's output) the rendered objects are exactly the listed ones
  networkpolicy ROOT         a NetworkPolicy selects the gateway pods: proxy port open to all, admin
                             port (9090) only from named sources (Prometheus), never from everyone
  check-env FILE OUTDIR      write a copy of FILE whose secret files point into OUTDIR (created, with
                             random contents) and print `export NAME=...` lines for *_env secrets, so
                             `patchbay check` can run on a production file outside its machine
"""

import argparse
import json
import os
import re
import secrets
import sys

FAIL = []


def ok(msg):
    print(f"  ok    {msg}")


def bad(msg):
    print(f"  FAIL  {msg}")
    FAIL.append(msg)


def done():
    if FAIL:
        print(f"  {len(FAIL)} failure(s)")
        sys.exit(1)


# ---------------------------------------------------------------- SPEC §7 metric families
COUNTERS = ["requests_total", "validation_errors_total", "dropped_fields_total",
            "state_reads_total", "config_reloads_total", "upstream_rate_limited_total",
            "upstream_inflight_refused_total", "requests_by_protocol_total"]
HISTOGRAMS = ["request_duration_seconds", "translate_duration_seconds",
              "upstream_duration_seconds"]
# Families a replica exports only with `[cluster]` set: the scrape of a gateway without it lacks
# them, so a live scrape is not asked for them (alerts on them simply do not fire there).
CLUSTER_ONLY = {"patchbay_cluster_redis_up", "patchbay_cluster_redis_errors_total",
                "patchbay_cluster_locks_total", "patchbay_cluster_fallbacks_total",
                "patchbay_cluster_tokens_total"}
# Families a replica exports only with `[server] tls` (an HTTPS listener): likewise not asked of a
# scrape of a plain-HTTP gateway.
TLS_ONLY = {"patchbay_tls_certificate_expiry_timestamp_seconds", "patchbay_tls_reloads_total"}
GAUGES = ["config_generation", "inflight_requests", "config_last_reload_success",
          "config_restart_pending", "build_info", "upstream_inflight"]
FAMILIES = {"patchbay_" + n for n in COUNTERS + HISTOGRAMS + GAUGES} | CLUSTER_ONLY | TLS_ONLY
HIST = {"patchbay_" + n for n in HISTOGRAMS}
NAME_RE = re.compile(r"\bpatchbay_[a-zA-Z0-9_]+")


def family_of(name):
    """The SPEC family a sample name belongs to, or None."""
    if name in FAMILIES:
        return name
    for suf in ("_bucket", "_sum", "_count"):
        if name.endswith(suf) and name[: -len(suf)] in HIST:
            return name[: -len(suf)]
    return None


# ---------------------------------------------------------------- Dockerfile
def cmd_dockerfile(a):
    from dockerfile_parse import DockerfileParser

    df = DockerfileParser(path=a.file)
    instr = df.structure
    print(f"dockerfile: {a.file} ({len(instr)} instructions, parsed by dockerfile-parse)")
    stages = []
    for i in instr:
        if i["instruction"] == "FROM":
            stages.append({"from": i["value"], "instr": []})
        elif stages:
            stages[-1]["instr"].append(i)
        elif i["instruction"] not in ("ARG", "COMMENT"):
            bad(f"line {i['startline'] + 1}: {i['instruction']} before the first FROM")
    (ok if len(stages) >= 2 else bad)(f"multi-stage build: {len(stages)} stages")
    if not stages:
        return done()
    builder, final = stages[0], stages[-1]
    runs = " ".join(i["value"] for i in builder["instr"] if i["instruction"] == "RUN")
    installs = " ".join(i["value"] for i in builder["instr"]
                        if i["instruction"] == "RUN" and "apt-get install" in i["value"])
    # cmake: libz-ng-sys (flate2) builds with it. clang: nothing needs it (no bindgen in
    # Cargo.lock; the cc crate uses the image's gcc), so installing it is dead weight.
    (ok if re.search(r"\bcmake\b", installs) else bad)("builder stage installs cmake")
    (ok if not re.search(r"\bclang\b", installs) else bad)("builder stage does not install clang")
    (ok if "cargo build --release" in runs else bad)("builder stage runs cargo build --release")
    check_dependency_layer(builder["instr"])
    check_stripped(builder["instr"], global_args(instr))
    (ok if re.match(r"(rust|docker\.io/library/rust)[:@]", builder["from"]) else bad)(
        f"builder is a Rust image ({builder['from']})")
    (ok if "-slim" in final["from"] and "debian" in final["from"] else bad)(
        f"runtime stage is debian-slim ({final['from']})")

    def last(name):
        vals = [i["value"] for i in final["instr"] if i["instruction"] == name]
        return vals[-1] if vals else None

    user = last("USER")
    if user is None:
        bad("final stage sets no USER (would run as root)")
    else:
        u = user.split(":")[0].strip()
        (ok if u not in ("root", "0") else bad)(f"final stage USER {user} is not root")
        (ok if u.isdigit() else bad)(f"USER {user} is numeric (runAsNonRoot can verify it)")
    exposed = set()
    for i in final["instr"]:
        if i["instruction"] == "EXPOSE":
            exposed.update(p.split("/")[0] for p in i["value"].split())
    for port in ("8080", "9090"):
        (ok if port in exposed else bad)(f"EXPOSE {port}")
    sig = last("STOPSIGNAL")
    (ok if sig == "SIGTERM" else bad)(f"STOPSIGNAL {sig}")
    copies = [i["value"] for i in final["instr"] if i["instruction"] == "COPY"]
    (ok if any(c.startswith("--from=builder") and "patchbay" in c for c in copies) else bad)(
        "runtime stage copies the binary from the builder")
    cmdline = (last("ENTRYPOINT") or "") + " " + (last("CMD") or "")
    (ok if "/etc/patchbay/gateway.toml" in cmdline and "serve" in cmdline else bad)(
        f"starts `serve -c /etc/patchbay/gateway.toml` ({cmdline.strip()})")
    for form in ("ENTRYPOINT", "CMD"):
        v = last(form)
        if v is not None:
            try:
                (ok if isinstance(json.loads(v), list) else bad)(f"{form} in exec (JSON) form")
            except ValueError:
                bad(f"{form} not in exec (JSON) form: signals would go to a shell")
    done()


def global_args(instr):
    """ARG defaults declared before the first FROM."""
    out = {}
    for i in instr:
        if i["instruction"] == "FROM":
            break
        if i["instruction"] == "ARG" and "=" in i["value"]:
            k, v = i["value"].split("=", 1)
            out[k.strip()] = v.strip().strip('"')
    return out


def copy_sources(value):
    """The source paths of a COPY value (flags such as --from= and --chown= dropped)."""
    parts = [p for p in value.split() if not p.startswith("--")]
    return parts[:-1]


def check_dependency_layer(steps):
    """Dependencies compile in a layer of their own, before the sources are copied.

    The first COPY brings only Cargo.toml and Cargo.lock; a RUN then builds (stand-in sources,
    so cargo accepts the manifest); the sources come in a later COPY and a later RUN builds the
    binary, after dropping the stand-in's artifacts (COPY keeps modification times that may be
    older than the stand-in build, and cargo would then call the stand-in fresh)."""
    copies = [(n, copy_sources(i["value"])) for n, i in enumerate(steps) if i["instruction"] == "COPY"]
    builds = [n for n, i in enumerate(steps)
              if i["instruction"] == "RUN" and "cargo build" in i["value"]]
    if not copies or not builds:
        bad("builder stage has no COPY or no cargo build")
        return
    first_n, first_src = copies[0]
    (ok if sorted(first_src) == ["Cargo.lock", "Cargo.toml"] else bad)(
        f"first COPY of the builder brings only the manifest and the lock ({' '.join(first_src)})")
    src_copy = next((n for n, srcs in copies if any(s.rstrip("/") in ("src", ".", "./") for s in srcs)), None)
    if src_copy is None:
        bad("builder stage never copies src/")
        return
    deps = [n for n in builds if first_n < n < src_copy]
    (ok if deps else bad)("a cargo build between the manifest COPY and the source COPY (dependency layer)")
    if deps:
        v = steps[deps[0]]["value"]
        (ok if "src/main.rs" in v and "--locked" in v else bad)(
            "the dependency build writes a stand-in src/main.rs and uses --locked")
    final = [n for n in builds if n > src_copy]
    (ok if final else bad)("a cargo build after the source COPY (the gateway layer)")
    if final:
        between = " ".join(steps[n]["value"] for n in range(src_copy, final[-1] + 1)
                           if steps[n]["instruction"] == "RUN")
        (ok if re.search(r"cargo clean\b[^&;]*-p patchbay|touch\b[^&;]*src/", between) else bad)(
            "the stand-in's artifacts are dropped before the real build (cargo clean -p patchbay)")
        (ok if "--locked" in steps[final[-1]]["value"] else bad)("the gateway build uses --locked")


STRIPPING = {"debuginfo", "symbols", "true"}


def check_stripped(steps, args):
    """The shipped binary has no DWARF: CARGO_PROFILE_RELEASE_STRIP (ENV with its ARG default
    resolved, or set on the command) names a stripping level for the last cargo build, or a RUN
    strips the binary with binutils."""
    args = dict(args)
    level, at_build = None, None
    for i in steps:
        if i["instruction"] == "ARG" and "=" in i["value"]:
            k, v = i["value"].split("=", 1)
            args[k.strip()] = v.strip().strip('"')
        elif i["instruction"] == "ENV":
            m = re.search(r"CARGO_PROFILE_RELEASE_STRIP[= ]\s*\"?([^\s\"]+)", i["value"])
            if m:
                level = re.sub(r"\$\{?(\w+)\}?", lambda x: args.get(x.group(1), ""), m.group(1))
        elif i["instruction"] == "RUN" and "cargo build" in i["value"]:
            m = re.search(r"CARGO_PROFILE_RELEASE_STRIP=\"?([^\s\"]+)", i["value"])
            at_build = m.group(1) if m else level
    runs_strip = any(i["instruction"] == "RUN"
                     and re.search(r"\bstrip\b\s+(-\S+\s+)*\S*patchbay", i["value"]) for i in steps)
    (ok if at_build in STRIPPING or runs_strip else bad)(
        f"the binary is stripped (CARGO_PROFILE_RELEASE_STRIP={at_build or 'unset'} at the last cargo build"
        f"{', and a strip command' if runs_strip else ''})")


# ---------------------------------------------------------------- Grafana
GRAFANA_VARS = [
    (r"\$__rate_interval|\$\{__rate_interval\}", "5m"),
    (r"\$__interval|\$\{__interval\}", "1m"),
    (r"\$__range|\$\{__range\}", "6h"),
    (r"\$\{?[A-Za-z_][A-Za-z0-9_]*(:[a-z]+)?\}?", ".*"),
]


def dashboard_exprs(path):
    d = json.load(open(path))
    out = []

    def walk(panels):
        for p in panels:
            for t in p.get("targets", []) or []:
                if t.get("expr"):
                    out.append((p.get("title", "?"), t.get("refId", "?"), t["expr"], p))
            walk(p.get("panels", []) or [])

    walk(d.get("panels", []))
    return d, out


def grafana_to_promql(expr):
    for pat, rep in GRAFANA_VARS:
        expr = re.sub(pat, rep, expr)
    return expr


def cmd_grafana(a):
    print(f"grafana: {a.file}")
    try:
        d, exprs = dashboard_exprs(a.file)
    except ValueError as e:
        bad(f"not valid JSON: {e}")
        return done()
    ok(f"valid JSON, title {d.get('title')!r}, uid {d.get('uid')!r}, schemaVersion {d.get('schemaVersion')}")
    for key in ("title", "uid", "panels", "schemaVersion"):
        (ok if key in d else bad)(f"dashboard has {key!r}")
    ids = []

    def walk(panels):
        for p in panels:
            ids.append(p.get("id"))
            if p.get("type") != "row":
                if not p.get("targets"):
                    bad(f"panel {p.get('title')!r} has no query")
                if "gridPos" not in p:
                    bad(f"panel {p.get('title')!r} has no gridPos")
            walk(p.get("panels", []) or [])

    walk(d.get("panels", []))
    (ok if len(ids) == len(set(ids)) else bad)(f"{len(ids)} panels, unique ids")
    (ok if exprs else bad)(f"{len(exprs)} PromQL expressions extracted")
    names = set()
    for title, ref, expr, _ in exprs:
        names.update(NAME_RE.findall(expr))
    ok(f"metric names used: {', '.join(sorted(names))}")
    if a.rules_out:
        lines = ["# generated by scripts/deploy_checks.py from the Grafana dashboard:",
                 "# each panel query as a recording rule, so that promtool parses it", "groups:",
                 "  - name: dashboard_promql", "    rules:"]
        for n, (title, ref, expr, _) in enumerate(exprs):
            lines.append(f"      # {title} [{ref}]")
            lines.append(f"      - record: dashboard_check:expr_{n}")
            lines.append(f"        expr: {json.dumps(grafana_to_promql(expr))}")
        with open(a.rules_out, "w") as f:
            f.write("\n".join(lines) + "\n")
        ok(f"wrote {len(exprs)} expressions to {a.rules_out} for promtool")
    done()


# ---------------------------------------------------------------- metric names
def alert_exprs(path):
    import yaml

    doc = yaml.safe_load(open(path))
    out = []
    for g in doc.get("groups", []):
        for r in g.get("rules", []):
            out.append((r.get("alert") or r.get("record"), r["expr"]))
    return out


def alert_annotations(path):
    import yaml

    doc = yaml.safe_load(open(path))
    return [(r["alert"], r.get("annotations") or {})
            for g in doc.get("groups", []) for r in g.get("rules", []) if r.get("alert")]


def scrape_names(path):
    present = set()
    for line in open(path, encoding="utf-8", errors="replace"):
        line = line.strip()
        if not line:
            continue
        if line.startswith("#"):
            parts = line.split()
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                present.add(parts[2])
            continue
        m = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line)
        if m:
            present.add(m.group(0))
    return present


def cmd_metrics(a):
    used = {}
    _, dex = dashboard_exprs(a.dashboard)
    for title, ref, expr, _ in dex:
        for n in NAME_RE.findall(expr):
            used.setdefault(n, set()).add(f"dashboard:{title}")
    for name, expr in alert_exprs(a.alerts):
        for n in NAME_RE.findall(expr):
            used.setdefault(n, set()).add(f"alert:{name}")
    for name, annotations in alert_annotations(a.alerts):
        url = annotations.get("runbook_url", "")
        anchor = url.split("#", 1)[1] if "#" in url else ""
        (ok if anchor else bad)(f"alert {name} has a runbook_url with an anchor ({url or 'none'})")
        if anchor:
            # The anchor must exist in docs/operations.md (GitHub-style heading ids).
            doc = os.path.join(os.path.dirname(os.path.abspath(a.alerts)), "..", "..", "docs", "operations.md")
            ids = {re.sub(r"[^a-z0-9 _-]", "", h.strip("# ").strip().lower()).replace(" ", "-")
                   for h in open(doc, encoding="utf-8") if h.startswith("#")}
            (ok if anchor in ids else bad)(f"runbook anchor #{anchor} is a heading of docs/operations.md")
    print(f"metrics: {len(used)} patchbay_* names used by {a.dashboard} and {a.alerts}")
    for n in sorted(used):
        fam = family_of(n)
        (ok if fam else bad)(f"{n} is {'in SPEC family ' + fam if fam else 'NOT a SPEC §7 family'}")
    if a.scrape:
        present = scrape_names(a.scrape)
        ours = sorted(x for x in present if x.startswith("patchbay_"))
        print(f"metrics: scrape {a.scrape} has {len(ours)} patchbay_* names")
        for n in sorted(used):
            fam = family_of(n)
            if fam in CLUSTER_ONLY and n not in present:
                print(f"     skip  {n}: exported only with [cluster], which this scrape's gateway has not")
                continue
            if fam in TLS_ONLY and n not in present:
                print(f"     skip  {n}: exported only with [server] tls, which this scrape's gateway has not")
                continue
            # A histogram family appears as name_bucket/_sum/_count samples and, when the
            # exporter writes them, as `# TYPE name histogram`.
            found = n in present or (fam is not None and fam in present)
            (ok if found else bad)(f"{n} {'present' if found else 'MISSING'} in the scrape"
                                   f" (used by {', '.join(sorted(used[n]))})")
        unknown = sorted({family_of(x) or x for x in ours} - FAMILIES)
        if unknown:
            print(f"  note  the scrape also has names outside SPEC §7: {', '.join(unknown)}")
    done()


# ---------------------------------------------------------------- gateway.toml shape
AUTH_KEYS = {"bearer_env", "bearer_file", "basic_key_env", "basic_key_file",
             "oauth_client_id", "oauth_secret_env", "oauth_secret_file", "token_path"}
SCHEMA = {
    "server": {"listen", "admin", "threads", "max_body_bytes", "log_level", "access_log",
               "token_secret_file", "token_secret_env", "token_ttl_secs"},
    "sandbox": {"enabled", "helpscout_v2", "helpscout_v1", "helpcrunch", "reach",
                "secret_file", "secret_env"},
    "upstream": {"name", "dialect", "url", "auth", "connect_timeout_ms", "read_timeout_ms",
                 "rate_limit_per_minute", "tls_verify"},
    "route": {"name", "client_dialect", "path_prefix", "upstream", "unmappable",
              "default_entry_type", "clients"},
    "cluster": {"redis_url", "password_env", "password_file", "ca_file", "fallback",
                "timeout_ms", "lease_ms", "key_prefix"},
}
CLIENT_KEYS = {"bearer_env", "bearer_file", "basic_key_env", "basic_key_file", "oauth_clients"}
DIALECTS = {"helpscout-v2", "helpscout-v1", "helpcrunch", "reach"}


def cmd_toml(a):
    import tomllib

    for path in a.files:
        print(f"toml: {path}")
        try:
            with open(path, "rb") as f:
                cfg = tomllib.load(f)
        except (OSError, tomllib.TOMLDecodeError) as e:
            bad(f"{path}: {e}")
            continue
        ok("parses as TOML")
        for k in cfg:
            if k not in SCHEMA:
                bad(f"unknown top-level table {k!r}")
        for table in ("server", "sandbox", "cluster"):
            for k in cfg.get(table, {}):
                if k not in SCHEMA[table]:
                    bad(f"[{table}] unknown key {k!r}")
        srv = cfg.get("server", {})
        mb = srv.get("max_body_bytes", 65536)
        (ok if isinstance(mb, int) and 0 < mb <= 65536 else bad)(f"server.max_body_bytes = {mb} (<= 65536)")
        ups = cfg.get("upstream", [])
        names = set()
        for n, u in enumerate(ups):
            where = f"upstream[{n}] ({u.get('name')})"
            for k in u:
                if k not in SCHEMA["upstream"]:
                    bad(f"{where}: unknown key {k!r}")
            for k in u.get("auth", {}):
                if k not in AUTH_KEYS:
                    bad(f"{where}.auth: unknown key {k!r}")
            if u.get("dialect") not in DIALECTS:
                bad(f"{where}: dialect {u.get('dialect')!r}")
            names.add(u.get("name"))
        (ok if ups else bad)(f"{len(ups)} upstream(s): {', '.join(sorted(map(str, names)))}")
        routes = cfg.get("route", [])
        for n, r in enumerate(routes):
            where = f"route[{n}] ({r.get('name')})"
            for k in r:
                if k not in SCHEMA["route"]:
                    bad(f"{where}: unknown key {k!r}")
            if r.get("upstream") not in names:
                bad(f"{where}: upstream {r.get('upstream')!r} is not defined")
            if r.get("client_dialect") not in DIALECTS | {"auto"}:
                bad(f"{where}: client_dialect {r.get('client_dialect')!r}")
            if r.get("unmappable", "reject") not in ("reject", "drop"):
                bad(f"{where}: unmappable {r.get('unmappable')!r}")
            for k, v in r.get("clients", {}).items():
                if k not in CLIENT_KEYS:
                    bad(f"{where}.clients: unknown key {k!r}")
                if k == "oauth_clients":
                    for c in v:
                        for ck in c:
                            if ck not in ("client_id", "secret_env", "secret_file"):
                                bad(f"{where}.clients.oauth_clients: unknown key {ck!r}")
        (ok if routes else bad)(f"{len(routes)} route(s): {', '.join(r.get('name', '?') for r in routes)}")
        # Secrets only by reference: every credential-bearing key ends in _env or _file.
        literal = []

        def walk(v, p):
            if isinstance(v, dict):
                for k, x in v.items():
                    if re.search(r"(secret|token|password|api_key|bearer|basic_key)$", k) and not k.endswith(("_env", "_file")):
                        literal.append(f"{p}.{k}")
                    walk(x, f"{p}.{k}")
            elif isinstance(v, list):
                for i, x in enumerate(v):
                    walk(x, f"{p}[{i}]")

        walk(cfg, "")
        (ok if not literal else bad)("no literal secrets" + (f": {literal}" if literal else ""))
    done()


# ---------------------------------------------------------------- cross-file consistency
def cmd_consistency(a):
    import yaml

    root = a.root
    print("consistency: deploy/ files agree with each other")
    cm = yaml.safe_load(open(f"{root}/deploy/k8s/configmap.yaml"))
    gw = open(f"{root}/deploy/gateway.toml").read()
    (ok if cm["data"].get("gateway.toml") == gw else bad)(
        "deploy/k8s/configmap.yaml holds deploy/gateway.toml verbatim (else: scripts/render-configmap.sh)")

    dep = yaml.safe_load(open(f"{root}/deploy/k8s/deployment.yaml"))
    pod = dep["spec"]["template"]["spec"]
    c = pod["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    (ok if ports.get("http") == 8080 and ports.get("admin") == 9090 else bad)(f"container ports {ports}")
    cfg_vols = {v["name"] for v in pod["volumes"] if "configMap" in v}
    for m in c["volumeMounts"]:
        if m["name"] in cfg_vols:
            (ok if "subPath" not in m else bad)(
                f"ConfigMap mounted as a directory at {m['mountPath']} (no subPath: ..data swap reaches the pod)")
            (ok if m["mountPath"] == "/etc/patchbay" else bad)("ConfigMap mount path /etc/patchbay")
    (ok if "/etc/patchbay/gateway.toml" in " ".join(c.get("args", [])) else bad)("args point at /etc/patchbay/gateway.toml")
    for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
        g = c.get(probe, {}).get("httpGet", {})
        (ok if g.get("path") == path and g.get("port") in ("admin", 9090) else bad)(
            f"{probe} GET {g.get('path')} on port {g.get('port')}")
    pre = c.get("lifecycle", {}).get("preStop", {})
    pre_s = pre.get("sleep", {}).get("seconds")
    if pre_s is None:
        cmdv = pre.get("exec", {}).get("command", [])
        if len(cmdv) == 2 and cmdv[0].endswith("sleep"):
            pre_s = int(cmdv[1])
    tgp = pod.get("terminationGracePeriodSeconds", 30)
    drain = a.drain
    (ok if pre_s else bad)(f"preStop sleep {pre_s}s")
    (ok if pre_s and tgp >= pre_s + drain else bad)(
        f"terminationGracePeriodSeconds {tgp} >= preStop {pre_s} + drain {drain}")
    sc = c.get("securityContext", {})
    psc = pod.get("securityContext", {})
    (ok if psc.get("runAsNonRoot") and sc.get("allowPrivilegeEscalation") is False else bad)(
        "runAsNonRoot, no privilege escalation")
    (ok if sc.get("readOnlyRootFilesystem") and any(m["mountPath"] == "/tmp" for m in c["volumeMounts"]) else bad)(
        "read-only root filesystem with a writable /tmp (Pingora pid file, upgrade socket)")

    ing = yaml.safe_load(open(f"{root}/deploy/k8s/ingress.yaml"))
    ann = ing["metadata"].get("annotations", {})
    (ok if ann.get("nginx.ingress.kubernetes.io/upstream-hash-by") == "$1" else bad)(
        f"ingress upstream-hash-by = {ann.get('nginx.ingress.kubernetes.io/upstream-hash-by')!r}")
    (ok if ann.get("nginx.ingress.kubernetes.io/use-regex") == "true" else bad)("ingress use-regex")
    for rule in ing["spec"]["rules"]:
        for p in rule["http"]["paths"]:
            if p["path"] == "/":
                continue
            try:
                groups = re.compile(p["path"]).groups
            except re.error as e:
                bad(f"ingress path {p['path']!r}: {e}")
                continue
            (ok if groups == 1 and "customers/(" in p["path"] else bad)(
                f"ingress path {p['path']!r}: capture group 1 is the customer id")
    prefixes = {r["path_prefix"] for r in __import__("tomllib").loads(gw)["route"]}
    hashed = {p["path"].split("/")[1] for rule in ing["spec"]["rules"] for p in rule["http"]["paths"] if p["path"] != "/"}
    for pre_ in sorted(prefixes):
        (ok if pre_.strip("/") in hashed else bad)(f"route prefix {pre_} has a hashed ingress path")

    # The shared Redis: the URL's host is the Service of deploy/k8s/redis.yaml (when the file is
    # there; a managed Redis replaces it), and the password key exists in the Secret's shape.
    cluster = __import__("tomllib").loads(gw).get("cluster")
    redis_path = f"{root}/deploy/k8s/redis.yaml"
    if cluster and os.path.exists(redis_path):
        docs = [d for d in yaml.safe_load_all(open(redis_path)) if d]
        svc = next((d for d in docs if d.get("kind") == "Service"), {})
        name = svc.get("metadata", {}).get("name", "")
        ports = [p.get("port") for p in svc.get("spec", {}).get("ports", [])]
        url = cluster.get("redis_url", "")
        (ok if f"//{name}." in url and f":{ports[0] if ports else ''}" in url else bad)(
            f"cluster.redis_url {url!r} names Service {name!r} port {ports}")
        pw = cluster.get("password_file", "")
        sec = yaml.safe_load(open(f"{root}/deploy/examples/secret.example.yaml"))
        (ok if not pw or os.path.basename(pw) in sec.get("stringData", {}) else bad)(
            f"cluster.password_file {pw!r} is a key of the Secret")

    unit = open(f"{root}/deploy/systemd/patchbay.service").read()
    kv = dict(re.findall(r"^(\w+)=(.*)$", unit, re.M))
    (ok if kv.get("KillSignal") == "SIGTERM" else bad)(f"systemd KillSignal={kv.get('KillSignal')}")
    (ok if "kill -HUP $MAINPID" in kv.get("ExecReload", "") else bad)(f"systemd ExecReload={kv.get('ExecReload')}")
    t = int(re.sub(r"s$", "", kv.get("TimeoutStopSec", "0")))
    (ok if t >= drain else bad)(f"systemd TimeoutStopSec={t} >= drain {drain}")
    done()


# ---------------------------------------------------------------- kustomization (applied set)
def load_docs(path):
    import yaml

    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def secret_files(gw_path):
    """Basenames of every /run/secrets/patchbay/* file deploy/gateway.toml references."""
    import tomllib

    with open(gw_path, "rb") as f:
        cfg = tomllib.load(f)
    out = set()

    def walk(v):
        if isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)
        elif isinstance(v, str) and v.startswith("/run/secrets/patchbay/"):
            out.add(v.rsplit("/", 1)[1])

    walk(cfg)
    return out


CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PriorityClass", "StorageClass"}


def cmd_kustomization(a):
    import yaml

    k8s = os.path.join(a.root, "deploy", "k8s")
    examples = os.path.join(a.root, "deploy", "examples")
    print("kustomization: deploy/k8s/kustomization.yaml is the applied set")
    kz = yaml.safe_load(open(os.path.join(k8s, "kustomization.yaml")))
    (ok if kz.get("apiVersion") == "kustomize.config.k8s.io/v1beta1" and kz.get("kind") == "Kustomization" else bad)(
        f"apiVersion/kind {kz.get('apiVersion')}/{kz.get('kind')}")
    resources = kz.get("resources") or []
    # Plain files of this directory only: no remote bases (they would change what is applied
    # behind our back), no parent paths, nothing from examples/.
    for r in resources:
        plain = "/" not in r and "://" not in r and r.endswith((".yaml", ".yml"))
        (ok if plain else bad)(f"resource {r} is a file of deploy/k8s/")
        if plain:
            (ok if os.path.isfile(os.path.join(k8s, r)) else bad)(f"resource {r} exists")
        if "example" in r:
            bad(f"resource {r} is an example: examples are never applied")
    (ok if len(resources) == len(set(resources)) else bad)(f"{len(resources)} resources, none twice")
    on_disk = sorted(f for f in os.listdir(k8s)
                     if f.endswith((".yaml", ".yml")) and f not in ("kustomization.yaml", "kustomization.yml"))
    for f in on_disk:
        (ok if f in resources else bad)(f"deploy/k8s/{f} is listed (kubectl apply -k applies it)")
    for key in ("secretGenerator", "bases", "components", "patches", "patchesStrategicMerge", "helmCharts"):
        (ok if key not in kz else bad)(f"no {key} (the applied set is the listed files)")
    cm_gen = kz.get("configMapGenerator") or []
    (ok if not cm_gen else bad)(
        "no configMapGenerator: the ConfigMap keeps its name so that edits hot-reload (configmap.yaml)")

    # No Secret anywhere under deploy/k8s/, even with `kubectl apply -R -f deploy/k8s/`.
    for dirpath, _, files in os.walk(k8s):
        for f in files:
            if not f.endswith((".yaml", ".yml")) or f.startswith("kustomization."):
                continue
            path = os.path.join(dirpath, f)
            kinds = [d.get("kind") for d in load_docs(path)]
            rel = os.path.relpath(path, a.root)
            (ok if "Secret" not in kinds else bad)(f"{rel} holds no Secret ({', '.join(map(str, kinds))})")

    example = os.path.join(examples, "secret.example.yaml")
    if not os.path.isfile(example):
        bad("deploy/examples/secret.example.yaml is missing")
    else:
        docs = load_docs(example)
        sec = next((d for d in docs if d.get("kind") == "Secret"), None)
        (ok if sec and sec["metadata"].get("name") == "patchbay-secrets" else bad)(
            "deploy/examples/secret.example.yaml shows the Secret patchbay-secrets")
        dep = load_docs(os.path.join(k8s, "deployment.yaml"))[0]
        names = {v.get("secret", {}).get("secretName") for v in dep["spec"]["template"]["spec"]["volumes"]}
        (ok if "patchbay-secrets" in names else bad)("the Deployment mounts the Secret patchbay-secrets")
        if sec:
            keys = set((sec.get("stringData") or {}) | (sec.get("data") or {}))
            wanted = secret_files(os.path.join(a.root, "deploy", "gateway.toml"))
            for w in sorted(wanted):
                (ok if w in keys else bad)(f"secret file {w} of deploy/gateway.toml is a key of the example")
            for k in sorted(keys - wanted):
                bad(f"example key {k} is no secret file of deploy/gateway.toml")

    if a.rendered:
        listed = set()
        for r in resources:
            path = os.path.join(k8s, r)
            if os.path.isfile(path):
                for d in load_docs(path):
                    ns = None if d["kind"] in CLUSTER_SCOPED else d["metadata"].get("namespace", kz.get("namespace"))
                    listed.add((d["kind"], ns, d["metadata"]["name"]))
        docs = load_docs(a.rendered)
        got = {(d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]) for d in docs}
        print(f"kustomization: rendered {a.rendered}: {len(docs)} objects")
        (ok if got == listed else bad)(
            f"rendered objects are exactly the listed manifests' ({len(got)} vs {len(listed)}"
            f"{'; only rendered: ' + str(sorted(got - listed)) if got - listed else ''}"
            f"{'; only listed: ' + str(sorted(listed - got)) if listed - got else ''})")
        (ok if not any(k == "Secret" for k, _, _ in got) else bad)("the rendered set holds no Secret")
        want_ns = kz.get("namespace")
        (ok if all(ns == want_ns for k, ns, _ in got if k not in CLUSTER_SCOPED) else bad)(
            f"every namespaced object is in {want_ns}")
        cm = next((d for d in docs if d["kind"] == "ConfigMap"), None)
        gw = open(os.path.join(a.root, "deploy", "gateway.toml")).read()
        (ok if cm and cm["metadata"]["name"] == "patchbay-config" and cm["data"].get("gateway.toml") == gw else bad)(
            "rendered ConfigMap patchbay-config (no hash suffix) holds deploy/gateway.toml verbatim")
    done()


# ---------------------------------------------------------------- NetworkPolicy
def selects(selector, labels):
    """Whether a LabelSelector (matchLabels, matchExpressions In/NotIn/Exists) selects labels."""
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for e in selector.get("matchExpressions") or []:
        k, op, vals = e["key"], e["operator"], e.get("values") or []
        if (op == "In" and labels.get(k) not in vals) or (op == "NotIn" and labels.get(k) in vals) \
                or (op == "Exists" and k not in labels) or (op == "DoesNotExist" and k in labels):
            return False
    return True


def cmd_networkpolicy(a):
    k8s = os.path.join(a.root, "deploy", "k8s")
    print("networkpolicy: the admin port only from Prometheus, the proxy port from anywhere")
    dep = load_docs(os.path.join(k8s, "deployment.yaml"))[0]
    pod = dep["spec"]["template"]
    labels = pod["metadata"]["labels"]
    c = pod["spec"]["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    port_no = lambda p: ports.get(p, p) if isinstance(p, str) else p  # noqa: E731
    policies = []
    for f in sorted(os.listdir(k8s)):
        if f.endswith((".yaml", ".yml")) and not f.startswith("kustomization."):
            policies += [(f, d) for d in load_docs(os.path.join(k8s, f)) if d.get("kind") == "NetworkPolicy"]
    mine = [(f, d) for f, d in policies
            if d["metadata"].get("namespace") == dep["metadata"]["namespace"]
            and selects(d["spec"].get("podSelector") or {}, labels)
            and "Ingress" in (d["spec"].get("policyTypes") or ["Ingress"])]
    (ok if mine else bad)(f"a NetworkPolicy with Ingress rules selects the gateway pods {labels}"
                          f" ({', '.join(f for f, _ in mine) or 'none'})")
    if not mine:
        return done()
    sel = mine[0][1]["spec"]["podSelector"].get("matchLabels") or {}
    (ok if sel.get("app.kubernetes.io/component") == labels.get("app.kubernetes.io/component") else bad)(
        f"its podSelector names the gateway component, not every pod of the app ({sel})")

    # Union over every policy that selects the pods (NetworkPolicies are additive).
    open_to_all, admin_peers = set(), []
    for f, d in mine:
        for n, rule in enumerate(d["spec"].get("ingress") or []):
            rule_ports = rule.get("ports")
            covered = {port_no(p.get("port")) for p in rule_ports} if rule_ports else {"*"}
            peers = rule.get("from") or []
            if not peers:
                open_to_all |= covered
            elif "*" in covered or 9090 in covered:
                admin_peers += [(f"{f} ingress[{n}]", p) for p in peers]
    (ok if 8080 in open_to_all or "*" in open_to_all else bad)("the proxy port (http, 8080) is open to every source")
    (ok if 9090 not in open_to_all and "*" not in open_to_all else bad)(
        "the admin port (9090) is not open to every source")
    (ok if admin_peers else bad)("some source may reach the admin port (Prometheus must scrape it)")
    for where, p in admin_peers:
        ip = (p.get("ipBlock") or {}).get("cidr")
        ns, ps = p.get("namespaceSelector"), p.get("podSelector")
        # An empty namespaceSelector means every namespace; alone, that is everyone in the cluster.
        wide = ip in ("0.0.0.0/0", "::/0") or (ns is not None and not ns and not ps)
        (ok if not wide else bad)(f"{where}: admin source {p} is not 'everyone'")
        if ns is not None or ps is not None:
            (ok if ns and ps else bad)(f"{where}: admin source names both a namespace and the Prometheus pods")
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        g = (c.get(probe) or {}).get("httpGet")
        if g:
            print(f"  note  {probe} GET {g['path']} on {g['port']}: from the kubelet on the pod's node, "
                  "always allowed by NetworkPolicy semantics (docs/operations.md)")
    done()


# ---------------------------------------------------------------- secrets for `patchbay check`
def cmd_check_env(a):
    import tomllib

    src = open(a.file).read()
    cfg = tomllib.loads(src)
    files, envs = set(), set()

    def walk(v, key=""):
        if isinstance(v, dict):
            for k, x in v.items():
                walk(x, k)
        elif isinstance(v, list):
            for x in v:
                walk(x, key)
        elif isinstance(v, str):
            if key.endswith("_file"):
                files.add(v)
            elif key.endswith("_env"):
                envs.add(v)

    walk(cfg)
    os.makedirs(a.outdir, exist_ok=True)
    out = src
    for n, f in enumerate(sorted(files)):
        local = os.path.join(a.outdir, f"secret-{n}-{os.path.basename(f)}")
        with open(local, "w") as fh:
            fh.write(secrets.token_hex(32) + "\n")
        out = out.replace(f'"{f}"', json.dumps(local))
    path = os.path.join(a.outdir, os.path.basename(a.file))
    with open(path, "w") as fh:
        fh.write(out)
    for e in sorted(envs):
        print(f"export {e}={secrets.token_hex(32)}")
    print(f"CHECK_FILE={path}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sp = ap.add_subparsers(dest="cmd", required=True)
    p = sp.add_parser("dockerfile"); p.add_argument("file"); p.set_defaults(fn=cmd_dockerfile)
    p = sp.add_parser("grafana"); p.add_argument("file"); p.add_argument("--rules-out"); p.set_defaults(fn=cmd_grafana)
    p = sp.add_parser("metrics"); p.add_argument("--dashboard", required=True); p.add_argument("--alerts", required=True)
    p.add_argument("--scrape"); p.set_defaults(fn=cmd_metrics)
    p = sp.add_parser("toml"); p.add_argument("files", nargs="+"); p.set_defaults(fn=cmd_toml)
    p = sp.add_parser("consistency"); p.add_argument("root"); p.add_argument("--drain", type=int, default=31)
    p.set_defaults(fn=cmd_consistency)
    p = sp.add_parser("kustomization"); p.add_argument("root"); p.add_argument("--rendered")
    p.set_defaults(fn=cmd_kustomization)
    p = sp.add_parser("networkpolicy"); p.add_argument("root"); p.set_defaults(fn=cmd_networkpolicy)
    p = sp.add_parser("check-env"); p.add_argument("file"); p.add_argument("outdir"); p.set_defaults(fn=cmd_check_env)
    a = ap.parse_args()
    a.fn(a)


if __name__ == "__main__":
    main()
