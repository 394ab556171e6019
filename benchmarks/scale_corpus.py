"""The scale corpus (issue #12): >= 100,000 files of real code, fetched through package registries only.

Owns: the pins and the fetch of two halves, unpacked side by side under one root
`benchmarks/.corpus/scale/tree/`:
  * `linux-<version>/`: the Linux kernel source from Debian (`apt-get source --download-only
    linux=<pin>`, deb-src of bookworm); the .dsc, orig and debian tarballs are checked against the
    sha256 pinned here on every use, and only the upstream (orig) tarball is unpacked, once;
  * `node-app/`: `npm ci --ignore-scripts` of `benchmarks/scale_npm/package.json` and its committed
    lockfile (exact versions; npm verifies every tarball's integrity hash from the lockfile).

Never: runs a package's install scripts, applies Debian's patches, trusts an archive whose hash
differs from its pin, or fetches at benchmark time (`scale.py` only calls `tree_root()`, which
fails when the corpus is not there yet).

    python benchmarks/scale.py fetch            # what `scale.py` calls; prints {"root": ..., "files": ...}
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from corpus import sha256_of  # benchmarks/corpus.py: the one archive hash of the benchmarks

log = logging.getLogger("benchmarks.scale_corpus")

BENCH_DIR = Path(__file__).resolve().parent
CACHE = BENCH_DIR / ".corpus" / "scale"
DEBIAN_DIR = CACHE / "debian"
TREE = CACHE / "tree"
NPM_PIN_DIR = BENCH_DIR / "scale_npm"
APT_SOURCES = Path("/etc/apt/sources.list.d")

LINUX_VERSION = "6.1.170-3"  # bookworm/main and bookworm-security
LINUX_UPSTREAM = "6.1.170"
DEBIAN_FILES = {
    "linux_6.1.170-3.dsc": "03fb7bff881839fa29297adeade96dd8d7cd1edaaf2d03669220146d7a175478",
    "linux_6.1.170.orig.tar.xz": "d97c2b2683633677fa1f41bf5cc58cfac7664b84ca885ce6546d40fee87ba7fe",
    "linux_6.1.170-3.debian.tar.xz": "25805b356526715f569ee3f0e123a567ff0791d68f097036b2dc7587f7c41c19",
}
ORIG = "linux_6.1.170.orig.tar.xz"
LINUX_FOLDER = f"linux-{LINUX_UPSTREAM}"
NODE_FOLDER = "node-app"
MIN_FILES = 100_000


class CorpusError(RuntimeError):
    """The corpus could not be fetched or verified, or is not there yet."""


def _has_deb_src() -> bool:
    for path in APT_SOURCES.glob("*"):
        try:
            text = path.read_text()
        except OSError:
            continue
        if "deb-src" in text:
            return True
    return False


def _verify_debian() -> bool:
    """True when every pinned Debian file is cached with its hash; raises on a mismatch."""
    for name, want in DEBIAN_FILES.items():
        path = DEBIAN_DIR / name
        if not path.is_file():
            return False
        got = sha256_of(path)
        if got != want:
            raise CorpusError(f"sha256 mismatch for {path}: pinned {want}, got {got}; delete it to fetch again")
    return True


def fetch_debian() -> None:
    DEBIAN_DIR.mkdir(parents=True, exist_ok=True)
    if _verify_debian():
        log.info("Debian sources cached and verified: %s", ", ".join(DEBIAN_FILES))
        return
    if not _has_deb_src():
        raise CorpusError(
            "no deb-src entry in /etc/apt/sources.list.d: add one (Types: deb-src, the same URIs/Suites as the "
            "deb entry) and run `apt-get update`"
        )
    log.info("apt-get source --download-only linux=%s", LINUX_VERSION)
    done = subprocess.run(
        ["apt-get", "source", "--download-only", f"linux={LINUX_VERSION}"],
        cwd=DEBIAN_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise CorpusError(f"apt-get source failed ({done.returncode}):\n{done.stderr.strip()[-2000:]}")
    if not _verify_debian():
        raise CorpusError(f"apt-get source did not leave {sorted(DEBIAN_FILES)} in {DEBIAN_DIR}")


def unpack_linux() -> Path:
    target = TREE / LINUX_FOLDER
    stamp = TREE / f".{LINUX_FOLDER}.sha256"
    want = DEBIAN_FILES[ORIG]
    if target.is_dir() and stamp.is_file() and stamp.read_text().strip() == want:
        return target
    if target.exists():
        shutil.rmtree(target)
    TREE.mkdir(parents=True, exist_ok=True)
    log.info("unpacking %s into %s", ORIG, target)
    with tempfile.TemporaryDirectory(prefix="unpack-", dir=TREE) as tmp:
        with tarfile.open(DEBIAN_DIR / ORIG) as tar:
            tar.extractall(tmp, filter="data")  # refuses absolute paths, links out of the tree, devices
        tops = list(Path(tmp).iterdir())
        if len(tops) != 1 or not tops[0].is_dir():
            raise CorpusError(f"{ORIG}: expected one top-level folder, got {[p.name for p in tops]}")
        tops[0].rename(target)
    stamp.write_text(want + "\n")
    return target


def install_node() -> Path:
    target = TREE / NODE_FOLDER
    lock = NPM_PIN_DIR / "package-lock.json"
    want = sha256_of(lock)
    stamp = TREE / f".{NODE_FOLDER}.sha256"
    if (target / "node_modules").is_dir() and stamp.is_file() and stamp.read_text().strip() == want:
        return target
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy2(NPM_PIN_DIR / name, target / name)
    log.info("npm ci --ignore-scripts in %s", target)
    env = dict(os.environ, npm_config_fund="false", npm_config_audit="false", npm_config_update_notifier="false")
    done = subprocess.run(
        ["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=target,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        raise CorpusError(f"npm ci failed ({done.returncode}):\n{done.stderr.strip()[-2000:]}")
    stamp.write_text(want + "\n")
    return target


def count_files(root: Path) -> int:
    n = 0
    for _dir, _subdirs, files in os.walk(root):
        n += len(files)
    return n


def fetch() -> dict:
    """Fetch, verify and unpack both halves; returns {"root", "files", "parts": {...}}."""
    fetch_debian()
    linux = unpack_linux()
    node = install_node()
    parts = {LINUX_FOLDER: count_files(linux), NODE_FOLDER: count_files(node)}
    total = sum(parts.values())
    if total < MIN_FILES:
        raise CorpusError(f"the corpus has {total} files, fewer than {MIN_FILES}")
    return {
        "root": str(TREE),
        "files": total,
        "parts": parts,
        "linux": {"version": LINUX_VERSION, "sha256": DEBIAN_FILES},
        "npm_lock_sha256": sha256_of(NPM_PIN_DIR / "package-lock.json"),
    }


def tree_root() -> Path:
    """The unpacked corpus; raises CorpusError when `fetch` has not been run (no fetching here)."""
    for folder in (LINUX_FOLDER, NODE_FOLDER):
        stamp = TREE / f".{folder}.sha256"
        if not stamp.is_file():
            raise CorpusError(
                f"the scale corpus is not there ({stamp} missing): run `python benchmarks/scale.py fetch`"
            )
    if (TREE / f".{LINUX_FOLDER}.sha256").read_text().strip() != DEBIAN_FILES[ORIG]:
        raise CorpusError("the unpacked kernel is not the pinned one: run `python benchmarks/scale.py fetch`")
    return TREE
