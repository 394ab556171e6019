// Drives real VS Code (code-server) in headless chromium: Semantic Search, open, keybinding, status,
// outline and workspace symbols. Usage: node drive.mjs <url> <results-dir> <chromium>
// Exit 0 when every check passed; on failure a screenshot `failure.png` is left in <results-dir>.
import fs from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";

const [url, outDir, chromiumPath] = process.argv.slice(2);
const QUERY = process.env.SYMSCOPE_E2E_QUERY ?? "where do we retry failed uploads";
const EXPECTED = "upload_with_retries";
const EXPECTED_FILE = "uploader.py";
const READY_TIMEOUT_MS = Number(process.env.SYMSCOPE_E2E_READY_TIMEOUT_MS ?? 240_000);

const fixtureLines = fs.readFileSync(path.join(outDir, "ws", "storage", EXPECTED_FILE), "utf8").split("\n");
const expectedLine = fixtureLines.findIndex((l) => l.startsWith(`def ${EXPECTED}`)) + 1;
const expectedColumn = fixtureLines[expectedLine - 1].indexOf(EXPECTED) + 1;

const report = { query: QUERY, expected: EXPECTED, steps: [] };
const t0 = Date.now();
const step = (name, extra = {}) => {
  const entry = { step: name, atMs: Date.now() - t0, ...extra };
  report.steps.push(entry);
  console.log(`[e2e +${(entry.atMs / 1000).toFixed(1)}s] ${name}${Object.keys(extra).length ? " " + JSON.stringify(extra) : ""}`);
};

const browser = await chromium.launch({
  executablePath: chromiumPath,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
});
const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
const shot = (name) => page.screenshot({ path: path.join(outDir, name) });
const quickInput = page.locator(".quick-input-widget");
const rows = quickInput.locator(".monaco-list-row");

async function fail(message) {
  report.error = message;
  try {
    await shot("failure.png");
  } catch {}
  fs.writeFileSync(path.join(outDir, "report.json"), JSON.stringify(report, null, 2));
  console.error(`FAIL: ${message}`);
  await browser.close();
  process.exit(1);
}

async function rowTexts() {
  return (await rows.allInnerTexts()).map((t) => t.replace(/\s+/g, " ").trim());
}

async function runCommand(title) {
  await page.keyboard.press("F1");
  await quickInput.waitFor({ state: "visible", timeout: 15_000 });
  await page.keyboard.type(title, { delay: 10 });
  await rows.filter({ hasText: title }).first().waitFor({ timeout: 15_000 });
  await page.keyboard.press("Enter");
}

