#!/usr/bin/env bash
# The one CI entry point of the VS Code extension; exits non-zero on the first failure.
#
#   SYMSCOPE_SERVER_COMMAND=/repo/.venv/bin/symscope bash vscode-extension/scripts/ci.sh
#
# Steps: npm ci, type check, unit tests, languages.json vs the server, build, package (universal .vsix),
# server wheel (maturin via uv, cached), platform .vsix (linux-x64, the wheel inside), protocol test
# against the real server, the two-folder end-to-end test in real VS Code (code-server + chromium), the
# dependency wheelhouse (pip download, cached), and the no-server end-to-end test (install from the
# platform .vsix into a private venv).
#
# Env:
#   SYMSCOPE_SERVER_COMMAND   required: the symscope executable, or an argv such as "python -m lsp_server"
#   SYMSCOPE_CACHE_DIR        where code-server, wheels and the wheelhouse are cached (default ~/.cache/symscope)
#   CARGO_TARGET_DIR          the Rust build the wheel reuses (default <cache>/target)
#   SYMSCOPE_E2E_PYTHON       the python3 of the no-server e2e (default /usr/bin/python3)
#   SYMSCOPE_E2E_SCREENSHOT_TO  also copy the Semantic Search screenshot there
# Needs Node 20 + npm and uv; the e2e needs Debian packages chromium and libkrb5-dev (installed with
# apt-get when missing and running as root). The first run downloads the wheelhouse (~300 MB) and may
# build the wheel (minutes); later runs reuse both.
set -euo pipefail
cd "$(dirname "$0")/.."

: "${SYMSCOPE_SERVER_COMMAND:?set SYMSCOPE_SERVER_COMMAND to the symscope executable, e.g. /repo/.venv/bin/symscope}"
export SYMSCOPE_SERVER_COMMAND HF_HUB_OFFLINE=1
mkdir -p test-results
TIMINGS=()
run_step() {
  local name=$1
  shift
  echo "::: $name"
  local start=$SECONDS
  "$@"
  TIMINGS+=("$name: $((SECONDS - start)) s")
}

ensure_debian_packages() {
  local missing=()
  command -v "${CHROMIUM:-/usr/bin/chromium}" > /dev/null || missing+=(chromium)
  [[ -e /usr/include/gssapi/gssapi.h ]] || missing+=(libkrb5-dev)
  [[ ${#missing[@]} -eq 0 ]] && return 0
  if [[ $(id -u) -eq 0 ]] && command -v apt-get > /dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" > /dev/null
  else
    echo "ci: missing ${missing[*]}; fix: sudo apt-get install -y ${missing[*]}" >&2
    return 1
  fi
}

VERSION=$(node -p 'require("./package.json").version')
VSIX=symscope-$VERSION.vsix

run_step "npm ci" npm ci --no-audit --no-fund
run_step "type check" npm run -s typecheck
run_step "unit tests" npm run -s test:unit
run_step "languages.json matches the server" npm run -s check:languages
run_step "build" npm run -s build
rm -f "$VSIX"
rm -rf server # a platform package's staged wheel never goes into the universal .vsix
run_step "package" npm run -s package
python3 -m zipfile -l "$VSIX" | grep -q "extension/out/extension.js" || { echo "ci: $VSIX lacks extension/out/extension.js" >&2; exit 1; }
if python3 -m zipfile -l "$VSIX" | grep -q "extension/server/"; then echo "ci: the universal $VSIX carries a server wheel" >&2; exit 1; fi
build_wheel() { WHEEL=$(bash scripts/build-wheel.sh | tail -n 1); echo "wheel: $WHEEL"; }
run_step "server wheel (maturin, cached)" build_wheel
PLATFORM_VSIX=symscope-linux-x64-$VERSION.vsix
run_step "package linux-x64 (wheel inside)" env SYMSCOPE_WHEEL="$WHEEL" bash scripts/package-platform.sh linux-x64
run_step "protocol test" npm run -s test:protocol
run_step "debian packages" ensure_debian_packages
run_step "code-server (cached)" bash scripts/install-code-server.sh
run_step "e2e two-folder workspace" env VSIX="$PWD/$VSIX" bash scripts/e2e.sh two-folders
E2E_PYTHON=${SYMSCOPE_E2E_PYTHON:-/usr/bin/python3}
wheelhouse() { WHEELHOUSE=$(bash scripts/wheelhouse.sh "$WHEEL" "$E2E_PYTHON" | tail -n 1); echo "wheelhouse: $WHEELHOUSE"; }
run_step "dependency wheelhouse (pip download, cached)" wheelhouse
run_step "e2e no server installed" env VSIX="$PWD/$PLATFORM_VSIX" WHEELHOUSE="$WHEELHOUSE" SYMSCOPE_E2E_PYTHON="$E2E_PYTHON" bash scripts/e2e.sh no-server

if [[ -n "${SYMSCOPE_E2E_SCREENSHOT_TO:-}" ]]; then
  cp test-results/e2e-two-folders/semantic-search.png "$SYMSCOPE_E2E_SCREENSHOT_TO"
fi
echo "::: all passed ($VSIX, $PLATFORM_VSIX; screenshots in $PWD/test-results/e2e-two-folders/ and e2e-no-server/)"
printf '  %s\n' "${TIMINGS[@]}"
