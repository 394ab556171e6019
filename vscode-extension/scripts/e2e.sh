#!/usr/bin/env bash
# End-to-end test in real VS Code: code-server 4.100.3 (Code 1.100.3) from npm, driven by headless Debian
# chromium through playwright-core. Installs the built .vsix, opens a copy of test/fixtures/workspace,
# runs "symscope: Semantic Search" with a natural-language query, checks the expected symbol is listed
# and opens, and saves screenshots under test-results/e2e/.
#
# Env: SYMSCOPE_SERVER_COMMAND (required) the symscope executable (or "python -m lsp_server"-style argv)
#      VSIX            the .vsix to install (default: ./symscope-<version>.vsix)
#      SYMSCOPE_E2E_MODEL  embedding model for the server (default: "default", the bundled ONNX model)
#      CHROMIUM        browser binary (default /usr/bin/chromium)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

: "${SYMSCOPE_SERVER_COMMAND:?set SYMSCOPE_SERVER_COMMAND to the symscope executable, e.g. /repo/.venv/bin/symscope}"
VERSION=$(node -p 'require("./package.json").version')
VSIX=${VSIX:-$ROOT/symscope-$VERSION.vsix}
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[[ -f "$VSIX" ]] || { echo "e2e: $VSIX not found; run: npm run package" >&2; exit 2; }
[[ -x "$CHROMIUM" ]] || { echo "e2e: $CHROMIUM not found; fix: apt-get install -y chromium (or set CHROMIUM)" >&2; exit 2; }

CS=$(bash scripts/install-code-server.sh | tail -n 1)

R=$ROOT/test-results/e2e
rm -rf "$R"
mkdir -p "$R"/{ud/User,ext,xdg-config,xdg-data,tmp,chromium-home}
cp -r test/fixtures/workspace "$R/ws"

# Settings the extension reads + a quiet workbench. code-server is a remote window: machine-scoped
# settings (server command, index directory) only apply from the remote ("Machine") settings file.
mkdir -p "$R/ud/Machine"
node - "$R/ud" "$SYMSCOPE_SERVER_COMMAND" "$R/index" "${SYMSCOPE_E2E_MODEL:-default}" <<'NODE'
const fs = require("fs");
const [ud, command, indexDir, model] = process.argv.slice(2);
fs.writeFileSync(`${ud}/Machine/settings.json`, JSON.stringify({
  "symscope.server.command": command.trim().split(/\s+/),
  "symscope.index.directory": indexDir,
}, null, 2));
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

export XDG_CONFIG_HOME=$R/xdg-config XDG_DATA_HOME=$R/xdg-data TMPDIR=$R/tmp HF_HUB_OFFLINE=1
"$CS" --user-data-dir "$R/ud" --extensions-dir "$R/ext" --force --install-extension "$VSIX" > "$R/install.log" 2>&1 \
  || { cat "$R/install.log" >&2; exit 1; }
grep -q "was successfully installed" "$R/install.log" || { cat "$R/install.log" >&2; exit 1; }

PORT=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
"$CS" --auth none --bind-addr "127.0.0.1:$PORT" --disable-telemetry --disable-update-check --disable-workspace-trust \
  --disable-getting-started-override --ignore-last-opened --user-data-dir "$R/ud" --extensions-dir "$R/ext" "$R/ws" \
  > "$R/code-server.log" 2>&1 &
CS_PID=$!
cleanup() { kill "$CS_PID" 2>/dev/null || true; wait "$CS_PID" 2>/dev/null || true; }
trap cleanup EXIT

for _ in $(seq 120); do
  curl -sf "http://127.0.0.1:$PORT/healthz" > /dev/null && break
  kill -0 "$CS_PID" 2>/dev/null || { echo "e2e: code-server exited" >&2; cat "$R/code-server.log" >&2; exit 1; }
  sleep 0.5
done

status=0
HOME=$R/chromium-home node test/e2e/drive.mjs "http://127.0.0.1:$PORT/?folder=$R/ws" "$R" "$CHROMIUM" || status=$?
if [[ $status -ne 0 ]]; then
  echo "---- code-server log (tail) ----" >&2; tail -n 40 "$R/code-server.log" >&2 || true
  for log in $(find "$R/ud/logs" -name '*symscope*.log' 2>/dev/null); do
    echo "---- $log (tail) ----" >&2; tail -n 60 "$log" >&2
  done
fi
exit $status
