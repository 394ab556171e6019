/**
 * Protocol-level test: the real symscope language server (`$SYMSCOPE_SERVER_COMMAND lsp`), found by the
 * extension's own discovery, driven over stdio with vscode-languageserver-protocol, with the
 * initializationOptions, requests and result handling the extension uses.
 *
 * Uses the weightless hashing embedder (model "hashing") so it runs in seconds; the end-to-end test in
 * code-server runs the real ONNX model.
 */

import assert from "node:assert/strict";
import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import {
  CancellationTokenSource,
  ConfigurationRequest,
  createProtocolConnection,
  DidChangeConfigurationNotification,
  DidChangeTextDocumentNotification,
  DidOpenTextDocumentNotification,
  DocumentSymbol,
  DocumentSymbolRequest,
  ExecuteCommandRequest,
  ExitNotification,
  InitializedNotification,
  InitializeRequest,
  InitializeResult,
  ProtocolConnection,
  RegistrationRequest,
  ShowMessageNotification,
  ShutdownRequest,
  StreamMessageReader,
  StreamMessageWriter,
  WorkDoneProgress,
  WorkDoneProgressCreateRequest,
  WorkspaceSymbolRequest,
} from "vscode-languageserver-protocol/node";
import { discoverServer, lspArgv, processDiscoveryEnvironment } from "../../src/discovery";
import { hitToPickItem } from "../../src/format";
import { documentSelector } from "../../src/languages";
import {
  IndexStatusReport,
  normaliseRelatedResponse,
  normaliseSearchResponse,
  normaliseStatus,
  RELATED_REQUEST,
  SEARCH_REQUEST,
  SearchHit,
  SearchParams,
  STATUS_CHANGED_NOTIFICATION,
  STATUS_REQUEST,
} from "../../src/protocol";
import { readSettings, serverOptions } from "../../src/settings";

// Bundled into out/test/protocol/, three levels below the package root.
const FIXTURE = path.resolve(__dirname, "..", "..", "..", "test", "fixtures", "workspace");
const TIMEOUT_MS = 120_000;

function serverCommand(): string[] {
  const raw = process.env.SYMSCOPE_SERVER_COMMAND;
  assert.ok(raw && raw.trim(), "set SYMSCOPE_SERVER_COMMAND to the symscope executable, e.g. /repo/.venv/bin/symscope");
  return raw.trim().split(/\s+/);
}

/** A client that records what the server sends, like the extension's LanguageClient does. */
class Client {
  readonly progress: { kind: string; percentage?: number; message?: string }[] = [];
  readonly statuses: IndexStatusReport[] = [];
  readonly registrations: string[] = [];
  readonly shownMessages: string[] = [];
  private waiters: { check: () => boolean; resolve: () => void }[] = [];
  stderr = "";

  constructor(
    readonly proc: ChildProcess,
    readonly conn: ProtocolConnection,
  ) {
    conn.onRequest(WorkDoneProgressCreateRequest.type, (params) => {
      conn.onProgress(WorkDoneProgress.type, params.token, (value) => {
        this.progress.push({ kind: value.kind, percentage: "percentage" in value ? value.percentage : undefined, message: value.message });
        this.poke();
      });
    });
    conn.onRequest(RegistrationRequest.type, (params) => {
      this.registrations.push(...params.registrations.map((r) => r.method));
    });
    conn.onRequest(ConfigurationRequest.type, (params) => params.items.map(() => ({})));
    conn.onNotification(ShowMessageNotification.type, (params) => {
      this.shownMessages.push(params.message);
    });
    conn.onNotification(STATUS_CHANGED_NOTIFICATION, (payload: unknown) => {
      this.statuses.push(normaliseStatus(payload));
      this.poke();
    });
    proc.stderr?.on("data", (chunk) => (this.stderr = (this.stderr + chunk).slice(-20000)));
    conn.listen();
  }

  private poke(): void {
    this.waiters = this.waiters.filter((w) => {
      if (!w.check()) return true;
      w.resolve();
      return false;
    });
  }

