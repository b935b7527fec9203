#!/usr/bin/env bash
# The published Help Scout client libraries, pinned, for tests/sdks.rs: each one is pointed at a
# running gateway and drives ordinary customer calls through it (tests/sdk/<name>.{py,js}).
#
#   scripts/sdks.sh --install-only        install every SDK (idempotent), then exit
#   scripts/sdks.sh run NAME [ARGS...]    run tests/sdk/NAME with its SDK (never installs)
#
# Python SDKs get one venv each (python-helpscout and helpscout-wrapper both install a top-level
# `helpscout` package, and so does the v1 client), the npm SDKs one node_modules folder, all
# under ${XDG_CACHE_HOME:-~/.cache}/patchbay-sdks (override: PATCHBAY_SDKS).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HOME_DIR="${PATCHBAY_SDKS:-${XDG_CACHE_HOME:-$HOME/.cache}/patchbay-sdks}"

# name → pinned requirement (Python) ; the npm ones share one folder.
PY_SDKS=(
  "python-helpscout:python-helpscout==2.0.2"
  "helpscout-wrapper:helpscout-wrapper==0.0.3"
  "helpscout-v1:helpscout==0.1.3"
)
NPM_SDKS="helpscout-2.0@1.1.5 helpscout-mailbox-api@1.0.1"

install() {
  mkdir -p "$HOME_DIR"
  for entry in "${PY_SDKS[@]}"; do
    local name="${entry%%:*}" req="${entry#*:}" venv="$HOME_DIR/${entry%%:*}"
    # (no `pip freeze | grep -q`: under pipefail grep's early exit fails the pipeline)
    if [ -x "$venv/bin/python" ] && "$venv/bin/pip" freeze 2>/dev/null | grep -ix "$req" >/dev/null; then
      continue
    fi
    echo "installing $req into $venv"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check "$req"
  done
  local stamp="$HOME_DIR/npm/.installed"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$NPM_SDKS" ]; then
    command -v npm >/dev/null || {
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm
    }
    echo "installing $NPM_SDKS into $HOME_DIR/npm"
    mkdir -p "$HOME_DIR/npm"
    (cd "$HOME_DIR/npm" && npm install -q --no-audit --no-fund --no-save --prefix . $NPM_SDKS >/dev/null)
    echo "$NPM_SDKS" > "$stamp"
  fi
}

run() {
  local name="$1"; shift
  case "$name" in
    python-helpscout|helpscout-wrapper|helpscout-v1)
      exec "$HOME_DIR/$name/bin/python" "$ROOT/tests/sdk/$name.py" "$@" ;;
    helpscout-2.0|helpscout-mailbox-api)
      NODE_PATH="$HOME_DIR/npm/node_modules" exec node "$ROOT/tests/sdk/$name.js" "$@" ;;
    *) echo "unknown SDK $name" >&2; exit 2 ;;
  esac
}

case "${1:-}" in
  --install-only) install ;;
  run) shift; run "$@" ;;
  *) sed -n '2,10p' "$0"; exit 2 ;;
esac
