# Sourced by the scripts in this folder: puts every tool the project needs in place,
# installing what a fresh machine lacks, and caches builds outside the clone.
#   STOP_CACHE        where the venvs (tools, checkov) and the cargo target dir live (~/.cache/stop)
#   CARGO_TARGET_DIR  kept if set, else $STOP_CACHE/target

set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STOP_CACHE=${STOP_CACHE:-$HOME/.cache/stop}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$STOP_CACHE/target}
export SAM_CLI_TELEMETRY=0
export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1}
VENV=$STOP_CACHE/venv

# Each stage's header says how long the script has run, so a log shows where the time goes.
say() { printf '\n\033[1m==> [%4d s] %s\033[0m\n' "$SECONDS" "$*" >&2; }

ensure_rust() {
  command -v cargo >/dev/null || { echo "cargo not found: install Rust with rustup first" >&2; exit 1; }
  local installed
  installed=$(rustup target list --installed 2>/dev/null || true)
  if ! grep -qx aarch64-unknown-linux-gnu <<<"$installed"; then
    say "adding the aarch64-unknown-linux-gnu Rust target (Lambda arm64)"
    rustup target add aarch64-unknown-linux-gnu
  fi
  local components
  components=$(rustup component list --installed 2>/dev/null || true)
  for c in rustfmt clippy; do
    grep -q "^$c" <<<"$components" || rustup component add "$c"
  done
}

ensure_venv() {
  local stamp=$VENV/.requirements
  if [ ! -x "$VENV/bin/python" ]; then
    say "creating the tools venv in $VENV"
    mkdir -p "$STOP_CACHE"
    # Debian's own python3 keeps venv in a package of its own.
    python3 -m venv "$VENV" 2>/dev/null || {
      rm -rf "$VENV"
      apt_install python3-venv
      python3 -m venv "$VENV"
    }
  fi
  if ! cmp -s "$ROOT/requirements-dev.txt" "$stamp"; then
    say "installing tools from requirements-dev.txt (cfn-lint, aws-sam-cli, cargo-lambda, moto)"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$ROOT/requirements-dev.txt"
    cp "$ROOT/requirements-dev.txt" "$stamp"
  fi
  export PATH=$VENV/bin:$PATH
}

# checkov in a venv of its own ($STOP_CACHE/venv-checkov, from the pinned
# requirements-checkov.txt): its dependency pins would fight cfn-lint's and the
# SAM CLI's in the tools venv. Reinstalls when the requirements file changes;
# puts checkov on PATH.
CHECKOV_VENV=$STOP_CACHE/venv-checkov

ensure_checkov() {
  local stamp=$CHECKOV_VENV/.requirements
  if [ ! -x "$CHECKOV_VENV/bin/python" ]; then
    say "creating the checkov venv in $CHECKOV_VENV"
    mkdir -p "$STOP_CACHE"
    python3 -m venv "$CHECKOV_VENV" 2>/dev/null || {
      rm -rf "$CHECKOV_VENV"
      apt_install python3-venv
      python3 -m venv "$CHECKOV_VENV"
    }
  fi
  if ! cmp -s "$ROOT/requirements-checkov.txt" "$stamp"; then
    say "installing checkov from requirements-checkov.txt"
    "$CHECKOV_VENV/bin/pip" install --quiet --disable-pip-version-check -r "$ROOT/requirements-checkov.txt"
    cp "$ROOT/requirements-checkov.txt" "$stamp"
  fi
  export PATH=$CHECKOV_VENV/bin:$PATH
}

# moto server (an AWS protocol emulator) on a free loopback port, for the
# over-the-wire SDK tests; exports STOP_MOTO_ENDPOINT and stops with the script.
start_moto() {
  local port log
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  log=$(mktemp)
  moto_server -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
  MOTO_PID=$!
  trap 'kill $MOTO_PID 2>/dev/null || true' EXIT
  for _ in $(seq 1 50); do
    if python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/')" 2>/dev/null; then
      export STOP_MOTO_ENDPOINT=http://127.0.0.1:$port
      return 0
    fi
    sleep 0.2
  done
  echo "moto server did not start:" >&2
  cat "$log" >&2
  return 1
}

# Debian packages, for what a fresh machine may lack (root installs with apt).
apt_install() {
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# Debian's PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup) for the
# real-engine tests (crates/pg): they start their own servers on loopback in a
# temporary directory; the packaged cluster the install creates is not used.
ensure_postgres() {
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && return 0
  say "installing Debian's postgresql for the real-engine tests"
  apt_install postgresql
}

# Debian's Chromium for the console test.
ensure_chromium() {
  command -v chromium >/dev/null && return 0
  say "installing Debian's chromium for the browser test"
  apt_install chromium
}

# playwright-core (no browser download: it drives Debian's chromium), on
# Node.js from Debian when the machine has none.
ensure_browser_test_deps() {
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    say "installing Debian's nodejs and npm for the browser test"
    apt_install nodejs npm
  fi
  (cd "$ROOT/tests/browser" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
}
