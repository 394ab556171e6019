// Drives real VS Code (code-server) in headless chromium on the two-folder workspace
// (test/fixtures/symscope-e2e.code-workspace): Semantic Search in each folder (opened at the symbol),
// Find Related Code, keybinding, status, outline and workspace symbols, live settings, restart, reindex.
// Usage: node drive.mjs <url> <results-dir> <chromium>
// Exit 0 when every check passed; on failure a screenshot `failure.png` is left in <results-dir>.
import fs from "node:fs";
import path from "node:path";
import { definitionPosition, openWorkbench, semanticSearch } from "./harness.mjs";

const [url, outDir, chromiumPath] = process.argv.slice(2);
const QUERY = process.env.SYMSCOPE_E2E_QUERY ?? "where do we retry failed uploads";
const EXPECTED = "upload_with_retries";
const EXPECTED_FILE = "uploader.py";
// A symbol that exists only in the second folder (ledger-service).
const QUERY2 = "which bank transactions are missing from our books";
const EXPECTED2 = "reconcile_ledger";
const EXPECTED2_FILE = "reconcile.py";
// Related to reconcile_ledger: what it calls and what calls it (the call graph), by name, with the
// server's reason in the row.
const RELATED_EXPECTED = ["load_statement", "close_month"];
const RELATED_WHY = { load_statement: "called by it", close_month: "calls it" };
const READY_TIMEOUT_MS = Number(process.env.SYMSCOPE_E2E_READY_TIMEOUT_MS ?? 240_000);

const expectedPos = definitionPosition(path.join(outDir, "workspace", "storage", EXPECTED_FILE), `def ${EXPECTED}`, EXPECTED);
const expectedLine = expectedPos.line;
const expectedColumn = expectedPos.column;
const expected2Pos = definitionPosition(path.join(outDir, "ledger-service", "ledger", EXPECTED2_FILE), `def ${EXPECTED2}`, EXPECTED2);

const report = { query: QUERY, expected: EXPECTED, query2: QUERY2, expected2: EXPECTED2, steps: [] };
const h = await openWorkbench({ url, outDir, chromiumPath, report });
const { page, step, shot, quickInput, rows, fail, rowTexts, runCommand } = h;

try {
  await page.locator(".explorer-folders-view .monaco-list-row").first().waitFor({ timeout: 90_000 });
  // Both folders of the .code-workspace are roots in the explorer.
  for (const folder of ["workspace", "ledger-service"]) {
    await page.locator(".explorer-folders-view .monaco-list-row", { hasText: folder }).first().waitFor({ timeout: 30_000 });
  }
  step("workbench loaded (two folders)");

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
  const { row: expectedRow, listed, rank } = await semanticSearch(h, QUERY, EXPECTED);
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

  // 3b. A symbol that lives only in the second folder: listed with its path in that folder, and opened.
  const second = await semanticSearch(h, QUERY2, EXPECTED2);
  step("second-folder symbol listed", { rank: second.rank, rows: second.listed.slice(0, 8) });
  if (second.rank < 1) await fail(`${EXPECTED2} not listed: ${JSON.stringify(second.listed)}`);
  if (!second.listed[second.rank - 1].includes(`ledger/${EXPECTED2_FILE}:${expected2Pos.line}`)) {
    await fail(`row ${JSON.stringify(second.listed[second.rank - 1])} lacks ledger/${EXPECTED2_FILE}:${expected2Pos.line}`);
  }
  await shot("semantic-search-second-folder.png");
  await second.row.click();
  await page.locator(".tabs-container .tab.active", { hasText: EXPECTED2_FILE }).waitFor({ timeout: 15_000 });
  const cursor2 = `Ln ${expected2Pos.line}, Col ${expected2Pos.column}`;
  await page.locator(".statusbar-item", { hasText: cursor2 }).first().waitFor({ timeout: 10_000 });
  // reconcile.py exists only in the second folder, so the tab + cursor prove the right file opened.
  const tabTitle = await page.locator(".tabs-container .tab.active").first().getAttribute("title");
  step("opened the second-folder symbol", { cursor: cursor2, tab: tabTitle });

  // 3c. Find Related Code at that definition (the cursor is on its name): the quick pick lists what it
  // calls and what calls it.
  await runCommand("symscope: Find Related Code");
  await quickInput.locator(".quick-input-title", { hasText: `related to ${EXPECTED2}` }).waitFor({ timeout: 30_000 });
  for (const name of RELATED_EXPECTED) await rows.filter({ hasText: name }).first().waitFor({ timeout: 15_000 });
  await page.waitForTimeout(300);
  const related = await rowTexts();
  step("find related code", { rows: related.slice(0, 8) });
  for (const name of RELATED_EXPECTED) {
    const row = related.find((t) => t.startsWith(name));
    if (!row || !row.includes(RELATED_WHY[name])) await fail(`related row for ${name} lacks "${RELATED_WHY[name]}": ${JSON.stringify(row)}`);
  }
  if (related.some((t) => new RegExp(`\\b${EXPECTED2}\\b`).test(t.split(" ")[0] ?? ""))) await fail(`related lists the symbol itself: ${JSON.stringify(related)}`);
  await shot("related.png");
  // Accepting a related item opens it.
  await rows.filter({ hasText: RELATED_EXPECTED[0] }).first().click();
  const relatedPos = definitionPosition(path.join(outDir, "ledger-service", "ledger", EXPECTED2_FILE), `def ${RELATED_EXPECTED[0]}`, RELATED_EXPECTED[0]);
  await page.locator(".statusbar-item", { hasText: `Ln ${relatedPos.line}, Col` }).first().waitFor({ timeout: 10_000 });
  step("opened a related item", { line: relatedPos.line });

  // Back to the first folder's file for the checks below.
  await page.keyboard.press("Control+p");
  await quickInput.waitFor({ state: "visible", timeout: 10_000 });
  await page.keyboard.type(EXPECTED_FILE, { delay: 20 });
  await rows.filter({ hasText: EXPECTED_FILE }).first().waitFor({ timeout: 15_000 });
  await page.keyboard.press("Enter");
  await page.locator(".tabs-container .tab.active", { hasText: EXPECTED_FILE }).waitFor({ timeout: 10_000 });

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
  // NaN while the item shows no count (starting, indexing): the callers poll with their own deadline.
  const symbolCount = async () => {
    const item = page.locator(".statusbar-item", { hasText: /symbols\s+·/ }).first();
    if ((await item.count()) === 0) return NaN;
    const text = (await item.textContent({ timeout: 5_000 }).catch(() => "")) ?? "";
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
  const shrunk = Date.now() + READY_TIMEOUT_MS;
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

  await h.pass();
} catch (error) {
  await fail(error instanceof Error ? error.message : String(error));
}
