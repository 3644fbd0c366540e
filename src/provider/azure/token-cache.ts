// Tokens per identity until shortly before they expire. Upstream builds a new
// credential on every mount, so every mount costs an Entra round trip. Here a
// credential lives per principal key (auth.ts) and its tokens are reused;
// concurrent getToken calls for one scope share one request.
import type { AccessToken, GetTokenOptions, TokenCredential } from "@azure/identity";

/** Refresh this long before expiry so a token never dies mid-request. */
export const REFRESH_MARGIN_MS = 5 * 60_000;

export class CachingCredential implements TokenCredential {
  private readonly tokens = new Map<string, AccessToken>();
  private readonly pending = new Map<string, Promise<AccessToken | null>>();

  constructor(
    readonly inner: TokenCredential,
    private readonly now: () => number = Date.now,
  ) {}

  async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
    const key = JSON.stringify([scopes, options?.tenantId ?? "", options?.claims ?? ""]);
    const cached = this.tokens.get(key);
    if (cached && cached.expiresOnTimestamp - REFRESH_MARGIN_MS > this.now()) return cached;
    let p = this.pending.get(key);
    if (!p) {
      // The shared request must not die with the first caller's signal.
      const shared: GetTokenOptions = { ...options, abortSignal: undefined };
      p = this.inner.getToken(scopes, shared).then(
        (t) => {
          this.pending.delete(key);
          if (t) this.tokens.set(key, t);
          return t;
        },
        (e: unknown) => {
          this.pending.delete(key);
          throw e;
        },
      );
      this.pending.set(key, p);
    }
    return p;
  }

  /** Drops cached tokens (e.g. after Key Vault rejected one). */
  forget(): void {
    this.tokens.clear();
  }
}

interface Entry<C> {
  value: C;
  lastUsed: number;
}

/**
 * Keeps one object per key, evicting the least recently used beyond `max` and
 * anything idle longer than `idleMs`. Used for credentials and SDK clients.
 */
export class KeyedCache<C> {
  private readonly entries = new Map<string, Entry<C>>();

  constructor(
    private readonly max: number,
    private readonly idleMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  getOrCreate(key: string, create: () => C): C {
    const t = this.now();
    const e = this.entries.get(key);
    if (e && t - e.lastUsed <= this.idleMs) {
      e.lastUsed = t;
      // Re-insert to keep Map order = recency order.
      this.entries.delete(key);
      this.entries.set(key, e);
      return e.value;
    }
    const value = create();
    this.entries.delete(key);
    this.entries.set(key, { value, lastUsed: t });
    this.evict(t);
    return value;
  }

  get(key: string): C | undefined {
    return this.entries.get(key)?.value;
  }

  private evict(t: number): void {
    for (const [k, e] of this.entries) {
      if (this.entries.size <= this.max && t - e.lastUsed <= this.idleMs) break;
      this.entries.delete(k);
    }
  }
}
