#!/usr/bin/env bash
# The one CI entry point of the VS Code extension; exits non-zero on the first failure.
#
#   SYMSCOPE_SERVER_COMMAND=/repo/.venv/bin/symscope bash vscode-extension/scripts/ci.sh
#
# Steps: npm ci, type check, unit tests, languages.json vs the server, build, package (.vsix),
# protocol test against the real server, end-to-end test in real VS Code (code-server + chromium).
#
# Env:
#   SYMSCOPE_SERVER_COMMAND   required: the symscope executable, or an argv such as "python -m lsp_server"
#   SYMSCOPE_CACHE_DIR        where code-server is cached (default ~/.cache/symscope)
#   SYMSCOPE_E2E_SCREENSHOT_TO  also copy the Semantic Search screenshot there
# Needs Node 20 + npm; the e2e needs Debian packages chromium and libkrb5-dev (installed with apt-get
# when missing and running as root).
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
run_step "package" npm run -s package
python3 -m zipfile -l "$VSIX" | grep -q "extension/out/extension.js" || { echo "ci: $VSIX lacks extension/out/extension.js" >&2; exit 1; }
run_step "protocol test" npm run -s test:protocol
run_step "debian packages" ensure_debian_packages
run_step "code-server (cached)" bash scripts/install-code-server.sh
run_step "e2e in code-server" env VSIX="$PWD/$VSIX" bash scripts/e2e.sh

if [[ -n "${SYMSCOPE_E2E_SCREENSHOT_TO:-}" ]]; then
  cp test-results/e2e/semantic-search.png "$SYMSCOPE_E2E_SCREENSHOT_TO"
fi
echo "::: all passed ($VSIX; screenshots in $PWD/test-results/e2e/)"
printf '  %s\n' "${TIMINGS[@]}"
