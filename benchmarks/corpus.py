"""Reproducible benchmark corpora: pinned package sources fetched through the package registries only.

Owns: the list of pinned sources per corpus set, fetching them (`pip download --no-deps --no-binary
:all:` for PyPI sdists, `npm pack name@version` for npm), checking each archive's sha256 against the pin,
and unpacking each archive into its own folder `<name>-<version>/` under one root per set.

Never: downloads anything that is not pinned here, trusts an archive whose hash differs from its pin, or
reaches anything but the PyPI and npm registries (no GitHub, no model hub). Archives are cached under
`benchmarks/.corpus/` (git-ignored); a second run is offline.

Command line (JSON to stdout, logs to stderr):
    python benchmarks/corpus.py fetch quality       # fetch + verify + unpack, print the tree root
    python benchmarks/corpus.py hash perf           # sha256 of cached archives (for bumping a pin)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("benchmarks.corpus")

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_CACHE = BENCH_DIR / ".corpus"


class CorpusError(RuntimeError):
    """A source could not be fetched, failed its hash check, or could not be unpacked."""


@dataclass(frozen=True)
class Source:
    registry: str  # "pypi" | "npm"
    name: str
    version: str
    sha256: str

    @property
    def folder(self) -> str:
        """Folder name of this source inside a set's tree root (also the prefix of its indexed paths)."""
        return f"{self.name.lower()}-{self.version}"


REQUESTS = Source("pypi", "requests", "2.32.3", "55365417734eb18255590a9ff9eb97e9e1da868d4ccd6402399eaf68af20a760")
CLICK = Source("pypi", "click", "8.1.7", "ca9853ad459e787e2192211578cc907e7594e294c7ccc834310722b41b9ca6de")
FLASK = Source("pypi", "flask", "3.0.3", "ceb27b0af3823ea2737928a4d99d125a06175b8512c445cbd9a9ce200ef76842")
DJANGO = Source("pypi", "django", "5.1.4", "de450c09e91879fa5a307f696e57c851955c910a438a35e6b4c895e86bedc82a")
SEMVER = Source("npm", "semver", "7.6.3", "376d2ca2c941fc5a37e9ac3ec65302e5e421e2cc1ee3dee57a854d2bd9bee125")
EXPRESS = Source("npm", "express", "4.21.2", "fc43a91e7dc7affb53c6ad7123a4f35485ed3c45226ae7a3847b7738e783e008")
LODASH = Source("npm", "lodash", "4.17.21", "6a087ac9e5702a0c9d60fbcd48696012646ec8df1491dea472b150e79fcaf804")
RXJS = Source("npm", "rxjs", "7.8.1", "c532167725ab7d085123209156c93cef22f2479cb9c8527060f1cd903aa9d149")

SETS: dict[str, tuple[Source, ...]] = {
    # search-quality evaluation: code none of us wrote, small enough to embed fully on 2 cores
    "quality": (REQUESTS, CLICK, FLASK, SEMVER, EXPRESS),
    # index performance: >= 50,000 symbols (Django's sdist carries its test suite)
    "perf": (DJANGO, LODASH, RXJS, REQUESTS, CLICK, FLASK, SEMVER, EXPRESS),
    # a quick smoke run of the performance script
    "perf-quick": (REQUESTS, CLICK, FLASK, SEMVER, EXPRESS, LODASH),
}


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _pip_command() -> list[str]:
    """A pip that can download: this interpreter's if it has one, else the first `pip` on PATH."""
    probe = subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True, text=True, check=False)
    if probe.returncode == 0:
        return [sys.executable, "-m", "pip"]
    for name in ("pip3", "pip"):
        found = shutil.which(name)
        if found:
            return [found]
    raise CorpusError("no pip found (this interpreter has none and none is on PATH)")


