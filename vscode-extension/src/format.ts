/**
 * What the user reads: search hits as quick-pick rows, the status-bar text and tooltip, and the
 * "Show index status" report.
 *
 * Must never import `vscode`: the shapes returned here are plain objects that the UI modules hand to
 * VS Code as they are, so unit tests can check every string.
 */

import type { IndexStatusReport, SearchHit } from "./protocol";

/** The codicon shown for a symbol kind (kinds as the symscope core names them). */
const KIND_ICONS: Record<string, string> = {
  file: "symbol-file",
  module: "symbol-module",
  namespace: "symbol-namespace",
  package: "symbol-package",
  class: "symbol-class",
  method: "symbol-method",
  property: "symbol-property",
  field: "symbol-field",
  constructor: "symbol-constructor",
  enum: "symbol-enum",
  enummember: "symbol-enum-member",
  interface: "symbol-interface",
  trait: "symbol-interface",
  function: "symbol-function",
  variable: "symbol-variable",
  constant: "symbol-constant",
  string: "symbol-string",
  key: "symbol-key",
  object: "symbol-object",
  struct: "symbol-struct",
  event: "symbol-event",
  operator: "symbol-operator",
  typeparameter: "symbol-type-parameter",
  type: "symbol-class",
  heading: "symbol-string",
};

export function kindIcon(kind: string): string {
  return KIND_ICONS[kind.toLowerCase().replace(/[\s_-]/g, "")] ?? "symbol-misc";
}

