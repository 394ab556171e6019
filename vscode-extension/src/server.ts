/**
 * The running symscope language server, as one object: discovery, start, stop, restart, settings
 * changes, the custom requests, and a `ServerView` (phase, progress, index status) that the status bar
 * and the commands render.
 *
 * Owns the `LanguageClient`. Must never render UI beyond error messages about starting the server
 * (the status bar and the quick pick are their own modules), and never block activation on indexing.
 */

import * as vscode from "vscode";
import {
  DidChangeConfigurationNotification,
  ExecuteCommandRequest,
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
  State,
  TransportKind,
  WorkDoneProgressBegin,
  WorkDoneProgressEnd,
  WorkDoneProgressReport,
} from "vscode-languageclient/node";
import { describeCandidate, discoverServer, lspArgv, processDiscoveryEnvironment, resolveSettingPath } from "./discovery";
import { ServerView } from "./format";
import { documentSelector } from "./languages";
import { SymscopeLogChannel } from "./logChannel";
import {
  INDEXING_STATES,
  IndexStatusReport,
  normaliseRelatedResponse,
  normaliseSearchResponse,
  normaliseStatus,
  RELATED_REQUEST,
  RelatedParams,
  RelatedResponse,
  SEARCH_REQUEST,
  SearchHit,
  SearchParams,
  STATUS_CHANGED_NOTIFICATION,
  STATUS_REQUEST,
} from "./protocol";
import { changeAction, readSettings, serverOptions, SymscopeSettings } from "./settings";

export const CLIENT_ID = "symscope";
const CLIENT_NAME = "symscope";
const REINDEX_SERVER_COMMAND = "symscope.reindex";

export function currentSettings(): SymscopeSettings {
  const config = vscode.workspace.getConfiguration("symscope");
  return readSettings((key) => config.get(key));
}

function firstWorkspaceFolder(): vscode.WorkspaceFolder | undefined {
  return vscode.workspace.workspaceFolders?.[0];
}

