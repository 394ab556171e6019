/**
 * The "symscope" output channel, with the `symscope.trace.server` setting wired into it.
 *
 * vscode-languageclient 11 traces protocol messages only while its output channel reports log level
 * Trace (normally set by hand with "Developer: Set Log Level"), and re-reads that level when the channel
 * fires `onDidChangeLogLevel`. This wrapper reports Trace whenever `symscope.trace.server` is not "off"
 * and fires the event when the setting changes, so the setting alone turns tracing on and off, at once,
 * without reloading the window. Trace lines are written at info level so they are always visible.
 *
 * Must never drop a non-trace log line.
 */

import * as vscode from "vscode";

export type TraceSetting = "off" | "messages" | "verbose";

export function readTraceSetting(): TraceSetting {
  const value = vscode.workspace.getConfiguration("symscope").get<string>("trace.server");
  return value === "messages" || value === "verbose" ? value : "off";
}

export class SymscopeLogChannel implements vscode.LogOutputChannel {
  private trace_: TraceSetting = readTraceSetting();
  private readonly levelEmitter = new vscode.EventEmitter<vscode.LogLevel>();
  private readonly subscriptions: vscode.Disposable[];
  readonly onDidChangeLogLevel = this.levelEmitter.event;

  constructor(private readonly inner: vscode.LogOutputChannel) {
    this.subscriptions = [
      this.levelEmitter,
      inner.onDidChangeLogLevel(() => this.levelEmitter.fire(this.logLevel)),
      vscode.workspace.onDidChangeConfiguration((event) => {
        if (!event.affectsConfiguration("symscope.trace.server")) return;
        const next = readTraceSetting();
        if (next === this.trace_) return;
        this.trace_ = next;
        this.levelEmitter.fire(this.logLevel);
      }),
    ];
  }

  get name(): string {
    return this.inner.name;
  }

  get logLevel(): vscode.LogLevel {
    return this.trace_ !== "off" ? vscode.LogLevel.Trace : this.inner.logLevel;
  }

  trace(message: string, ...args: unknown[]): void {
    if (this.trace_ !== "off") this.inner.info(`[trace] ${message}`, ...args);
    else this.inner.trace(message, ...args);
  }

  debug(message: string, ...args: unknown[]): void {
    this.inner.debug(message, ...args);
  }

  info(message: string, ...args: unknown[]): void {
    this.inner.info(message, ...args);
  }

  warn(message: string, ...args: unknown[]): void {
    this.inner.warn(message, ...args);
  }

  error(error: string | Error, ...args: unknown[]): void {
    this.inner.error(error, ...args);
  }

  append(value: string): void {
    this.inner.append(value);
  }

  appendLine(value: string): void {
    this.inner.appendLine(value);
  }

  replace(value: string): void {
    this.inner.replace(value);
  }

  clear(): void {
    this.inner.clear();
  }

  show(preserveFocus?: boolean): void;
  show(column?: vscode.ViewColumn, preserveFocus?: boolean): void;
  show(columnOrPreserveFocus?: vscode.ViewColumn | boolean, preserveFocus?: boolean): void {
    if (typeof columnOrPreserveFocus === "boolean" || columnOrPreserveFocus === undefined) this.inner.show(columnOrPreserveFocus);
    else this.inner.show(columnOrPreserveFocus, preserveFocus);
  }

  hide(): void {
    this.inner.hide();
  }

  dispose(): void {
    for (const subscription of this.subscriptions.splice(0)) subscription.dispose();
    this.inner.dispose();
  }
}