/** One line, inner whitespace collapsed, cut at `max` characters with an ellipsis. */
export function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 1).trimEnd()}…` : flat;
}

const FRESHNESS_LABELS: Record<string, string> = {
  pending: "$(clock) not embedded yet",
  unsaved: "$(circle-filled) unsaved",
};

/** Characters of a quick pick detail line that fit at the default width. */
export const DETAIL_BUDGET = 84;

export interface HitPickItem {
  label: string;
  description: string;
  detail: string;
  /** The quick pick must not filter server answers by its own fuzzy match on the label. */
  alwaysShow: true;
  hit: SearchHit;
}

/** name (with kind icon) / kind · path:line [· freshness] / signature — why */
export function hitToPickItem(hit: SearchHit): HitPickItem {
  const description = [hit.kind, `${hit.path}:${hit.line}`];
  const freshness = FRESHNESS_LABELS[hit.freshness];
  if (freshness) description.push(freshness);
  // A quick pick row shows about DETAIL_BUDGET characters: the signature gives way so "why" stays visible.
  const why = oneLine(hit.why, 40);
  const signature = oneLine(hit.signature || hit.snippet, Math.max(40, DETAIL_BUDGET - (why ? why.length + 5 : 0)));
  const detail = signature && why ? `${signature}  —  ${why}` : signature || why;
  return {
    label: `$(${kindIcon(hit.kind)}) ${hit.name}`,
    description: description.join(" · "),
    detail,
    alwaysShow: true,
    hit,
  };
}

export function formatCount(n: number): string {
  return n.toLocaleString("en-US");
}

export type ServerPhase = "starting" | "installing" | "indexing" | "ready" | "stopped" | "error" | "no-folder";

export interface ServerView {
  phase: ServerPhase;
  /** latest `$/progress` while indexing */
  progress?: { title?: string; message?: string; percentage?: number };
  status?: IndexStatusReport;
  /** why the server is in "error" */
  error?: string;
  version?: string;
}

export interface StatusBarView {
  text: string;
  tooltip: string;
  severity: "normal" | "warning" | "error";
}

function freshnessText(status: IndexStatusReport): string {
  if (status.pending !== undefined && status.pending > 0) return `$(sync) ${formatCount(status.pending)} pending`;
  return "$(check) fresh";
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

export function statusBarView(view: ServerView): StatusBarView {
  switch (view.phase) {
    case "no-folder":
      return { text: "$(search) symscope", tooltip: "symscope: open a folder to index it", severity: "normal" };
    case "starting":
      return { text: "$(loading~spin) symscope", tooltip: "symscope: starting the language server…", severity: "normal" };
    case "installing":
      return {
        text: "$(cloud-download) symscope: installing",
        tooltip: "symscope: installing the server into a private environment (see the \"symscope: server install\" output)",
        severity: "normal",
      };
    case "stopped":
      return { text: "$(circle-slash) symscope", tooltip: "symscope: the language server is stopped. Click for status and a restart.", severity: "warning" };
    case "error":
      return { text: "$(error) symscope", tooltip: `symscope: ${view.error ?? "the language server failed"}\nClick for details.`, severity: "error" };
    case "indexing": {
      const pct = view.progress?.percentage ?? view.status?.percentage;
      const message = view.progress?.message ?? view.status?.message;
      const pctText = pct !== undefined ? ` ${Math.round(pct)}%` : "";
      const tooltip = ["symscope: indexing" + pctText, message].filter(Boolean).join("\n") + "\nSearch answers from what is indexed so far. Click for index status.";
      return { text: `$(sync~spin) symscope${pctText}`, tooltip, severity: "normal" };
    }
    case "ready": {
      const status = view.status;
      if (!status || status.symbols === undefined) {
        return { text: "$(symbol-class) symscope", tooltip: "symscope: ready. Click for index status.", severity: "normal" };
      }
      const text = `$(symbol-class) ${formatCount(status.symbols)} symbols · ${freshnessText(status)}`;
      const lines = [`symscope${view.version ? ` (${view.version})` : ""}: ${formatCount(status.symbols)} symbols in ${formatCount(status.files ?? 0)} files`];
      if (status.pending !== undefined) lines.push(status.pending > 0 ? `${formatCount(status.pending)} symbols waiting for embeddings` : "all symbols embedded");
      if (status.unsavedDocuments) lines.push(`${status.unsavedDocuments} unsaved editor(s) searched as typed`);
      if (status.role === "reader") lines.push("read-only: another symscope process is updating this index");
      const problem = status.settingsError ?? status.lastError;
      if (problem) lines.push(`problem: ${problem}`);
      lines.push("Click for index status.");
      return { text, tooltip: lines.join("\n"), severity: problem ? "warning" : "normal" };
    }
  }
}

/** The "Show index status" report: one `label: value` line per figure the server reported. */
export function statusReportLines(view: ServerView): string[] {
  const lines: string[] = [];
  const status = view.status;
  lines.push(`state: ${status?.state ?? view.phase}`);
  if (status?.message) lines.push(`message: ${status.message}`);
  if (view.version) lines.push(`server: ${view.version}`);
  if (view.error) lines.push(`error: ${view.error}`);
  if (view.progress && view.phase === "indexing") {
    const pct = view.progress.percentage !== undefined ? `${Math.round(view.progress.percentage)}%` : "";
    lines.push(`indexing: ${[pct, view.progress.message].filter(Boolean).join(" ")}`);
  }
  if (status) {
    const rows: [string, string | number | undefined][] = [
      ["role", status.role],
      ["root", status.root],
      ["index directory", status.indexDir],
      ["files", status.files],
      ["symbols", status.symbols],
      ["vectors", status.vectors],
      ["pending embeddings", status.pending],
      ["model", status.model],
      ["device", status.device],
      ["index size", status.indexBytes !== undefined ? formatBytes(status.indexBytes) : undefined],
      ["file watcher", status.watcher],
      ["open documents", status.openDocuments !== undefined ? `${status.openDocuments} (${status.unsavedDocuments ?? 0} unsaved)` : undefined],
      ["position encoding", status.positionEncoding],
      ["last error", status.lastError],
      ["settings error", status.settingsError],
    ];
    for (const [label, value] of rows) {
      if (value === undefined || value === "") continue;
      lines.push(`${label}: ${typeof value === "number" ? formatCount(value) : value}`);
    }
  }
  return lines;
}
