/**
 * The status-bar item: indexing progress while `$/progress` runs, then the symbol count and freshness;
 * a click runs "symscope: Show Index Status".
 *
 * Owns only the item; the text comes from `format.statusBarView`, the state from `SymscopeServer`.
 */

import * as vscode from "vscode";
import { ServerView, statusBarView } from "./format";

export const SHOW_STATUS_COMMAND = "symscope.showStatus";

export class IndexStatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;

  constructor() {
    this.item = vscode.window.createStatusBarItem("symscope.status", vscode.StatusBarAlignment.Left, 10);
    this.item.name = "symscope index";
    this.item.command = SHOW_STATUS_COMMAND;
  }

  render(view: ServerView): void {
    const rendered = statusBarView(view);
    this.item.text = rendered.text;
    this.item.tooltip = rendered.tooltip;
    this.item.backgroundColor =
      rendered.severity === "error"
        ? new vscode.ThemeColor("statusBarItem.errorBackground")
        : rendered.severity === "warning"
          ? new vscode.ThemeColor("statusBarItem.warningBackground")
          : undefined;
    this.item.show();
  }

  dispose(): void {
    this.item.dispose();
  }
}
