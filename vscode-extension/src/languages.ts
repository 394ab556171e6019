/**
 * Which documents the language client hands to the server (outline, breadcrumbs, sync of unsaved
 * buffers): every file the symscope core can parse, matched by file name rather than by VS Code language
 * id, because many of the 33 languages have no language id until some other extension adds one.
 *
 * `languages.json` is generated from `symscope languages --json` (npm run gen:languages); CI checks it
 * against the server so the two never drift.
 *
 * Must never import `vscode` (plain data, unit-tested under Node).
 */

import languages from "./languages.json";

export interface LanguageEntry {
  name: string;
  extensions: string[];
  filenames: string[];
}

export interface FileDocumentFilter {
  scheme: "file";
  pattern: string;
}

export const SUPPORTED_LANGUAGES: readonly LanguageEntry[] = languages;

function globAlternatives(items: string[]): string {
  // Glob braces need at least two alternatives to mean "one of".
  return items.length === 1 ? items[0] : `{${items.join(",")}}`;
}

/** Two filters: all extensions (`**\/*.{py,pyi,...}`) and all special file names (`**\/{Rakefile,...}`). */
export function documentSelector(entries: readonly LanguageEntry[] = SUPPORTED_LANGUAGES): FileDocumentFilter[] {
  const extensions = [...new Set(entries.flatMap((l) => l.extensions))].sort();
  const filenames = [...new Set(entries.flatMap((l) => l.filenames))].sort();
  const selector: FileDocumentFilter[] = [];
  if (extensions.length > 0) selector.push({ scheme: "file", pattern: `**/*.${globAlternatives(extensions)}` });
  if (filenames.length > 0) selector.push({ scheme: "file", pattern: `**/${globAlternatives(filenames)}` });
  return selector;
}
