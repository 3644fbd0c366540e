// Control endpoints under /_emulator on the plain HTTP port, so a separate
// process (the demo, a test, a shell) can rotate objects, arm faults and read
// the counters. Loopback only; no values are echoed back.
import type { EmulatorContext } from "./context.js";
import { faultRuleFromJson, RouteKind } from "./faults.js";
import { Exchange, readJson, sendJson } from "./http.js";
import type { ObjectKind } from "./store.js";

export interface AdminHooks {
  info(): Record<string, unknown>;
  reset(): void;
}

const KINDS = new Set(["secrets", "keys", "certificates"]);

export function isAdminPath(path: string): boolean {
  return path === "/_emulator" || path.startsWith("/_emulator/");
}

export async function handleAdmin(ctx: EmulatorContext, hooks: AdminHooks, x: Exchange): Promise<void> {
  const segs = x.path.split("/").filter(Boolean).slice(1).map(decodeURIComponent);
  const m = x.method;
  const bad = (msg: string) => sendJson(x, 400, { error: { code: "BadParameter", message: msg } });
  try {
    if (segs[0] === "stats" && m === "GET") return sendJson(x, 200, ctx.counters.snapshot());
    if (segs[0] === "info" && m === "GET") return sendJson(x, 200, hooks.info());
    if (segs[0] === "reset" && m === "POST") {
      hooks.reset();
      return sendJson(x, 200, { ok: true });
    }
    if (segs[0] === "faults" && m === "POST") {
      ctx.faults.add(faultRuleFromJson(await readJson(x.req)));
      return sendJson(x, 201, { ok: true, pending: ctx.faults.pending() });
    }
    if (segs[0] === "faults" && m === "DELETE") {
      ctx.faults.clear();
      return sendJson(x, 200, { ok: true });
    }
    if (segs[0] === "latency" && m === "PUT") {
      const b = (await readJson(x.req)) as { ms?: number; uniform?: [number, number]; lognormal?: { medianMs: number; sigma: number }; route?: RouteKind };
      const l = typeof b.ms === "number" ? b.ms : b.uniform ? { uniform: b.uniform } : b.lognormal ? { lognormal: b.lognormal } : undefined;
      if (l === undefined) return bad("one of ms, uniform or lognormal is required");
      ctx.latency.set(l, b.route);
      return sendJson(x, 200, { ok: true });
    }
    if (segs[0] === "apps" && m === "PUT") {
      const b = (await readJson(x.req)) as { clientId?: string; clientSecret?: string; federatedSubjects?: string[] };
      if (!b.clientId) return bad("clientId is required");
      ctx.identities.addApp({ clientId: b.clientId, clientSecret: b.clientSecret, federatedSubjects: b.federatedSubjects });
      return sendJson(x, 200, { ok: true });
    }
    if (segs[0] === "managed-identities" && m === "PUT") {
      const b = (await readJson(x.req)) as { clientId?: string; objectId?: string; resourceId?: string; systemAssigned?: boolean };
      if (!b.clientId) return bad("clientId is required");
      ctx.identities.addManagedIdentity({ clientId: b.clientId, objectId: b.objectId, resourceId: b.resourceId, systemAssigned: b.systemAssigned });
      return sendJson(x, 200, { ok: true });
    }
    if (segs[0] === "pod-identities" && m === "PUT") {
      const b = (await readJson(x.req)) as { namespace?: string; podName?: string; clientId?: string };
      if (!b.namespace || !b.clientId) return bad("namespace and clientId are required");
      ctx.identities.addPodIdentity({ namespace: b.namespace, podName: b.podName, clientId: b.clientId });
      return sendJson(x, 200, { ok: true });
    }
    if (segs[0] === "vaults" && segs[1]) return await vaultAdmin(ctx, x, segs[1], segs.slice(2), bad);
  } catch (e) {
    return bad((e as Error).message);
  }
  sendJson(x, 404, { error: { code: "NotFound", message: `no admin route ${m} ${x.path}` } });
}

async function vaultAdmin(ctx: EmulatorContext, x: Exchange, vault: string, rest: string[], bad: (m: string) => void): Promise<void> {
  const [kind, name, version] = rest;
  const m = x.method;
  const store = ctx.store;
  if (kind === "access" && m === "PUT") {
    const b = (await readJson(x.req)) as { clientIds?: string[] | null };
    store.setAccess(vault, b.clientIds ?? undefined);
    return sendJson(x, 200, { ok: true });
  }
  if (!kind || !KINDS.has(kind) || !name) return sendJson(x, 404, { error: { code: "NotFound", message: "expected /_emulator/vaults/<vault>/<secrets|keys|certificates>/<name>" } });
  const k = kind as ObjectKind;
  if (m === "PATCH") {
    const b = (await readJson(x.req)) as { enabled?: boolean };
    if (typeof b.enabled !== "boolean") return bad("enabled (boolean) is required");
    const ok = store.setEnabled(vault, k, name, version, b.enabled);
    return sendJson(x, ok ? 200 : 404, { ok });
  }
  if (m === "DELETE") return sendJson(x, 200, { ok: store.deleteObject(vault, k, name) });
  if (m !== "PUT" || version) return bad(`unsupported ${m} on ${x.path}`);
  if (k === "secrets") {
    const b = (await readJson(x.req)) as { value?: string; contentType?: string; enabled?: boolean; tags?: Record<string, string>; certificateBacked?: boolean };
    if (typeof b.value !== "string") return bad("value (string) is required");
    const r = store.setSecret(vault, name, b.value, { contentType: b.contentType, enabled: b.enabled, tags: b.tags, certificateBacked: b.certificateBacked });
    return sendJson(x, 200, r);
  }
  if (k === "keys") {
    const b = (await readJson(x.req)) as { kty?: "RSA" | "EC"; size?: number; crv?: "P-256" | "P-384" | "P-521"; enabled?: boolean };
    if (b.kty !== "RSA" && b.kty !== "EC") return bad("kty must be RSA or EC");
    const r = await store.setKey(vault, name, { kty: b.kty, size: b.size, crv: b.crv, enabled: b.enabled });
    return sendJson(x, 200, r);
  }
  const b = (await readJson(x.req)) as { keyType?: "RSA" | "EC"; size?: number; crv?: "P-256" | "P-384" | "P-521"; format?: "pfx" | "pem"; chain?: 1 | 2 | 3; subject?: string; sans?: string[] };
  const r = await store.createCertificate(vault, name, b);
  sendJson(x, 200, { version: r.version, chainPem: r.chainPem, contentType: r.contentType, x5t: r.x5t });
}
