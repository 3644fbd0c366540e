// Key Vault data-plane REST for secrets, keys and certificates, with the
// challenge-based bearer auth every Key Vault SDK expects. The vault is the
// first label of the Host header (`<vault>.<dnsSuffix>`).
import { createPrivateKey, JsonWebKeyInput } from "node:crypto";
import type { EmulatorContext } from "./context.js";
import type { RouteKind } from "./faults.js";
import { Exchange, readJson, sendJson } from "./http.js";
import { JwtClaims } from "./jwt.js";
import {
  Attributes, CertificateVersion, KeyVersion, ObjectKind, PEM_CONTENT_TYPE, PFX_CONTENT_TYPE, SecretVersion, x5t,
} from "./store.js";
import type { KeyType } from "./x509.js";

export const API_VERSIONS = ["2016-10-01", "7.0", "7.1", "7.2", "7.3", "7.4", "7.5", "7.6", "2025-07-01", "2026-04-01"];
const PAGE_MAX = 25;

export function isSupportedApiVersion(v: string): boolean {
  return API_VERSIONS.includes(v) || /^7\.[0-6]-preview(\.\d+)?$/.test(v);
}

/** Vault name when `hostname` is `<vault>.<suffix>`. */
export function vaultFromHost(hostname: string, suffix: string): string | undefined {
  const s = `.${suffix.toLowerCase()}`;
  if (!hostname.endsWith(s)) return undefined;
  const label = hostname.slice(0, -s.length);
  return /^[a-z0-9](?:[a-z0-9-]{0,62})$/.test(label) ? label : undefined;
}

const SINGULAR: Record<ObjectKind, "secret" | "key" | "certificate"> = { secrets: "secret", keys: "key", certificates: "certificate" };

export function classifyVault(method: string, path: string): RouteKind {
  const segs = path.split("/").filter(Boolean);
  const kind = segs[0] as ObjectKind | undefined;
  if (kind !== "secrets" && kind !== "keys" && kind !== "certificates") return "kv.other";
  const s = SINGULAR[kind];
  if (segs.length === 1) return `${s}.list` as RouteKind;
  if (segs[2] === "versions") return `${s}.versions` as RouteKind;
  if (method === "GET") return `${s}.get` as RouteKind;
  if (kind === "secrets") return "secret.set";
  return `${s}.create` as RouteKind;
}

function kvError(x: Exchange, status: number, code: string, message: string, inner?: string, headers?: Record<string, string>): void {
  const error: Record<string, unknown> = { code, message };
  if (inner) error.innererror = { code: inner };
  sendJson(x, status, { error }, headers);
}

function challengeHeader(ctx: EmulatorContext): Record<string, string> {
  return { "www-authenticate": `Bearer authorization="${ctx.authorityBase()}/${ctx.tenantId}", resource="https://${ctx.dnsSuffix}"` };
}

/** Audiences a vault accepts: its own cloud's resource (with or without a
 * trailing slash) and the public one, as Key Vault does. */
function audienceOk(ctx: EmulatorContext, aud: unknown): boolean {
  const list = Array.isArray(aud) ? aud : [aud];
  return list.some((a) => {
    if (typeof a !== "string") return false;
    try {
      const h = new URL(a).hostname.toLowerCase();
      return h === ctx.dnsSuffix.toLowerCase() || h === "vault.azure.net";
    } catch {
      return false;
    }
  });
}

