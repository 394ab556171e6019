#!/usr/bin/env bash
# Builds the symscope server wheel (maturin, via `uv build --wheel` at the repository root) for the
# platform .vsix, cached OUTSIDE the clone by a hash of every source file that goes into it: a later
# run with the same sources reuses the wheel without starting cargo. CARGO_TARGET_DIR is honoured
# (default: <cache>/target), so a build reuses the compiled Rust of `uv sync` and earlier runs.
#
# Prints the wheel's path on its last stdout line.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
CACHE_ROOT=${SYMSCOPE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/symscope}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$CACHE_ROOT/target}
command -v uv > /dev/null || { echo "build-wheel: uv not found; fix: https://docs.astral.sh/uv/ (pip install uv)" >&2; exit 2; }

cd "$REPO"
# What maturin packs: pyproject, the crate, the Python package, vendored grammars. README.md (only the
# wheel's long description) is left out on purpose: a documentation edit must not cost a Rust build.
key=$(git ls-files -z --cached --others --exclude-standard -- pyproject.toml LICENSE Cargo.toml Cargo.lock build.rs rust lsp_server vendor \
  | while IFS= read -r -d '' f; do [[ -f "$f" ]] && printf '%s\0' "$f"; done | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
DEST="$CACHE_ROOT/wheels/$key"
# No folder yet for these sources is the usual case after a change: find's failure must not end the
# script (set -e with pipefail), it means "build one".
cached=$(find "$DEST" -maxdepth 1 -name 'symscope-*.whl' 2>/dev/null | head -n 1 || true)
if [[ -n "$cached" ]]; then
  echo "server wheel cached at $cached" >&2
  echo "$cached"
  exit 0
fi

mkdir -p "$CACHE_ROOT/wheels"
WORK=$(mktemp -d "$CACHE_ROOT/wheels/.build.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
uv build --wheel --out-dir "$WORK" >&2
wheel=$(find "$WORK" -maxdepth 1 -name 'symscope-*.whl' | head -n 1)
[[ -n "$wheel" ]] || { echo "build-wheel: uv build produced no wheel" >&2; exit 1; }
rm -rf "$DEST"
mkdir -p "$DEST"
mv "$wheel" "$DEST/"
echo "$DEST/$(basename "$wheel")"
