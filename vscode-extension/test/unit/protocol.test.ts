import assert from "node:assert/strict";
import { test } from "node:test";
import { normaliseHit, normaliseRelatedResponse, normaliseSearchResponse, normaliseStatus } from "../../src/protocol";

const range = { start: { line: 9, character: 0 }, end: { line: 12, character: 0 } };
const selectionRange = { start: { line: 9, character: 4 }, end: { line: 9, character: 5 } };
const serverHit = {
  name: "f", qualifiedName: "pkg.a.f", kind: "function", symbolKind: 12, language: "python", path: "pkg/a.py",
  uri: "file:///ws/pkg/a.py", range, selectionRange, startLine: 10, endLine: 13, score: 0.5,
  signature: "def f()", snippet: "def f():", why: "semantic", freshness: "indexed", symbolId: "abc",
};

test("a server result becomes a hit that opens at the symbol's name", () => {
  const hit = normaliseHit(serverHit);
  assert.deepEqual(hit, {
    name: "f", kind: "function", path: "pkg/a.py", line: 10, score: 0.5, signature: "def f()", snippet: "def f():",
    why: "semantic", freshness: "indexed", location: { uri: "file:///ws/pkg/a.py", range: selectionRange },
    qualifiedName: "pkg.a.f", language: "python",
  });
  assert.deepEqual(normaliseHit({ ...serverHit, selectionRange: undefined })?.location?.range, range, "falls back to range");
});

test("results without a name or a place are dropped; a bad range leaves path + line", () => {
  const answer = { query: "q", state: "ready", results: [serverHit, { ...serverHit, name: "" }, { kind: "class" }, "junk", null] };
  assert.deepEqual(normaliseSearchResponse(answer).map((h) => h.name), ["f"]);
  assert.deepEqual(normaliseSearchResponse(null), []);
  assert.deepEqual(normaliseSearchResponse({ results: "x" }), []);
  const noRange = normaliseHit({ name: "g", path: "b.py", startLine: 3, uri: "file:///ws/b.py", range: { start: {} } });
  assert.equal(noRange?.location, undefined);
  assert.equal(noRange?.line, 3);
  assert.equal(normaliseHit({ name: "h", uri: "file:///x", range })?.line, 10, "line from the range when startLine is missing");
});

test("status: the server's camelCase payload; wrong types are left out", () => {
  const status = normaliseStatus({
    state: "indexing", message: "scanning", role: "writer", percentage: 30, root: "/ws", indexDir: "/idx", files: 3,
    symbols: 5, vectors: 4, pending: 1, modelId: "m", device: "cpu", indexBytes: 2048, lastError: null,
    watcher: "client", openDocuments: 2, unsavedDocuments: 1, positionEncoding: "utf-16", version: "0.1.0", settingsError: 7,
  });
  assert.equal(status.state, "indexing");
  assert.equal(status.percentage, 30);
  assert.equal(status.model, "m");
  assert.equal(status.indexDir, "/idx");
  assert.equal(status.lastError, undefined);
  assert.equal(status.settingsError, undefined);
  assert.equal(status.unsavedDocuments, 1);
  assert.deepEqual(normaliseStatus("nonsense").raw, {});
});

test("a symscope/related answer: the definition at the cursor, its related hits, and the note", () => {
  const answer = {
    symbol: { ...serverHit, qualifiedName: "pkg.a.g" },
    results: [{ ...serverHit, why: "similar 0.68; called by it (same file, line 3)" }, { kind: "junk" }],
    note: "no vectors yet (the index is still embedding): call-graph neighbours only",
  };
  const related = normaliseRelatedResponse(answer);
  assert.equal(related.symbol, "pkg.a.g");
  assert.deepEqual(related.hits.map((h) => [h.name, h.why]), [["f", "similar 0.68; called by it (same file, line 3)"]]);
  assert.match(related.note ?? "", /call-graph neighbours only/);
  assert.deepEqual(normaliseRelatedResponse({ symbol: null, results: [], note: "no indexed definition spans a.py:2" }), {
    symbol: undefined, note: "no indexed definition spans a.py:2", hits: [],
  });
  assert.deepEqual(normaliseRelatedResponse("junk"), { symbol: undefined, note: undefined, hits: [] });
});
