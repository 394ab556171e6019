import assert from "node:assert/strict";
import { test } from "node:test";
import { documentSelector, SUPPORTED_LANGUAGES } from "../../src/languages";

test("the selector covers every extension and special file name of every supported language", () => {
  const selector = documentSelector();
  assert.equal(selector.length, 2);
  const [byExtension, byName] = selector;
  assert.equal(byExtension.scheme, "file");
  for (const language of SUPPORTED_LANGUAGES) {
    for (const ext of language.extensions) assert.ok(byExtension.pattern.includes(`,${ext},`) || byExtension.pattern.includes(`{${ext},`) || byExtension.pattern.includes(`,${ext}}`), `${language.name}: .${ext}`);
    for (const name of language.filenames) assert.ok(byName.pattern.includes(name), `${language.name}: ${name}`);
  }
  assert.ok(SUPPORTED_LANGUAGES.length >= 31);
});

test("glob shapes", () => {
  assert.deepEqual(documentSelector([{ name: "python", extensions: ["py", "pyi"], filenames: ["SConstruct"] }]), [
    { scheme: "file", pattern: "**/*.{py,pyi}" },
    { scheme: "file", pattern: "**/SConstruct" },
  ]);
  assert.deepEqual(documentSelector([]), []);
});
