import assert from "node:assert/strict";
import { test } from "node:test";
import { DETAIL_BUDGET, hitToPickItem, kindIcon, oneLine, statusBarView, statusReportLines } from "../../src/format";
import { normaliseStatus, SearchHit } from "../../src/protocol";

const hit: SearchHit = {
  name: "upload_with_retries",
  kind: "function",
  path: "storage/uploader.py",
  line: 42,
  score: 0.91,
  signature: "def upload_with_retries(\n    path: str,\n    attempts: int = 3,\n) -> Receipt",
  snippet: "",
  why: "semantic match; name matches 'upload'",
  freshness: "indexed",
};

test("a pick row shows name with kind icon, kind and path:line, signature and why", () => {
  const item = hitToPickItem({ ...hit, signature: "def upload_with_retries(path: str) -> Receipt", why: "related words; semantic 0.54" });
  assert.equal(item.label, "$(symbol-function) upload_with_retries");
  assert.equal(item.description, "function · storage/uploader.py:42");
  assert.equal(item.detail, "def upload_with_retries(path: str) -> Receipt  —  related words; semantic 0.54");
  assert.equal(item.alwaysShow, true);
  assert.equal(item.hit.name, "upload_with_retries");
});

test("a long signature gives way so why stays visible", () => {
  const item = hitToPickItem(hit);
  assert.ok(item.detail.length <= DETAIL_BUDGET, `${item.detail.length} chars`);
  assert.ok(item.detail.endsWith("  —  semantic match; name matches 'upload'"));
  assert.ok(item.detail.startsWith("def upload_with_retries( path: str,"));
  const huge = hitToPickItem({ ...hit, signature: `def f(${"x, ".repeat(60)})`, why: "w".repeat(200) });
  assert.match(huge.detail, /^def f\(x, .{20,}…  —  w{39}…$/, "both are cut, the signature keeps at least 40 characters");
});

test("freshness other than indexed is shown; a missing signature falls back to the snippet", () => {
  const item = hitToPickItem({ ...hit, freshness: "unsaved", signature: "", snippet: "RETRY_LIMIT = 5", why: "" });
  assert.equal(item.description, "function · storage/uploader.py:42 · $(circle-filled) unsaved");
  assert.equal(item.detail, "RETRY_LIMIT = 5");
  assert.match(hitToPickItem({ ...hit, freshness: "pending" }).description, /not embedded yet/);
});

test("long text is cut to one line with an ellipsis", () => {
  assert.equal(oneLine("a\n  b\tc", 100), "a b c");
  const cut = oneLine("x".repeat(300), 10);
  assert.equal(cut.length, 10);
  assert.ok(cut.endsWith("…"));
});

test("kind icons, with a fallback", () => {
  assert.equal(kindIcon("Class"), "symbol-class");
  assert.equal(kindIcon("enum_member"), "symbol-enum-member");
  assert.equal(kindIcon("typeparameter"), "symbol-type-parameter");
  assert.equal(kindIcon("something-new"), "symbol-misc");
});

test("status bar: progress while indexing, then symbol count and freshness", () => {
  assert.equal(statusBarView({ phase: "starting" }).text, "$(loading~spin) symscope");
  const indexing = statusBarView({ phase: "indexing", progress: { percentage: 41.6, message: "120/300 files" } });
  assert.equal(indexing.text, "$(sync~spin) symscope 42%");
  assert.match(indexing.tooltip, /120\/300 files/);
  assert.equal(statusBarView({ phase: "indexing" }).text, "$(sync~spin) symscope");

  const ready = statusBarView({ phase: "ready", version: "symscope 0.1.0", status: normaliseStatus({ symbols: 12345, files: 310, pending: 0 }) });
  assert.equal(ready.text, "$(symbol-class) 12,345 symbols · $(check) fresh");
  assert.match(ready.tooltip, /symscope 0\.1\.0.*12,345 symbols in 310 files\nall symbols embedded/s);
  const reader = statusBarView({ phase: "ready", status: normaliseStatus({ symbols: 1, role: "reader", settingsError: "device must be one of auto, cpu, cuda" }) });
  assert.match(reader.tooltip, /read-only/);
  assert.match(reader.tooltip, /problem: device must be/);
  assert.equal(reader.severity, "warning");
  const pending = statusBarView({ phase: "ready", status: normaliseStatus({ symbols: 10, pending: 4 }) });
  assert.equal(pending.text, "$(symbol-class) 10 symbols · $(sync) 4 pending");

  const failed = statusBarView({ phase: "error", error: "could not start" });
  assert.equal(failed.severity, "error");
  assert.match(failed.tooltip, /could not start/);
});

test("status report lines list the figures the server reported", () => {
  const lines = statusReportLines({
    phase: "ready",
    version: "symscope 0.1.0",
    status: normaliseStatus({
      state: "ready", message: "indexed 3 files", role: "writer", root: "/ws", indexDir: "/idx", files: 3, symbols: 1500,
      vectors: 1500, pending: 0, modelId: "m-int8", device: "cpu", indexBytes: 5 * 1024 * 1024, watcher: "client",
      openDocuments: 2, unsavedDocuments: 1, positionEncoding: "utf-16",
    }),
  });
  assert.deepEqual(lines, [
    "state: ready",
    "message: indexed 3 files",
    "server: symscope 0.1.0",
    "role: writer",
    "root: /ws",
    "index directory: /idx",
    "files: 3",
    "symbols: 1,500",
    "vectors: 1,500",
    "pending embeddings: 0",
    "model: m-int8",
    "device: cpu",
    "index size: 5.0 MiB",
    "file watcher: client",
    "open documents: 2 (1 unsaved)",
    "position encoding: utf-16",
  ]);
  assert.deepEqual(statusReportLines({ phase: "error", error: "no server" }), ["state: error", "error: no server"]);
});
