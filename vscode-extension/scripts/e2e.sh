#!/usr/bin/env bash
# End-to-end tests in real VS Code: code-server 4.100.3 (Code 1.100.3) from npm, driven by headless Debian
# chromium through playwright-core. Screenshots and logs go to test-results/e2e-<mode>/.
#
#   bash scripts/e2e.sh two-folders   (default) a .code-workspace with two fixture folders, the server
#       from SYMSCOPE_SERVER_COMMAND: Semantic Search (a symbol of each folder, opened), Find Related
#       Code, keybinding, outline, workspace symbols, status, live settings, restart, reindex
#       (test/e2e/drive.mjs).
#   bash scripts/e2e.sh no-server     no symscope anywhere: code-server runs with a scrubbed PATH and
#       environment, no server setting, and a python3 that cannot import lsp_server; the platform .vsix's
#       bundled wheel is installed into a private venv (pip pointed at WHEELHOUSE through PIP_FIND_LINKS
#       and PIP_NO_INDEX), then the server runs from it and answers a Semantic Search
#       (test/e2e/drive-install.mjs).
#
# Env: SYMSCOPE_SERVER_COMMAND (two-folders) the symscope executable (or "python -m lsp_server"-style argv)
#      VSIX            the .vsix to install (default: ./symscope-<version>.vsix; no-server: the linux-x64 one)
#      WHEELHOUSE      (no-server) folder of the server's dependency wheels (scripts/wheelhouse.sh)
#      SYMSCOPE_E2E_PYTHON  (no-server) the only python3 on the scrubbed PATH (default /usr/bin/python3)
#      SYMSCOPE_E2E_MODEL  embedding model for the server (default: "default", the bundled ONNX model)
#      CHROMIUM        browser binary (default /usr/bin/chromium)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
MODE=${1:-two-folders}
CACHE_ROOT=${SYMSCOPE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/symscope}

VERSION=$(node -p 'require("./package.json").version')
case "$MODE" in
  two-folders)
    : "${SYMSCOPE_SERVER_COMMAND:?set SYMSCOPE_SERVER_COMMAND to the symscope executable, e.g. /repo/.venv/bin/symscope}"
    VSIX=${VSIX:-$ROOT/symscope-$VERSION.vsix}
    SERVER_COMMAND=$SYMSCOPE_SERVER_COMMAND
    ;;
  no-server)
    VSIX=${VSIX:-$ROOT/symscope-linux-x64-$VERSION.vsix}
    : "${WHEELHOUSE:?set WHEELHOUSE to the dependency wheelhouse (bash scripts/wheelhouse.sh <wheel> <python>)}"
    E2E_PYTHON=${SYMSCOPE_E2E_PYTHON:-/usr/bin/python3}
    [[ -x "$E2E_PYTHON" ]] || { echo "e2e: $E2E_PYTHON not found (set SYMSCOPE_E2E_PYTHON to a Python >= 3.11)" >&2; exit 2; }
    SERVER_COMMAND=""
    ;;
  *) echo "e2e: unknown mode $MODE (two-folders | no-server)" >&2; exit 2 ;;
esac
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[[ -f "$VSIX" ]] || { echo "e2e: $VSIX not found; run: npm run package" >&2; exit 2; }
[[ -x "$CHROMIUM" ]] || { echo "e2e: $CHROMIUM not found; fix: apt-get install -y chromium (or set CHROMIUM)" >&2; exit 2; }

CS=$(bash scripts/install-code-server.sh | tail -n 1)

R=$ROOT/test-results/e2e-$MODE
rm -rf "$R"
mkdir -p "$R"/{ud/User,ext,xdg-config,xdg-data,chromium-home,home}
# Unix sockets (code-server's vscode-ipc-*.sock, chromium's SingletonSocket) must fit in 108 bytes:
# a short TMPDIR, not one under the results folder.
SHORT_TMP=$(mktemp -d /tmp/symscope-e2e.XXXXXX)
trap 'rm -rf "$SHORT_TMP"' EXIT
ln -s "$SHORT_TMP" "$R/tmp"
cp -r test/fixtures/workspace "$R/workspace"
cp -r test/fixtures/ledger-service "$R/ledger-service"
cp test/fixtures/symscope-e2e.code-workspace "$R/"

# Settings the extension reads + a quiet workbench. code-server is a remote window: machine-scoped
# settings (server command, index directory) only apply from the remote ("Machine") settings file.
# no-server: no server setting at all.
mkdir -p "$R/ud/Machine"
node - "$R/ud" "$SERVER_COMMAND" "$R/index" "${SYMSCOPE_E2E_MODEL:-default}" <<'NODE'
const fs = require("fs");
const [ud, command, indexDir, model] = process.argv.slice(2);
const machine = { "symscope.index.directory": indexDir };
if (command.trim()) machine["symscope.server.command"] = command.trim().split(/\s+/);
fs.writeFileSync(`${ud}/Machine/settings.json`, JSON.stringify(machine, null, 2));
fs.writeFileSync(`${ud}/User/settings.json`, JSON.stringify({
  "symscope.model": model,
  "workbench.startupEditor": "none",
  "workbench.tips.enabled": false,
  "workbench.enableExperiments": false,
  "telemetry.telemetryLevel": "off",
  "extensions.autoUpdate": false,
  "extensions.autoCheckUpdates": false,
  "update.mode": "none",
  "security.workspace.trust.enabled": false,
  "git.enabled": false,
  // The driver edits settings.json in the editor like a user; typed text must land verbatim.
  "editor.autoClosingBrackets": "never",
  "editor.autoClosingQuotes": "never",
  "editor.autoIndent": "none",
  "editor.autoSurround": "never",
  "editor.formatOnType": false,
}, null, 2));
NODE

