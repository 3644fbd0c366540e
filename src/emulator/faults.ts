// Scripted faults, latency (fixed or a distribution) and a per-vault token bucket. Matching is
// pure so it can be unit-tested without sockets.

/** Coarse route names, used by faults, latency and the counters. */
export type RouteKind =
  | "secret.get" | "secret.set" | "secret.list" | "secret.versions"
  | "key.get" | "key.create" | "key.list" | "key.versions"
  | "certificate.get" | "certificate.create" | "certificate.list" | "certificate.versions"
  | "kv.other" | "entra.openid" | "entra.discovery" | "entra.token"
  | "imds.token" | "nmi.token" | "proxy.connect" | "admin" | "other";

export type FaultAction =
  /** Answer with this status; 429 and 503 get `Retry-After` when set. */
  | { kind: "status"; status: number; retryAfterSeconds?: number; code?: string; message?: string }
  /** Destroy the socket without an answer. */
  | { kind: "reset" }
  /** Never answer; the request stays open until the client or close() ends it. */
  | { kind: "hang" }
  /** Wait, then serve normally. */
  | { kind: "delay"; ms: number };

export interface FaultRule {
  method?: string;
  /** Regex (or its source) tested against the path without the query. */
  path?: RegExp | string;
  route?: RouteKind;
  vault?: string;
  /** How many matching requests to hit; unlimited when absent. */
  times?: number;
  action: FaultAction;
}

export interface RequestInfo {
  method: string;
  path: string;
  route: RouteKind;
  vault?: string;
}

interface ActiveRule {
  rule: FaultRule;
  path?: RegExp;
  left: number;
}

export class FaultTable {
  private rules: ActiveRule[] = [];

  add(rule: FaultRule): void {
    if (rule.times !== undefined && (!Number.isInteger(rule.times) || rule.times < 1)) throw new Error("fault times must be a positive integer");
    validateAction(rule.action);
    const path = rule.path === undefined ? undefined : typeof rule.path === "string" ? new RegExp(rule.path) : rule.path;
    this.rules.push({ rule, path, left: rule.times ?? Number.POSITIVE_INFINITY });
  }

  clear(): void {
    this.rules = [];
  }

  /** Rules still armed (for the stats endpoint). */
  pending(): number {
    return this.rules.length;
  }

  /** First armed rule that matches; consumes one of its uses. */
  take(req: RequestInfo): FaultAction | undefined {
    for (const r of this.rules) {
      if (!matches(r, req)) continue;
      r.left -= 1;
      if (r.left <= 0) this.rules = this.rules.filter((x) => x !== r);
      return r.rule.action;
    }
    return undefined;
  }
}

function matches(r: ActiveRule, req: RequestInfo): boolean {
  const { rule } = r;
  if (rule.method && rule.method.toUpperCase() !== req.method.toUpperCase()) return false;
  if (rule.route && rule.route !== req.route) return false;
  if (rule.vault && rule.vault.toLowerCase() !== req.vault?.toLowerCase()) return false;
  if (r.path) {
    r.path.lastIndex = 0;
    if (!r.path.test(req.path)) return false;
  }
  return true;
}

function validateAction(a: FaultAction): void {
  switch (a.kind) {
    case "status":
      if (!Number.isInteger(a.status) || a.status < 400 || a.status > 599) throw new Error(`fault status must be 4xx or 5xx, got ${a.status}`);
      return;
    case "delay":
      if (!(a.ms >= 0)) throw new Error("fault delay must be >= 0 ms");
      return;
    case "reset":
    case "hang":
      return;
    default:
      throw new Error(`unknown fault kind ${JSON.stringify((a as { kind: unknown }).kind)}`);
  }
}

/** Parses a rule sent as JSON to the admin endpoint (path as a regex source). */
export function faultRuleFromJson(raw: unknown): FaultRule {
  if (!raw || typeof raw !== "object") throw new Error("fault rule must be an object");
  const o = raw as Record<string, unknown>;
  const action = o.action as FaultAction | undefined;
  if (!action || typeof action !== "object") throw new Error("fault rule needs an action");
  const rule: FaultRule = { action };
  if (typeof o.method === "string") rule.method = o.method;
  if (typeof o.path === "string") rule.path = o.path;
  if (typeof o.route === "string") rule.route = o.route as RouteKind;
  if (typeof o.vault === "string") rule.vault = o.vault;
  if (typeof o.times === "number") rule.times = o.times;
  return rule;
}

/** Key Vault's service limit as a token bucket per vault: `capacity` requests
 * refilled evenly over `windowMs`. */
export class TokenBucket {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    readonly capacity: number,
    readonly windowMs: number,
    private readonly clock: () => number = Date.now,
  ) {
    if (!(capacity > 0) || !(windowMs > 0)) throw new Error("throttle capacity and window must be positive");
  }

  /** Takes one token; returns 0 when allowed, else the seconds until one is free. */
  take(key: string): number {
    const t = this.clock();
    const rate = this.capacity / this.windowMs;
    const b = this.buckets.get(key) ?? { tokens: this.capacity, at: t };
    b.tokens = Math.min(this.capacity, b.tokens + (t - b.at) * rate);
    b.at = t;
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / rate / 1000));
  }

  reset(): void {
    this.buckets.clear();
  }
}

/** A latency: fixed milliseconds, or a distribution for load tests. */
export type Latency = number | { uniform: [number, number] } | { lognormal: { medianMs: number; sigma: number } };

function checkLatency(l: Latency): void {
  if (typeof l === "number") {
    if (!(l >= 0)) throw new Error("latency must be >= 0 ms");
  } else if ("uniform" in l) {
    const [a, b] = l.uniform;
    if (!(a >= 0 && b >= a)) throw new Error("uniform latency needs 0 <= min <= max");
  } else if ("lognormal" in l) {
    if (!(l.lognormal.medianMs > 0 && l.lognormal.sigma >= 0)) throw new Error("lognormal latency needs medianMs > 0 and sigma >= 0");
  } else {
    throw new Error("unknown latency shape");
  }
}

/** Draws one delay; `rand` is injectable for tests. */
export function sampleLatency(l: Latency, rand: () => number = Math.random): number {
  if (typeof l === "number") return l;
  if ("uniform" in l) return l.uniform[0] + rand() * (l.uniform[1] - l.uniform[0]);
  // Box-Muller; the median of a log-normal is exp(mu).
  const u = Math.max(rand(), Number.EPSILON);
  const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
  return Math.min(l.lognormal.medianMs * Math.exp(l.lognormal.sigma * z), 600_000);
}

/** Latency per route kind, with a default for the Key Vault routes. */
export class LatencyTable {
  private readonly perRoute = new Map<string, Latency>();
  constructor(public defaultLatency: Latency = 0) {
    checkLatency(defaultLatency);
  }

  set(latency: Latency, route?: RouteKind): void {
    checkLatency(latency);
    if (route) this.perRoute.set(route, latency);
    else this.defaultLatency = latency;
  }

  clear(): void {
    this.perRoute.clear();
    this.defaultLatency = 0;
  }

  /** Latency applies to Key Vault routes only unless set for a route explicitly. */
  for(route: RouteKind, rand?: () => number): number {
    const l = this.perRoute.get(route) ?? (isVaultRoute(route) ? this.defaultLatency : 0);
    return sampleLatency(l, rand);
  }
}

export function isVaultRoute(route: RouteKind): boolean {
  return /^(secret|key|certificate)\./.test(route) || route === "kv.other";
}
