// Request counters keyed by (route, vault, status, principal). No values or
// tokens ever go in: principals are client ids, never credentials.
import type { RouteKind } from "./faults.js";

export interface StatRow {
  route: RouteKind;
  vault: string;
  status: number;
  principal: string;
  count: number;
}

export interface EmulatorStats {
  total: number;
  rows: StatRow[];
  byRoute: Record<string, number>;
  byStatus: Record<string, number>;
  byPrincipal: Record<string, number>;
  byVault: Record<string, number>;
  /** 401 challenges sent to requests without a bearer token. */
  challenges: number;
  tokensIssued: number;
  throttled: number;
  faultsInjected: number;
}

export interface StatFilter {
  route?: RouteKind | RegExp;
  vault?: string;
  status?: number;
  principal?: string;
}

export const ANONYMOUS = "anonymous";

export class Counters {
  private rows = new Map<string, StatRow>();
  challenges = 0;
  tokensIssued = 0;
  throttled = 0;
  faultsInjected = 0;

  record(route: RouteKind, vault: string | undefined, status: number, principal: string | undefined): void {
    const row = { route, vault: vault ?? "", status, principal: principal ?? ANONYMOUS };
    const key = `${row.route}\u0000${row.vault}\u0000${row.status}\u0000${row.principal}`;
    const r = this.rows.get(key);
    if (r) r.count++;
    else this.rows.set(key, { ...row, count: 1 });
  }

  count(f: StatFilter = {}): number {
    let n = 0;
    for (const r of this.rows.values()) if (rowMatches(r, f)) n += r.count;
    return n;
  }

  snapshot(): EmulatorStats {
    const rows = [...this.rows.values()].map((r) => ({ ...r }));
    const sum = (key: (r: StatRow) => string) => {
      const out: Record<string, number> = {};
      for (const r of rows) out[key(r)] = (out[key(r)] ?? 0) + r.count;
      return out;
    };
    return {
      total: rows.reduce((a, r) => a + r.count, 0),
      rows,
      byRoute: sum((r) => r.route),
      byStatus: sum((r) => String(r.status)),
      byPrincipal: sum((r) => r.principal),
      byVault: sum((r) => r.vault),
      challenges: this.challenges,
      tokensIssued: this.tokensIssued,
      throttled: this.throttled,
      faultsInjected: this.faultsInjected,
    };
  }

  reset(): void {
    this.rows.clear();
    this.challenges = this.tokensIssued = this.throttled = this.faultsInjected = 0;
  }
}

function rowMatches(r: StatRow, f: StatFilter): boolean {
  if (f.route !== undefined && (typeof f.route === "string" ? r.route !== f.route : !f.route.test(r.route))) return false;
  if (f.vault !== undefined && r.vault !== f.vault.toLowerCase()) return false;
  if (f.status !== undefined && r.status !== f.status) return false;
  if (f.principal !== undefined && r.principal.toLowerCase() !== f.principal.toLowerCase()) return false;
  return true;
}
