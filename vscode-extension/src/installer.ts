/**
 * Installing the symscope server into a private environment when none is found: a venv under the
 * extension's global storage, created with the first Python >= 3.11 on PATH, into which pip installs
 * the server wheel that a platform-specific .vsix carries in `server/`.
 *
 * Steps: find the bundled wheel -> find a Python (>= 3.11, with `venv` and `ensurepip`) -> `python -m
 * venv <env>` -> `<env>/python -m pip install <wheel>[cpu]` (pip's own environment variables, e.g.
 * PIP_INDEX_URL, PIP_FIND_LINKS, PIP_NO_INDEX, apply as they do for any pip run) -> check
 * `<env>/symscope --version` -> write the marker file. An environment without the marker (a crash
 * half-way, a failed pip) is never used and is replaced by the next install.
 *
 * Owns the paths of the private environment, the Python probe, the commands run and the error texts.
 * Must never import `vscode`: processes are run through `CommandRunner`, so unit tests run it under
 * plain Node with fake or real programs.
 */

import { ChildProcessByStdio, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Readable } from "node:stream";
import { findOnPath, ServerCandidate } from "./discovery";

export const MIN_PYTHON: readonly [number, number] = [3, 11];
/** Written last into the environment: its presence means the install finished and was checked. */
export const MARKER_FILE = "symscope-install.json";

export interface PrivateEnvironment {
  /** the venv directory */
  dir: string;
  python: string;
  symscope: string;
  marker: string;
}

/** Where the bundled wheel `file` is installed: `<storage>/server/<wheel stem>`, one venv per wheel. */
export function privateEnvironment(storageDir: string, wheelFile: string, platform: NodeJS.Platform = process.platform): PrivateEnvironment {
  const stem = path.basename(wheelFile).replace(/\.whl$/i, "").replace(/[^A-Za-z0-9._-]/g, "_");
  const dir = path.join(storageDir, "server", stem);
  const bin = platform === "win32" ? path.join(dir, "Scripts") : path.join(dir, "bin");
  const exe = platform === "win32" ? ".exe" : "";
  return { dir, python: path.join(bin, `python${exe}`), symscope: path.join(bin, `symscope${exe}`), marker: path.join(dir, MARKER_FILE) };
}

/** The server wheel a platform .vsix carries (`<extension>/server/symscope-*.whl`), or undefined. */
export function findBundledWheel(extensionDir: string, readdir: (dir: string) => string[] = safeReaddir): string | undefined {
  const dir = path.join(extensionDir, "server");
  const wheels = readdir(dir)
    .filter((name) => /^symscope-.*\.whl$/i.test(name))
    .sort();
  return wheels.length > 0 ? path.join(dir, wheels[wheels.length - 1]) : undefined;
}

function safeReaddir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

/** The private environment as a discovery candidate, if its install finished. */
export function installedCandidate(env: PrivateEnvironment, exists: (file: string) => boolean = fs.existsSync): ServerCandidate | undefined {
  if (!exists(env.marker) || !exists(env.symscope)) return undefined;
  return { source: "private environment", command: env.symscope, args: [] };
}

export interface RunResult {
  code: number | null;
  /** spawn error (ENOENT, EACCES), if the program did not start */
  error?: string;
  output: string;
}

/** Runs a program without a shell; every output line goes to `onLine` as it arrives. */
export type CommandRunner = (command: string, args: string[], onLine: (line: string) => void, signal?: AbortSignal) => Promise<RunResult>;

