import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { discoverServer, DiscoveryEnvironment, isExecutableFile, serverCandidates } from "../../src/discovery";
import {
  CommandRunner,
  findBundledWheel,
  findPython,
  installedCandidate,
  InstallError,
  installServer,
  isSupportedPython,
  pipErrorLine,
  privateEnvironment,
  PythonSearchEnvironment,
  spawnRunner,
} from "../../src/installer";

const WHEEL = "/ext/server/symscope-0.1.0-cp311-abi3-linux_x86_64.whl";

test("the private environment is one venv per bundled wheel under global storage", () => {
  const env = privateEnvironment("/gs", WHEEL, "linux");
  assert.equal(env.dir, "/gs/server/symscope-0.1.0-cp311-abi3-linux_x86_64");
  assert.equal(env.python, "/gs/server/symscope-0.1.0-cp311-abi3-linux_x86_64/bin/python");
  assert.equal(env.symscope, "/gs/server/symscope-0.1.0-cp311-abi3-linux_x86_64/bin/symscope");
  assert.equal(env.marker, "/gs/server/symscope-0.1.0-cp311-abi3-linux_x86_64/symscope-install.json");
  const win = privateEnvironment("C:\\gs", "symscope-0.1.0-cp311-abi3-win_amd64.whl", "win32");
  assert.match(win.symscope, /Scripts[\\/]symscope\.exe$/);
});

test("the bundled wheel is found in <extension>/server, else there is none", () => {
  const listing: Record<string, string[]> = { "/ext/server": ["README", "symscope-0.1.0-cp311-abi3-linux_x86_64.whl", "other-1.0-py3-none-any.whl"] };
  const readdir = (dir: string) => listing[dir] ?? [];
  assert.equal(findBundledWheel("/ext", readdir), WHEEL);
  assert.equal(findBundledWheel("/universal", readdir), undefined);
  assert.equal(findBundledWheel(path.join(os.tmpdir(), "no-such-extension-dir")), undefined, "a missing folder is no wheel, not an error");
});

test("a private environment counts only once its install finished (marker written)", () => {
  const env = privateEnvironment("/gs", WHEEL, "linux");
  assert.equal(installedCandidate(env, (f) => f === env.symscope), undefined, "symscope without marker: a half-finished install");
  assert.deepEqual(installedCandidate(env, (f) => f === env.symscope || f === env.marker), {
    source: "private environment",
    command: env.symscope,
    args: [],
  });
});

test("discovery tries the private environment last, after every setting and PATH candidate", async () => {
  const privateServer = { source: "private environment" as const, command: "/gs/server/x/bin/symscope", args: [] };
  const probed: string[] = [];
  const env: DiscoveryEnvironment = {
    pathVariable: "/usr/bin",
    platform: "linux",
    homeDir: "/home/u",
    privateServer,
    isExecutableFile: (f) => f === "/usr/bin/python3",
    probeVersion: async (command, args) => {
      probed.push([command, ...args].join(" "));
      return command === privateServer.command ? { ok: true, output: "symscope 0.1.0" } : { ok: false, error: "exited with 1: No module named lsp_server" };
    },
  };
  assert.deepEqual(
    serverCandidates({ command: "/x/symscope", python: "" }, env).map((c) => c.source),
    ["symscope.server.command", "default python", "private environment"],
  );
  const result = await discoverServer({ command: "", python: "" }, env);
  assert.ok(result.ok);
  assert.equal(result.server.source, "private environment");
  assert.deepEqual(probed, ["/usr/bin/python3 -m lsp_server --version", "/gs/server/x/bin/symscope --version"]);
});

test("python versions: 3.11 and newer are supported", () => {
  assert.equal(isSupportedPython("3.11.2"), true);
  assert.equal(isSupportedPython("3.13.0"), true);
  assert.equal(isSupportedPython("4.0.0"), true);
  assert.equal(isSupportedPython("3.10.13"), false);
  assert.equal(isSupportedPython("2.7.18"), false);
  assert.equal(isSupportedPython("garbage"), false);
});

/** PATH of fake interpreters; `answers` maps a path to what the probe prints (or a failure). */
function fakePythons(answers: Record<string, { code: number; output: string }>): PythonSearchEnvironment & { probed: string[] } {
  const probed: string[] = [];
  const run: CommandRunner = async (command) => {
    probed.push(command);
    const answer = answers[command];
    return answer ? { code: answer.code, output: answer.output } : { code: null, error: "not found", output: "" };
  };
  return { pathVariable: "/a:/b", platform: "linux", isExecutableFile: (f) => f in answers, run, probed };
}