export class SymscopeServer implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private settings: SymscopeSettings = currentSettings();
  private viewState: ServerView = { phase: "starting" };
  /** Start/stop/restart run one after another, never interleaved. */
  private lifecycle: Promise<void> = Promise.resolve();
  private readonly viewEmitter = new vscode.EventEmitter<ServerView>();
  private readonly disposables: vscode.Disposable[] = [];
  readonly onDidChangeView = this.viewEmitter.event;

  constructor(private readonly output: SymscopeLogChannel) {
    this.disposables.push(
      this.viewEmitter,
      vscode.workspace.onDidChangeConfiguration((event) => {
        if (event.affectsConfiguration("symscope")) void this.applySettings(currentSettings());
      }),
      vscode.workspace.onDidChangeWorkspaceFolders(() => void this.restart()),
    );
  }

  get view(): ServerView {
    return this.viewState;
  }

  get isRunning(): boolean {
    return this.client?.state === State.Running;
  }

  start(): Promise<void> {
    return this.enqueue(() => this.doStart());
  }

  stop(): Promise<void> {
    return this.enqueue(() => this.doStop());
  }

  restart(): Promise<void> {
    return this.enqueue(async () => {
      await this.doStop();
      await this.doStart();
    });
  }

  async dispose(): Promise<void> {
    for (const d of this.disposables.splice(0)) d.dispose();
    await this.stop();
  }

  /** `symscope/search`; the token cancels the request on the server too (`$/cancelRequest`). */
  async search(params: SearchParams, token: vscode.CancellationToken): Promise<SearchHit[]> {
    const client = this.runningClient();
    const raw = await client.sendRequest(SEARCH_REQUEST, params, token);
    return normaliseSearchResponse(raw);
  }

  /** `symscope/related`: the definitions most like the one at a position. */
  async related(params: RelatedParams, token?: vscode.CancellationToken): Promise<RelatedResponse> {
    const client = this.runningClient();
    return normaliseRelatedResponse(await client.sendRequest(RELATED_REQUEST, params, token));
  }

  /** Asks the server for `symscope/status` and folds the answer into the view. */
  async refreshStatus(): Promise<IndexStatusReport> {
    const client = this.runningClient();
    const status = normaliseStatus(await client.sendRequest(STATUS_REQUEST, {}));
    this.applyStatus(status);
    return status;
  }

  /**
   * Re-scans the whole workspace (the server's `symscope.reindex` command): files changed behind the
   * watcher's back are re-indexed. The command answers with the status; progress and statusChanged
   * follow as usual when there is work to do.
   */
  async reindex(): Promise<void> {
    const client = this.runningClient();
    const commands = client.initializeResult?.capabilities.executeCommandProvider?.commands ?? [];
    if (!commands.includes(REINDEX_SERVER_COMMAND)) {
      throw new Error(`this symscope server (${this.viewState.version ?? "unknown version"}) has no ${REINDEX_SERVER_COMMAND} command`);
    }
    const answer = await client.sendRequest(ExecuteCommandRequest.type, { command: REINDEX_SERVER_COMMAND, arguments: [] });
    this.applyStatus(normaliseStatus(answer));
  }

  /** Where the hit is, as a VS Code location (the server's LSP location, else path + line). */
  hitLocation(hit: SearchHit): vscode.Location | undefined {
    if (hit.location && this.client) return this.client.protocol2CodeConverter.asLocation(hit.location);
    const folder = firstWorkspaceFolder();
    if (!folder || !hit.path) return undefined;
    const position = new vscode.Position(Math.max(0, hit.line - 1), 0);
    return new vscode.Location(vscode.Uri.joinPath(folder.uri, ...hit.path.split("/")), position);
  }

  private runningClient(): LanguageClient {
    const client = this.client;
    if (!client || client.state !== State.Running) {
      const why = this.viewState.phase === "error" ? `: ${this.viewState.error?.split("\n")[0]}` : "";
      throw new Error(`the symscope language server is not running${why}`);
    }
    return client;
  }

  private enqueue(step: () => Promise<void>): Promise<void> {
    const next = this.lifecycle.then(step, step);
    this.lifecycle = next.catch(() => undefined);
    return next;
  }

  private update(change: Partial<ServerView>): void {
    this.viewState = { ...this.viewState, ...change };
    if (this.viewState.phase !== "indexing") this.viewState.progress = undefined;
    this.viewEmitter.fire(this.viewState);
  }

  private applyStatus(status: IndexStatusReport): void {
    const state = status.state ?? "ready";
    if (state === "error") {
      this.update({ phase: "error", status, error: status.settingsError ?? status.lastError ?? status.message ?? "the index failed" });
    } else if (state === "stopped") {
      this.update({ phase: "stopped", status });
    } else if (INDEXING_STATES.has(state)) {
      this.update({ phase: "indexing", status });
    } else if (this.viewState.phase === "indexing" && this.viewState.progress) {
      // $/progress is still open: keep showing its percentage until its "end", just keep the figures.
      this.update({ status });
    } else {
      this.update({ phase: "ready", status, error: undefined });
    }
  }

  private onWorkDoneProgress(params: WorkDoneProgressBegin | WorkDoneProgressReport | WorkDoneProgressEnd): void {
    if (params.kind === "end") {
      this.update({ phase: "ready", progress: undefined });
      this.refreshStatus().catch((error) => this.output.warn(`symscope/status failed: ${error}`));
      return;
    }
    const previous = this.viewState.progress ?? {};
    this.update({
      phase: "indexing",
      progress: {
        title: params.kind === "begin" ? params.title : previous.title,
        message: params.message ?? previous.message,
        percentage: params.percentage ?? previous.percentage,
      },
    });
  }

  private async doStart(): Promise<void> {
    this.settings = currentSettings();
    const folder = firstWorkspaceFolder();
    if (!folder) {
      this.update({ phase: "no-folder", error: undefined, status: undefined });
      return;
    }
    this.update({ phase: "starting", error: undefined, status: undefined, version: undefined });
    const env = processDiscoveryEnvironment(folder.uri.fsPath);
    const discovery = await discoverServer({ command: this.settings.serverCommand, python: this.settings.serverPython }, env);
    for (const attempt of discovery.attempts) {
      this.output.warn(`server candidate ${describeCandidate(attempt.candidate)} (from ${attempt.candidate.source}) skipped: ${attempt.error}`);
    }
    if (!discovery.ok) {
      this.output.error(discovery.message);
      this.update({ phase: "error", error: discovery.message });
      void this.showStartError(discovery.message);
      return;
    }
    const server = discovery.server;
    const skippedSetting = discovery.attempts.find((a) => a.candidate.source.startsWith("symscope."));
    if (skippedSetting) {
      void vscode.window.showWarningMessage(
        `symscope: the ${skippedSetting.candidate.source} setting does not work (${skippedSetting.error}); using ${describeCandidate(server)} instead.`,
      );
    }
    this.output.info(`starting ${server.version} via ${describeCandidate(server)} lsp (from ${server.source})`);

    const argv = lspArgv(server);
    const executable = { command: argv.command, args: argv.args, transport: TransportKind.stdio, options: { cwd: folder.uri.fsPath } };
    const serverOpts: ServerOptions = { run: executable, debug: executable };
    const clientOptions: LanguageClientOptions = {
      documentSelector: documentSelector(),
      outputChannel: this.output,
      initializationOptions: serverOptions(this.settings, (p) => resolveSettingPath(p, env)),
      middleware: {
        handleWorkDoneProgress: (token, params, next) => {
          this.onWorkDoneProgress(params);
          next(token, params);
        },
      },
    };
    const client = new LanguageClient(CLIENT_ID, CLIENT_NAME, serverOpts, clientOptions);
    this.client = client;
    client.onDidChangeState((event) => {
      if (this.client !== client) return;
      if (event.newState === State.Stopped) this.update({ phase: "stopped" });
    });
    client.onNotification(STATUS_CHANGED_NOTIFICATION, (payload: unknown) => {
      if (this.client === client) this.applyStatus(normaliseStatus(payload));
    });
    try {
      await client.start();
    } catch (error) {
      const message = `the symscope language server (${describeCandidate(server)} lsp) failed to start: ${error instanceof Error ? error.message : String(error)}`;
      this.output.error(message);
      this.update({ phase: "error", error: message });
      void this.showStartError(message);
      return;
    }
    this.update({ phase: this.viewState.phase === "starting" ? "ready" : this.viewState.phase, version: server.version });
    this.refreshStatus().catch((error) => this.output.warn(`symscope/status failed: ${error}`));
  }

  private async doStop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    try {
      await client.dispose(5000); // shutdown + exit; kills the process if it does not answer in time
    } catch (error) {
      this.output.warn(`stopping the language server: ${error instanceof Error ? error.message : String(error)}`);
    }
    this.update({ phase: "stopped" });
  }

  /** Settings take effect at once: where the server lives -> restart; what it indexes with -> notify. */
  private async applySettings(next: SymscopeSettings): Promise<void> {
    const action = changeAction(this.settings, next);
    if (action === "none") {
      this.settings = next;
      return;
    }
    if (action === "restart" || !this.isRunning) {
      this.output.info("server settings changed: restarting the language server");
      await this.restart();
      return;
    }
    this.settings = next;
    const folder = firstWorkspaceFolder();
    const env = processDiscoveryEnvironment(folder?.uri.fsPath);
    const settings = serverOptions(next, (p) => resolveSettingPath(p, env));
    this.output.info(`index settings changed: sending workspace/didChangeConfiguration ${JSON.stringify(settings)}`);
    await this.client!.sendNotification(DidChangeConfigurationNotification.type, { settings: { symscope: settings } });
  }

  private async showStartError(message: string): Promise<void> {
    const lines = message.split("\n");
    const fix = lines.find((line) => line.startsWith("Fix:")) ?? "";
    const choice = await vscode.window.showErrorMessage(`${lines[0]} ${fix}`, "Open Settings", "Show Log", "Retry");
    if (choice === "Open Settings") await vscode.commands.executeCommand("workbench.action.openSettings", "symscope.server");
    else if (choice === "Show Log") this.output.show();
    else if (choice === "Retry") await this.restart();
  }
}
