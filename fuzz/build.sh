#!/usr/bin/env bash
# Builds the `extract` fuzz target (cargo-fuzz, nightly, AddressSanitizer) into
# $CARGO_TARGET_DIR (default ~/.cache/symscope/fuzz-target, outside the clone).
#
# The grammars' C code (parser.c, scanner.c, and tree-sitter's own lib.c) is built with clang
# and `-fsanitize=fuzzer-no-link,address`, so libFuzzer sees coverage inside the grammars and
# ASan sees their memory errors; without that, libFuzzer only sees our Rust code. The clang
# wanted is the one whose LLVM major matches nightly rustc's (same sanitizer runtime ABI);
# when absent it is installed with apt-get (root only), else any `clang` is tried, else the
# grammars are built uninstrumented with a warning. SYMSCOPE_FUZZ_PLAIN_CC=1 skips all that.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/symscope/fuzz-target}"

if ! rustup toolchain list | grep -q '^nightly'; then
    rustup toolchain install nightly --profile minimal
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

if [ "${SYMSCOPE_FUZZ_PLAIN_CC:-0}" != 1 ]; then
    major="$(rustc +nightly -vV | sed -n 's/^LLVM version: \([0-9]*\).*/\1/p')"
    cc=""
    if command -v "clang-$major" >/dev/null; then
        cc="clang-$major"
    elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null \
        && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "clang-$major" >/dev/null 2>&1; then
        cc="clang-$major"
    elif command -v clang >/dev/null; then
        cc=clang
        echo "fuzz/build.sh: clang-$major not found, trying $(clang --version | head -n 1)" >&2
    fi
    if [ -n "$cc" ]; then
        export CC="$cc" CFLAGS="-fsanitize=fuzzer-no-link,address -g${CFLAGS:+ $CFLAGS}"
    else
        echo "fuzz/build.sh: no clang: the grammars' C code is NOT coverage-instrumented" >&2
    fi
fi

cd "$ROOT"
t0=$(date +%s)
cargo +nightly fuzz build extract
echo "fuzz/build.sh: built in $(( $(date +%s) - t0 ))s (CC=${CC:-default}): $CARGO_TARGET_DIR/x86_64-unknown-linux-gnu/release/extract"
