/**
 * The extension's commands (their titles live in package.json): Semantic Search, Find Related Code,
 * Reindex Workspace, Show Index Status, Restart Server, Show Log.
 *
 * Owns command registration and the small dialogs around them; the work is done by `SymscopeServer`.
 * Command ids never equal a server command (`symscope.search`, `symscope.reindex`), which the language
 * client registers in VS Code by itself.
 */

import * as vscode from "vscode";
import { statusReportLines } from "./format";
import { SymscopeLogChannel } from "./logChannel";
import { FIND_RELATED_COMMAND, findRelatedCode } from "./relatedPick";
import { SEMANTIC_SEARCH_COMMAND, showSemanticSearch } from "./searchPick";
import { currentSettings, SymscopeServer } from "./server";
import { SHOW_STATUS_COMMAND } from "./statusBar";

export const REINDEX_COMMAND = "symscope.reindexWorkspace";
export const RESTART_COMMAND = "symscope.restartServer";
export const SHOW_LOG_COMMAND = "symscope.showLog";

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function reindex(server: SymscopeServer): Promise<void> {
  try {
    await server.reindex();
    void vscode.window.setStatusBarMessage("symscope: reindexing the workspace…", 3000);
  } catch (error) {
    void vscode.window.showErrorMessage(`symscope: reindex failed: ${errorText(error)}`);
  }
}

async function showStatus(server: SymscopeServer, output: SymscopeLogChannel): Promise<void> {
  let fetchError: string | undefined;
  if (server.isRunning) {
    try {
      await server.refreshStatus();
    } catch (error) {
      fetchError = errorText(error);
    }
  }
  const lines = statusReportLines(server.view);
  if (fetchError) lines.push(`symscope/status failed: ${fetchError}`);
  output.info(`index status:\n  ${lines.join("\n  ")}`);
  const actions = server.isRunning ? ["Reindex Workspace", "Restart Server", "Show Log"] : ["Restart Server", "Show Log"];
  const choice = await vscode.window.showInformationMessage("symscope index status", { modal: true, detail: lines.join("\n") }, ...actions);
  if (choice === "Reindex Workspace") await reindex(server);
  else if (choice === "Restart Server") await server.restart();
  else if (choice === "Show Log") output.show();
}

export function registerCommands(server: SymscopeServer, output: SymscopeLogChannel): vscode.Disposable[] {
  return [
    vscode.commands.registerCommand(SEMANTIC_SEARCH_COMMAND, (query?: unknown) =>
      showSemanticSearch(server, currentSettings, typeof query === "string" ? query : ""),
    ),
    vscode.commands.registerCommand(FIND_RELATED_COMMAND, () =>
      findRelatedCode(server).catch((error) => void vscode.window.showErrorMessage(`symscope: related code failed: ${errorText(error)}`)),
    ),
    vscode.commands.registerCommand(REINDEX_COMMAND, () => reindex(server)),
    vscode.commands.registerCommand(SHOW_STATUS_COMMAND, () => showStatus(server, output)),
    vscode.commands.registerCommand(RESTART_COMMAND, () => server.restart()),
    vscode.commands.registerCommand(SHOW_LOG_COMMAND, () => output.show()),
  ];
}
