"""The language server (`symscope lsp`): the only package that imports pygls / lsprotocol.

One module per LSP method or tight group; `server.py` holds the server, its registration table and
`main`, and maps the others. `overlay.py` (open buffers) imports no pygls. This file imports nothing,
so `lsp_server.lsp.overlay` is usable without loading pygls; callers import the module they need.
"""
