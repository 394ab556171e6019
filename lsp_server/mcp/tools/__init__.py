"""The MCP tools' implementations, one concern per module, as plain functions over a `RootSet`
that return the answer models; `lsp_server.mcp.server` publishes them (names, parameters,
descriptions) and wraps each answer for the wire.

Must never: read a file or the index except through a root's `Workspace` / `Index` / `Searcher`,
return a path the agent could not pass back (every path goes through `RootSet.display`), or exceed
the caller's budget without a truncation note.
"""
