import assert from "node:assert/strict";
import { test } from "node:test";
import { CancellationToken } from "vscode-languageserver-protocol";
import { DebouncedSearch, Timers } from "../../src/debounce";

/** Timers that only fire when the test says so. */
class ManualTimers implements Timers {
  private next = 1;
  private readonly pending = new Map<number, { at: number; callback: () => void }>();
  now = 0;
  setTimeout(callback: () => void, ms: number): unknown {
    const id = this.next++;
    this.pending.set(id, { at: this.now + ms, callback });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }
  advance(ms: number): void {
    this.now += ms;
    for (const [id, timer] of [...this.pending]) {
      if (timer.at <= this.now) {
        this.pending.delete(id);
        timer.callback();
      }
    }
  }
  get size(): number {
    return this.pending.size;
  }
}

interface Call {
  query: string;
  token: CancellationToken;
  resolve: (value: string) => void;
  reject: (error: unknown) => void;
}

function harness(delay = 100) {
  const timers = new ManualTimers();
  const calls: Call[] = [];
  const results: string[] = [];
  const errors: string[] = [];
  const busy: boolean[] = [];
  const search = new DebouncedSearch<string>({
    delayMs: () => delay,
    timers,
    run: (query, token) => new Promise<string>((resolve, reject) => calls.push({ query, token, resolve, reject })),
    onResult: (query, result) => results.push(`${query}=${result}`),
    onError: (query, error) => errors.push(`${query}:${error instanceof Error ? error.message : error}`),
    onBusy: (b) => busy.push(b),
  });
  return { timers, calls, results, errors, busy, search };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

test("typing fast sends one request, for the last text, after the pause", async () => {
  const h = harness();
  h.search.update("r");
  h.timers.advance(50);
  h.search.update("re");
  h.timers.advance(50);
  h.search.update("retry");
  h.timers.advance(99);
  assert.equal(h.calls.length, 0, "still typing");
  h.timers.advance(1);
  assert.deepEqual(h.calls.map((c) => c.query), ["retry"]);
  h.calls[0].resolve("hits");
  await tick();
  assert.deepEqual(h.results, ["retry=hits"]);
  assert.deepEqual(h.busy, [true, false]);
});

test("a new query cancels the running request and its late answer is dropped", async () => {
  const h = harness();
  h.search.update("retry");
  h.timers.advance(100);
  const first = h.calls[0];
  assert.equal(first.token.isCancellationRequested, false);
  let cancelled = false;
  first.token.onCancellationRequested(() => (cancelled = true));
  h.search.update("retry uploads");
  assert.equal(cancelled, true, "the request's token fired");
  h.timers.advance(100);
  first.resolve("stale");
  h.calls[1].resolve("fresh");
  await tick();
  assert.deepEqual(h.results, ["retry uploads=fresh"]);
});

test("errors of the current request are reported; errors of cancelled ones are not", async () => {
  const h = harness();
  h.search.update("a");
  h.timers.advance(100);
  h.search.update("b");
  h.timers.advance(100);
  h.calls[0].reject(new Error("request cancelled"));
  h.calls[1].reject(new Error("server down"));
  await tick();
  assert.deepEqual(h.errors, ["b:server down"]);
});

test("cancel and dispose stop everything, including the pending timer", async () => {
  const h = harness();
  h.search.update("a");
  h.search.cancel();
  assert.equal(h.timers.size, 0);
  h.timers.advance(1000);
  assert.equal(h.calls.length, 0);
  assert.deepEqual(h.busy, [true, false]);

  h.search.update("b");
  h.timers.advance(100);
  h.search.dispose();
  assert.equal(h.calls[0].token.isCancellationRequested, true);
  h.calls[0].resolve("late");
  h.search.update("c");
  h.timers.advance(100);
  await tick();
  assert.deepEqual(h.results, []);
  assert.equal(h.calls.length, 1, "no requests after dispose");
});

test("the delay is read on every keystroke (settings apply at once)", () => {
  let delay = 100;
  const timers = new ManualTimers();
  const calls: string[] = [];
  const search = new DebouncedSearch<string>({
    delayMs: () => delay,
    timers,
    run: async (q) => (calls.push(q), q),
    onResult: () => undefined,
    onError: () => undefined,
  });
  delay = 0;
  search.update("x");
  timers.advance(0);
  assert.deepEqual(calls, ["x"]);
});
