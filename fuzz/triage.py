#!/usr/bin/env python3
"""Replays fuzz findings one by one and names the bug each one hits.

    triage.py BINARY [--timeout S] [--rss-limit-mb M] [--json] LANG=FILE...

Each FILE is run once through the `extract` target with SYMSCOPE_FUZZ_LANG=LANG. The signature is
what identifies a bug across different inputs:

- a C assertion: its `file:line: function: Assertion ... failed` text;
- a sanitizer report / deadly signal / Rust panic: the kind plus the first frame outside libc,
  the sanitizers, libFuzzer and the panic machinery (function and file:line);
- a timeout or out-of-memory: the kind plus that first frame's function only (a hang is
  interrupted anywhere inside its loop, so lines vary);
- `no-repro`: the input ran cleanly (a flaky timeout/oom, or a bug already fixed).

Prints `LANG<TAB>SIGNATURE<TAB>FILE` per input (or JSON lines with the report's tail).
"""

import argparse
import json
import os
import re
import subprocess
import sys

FRAME = re.compile(r"^\s*#\d+ 0x[0-9a-f]+ in (.+?) (/\S+|\S+\.(?:c|h|rs|cc|cpp)\S*|\(\S+\))\s*$", re.M)
NOISE = re.compile(
    r"__sanitizer|__asan|__interceptor|__lsan|__ubsan|fuzzer::|LLVMFuzzer|libfuzzer_sys|"
    r"^abort$|^raise$|__assert|__GI_|__pthread_kill|pthread_kill|gsignal|__libc|"
    r"std::panicking|core::panicking|std::panic|rust_begin_unwind|__rust|rust_panic|"
    r"std::sys::|std::rt::|std::process::abort|core::result::unwrap_failed|core::option::|"
    r"^malloc$|^calloc$|^realloc$|^free$|^operator new|^alloc::|__libc_|^_start$|^main$|"
    r"ts_malloc_default|ts_calloc_default|ts_realloc_default"
)
NOISE_FILES = re.compile(r"compiler-rt|/libFuzzer/|libfuzzer-sys|/rustc/|libc\.so|sanitizer_common")


def short(path: str) -> str:
    """The last three components (e.g. tree-sitter-ruby-0.23.1/src/scanner.c): which grammar, which file."""
    return "/".join(path.split("/")[-3:])


def first_frame(report: str, with_line: bool) -> str:
    for func, where in FRAME.findall(report):
        if NOISE.search(func) or NOISE_FILES.search(where):
            continue
        func = re.sub(r"::h[0-9a-f]{16}$", "", func)
        if not with_line:
            return func
        where = re.sub(r":\d+$", "", where) if where.count(":") >= 2 else where  # drop the column
        return f"{func} {short(where)}"
    return "?"


def signature(report: str, rc: int) -> str:
    m = re.search(r"^(?:\S+: )?(\S+?:\d+: .*?Assertion `.*' failed\.)", report, re.M)
    if m:
        text = m.group(1)
        path, rest = text.split(":", 1)
        return f"assert {short(path)}:{rest}"
    m = re.search(r"panicked at (\S+?):(\d+):\d+:\n(.*)", report)
    if m:
        return f"panic {os.path.basename(m.group(1))}:{m.group(2)}: {m.group(3)[:120]}"
    m = re.search(r"ERROR: (?:AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer): ([\w-]+)", report)
    if m:
        return f"asan:{m.group(1)} {first_frame(report, True)}"
    if "ERROR: LeakSanitizer" in report:
        return f"leak {first_frame(report, True)}"
    if "ERROR: libFuzzer: timeout" in report:
        return f"timeout {first_frame(report, False)}"
    if "ERROR: libFuzzer: out-of-memory" in report or "malloc limit" in report:
        return f"oom {first_frame(report, False)}"
    if "ERROR: libFuzzer: deadly signal" in report:
        return f"signal {first_frame(report, True)}"
    if rc == 0:
        return "no-repro"
    return f"exit:{rc} {first_frame(report, True)}"


def run_one(binary: str, lang: str, path: str, timeout: int, rss: int) -> tuple[str, str, int]:
    env = dict(os.environ, SYMSCOPE_FUZZ_LANG=lang, ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "symbolize=1"))
    cmd = [binary, f"-timeout={timeout}", f"-rss_limit_mb={rss}", "-runs=1", path]
    try:
        p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout * 3 + 30)
        report, rc = p.stdout.decode(errors="replace"), p.returncode
    except subprocess.TimeoutExpired as e:
        report, rc = (e.stdout or b"").decode(errors="replace") + "\nERROR: libFuzzer: timeout (killed)", -9
    return signature(report, rc), report, rc


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("items", nargs="+", metavar="LANG=FILE")
    ap.add_argument("--timeout", type=int, default=10)
    ap.add_argument("--rss-limit-mb", type=int, default=2048)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    for item in args.items:
        lang, _, path = item.partition("=")
        sig, report, rc = run_one(args.binary, lang, path, args.timeout, args.rss_limit_mb)
        if args.json:
            print(
                json.dumps({"lang": lang, "file": path, "signature": sig, "rc": rc, "report_tail": report[-6000:]}),
                flush=True,
            )
        else:
            print(f"{lang}\t{sig}\t{path}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
