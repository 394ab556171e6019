#!/usr/bin/env bash
# Fuzzes every language's grammar through symscope_core::scan::extract_bytes, one language after
# the other, then replays every finding and sorts it into known (same bug as a fixture under
# tests/fixtures/crashers/) or new.
#
#   fuzz/run-all.sh [--seconds N] [--out DIR] [--langs "ruby c ..."] [--no-build] [--fail-on-new]
#
#   --seconds N     libFuzzer -max_total_time per language (default 110)
#   --out DIR       logs/, artifacts/<lang>/, triage.tsv, summary.tsv (default /tmp/symscope-fuzz)
#   --langs "..."   a subset (names as in rust/languages.rs; default all)
#   --no-build      use the already built target
#   --fail-on-new   exit 1 when a finding is not a recorded crasher (what CI wants)
#
# Environment: CARGO_TARGET_DIR (default ~/.cache/symscope/fuzz-target), SYMSCOPE_FUZZ_CORPUS
# (default DIR/corpus; point it at a lasting folder to grow each language's corpus across runs,
# at the cost of replaying it at every start),
# SYMSCOPE_FUZZ_BIN (a copy of the binary, for a long run while rebuilding), SYMSCOPE_FUZZ_TIMEOUT (libFuzzer -timeout, default 10 s), SYMSCOPE_FUZZ_RSS_MB (default 2048),
# SYMSCOPE_FUZZ_PLAIN_CC=1 (build the grammars with the default C compiler, uninstrumented).
#
# One core: libFuzzer runs in fork mode with one worker (-fork=1), so a crash, timeout or OOM is
# saved and fuzzing goes on (-ignore_crashes/-ignore_timeouts/-ignore_ooms) instead of stopping.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
FUZZ="$ROOT/fuzz"

SECONDS_PER_LANG=110
OUT=/tmp/symscope-fuzz
LANGS=""
BUILD=1
FAIL_ON_NEW=0
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) SECONDS_PER_LANG="$2"; shift 2 ;;
        --out) OUT="$2"; shift 2 ;;
        --langs) LANGS="$2"; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        --fail-on-new) FAIL_ON_NEW=1; shift ;;
        *) echo "run-all.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/symscope/fuzz-target}"
CORPUS_ROOT="${SYMSCOPE_FUZZ_CORPUS:-$OUT/corpus}"
TIMEOUT="${SYMSCOPE_FUZZ_TIMEOUT:-10}"
RSS_MB="${SYMSCOPE_FUZZ_RSS_MB:-2048}"
BIN="${SYMSCOPE_FUZZ_BIN:-$CARGO_TARGET_DIR/x86_64-unknown-linux-gnu/release/extract}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-symbolize=1}"
if [ -x /usr/lib/llvm-22/bin/llvm-symbolizer ] && [ -z "${ASAN_SYMBOLIZER_PATH:-}" ]; then
    export ASAN_SYMBOLIZER_PATH=/usr/lib/llvm-22/bin/llvm-symbolizer
fi

# The languages, in registry order, straight from the registry.
ALL_LANGS="$(grep -o 'lang!("[a-z_]*"' "$ROOT/rust/languages.rs" | sed 's/lang!("\(.*\)"/\1/')"
LANGS="${LANGS:-$ALL_LANGS}"
for l in $LANGS; do
    grep -qx "$l" <<<"$ALL_LANGS" || { echo "run-all.sh: unknown language $l" >&2; exit 2; }
done

if [ "$BUILD" = 1 ]; then
    "$FUZZ/build.sh"
fi
[ -x "$BIN" ] || { echo "run-all.sh: $BIN not built (run fuzz/build.sh)" >&2; exit 2; }

mkdir -p "$OUT/logs" "$OUT/artifacts"
# Seeds, read-only: every golden fixture (all languages: other languages' files are useful
# noise), plus tests/fixtures/<lang>/ if a language ever gets a folder of its own.
SEEDS="$ROOT/tests/fixtures/languages"

