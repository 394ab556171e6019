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
import { describeCandidate, discoverServer, isExecutableFile, lspArgv, processDiscoveryEnvironment, resolveSettingPath } from "./discovery";
import { ServerView } from "./format";
import { findBundledWheel, installedCandidate, InstallError, installServer, PrivateEnvironment, privateEnvironment, spawnRunner } from "./installer";
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

/** Where the extension lives and may write: for the bundled wheel and the private environment. */
export interface ExtensionPaths {
  extensionPath: string;
  globalStoragePath: string;
}

const INSTALL_CHANNEL = "symscope: server install";

export class SymscopeServer implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private settings: SymscopeSettings = currentSettings();
  private viewState: ServerView = { phase: "starting" };
  /** Start/stop/restart run one after another, never interleaved. */
  private lifecycle: Promise<void> = Promise.resolve();
  /** The install into the private environment while it runs (one at a time). */
  private installing: Promise<void> | undefined;
  private installLog: vscode.OutputChannel | undefined;
  private readonly viewEmitter = new vscode.EventEmitter<ServerView>();
  private readonly disposables: vscode.Disposable[] = [];
  readonly onDidChangeView = this.viewEmitter.event;

  constructor(
    private readonly output: SymscopeLogChannel,
    private readonly paths: ExtensionPaths,
  ) {
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
    this.installLog?.dispose();
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
    const wheel = findBundledWheel(this.paths.extensionPath);
    const privateEnv = wheel ? privateEnvironment(this.paths.globalStoragePath, wheel) : undefined;
    const env = processDiscoveryEnvironment(folder.uri.fsPath, privateEnv ? installedCandidate(privateEnv) : undefined);
    const discovery = await discoverServer({ command: this.settings.serverCommand, python: this.settings.serverPython }, env);
    for (const attempt of discovery.attempts) {
      this.output.warn(`server candidate ${describeCandidate(attempt.candidate)} (from ${attempt.candidate.source}) skipped: ${attempt.error}`);
    }
    if (!discovery.ok) {
      this.output.error(discovery.message);
      this.update({ phase: "error", error: discovery.message });
      // A server setting that does not work is the user's to fix: the install is offered only when
      // nothing was configured.
      const configured = discovery.attempts.some((a) => a.candidate.source.startsWith("symscope."));
      if (wheel && privateEnv && !configured) void this.offerInstall(wheel, privateEnv);
      else void this.showStartError(discovery.message);
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

  /** No server anywhere, but this .vsix carries one: offer to install it (never without asking). */
  private async offerInstall(wheel: string, env: PrivateEnvironment): Promise<void> {
    const choice = await vscode.window.showWarningMessage(
      "symscope: no symscope server was found. Install it into a private environment for this extension? " +
        "This needs Python 3.11 or newer; pip downloads the server's dependencies (about 300 MB).",
      "Install Server",
      "Open Settings",
      "Show Log",
    );
    if (choice === "Install Server") await this.installPrivateServer(wheel, env);
    else if (choice === "Open Settings") await vscode.commands.executeCommand("workbench.action.openSettings", "symscope.server");
    else if (choice === "Show Log") this.output.show();
  }

  /** Installs the bundled wheel with progress, the pip output in its own channel, then starts the server. */
  installPrivateServer(wheel: string, env: PrivateEnvironment): Promise<void> {
    const untilDone = async () => {
      while ((await this.doInstall(wheel, env)) === "retry") {
        // the user asked for another try
      }
    };
    this.installing ??= untilDone().finally(() => {
      this.installing = undefined;
    });
    return this.installing;
  }

  private async doInstall(wheel: string, env: PrivateEnvironment): Promise<"done" | "retry"> {
    const log = (this.installLog ??= vscode.window.createOutputChannel(INSTALL_CHANNEL));
    log.appendLine(`[${new Date().toISOString()}] installing ${wheel} into ${env.dir}`);
    this.output.info(`installing the bundled server ${wheel} into ${env.dir}`);
    this.update({ phase: "installing", error: undefined });
    const controller = new AbortController();
    try {
      const result = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: "symscope: installing the server", cancellable: true },
        (progress, token) => {
          token.onCancellationRequested(() => controller.abort());
          return installServer({
            wheel,
            env,
            python: { pathVariable: process.env.PATH ?? process.env.Path, platform: process.platform, pathExt: process.env.PATHEXT, isExecutableFile, run: spawnRunner },
            progress: (message, increment) => progress.report({ message, increment }),
            log: (line) => log.appendLine(line),
            signal: controller.signal,
          });
        },
      );
      this.output.info(`installed ${result.version} into ${env.dir} (Python ${result.python.version} from ${result.python.command})`);
      void vscode.window.setStatusBarMessage(`symscope: installed ${result.version}`, 5000);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const cancelled = error instanceof InstallError && error.step === "cancelled";
      log.appendLine(`FAILED: ${message}`);
      this.output.error(`installing the server failed: ${message}`);
      this.update({ phase: "error", error: `installing the server failed: ${message}` });
      const choice = await vscode.window.showErrorMessage(
        cancelled ? "symscope: the server install was cancelled." : `symscope: installing the server failed: ${message}`,
        "Show Install Log",
        "Retry",
      );
      if (choice === "Show Install Log") log.show();
      return choice === "Retry" ? "retry" : "done";
    }
    await this.restart();
    return "done";
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
