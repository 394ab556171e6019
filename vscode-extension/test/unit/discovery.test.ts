import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import {
  DiscoveryEnvironment,
  discoverServer,
  execVersionProbe,
  expandPath,
  findOnPath,
  isExecutableFile,
  lspArgv,
  resolveSettingPath,
  serverCandidates,
  VersionProbe,
} from "../../src/discovery";

/** A PATH made of fake directories; `versions` says what each command answers to --version. */
function fakeEnv(files: string[], versions: Record<string, string | Error>, extra: Partial<DiscoveryEnvironment> = {}) {
  const probed: string[] = [];
  const probeVersion: VersionProbe = async (command, args) => {
    const key = [command, ...args].join(" ");
    probed.push(key);
    const answer = versions[key];
    if (answer === undefined) return { ok: false, error: "not found" };
    if (answer instanceof Error) return { ok: false, error: answer.message };
    return { ok: true, output: answer };
  };
  const env: DiscoveryEnvironment = {
    pathVariable: "/usr/local/bin:/usr/bin",
    platform: "linux",
    homeDir: "/home/u",
    workspaceFolder: "/ws",
    isExecutableFile: (file) => files.includes(file),
    probeVersion,
    ...extra,
  };
  return { env, probed };
}

const NO_SETTINGS = { command: "", python: "" };

test("the command setting wins and is started with `lsp`", async () => {
  const { env, probed } = fakeEnv(["/usr/bin/symscope"], {
    "/opt/sym/bin/symscope --version": "symscope 0.1.0\n",
    "/usr/bin/symscope --version": "symscope 0.0.9\n",
  });
  const result = await discoverServer({ command: "/opt/sym/bin/symscope", python: "" }, env);
  assert.ok(result.ok);
  assert.equal(result.server.source, "symscope.server.command");
  assert.equal(result.server.version, "symscope 0.1.0");
  assert.deepEqual(lspArgv(result.server), { command: "/opt/sym/bin/symscope", args: ["lsp"] });
  assert.deepEqual(probed, ["/opt/sym/bin/symscope --version"], "stops at the first that works");
});

test("an argv command setting keeps its arguments before `lsp`", async () => {
  const { env } = fakeEnv([], { "uv run symscope --version": "symscope 0.1.0" });
  const result = await discoverServer({ command: ["uv", "run", "symscope"], python: "" }, env);
  assert.ok(result.ok);
  assert.deepEqual(lspArgv(result.server), { command: "uv", args: ["run", "symscope", "lsp"] });
});

test("the python setting runs -m lsp_server and beats symscope on PATH", async () => {
  const { env } = fakeEnv(["/usr/bin/symscope"], {
    "/ws/.venv/bin/python -m lsp_server --version": "symscope 0.1.0",
    "/usr/bin/symscope --version": "symscope 0.1.0",
  });
  const result = await discoverServer({ command: "", python: "${workspaceFolder}/.venv/bin/python" }, env);
  assert.ok(result.ok);
  assert.equal(result.server.source, "symscope.server.python");
  assert.deepEqual(lspArgv(result.server), { command: "/ws/.venv/bin/python", args: ["-m", "lsp_server", "lsp"] });
});

test("without settings: symscope on PATH, then python3 -m lsp_server", async () => {
  const onPath = fakeEnv(["/usr/bin/symscope", "/usr/bin/python3"], {
    "/usr/bin/symscope --version": "symscope 0.1.0",
    "/usr/bin/python3 -m lsp_server --version": "symscope 0.1.0",
  });
  const first = await discoverServer(NO_SETTINGS, onPath.env);
  assert.ok(first.ok);
  assert.equal(first.server.command, "/usr/bin/symscope");

  const pythonOnly = fakeEnv(["/usr/bin/python3"], { "/usr/bin/python3 -m lsp_server --version": "symscope 0.2.0" });
  const second = await discoverServer(NO_SETTINGS, pythonOnly.env);
  assert.ok(second.ok);
  assert.equal(second.server.source, "default python");
  assert.deepEqual(second.server.args, ["-m", "lsp_server"]);
});

test("a broken setting is reported in attempts even when a later candidate works", async () => {
  const { env } = fakeEnv(["/usr/bin/symscope"], {
    "/nope/symscope --version": new Error("not found"),
    "/usr/bin/symscope --version": "symscope 0.1.0",
  });
  const result = await discoverServer({ command: "/nope/symscope", python: "" }, env);
  assert.ok(result.ok);
  assert.equal(result.server.source, "PATH");
  assert.equal(result.attempts.length, 1);
  assert.equal(result.attempts[0].candidate.source, "symscope.server.command");
});

test("a program that is not symscope is rejected by its --version output", async () => {
  const { env } = fakeEnv(["/usr/bin/python3"], { "/usr/bin/python3 -m lsp_server --version": "Python 3.11.7" });
  const result = await discoverServer(NO_SETTINGS, env);
  assert.equal(result.ok, false);
  assert.match(result.attempts[0].error, /not "symscope <version>"/);
});

