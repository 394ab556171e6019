"""Helpers shared by the index / search tests: tiny workspaces on disk and indexes over them.

Everything is real: the Rust scanner, SQLite and LanceDB in temporary folders. The embedder is
`HashingEmbedder`, a real (weightless) bag-of-words model that is fast and deterministic.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from lsp_server.config import Settings
from lsp_server.embed import HashingEmbedder
from lsp_server.index import Index

DIM = 64

SAMPLE_FILES = {
    "pkg/config.py": '''
        import json
        import os


        def load_config(path):
            """Read the settings file from disk and parse it into a dictionary."""
            with open(path) as fh:
                return json.load(fh)


        def save_config(path, data):
            with open(path, "w") as fh:
                json.dump(data, fh)


        class ConfigError(Exception):
            """Raised when the settings are invalid."""
        ''',
    "pkg/upload.py": '''
        from pkg.config import load_config


        class UploadClient:
            """Sends files to the storage server."""

            def retry_upload(self, data, attempts=3):
                for _ in range(attempts):
                    if self.send_chunk(data):
                        return True
                return False

            def send_chunk(self, data):
                settings = load_config("upload.json")
                return bool(settings) and bool(data)
        ''',
    "web/user.js": """
        // Look up the display name of a user record.
        function getUserName(user) {
          return user.firstName + " " + user.lastName;
        }

        class HttpServer {
          start(port) {
            return listenOn(port, getUserName);
          }
        }

        function listenOn(port, handler) {
          return { port, handler };
        }
        """,
    "src/parse.rs": """
        /// Extract the symbols defined in one source file.
        pub fn extract_symbols(source: &str) -> Vec<String> {
            source.lines().map(|l| l.to_string()).collect()
        }

        pub struct Tokenizer {
            pos: usize,
        }

        impl Tokenizer {
            pub fn next_token(&mut self) -> Option<char> {
                None
            }
        }
        """,
}


def write_files(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))


def make_workspace(root: Path, files: dict[str, str] | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    write_files(root, SAMPLE_FILES if files is None else files)
    return root


def settings_for(root: Path, index_dir: Path, **extra) -> Settings:
    return Settings(root=root, index_dir=index_dir, **extra)


def open_index(root: Path, index_dir: Path, *, dim: int = DIM, readonly: bool = False, embedder=..., **extra) -> Index:
    if embedder is ...:
        embedder = HashingEmbedder(dim)
    return Index.open(settings_for(root, index_dir, **extra), embedder=embedder, readonly=readonly)


def index_snapshot(index: Index) -> dict:
    """Everything that must agree between a recovered index and a fresh rebuild."""
    symbols = sorted(
        (r.symbol_id, r.path, r.kind, r.qualified_name, r.start_line, r.end_line, r.text_hash, r.embed_text)
        for r in index.iter_symbols()
    )
    model = index.embedder.model_id
    vectors = index.vectors.vectors(model)
    projected, duplicates = index.vectors.snapshot(model)
    return {
        "symbols": symbols,
        "vector_ids": sorted(projected.items()),
        "vectors": {sid: (h, vec.round(6).tolist()) for sid, (h, vec) in vectors.items()},
        "duplicates": sorted(duplicates),
        "pending": index.store.pending_count(),
        "files": sorted(index.store.known_files().items()),
    }
