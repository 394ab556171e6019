"""The compact tool list: every agent session pays for `tools/list` in its context, so the server
publishes it without pydantic's generated titles, with optional parameters as plain optional
types and output schemas reduced to their top-level fields.

Must never: change what a tool accepts or answers (answers are still built from and checked
against the full models); only how the list describes them.
"""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import MCPServer


class CompactToolsServer(MCPServer):
    """Publishes the tool list compactly: every agent session pays for it in its context.

    Input schemas keep their types, bounds and descriptions but lose pydantic's generated titles,
    and an optional `X | None = None` parameter is published as an optional X; output schemas keep
    the top-level fields and their types (the full shapes, nested models and their field docs,
    would triple the list). Annotations keep readOnlyHint and openWorldHint (the destructive and
    idempotent hints mean nothing for a read-only tool). Results are still built from and checked
    against the full models; each tool's description says what its answer holds.
    """

    async def list_tools(self):  # type: ignore[override]
        tools = await super().list_tools()
        for tool in tools:
            tool.input_schema = _compact_input(tool.input_schema)
            if tool.output_schema:
                tool.output_schema = _top_level_shape(tool.output_schema)
            if tool.annotations is not None and tool.annotations.read_only_hint:
                tool.annotations.destructive_hint = None
                tool.annotations.idempotent_hint = None
        return tools


def _compact_input(schema: Any) -> Any:
    if isinstance(schema, list):
        return [_compact_input(v) for v in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _compact_input(v) for k, v in schema.items() if k != "title" or not isinstance(v, str)}
    options = out.get("anyOf")
    if isinstance(options, list) and out.get("default", ...) is None:
        kept = [o for o in options if o != {"type": "null"}]
        if len(kept) == 1 and isinstance(kept[0], dict):
            del out["anyOf"], out["default"]
            out = {**kept[0], **out}
    return out


def _top_level_shape(schema: dict) -> dict:
    """`{"type": "object", "properties": {field: {"type": ...}}}`: what a model needs to read the
    answer (which fields are always present is the full model's business)."""

    def json_type(prop: dict) -> Any:
        if "type" in prop:
            return prop["type"]
        if "$ref" in prop:
            return "object"
        kinds = [json_type(p) for p in prop.get("anyOf", []) if isinstance(p, dict)]
        flat = sorted({k for kind in kinds for k in (kind if isinstance(kind, list) else [kind]) if k})
        return flat[0] if len(flat) == 1 else flat

    props = {name: {"type": json_type(p)} for name, p in schema.get("properties", {}).items() if isinstance(p, dict)}
    return {"type": "object", "properties": props}
