/**
 * "symscope: Find Related Code": the definitions most like the one under the cursor (by meaning, plus
 * its callers and callees), as the server's `symscope/related` ranks them, in a quick pick that opens
 * the chosen one.
 *
 * Owns the command's dialog only; the rows come from `format.hitToPickItem`, the request from
 * `SymscopeServer`. Must never re-rank the server's answer.
 */

import * as vscode from "vscode";
import { hitToPickItem } from "./format";
import { openHit } from "./searchPick";
import { SymscopeServer } from "./server";

export const FIND_RELATED_COMMAND = "symscope.findRelatedCode";
const LIMIT = 20;

export async function findRelatedCode(server: SymscopeServer): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (!editor) {
    void vscode.window.showInformationMessage("symscope: open a file and put the cursor in a definition first");
    return;
  }
  const position = editor.selection.active;
  const answer = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Window, title: "symscope: finding related code" },
    (_progress, token) =>
      server.related(
        { textDocument: { uri: editor.document.uri.toString() }, position: { line: position.line, character: position.character }, limit: LIMIT },
        token,
      ),
  );
  if (!answer.symbol || answer.hits.length === 0) {
    void vscode.window.showInformationMessage(`symscope: ${answer.note ?? "nothing related found"}`);
    return;
  }
  const pick = vscode.window.createQuickPick<ReturnType<typeof hitToPickItem>>();
  pick.title = `symscope: related to ${answer.symbol}${answer.note ? ` (${answer.note})` : ""}`;
  pick.items = answer.hits.map(hitToPickItem);
  pick.matchOnDescription = true;
  pick.onDidAccept(() => {
    const hit = pick.selectedItems[0]?.hit ?? pick.activeItems[0]?.hit;
    pick.hide();
    if (hit) openHit(server, hit).catch((error) => void vscode.window.showErrorMessage(`symscope: ${error instanceof Error ? error.message : error}`));
  });
  pick.onDidHide(() => pick.dispose());
  pick.show();
}
