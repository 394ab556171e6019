"""The pinned packages the training pipeline fetches, and the training list they must come from.

Owns: the pins (registry, name, version), which packages are held apart for validation, and the
parser of `training_list.md` (a copy of the training list in ../shared/corpora.md, committed so that
tests and CI never depend on shared/).

Must never: name a package that is not on the training list (`check_pins` enforces it), or put one
package in both the training and the validation split.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

TRAINING_LIST = Path(__file__).resolve().parent / "training_list.md"

# training_list.md heading word -> our registry name
_SECTIONS = {"Python": "pypi", "JavaScript": "npm", "Rust": "crates", "Go": "go", "Java": "maven"}


@dataclass(frozen=True)
class Pin:
    registry: str  # pypi | npm | crates | go | maven
    name: str  # as on the training list (maven: group:artifact)
    version: str

    @property
    def key(self) -> str:
        return f"{self.registry}:{self.name}"

    @property
    def folder(self) -> str:
        return re.sub(r"[^A-Za-z0-9._-]+", "_", f"{self.registry}-{self.name}-{self.version}")


def _pins(registry: str, text: str) -> list[Pin]:
    pairs = text.split()
    return [Pin(registry, name, version) for name, version in zip(pairs[::2], pairs[1::2], strict=True)]


PINS: tuple[Pin, ...] = tuple(
    _pins(
        "pypi",
        """
        django 6.1.3  sqlalchemy 2.1.9  jinja2 3.1.6  werkzeug 3.1.9  pytest 9.2.0  pluggy 1.7.0
        packaging 26.4  urllib3 2.8.0  pyyaml 6.0.4  babel 2.19.0  docutils 0.23.1  pygments 2.21.0
        networkx 3.7  tornado 6.6.1  celery 5.7.0  kombu 5.7.0  paramiko 5.1.0  trio 0.35.0  anyio 4.16.0
        more-itertools 11.2.1  toolz 1.2.0  boltons 26.2.0  sortedcontainers 2.4.0  hypothesis 6.170.29
        twisted 26.10.0  peewee 4.5.3  prompt-toolkit 3.0.53  tenacity 9.2.1  arrow 1.4.0
        jsonschema 4.26.0  markdown 3.11.4  astroid 4.4.0
        """,
    )
    + _pins(
        "npm",
        """
        lodash 4.18.1  rxjs 7.8.2  yargs 18.2.0  moment 2.31.0  dayjs 1.11.23  luxon 3.7.2  undici 8.14.1
        ws 8.23.1  fastify 5.12.8  qs 6.17.1  immer 11.2.14  mobx 7.1.3  handlebars 4.7.10  marked 18.3.0
        markdown-it 15.0.3  joi 18.3.2  acorn 8.19.0  postcss 8.5.34  knex 3.3.0  async 3.2.6
        bluebird 3.7.2  ramda 0.32.0  cheerio 1.2.0  sequelize 6.37.8
        """,
    )
    + _pins(
        "crates",
        """
        regex 1.13.2  rayon 1.12.0  itertools 0.15.0  hashbrown 0.17.2  indexmap 2.14.2
        crossbeam-channel 0.5.17  tempfile 3.27.0  tracing 0.1.44  hyper 1.13.0  bytes 1.12.2
        chrono 0.4.45  time 0.3.55  rand 0.10.4  smallvec 1.16.6  memchr 2.8.3  bstr 1.14.0  nom 8.0.0
        winnow 1.0.5  toml 0.9.8  syn 3.0.10  nalgebra 0.35.0
        """,
    )
    + _pins(
        "go",
        """
        github.com/spf13/viper v1.21.0  github.com/spf13/pflag v1.1.0  github.com/sirupsen/logrus v1.10.2
        go.uber.org/zap v1.28.0  github.com/stretchr/testify v1.12.1  github.com/google/go-cmp v0.7.0
        github.com/BurntSushi/toml v1.6.0  golang.org/x/text v0.44.0  github.com/google/uuid v1.6.0
        github.com/pkg/errors v0.9.1  github.com/hashicorp/golang-lru v1.0.2
        github.com/labstack/echo/v4 v4.16.6  github.com/valyala/fasthttp v1.80.0  google.golang.org/grpc v1.85.0
        """,
    )
    + _pins(
        "maven",
        """
        com.google.guava:guava 33.4.8-jre  commons-io:commons-io 2.21.0
        org.apache.commons:commons-collections4 4.5.0  joda-time:joda-time 2.14.0  org.slf4j:slf4j-api 2.0.17
        org.mockito:mockito-core 5.18.0
        """,
    )
)

#: Held apart for validation, whole packages only (about one in six per language, chosen before
#: mining by size and spread, never changed after seeing results).
VALIDATION: frozenset[str] = frozenset(
    {
        "pypi:more-itertools",
        "pypi:tenacity",
        "pypi:arrow",
        "pypi:toolz",
        "pypi:markdown",
        "npm:dayjs",
        "npm:qs",
        "npm:joi",
        "npm:async",
        "crates:smallvec",
        "crates:bstr",
        "crates:chrono",
        "go:github.com/google/go-cmp",
        "go:github.com/spf13/pflag",
        "maven:commons-io:commons-io",
    }
)


def training_list(path: Path = TRAINING_LIST) -> dict[str, set[str]]:
    """registry -> package names on the training list (parsed from the committed copy)."""
    text = path.read_text(encoding="utf-8")
    out: dict[str, set[str]] = {registry: set() for registry in _SECTIONS.values()}
    for paragraph in re.split(r"\n\s*\n", text):
        head, _, rest = paragraph.partition(":")
        registry = next((r for word, r in _SECTIONS.items() if head.strip().startswith(word)), None)
        if registry is None or not rest.strip():
            continue
        rest = rest.split(":", 1)[1] if rest.lstrip().startswith("`") else rest  # Maven's "-sources.jar`):"
        rest = re.sub(r"^[^:]*\):", "", rest.strip())  # drop a "(registry ...):" tail of the heading
        for name in rest.replace("\n", " ").split(","):
            name = name.strip().rstrip(".")
            if name:
                out[registry].add(name)
    return out


def check_pins(pins: tuple[Pin, ...] = PINS, listed: dict[str, set[str]] | None = None) -> None:
    """Raise ValueError if a pin is not on the training list or is pinned twice."""
    listed = training_list() if listed is None else listed
    seen: set[str] = set()
    for pin in pins:
        if pin.name not in listed.get(pin.registry, set()):
            raise ValueError(f"{pin.key} is not on the training list")
        if pin.key in seen:
            raise ValueError(f"{pin.key} is pinned twice")
        seen.add(pin.key)
    unknown = VALIDATION - seen
    if unknown:
        raise ValueError(f"validation packages not pinned: {sorted(unknown)}")
