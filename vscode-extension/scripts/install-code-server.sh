#!/usr/bin/env bash
# Installs code-server (real VS Code workbench, Code 1.100.3) into a cache directory OUTSIDE the clone,
# so repeated CI runs reuse it. Idempotent: a finished install is marked with `.complete` and reused.
#
# Prints the path of the code-server executable on its last stdout line.
#
# Needs: Node 20 + npm, a C/C++ toolchain, python3, and `libkrb5-dev` (apt) for the `kerberos` module.
# Offline-safe workarounds from shared/clients.md §3a:
#   1. libkrb5-dev must be installed (checked below, not installed by this script);
#   2. @vscode/ripgrep's postinstall downloads from GitHub: its download cache is pre-seeded with the rg
#      binary from the npm package @vscode/ripgrep-linux-x64;
#   3. node-pty's postinstall runs `npx node-gyp`: npm_config_yes=true lets npx install it from npm.
set -euo pipefail

CODE_SERVER_VERSION=${CODE_SERVER_VERSION:-4.100.3}
CACHE_ROOT=${SYMSCOPE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/symscope}
DEST="$CACHE_ROOT/code-server-$CODE_SERVER_VERSION"
BIN="$DEST/node_modules/.bin/code-server"

if [[ -f "$DEST/.complete" && -x "$BIN" ]]; then
  echo "code-server $CODE_SERVER_VERSION cached at $DEST" >&2
  echo "$BIN"
  exit 0
fi

if [[ ! -e /usr/include/gssapi/gssapi.h ]]; then
  echo "error: gssapi headers missing; code-server's 'kerberos' module cannot build." >&2
  echo "fix:   apt-get install -y libkrb5-dev" >&2
  exit 2
fi

mkdir -p "$CACHE_ROOT"
WORK=$(mktemp -d "$CACHE_ROOT/.code-server-install.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"

# Workaround 2: seed @vscode/ripgrep 1.15.11's download cache (it looks in $TMPDIR).
export TMPDIR="$WORK/tmp"
mkdir -p "$TMPDIR/vscode-ripgrep-cache-1.15.11" rgpkg
npm pack --silent @vscode/ripgrep-linux-x64@1.18.0 >/dev/null
tar xzf vscode-ripgrep-linux-x64-1.18.0.tgz -C rgpkg
cp rgpkg/package/bin/rg "$TMPDIR/rg"
tar czf "$TMPDIR/vscode-ripgrep-cache-1.15.11/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz" -C "$TMPDIR" rg

mkdir pkg
cd pkg
echo '{"name":"symscope-code-server-cache","private":true}' > package.json
# Workaround 3 (npm_config_yes) and --unsafe-perm (code-server's postinstall.sh checks it when root).
npm_config_yes=true npm install --no-audit --no-fund --unsafe-perm "code-server@$CODE_SERVER_VERSION" >&2
./node_modules/.bin/code-server --version >&2
touch .complete
cd "$WORK"

rm -rf "$DEST"
mv pkg "$DEST"
echo "$BIN"
