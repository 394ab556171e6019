"""Reproducible benchmark corpora: pinned package sources fetched through the package registries only.

Owns: the list of pinned sources per corpus set, fetching them through each registry's own client
(`pip download --no-deps --no-binary :all:` for PyPI sdists, `npm pack name@version` for npm, `cargo
fetch` of a throw-away project pinning `name = "=version"` for crates.io, `go mod download -json
module@version` for the Go module proxy, `mvn dependency:get -Dartifact=G:A:V:jar:sources` for Maven
Central), checking each archive's sha256 against the pin, and unpacking each archive into its own folder
(`Source.folder`) under one root per set, by these layout rules (shared with the people writing
evaluation questions by hand, whose gold paths are relative to that folder):

- sdists, npm tarballs and `.crate` files: the archive's single top folder becomes the folder;
- Go module zips: the `<module>@<version>/` prefix is stripped;
- Maven `-sources.jar`: the contents as they are, `META-INF/` dropped;
- a source's `drop` folders (generated bundles such as ajv's `dist/`) are removed after unpacking.

Never: downloads anything that is not pinned here, trusts an archive whose hash differs from its pin, or
reaches anything but the PyPI, npm, crates.io, Go module proxy and Maven Central registries (no GitHub,
no model hub). Archives are cached under `benchmarks/.corpus/` (git-ignored); a second run is offline.

Command line (JSON to stdout, logs to stderr):
    python benchmarks/corpus.py fetch quality       # fetch + verify + unpack, print the tree root
    python benchmarks/corpus.py hash perf           # sha256 of cached archives (for bumping a pin)
    python benchmarks/corpus.py hash eval --download  # also download the archives not cached yet
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("benchmarks.corpus")

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_CACHE = BENCH_DIR / ".corpus"


class CorpusError(RuntimeError):
    """A source could not be fetched, failed its hash check, or could not be unpacked."""


REGISTRIES = ("pypi", "npm", "crates", "go", "maven")


@dataclass(frozen=True)
class Source:
    registry: str  # one of REGISTRIES
    name: str  # Maven: "group:artifact"; Go: the module path
    version: str  # Go: without the leading "v"
    sha256: str
    label: str | None = None  # folder name where `name-version` does not fit (Go modules, Maven)
    drop: tuple[str, ...] = ()  # top-level folders removed after unpacking (generated bundles)
    licence: str = ""  # the licence field of the pinned version (all must be permissive)

    @property
    def folder(self) -> str:
        """Folder name of this source inside a set's tree root (also the prefix of its indexed paths)."""
        return self.label or f"{self.name.lower()}-{self.version}"

    @property
    def archive_name(self) -> str | None:
        """The cached archive's file name for registries whose client leaves it somewhere of its own
        (None: pip and npm name the file themselves)."""
        suffix = {"crates": ".crate", "go": ".zip", "maven": "-sources.jar"}.get(self.registry)
        return f"{self.folder}{suffix}" if suffix else None


REQUESTS = Source("pypi", "requests", "2.32.3", "55365417734eb18255590a9ff9eb97e9e1da868d4ccd6402399eaf68af20a760")
CLICK = Source("pypi", "click", "8.1.7", "ca9853ad459e787e2192211578cc907e7594e294c7ccc834310722b41b9ca6de")
FLASK = Source("pypi", "flask", "3.0.3", "ceb27b0af3823ea2737928a4d99d125a06175b8512c445cbd9a9ce200ef76842")
DJANGO = Source("pypi", "django", "5.1.4", "de450c09e91879fa5a307f696e57c851955c910a438a35e6b4c895e86bedc82a")
SEMVER = Source("npm", "semver", "7.6.3", "376d2ca2c941fc5a37e9ac3ec65302e5e421e2cc1ee3dee57a854d2bd9bee125")
EXPRESS = Source("npm", "express", "4.21.2", "fc43a91e7dc7affb53c6ad7123a4f35485ed3c45226ae7a3847b7738e783e008")
LODASH = Source("npm", "lodash", "4.17.21", "6a087ac9e5702a0c9d60fbcd48696012646ec8df1491dea472b150e79fcaf804")
RXJS = Source("npm", "rxjs", "7.8.1", "c532167725ab7d085123209156c93cef22f2479cb9c8527060f1cd903aa9d149")

