/**
 * Finding the symscope language server: which executable to start, checked with `--version`.
 *
 * Order (first that answers `--version` with "symscope <version>" wins):
 *   1. the `symscope.server.command` setting (an executable path, or an argv prefix);
 *   2. the `symscope.server.python` setting, if set, running `<python> -m lsp_server`;
 *   3. `symscope` on PATH;
 *   4. `python3` (`python` on Windows) on PATH running `-m lsp_server`;
 *   5. the private environment this extension installed the server into (installer.ts), if any.
 * An explicit setting therefore always beats whatever happens to be on PATH.
 *
 * Owns: the candidate list, `${workspaceFolder}`/`~` expansion, the PATH lookup and the version probe,
 * and the error text (with a fix) when nothing works. Must never import `vscode`: the environment comes
 * in through `DiscoveryEnvironment`, so unit tests run it under plain Node.
 */

import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export interface DiscoverySettings {
  /** `symscope.server.command`: "" / [] when unset. */
  command: string | string[];
  /** `symscope.server.python`: "" when unset. */
  python: string;
}

export type CandidateSource = "symscope.server.command" | "symscope.server.python" | "PATH" | "default python" | "private environment";

export interface ServerCandidate {
  source: CandidateSource;
  /** executable to spawn */
  command: string;
  /** arguments before the subcommand (`lsp` / `--version`) */
  args: string[];
}

export interface ResolvedServer extends ServerCandidate {
  /** what `--version` printed, e.g. "symscope 0.1.0" */
  version: string;
}

export interface Attempt {
  candidate: ServerCandidate;
  error: string;
}

export type DiscoveryResult =
  | { ok: true; server: ResolvedServer; attempts: Attempt[] }
  | { ok: false; attempts: Attempt[]; message: string };

export type VersionProbe = (command: string, args: string[]) => Promise<{ ok: true; output: string } | { ok: false; error: string }>;

export interface DiscoveryEnvironment {
  /** $PATH */
  pathVariable: string | undefined;
  platform: NodeJS.Platform;
  /** $PATHEXT (Windows) */
  pathExt?: string;
  /** first workspace folder (for `${workspaceFolder}`) */
  workspaceFolder?: string;
  homeDir: string;
  /** the server this extension installed into its own environment (see installer.ts), tried last */
  privateServer?: ServerCandidate;
  isExecutableFile(file: string): boolean;
  probeVersion: VersionProbe;
}

/** `${workspaceFolder}`, `${userHome}` and a leading `~` expanded; other text untouched. */
export function expandPath(value: string, env: Pick<DiscoveryEnvironment, "workspaceFolder" | "homeDir">): string {
  let out = value.replace(/\$\{userHome\}/g, env.homeDir);
  if (env.workspaceFolder !== undefined) out = out.replace(/\$\{workspaceFolder\}/g, env.workspaceFolder);
  if (out === "~") return env.homeDir;
  if (out.startsWith("~/") || out.startsWith("~\\")) return path.join(env.homeDir, out.slice(2));
  return out;
}

/** expandPath, then a relative path with a separator ("./x", ".venv/bin/x") anchored at the workspace folder. */
export function resolveSettingPath(value: string, env: Pick<DiscoveryEnvironment, "workspaceFolder" | "homeDir">): string {
  const expanded = expandPath(value, env);
  const hasSeparator = expanded.includes("/") || expanded.includes("\\");
  if (hasSeparator && !path.isAbsolute(expanded) && env.workspaceFolder !== undefined) {
    return path.resolve(env.workspaceFolder, expanded);
  }
  return expanded;
}

/** Full path of `name` on PATH, or undefined. On Windows, PATHEXT suffixes are tried. */
export function findOnPath(name: string, env: Pick<DiscoveryEnvironment, "pathVariable" | "platform" | "pathExt" | "isExecutableFile">): string | undefined {
  const separator = env.platform === "win32" ? ";" : ":";
  const dirs = (env.pathVariable ?? "").split(separator).filter((dir) => dir.length > 0);
  const suffixes = env.platform === "win32" ? ["", ...(env.pathExt ?? ".EXE;.CMD;.BAT").split(";").filter(Boolean)] : [""];
  for (const dir of dirs) {
    for (const suffix of suffixes) {
      const file = path.join(dir, name + suffix);
      if (env.isExecutableFile(file)) return file;
    }
  }
  return undefined;
}

function commandArgv(command: string | string[]): string[] {
  if (Array.isArray(command)) return command.filter((part) => typeof part === "string" && part.length > 0);
  const trimmed = command.trim();
  // A string is one executable path (spaces allowed); it is never split like a shell would.
  return trimmed.length > 0 ? [trimmed] : [];
}

