#!/usr/bin/env bash
# Packages the platform-specific .vsix: the extension plus the symscope server wheel for that platform
# in `server/`, which the extension installs into a private venv when no server is found.
#
#   bash scripts/package-platform.sh [target]      (default linux-x64; writes symscope-<target>-<version>.vsix)
#
# The wheel comes from scripts/build-wheel.sh (maturin, cached), or from $SYMSCOPE_WHEEL when set.
# Prints the .vsix path on its last stdout line.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET=${1:-linux-x64}
case "$TARGET" in
  linux-x64) TAG_PATTERN='linux.*_x86_64\.whl$' ;;
  linux-arm64) TAG_PATTERN='linux.*_aarch64\.whl$' ;;
  darwin-arm64) TAG_PATTERN='macosx.*_(arm64|universal2)\.whl$' ;;
  darwin-x64) TAG_PATTERN='macosx.*_(x86_64|universal2)\.whl$' ;;
  win32-x64) TAG_PATTERN='win_amd64\.whl$' ;;
  *) echo "package-platform: unsupported target $TARGET" >&2; exit 2 ;;
esac
WHEEL=${SYMSCOPE_WHEEL:-$(bash scripts/build-wheel.sh | tail -n 1)}
[[ -f "$WHEEL" ]] || { echo "package-platform: wheel $WHEEL not found" >&2; exit 1; }
[[ $(basename "$WHEEL") =~ $TAG_PATTERN ]] || { echo "package-platform: $(basename "$WHEEL") is not a $TARGET wheel" >&2; exit 1; }

VERSION=$(node -p 'require("./package.json").version')
VSIX=symscope-$TARGET-$VERSION.vsix
rm -rf server "$VSIX"
mkdir server
trap 'rm -rf server' EXIT # the universal .vsix (npm run package) must never pick it up
cp "$WHEEL" server/
npx --no-install vsce package --no-dependencies --allow-missing-repository --target "$TARGET" -o "$VSIX" >&2
python3 -m zipfile -l "$VSIX" | grep -q "extension/server/$(basename "$WHEEL")" \
  || { echo "package-platform: $VSIX lacks extension/server/$(basename "$WHEEL")" >&2; exit 1; }
echo "$PWD/$VSIX"
