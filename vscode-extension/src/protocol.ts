/**
 * The symscope-specific part of the language server protocol, as the extension sees it: method names,
 * parameter and result shapes, and the normalisers that turn a server answer into those shapes.
 *
 * Owns: nothing but types and pure functions. Must never import `vscode` (the unit and protocol tests
 * run it under plain Node) or talk to a server.
 */

export const SEARCH_REQUEST = "symscope/search";
export const RELATED_REQUEST = "symscope/related";
export const STATUS_REQUEST = "symscope/status";
export const STATUS_CHANGED_NOTIFICATION = "symscope/statusChanged";
/** Server command (workspace/executeCommand) that the language client registers in VS Code by itself. */
export const SERVER_SEARCH_COMMAND = "symscope.search";

export interface SearchParams {
  query: string;
  limit?: number;
  lang?: string;
  /** A path glob relative to the workspace root. */
  path?: string;
  kind?: string;
}

/** LSP Position/Range/Location, structurally (so this module needs no protocol import). */
export interface LspPosition {
  line: number;
  character: number;
}
export interface LspRange {
  start: LspPosition;
  end: LspPosition;
}
export interface LspLocation {
  uri: string;
  range: LspRange;
}

export type Freshness = "indexed" | "pending" | "unsaved" | string;

/** One `symscope/search` result, as the extension uses it. */
export interface SearchHit {
  name: string;
  kind: string;
  /** Relative to the workspace root, forward slashes. */
  path: string;
  /** 1-based line of the symbol's start. */
  line: number;
  score: number;
  signature: string;
  snippet: string;
  why: string;
  freshness: Freshness;
  /** Where to go: the symbol's name (selectionRange) when the server sent one, else its whole range. */
  location?: LspLocation;
  qualifiedName?: string;
  language?: string;
}

/** Session states the server reports (lsp_server/session.py). */
export const INDEXING_STATES: ReadonlySet<string> = new Set(["starting", "indexing", "embedding"]);

/** `symscope/status` and `symscope/statusChanged` (lsp_server/lsp/status.py `status_payload`). */
export interface IndexStatusReport {
  /** starting | indexing | embedding | ready | reader | error | stopped */
  state?: string;
  message?: string;
  /** writer | reader | none */
  role?: string;
  /** 0..100 while indexing */
  percentage?: number;
  root?: string;
  indexDir?: string;
  files?: number;
  symbols?: number;
  vectors?: number;
  pending?: number;
  model?: string;
  device?: string;
  indexBytes?: number;
  lastError?: string;
  settingsError?: string;
  watcher?: string;
  openDocuments?: number;
  unsavedDocuments?: number;
  positionEncoding?: string;
  version?: string;
  /** the raw object, for "Show index status" */
  raw: Record<string, unknown>;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function str(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

function num(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

function isRange(value: unknown): value is LspRange {
  if (!isRecord(value) || !isRecord(value.start) || !isRecord(value.end)) return false;
  return [value.start.line, value.start.character, value.end.line, value.end.character].every((n) => num(n) !== undefined);
}

/**
 * One result of the server's answer (`{name, kind, path, uri, range, selectionRange, startLine, score,
 * signature, snippet, why, freshness, qualifiedName, language, ...}`), or undefined when it lacks what
 * a pick row needs: a name and a place (a uri with a range, or a path).
 */
export function normaliseHit(raw: unknown): SearchHit | undefined {
  if (!isRecord(raw)) return undefined;
  const name = str(raw.name);
  const uri = str(raw.uri);
  const range = isRange(raw.selectionRange) ? raw.selectionRange : isRange(raw.range) ? raw.range : undefined;
  const location = uri && range ? { uri, range } : undefined;
  const path = str(raw.path) ?? "";
  if (!name || (!location && !path)) return undefined;
  return {
    name,
    kind: str(raw.kind) ?? "symbol",
    path,
    line: num(raw.startLine) ?? (location ? location.range.start.line + 1 : 1),
    score: num(raw.score) ?? 0,
    signature: str(raw.signature) ?? "",
    snippet: str(raw.snippet) ?? "",
    why: str(raw.why) ?? "",
    freshness: str(raw.freshness) ?? "indexed",
    location,
    qualifiedName: str(raw.qualifiedName),
    language: str(raw.language),
  };
}

/** The hits of a `symscope/search` answer (`{query, state, results: [...]}`); malformed rows are dropped. */
export function normaliseSearchResponse(raw: unknown): SearchHit[] {
  const list = isRecord(raw) && Array.isArray(raw.results) ? raw.results : [];
  const hits: SearchHit[] = [];
  for (const item of list) {
    const hit = normaliseHit(item);
    if (hit) hits.push(hit);
  }
  return hits;
}

export interface RelatedParams {
  textDocument: { uri: string };
  position: LspPosition;
  limit?: number;
}

/** A `symscope/related` answer: the definition at the position and what is like it. */
export interface RelatedResponse {
  /** Qualified name of the definition at the position; undefined when there is none. */
  symbol?: string;
  /** Why there is nothing (no definition there) or why the list is partial (no vectors yet). */
  note?: string;
  hits: SearchHit[];
}

export function normaliseRelatedResponse(raw: unknown): RelatedResponse {
  const r = isRecord(raw) ? raw : {};
  const symbol = isRecord(r.symbol) ? str(r.symbol.qualifiedName) ?? str(r.symbol.name) : undefined;
  return { symbol, note: str(r.note), hits: normaliseSearchResponse(raw) };
}

/** A `symscope/status` answer or `symscope/statusChanged` payload; fields of the wrong type are left out. */
export function normaliseStatus(raw: unknown): IndexStatusReport {
  const r = isRecord(raw) ? raw : {};
  return {
    state: str(r.state),
    message: str(r.message),
    role: str(r.role),
    percentage: num(r.percentage),
    root: str(r.root),
    indexDir: str(r.indexDir),
    files: num(r.files),
    symbols: num(r.symbols),
    vectors: num(r.vectors),
    pending: num(r.pending),
    model: str(r.modelId),
    device: str(r.device),
    indexBytes: num(r.indexBytes),
    lastError: str(r.lastError),
    settingsError: str(r.settingsError),
    watcher: str(r.watcher),
    openDocuments: num(r.openDocuments),
    unsavedDocuments: num(r.unsavedDocuments),
    positionEncoding: str(r.positionEncoding),
    version: str(r.version),
    raw: r,
  };
}
