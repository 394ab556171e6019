"""Fetch the pinned training packages into a cache outside git and write the data manifest.

Owns: downloading each pin through its registry (npm: `npm pack`; Go: `go mod download`; PyPI,
crates.io and Maven Central: the registry's own download endpoint, checked against the sha256 /
cksum / sha1 the registry publishes, which is what pip, cargo and mvn do), unpacking, reading the
licence of the pinned version, and `data/manifest.json` (name, registry, version, archive sha256,
licence, kept or why dropped).

Must never: fetch a package that is not on the training list (`packages.check_pins` runs first), keep
a package whose licence is not permissive, trust an archive whose hash disagrees with the registry
or with an earlier manifest, or write inside the git tree except the manifest.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import threading
import urllib.request
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from training.packages import PINS, Pin, check_pins

DATA_DIR = Path(__file__).resolve().parent / "data"
MANIFEST = DATA_DIR / "manifest.json"
USER_AGENT = "symscope-training (+package fetcher)"


def cache_dir() -> Path:
    """$SYMSCOPE_TRAINING_CACHE, else ~/.cache/symscope/training (outside git)."""
    override = os.environ.get("SYMSCOPE_TRAINING_CACHE")
    return Path(override).expanduser() if override else Path.home() / ".cache" / "symscope" / "training"


class FetchError(RuntimeError):
    pass


def _get(url: str, accept: str = "*/*") -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": accept})
    with urllib.request.urlopen(request, timeout=120) as response:
        return response.read()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- licences --------------------------------------------------------------------------------------

_PERMISSIVE = re.compile(r"\b(MIT|BSD|Apache|ISC|PSF|Python Software Foundation|Zlib|Unlicense|0BSD)\b", re.I)
_COPYLEFT = re.compile(r"\b(A?GPL|LGPL|MPL|Mozilla Public|EPL|Eclipse Public|CDDL|General Public License)\b", re.I)


def classify_licence(text: str | None) -> tuple[str, bool]:
    """(short licence text, permissive?): permissive only when a permissive licence is named and no
    copyleft one is (dual 'MIT OR Apache-2.0' passes; 'BSD, GPL' does not)."""
    if not text:
        return "unknown", False
    short = " ".join(text.split())[:120]
    return short, bool(_PERMISSIVE.search(text)) and not _COPYLEFT.search(text)


def licence_from_file_text(text: str) -> str:
    """A licence name from a LICENSE file's text (Go modules carry no licence field)."""
    text = " ".join(text.split())
    if "Mozilla Public License" in text:
        return "MPL-2.0"
    if "GNU GENERAL PUBLIC" in text.upper() or "GNU LESSER" in text.upper():
        return "GPL"
    if "Apache License" in text:
        return "Apache-2.0"
    if "Permission is hereby granted, free of charge" in text:
        return "MIT"
    if "Redistribution and use in source and binary forms" in text:
        return "BSD"
    return "unknown"


def _pkg_info_licence(text: str) -> str:
    """License-Expression, else License (first line), else the OSI classifiers, of a PKG-INFO."""
    headers = text.split("\n\n", 1)[0]
    fields: dict[str, list[str]] = {}
    for line in headers.splitlines():
        key, sep, value = line.partition(": ")
        if sep:
            fields.setdefault(key.lower(), []).append(value.strip())
    if fields.get("license-expression"):
        return fields["license-expression"][0]
    classifiers = [c.split("::")[-1].strip() for c in fields.get("classifier", []) if c.startswith("License ::")]
    licence = (fields.get("license") or [""])[0]
    if licence and licence.upper() != "UNKNOWN" and len(licence) < 80:
        return licence
    return "; ".join(classifiers) or licence


# -- one download per registry -------------------------------------------------------------------