# The evaluation list of /work/shared/corpora.md (never train on these). Licence: each pinned version's
# own licence field (PKG-INFO / package.json / Cargo.toml / LICENSE file in the module zip / the pom).
EVAL_EXTRA = (
    Source(
        "pypi", "tomlkit", "0.15.3", "b3c3020ec1a4bd469d12e31fb4da938e7f6ba758cdbec3fd9047db63120eaf81", licence="MIT"
    ),
    Source(
        "pypi", "cachetools", "8.0.3", "79245d0d90464e29355f13658cd769e57d98ed06242d3c6fbd71796ca0938ef9", licence="MIT"
    ),
    Source(
        "pypi",
        "marshmallow",
        "4.4.0",
        "9e6ffa8511012ca89732324c1c253efd7b4d35632dcbdf80aa793fe01804af3e",
        licence="MIT",
    ),
    Source(
        "pypi",
        "structlog",
        "26.1.0",
        "f63a716cbd1b1291cf7661de7794b455acfa4c43c5bcf1630e6ad5ddc1adb3b7",
        licence="MIT OR Apache-2.0",
    ),
    Source("npm", "koa", "3.3.0", "2b1cae002c5c8a066b9c77ac9bf197e2369ba8501fb76b75c9f21d474ef02cf4", licence="MIT"),
    Source(
        "npm",
        "ajv",
        "8.20.0",
        "b2f0b3a893bbb8cc5efb6814f08b1499e19e31d5dd73683f5893382f48f6e7b3",
        drop=("dist",),
        licence="MIT",
    ),
    Source(
        "npm", "superagent", "10.4.2", "895c42b32ca6f41a283422697e188b3667255f4ab6da32f1e2385ce7661eaa4d", licence="MIT"
    ),
    Source(
        "go",
        "github.com/gorilla/mux",
        "1.8.1",
        "728243623caa67f64e4a0b6c59dde3f762918d9e729266167ba46d8df56c193a",
        label="gorilla-mux-1.8.1",
        licence="BSD-3-Clause",
    ),
    Source(
        "go",
        "github.com/urfave/cli/v2",
        "2.27.7",
        "a9a4175ab5d550f093f716e8971a5c8539aa738675a210f6321cfb5905f0488a",
        label="urfave-cli-2.27.7",
        licence="MIT",
    ),
    Source(
        "crates",
        "clap_builder",
        "4.6.10",
        "a0ed97c96ef4efb3cc84e09fa388df4463e7cc3224ec38d7b1d9e45749333590",
        licence="MIT OR Apache-2.0",
    ),
    Source(
        "crates",
        "anyhow",
        "1.0.105",
        "2cb931c189b85683d69a5cfad41d4d418671e1ac413dd209f3f2fc31e3cfd902",
        licence="MIT OR Apache-2.0",
    ),
    Source(
        "crates",
        "walkdir",
        "2.5.1",
        "b42e295b7452c4604982280d8586001fcad9b8b201cac67bca9771e7a7475403",
        licence="Unlicense/MIT",
    ),
    Source(
        "maven",
        "org.apache.commons:commons-text",
        "1.15.0",
        "6fa2f1db12dc4147094be928a5b54d567cea287df54e4c76b7dfb6096c05439d",
        label="commons-text-1.15.0",
        licence="Apache-2.0",
    ),
    # jsoup 1.24.1 (the first choice) has no -sources.jar on Maven Central: 1.23.2 does
    Source(
        "maven",
        "org.jsoup:jsoup",
        "1.23.2",
        "f0ed21735857df93c3e461d1aecf89d28c3eda552f2e043d68959d341376aa17",
        label="jsoup-1.23.2",
        licence="MIT",
    ),
)