function authenticate(ctx: EmulatorContext, x: Exchange): JwtClaims | undefined {
  const h = x.req.headers.authorization ?? "";
  const m = /^Bearer\s+(\S+)$/i.exec(h);
  if (!m) {
    ctx.counters.challenges++;
    kvError(x, 401, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token.", undefined, challengeHeader(ctx));
    return undefined;
  }
  let claims: JwtClaims;
  try {
    claims = ctx.signer.verify(m[1]!);
  } catch (e) {
    kvError(x, 401, "Unauthorized", `AKV10013: Token validation failed: ${(e as Error).message}.`, undefined, challengeHeader(ctx));
    return undefined;
  }
  x.principal = typeof claims.appid === "string" ? claims.appid : "unknown";
  if (!audienceOk(ctx, claims.aud)) {
    kvError(x, 401, "Unauthorized", `AKV10022: Invalid audience. Expected https://${ctx.dnsSuffix}, found: ${String(claims.aud)}.`, undefined, challengeHeader(ctx));
    return undefined;
  }
  return claims;
}

const PERMISSION: Partial<Record<RouteKind, string>> = {
  "secret.get": "secrets get", "secret.set": "secrets set", "secret.list": "secrets list", "secret.versions": "secrets list",
  "key.get": "keys get", "key.create": "keys create", "key.list": "keys list", "key.versions": "keys list",
  "certificate.get": "certificates get", "certificate.create": "certificates create", "certificate.list": "certificates list",
  "certificate.versions": "certificates list",
};

export async function handleVault(ctx: EmulatorContext, x: Exchange, vault: string): Promise<void> {
  const apiVersion = x.query.get("api-version");
  if (!apiVersion) return kvError(x, 400, "BadParameter", "The 'api-version' query parameter is missing.");
  if (!isSupportedApiVersion(apiVersion)) {
    return kvError(x, 400, "BadParameter", `The specified version (${apiVersion}) is not recognized. Consider using the latest supported version (2025-07-01).`);
  }
  const claims = authenticate(ctx, x);
  if (!claims) return;
  if (ctx.throttle) {
    const wait = ctx.throttle.take(vault);
    if (wait > 0) {
      ctx.counters.throttled++;
      return kvError(x, 429, "Throttled", `Request was not processed because too many requests were received. Reason: A maximum of ${ctx.throttle.capacity} transactions in ${ctx.throttle.windowMs / 1000} seconds are allowed for vault '${vault}'.`, undefined, { "retry-after": String(wait) });
    }
  }
  const allowed = ctx.store.hasVault(vault) ? ctx.store.vault(vault).allowedPrincipals : undefined;
  if (allowed && !allowed.has(String(claims.appid).toLowerCase())) {
    return kvError(x, 403, "Forbidden",
      `The user, group or application 'appid=${String(claims.appid)};oid=${String(claims.oid)};iss=https://sts.windows.net/${ctx.tenantId}/' does not have ${PERMISSION[x.route] ?? "this"} permission on key vault '${vault};location=local'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287`,
      "AccessDenied");
  }
  const host = (x.req.headers.host ?? `${vault}.${ctx.dnsSuffix}`).toLowerCase().replace(/:443$/, "");
  const r = new VaultRequest(ctx, x, vault, `https://${host}`, apiVersion);
  await r.dispatch();
}

function attrs(a: Attributes, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const out: Record<string, unknown> = { enabled: a.enabled };
  if (a.nbf !== undefined) out.nbf = a.nbf;
  if (a.exp !== undefined) out.exp = a.exp;
  out.created = a.created;
  out.updated = a.updated;
  out.recoveryLevel = "Recoverable+Purgeable";
  out.recoverableDays = 90;
  return { ...out, ...extra };
}

function decodeSeg(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

class VaultRequest {
  constructor(
    private readonly ctx: EmulatorContext,
    private readonly x: Exchange,
    private readonly vault: string,
    private readonly base: string,
    private readonly apiVersion: string,
  ) {}

  async dispatch(): Promise<void> {
    const { x } = this;
    const trailing = x.path.endsWith("/");
    const segs = x.path.split("/").filter(Boolean).map(decodeSeg);
    const [kind, name, third] = segs as [string, string | undefined, string | undefined];
    const m = x.method;
    if (segs.length > 3) return this.notFound();
    if (kind === "secrets") {
      if (!name) return m === "GET" ? this.listNames("secrets") : this.notFound();
      if (third === "versions" && m === "GET") return this.listVersions("secrets", name);
      if (m === "GET") return this.getSecret(name, third);
      if (m === "PUT" && !third && !trailing) return this.setSecret(name);
      if (m === "PATCH" && third) return this.updateSecret(name, third);
    } else if (kind === "keys") {
      if (!name) return m === "GET" ? this.listNames("keys") : this.notFound();
      if (third === "versions" && m === "GET") return this.listVersions("keys", name);
      if (third === "create" && m === "POST") return this.createKey(name);
      if (m === "GET") return this.getKey(name, third);
      if (m === "PUT" && !third) return this.importKey(name);
    } else if (kind === "certificates") {
      if (!name) return m === "GET" ? this.listNames("certificates") : this.notFound();
      if (third === "versions" && m === "GET") return this.listVersions("certificates", name);
      if (third === "create" && m === "POST") return this.createCertificate(name);
      if (third === "pending" && m === "GET") return this.pending(name);
      if (third === "policy" && m === "GET") return this.policy(name);
      if (m === "GET") return this.getCertificate(name, third);
    }
    return this.notFound();
  }

  private notFound(): void {
    kvError(this.x, 404, "NotFound", `The emulator does not implement ${this.x.method} ${this.x.path}.`);
  }

  private missing(kind: ObjectKind, name: string, version?: string): void {
    const s = SINGULAR[kind];
    const code = s === "secret" ? "SecretNotFound" : s === "key" ? "KeyNotFound" : "CertificateNotFound";
    const what = version ? `${name}/${version}` : name;
    kvError(this.x, 404, code,
      `A ${s} with (name/id) ${what} was not found in this key vault. If you recently deleted this ${s} you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182`);
  }

  private disabled(kind: "secrets" | "keys"): void {
    const s = SINGULAR[kind];
    kvError(this.x, 403, "Forbidden", `Operation get is not allowed on a disabled ${s}.`, s === "secret" ? "SecretDisabled" : "KeyDisabled");
  }

  private url(kind: ObjectKind, name: string, version?: string): string {
    return `${this.base}/${kind}/${encodeURIComponent(name)}${version ? `/${version}` : ""}`;
  }

  // ---- secrets

  secretBundle(name: string, s: SecretVersion, withValue = true): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    if (withValue) out.value = s.value;
    out.id = this.url("secrets", name, s.version);
    if (s.contentType !== undefined) out.contentType = s.contentType;
    out.attributes = attrs(s.attributes);
    out.tags = s.tags ?? {};
    if (s.kid) out.kid = `${this.base}/${s.kid}`;
    if (s.managed) out.managed = true;
    return out;
  }

  private getSecret(name: string, version?: string): void {
    const s = this.ctx.store.find(this.vault, "secrets", name, version);
    if (!s) return this.missing("secrets", name, version);
    if (!s.attributes.enabled) return this.disabled("secrets");
    sendJson(this.x, 200, this.secretBundle(name, s));
  }

  private async setSecret(name: string): Promise<void> {
    const body = (await readJson(this.x.req)) as { value?: unknown; contentType?: unknown; tags?: Record<string, string>; attributes?: Partial<Attributes> };
    if (typeof body.value !== "string") return kvError(this.x, 400, "BadParameter", "Property 'value' is required and must be a string.");
    const a = body.attributes ?? {};
    const { version } = this.ctx.store.setSecret(this.vault, name, body.value, {
      contentType: typeof body.contentType === "string" ? body.contentType : undefined,
      enabled: a.enabled, nbf: a.nbf, exp: a.exp, tags: body.tags,
    });
    sendJson(this.x, 200, this.secretBundle(name, this.ctx.store.find(this.vault, "secrets", name, version)!));
  }

  private async updateSecret(name: string, version: string): Promise<void> {
    const s = this.ctx.store.find(this.vault, "secrets", name, version);
    if (!s) return this.missing("secrets", name, version);
    const body = (await readJson(this.x.req)) as { contentType?: unknown; tags?: Record<string, string>; attributes?: Partial<Attributes> };
    if (typeof body.contentType === "string") s.contentType = body.contentType;
    if (body.tags) s.tags = { ...body.tags };
    if (typeof body.attributes?.enabled === "boolean") s.attributes.enabled = body.attributes.enabled;
    s.attributes.updated = Math.floor(Date.now() / 1000);
    sendJson(this.x, 200, this.secretBundle(name, s, false));
  }

  // ---- keys

  keyBundle(name: string, k: KeyVersion, list = false): Record<string, unknown> {
    const kid = this.url("keys", name, list ? undefined : k.version);
    const out: Record<string, unknown> = list ? { kid } : { key: { kid, ...k.jwk } };
    out.attributes = attrs(k.attributes, { exportable: false });
    out.tags = k.tags ?? {};
    if (k.managed) out.managed = true;
    return out;
  }

  private getKey(name: string, version?: string): void {
    const k = this.ctx.store.find(this.vault, "keys", name, version);
    if (!k) return this.missing("keys", name, version);
    if (!k.attributes.enabled) return this.disabled("keys");
    sendJson(this.x, 200, this.keyBundle(name, k));
  }

  private async createKey(name: string): Promise<void> {
    const body = (await readJson(this.x.req)) as { kty?: string; key_size?: number; crv?: string; tags?: Record<string, string>; attributes?: Partial<Attributes> };
    const kty = (body.kty ?? "").replace(/-HSM$/, "");
    if (kty !== "RSA" && kty !== "EC") return kvError(this.x, 400, "BadParameter", `The key type '${body.kty ?? ""}' is not supported by the emulator.`);
    const crv = body.crv as "P-256" | "P-384" | "P-521" | undefined;
    if (kty === "EC" && crv && !["P-256", "P-384", "P-521"].includes(crv)) return kvError(this.x, 400, "BadParameter", `The curve '${crv}' is not supported by the emulator.`);
    const { version } = await this.ctx.store.setKey(this.vault, name, { kty, size: body.key_size, crv, enabled: body.attributes?.enabled, tags: body.tags });
    sendJson(this.x, 200, this.keyBundle(name, this.ctx.store.find(this.vault, "keys", name, version)!));
  }

  private async importKey(name: string): Promise<void> {
    const body = (await readJson(this.x.req)) as { key?: Record<string, unknown>; tags?: Record<string, string>; attributes?: Partial<Attributes> };
    if (!body.key) return kvError(this.x, 400, "BadParameter", "Property 'key' is required.");
    let pk;
    try {
      const kty = typeof body.key.kty === "string" ? body.key.kty.replace(/-HSM$/, "") : "";
      const jwk = { ...body.key, kty };
      const input: JsonWebKeyInput = { key: jwk, format: "jwk" };
      pk = createPrivateKey(input);
    } catch (e) {
      return kvError(this.x, 400, "BadParameter", `The JSON web key is not valid: ${(e as Error).message}.`);
    }
    const { version } = this.ctx.store.importKey(this.vault, name, pk, { enabled: body.attributes?.enabled, tags: body.tags });
    sendJson(this.x, 200, this.keyBundle(name, this.ctx.store.find(this.vault, "keys", name, version)!));
  }

  // ---- certificates

  private policyBody(name: string, c: CertificateVersion): Record<string, unknown> {
    const keyProps: Record<string, unknown> = { exportable: true, kty: c.keyType, reuse_key: false };
    if (c.keyType === "RSA") keyProps.key_size = c.keySize ?? 2048;
    else keyProps.crv = c.crv ?? "P-256";
    return {
      id: `${this.url("certificates", name)}/policy`,
      key_props: keyProps,
      secret_props: { contentType: c.contentType },
      x509_props: {
        subject: `CN=${c.subject}`,
        sans: { dns_names: c.sans },
        ekus: ["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"],
        key_usage: c.keyType === "RSA" ? ["digitalSignature", "keyEncipherment"] : ["digitalSignature"],
        validity_months: 12,
        basic_constraints: { ca: false },
      },
      lifetime_actions: [{ trigger: { lifetime_percentage: 80 }, action: { action_type: "EmailContacts" } }],
      issuer: { name: "Self" },
      attributes: { enabled: true, created: c.attributes.created, updated: c.attributes.updated },
    };
  }

  certBundle(name: string, c: CertificateVersion, list = false): Record<string, unknown> {
    const leaf = c.chain[0]!;
    if (list) return { id: this.url("certificates", name), x5t: x5t(leaf), attributes: attrs(c.attributes), tags: c.tags ?? {} };
    return {
      id: this.url("certificates", name, c.version),
      kid: this.url("keys", name, c.version),
      sid: this.url("secrets", name, c.version),
      x5t: x5t(leaf),
      cer: leaf.toString("base64"),
      attributes: attrs(c.attributes),
      policy: this.policyBody(name, c),
      tags: c.tags ?? {},
    };
  }

  private getCertificate(name: string, version?: string): void {
    const c = this.ctx.store.find(this.vault, "certificates", name, version);
    if (!c) return this.missing("certificates", name, version);
    sendJson(this.x, 200, this.certBundle(name, c));
  }

  private policy(name: string): void {
    const c = this.ctx.store.find(this.vault, "certificates", name);
    if (!c) return this.missing("certificates", name);
    sendJson(this.x, 200, this.policyBody(name, c));
  }

  private operation(name: string, c: CertificateVersion): Record<string, unknown> {
    return {
      id: `${this.url("certificates", name)}/pending`,
      issuer: { name: "Self" },
      csr: "",
      cancellation_requested: false,
      status: "completed",
      target: this.url("certificates", name),
      request_id: c.version,
    };
  }

  private pending(name: string): void {
    const c = this.ctx.store.find(this.vault, "certificates", name);
    if (!c) return kvError(this.x, 404, "PendingCertificateNotFound", `Pending certificate not found: ${name}`);
    sendJson(this.x, 200, this.operation(name, c));
  }

  /** Self-signed creation completes at once; the SDK's poller then sees "completed". */
  private async createCertificate(name: string): Promise<void> {
    const body = (await readJson(this.x.req)) as {
      policy?: { key_props?: { kty?: string; key_size?: number; crv?: string }; secret_props?: { contentType?: string }; x509_props?: { subject?: string; sans?: { dns_names?: string[] } } };
      tags?: Record<string, string>;
      attributes?: Partial<Attributes>;
    };
    const kp = body.policy?.key_props ?? {};
    const keyType: KeyType = (kp.kty ?? "RSA").startsWith("EC") ? "EC" : "RSA";
    const ct = body.policy?.secret_props?.contentType ?? PFX_CONTENT_TYPE;
    if (ct !== PFX_CONTENT_TYPE && ct !== PEM_CONTENT_TYPE) return kvError(this.x, 400, "BadParameter", `Unsupported content type '${ct}'.`);
    const subject = (body.policy?.x509_props?.subject ?? `CN=${name}`).replace(/^CN=/i, "");
    await this.ctx.store.createCertificate(this.vault, name, {
      keyType, size: kp.key_size, crv: kp.crv as "P-256" | undefined, format: ct === PEM_CONTENT_TYPE ? "pem" : "pfx",
      chain: 1, subject, sans: body.policy?.x509_props?.sans?.dns_names, tags: body.tags, enabled: body.attributes?.enabled,
    });
    sendJson(this.x, 202, this.operation(name, this.ctx.store.find(this.vault, "certificates", name)!));
  }

  // ---- lists

  private page<T>(items: T[], render: (t: T) => Record<string, unknown>): void {
    const mr = this.x.query.get("maxresults");
    const max = mr === null ? PAGE_MAX : Number(mr);
    if (!Number.isInteger(max) || max < 1 || max > PAGE_MAX) {
      return kvError(this.x, 400, "BadParameter", `The value '${mr ?? ""}' of 'maxresults' is not valid; it must be between 1 and ${PAGE_MAX}.`);
    }
    const token = this.x.query.get("$skiptoken");
    const start = token ? Number(Buffer.from(token, "base64url").toString("utf8")) : 0;
    if (!Number.isInteger(start) || start < 0) return kvError(this.x, 400, "BadParameter", "The $skiptoken is not valid.");
    const slice = items.slice(start, start + max);
    let nextLink: string | null = null;
    if (start + max < items.length) {
      const q = new URLSearchParams({ "api-version": this.apiVersion, $skiptoken: Buffer.from(String(start + max)).toString("base64url"), maxresults: String(max) });
      nextLink = `${this.base}${this.x.path.replace(/\/$/, "")}?${q.toString().replace("%24skiptoken", "$skiptoken")}`;
    }
    sendJson(this.x, 200, { value: slice.map(render), nextLink });
  }

  private listNames(kind: ObjectKind): void {
    const names = this.ctx.store.names(this.vault, kind);
    const latest = names.map((n) => [n, this.ctx.store.find(this.vault, kind, n)!] as const);
    this.page(latest, ([n, o]) => this.item(kind, n, o, true));
  }

  private listVersions(kind: ObjectKind, name: string): void {
    // Key Vault lists nothing (200, empty page) for a name that does not exist.
    const versions = this.ctx.store.versions(this.vault, kind, name);
    this.page(versions, (o) => this.item(kind, name, o, false));
  }

  private item(kind: ObjectKind, name: string, o: SecretVersion | KeyVersion | CertificateVersion, byName: boolean): Record<string, unknown> {
    if (kind === "secrets") {
      const b = this.secretBundle(name, o as SecretVersion, false);
      if (byName) b.id = this.url("secrets", name);
      delete b.kid;
      return b;
    }
    if (kind === "keys") {
      const k = o as KeyVersion;
      const b = this.keyBundle(name, k, true);
      if (!byName) b.kid = this.url("keys", name, k.version);
      return b;
    }
    const c = o as CertificateVersion;
    const b = this.certBundle(name, c, true);
    if (!byName) b.id = this.url("certificates", name, c.version);
    return b;
  }
}
