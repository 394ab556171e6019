/**
 * Search-as-you-type plumbing: waits until typing pauses, cancels the previous request when a new one
 * starts (its CancellationToken fires, which the language client turns into `$/cancelRequest`), and
 * delivers only the answer to the latest query.
 *
 * Must never import `vscode`: unit tests drive it under plain Node with fake timers.
 */

import { CancellationToken, CancellationTokenSource } from "vscode-languageserver-protocol";

export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: Timers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export interface DebouncedSearchOptions<T> {
  /** Read on every keystroke, so a settings change applies at once. */
  delayMs: () => number;
  run: (query: string, token: CancellationToken) => Promise<T>;
  onResult: (query: string, result: T) => void;
  onError: (query: string, error: unknown) => void;
  /** true while a request is waiting or running */
  onBusy?: (busy: boolean) => void;
  timers?: Timers;
}

export class DebouncedSearch<T> {
  private timer: unknown;
  private inFlight: CancellationTokenSource | undefined;
  private generation = 0;
  private busy = false;
  private disposed = false;
  private readonly timers: Timers;

  constructor(private readonly options: DebouncedSearchOptions<T>) {
    this.timers = options.timers ?? realTimers;
  }

  /** A new query: drop the waiting one, cancel the running one, start this one after the pause. */
  update(query: string): void {
    if (this.disposed) return;
    this.drop();
    const generation = this.generation;
    this.setBusy(true);
    const delay = Math.max(0, this.options.delayMs());
    this.timer = this.timers.setTimeout(() => {
      this.timer = undefined;
      void this.start(query, generation);
    }, delay);
  }

  /** Forget the waiting query and cancel the running request; nothing will be delivered for them. */
  cancel(): void {
    this.drop();
    this.setBusy(false);
  }

  dispose(): void {
    this.cancel();
    this.disposed = true;
  }

  private drop(): void {
    this.generation++;
    if (this.timer !== undefined) {
      this.timers.clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.inFlight) {
      this.inFlight.cancel();
      this.inFlight.dispose();
      this.inFlight = undefined;
    }
  }

  private async start(query: string, generation: number): Promise<void> {
    const source = new CancellationTokenSource();
    this.inFlight = source;
    try {
      const result = await this.options.run(query, source.token);
      if (this.isCurrent(generation, source)) this.options.onResult(query, result);
    } catch (error) {
      if (this.isCurrent(generation, source)) this.options.onError(query, error);
    } finally {
      if (this.inFlight === source) {
        this.inFlight = undefined;
        source.dispose();
        this.setBusy(false);
      }
    }
  }

  private isCurrent(generation: number, source: CancellationTokenSource): boolean {
    return !this.disposed && generation === this.generation && !source.token.isCancellationRequested;
  }

  private setBusy(busy: boolean): void {
    if (busy === this.busy) return;
    this.busy = busy;
    this.options.onBusy?.(busy);
  }
}