def _download(pin: Pin, dest: Path) -> tuple[Path, str]:
    """(archive path, registry-reported licence or '' when it must be read from the tree)."""
    dest.mkdir(parents=True, exist_ok=True)
    if pin.registry == "pypi":
        # The simple index (PEP 691 JSON), as pip reads it: file names, URLs and sha256 digests.
        index = json.loads(_get(f"https://pypi.org/simple/{pin.name}/", "application/vnd.pypi.simple.v1+json"))
        stem = re.sub(r"[-_.]+", "[-_.]", re.escape(pin.name).replace("\\", ""))
        wanted = re.compile(rf"(?i)^{stem}-{re.escape(pin.version)}\.(tar\.gz|zip)$")
        sdists = [f for f in index["files"] if wanted.match(f["filename"])]
        if not sdists:
            raise FetchError(f"{pin.key} {pin.version} has no sdist")
        data = _get(sdists[0]["url"])
        if _sha256(data) != sdists[0]["hashes"]["sha256"]:
            raise FetchError(f"{pin.key}: sha256 differs from PyPI's")
        path = dest / sdists[0]["filename"]
        path.write_bytes(data)
        return path, ""
    if pin.registry == "npm":
        with tempfile.TemporaryDirectory() as tmp:
            done = subprocess.run(
                ["npm", "pack", "--silent", f"{pin.name}@{pin.version}", "--pack-destination", tmp],
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode:
                raise FetchError(f"npm pack {pin.name}@{pin.version}: {done.stderr.strip()[-300:]}")
            (made,) = Path(tmp).iterdir()
            path = dest / made.name
            shutil.move(made, path)
        return path, ""
    if pin.registry == "crates":
        name = pin.name
        prefix = {1: "1", 2: "2", 3: f"3/{name[0]}"}.get(len(name), f"{name[:2]}/{name[2:4]}")
        index = [json.loads(line) for line in _get(f"https://index.crates.io/{prefix}/{name}").splitlines() if line]
        (entry,) = [e for e in index if e["vers"] == pin.version]
        data = _get(f"https://static.crates.io/crates/{name}/{name}-{pin.version}.crate")
        if _sha256(data) != entry["cksum"]:
            raise FetchError(f"{pin.key}: sha256 differs from the crates.io index cksum")
        path = dest / f"{name}-{pin.version}.crate"
        path.write_bytes(data)
        return path, ""
    if pin.registry == "go":
        env = {**os.environ, "GOFLAGS": "-mod=mod", "GOMODCACHE": str(cache_dir() / "gomodcache")}
        done = subprocess.run(
            ["go", "mod", "download", "-json", f"{pin.name}@{pin.version}"],
            capture_output=True,
            text=True,
            check=False,
            env=env,
            cwd=tempfile.gettempdir(),
        )
        if done.returncode:
            raise FetchError(f"go mod download {pin.name}@{pin.version}: {(done.stdout + done.stderr)[-300:]}")
        info = json.loads(done.stdout)  # go verified it against the checksum database (sum.golang.org)
        path = dest / (pin.folder + ".zip")
        shutil.copyfile(info["Zip"], path)
        return path, ""
    if pin.registry == "maven":
        group, artifact = pin.name.split(":")
        base = f"https://repo1.maven.org/maven2/{group.replace('.', '/')}/{artifact}/{pin.version}/{artifact}-{pin.version}"
        data = _get(base + "-sources.jar")
        if hashlib.sha1(data).hexdigest() != _get(base + "-sources.jar.sha1").decode().split()[0]:
            raise FetchError(f"{pin.key}: sha1 differs from Maven Central's")
        pom = _get(base + ".pom").decode("utf-8", "replace")
        licences = re.findall(r"<license>\s*<name>([^<]+)</name>", pom)
        if not licences:  # inherited from a parent pom
            parent = re.search(r"<parent>.*?</parent>", pom, re.S)
            if parent:
                g = re.search(r"<groupId>([^<]+)", parent.group(0)).group(1)
                a = re.search(r"<artifactId>([^<]+)", parent.group(0)).group(1)
                v = re.search(r"<version>([^<]+)", parent.group(0)).group(1)
                parent_pom = _get(f"https://repo1.maven.org/maven2/{g.replace('.', '/')}/{a}/{v}/{a}-{v}.pom")
                licences = re.findall(r"<license>\s*<name>([^<]+)</name>", parent_pom.decode("utf-8", "replace"))
        path = dest / f"{artifact}-{pin.version}-sources.jar"
        path.write_bytes(data)
        return path, "; ".join(licences)
    raise FetchError(f"unknown registry {pin.registry}")


def _unpack(archive: Path, target: Path) -> None:
    tmp = Path(tempfile.mkdtemp(prefix=".unpack-", dir=target.parent))
    try:
        if archive.suffix in (".zip", ".jar"):
            with zipfile.ZipFile(archive) as zf:
                for member in zf.infolist():
                    name = member.filename
                    if member.is_dir() or name.startswith("/") or ".." in Path(name).parts:
                        continue
                    out = tmp / name
                    out.parent.mkdir(parents=True, exist_ok=True)
                    out.write_bytes(zf.read(member))
        else:
            with tarfile.open(archive) as tar:
                tar.extractall(tmp, filter="data")
        if target.exists():
            shutil.rmtree(target)
        tmp.rename(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _licence_from_tree(pin: Pin, tree: Path) -> str:
    if pin.registry == "pypi":
        infos = sorted(tree.glob("*/PKG-INFO")) or sorted(tree.rglob("PKG-INFO"))
        return _pkg_info_licence(infos[0].read_text("utf-8", "replace")) if infos else ""
    if pin.registry == "npm":
        manifest = json.loads((tree / "package" / "package.json").read_text("utf-8"))
        licence = manifest.get("license") or manifest.get("licenses") or ""
        return licence if isinstance(licence, str) else json.dumps(licence)
    if pin.registry == "crates":
        (cargo,) = [p for p in tree.glob("*/Cargo.toml")]
        found = re.search(r'^license\s*=\s*"([^"]+)"', cargo.read_text("utf-8"), re.M)
        return found.group(1) if found else ""
    if pin.registry == "go":
        files = sorted(p for p in tree.rglob("*") if p.is_file() and re.match(r"(?i)^(licen[cs]e|copying)", p.name))
        files.sort(key=lambda p: len(p.parts))  # the module root's own licence first
        return licence_from_file_text(files[0].read_text("utf-8", "replace")) if files else ""
    if pin.registry == "maven":  # the pom chain named none: the licence file the jar carries
        files = sorted(tree.glob("META-INF/LICENSE*"))
        return licence_from_file_text(files[0].read_text("utf-8", "replace")) if files else ""
    return ""


def fetch_one(pin: Pin, known_sha: str | None) -> dict:
    root = cache_dir()
    archives, trees = root / "archives", root / "trees"
    trees.mkdir(parents=True, exist_ok=True)
    existing = [p for p in archives.glob(f"{pin.folder}.*")] if archives.is_dir() else []
    stamp = archives / f"{pin.folder}.json"
    if stamp.is_file() and (archives / json.loads(stamp.read_text())["file"]).is_file():
        info = json.loads(stamp.read_text())
        archive = archives / info["file"]
        registry_licence = info["registry_licence"]
    else:
        del existing
        archive, registry_licence = _download(pin, archives / ".incoming" / pin.folder)
        final = archives / archive.name
        shutil.move(archive, final)
        archive = final
        stamp.write_text(json.dumps({"file": archive.name, "registry_licence": registry_licence}))
    sha = hashlib.sha256(archive.read_bytes()).hexdigest()
    if known_sha and sha != known_sha:
        raise FetchError(f"{pin.key} {pin.version}: archive sha256 {sha} differs from the manifest's {known_sha}")
    tree = trees / pin.folder
    if not (tree / ".sha256").is_file() or (tree / ".sha256").read_text().strip() != sha:
        _unpack(archive, tree)
        (tree / ".sha256").write_text(sha + "\n")
    licence_text = registry_licence or _licence_from_tree(pin, tree)
    licence, permissive = classify_licence(licence_text)
    return {
        "registry": pin.registry,
        "name": pin.name,
        "version": pin.version,
        "archive": archive.name,
        "sha256": sha,
        "licence": licence,
        "kept": permissive,
        **({} if permissive else {"dropped": f"licence not permissive: {licence}"}),
    }


def load_manifest(path: Path = MANIFEST) -> list[dict]:
    return json.loads(path.read_text("utf-8"))["packages"] if path.is_file() else []


def fetch_all(pins: tuple[Pin, ...] = PINS, jobs: int = 4, manifest_path: Path = MANIFEST) -> list[dict]:
    """Fetch every pin (in parallel: it is network-bound), write the manifest, return its rows."""
    check_pins(pins)
    known = {(r["registry"], r["name"], r["version"]): r.get("sha256") for r in load_manifest(manifest_path)}
    rows: list[dict] = []
    print_lock = threading.Lock()

    def one(pin: Pin) -> dict:
        try:
            row = fetch_one(pin, known.get((pin.registry, pin.name, pin.version)))
        except Exception as exc:  # one bad package must not lose the others; the manifest says why
            row = {"registry": pin.registry, "name": pin.name, "version": pin.version, "kept": False}
            row["dropped"] = f"fetch failed: {type(exc).__name__}: {str(exc)[:200]}"
        with print_lock:  # threads: one whole line at a time
            print(
                f"{'kept   ' if row['kept'] else 'DROPPED'} {pin.key} {pin.version} {row.get('licence', '')}"
                f"{'' if row['kept'] else ' -- ' + row['dropped']}",
                flush=True,
            )
        return row

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        rows = list(pool.map(one, pins))
    manifest_path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "about": "Training packages (pinned, from the training list in training_list.md); archives in the "
        "fetch cache, sha256 of each archive as downloaded. kept=false rows are never mined.",
        "packages": rows,
    }
    manifest_path.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    return rows


def tree_of(row: dict) -> Path:
    return cache_dir() / "trees" / Pin(row["registry"], row["name"], row["version"]).folder
