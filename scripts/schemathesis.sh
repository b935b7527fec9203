#!/usr/bin/env bash
# Property-based check of a RUNNING gateway against openapi/patchbay.json with Schemathesis.
# Starts nothing itself: give it one base URL (a route prefix on the gateway) per dialect.
#
#   scripts/schemathesis.sh [options] DIALECT=BASE_URL...
#   scripts/schemathesis.sh --install-only
#
#   DIALECT=BASE_URL   run the operations tagged DIALECT (helpscout-v2, helpscout-v1,
#                      helpcrunch, reach) against BASE_URL, e.g.
#                      helpcrunch=http://127.0.0.1:8080/crunch-to-reach (may repeat a dialect)
#   -n, --max-examples N   examples per operation and phase (default 15; env ST_MAX_EXAMPLES)
#   --seed N               hypothesis seed (default 1, reproducible; env ST_SEED)
#   -H, --header 'K: V'    header sent with every request (e.g. the route's credentials)
#   --install-only         create/refresh the venv and exit
#   --no-install           never install: fail when the venv is missing
#
# Checks (every one must pass): not_a_server_error (no 5xx at all), status_code_conformance,
# content_type_conformance, response_schema_conformance, response_headers_conformance (the two
# conformance checks through openapi/schemathesis_hooks.py: helpscout-v1's empty PUT answer).
# Schemathesis comes from PyPI into a venv (idempotent) under
# ${XDG_CACHE_HOME:-~/.cache}/patchbay-schemathesis (override: SCHEMATHESIS_VENV).
# Exits non-zero on any failure; the last line is "N passed, N failed" (one per DIALECT=URL).
# Against `make run` (gateway.toml), one route per dialect:
#   scripts/schemathesis.sh -H 'Authorization: Bearer patchbay-sandbox-demo-secret' \
#     helpscout-v2=http://127.0.0.1:8080/hs2-to-crunch helpscout-v1=http://127.0.0.1:8080/hs1-to-hs2 \
#     helpcrunch=http://127.0.0.1:8080/crunch-to-reach reach=http://127.0.0.1:8080/reach-to-hs2
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${SCHEMATHESIS_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/patchbay-schemathesis}"
VERSION="4.32.5"
SPEC="$ROOT/openapi/patchbay.json"
# content/schema conformance are the built-in checks wrapped by openapi/schemathesis_hooks.py,
# which lets exactly one answer OpenAPI 3.0 cannot express through: helpscout-v1's empty 200
# to a PUT without `reload` (see that file).
CHECKS="not_a_server_error,status_code_conformance,response_headers_conformance,patchbay_content_type_conformance,patchbay_response_schema_conformance"
MAX_EXAMPLES="${ST_MAX_EXAMPLES:-15}"
SEED="${ST_SEED:-1}"
INSTALL=1
INSTALL_ONLY=0
HEADERS=()
TARGETS=()
while [ $# -gt 0 ]; do
    case "$1" in
        -n|--max-examples) MAX_EXAMPLES="${2:?$1 needs a number}"; shift 2 ;;
        --seed) SEED="${2:?--seed needs a number}"; shift 2 ;;
        -H|--header) HEADERS+=(-H "${2:?$1 needs 'Name: value'}"); shift 2 ;;
        --install-only) INSTALL_ONLY=1; shift ;;
        --no-install) INSTALL=0; shift ;;
        -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
        *=*) TARGETS+=("$1"); shift ;;
        *) echo "unknown argument: $1 (expected DIALECT=BASE_URL)" >&2; exit 2 ;;
    esac
done

command -v python3 >/dev/null || { echo "python3 is required" >&2; exit 3; }

ST="$VENV/bin/schemathesis"
if ! "$VENV/bin/python" -c "import schemathesis, sys; sys.exit(schemathesis.__version__ != '$VERSION')" 2>/dev/null; then
    if [ $INSTALL -eq 0 ]; then
        echo "schemathesis $VERSION missing in $VENV (--no-install)" >&2
        exit 3
    fi
    echo "installing schemathesis $VERSION into $VENV"
    python3 -m venv "$VENV" || { echo "python3 -m venv failed (Debian: apt-get install python3-venv)" >&2; exit 3; }
    "$VENV/bin/pip" install -q --disable-pip-version-check "schemathesis==$VERSION" ||
        { echo "pip install schemathesis==$VERSION failed" >&2; exit 3; }
fi
[ $INSTALL_ONLY -eq 1 ] && { "$ST" --version; exit 0; }

[ ${#TARGETS[@]} -gt 0 ] || { echo "no DIALECT=BASE_URL given (see --help)" >&2; exit 2; }
python3 "$ROOT/openapi/generate.py" --check || exit 1

TMP="$(mktemp -d /tmp/patchbay-schemathesis.XXXXXX)"
trap 'rm -rf "$TMP"' EXIT
passed=0
failed=0
failures=()
for t in "${TARGETS[@]}"; do
    dialect="${t%%=*}"
    url="${t#*=}"
    case "$dialect" in
        helpscout-v2|helpscout-v1|helpcrunch|reach) ;;
        *) echo "unknown dialect '$dialect' in $t" >&2; exit 2 ;;
    esac
    echo "== $dialect against $url"
    # Run from a scratch directory: Schemathesis writes its report/cache dirs to the cwd.
    (cd "$TMP" && PYTHONPATH="$ROOT/openapi" SCHEMATHESIS_HOOKS=schemathesis_hooks \
        "$ST" --no-color run "$SPEC" \
        --url "$url" \
        --include-tag "$dialect" \
        --checks "$CHECKS" \
        --max-examples "$MAX_EXAMPLES" \
        --seed "$SEED" \
        --phases examples,coverage,fuzzing \
        --workers 1 \
        --request-timeout 10 \
        --suppress-health-check all \
        ${HEADERS[@]+"${HEADERS[@]}"})
    rc=$?
    if [ $rc -eq 0 ]; then
        echo "   PASS $dialect"
        passed=$((passed + 1))
    else
        echo "   FAIL $dialect (schemathesis exit $rc)"
        failed=$((failed + 1))
        failures+=("$dialect@$url")
    fi
done
[ $failed -gt 0 ] && printf 'failed: %s\n' "${failures[*]}"
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
