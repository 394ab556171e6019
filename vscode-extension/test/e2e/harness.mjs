// Shared by the e2e drivers: headless chromium on a code-server URL, timed steps, a report, the
// command palette, quick-pick rows, and failure screenshots.
import fs from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";

export async function openWorkbench({ url, outDir, chromiumPath, report }) {
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

  async function pass() {
    report.ok = true;
    fs.writeFileSync(path.join(outDir, "report.json"), JSON.stringify(report, null, 2));
    console.log(`OK (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    await browser.close();
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

  await page.goto(url);
  return { page, browser, step, shot, quickInput, rows, fail, pass, rowTexts, runCommand };
}

/** Runs "symscope: Semantic Search" for `query` and waits for a row naming `expected`; returns its rank and the rows. */
export async function semanticSearch(h, query, expected) {
  const { page, quickInput, rows, runCommand, rowTexts } = h;
  await page.locator(".part.editor").click();
  await runCommand("symscope: Semantic Search");
  await quickInput.locator(".quick-input-title", { hasText: "symscope: Semantic Search" }).waitFor({ timeout: 15_000 });
  await page.keyboard.type(query, { delay: 35 }); // as a person types: the debounce and cancellation run
  const row = rows.filter({ hasText: expected }).first();
  await row.waitFor({ timeout: 30_000 });
  await page.waitForTimeout(300); // let the list settle before reading and screenshotting it
  const listed = await rowTexts();
  return { row, listed, rank: listed.findIndex((t) => t.includes(expected)) + 1 };
}

/** 1-based line and column of `name` in the first line of `file` that starts with `prefix`. */
export function definitionPosition(file, prefix, name) {
  const lines = fs.readFileSync(file, "utf8").split("\n");
  const line = lines.findIndex((l) => l.startsWith(prefix)) + 1;
  if (line < 1) throw new Error(`${file} has no line starting with ${prefix}`);
  return { line, column: lines[line - 1].indexOf(name) + 1 };
}