def _download(source: Source, dest: Path) -> Path:
    """Download one pinned archive into `dest` through its registry's own client; returns the file."""
    with tempfile.TemporaryDirectory(prefix="symscope-corpus-") as tmp:
        if source.registry == "pypi":
            cmd = [
                *_pip_command(),
                "download",
                "--no-deps",
                "--no-binary",
                ":all:",
                "--disable-pip-version-check",
                "-d",
                tmp,
                f"{source.name}=={source.version}",
            ]
        elif source.registry == "npm":
            cmd = ["npm", "pack", "--silent", f"{source.name}@{source.version}", "--pack-destination", tmp]
        else:
            raise CorpusError(f"unknown registry {source.registry!r} for {source.name}")
        log.info("fetching %s %s from %s", source.name, source.version, source.registry)
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise CorpusError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr.strip()}")
        files = [p for p in Path(tmp).iterdir() if p.is_file()]
        if len(files) != 1:
            raise CorpusError(f"expected one archive for {source.name}, got {[p.name for p in files]}")
        dest.mkdir(parents=True, exist_ok=True)
        target = dest / files[0].name
        shutil.move(str(files[0]), target)
        return target


def _cached_archive(source: Source, archives: Path) -> Path | None:
    if not archives.is_dir():
        return None
    stem_names = {source.name.lower(), source.name.lower().replace("-", "_")}
    for path in archives.iterdir():
        lower = path.name.lower()
        if any(lower.startswith(f"{n}-{source.version}.") for n in stem_names):
            return path
    return None


def fetch_archive(source: Source, cache: Path = DEFAULT_CACHE) -> Path:
    """The verified archive of `source`, downloaded on first use. Raises CorpusError on a hash mismatch."""
    archives = cache / "archives"
    path = _cached_archive(source, archives) or _download(source, archives)
    actual = sha256_of(path)
    if actual != source.sha256:
        raise CorpusError(
            f"sha256 mismatch for {path.name}: pinned {source.sha256}, got {actual}. "
            "The archive was kept for inspection; delete it to fetch again."
        )
    return path


def _unpack(archive: Path, target: Path) -> None:
    """Unpack `archive` so that its single top folder becomes `target` (atomic rename at the end)."""
    with tempfile.TemporaryDirectory(prefix="unpack-", dir=target.parent) as tmp:
        with tarfile.open(archive) as tar:
            tar.extractall(tmp, filter="data")  # "data" refuses absolute paths, links out of tree, devices
        tops = list(Path(tmp).iterdir())
        if len(tops) != 1 or not tops[0].is_dir():
            raise CorpusError(f"{archive.name}: expected one top-level folder, got {[p.name for p in tops]}")
        tops[0].rename(target)


def materialize(set_name: str, cache: Path = DEFAULT_CACHE, trees: Path | None = None) -> Path:
    """Fetch, verify and unpack every source of `set_name`; returns the set's tree root.

    The root holds one folder per source (`Source.folder`), so an indexed path reads
    `<name>-<version>/<path inside the package>`.
    """
    if set_name not in SETS:
        raise CorpusError(f"unknown corpus set {set_name!r}; known: {sorted(SETS)}")
    root = (trees or cache / "trees") / set_name
    root.mkdir(parents=True, exist_ok=True)
    for source in SETS[set_name]:
        archive = fetch_archive(source, cache)
        target = root / source.folder
        stamp = root / f".{source.folder}.sha256"
        if target.is_dir() and stamp.is_file() and stamp.read_text().strip() == source.sha256:
            continue
        if target.exists():
            shutil.rmtree(target)
        log.info("unpacking %s into %s", archive.name, target)
        _unpack(archive, target)
        stamp.write_text(source.sha256 + "\n")
    return root


def source_by_folder(set_name: str) -> dict[str, Source]:
    return {s.folder: s for s in SETS[set_name]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("action", choices=["fetch", "hash"], help="fetch+verify+unpack, or print archive hashes")
    parser.add_argument("set", choices=sorted(SETS), help="corpus set")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="archive cache (default: %(default)s)")
    parser.add_argument("--trees", type=Path, default=None, help="where to unpack (default: CACHE/trees)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(name)s: %(message)s")
    try:
        if args.action == "hash":
            out = {}
            for s in SETS[args.set]:
                path = _cached_archive(s, args.cache / "archives")
                out[s.folder] = {"pinned": s.sha256, "actual": sha256_of(path) if path else None}
        else:
            root = materialize(args.set, args.cache, args.trees)
            out = {"set": args.set, "root": str(root), "sources": [s.folder for s in SETS[args.set]]}
    except CorpusError as exc:
        log.error("%s", exc)
        return 2
    json.dump(out, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
