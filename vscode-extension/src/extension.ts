/**
 * Entry point: activate wires the parts together and starts the server in the background;
 * deactivate stops it. Nothing else lives here.
 */

import * as vscode from "vscode";
import { registerCommands } from "./commands";
import { SymscopeLogChannel } from "./logChannel";
import { SymscopeServer } from "./server";
import { IndexStatusBar } from "./statusBar";

let server: SymscopeServer | undefined;

export function activate(context: vscode.ExtensionContext): void {
  const output = new SymscopeLogChannel(vscode.window.createOutputChannel("symscope", { log: true }));
  server = new SymscopeServer(output, { extensionPath: context.extensionPath, globalStoragePath: context.globalStorageUri.fsPath });
  const statusBar = new IndexStatusBar();
  statusBar.render(server.view);
  context.subscriptions.push(output, statusBar, server.onDidChangeView((view) => statusBar.render(view)), ...registerCommands(server, output));
  void server.start(); // never block activation on discovery or indexing
}

export async function deactivate(): Promise<void> {
  const running = server;
  server = undefined;
  await running?.dispose();
}
