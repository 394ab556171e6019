// The no-server e2e: VS Code (code-server) with no symscope server anywhere. The extension must offer
// to install the wheel bundled in the platform .vsix into a private venv, show the install's progress,
// start the server from that venv, and answer a Semantic Search.
// Usage: node drive-install.mjs <url> <results-dir> <chromium>
// Exit 0 when every check passed; on failure a screenshot `failure.png` is left in <results-dir>.
import fs from "node:fs";
import path from "node:path";
import { definitionPosition, openWorkbench, semanticSearch } from "./harness.mjs";

const [url, outDir, chromiumPath] = process.argv.slice(2);
const QUERY = "which bank transactions are missing from our books";
const EXPECTED = "reconcile_ledger";
const EXPECTED_FILE = "reconcile.py";
const INSTALL_TIMEOUT_MS = Number(process.env.SYMSCOPE_E2E_INSTALL_TIMEOUT_MS ?? 420_000);
const READY_TIMEOUT_MS = Number(process.env.SYMSCOPE_E2E_READY_TIMEOUT_MS ?? 240_000);
const storage = path.join(outDir, "ud", "User", "globalStorage", "symscope.symscope", "server");

const report = { query: QUERY, expected: EXPECTED, steps: [] };
const h = await openWorkbench({ url, outDir, chromiumPath, report });
const { page, step, shot, fail } = h;

/** Processes whose command line mentions `needle` (Linux /proc), as argv arrays. */
function processesWith(needle) {
  const found = [];
  for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const argv = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
      if (argv.some((a) => a.includes(needle))) found.push(argv);
    } catch {}
  }
  return found;
}

try {
  await page.locator(".explorer-folders-view .monaco-list-row").first().waitFor({ timeout: 90_000 });
  step("workbench loaded");
  if (fs.existsSync(storage)) await fail(`${storage} exists before the install`);

  // 1. Discovery finds nothing: the extension offers to install the bundled server.
  const toasts = page.locator(".notifications-toasts");
  const offer = toasts.locator(".notification-toast", { hasText: "no symscope server was found" });
  await offer.first().waitFor({ timeout: 60_000 });
  step("install offered", { text: (await offer.first().innerText()).replace(/\s+/g, " ").slice(0, 200) });
  await shot("install-offer.png");
  await offer.first().locator(".monaco-button", { hasText: "Install Server" }).click();

  // 2. The install shows progress (a notification with pip's steps).
  const progress = toasts.locator(".notification-toast", { hasText: "symscope: installing the server" });
  await progress.first().waitFor({ timeout: 30_000 });
  const progressTexts = new Set();
  const seenBy = Date.now() + 20_000;
  while (Date.now() < seenBy && progressTexts.size < 3) {
    try {
      progressTexts.add((await progress.first().innerText({ timeout: 1000 })).replace(/\s+/g, " ").trim());
    } catch {
      break; // the notification closed: the install finished
    }
    await page.waitForTimeout(200);
  }
  step("install progress shown", { messages: [...progressTexts].slice(0, 5) });
  await shot("install-progress.png");

  // 3. The venv is created under the extension's global storage, and the install finishes (marker).
  const deadline = Date.now() + INSTALL_TIMEOUT_MS;
  let marker;
  while (!marker) {
    const envs = fs.existsSync(storage) ? fs.readdirSync(storage) : [];
    const done = envs.map((e) => path.join(storage, e, "symscope-install.json")).find((f) => fs.existsSync(f));
    if (done) marker = done;
    else if (await page.locator(".notification-toast", { hasText: "installing the server failed" }).count()) {
      await fail(`install failed: ${(await page.locator(".notification-toast", { hasText: "installing the server failed" }).first().innerText()).replace(/\s+/g, " ")}`);
    } else if (Date.now() > deadline) await fail(`no finished install under ${storage} after ${INSTALL_TIMEOUT_MS / 1000} s`);
    else await page.waitForTimeout(500);
  }
  const envDir = path.dirname(marker);
  const installed = JSON.parse(fs.readFileSync(marker, "utf8"));
  for (const file of ["bin/python", "bin/symscope", "pyvenv.cfg"]) {
    if (!fs.existsSync(path.join(envDir, file))) await fail(`the private environment lacks ${file}`);
  }
  step("venv created and server installed", { envDir, installed });

  // The pip output is in the "symscope: server install" output channel (VS Code keeps each output
  // channel in a file under the user data's logs).
  const logsDir = path.join(outDir, "ud", "logs");
  const findChannel = () =>
    (fs.readdirSync(logsDir, { recursive: true }) ?? [])
      .map(String)
      .filter((f) => f.includes("symscope") && f.includes("server install"))
      .map((f) => path.join(logsDir, f))
      .find((f) => /Successfully installed .*symscope-/.test(fs.readFileSync(f, "utf8")));
  const channelBy = Date.now() + 15_000;
  let channelFile;
  while (!(channelFile = findChannel())) {
    if (Date.now() > channelBy) await fail(`no "symscope: server install" output channel with pip's "Successfully installed" under ${logsDir}`);
    await page.waitForTimeout(500);
  }
  step("pip output in the install output channel", { file: path.relative(outDir, channelFile) });

  // 4. The server runs from the private venv and indexes the folder.
  await page.locator(".statusbar-item", { hasText: /symbols ·\s+fresh/ }).first().waitFor({ timeout: READY_TIMEOUT_MS });
  const servers = processesWith(path.join(envDir, "bin", "symscope")).filter((argv) => argv.includes("lsp"));
  if (servers.length === 0) await fail(`no "${envDir}/bin/symscope lsp" process is running`);
  step("server running from the private venv", { argv: servers[0] });

  // 5. Semantic Search answers.
  const pos = definitionPosition(path.join(outDir, "ledger-service", "ledger", EXPECTED_FILE), `def ${EXPECTED}`, EXPECTED);
  const { row, listed, rank } = await semanticSearch(h, QUERY, EXPECTED);
  step("semantic search answered", { rank, rows: listed.slice(0, 5) });
  if (!listed[rank - 1].includes(`ledger/${EXPECTED_FILE}:${pos.line}`)) await fail(`row ${JSON.stringify(listed[rank - 1])} lacks its path`);
  await shot("semantic-search.png");
  await row.click();
  await page.locator(".statusbar-item", { hasText: `Ln ${pos.line}, Col ${pos.column}` }).first().waitFor({ timeout: 10_000 });
  step("opened at the symbol");
  await h.pass();
} catch (error) {
  await fail(error instanceof Error ? error.message : String(error));
}