export const spawnRunner: CommandRunner = (command, args, onLine, signal) =>
  new Promise((resolve) => {
    let output = "";
    let partial = "";
    const take = (chunk: Buffer) => {
      const text = partial + chunk.toString("utf8");
      const lines = text.split(/\r?\n/);
      partial = lines.pop() ?? "";
      for (const line of lines) {
        output += line + "\n";
        onLine(line);
      }
    };
    if (signal?.aborted) {
      resolve({ code: null, error: "cancelled", output });
      return;
    }
    // Its own process group (POSIX), so cancelling also ends what it started (pip's subprocesses).
    const posix = process.platform !== "win32";
    let child: ChildProcessByStdio<null, Readable, Readable>;
    try {
      child = spawn(command, args, { windowsHide: true, stdio: ["ignore", "pipe", "pipe"], detached: posix });
    } catch (error) {
      resolve({ code: null, error: error instanceof Error ? error.message : String(error), output });
      return;
    }
    let spawnError: string | undefined;
    const onAbort = () => {
      spawnError = "cancelled";
      try {
        if (posix && child.pid !== undefined) process.kill(-child.pid, "SIGTERM");
        else child.kill();
      } catch {
        // already gone
      }
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    child.stdout.on("data", take);
    child.stderr.on("data", take);
    child.on("error", (error: NodeJS.ErrnoException) => {
      spawnError ??= error.code === "ENOENT" ? "not found" : error.code === "EACCES" ? "not executable (permission denied)" : error.message;
    });
    child.on("close", (code) => {
      signal?.removeEventListener("abort", onAbort);
      if (partial) {
        output += partial + "\n";
        onLine(partial);
      }
      resolve({ code: spawnError ? null : code, error: spawnError, output });
    });
  });

export interface PythonChoice {
  command: string;
  version: string;
}

export interface PythonProbeFailure {
  command: string;
  error: string;
}

/** Python names tried on PATH, in order (Windows: `python`, then `py -3` is not used: no argv prefix). */
export function pythonNames(platform: NodeJS.Platform): string[] {
  return platform === "win32" ? ["python", "python3"] : ["python3", "python3.13", "python3.12", "python3.11", "python"];
}

const PROBE_SCRIPT = "import sys, venv, ensurepip; print('%d.%d.%d' % sys.version_info[:3])";

/** Whether `version` ("3.11.7") is at least MIN_PYTHON. */
export function isSupportedPython(version: string): boolean {
  const [major, minor] = version.split(".").map((part) => Number(part));
  if (!Number.isFinite(major) || !Number.isFinite(minor)) return false;
  return major > MIN_PYTHON[0] || (major === MIN_PYTHON[0] && minor >= MIN_PYTHON[1]);
}

export interface PythonSearchEnvironment {
  pathVariable: string | undefined;
  platform: NodeJS.Platform;
  pathExt?: string;
  isExecutableFile(file: string): boolean;
  run: CommandRunner;
}

/**
 * The first Python on PATH that is >= 3.11 and has `venv` and `ensurepip` (Debian splits them into
 * python3-venv). Every interpreter skipped is reported with its reason.
 */
export async function findPython(env: PythonSearchEnvironment): Promise<{ python?: PythonChoice; failures: PythonProbeFailure[] }> {
  const failures: PythonProbeFailure[] = [];
  const seen = new Set<string>();
  for (const name of pythonNames(env.platform)) {
    const file = findOnPath(name, env);
    if (!file) continue;
    let real = file;
    try {
      real = fs.realpathSync(file);
    } catch {
      // keep the PATH entry
    }
    if (seen.has(real)) continue;
    seen.add(real);
    const result = await env.run(file, ["-c", PROBE_SCRIPT], () => undefined);
    const lines = result.output.trim().split(/\r?\n/);
    const last = lines[lines.length - 1] ?? "";
    if (result.error || result.code !== 0) {
      const why = result.error ?? `exited with ${result.code}`;
      const missing = /No module named '?(venv|ensurepip)'?/.exec(result.output);
      failures.push({ command: file, error: missing ? `has no ${missing[1]} module (Debian/Ubuntu: apt install python3-venv)` : `${why}: ${last.slice(0, 200)}` });
      continue;
    }
    if (!isSupportedPython(last)) {
      failures.push({ command: file, error: `Python ${last} is older than ${MIN_PYTHON.join(".")}` });
      continue;
    }
    return { python: { command: file, version: last }, failures };
  }
  return { failures };
}

export class InstallError extends Error {
  constructor(
    message: string,
    /** the step that failed, for the log */
    readonly step: "python" | "venv" | "pip" | "check" | "cancelled",
  ) {
    super(message);
  }
}

export interface InstallOptions {
  wheel: string;
  env: PrivateEnvironment;
  python: PythonSearchEnvironment;
  /** short progress messages ("Creating a Python environment", "Installing numpy", ...) */
  progress(message: string, increment?: number): void;
  /** every line of the commands' output (the install log) */
  log(line: string): void;
  signal?: AbortSignal;
  /** `extras` added to the wheel requirement; default `["cpu"]` (onnxruntime). */
  extras?: string[];
  removeDir?(dir: string): void;
  writeFile?(file: string, text: string): void;
}

export interface InstallResult {
  python: PythonChoice;
  version: string;
  candidate: ServerCandidate;
}

function lastLines(output: string, count: number): string {
  return output.trim().split(/\r?\n/).slice(-count).join("\n");
}

/** The pip error worth showing in one line: its last "ERROR:" line, else its last line. */
export function pipErrorLine(output: string): string {
  const lines = output.trim().split(/\r?\n/);
  const errors = lines.filter((line) => line.startsWith("ERROR:"));
  return (errors[errors.length - 1] ?? lines[lines.length - 1] ?? "").trim().slice(0, 300);
}

const PIP_STEP = /^(Collecting|Processing|Installing collected packages|Successfully installed|Using cached|Looking in links|Downloading)\b/;

/** Creates the private environment and installs the wheel into it. Throws InstallError with a clear message. */
export async function installServer(options: InstallOptions): Promise<InstallResult> {
  const { env, log, progress, signal } = options;
  const removeDir = options.removeDir ?? ((dir: string) => fs.rmSync(dir, { recursive: true, force: true }));
  const writeFile = options.writeFile ?? ((file: string, text: string) => fs.writeFileSync(file, text));
  const checkCancelled = () => {
    if (signal?.aborted) throw new InstallError("the install was cancelled", "cancelled");
  };

  progress("Looking for Python 3.11 or newer");
  const found = await findPython(options.python);
  for (const failure of found.failures) log(`skipped ${failure.command}: ${failure.error}`);
  if (!found.python) {
    const tried = found.failures.length > 0 ? ` Tried: ${found.failures.map((f) => `${f.command} (${f.error})`).join("; ")}.` : "";
    throw new InstallError(
      `no Python ${MIN_PYTHON.join(".")} or newer with venv was found on PATH (${pythonNames(options.python.platform).join(", ")}).${tried} ` +
        "Install Python 3.11+ (https://www.python.org/downloads/), or install symscope yourself and set symscope.server.command.",
      "python",
    );
  }
  const python = found.python;
  log(`using ${python.command} (Python ${python.version})`);
  checkCancelled();

  progress(`Creating a Python environment with ${path.basename(python.command)} ${python.version}`, 10);
  removeDir(env.dir); // a half-finished environment from an earlier try
  log(`$ ${python.command} -m venv ${env.dir}`);
  const venv = await options.python.run(python.command, ["-m", "venv", env.dir], log, signal);
  checkCancelled();
  if (venv.error || venv.code !== 0) {
    throw new InstallError(`creating the environment failed (${venv.error ?? `exit ${venv.code}`}): ${lastLines(venv.output, 1)}`, "venv");
  }

  const requirement = `${options.wheel}[${(options.extras ?? ["cpu"]).join(",")}]`;
  const pipArgs = ["-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--progress-bar", "off", requirement];
  progress("Installing symscope and its dependencies (pip)", 10);
  log(`$ ${env.python} ${pipArgs.join(" ")}`);
  let steps = 0;
  const pip = await options.python.run(
    env.python,
    pipArgs,
    (line) => {
      log(line);
      const match = PIP_STEP.exec(line);
      if (match && steps < 60) {
        steps++;
        progress(oneLine(line), 1);
      }
    },
    signal,
  );
  checkCancelled();
  if (pip.error || pip.code !== 0) {
    throw new InstallError(`pip failed (${pip.error ?? `exit ${pip.code}`}): ${pipErrorLine(pip.output)}`, "pip");
  }

  progress("Checking the installed server", 5);
  const check = await options.python.run(env.symscope, ["--version"], log, signal);
  const version = /\bsymscope\s+v?\d+(\.\d+)*\S*/i.exec(check.output)?.[0];
  if (check.error || check.code !== 0 || !version) {
    throw new InstallError(`the installed server does not start (${check.error ?? `exit ${check.code}`}): ${lastLines(check.output, 1)}`, "check");
  }
  writeFile(env.marker, JSON.stringify({ wheel: path.basename(options.wheel), python: python.command, pythonVersion: python.version, version }, null, 2) + "\n");
  log(`installed ${version} into ${env.dir}`);
  return { python, version, candidate: { source: "private environment", command: env.symscope, args: [] } };
}

function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > 90 ? `${flat.slice(0, 89)}…` : flat;
}
