"""Settings: what one workspace's index and search run with, and where those values come from.

Owns the defaults and their precedence, lowest first: built-in defaults < the workspace's
`symscope.toml` or `[tool.symscope]` in `pyproject.toml` < environment (`SYMSCOPE_INDEX_DIR`) <
explicit values (CLI flags, LSP initializationOptions). Also owns the default index location: a
per-user cache folder keyed by the workspace's real path.

Must never: read anything but those files and variables, create folders (callers do, when they
write), or accept a misspelt or mistyped setting silently (ConfigError names the file and key).
"""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

INDEX_DIR_ENV = "SYMSCOPE_INDEX_DIR"
# A model setting that names a model rather than a folder ("default", "default:fp32",
# "symscope-code-minilm", ... : see embed.resolve_model); it is not a path relative to the workspace.
_NAMED_MODEL = re.compile(r"^(default|symscope-[a-z0-9-]+)(:(int8|fp32))?$")
DEVICES = ("auto", "cpu", "cuda")


class ConfigError(ValueError):
    """A setting is unknown or has the wrong type; the message says where it came from."""


@dataclass
class Settings:
    root: Path
    index_dir: Path | None = None  # None: default_index_dir(root), or $SYMSCOPE_INDEX_DIR
    model: str | None = None  # None: the bundled default model; else a local model folder
    device: str = "auto"  # auto | cpu | cuda
    excludes: list[str] = field(default_factory=list)  # extra gitignore-style globs
    max_file_size: int = 2_000_000
    embed: bool = True

    def __post_init__(self) -> None:
        self.root = Path(self.root).expanduser().resolve()
        if self.index_dir is not None:
            self.index_dir = Path(self.index_dir).expanduser().resolve()
        if self.device not in DEVICES:
            raise ConfigError(f"device must be one of {', '.join(DEVICES)}, got {self.device!r}")
        if self.max_file_size <= 0:
            raise ConfigError(f"max_file_size must be positive, got {self.max_file_size}")

    @property
    def resolved_index_dir(self) -> Path:
        if self.index_dir is not None:
            return self.index_dir
        env = os.environ.get(INDEX_DIR_ENV)
        if env:
            return Path(env).expanduser().resolve()
        return default_index_dir(self.root)

    @classmethod
    def load(cls, root: str | os.PathLike[str], **explicit: Any) -> Settings:
        """Settings for `root`: file settings overlaid with the explicit ones that are not None."""
        root_path = Path(root).expanduser().resolve()
        values: dict[str, Any] = {}
        for source, table in _file_settings(root_path):
            values.update(_validated(table, source))
        values.update(_validated({k: v for k, v in explicit.items() if v is not None}, "arguments"))
        values.pop("root", None)
        return cls(root=root_path, **values)


def cache_root() -> Path:
    """The user's symscope cache folder (default indexes live in its `indexes/`); ours alone, so
    the index layer keeps it private (0700) along with every index below it."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("symscope"))


def default_index_dir(root: Path) -> Path:
    real = os.path.realpath(root)
    digest = hashlib.blake2b(real.encode("utf-8", "surrogatepass"), digest_size=6).hexdigest()
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(real).name) or "root"
    return cache_root() / "indexes" / f"{name}-{digest}"


_TYPES: dict[str, tuple[type, ...]] = {
    "index_dir": (str, os.PathLike),
    "model": (str, os.PathLike),
    "device": (str,),
    "excludes": (list,),
    "max_file_size": (int,),
    "embed": (bool,),
}


def _validated(table: dict[str, Any], source: str) -> dict[str, Any]:
    known = {f.name for f in fields(Settings)} - {"root"}
    out: dict[str, Any] = {}
    for raw_key, value in table.items():
        key = raw_key.replace("-", "_")
        if key == "root":
            continue
        if key not in known:
            raise ConfigError(f"{source}: unknown setting {raw_key!r} (known: {', '.join(sorted(known))})")
        expected = _TYPES[key]
        if isinstance(value, bool) and bool not in expected:
            raise ConfigError(f"{source}: {raw_key} must be {expected[0].__name__}, got {value!r}")
        if not isinstance(value, expected):
            raise ConfigError(f"{source}: {raw_key} must be {expected[0].__name__}, got {value!r}")
        if key == "excludes" and not all(isinstance(x, str) for x in value):
            raise ConfigError(f"{source}: excludes must be a list of strings, got {value!r}")
        if (
            key in ("index_dir", "model")
            and source != "arguments"
            and not (key == "model" and _NAMED_MODEL.match(value))
        ):
            # Relative paths in a workspace file are relative to that workspace.
            value = (
                str((Path(source).parent / Path(value).expanduser()).resolve())
                if not Path(value).expanduser().is_absolute()
                else str(value)
            )
        out[key] = list(value) if key == "excludes" else value
    return out


def _file_settings(root: Path) -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        data = _read_toml(pyproject)
        table = data.get("tool", {}).get("symscope")
        if table is not None:
            if not isinstance(table, dict):
                raise ConfigError(f"{pyproject}: [tool.symscope] must be a table")
            found.append((str(pyproject), table))
    own = root / "symscope.toml"
    if own.is_file():
        found.append((str(own), _read_toml(own)))
    return found


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc}") from exc
