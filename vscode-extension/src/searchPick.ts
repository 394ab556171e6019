/**
 * "symscope: Semantic Search": a quick pick that sends `symscope/search` as the user types (debounced;
 * each new keystroke cancels the request before it) and opens the chosen symbol.
 *
 * Owns the quick pick only. The rows' text comes from `format.hitToPickItem`, the timing from
 * `DebouncedSearch`, the request from `SymscopeServer`. Must never filter or re-rank the server's
 * answer (rows are `alwaysShow`, so VS Code's own fuzzy filter cannot hide natural-language matches).
 */

import * as vscode from "vscode";
import { DebouncedSearch } from "./debounce";
import { hitToPickItem, HitPickItem, oneLine } from "./format";
import { SearchHit } from "./protocol";
import { SymscopeServer } from "./server";
import { SymscopeSettings } from "./settings";

export const SEMANTIC_SEARCH_COMMAND = "symscope.semanticSearch";
const TITLE = "symscope: Semantic Search";

interface MessageItem extends vscode.QuickPickItem {
  alwaysShow: true;
  hit?: undefined;
}

type Row = HitPickItem | MessageItem;

function message(label: string, detail?: string): MessageItem {
  return { label, detail, alwaysShow: true };
}

function titleFor(server: SymscopeServer): string {
  const view = server.view;
  if (view.phase !== "indexing") return TITLE;
  const pct = view.progress?.percentage ?? view.status?.percentage;
  return `${TITLE} (indexing${pct !== undefined ? ` ${Math.round(pct)}%` : ""}: results so far)`;
}

export async function openHit(server: SymscopeServer, hit: SearchHit): Promise<void> {
  const location = server.hitLocation(hit);
  if (!location) {
    void vscode.window.showWarningMessage(`symscope: cannot open ${hit.path}:${hit.line} (no workspace folder)`);
    return;
  }
  const start = location.range.start;
  const editor = await vscode.window.showTextDocument(location.uri, { selection: new vscode.Range(start, start), preview: true });
  editor.revealRange(location.range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
}

export function showSemanticSearch(server: SymscopeServer, settings: () => SymscopeSettings, initialQuery = ""): void {
  const pick = vscode.window.createQuickPick<Row>();
  pick.title = titleFor(server);
  pick.placeholder = "Describe what you are looking for, e.g. \"where do we retry failed uploads?\", or type a symbol name";
  pick.matchOnDescription = false;
  pick.matchOnDetail = false;
  pick.ignoreFocusOut = false;

  const search = new DebouncedSearch<SearchHit[]>({
    delayMs: () => settings().searchDebounceMs,
    run: (query, token) => server.search({ query, limit: settings().searchLimit }, token),
    onResult: (query, hits) => {
      pick.items = hits.length > 0 ? hits.map(hitToPickItem) : [message(`No symbols match "${oneLine(query, 80)}"`)];
    },
    onError: (_query, error) => {
      const text = error instanceof Error ? error.message : String(error);
      pick.items = [message("$(error) Search failed", oneLine(text, 300))];
    },
    onBusy: (busy) => {
      pick.busy = busy;
    },
  });

  const subscriptions: vscode.Disposable[] = [
    server.onDidChangeView(() => {
      pick.title = titleFor(server);
    }),
    pick.onDidChangeValue((value) => {
      if (value.trim().length === 0) {
        search.cancel();
        pick.items = [];
      } else {
        search.update(value);
      }
    }),
    pick.onDidAccept(() => {
      const hit = pick.selectedItems[0]?.hit ?? pick.activeItems[0]?.hit;
      if (!hit) return;
      pick.hide();
      openHit(server, hit).catch((error) => void vscode.window.showErrorMessage(`symscope: ${error instanceof Error ? error.message : error}`));
    }),
    pick.onDidHide(() => {
      search.dispose();
      for (const subscription of subscriptions) subscription.dispose();
      pick.dispose();
    }),
  ];

  if (initialQuery) {
    pick.value = initialQuery;
    search.update(initialQuery);
  }
  pick.show();
}