try {
  await page.goto(url);
  await page.locator(".explorer-folders-view .monaco-list-row").first().waitFor({ timeout: 90_000 });
  step("workbench loaded");

  // 1. The status bar shows indexing, then the symbol count and freshness.
  const statusItem = page.locator(".statusbar-item", { hasText: /symbols\s+·/ });
  await statusItem.first().waitFor({ timeout: READY_TIMEOUT_MS });
  const statusText = (await statusItem.first().innerText()).replace(/\s+/g, " ").trim(); // codicons split lines
  if (!/\d+ symbols · (fresh|\d+ pending)/.test(statusText)) await fail(`status bar text ${JSON.stringify(statusText)}`);
  step("index ready (status bar)", { statusText });
  // Wait until every symbol is embedded, so the query is answered semantically.
  await page.locator(".statusbar-item", { hasText: /symbols ·\s+fresh/ }).first().waitFor({ timeout: READY_TIMEOUT_MS });
  step("all symbols embedded");

  // 2. "symscope: Semantic Search" from the command palette, with a natural-language query.
  await page.locator(".part.editor").click();
  await runCommand("symscope: Semantic Search");
  await quickInput.locator(".quick-input-title", { hasText: "symscope: Semantic Search" }).waitFor({ timeout: 15_000 });
  step("semantic search opened");
  await page.keyboard.type(QUERY, { delay: 35 }); // as a person types: the debounce and cancellation run
  const expectedRow = rows.filter({ hasText: EXPECTED }).first();
  await expectedRow.waitFor({ timeout: 30_000 });
  await page.waitForTimeout(300); // let the list settle before reading and screenshotting it
  const listed = await rowTexts();
  const rank = listed.findIndex((t) => t.includes(EXPECTED)) + 1;
  step("expected symbol listed", { rank, rows: listed.slice(0, 8) });
  if (rank < 1) await fail(`${EXPECTED} not listed: ${JSON.stringify(listed)}`);
  const rowText = listed[rank - 1];
  for (const part of ["function", `storage/${EXPECTED_FILE}:${expectedLine}`, "def upload_with_retries("]) {
    if (!rowText.includes(part)) await fail(`row ${JSON.stringify(rowText)} lacks ${JSON.stringify(part)}`);
  }
  await shot("semantic-search.png");

  // 3. Accepting it opens the file at the symbol.
  await expectedRow.click();
  await page.locator(".tabs-container .tab.active", { hasText: EXPECTED_FILE }).waitFor({ timeout: 15_000 });
  const cursor = `Ln ${expectedLine}, Col ${expectedColumn}`;
  await page.locator(".statusbar-item", { hasText: cursor }).first().waitFor({ timeout: 10_000 });
  step("opened at the symbol", { cursor });
  await shot("opened.png");

  // 4. The keybinding opens the same search.
  await page.locator(".part.editor .monaco-editor .view-lines").first().click();
  await page.keyboard.press("Control+Alt+s");
  await quickInput.locator(".quick-input-title", { hasText: "symscope: Semantic Search" }).waitFor({ timeout: 10_000 });
  await page.keyboard.press("Escape");
  step("keybinding ctrl+alt+s opens Semantic Search");

  // 5. Outline (textDocument/documentSymbol through the language client) of the opened file.
  await page.locator(".part.editor .monaco-editor .view-lines").first().click();
  await page.keyboard.press("Control+Shift+O");
  await rows.filter({ hasText: "StorageClient" }).first().waitFor({ timeout: 15_000 });
  await page.keyboard.press("Escape");
  step("Go to Symbol in Editor lists the outline");

  // 6. Go to Symbol in Workspace (workspace/symbol) finds a Go function by abbreviation.
  await page.keyboard.press("Control+t");
  await quickInput.waitFor({ state: "visible", timeout: 10_000 });
  await page.keyboard.type("ValidSess", { delay: 20 });
  await rows.filter({ hasText: "ValidateSessionToken" }).first().waitFor({ timeout: 15_000 });
  await page.keyboard.press("Escape");
  step("Go to Symbol in Workspace finds ValidateSessionToken");

  // 7. Clicking the status bar item shows the index status.
  await statusItem.first().click();
  const dialog = page.locator(".monaco-dialog-box");
  await dialog.waitFor({ timeout: 15_000 });
  const dialogText = (await dialog.innerText()).replace(/\s+/g, " ");
  if (!/symbols: \d/.test(dialogText) || !/state: ready/.test(dialogText)) await fail(`status dialog: ${dialogText}`);
  step("status dialog", { dialogText: dialogText.slice(0, 300) });
  await shot("status.png");
  await page.keyboard.press("Escape");

  // 8. A settings change applies without a reload: excluding notify/** shrinks the index.
  const symbolCount = async () => {
    const text = (await page.locator(".statusbar-item", { hasText: /symbols\s+·/ }).first().textContent()) ?? "";
    return Number((/([\d,]+) symbols/.exec(text)?.[1] ?? "NaN").replace(/,/g, ""));
  };
  const before = await symbolCount();
  // As a user would: edit settings.json in the editor and save it.
  const settingsFile = path.join(outDir, "ud", "User", "settings.json");
  const settings = JSON.parse(fs.readFileSync(settingsFile, "utf8"));
  await runCommand("Preferences: Open User Settings (JSON)");
  await page.locator(".tabs-container .tab.active", { hasText: "settings.json" }).waitFor({ timeout: 15_000 });
  await page.locator(".part.editor .monaco-editor .view-lines").first().click();
  await page.keyboard.press("Control+a");
  await page.keyboard.press("Delete"); // typing over a selection would auto-surround it
  await page.keyboard.insertText(JSON.stringify({ ...settings, "symscope.excludes": ["notify/**"] }, null, 2)); // no auto-closing brackets
  await page.keyboard.press("Control+s");
  const savedBy = Date.now() + 10_000;
  let saved = {};
  while (JSON.stringify(saved["symscope.excludes"]) !== '["notify/**"]') {
    if (Date.now() > savedBy) await fail(`settings.json was not saved as typed: ${fs.readFileSync(settingsFile, "utf8")}`);
    await page.waitForTimeout(200);
    try {
      saved = JSON.parse(fs.readFileSync(settingsFile, "utf8"));
    } catch {
      saved = {};
    }
  }
  const shrunk = Date.now() + 60_000;
  let after = before;
  while ((after = await symbolCount()) >= before || Number.isNaN(after)) {
    if (Date.now() > shrunk) await fail(`symbol count stayed ${after} (was ${before}) after excluding notify/**`);
    await page.waitForTimeout(250);
  }
  step("settings change applied live (excludes)", { before, after });

  // 9. Restart Server: the server comes back with the same settings (initializationOptions).
  await runCommand("symscope: Restart Server");
  const restarted = Date.now() + READY_TIMEOUT_MS;
  await page.waitForTimeout(500);
  while ((await symbolCount()) !== after) {
    if (Date.now() > restarted) await fail(`after a restart the status bar shows ${await symbolCount()} symbols, expected ${after}`);
    await page.waitForTimeout(250);
  }
  step("restart server", { symbols: after });

  // 10. Reindex Workspace runs without an error.
  await runCommand("symscope: Reindex Workspace");
  await page.waitForTimeout(1500);
  step("reindex workspace");

  // No error notifications from the extension along the way.
  report.ok = true;
  fs.writeFileSync(path.join(outDir, "report.json"), JSON.stringify(report, null, 2));
  console.log(`OK (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  await browser.close();
} catch (error) {
  await fail(error instanceof Error ? error.message : String(error));
}
