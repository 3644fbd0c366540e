// One backoff window per vault. When Key Vault answers 429 (or 503 with
// Retry-After), every later request to that vault waits for the window to
// close instead of hammering it and extending the throttle (driver #1483).
// A caller whose deadline ends before the window does fails at once with
// "throttled until T", so nothing is left queued past its deadline.

export class ThrottledError extends Error {
  override name = "ThrottledError";
  readonly code = "Throttled";
  constructor(
    readonly vault: string,
    readonly until: number,
  ) {
    super(`keyvault ${vault} is throttled until ${new Date(until).toISOString()}, which is past the call deadline`);
  }
}

export interface ThrottleOptions {
  now?: () => number;
  /** Cap on one window, so a hostile Retry-After cannot park a vault for hours. */
  maxWindowMs?: number;
  /** Window used for a 429 without a usable Retry-After. */
  defaultWindowMs?: number;
  /** Called when a window opens (one log line per window, F3). */
  onOpen?: (vault: string, until: number) => void;
}

export class ThrottleGate {
  private readonly windows = new Map<string, number>();
  private readonly now: () => number;
  private readonly maxWindowMs: number;
  readonly defaultWindowMs: number;

  constructor(private readonly opts: ThrottleOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.maxWindowMs = opts.maxWindowMs ?? 120_000;
    this.defaultWindowMs = opts.defaultWindowMs ?? 1_000;
  }

  /** End of the open window for `vault`, or undefined when calls may go. */
  until(vault: string): number | undefined {
    const u = this.windows.get(vault.toLowerCase());
    if (u === undefined) return undefined;
    if (u <= this.now()) {
      this.windows.delete(vault.toLowerCase());
      return undefined;
    }
    return u;
  }

  /** Opens (or extends) the window of `vault` for `ms` from now; returns its end. */
  open(vault: string, ms: number): number {
    const key = vault.toLowerCase();
    const span = Math.min(Math.max(ms, 0), this.maxWindowMs);
    const until = this.now() + span;
    const cur = this.windows.get(key);
    if (cur !== undefined && cur >= until) return cur;
    const fresh = cur === undefined || cur <= this.now();
    this.windows.set(key, until);
    if (fresh) this.opts.onOpen?.(vault, until);
    return until;
  }

  /**
   * Resolves when `vault` may be called. Throws ThrottledError when the window
   * ends after `deadline` (epoch ms), or the signal's reason when aborted.
   */
  async wait(vault: string, signal?: AbortSignal, deadline?: number): Promise<void> {
    // Windows can be extended while we sleep, hence the loop; bounded because
    // each pass either returns, throws, or sleeps until a later window end.
    for (let pass = 0; pass < 100; pass++) {
      const until = this.until(vault);
      if (until === undefined) return;
      if (deadline !== undefined && until > deadline) throw new ThrottledError(vault, until);
      await sleep(until - this.now(), signal);
    }
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(reasonOf(signal));
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, Math.max(0, ms));
    const onAbort = () => {
      clearTimeout(timer);
      reject(reasonOf(signal!));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

function reasonOf(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  return r instanceof Error ? r : new Error(typeof r === "string" ? r : "the operation was aborted");
}

/** Retry-After as milliseconds: `retry-after-ms`, `x-ms-retry-after-ms`, or `Retry-After` (seconds or HTTP date). */
export function retryAfterMs(get: (name: string) => string | undefined, now = Date.now()): number | undefined {
  for (const h of ["retry-after-ms", "x-ms-retry-after-ms"]) {
    const v = get(h);
    if (v !== undefined && /^\d+(\.\d+)?$/.test(v.trim())) return Number(v.trim());
  }
  const ra = get("retry-after");
  if (ra === undefined) return undefined;
  const t = ra.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t) * 1000;
  const date = Date.parse(t);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