/** The candidates in the order they are tried (only those that can be formed from settings and PATH). */
export function serverCandidates(settings: DiscoverySettings, env: DiscoveryEnvironment): ServerCandidate[] {
  const candidates: ServerCandidate[] = [];
  const argv = commandArgv(settings.command).map((part, i) => (i === 0 ? resolveSettingPath(part, env) : part));
  if (argv.length > 0) candidates.push({ source: "symscope.server.command", command: argv[0], args: argv.slice(1) });
  const python = settings.python.trim();
  if (python.length > 0) {
    candidates.push({ source: "symscope.server.python", command: resolveSettingPath(python, env), args: ["-m", "lsp_server"] });
  }
  const onPath = findOnPath("symscope", env);
  if (onPath) candidates.push({ source: "PATH", command: onPath, args: [] });
  const defaultPython = findOnPath(env.platform === "win32" ? "python" : "python3", env);
  if (defaultPython) candidates.push({ source: "default python", command: defaultPython, args: ["-m", "lsp_server"] });
  if (env.privateServer) candidates.push(env.privateServer);
  return candidates;
}

export function describeCandidate(candidate: ServerCandidate): string {
  return [candidate.command, ...candidate.args].map((part) => (/\s/.test(part) ? JSON.stringify(part) : part)).join(" ");
}

const VERSION_PATTERN = /\bsymscope\s+v?\d+(\.\d+)*\S*/i;

/**
 * Tries each candidate with `--version` and returns the first that prints "symscope <version>".
 * An explicit setting that fails is reported even when a later candidate works (in `attempts`), so the
 * caller can warn that the user's setting was skipped.
 */
export async function discoverServer(settings: DiscoverySettings, env: DiscoveryEnvironment): Promise<DiscoveryResult> {
  const attempts: Attempt[] = [];
  for (const candidate of serverCandidates(settings, env)) {
    const probe = await env.probeVersion(candidate.command, [...candidate.args, "--version"]);
    if (!probe.ok) {
      attempts.push({ candidate, error: probe.error });
      continue;
    }
    const match = VERSION_PATTERN.exec(probe.output);
    if (!match) {
      const printed = probe.output.trim().split(/\r?\n/)[0] ?? "";
      attempts.push({ candidate, error: `\`--version\` printed ${JSON.stringify(printed.slice(0, 120))}, not "symscope <version>"` });
      continue;
    }
    return { ok: true, server: { ...candidate, version: match[0] }, attempts };
  }
  return { ok: false, attempts, message: discoveryFailureMessage(attempts) };
}

/** The error shown when no candidate works: what was tried, why each failed, and how to fix it. */
export function discoveryFailureMessage(attempts: Attempt[]): string {
  const lines = ["symscope: could not start the symscope language server."];
  if (attempts.length === 0) {
    lines.push("Nothing to try: `symscope.server.command` and `symscope.server.python` are unset, and neither `symscope` nor `python3` is on PATH.");
  } else {
    lines.push("Tried:");
    for (const attempt of attempts) {
      lines.push(`  - ${describeCandidate(attempt.candidate)} --version  (from ${attempt.candidate.source}): ${attempt.error}`);
    }
  }
  lines.push(
    "Fix: install the symscope server (`uv tool install <symscope checkout>` or `pip install <symscope checkout>`) so `symscope` is on PATH, " +
      "or set `symscope.server.command` to the symscope executable (e.g. \"${workspaceFolder}/.venv/bin/symscope\"), " +
      "or set `symscope.server.python` to a Python interpreter that has symscope installed.",
  );
  return lines.join("\n");
}

/** Runs `command args` (no shell) and collects stdout+stderr, with a time limit. */
export function execVersionProbe(timeoutMs = 20000, extraEnv: NodeJS.ProcessEnv = {}): VersionProbe {
  return (command, args) =>
    new Promise((resolve) => {
      execFile(
        command,
        args,
        { timeout: timeoutMs, windowsHide: true, env: { ...process.env, ...extraEnv }, maxBuffer: 1 << 20 },
        (error, stdout, stderr) => {
          if (error) {
            const err = error as NodeJS.ErrnoException & { killed?: boolean; code?: number | string };
            let reason: string;
            if (err.code === "ENOENT") reason = "not found";
            else if (err.code === "EACCES") reason = "not executable (permission denied)";
            else if (err.killed) reason = `no answer within ${Math.round(timeoutMs / 1000)} s`;
            else reason = `exited with ${err.code ?? "an error"}`;
            const detail = `${stderr}`.trim().split(/\r?\n/).slice(-1)[0];
            resolve({ ok: false, error: detail ? `${reason}: ${detail.slice(0, 200)}` : reason });
            return;
          }
          resolve({ ok: true, output: `${stdout}\n${stderr}` });
        },
      );
    });
}

export function isExecutableFile(file: string): boolean {
  try {
    const stat = fs.statSync(file);
    if (!stat.isFile()) return false;
    if (process.platform === "win32") return true;
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The real environment of this process. */
export function processDiscoveryEnvironment(workspaceFolder?: string, privateServer?: ServerCandidate): DiscoveryEnvironment {
  return {
    privateServer,
    pathVariable: process.env.PATH ?? process.env.Path,
    platform: process.platform,
    pathExt: process.env.PATHEXT,
    workspaceFolder,
    homeDir: os.homedir(),
    isExecutableFile,
    probeVersion: execVersionProbe(),
  };
}

/** The argv that starts the language server over stdio. */
export function lspArgv(server: ServerCandidate): { command: string; args: string[] } {
  return { command: server.command, args: [...server.args, "lsp"] };
}
