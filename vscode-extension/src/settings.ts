/**
 * The extension's settings (`symscope.*`): reading them into one plain object, turning them into the
 * server's initializationOptions, and deciding what a change needs (nothing, a notification, a restart).
 *
 * Must never import `vscode`: the configuration comes in as a getter, so unit tests run this under Node.
 */

export type Device = "auto" | "cpu" | "cuda";
export const DEVICES: readonly Device[] = ["auto", "cpu", "cuda"];

export interface SymscopeSettings {
  serverCommand: string | string[];
  serverPython: string;
  indexDirectory: string;
  model: string;
  device: Device;
  excludes: string[];
  searchLimit: number;
  searchDebounceMs: number;
}

export const DEFAULT_SETTINGS: SymscopeSettings = {
  serverCommand: "",
  serverPython: "",
  indexDirectory: "",
  model: "",
  device: "auto",
  excludes: [],
  searchLimit: 30,
  searchDebounceMs: 150,
};

/** Reads one key under `symscope.` (e.g. "server.command"); undefined when unset. */
export type SettingGetter = (key: string) => unknown;

function stringSetting(value: unknown, fallback: string): string {
  return typeof value === "string" ? value.trim() : fallback;
}

function intSetting(value: unknown, fallback: number, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isFinite(value)) return fallback;
  return Math.min(max, Math.max(min, Math.round(value)));
}

/** Settings with wrong types or values replaced by their defaults (VS Code does not enforce the schema). */
export function readSettings(get: SettingGetter): SymscopeSettings {
  const command = get("server.command");
  const device = get("device");
  const excludes = get("excludes");
  return {
    serverCommand: Array.isArray(command)
      ? command.filter((part): part is string => typeof part === "string" && part.trim().length > 0)
      : stringSetting(command, ""),
    serverPython: stringSetting(get("server.python"), ""),
    indexDirectory: stringSetting(get("index.directory"), ""),
    model: stringSetting(get("model"), ""),
    device: DEVICES.includes(device as Device) ? (device as Device) : "auto",
    excludes: Array.isArray(excludes) ? excludes.filter((g): g is string => typeof g === "string" && g.trim().length > 0) : [],
    searchLimit: intSetting(get("search.limit"), DEFAULT_SETTINGS.searchLimit, 1, 200),
    searchDebounceMs: intSetting(get("search.debounceMs"), DEFAULT_SETTINGS.searchDebounceMs, 0, 2000),
  };
}

/**
 * What the server reads from initializationOptions and workspace/didChangeConfiguration, in the
 * server's own key names (lsp_server.config.Settings). An unset setting is sent as null: the server
 * then falls back to the workspace's symscope.toml / [tool.symscope] and its defaults, and a value
 * removed since the last message does not linger (the server merges each message over the last).
 */
export function serverOptions(settings: SymscopeSettings, expand: (p: string) => string = (p) => p): Record<string, unknown> {
  return {
    index_dir: settings.indexDirectory ? expand(settings.indexDirectory) : null,
    // Model names ("default", "default:fp32", "hashing") contain no path separator: `expand` keeps them.
    model: settings.model ? expand(settings.model) : null,
    device: settings.device !== "auto" ? settings.device : null,
    excludes: settings.excludes.length > 0 ? [...settings.excludes] : null,
  };
}

export type ChangeAction = "none" | "notify" | "restart";

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * What a settings change needs. Where the server lives -> restart (discover again). What the server
 * indexes with -> notify (workspace/didChangeConfiguration; the server reopens what it must).
 * Search-box settings -> nothing (read on every search).
 */
export function changeAction(before: SymscopeSettings, after: SymscopeSettings): ChangeAction {
  if (!same(before.serverCommand, after.serverCommand) || before.serverPython !== after.serverPython) return "restart";
  if (!same(serverOptions(before), serverOptions(after))) return "notify";
  return "none";
}
