#!/usr/bin/env bash
# Pre-downloads the server wheel's dependencies (numpy, onnxruntime, lancedb, pyarrow, pygls, mcp, ...)
# from PyPI into a cached wheelhouse OUTSIDE the clone, so the no-server e2e installs them with
# PIP_FIND_LINKS=<wheelhouse> PIP_NO_INDEX=1 instead of fetching them on every run.
#
#   bash scripts/wheelhouse.sh <symscope wheel> <python>
#
# The wheelhouse is keyed by the wheel's declared dependencies (Requires-Dist) and the interpreter's
# version and platform, and marked `.complete` when done: a later run with the same key downloads
# nothing and does not touch the network. pip runs from a throwaway venv of <python> itself, so the
# wheels it picks are the ones that interpreter (the one the e2e puts on PATH) can install.
#
# Prints the wheelhouse directory on its last stdout line.
set -euo pipefail

WHEEL=${1:?usage: wheelhouse.sh <symscope wheel> <python>}
PYTHON=${2:?usage: wheelhouse.sh <symscope wheel> <python>}
CACHE_ROOT=${SYMSCOPE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/symscope}

# Key: Requires-Dist of the wheel + interpreter tag and platform.
requires=$("$PYTHON" - "$WHEEL" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    meta = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
    lines = z.read(meta).decode().splitlines()
print("\n".join(sorted(l for l in lines if l.startswith("Requires-Dist:"))))
PY
)
interp=$("$PYTHON" -c 'import sys, sysconfig; print(sys.implementation.cache_tag, sysconfig.get_platform())')
key=$(printf '%s\n%s\n' "$requires" "$interp" | sha256sum | cut -c1-16)
DEST="$CACHE_ROOT/wheelhouse/$key"

if [[ -f "$DEST/.complete" ]]; then
  echo "wheelhouse cached at $DEST ($(find "$DEST" -name '*.whl' | wc -l) wheels)" >&2
  echo "$DEST"
  exit 0
fi

mkdir -p "$CACHE_ROOT/wheelhouse"
WORK=$(mktemp -d "$CACHE_ROOT/wheelhouse/.download.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
"$PYTHON" -m venv "$WORK/venv"
# Binary wheels only: the private install must not compile anything on a user's machine either.
"$WORK/venv/bin/python" -m pip download --disable-pip-version-check --only-binary=:all: \
  --dest "$WORK/wheels" "$WHEEL[cpu]" >&2
# The extension installs symscope itself from the wheel inside the .vsix, never from here.
rm -f "$WORK/wheels"/symscope-*.whl
printf '%s\n%s\n' "$requires" "$interp" > "$WORK/wheels/KEY"
touch "$WORK/wheels/.complete"
rm -rf "$DEST"
mv "$WORK/wheels" "$DEST"
echo "wheelhouse: $(find "$DEST" -name '*.whl' | wc -l) wheels, $(du -sh "$DEST" | cut -f1) at $DEST" >&2
echo "$DEST"
