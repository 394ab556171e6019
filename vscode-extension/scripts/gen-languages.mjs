#!/usr/bin/env node
// Regenerates src/languages.json (the document selector's source) from the server itself:
//   SYMSCOPE_SERVER_COMMAND=/path/to/symscope node scripts/gen-languages.mjs [--check]
// --check exits 1 when the committed file differs from what the server reports (CI uses it).
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const target = path.join(here, "..", "src", "languages.json");
const command = process.env.SYMSCOPE_SERVER_COMMAND;
if (!command) {
  console.error("set SYMSCOPE_SERVER_COMMAND to the symscope executable (e.g. /repo/.venv/bin/symscope)");
  process.exit(2);
}
const [exe, ...prefix] = command.split(" ").filter(Boolean);
const raw = JSON.parse(execFileSync(exe, [...prefix, "languages", "--json"], { encoding: "utf8" }));
const languages = raw.map((l) => ({ name: l.name, extensions: l.extensions, filenames: l.filenames }));
const text = JSON.stringify(languages, null, 2) + "\n";
if (process.argv.includes("--check")) {
  const current = fs.existsSync(target) ? fs.readFileSync(target, "utf8") : "";
  if (current !== text) {
    console.error(`${path.relative(process.cwd(), target)} is out of date with \`${command} languages --json\`; run: npm run gen:languages`);
    process.exit(1);
  }
  console.error(`languages.json matches the server (${languages.length} languages)`);
} else {
  fs.writeFileSync(target, text);
  console.error(`wrote ${languages.length} languages to ${target}`);
}