test("findPython takes the first python >= 3.11 with venv, saying why others were skipped", async () => {
  const env = fakePythons({
    "/a/python3": { code: 0, output: "3.9.18\n" },
    "/b/python3.12": { code: 1, output: "Traceback (most recent call last):\nModuleNotFoundError: No module named 'ensurepip'\n" },
    "/b/python3.11": { code: 0, output: "3.11.7\n" },
    "/b/python": { code: 0, output: "3.13.0\n" },
  });
  const found = await findPython(env);
  assert.deepEqual(found.python, { command: "/b/python3.11", version: "3.11.7" });
  assert.deepEqual(found.failures, [
    { command: "/a/python3", error: "Python 3.9.18 is older than 3.11" },
    { command: "/b/python3.12", error: "has no ensurepip module (Debian/Ubuntu: apt install python3-venv)" },
  ]);
  assert.deepEqual(env.probed, ["/a/python3", "/b/python3.12", "/b/python3.11"], "stops at the first that works");
});

test("no usable python: a clear error naming what was tried and the fix", async () => {
  const env = fakePythons({ "/a/python3": { code: 0, output: "3.10.13\n" } });
  const progress: string[] = [];
  await assert.rejects(
    installServer({ wheel: WHEEL, env: privateEnvironment("/gs", WHEEL, "linux"), python: env, progress: (m) => progress.push(m), log: () => undefined }),
    (error: unknown) => {
      assert.ok(error instanceof InstallError);
      assert.equal(error.step, "python");
      assert.match(error.message, /no Python 3\.11 or newer with venv was found on PATH/);
      assert.match(error.message, /\/a\/python3 \(Python 3\.10\.13 is older than 3\.11\)/);
      assert.match(error.message, /Install Python 3\.11\+/);
      return true;
    },
  );
  assert.deepEqual(progress, ["Looking for Python 3.11 or newer"]);
});

test("pipErrorLine picks pip's last ERROR line", () => {
  const output = "Looking in links: /wh\nProcessing ./x.whl\nERROR: Could not find a version that satisfies the requirement numpy>=2.0 (from symscope) (from versions: none)\nERROR: No matching distribution found for numpy>=2.0\n";
  assert.equal(pipErrorLine(output), "ERROR: No matching distribution found for numpy>=2.0");
  assert.equal(pipErrorLine("just one line"), "just one line");
});

/**
 * A fake `python3` (a shell script) that really runs: the probe prints a version, `-m venv DIR` makes
 * DIR/bin/python (a fake pip driven by $FAKE_PIP) and DIR/bin/symscope. So installServer spawns real
 * processes through spawnRunner, as it does in VS Code.
 */
function fakePythonOnDisk(t: { after(fn: () => void): void }): { bin: string; storage: string } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "symscope-installer-"));
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  const bin = path.join(root, "bin");
  fs.mkdirSync(bin);
  const venvPython = [
    "#!/bin/sh",
    'echo "Looking in links: /wheelhouse"',
    'echo "Processing $8"',
    'case "$FAKE_PIP" in',
    '  fail) echo "ERROR: Could not find a version that satisfies the requirement numpy>=2.0 (from symscope)" >&2; exit 1;;',
    "  slow) sleep 10;;",
    "esac",
    'echo "Collecting numpy>=2.0"',
    'echo "Installing collected packages: numpy, symscope"',
    'echo "Successfully installed numpy-2.3.0 symscope-0.1.0"',
  ].join("\n");
  const python3 = [
    "#!/bin/sh",
    'if [ "$1" = "-c" ]; then echo 3.12.1; exit 0; fi',
    'if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then',
    '  mkdir -p "$3/bin"',
    `  cat > "$3/bin/python" <<'EOS'\n${venvPython}\nEOS`,
    '  printf \'#!/bin/sh\\necho "symscope 0.1.0"\\n\' > "$3/bin/symscope"',
    '  chmod +x "$3/bin/python" "$3/bin/symscope"',
    '  echo "created $3"; exit 0',
    "fi",
    "exit 2",
  ].join("\n");
  fs.writeFileSync(path.join(bin, "python3"), python3 + "\n", { mode: 0o755 });
  return { bin, storage: path.join(root, "storage") };
}

