"""`python -m lsp_server._worker`: one supervised parser worker (see `rust/supervise.rs`).

Started by the Rust core, never by a person: it reads requests on stdin and writes answers on
stdout until stdin closes. A grammar that crashes here takes only this process down; the
supervisor reports the file it was parsing and starts another worker.

Must never: print to stdout (it carries the frames) or import anything beyond the core.
"""

from lsp_server import _native

_native.serve_worker()
