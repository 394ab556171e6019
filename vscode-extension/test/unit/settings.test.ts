import assert from "node:assert/strict";
import { test } from "node:test";
import { changeAction, DEFAULT_SETTINGS, readSettings, serverOptions } from "../../src/settings";

const from = (values: Record<string, unknown>) => readSettings((key) => values[key]);

test("unset settings are the defaults", () => {
  assert.deepEqual(from({}), DEFAULT_SETTINGS);
});

test("wrong types and values fall back instead of reaching the server", () => {
  const s = from({
    "server.command": ["uv", 3, "", "symscope"],
    device: "tpu",
    excludes: ["dist/**", 7, " "],
    "search.limit": 10_000,
    "search.debounceMs": -5,
    model: 42,
  });
  assert.deepEqual(s.serverCommand, ["uv", "symscope"]);
  assert.equal(s.device, "auto");
  assert.deepEqual(s.excludes, ["dist/**"]);
  assert.equal(s.searchLimit, 200);
  assert.equal(s.searchDebounceMs, 0);
  assert.equal(s.model, "");
});

test("server options use the server's key names and send unset values as null", () => {
  assert.deepEqual(serverOptions(DEFAULT_SETTINGS), { index_dir: null, model: null, device: null, excludes: null });
  const s = from({ "index.directory": "~/idx", model: "default:fp32", device: "cpu", excludes: ["vendor/**"] });
  const expand = (p: string) => p.replace(/^~/, "/home/u");
  assert.deepEqual(serverOptions(s, expand), { index_dir: "/home/u/idx", model: "default:fp32", device: "cpu", excludes: ["vendor/**"] });
});

test("a change of where the server lives restarts it; index settings are sent; search settings need nothing", () => {
  const base = from({});
  assert.equal(changeAction(base, from({ "server.command": "/x/symscope" })), "restart");
  assert.equal(changeAction(base, from({ "server.python": "/x/python" })), "restart");
  assert.equal(changeAction(base, from({ device: "cuda" })), "notify");
  assert.equal(changeAction(base, from({ excludes: ["a/**"] })), "notify");
  assert.equal(changeAction(base, from({ model: "/models/x" })), "notify");
  assert.equal(changeAction(base, from({ "index.directory": "/i" })), "notify");
  assert.equal(changeAction(base, from({ "search.limit": 5 })), "none");
  assert.equal(changeAction(base, from({})), "none");
});
