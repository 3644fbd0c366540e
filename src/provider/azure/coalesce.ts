// Identity-scoped single-flight + short TTL cache for Key Vault reads.
//
// Upstream does one GET per object per pod; 500 pods sharing an SPC and an
// identity therefore cost 500 GETs (provider #1416, #1609). Sharing is only
// safe between callers that Key Vault would authorise identically, so every
// key starts with the caller's principal key; callers never share across
// principals. A TTL bounds how long a revoked role assignment keeps working.

export interface CoalesceKey {
  /** Who asks: see principalKey() in auth.ts. */
  principal: string;
  vaultUrl: string;
  type: string;
  name: string;
  /** "" = latest. */
  version: string;
}

export interface CoalescerOptions {
  /** How long a successful result is reused; 0 = only concurrent callers share. */
  ttlMs: number;
  /** Bound on remembered results; oldest go first. */
  maxEntries?: number;
  now?: () => number;
}

export type CoalesceOutcome = "miss" | "shared" | "hit";

interface Flight<T> {
  promise: Promise<T>;
  controller: AbortController;
  waiters: number;
}

export function coalesceKeyString(k: CoalesceKey): string {
  // JSON keeps the parts unambiguous whatever characters names contain.
  return JSON.stringify([k.principal, k.vaultUrl.toLowerCase(), k.type, k.name.toLowerCase(), k.version.toLowerCase()]);
}

export class AbortedError extends Error {
  override name = "AbortError";
}

function abortReason(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  if (r instanceof Error) return r;
  return new AbortedError(typeof r === "string" ? r : "the operation was aborted");
}

export class Coalescer<T> {
  private readonly flights = new Map<string, Flight<T>>();
  private readonly done = new Map<string, { value: T; expires: number }>();
  private readonly now: () => number;
  private readonly maxEntries: number;

  constructor(private readonly opts: CoalescerOptions) {
    this.now = opts.now ?? Date.now;
    this.maxEntries = opts.maxEntries ?? 10_000;
  }

  /** Number of remembered results (for tests and metrics). */
  get size(): number {
    return this.done.size;
  }

  /**
   * Runs `fetch` unless an equal request is in flight or fresh. `fetch` gets
   * a signal that aborts only when every waiter has gone, so one pod giving
   * up never fails the others.
   */
  async run(
    key: CoalesceKey,
    fetch: (signal: AbortSignal) => Promise<T>,
    signal?: AbortSignal,
    onOutcome?: (o: CoalesceOutcome) => void,
  ): Promise<T> {
    if (signal?.aborted) throw abortReason(signal);
    const k = coalesceKeyString(key);
    if (this.opts.ttlMs > 0) {
      const hit = this.done.get(k);
      if (hit && hit.expires > this.now()) {
        onOutcome?.("hit");
        return hit.value;
      }
      if (hit) this.done.delete(k);
    }
    let flight = this.flights.get(k);
    if (flight) onOutcome?.("shared");
    else {
      onOutcome?.("miss");
      flight = this.start(k, fetch);
    }
    return this.wait(flight, signal);
  }

  /** Forgets every remembered result (e.g. on shutdown). */
  clear(): void {
    this.done.clear();
  }

  private start(k: string, fetch: (signal: AbortSignal) => Promise<T>): Flight<T> {
    const controller = new AbortController();
    const flight: Flight<T> = { controller, waiters: 0, promise: undefined as unknown as Promise<T> };
    flight.promise = (async () => {
      try {
        const value = await fetch(controller.signal);
        if (this.opts.ttlMs > 0) this.remember(k, value);
        return value;
      } finally {
        // Errors are never remembered: the next caller tries again.
        if (this.flights.get(k) === flight) this.flights.delete(k);
      }
    })();
    // Waiters observe the result; this keeps an abandoned flight from
    // surfacing as an unhandled rejection.
    flight.promise.catch(() => undefined);
    this.flights.set(k, flight);
    return flight;
  }

  private remember(k: string, value: T): void {
    this.done.delete(k);
    this.done.set(k, { value, expires: this.now() + this.opts.ttlMs });
    if (this.done.size > this.maxEntries) this.sweep();
  }

  private sweep(): void {
    const now = this.now();
    for (const [key, e] of this.done) if (e.expires <= now) this.done.delete(key);
    while (this.done.size > this.maxEntries) this.done.delete(this.done.keys().next().value as string);
  }

  private wait(flight: Flight<T>, signal?: AbortSignal): Promise<T> {
    flight.waiters++;
    if (!signal) {
      return flight.promise.finally(() => flight.waiters--);
    }
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const leave = () => {
        if (settled) return false;
        settled = true;
        signal.removeEventListener("abort", onAbort);
        flight.waiters--;
        return true;
      };
      const onAbort = () => {
        if (!leave()) return;
        if (flight.waiters === 0) {
          // Nobody wants it any more: later callers must not join a dying flight.
          for (const [key, f] of this.flights) if (f === flight) this.flights.delete(key);
          flight.controller.abort(abortReason(signal));
        }
        reject(abortReason(signal));
      };
      signal.addEventListener("abort", onAbort, { once: true });
      flight.promise.then(
        (v) => leave() && resolve(v),
        (e: unknown) => leave() && reject(e instanceof Error ? e : new Error(String(e))),
      );
    });
  }
}