SETS: dict[str, tuple[Source, ...]] = {
    # search-quality evaluation: code none of us wrote, small enough to embed fully on 2 cores
    "quality": (REQUESTS, CLICK, FLASK, SEMVER, EXPRESS),
    # the cross-language evaluation (issue 9): "quality" plus the evaluation list's pinned packages;
    # every query file of "quality" is also a query file of "eval" (same folders, same paths)
    "eval": (REQUESTS, CLICK, FLASK, SEMVER, EXPRESS, *EVAL_EXTRA),
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


def _run(cmd: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=cwd, env=env)
    if done.returncode != 0:
        detail = "\n".join(x.strip() for x in (done.stderr, done.stdout) if x and x.strip())
        raise CorpusError(f"{' '.join(cmd)} failed ({done.returncode}):\n{detail[-2000:]}")
    return done.stdout


def _need(tool: str) -> str:
    found = shutil.which(tool)
    if not found:
        raise CorpusError(f"{tool} is needed to fetch this corpus and is not on PATH")
    return found


def _crate_from_registry(source: Source, tmp: Path) -> Path:
    """`cargo fetch` of a throw-away project depending on exactly `name = "=version"`; the `.crate` is
    then in CARGO_HOME's registry cache (cargo checked it against the index's checksum)."""
    (tmp / "src").mkdir()
    (tmp / "src" / "lib.rs").write_text("")
    (tmp / "Cargo.toml").write_text(
        '[package]\nname = "symscope-corpus-fetch"\nversion = "0.0.0"\nedition = "2021"\n\n'
        f'[dependencies]\n{source.name} = "={source.version}"\n'
    )
    _run([_need("cargo"), "fetch", "--quiet", "--manifest-path", str(tmp / "Cargo.toml")])
    cargo_home = Path(os.environ.get("CARGO_HOME") or Path.home() / ".cargo")
    found = sorted((cargo_home / "registry" / "cache").glob(f"*/{source.name}-{source.version}.crate"))
    if not found:
        raise CorpusError(f"cargo fetch succeeded but no {source.name}-{source.version}.crate under {cargo_home}")
    return found[0]


def _go_module_zip(source: Source, tmp: Path) -> Path:
    """`go mod download -json module@vX.Y.Z` (outside any module) -> the zip in the module cache."""
    out = _run([_need("go"), "mod", "download", "-json", f"{source.name}@v{source.version}"], cwd=tmp)
    try:
        info = json.loads(out)
    except ValueError as exc:
        raise CorpusError(f"go mod download printed no JSON for {source.name}: {out[:200]!r}") from exc
    if info.get("Error") or not info.get("Zip"):
        raise CorpusError(f"go mod download {source.name}@v{source.version}: {info.get('Error') or 'no Zip'}")
    return Path(info["Zip"])


def _maven_sources_jar(source: Source, tmp: Path) -> Path:
    """`mvn dependency:get -Dartifact=G:A:V:jar:sources` -> the -sources.jar in the local repository."""
    group, artifact = source.name.split(":", 1)
    _run(
        [
            _need("mvn"),
            "-q",
            "-B",
            "dependency:get",
            f"-Dartifact={group}:{artifact}:{source.version}:jar:sources",
            "-Dtransitive=false",
        ],
        cwd=tmp,
    )
    repo = Path.home() / ".m2" / "repository" / Path(*group.split(".")) / artifact / source.version
    jar = repo / f"{artifact}-{source.version}-sources.jar"
    if not jar.is_file():
        raise CorpusError(f"mvn dependency:get succeeded but {jar} is missing")
    return jar


def _download(source: Source, dest: Path) -> Path:
    """Download one pinned archive into `dest` through its registry's own client; returns the file."""
    log.info("fetching %s %s from %s", source.name, source.version, source.registry)
    with tempfile.TemporaryDirectory(prefix="symscope-corpus-") as tmp:
        if source.registry in ("crates", "go", "maven"):
            fetcher = {"crates": _crate_from_registry, "go": _go_module_zip, "maven": _maven_sources_jar}
            found = fetcher[source.registry](source, Path(tmp))
            dest.mkdir(parents=True, exist_ok=True)
            target = dest / str(source.archive_name)
            shutil.copyfile(found, target)
            return target
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
        _run(cmd)
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
    if source.archive_name:
        path = archives / source.archive_name
        return path if path.is_file() else None
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


def _safe_member(name: str) -> bool:
    parts = Path(name).parts
    return bool(parts) and not Path(name).is_absolute() and ".." not in parts


def _unpack_zip(archive: Path, into: Path, strip: str, skip: str | None) -> None:
    """Extract a zip's regular files under `into`, `strip` removed from each name (which must carry
    it), names under `skip` left out; refuses absolute names, '..' and symlinks."""
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            name = info.filename
            if not name.startswith(strip):
                raise CorpusError(f"{archive.name}: member {name!r} lies outside {strip!r}")
            rel = name[len(strip) :]
            if not rel or info.is_dir() or (skip and (rel == skip or rel.startswith(skip + "/"))):
                continue
            if not _safe_member(rel) or (info.external_attr >> 16) & 0o170000 == 0o120000:
                raise CorpusError(f"{archive.name}: refusing member {name!r}")
            out = into / rel
            out.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, out.open("wb") as dst:
                shutil.copyfileobj(src, dst)


def _unpack(archive: Path, target: Path, source: Source | None = None) -> None:
    """Unpack `archive` into `target` by the layout rule of its registry (module docstring); atomic
    rename at the end."""
    registry = source.registry if source else "pypi"
    with tempfile.TemporaryDirectory(prefix="unpack-", dir=target.parent) as tmp:
        if registry == "go":
            top = Path(tmp) / "tree"
            top.mkdir()
            _unpack_zip(archive, top, f"{source.name}@v{source.version}/", None)
        elif registry == "maven":
            top = Path(tmp) / "tree"
            top.mkdir()
            _unpack_zip(archive, top, "", "META-INF")
        else:
            with tarfile.open(archive) as tar:
                tar.extractall(tmp, filter="data")  # "data" refuses absolute paths, links out of tree, devices
            tops = list(Path(tmp).iterdir())
            if len(tops) != 1 or not tops[0].is_dir():
                raise CorpusError(f"{archive.name}: expected one top-level folder, got {[p.name for p in tops]}")
            top = tops[0]
        for folder in source.drop if source else ():
            if (top / folder).is_dir():
                shutil.rmtree(top / folder)
        top.rename(target)


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
        _unpack(archive, target, source)
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
    parser.add_argument("--download", action="store_true", help="hash: download archives not cached yet (unverified)")
    parser.add_argument("--trees", type=Path, default=None, help="where to unpack (default: CACHE/trees)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(name)s: %(message)s")
    try:
        if args.action == "hash":
            out = {}
            for s in SETS[args.set]:
                path = _cached_archive(s, args.cache / "archives")
                if path is None and args.download:
                    path = _download(s, args.cache / "archives")
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