summary="$OUT/summary.tsv"
printf 'language\tseconds\tcpu_s\texecs\texec_per_s\tcov\tft\tcorpus\tcrash_files\ttimeout_files\toom_files\n' > "$summary"
start_all=$(date +%s)
for l in $LANGS; do
    corpus="$CORPUS_ROOT/$l"
    art="$OUT/artifacts/$l"
    mkdir -p "$corpus" "$art"
    extra=()
    [ -d "$ROOT/tests/fixtures/$l" ] && extra+=("$ROOT/tests/fixtures/$l")
    dict=()
    [ -f "$FUZZ/dicts/$l.dict" ] && dict=("-dict=$FUZZ/dicts/$l.dict")
    log="$OUT/logs/$l.log"
    t0=$(date +%s)
    echo "=== $l: ${SECONDS_PER_LANG}s ($(date -u +%H:%M:%S) UTC)"
    # libFuzzer's own exit status is not the verdict (the triage below is): fork mode exits
    # non-zero when it saw crashes even though it was told to go on.
    TIMEFORMAT='%R %U %S'
    { time SYMSCOPE_FUZZ_LANG="$l" "$BIN" "$corpus" "$SEEDS" "${extra[@]}" "${dict[@]}" \
        -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
        -max_total_time="$SECONDS_PER_LANG" -timeout="$TIMEOUT" -rss_limit_mb="$RSS_MB" \
        -artifact_prefix="$art/" -print_final_stats=1 > "$log" 2>&1 || true; } 2> "$OUT/logs/$l.time"
    t1=$(date +%s)
    # CPU seconds of the parent and its fork-mode children (user + sys)
    cpu="$(awk '{printf "%d", $2 + $3}' "$OUT/logs/$l.time" 2>/dev/null || echo '?')"
    # Fork mode's progress lines: "#N: cov: C ft: F corp: K exec/s: E oom/timeout/crash: o/t/c time: Ts ..."
    last="$(grep -E '^#[0-9]+: cov:' "$log" | tail -n 1 || true)"
    execs="$(sed -n 's/^#\([0-9]*\):.*/\1/p' <<<"$last")"
    eps="$(sed -n 's/.*exec\/s: \([0-9]*\).*/\1/p' <<<"$last")"
    cov="$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")"
    ft="$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")"
    corp="$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")"
    nc=$(find "$art" -name 'crash-*' | wc -l); nt=$(find "$art" -name 'timeout-*' | wc -l)
    no=$(find "$art" \( -name 'oom-*' -o -name 'leak-*' \) | wc -l)
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$l" "$((t1 - t0))" "$cpu" "${execs:-?}" "${eps:-?}" \
        "${cov:-?}" "${ft:-?}" "${corp:-?}" "$nc" "$nt" "$no" >> "$summary"
    echo "    cpu=${cpu}s execs=${execs:-?} exec/s=${eps:-?} cov=${cov:-?} corpus=${corp:-?} crash/timeout/oom files=$nc/$nt/$no"
done
echo "=== fuzzing done in $(( $(date +%s) - start_all ))s"

# Known bugs: the signature of every recorded crasher, named <lang>-<what>.<ext>.
known="$OUT/known.tsv"; : > "$known"
items=()
for f in "$ROOT"/tests/fixtures/crashers/*; do
    [ -f "$f" ] || continue
    case "$(basename "$f")" in README*) continue ;; esac
    l="$(basename "$f")"; l="${l%%-*}"
    grep -qx "$l" <<<"$ALL_LANGS" || { echo "warning: crasher $f: no language named '$l'" >&2; continue; }
    items+=("$l=$f")
done
if [ ${#items[@]} -gt 0 ]; then
    python3 "$FUZZ/triage.py" "$BIN" --timeout "$TIMEOUT" --rss-limit-mb "$RSS_MB" "${items[@]}" > "$known"
fi

# Every finding of this run, replayed alone.
triage="$OUT/triage.tsv"; : > "$triage"
items=()
for l in $LANGS; do
    while IFS= read -r f; do items+=("$l=$f"); done < <(find "$OUT/artifacts/$l" -type f \
        \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' \) | sort)
done
if [ ${#items[@]} -gt 0 ]; then
    python3 "$FUZZ/triage.py" "$BIN" --timeout "$TIMEOUT" --rss-limit-mb "$RSS_MB" "${items[@]}" > "$triage"
fi

new=0; flaky=0
echo
echo "=== findings ($(wc -l < "$triage") files; known crashers: $(wc -l < "$known"))"
while IFS=$'\t' read -r l sig f; do
    [ "$sig" = no-repro ] && echo "  [fixed?]   $l: recorded crasher $(basename "$f") no longer fails"
done < "$known"
# language + signature, one line per distinct bug
while IFS=$'\t' read -r l sig f; do
    [ -n "$l" ] || continue
    n=$(awk -F'\t' -v l="$l" -v s="$sig" '$1==l && $2==s' "$triage" | wc -l)
    if [ "$sig" = no-repro ]; then
        flaky=$((flaky + n)); echo "  [no-repro] $l: $n file(s), e.g. $f"
    elif awk -F'\t' -v l="$l" -v s="$sig" '$1==l && $2==s {found=1} END {exit !found}' "$known"; then
        echo "  [known]    $l: $sig ($n file(s))"
    else
        new=$((new + 1))
        echo "  [NEW]      $l: $sig ($n file(s)), e.g. $f"
        echo "             replay: SYMSCOPE_FUZZ_LANG=$l $BIN -timeout=$TIMEOUT -rss_limit_mb=$RSS_MB $f"
        echo "             input (first 400 bytes, escaped):"
        head -c 400 "$f" | python3 -c 'import sys; print("               " + repr(sys.stdin.buffer.read())[2:-1])'
    fi
done < <(sort -t$'\t' -k1,1 -k2,2 -u "$triage")
echo "=== $new new bug(s), $flaky finding(s) that did not reproduce alone; summary: $summary"
if [ "$FAIL_ON_NEW" = 1 ] && [ "$new" -gt 0 ]; then
    echo "fuzz: new crash(es): minimise one (fuzz/README.md), add it under tests/fixtures/crashers/ and fix or record it" >&2
    exit 1
fi