export XDG_CONFIG_HOME=$R/xdg-config XDG_DATA_HOME=$R/xdg-data TMPDIR=$SHORT_TMP HF_HUB_OFFLINE=1
"$CS" --user-data-dir "$R/ud" --extensions-dir "$R/ext" --force --install-extension "$VSIX" > "$R/install.log" 2>&1 \
  || { cat "$R/install.log" >&2; exit 1; }
grep -q "was successfully installed" "$R/install.log" || { cat "$R/install.log" >&2; exit 1; }

PORT=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
CS_ARGS=(--auth none --bind-addr "127.0.0.1:$PORT" --disable-telemetry --disable-update-check --disable-workspace-trust
  --disable-getting-started-override --ignore-last-opened --user-data-dir "$R/ud" --extensions-dir "$R/ext")
if [[ $MODE == two-folders ]]; then
  "$CS" "${CS_ARGS[@]}" "$R/symscope-e2e.code-workspace" > "$R/code-server.log" 2>&1 &
  CS_PID=$!
  URL="http://127.0.0.1:$PORT/?workspace=$R/symscope-e2e.code-workspace"
  DRIVER=(test/e2e/drive.mjs)
else
  # A machine with no symscope: PATH holds the system directories and one python3 (E2E_PYTHON) and node;
  # nothing of the caller's environment (virtualenvs, PYTHONPATH, SYMSCOPE_*) reaches code-server, and
  # it runs from a scratch folder, so `python3 -m lsp_server` cannot import this checkout either.
  mkdir -p "$R/bin" "$R/cwd"
  ln -s "$E2E_PYTHON" "$R/bin/python3"
  ln -s "$(command -v node)" "$R/bin/node"
  SCRUBBED_PATH="$R/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin"
  SCRUBBED_ENV=(env -i "PATH=$SCRUBBED_PATH" "HOME=$R/home" "LANG=C.UTF-8" "TMPDIR=$SHORT_TMP" "XDG_CONFIG_HOME=$R/xdg-config"
    "XDG_DATA_HOME=$R/xdg-data" "XDG_CACHE_HOME=$CACHE_ROOT/e2e-xdg-cache" "HF_HUB_OFFLINE=1"
    "PIP_FIND_LINKS=$WHEELHOUSE" "PIP_NO_INDEX=1")
  # The preconditions, checked with that very environment (a test that cannot fail proves nothing).
  if (cd "$R/cwd" && "${SCRUBBED_ENV[@]}" sh -c 'command -v symscope'); then
    echo "e2e: symscope is on the scrubbed PATH; the no-server test would not test anything" >&2; exit 1
  fi
  if (cd "$R/cwd" && "${SCRUBBED_ENV[@]}" python3 -m lsp_server --version > /dev/null 2>&1); then
    echo "e2e: python3 -m lsp_server works in the scrubbed environment; the no-server test would not test anything" >&2; exit 1
  fi
  echo "e2e: no server in the scrubbed environment (PATH=$SCRUBBED_PATH, python3 -> $E2E_PYTHON)"
  (cd "$R/cwd" && exec "${SCRUBBED_ENV[@]}" "$CS" "${CS_ARGS[@]}" "$R/ledger-service") > "$R/code-server.log" 2>&1 &
  CS_PID=$!
  URL="http://127.0.0.1:$PORT/?folder=$R/ledger-service"
  DRIVER=(test/e2e/drive-install.mjs)
fi
cleanup() {
  kill "$CS_PID" 2>/dev/null || true
  wait "$CS_PID" 2>/dev/null || true
  rm -rf "$SHORT_TMP"
}
trap cleanup EXIT

for _ in $(seq 120); do
  curl -sf "http://127.0.0.1:$PORT/healthz" > /dev/null && break
  kill -0 "$CS_PID" 2>/dev/null || { echo "e2e: code-server exited" >&2; cat "$R/code-server.log" >&2; exit 1; }
  sleep 0.5
done

status=0
HOME=$R/chromium-home node "${DRIVER[@]}" "$URL" "$R" "$CHROMIUM" || status=$?
if [[ $status -ne 0 ]]; then
  echo "---- code-server log (tail) ----" >&2; tail -n 40 "$R/code-server.log" >&2 || true
  for log in $(find "$R/ud/logs" -name '*symscope*.log' 2>/dev/null); do
    echo "---- $log (tail) ----" >&2; tail -n 60 "$log" >&2
  done
fi
exit $status