function realPythonEnv(bin: string): PythonSearchEnvironment {
  return { pathVariable: bin, platform: process.platform, isExecutableFile, run: spawnRunner };
}

test("installServer creates the venv, runs pip on the wheel with [cpu], checks the server and writes the marker", async (t) => {
  if (process.platform === "win32") return t.skip("uses shell scripts");
  const { bin, storage } = fakePythonOnDisk(t);
  process.env.FAKE_PIP = "ok";
  const env = privateEnvironment(storage, WHEEL);
  fs.mkdirSync(env.dir, { recursive: true });
  fs.writeFileSync(path.join(env.dir, "leftover"), "from a failed try");
  const progress: string[] = [];
  const log: string[] = [];
  const result = await installServer({ wheel: WHEEL, env, python: realPythonEnv(bin), progress: (m) => progress.push(m), log: (l) => log.push(l) });
  assert.equal(result.version, "symscope 0.1.0");
  assert.deepEqual(result.python, { command: path.join(bin, "python3"), version: "3.12.1" });
  assert.deepEqual(result.candidate, { source: "private environment", command: env.symscope, args: [] });
  assert.equal(fs.existsSync(path.join(env.dir, "leftover")), false, "a half-finished environment is replaced");
  assert.deepEqual(JSON.parse(fs.readFileSync(env.marker, "utf8")), {
    wheel: path.basename(WHEEL),
    python: path.join(bin, "python3"),
    pythonVersion: "3.12.1",
    version: "symscope 0.1.0",
  });
  assert.deepEqual(installedCandidate(env), result.candidate);
  assert.deepEqual(progress, [
    "Looking for Python 3.11 or newer",
    "Creating a Python environment with python3 3.12.1",
    "Installing symscope and its dependencies (pip)",
    "Looking in links: /wheelhouse",
    `Processing ${WHEEL}[cpu]`,
    "Collecting numpy>=2.0",
    "Installing collected packages: numpy, symscope",
    "Successfully installed numpy-2.3.0 symscope-0.1.0",
    "Checking the installed server",
  ]);
  assert.ok(log.includes(`$ ${env.python} -m pip install --disable-pip-version-check --no-input --progress-bar off ${WHEEL}[cpu]`), log.join("\n"));
  assert.ok(log.includes(`installed symscope 0.1.0 into ${env.dir}`));
});

test("a pip failure is an InstallError with pip's error line, and leaves no marker", async (t) => {
  if (process.platform === "win32") return t.skip("uses shell scripts");
  const { bin, storage } = fakePythonOnDisk(t);
  process.env.FAKE_PIP = "fail";
  const env = privateEnvironment(storage, WHEEL);
  const log: string[] = [];
  await assert.rejects(installServer({ wheel: WHEEL, env, python: realPythonEnv(bin), progress: () => undefined, log: (l) => log.push(l) }), (error: unknown) => {
    assert.ok(error instanceof InstallError);
    assert.equal(error.step, "pip");
    assert.equal(error.message, "pip failed (exit 1): ERROR: Could not find a version that satisfies the requirement numpy>=2.0 (from symscope)");
    return true;
  });
  assert.ok(log.some((l) => l.startsWith("ERROR: Could not find")), "pip's stderr is in the log");
  assert.equal(fs.existsSync(env.marker), false);
  assert.equal(installedCandidate(env), undefined);
});

test("cancelling stops pip and reports a cancelled install", async (t) => {
  if (process.platform === "win32") return t.skip("uses shell scripts");
  const { bin, storage } = fakePythonOnDisk(t);
  process.env.FAKE_PIP = "slow";
  const env = privateEnvironment(storage, WHEEL);
  const controller = new AbortController();
  const started = Date.now();
  const install = installServer({
    wheel: WHEEL,
    env,
    python: realPythonEnv(bin),
    progress: (m) => {
      if (m.startsWith("Processing")) controller.abort();
    },
    log: () => undefined,
    signal: controller.signal,
  });
  await assert.rejects(install, (error: unknown) => error instanceof InstallError && error.step === "cancelled");
  assert.ok(Date.now() - started < 8000, "pip was killed, not waited for");
  assert.equal(fs.existsSync(env.marker), false);
});

test("spawnRunner reports a missing program instead of throwing", async () => {
  const result = await spawnRunner(path.join(os.tmpdir(), "no-such-program-symscope"), [], () => undefined);
  assert.equal(result.error, "not found");
  assert.equal(result.code, null);
});