  until(what: string, check: () => boolean, ms = TIMEOUT_MS): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; server stderr:\n${this.stderr}`)), ms);
      this.waiters.push({ check, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }

  /** Waits for a statusChanged after `since` that reports a finished, fully embedded index. */
  untilReady(since: number): Promise<IndexStatusReport> {
    const ready = () => this.statuses.slice(since).find((s) => s.state === "ready" && (s.symbols ?? 0) > 0 && s.pending === 0);
    return this.until("a ready index", () => ready() !== undefined).then(() => ready()!);
  }

  async search(params: SearchParams): Promise<SearchHit[]> {
    return normaliseSearchResponse(await this.conn.sendRequest(SEARCH_REQUEST, params));
  }
}

test("the extension's protocol against the real symscope server", { timeout: 4 * TIMEOUT_MS }, async (t) => {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "symscope-protocol-"));
  t.after(() => fs.rmSync(scratch, { recursive: true, force: true }));
  const workspace = path.join(scratch, "workspace");
  fs.cpSync(FIXTURE, workspace, { recursive: true });

  // Discovery exactly as the extension does it, with the command setting.
  const [command, ...args] = serverCommand();
  const discovery = await discoverServer({ command: [command, ...args], python: "" }, processDiscoveryEnvironment(workspace));
  assert.ok(discovery.ok, discovery.ok ? "" : discovery.message);
  assert.match(discovery.server.version, /^symscope \d/);
  const argv = lspArgv(discovery.server);
  const proc = spawn(argv.command, argv.args, { cwd: workspace, stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, HF_HUB_OFFLINE: "1" } });
  const exited = new Promise<number | null>((resolve) => proc.on("exit", (code) => resolve(code)));
  t.after(() => proc.kill());
  const conn = createProtocolConnection(new StreamMessageReader(proc.stdout!), new StreamMessageWriter(proc.stdin!));
  const client = new Client(proc, conn);

  const settings = readSettings((key) => ({ model: "hashing", "index.directory": path.join(scratch, "index") })[key]);
  const init: InitializeResult = await conn.sendRequest(InitializeRequest.type, {
    processId: process.pid,
    rootUri: pathToFileURL(workspace).href,
    workspaceFolders: [{ uri: pathToFileURL(workspace).href, name: "workspace" }],
    initializationOptions: serverOptions(settings),
    capabilities: {
      general: { positionEncodings: ["utf-16"] },
      window: { workDoneProgress: true },
      workspace: { configuration: true, didChangeWatchedFiles: { dynamicRegistration: true }, workspaceFolders: true },
      textDocument: { documentSymbol: { hierarchicalDocumentSymbolSupport: true }, synchronization: { didSave: true } },
    },
  });
  assert.equal(init.serverInfo?.name, "symscope");
  const commands = init.capabilities.executeCommandProvider?.commands ?? [];
  for (const name of ["symscope.search", "symscope.reindex"]) assert.ok(commands.includes(name), `server command ${name} (the extension's Reindex uses it)`);
  assert.ok(init.capabilities.documentSymbolProvider, "outline");
  assert.ok(init.capabilities.workspaceSymbolProvider, "Go to Symbol in Workspace");
  await conn.sendNotification(InitializedNotification.type, {});

  const first = await client.untilReady(0);
  await client.until("$/progress end", () => client.progress.some((p) => p.kind === "end"));

  await t.test("indexing reports $/progress begin .. end and statusChanged figures", () => {
    const kinds = client.progress.map((p) => p.kind);
    assert.equal(kinds[0], "begin");
    assert.equal(kinds.at(-1), "end");
    for (const p of client.progress) if (p.percentage !== undefined) assert.ok(p.percentage >= 0 && p.percentage <= 100, `percentage ${p.percentage}`);
    assert.ok((first.files ?? 0) >= 6, `files: ${first.files}`);
    assert.ok((first.symbols ?? 0) >= 15, `symbols: ${first.symbols}`);
    assert.ok(client.registrations.includes("workspace/didChangeWatchedFiles"), "the server watches files through the client");
  });

  await t.test("symscope/status answers what the status bar and Show Index Status render", async () => {
    const status = normaliseStatus(await conn.sendRequest(STATUS_REQUEST, {}));
    assert.equal(status.state, "ready");
    assert.equal(status.indexDir, path.join(scratch, "index"));
    assert.equal(status.model, first.model);
    assert.match(status.model ?? "", /hashing/);
    assert.equal(status.symbols, first.symbols);
  });

  await t.test("symscope/search finds the symbol, with a location that opens at its name", async () => {
    const hits = await client.search({ query: "upload retries", limit: 10 });
    const hit = hits.find((h) => h.name === "upload_with_retries");
    assert.ok(hit, `upload_with_retries in ${JSON.stringify(hits.map((h) => h.name))}`);
    assert.equal(hit.path, "storage/uploader.py");
    assert.equal(hit.kind, "function");
    const lines = fs.readFileSync(path.join(workspace, "storage", "uploader.py"), "utf8").split("\n");
    assert.equal(hit.line, lines.findIndex((l) => l.startsWith("def upload_with_retries")) + 1);
    assert.ok(hit.location, "location");
    assert.equal(hit.location.uri, pathToFileURL(path.join(workspace, "storage", "uploader.py")).href);
    const { start, end } = hit.location.range;
    assert.equal(lines[start.line].slice(start.character, end.character), "upload_with_retries");
    assert.ok(hit.why.length > 0, "why it matched");
    const row = hitToPickItem(hit);
    assert.equal(row.label, "$(symbol-function) upload_with_retries");
    assert.equal(row.description, `function · storage/uploader.py:${hit.line}`);
    assert.match(row.detail, /^def upload_with_retries\(client: .*  —  \S/, "signature, then why");
  });

  await t.test("symscope/related (Find Related Code) from inside a function: its callee first, itself left out", async () => {
    const file = path.join(workspace, "storage", "uploader.py");
    const lines = fs.readFileSync(file, "utf8").split("\n");
    const line = lines.findIndex((l) => l.includes("return client.put(path)"));
    const raw = await conn.sendRequest(RELATED_REQUEST, {
      textDocument: { uri: pathToFileURL(file).href }, position: { line, character: 10 }, limit: 5,
    });
    const related = normaliseRelatedResponse(raw);
    assert.equal(related.symbol, "upload_with_retries");
    assert.ok(related.hits.length > 0 && related.hits.length <= 5);
    assert.ok(!related.hits.some((h) => h.qualifiedName === "upload_with_retries"), "itself is left out");
    const put = related.hits.find((h) => h.qualifiedName === "StorageClient.put");
    assert.ok(put, JSON.stringify(related.hits.map((h) => [h.qualifiedName, h.why])));
    assert.match(put.why, /called by it/);
  });

  await t.test("filters: language and path glob", async () => {
    const go = await client.search({ query: "session token", lang: "go", limit: 20 });
    assert.ok(go.length > 0);
    assert.ok(go.every((h) => h.language === "go"), JSON.stringify(go.map((h) => h.language)));
    const billing = await client.search({ query: "total", path: "billing/**", limit: 20 });
    assert.ok(billing.some((h) => h.name === "computeInvoiceTotal"));
    assert.ok(billing.every((h) => h.path.startsWith("billing/")));
  });

  await t.test("a cancelled search does not break the next one", async () => {
    const source = new CancellationTokenSource();
    const cancelled = conn.sendRequest(SEARCH_REQUEST, { query: "configuration file", limit: 5 }, source.token);
    source.cancel();
    await cancelled.then(
      (answer) => assert.ok(Array.isArray((answer as { results: unknown[] }).results)),
      (error: { code?: number }) => assert.equal(error.code, -32800, "RequestCancelled"),
    );
    const hits = await client.search({ query: "parse_config_file", limit: 5 });
    assert.equal(hits[0]?.name, "parse_config_file");
  });

  await t.test("outline and Go to Symbol in Workspace for a document the selector covers", async () => {
    const file = path.join(workspace, "billing", "invoice.ts");
    const selector = documentSelector();
    assert.ok(selector[0].pattern.includes("ts"), "the selector hands .ts files to the server");
    const uri = pathToFileURL(file).href;
    await conn.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri, languageId: "typescript", version: 1, text: fs.readFileSync(file, "utf8") } });
    const outline = (await conn.sendRequest(DocumentSymbolRequest.type, { textDocument: { uri } })) as DocumentSymbol[];
    const names = outline.map((s) => s.name);
    for (const name of ["LineItem", "computeInvoiceTotal", "InvoiceFormatter"]) assert.ok(names.includes(name), `${name} in ${names}`);
    const formatter = outline.find((s) => s.name === "InvoiceFormatter");
    assert.ok(formatter?.children?.some((c) => c.name === "formatCurrency"), "hierarchical");
    const symbols = await conn.sendRequest(WorkspaceSymbolRequest.type, { query: "ValidSess" });
    assert.ok(Array.isArray(symbols) && symbols.some((s) => s.name === "ValidateSessionToken"));
  });

  await t.test("an unsaved edit is searchable at once and marked unsaved", async () => {
    const file = path.join(workspace, "storage", "uploader.py");
    const uri = pathToFileURL(file).href;
    const text = fs.readFileSync(file, "utf8");
    await conn.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri, languageId: "python", version: 1, text } });
    const lineCount = text.split("\n").length - 1;
    const added = "\n\ndef purge_expired_thumbnails(cache_dir: str) -> int:\n    \"\"\"Delete thumbnail images older than a week.\"\"\"\n    return 0\n";
    await conn.sendNotification(DidChangeTextDocumentNotification.type, {
      textDocument: { uri, version: 2 },
      contentChanges: [{ range: { start: { line: lineCount, character: 0 }, end: { line: lineCount, character: 0 } }, text: added }],
    });
    const hits = await client.search({ query: "purge expired thumbnails", limit: 5 });
    const hit = hits.find((h) => h.name === "purge_expired_thumbnails");
    assert.ok(hit, JSON.stringify(hits.map((h) => h.name)));
    assert.equal(hit.freshness, "unsaved");
    assert.match(hitToPickItem(hit).description, /unsaved/);
  });

  await t.test("didChangeConfiguration (how settings apply without a reload) re-indexes with the new excludes", async () => {
    const before = (await client.search({ query: "sendPasswordResetEmail", limit: 5 })).map((h) => h.name);
    assert.ok(before.includes("sendPasswordResetEmail"));
    const since = client.statuses.length;
    const changed = readSettings((key) => ({ model: "hashing", "index.directory": path.join(scratch, "index"), excludes: ["notify/**"] })[key]);
    await conn.sendNotification(DidChangeConfigurationNotification.type, { settings: { symscope: serverOptions(changed) } });
    await client.untilReady(since);
    const after = await client.search({ query: "sendPasswordResetEmail", limit: 5 });
    assert.ok(!after.some((h) => h.path.startsWith("notify/")), JSON.stringify(after.map((h) => h.path)));
  });

  await t.test("symscope.reindex (Reindex Workspace) picks up a file changed behind the watcher's back", async () => {
    // This client never reports watched-file events, so only a rescan can see this edit.
    const file = path.join(workspace, "parsing", "config.rs");
    fs.appendFileSync(file, "\n/// Writes the configuration back to disk.\npub fn save_config_file(path: &Path) -> bool {\n    let _ = path;\n    true\n}\n");
    const found = async () => (await client.search({ query: "save_config_file", limit: 3 })).some((h) => h.name === "save_config_file");
    assert.equal(await found(), false, "not indexed before the rescan");
    const answer = normaliseStatus(await conn.sendRequest(ExecuteCommandRequest.type, { command: "symscope.reindex", arguments: [] }));
    assert.ok(answer.state, "the command answers with the status");
    const deadline = Date.now() + 30_000;
    while (!(await found())) {
      assert.ok(Date.now() < deadline, `save_config_file never became searchable; stderr:\n${client.stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  });

  assert.deepEqual(client.shownMessages, [], "no error popups");
  await conn.sendRequest(ShutdownRequest.type);
  await conn.sendNotification(ExitNotification.type);
  assert.equal(await exited, 0, `exit code; stderr:\n${client.stderr}`);
  conn.dispose();
});
