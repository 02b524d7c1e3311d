# Sourced by the scripts in this folder: puts every tool the project needs in place,
# installing what a fresh machine lacks, and caches builds outside the clone.
#   STOP_CACHE        where the venv and the cargo target dir live (~/.cache/stop)
#   CARGO_TARGET_DIR  kept if set, else $STOP_CACHE/target

set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STOP_CACHE=${STOP_CACHE:-$HOME/.cache/stop}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$STOP_CACHE/target}
export SAM_CLI_TELEMETRY=0
export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1}
VENV=$STOP_CACHE/venv

say() { printf '\n\033[1m==> %s\033[0m\n' "$*" >&2; }

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
    python3 -m venv "$VENV"
  fi
  if ! cmp -s "$ROOT/requirements-dev.txt" "$stamp"; then
    say "installing tools from requirements-dev.txt (cfn-lint, aws-sam-cli, cargo-lambda)"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$ROOT/requirements-dev.txt"
    cp "$ROOT/requirements-dev.txt" "$stamp"
  fi
  export PATH=$VENV/bin:$PATH
}
