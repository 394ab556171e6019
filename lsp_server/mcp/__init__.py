"""The MCP front end: the workspace index served to AI agents, bounded and confined to the roots.

One concern per module: `server` (creating the server, publishing the tools), `tools/` (what each
tool does), `models` (answer shapes), `budgets` (limits, token budgets, truncation notes),
`compact` (the compact tool list), `roots` (served roots and the path convention), `confinement`
(real-path checks, ignored files, confined reads), `events` (log notifications and progress),
`stdio` and `http` (transports and their guards), `cli` (`symscope mcp`), `client_config`
(`--print-config`).

This package is the only importer of the `mcp` SDK, and importing the package itself imports
nothing: `client_config` must stay usable without the SDK.
"""