test("nothing works: the message lists every attempt and says how to fix it", async () => {
  const { env } = fakeEnv(["/usr/bin/python3"], { "/opt/x --version": new Error("exited with 1: ModuleNotFoundError: No module named 'lsp_server'") });
  const result = await discoverServer({ command: "/opt/x", python: "" }, env);
  assert.equal(result.ok, false);
  if (result.ok) return;
  assert.match(result.message, /could not start the symscope language server/);
  assert.match(result.message, /\/opt\/x --version {2}\(from symscope\.server\.command\): exited with 1/);
  assert.match(result.message, /\/usr\/bin\/python3 -m lsp_server --version {2}\(from default python\): not found/);
  assert.match(result.message, /Fix: install the symscope server .* or set `symscope\.server\.command`/);
});

test("nothing to try at all still gives a fix", async () => {
  const { env } = fakeEnv([], {});
  const result = await discoverServer(NO_SETTINGS, env);
  assert.equal(result.ok, false);
  if (!result.ok) assert.match(result.message, /Nothing to try.*\nFix:/s);
});

test("path expansion: ${workspaceFolder}, ~, ${userHome}, relative paths", () => {
  const env = { workspaceFolder: "/ws", homeDir: "/home/u" };
  assert.equal(expandPath("${workspaceFolder}/.venv/bin/symscope", env), "/ws/.venv/bin/symscope");
  assert.equal(expandPath("~/bin/symscope", env), "/home/u/bin/symscope");
  assert.equal(expandPath("${userHome}/x", env), "/home/u/x");
  assert.equal(expandPath("symscope", env), "symscope");
  assert.equal(resolveSettingPath(".venv/bin/symscope", env), "/ws/.venv/bin/symscope");
  assert.equal(resolveSettingPath("symscope", env), "symscope", "a bare name is left for PATH lookup");
  assert.equal(resolveSettingPath("default:fp32", env), "default:fp32");
});

test("PATH lookup skips empty entries and honours PATHEXT on Windows", () => {
  const linux = { pathVariable: "::/a:/b", platform: "linux" as const, isExecutableFile: (f: string) => f === path.join("/b", "symscope") };
  assert.equal(findOnPath("symscope", linux), "/b/symscope");
  const win = {
    pathVariable: "C:\\tools;C:\\py\\Scripts",
    platform: "win32" as const,
    pathExt: ".COM;.EXE",
    isExecutableFile: (f: string) => f === path.join("C:\\py\\Scripts", "symscope.EXE"),
  };
  assert.equal(findOnPath("symscope", win), path.join("C:\\py\\Scripts", "symscope.EXE"));
});

test("candidate list order", () => {
  const { env } = fakeEnv(["/usr/bin/symscope", "/usr/bin/python3"], {});
  const sources = serverCandidates({ command: "/x/symscope", python: "/x/python" }, env).map((c) => c.source);
  assert.deepEqual(sources, ["symscope.server.command", "symscope.server.python", "PATH", "default python"]);
});

test("the real version probe runs a program, reads its output and reports failures", async (t) => {
  if (process.platform === "win32") return t.skip("uses a shell script");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "symscope-discovery-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const good = path.join(dir, "symscope");
  fs.writeFileSync(good, '#!/bin/sh\n[ "$1" = "--version" ] && echo "symscope 9.8.7" && exit 0\nexit 3\n', { mode: 0o755 });
  const broken = path.join(dir, "broken");
  fs.writeFileSync(broken, "#!/bin/sh\necho 'ModuleNotFoundError: no lsp_server' >&2\nexit 1\n", { mode: 0o755 });
  const notExecutable = path.join(dir, "plain");
  fs.writeFileSync(notExecutable, "text", { mode: 0o644 });
  const slow = path.join(dir, "slow");
  fs.writeFileSync(slow, "#!/bin/sh\nsleep 5\n", { mode: 0o755 });

  assert.equal(isExecutableFile(good), true);
  assert.equal(isExecutableFile(notExecutable), false);
  assert.equal(isExecutableFile(dir), false);

  const probe = execVersionProbe(1000);
  assert.deepEqual(await probe(good, ["--version"]), { ok: true, output: "symscope 9.8.7\n\n" });
  assert.deepEqual(await probe(broken, ["--version"]), { ok: false, error: "exited with 1: ModuleNotFoundError: no lsp_server" });
  assert.deepEqual(await probe(path.join(dir, "missing"), ["--version"]), { ok: false, error: "not found" });
  assert.deepEqual(await probe(slow, ["--version"]), { ok: false, error: "no answer within 1 s" });

  const env: DiscoveryEnvironment = {
    pathVariable: dir,
    platform: process.platform,
    homeDir: os.homedir(),
    isExecutableFile,
    probeVersion: probe,
  };
  const result = await discoverServer({ command: broken, python: "" }, env);
  assert.ok(result.ok);
  assert.equal(result.server.command, good);
  assert.equal(result.server.version, "symscope 9.8.7");
});
