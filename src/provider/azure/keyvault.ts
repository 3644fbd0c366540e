// The Key Vault seam: a narrow interface the orchestrator calls, the Azure
// SDK implementation behind it, and the coalescing decorator in front.
//
// SDK clients are kept per (object type, vault, identity) rather than per
// mount: each new client pays an unauthenticated challenge round trip, and
// a new HTTP client per mount is how other providers leaked memory.
import { CertificateClient } from "@azure/keyvault-certificates";
import { KeyClient } from "@azure/keyvault-keys";
import { SecretClient } from "@azure/keyvault-secrets";
import { createDefaultHttpClient, type HttpClient, type PipelinePolicy } from "@azure/core-rest-pipeline";
import type { TokenCredential } from "@azure/identity";
import type { MountCredential } from "./auth.js";
import { Coalescer, type CoalesceOutcome } from "./coalesce.js";
import type { FetchedCertificate, FetchedKey, FetchedSecret, ObjectType, VersionInfo } from "./plan.js";
import { ThrottleGate, ThrottledError, retryAfterMs } from "./throttle.js";
import { KeyedCache } from "./token-cache.js";

export interface CallContext {
  signal?: AbortSignal;
  /** Epoch ms after which the caller no longer wants an answer. */
  deadline?: number;
}

export interface KeyVault {
  getSecret(vaultUrl: string, name: string, version: string, ctx?: CallContext): Promise<FetchedSecret>;
  getKey(vaultUrl: string, name: string, version: string, ctx?: CallContext): Promise<FetchedKey>;
  getCertificate(vaultUrl: string, name: string, version: string, ctx?: CallContext): Promise<FetchedCertificate>;
  listVersions(type: ObjectType, vaultUrl: string, name: string, ctx?: CallContext): Promise<VersionInfo[]>;
}

/** Hands out a KeyVault bound to one identity. */
export interface KeyVaultSource {
  forIdentity(id: MountCredential): KeyVault;
}

/** A Key Vault failure: message names vault, object, status and code; never a token. */
export class KeyVaultError extends Error {
  override name = "KeyVaultError";
  constructor(
    message: string,
    /** Short, bounded code for metrics: SecretNotFound, Forbidden, Throttled, Timeout, … */
    readonly code: string,
    readonly statusCode?: number,
  ) {
    super(message);
  }
}

/** Last path segment of a Key Vault id/kid URL, as upstream reports versions. */
export function versionFromId(id: string | undefined): string {
  if (!id) return "";
  const parts = id.replace(/\/+$/, "").split("/");
  return parts[parts.length - 1] ?? "";
}

const SAFE_CODE = /^[A-Za-z][A-Za-z0-9_.]{0,63}$/;

/** Maps any error to a short metric-safe code; free text never becomes a label. */
export function errorCode(e: unknown): string {
  if (e instanceof KeyVaultError) return e.code;
  if (e instanceof ThrottledError) return "Throttled";
  if (!(e instanceof Error)) return "Unknown";
  if (e.name === "AbortError" || e.name === "TimeoutError") return "Timeout";
  if (e.name === "AuthenticationError" || e.name === "CredentialUnavailableError") return "AuthenticationFailed";
  const anyE = e as { code?: unknown; statusCode?: unknown };
  if (typeof anyE.code === "string" && SAFE_CODE.test(anyE.code)) return anyE.code;
  if (typeof anyE.statusCode === "number") return `HTTP${anyE.statusCode}`;
  return "Unknown";
}

export type RequestObserver = (type: ObjectType, name: string, seconds: number, code: string) => void;

export interface SdkKeyVaultOptions {
  gate: ThrottleGate;
  /** Key Vault REST api-version; undefined = the SDK default. */
  serviceVersion?: string;
  /** Needed only when a vault's challenge resource is not a parent domain of its host (emulators). */
  disableChallengeResourceVerification?: boolean;
  onRequest?: RequestObserver;
  maxClients?: number;
}

// Deadline lookup for the throttle policy: the SDK passes our AbortSignal
// through to the pipeline request unchanged.
const deadlines = new WeakMap<AbortSignal, number>();

/** Shares one backoff window per vault host across every client and identity. */
export function throttlePolicy(gate: ThrottleGate): PipelinePolicy {
  return {
    name: "akvCsiVaultThrottle",
    async sendRequest(request, next) {
      const vault = new URL(request.url).host;
      const signal = request.abortSignal as AbortSignal | undefined;
      const deadline = signal ? deadlines.get(signal) : undefined;
      await gate.wait(vault, signal, deadline);
      const response = await next(request);
      if (response.status === 429 || response.status === 503) {
        const ms = retryAfterMs((h) => response.headers.get(h));
        if (ms !== undefined || response.status === 429) {
          const until = gate.open(vault, ms ?? gate.defaultWindowMs);
          // Fail fast rather than sleep past the caller's deadline (F4).
          if (deadline !== undefined && until > deadline) throw new ThrottledError(vault, until);
        }
      }
      return response;
    },
  };
}

type AnyClient = SecretClient | KeyClient | CertificateClient;

export class SdkKeyVaultSource implements KeyVaultSource {
  private readonly clients: KeyedCache<{ client: AnyClient; credential: TokenCredential }>;
  private readonly policy: PipelinePolicy;
  /**
   * One HTTP client (and so one keep-alive agent) for every SDK client: each
   * identity gets its own SecretClient/KeyClient/CertificateClient, and with
   * the SDK default each would open its own TLS connections to the vault.
   */
  private readonly httpClient: HttpClient = createDefaultHttpClient();

  constructor(private readonly opts: SdkKeyVaultOptions) {
    this.clients = new KeyedCache(opts.maxClients ?? 1024, 60 * 60_000);
    this.policy = throttlePolicy(opts.gate);
  }

  get clientCount(): number {
    return this.clients.size;
  }

  forIdentity(id: MountCredential): KeyVault {
    const client = <C extends AnyClient>(type: ObjectType, vaultUrl: string, make: (o: object) => C): C => {
      const key = JSON.stringify([type, vaultUrl, id.principal]);
      let e = this.clients.get(key);
      if (!e || e.credential !== id.credential) {
        const options = {
          serviceVersion: this.opts.serviceVersion,
          disableChallengeResourceVerification: this.opts.disableChallengeResourceVerification,
          additionalPolicies: [{ policy: this.policy, position: "perRetry" as const }],
          httpClient: this.httpClient,
        };
        e = { client: make(options), credential: id.credential };
      }
      const entry = e;
      return this.clients.getOrCreate(key, () => entry).client as C;
    };
    const secrets = (v: string) => client("secret", v, (o) => new SecretClient(v, id.credential, o));
    const keys = (v: string) => client("key", v, (o) => new KeyClient(v, id.credential, o));
    const certs = (v: string) => client("cert", v, (o) => new CertificateClient(v, id.credential, o));

    return {
      getSecret: (vaultUrl, name, version, ctx) =>
        this.call("secret", vaultUrl, name, version, ctx, async (abortSignal) => {
          const s = await secrets(vaultUrl).getSecret(name, { version: version || undefined, abortSignal });
          if (s.value === undefined || s.value === null) throw new Error("secret value is nil");
          if (!s.properties.id) throw new Error("secret id is nil");
          return {
            value: s.value,
            contentType: s.properties.contentType,
            kid: s.properties.certificateKeyId,
            version: versionFromId(s.properties.id),
          };
        }),
      getKey: (vaultUrl, name, version, ctx) =>
        this.call("key", vaultUrl, name, version, ctx, async (abortSignal) => {
          const k = await keys(vaultUrl).getKey(name, { version: version || undefined, abortSignal });
          if (!k.key) throw new Error("key value is nil");
          if (!k.key.kid) throw new Error("key id is nil");
          const { kty, n, e, crv, x, y } = k.key;
          return { jwk: { kty: kty ?? "", n, e, crv, x, y }, version: versionFromId(k.key.kid) };
        }),
      getCertificate: (vaultUrl, name, version, ctx) =>
        this.call("cert", vaultUrl, name, version, ctx, async (abortSignal) => {
          const c = version
            ? await certs(vaultUrl).getCertificateVersion(name, version, { abortSignal })
            : await certs(vaultUrl).getCertificate(name, { abortSignal });
          if (!c.cer) throw new Error("certificate value is nil");
          const certId = c.properties.id ?? c.id;
          if (!certId) throw new Error("certificate id is nil");
          return { cer: c.cer, version: versionFromId(certId) };
        }),
      listVersions: (type, vaultUrl, name, ctx) =>
        this.call(type, vaultUrl, name, "versions", ctx, async (abortSignal) => {
          const out: VersionInfo[] = [];
          const pages =
            type === "secret"
              ? secrets(vaultUrl).listPropertiesOfSecretVersions(name, { abortSignal })
              : type === "key"
                ? keys(vaultUrl).listPropertiesOfKeyVersions(name, { abortSignal })
                : certs(vaultUrl).listPropertiesOfCertificateVersions(name, { abortSignal });
          for await (const p of pages) {
            // Bounded: a vault keeps at most a few thousand versions of an object.
            if (out.length >= 100_000) break;
            if (!p.version) continue;
            out.push({ version: p.version, enabled: p.enabled, createdOn: p.createdOn });
          }
          return out;
        }),
    };
  }

  private async call<T>(
    type: ObjectType,
    vaultUrl: string,
    name: string,
    version: string,
    ctx: CallContext | undefined,
    run: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const started = performance.now();
    const controller = new AbortController();
    const onAbort = () => controller.abort(ctx?.signal?.reason);
    if (ctx?.signal?.aborted) onAbort();
    ctx?.signal?.addEventListener("abort", onAbort, { once: true });
    if (ctx?.deadline !== undefined) deadlines.set(controller.signal, ctx.deadline);
    let code = "";
    try {
      await this.opts.gate.wait(new URL(vaultUrl).host, controller.signal, ctx?.deadline);
      return await run(controller.signal);
    } catch (e) {
      code = errorCode(e);
      throw describe(e, type, vaultUrl, name, version, code);
    } finally {
      ctx?.signal?.removeEventListener("abort", onAbort);
      this.opts.onRequest?.(type, name, (performance.now() - started) / 1000, code);
    }
  }
}

const TYPE_WORD: Record<ObjectType, string> = { secret: "secret", key: "key", cert: "certificate" };

function describe(e: unknown, type: ObjectType, vaultUrl: string, name: string, version: string, code: string): Error {
  if (e instanceof KeyVaultError || e instanceof ThrottledError) return e;
  const err = e instanceof Error ? e : new Error(String(e));
  const status = (err as { statusCode?: unknown }).statusCode;
  if (typeof status !== "number") {
    // Not an HTTP answer: nil-value checks, aborts, Entra or network errors.
    if (/ is nil$/.test(err.message)) return err;
    if (code === "Timeout") return new KeyVaultError(`keyvault request for ${TYPE_WORD[type]} "${name}" in ${vaultUrl} was cancelled or timed out`, code);
    return new KeyVaultError(`keyvault ${vaultUrl}: ${TYPE_WORD[type]} "${name}": ${err.message}`, code);
  }
  const what = version === "versions" ? `list versions of ${TYPE_WORD[type]} "${name}"` : `get ${TYPE_WORD[type]} "${name}"${version ? ` version "${version}"` : ""}`;
  // The service message ("A secret with (name/id) x was not found in this key vault") is safe; cap it anyway.
  const msg = err.message.split("\n")[0]!.slice(0, 300);
  return new KeyVaultError(`keyvault ${vaultUrl}: ${what} failed: RESPONSE ${status}, ERROR CODE: ${code}: ${msg}`, code, status);
}

export interface CoalescingOptions {
  ttlMs: number;
  onOutcome?: (o: CoalesceOutcome) => void;
}

/**
 * Concurrent and recent equal reads by one identity share one Key Vault
 * call. The principal is part of every key, so identities never share.
 */
export class CoalescingKeyVaultSource implements KeyVaultSource {
  private readonly secrets: Coalescer<FetchedSecret>;
  private readonly keys: Coalescer<FetchedKey>;
  private readonly certs: Coalescer<FetchedCertificate>;
  private readonly lists: Coalescer<VersionInfo[]>;

  constructor(
    private readonly inner: KeyVaultSource,
    private readonly opts: CoalescingOptions,
  ) {
    this.secrets = new Coalescer({ ttlMs: opts.ttlMs });
    this.keys = new Coalescer({ ttlMs: opts.ttlMs });
    this.certs = new Coalescer({ ttlMs: opts.ttlMs });
    this.lists = new Coalescer({ ttlMs: opts.ttlMs });
  }

  clear(): void {
    for (const c of [this.secrets, this.keys, this.certs, this.lists]) c.clear();
  }

  forIdentity(id: MountCredential): KeyVault {
    const kv = this.inner.forIdentity(id);
    const principal = id.principal;
    const on = this.opts.onOutcome;
    // The shared call runs with the coalescer's signal (aborted only when all
    // waiters left) and the first caller's deadline.
    return {
      getSecret: (vaultUrl, name, version, ctx) =>
        this.secrets.run(
          { principal, vaultUrl, type: "secret", name, version },
          (signal) => kv.getSecret(vaultUrl, name, version, { signal, deadline: ctx?.deadline }),
          ctx?.signal,
          on,
        ),
      getKey: (vaultUrl, name, version, ctx) =>
        this.keys.run(
          { principal, vaultUrl, type: "key", name, version },
          (signal) => kv.getKey(vaultUrl, name, version, { signal, deadline: ctx?.deadline }),
          ctx?.signal,
          on,
        ),
      getCertificate: (vaultUrl, name, version, ctx) =>
        this.certs.run(
          { principal, vaultUrl, type: "cert", name, version },
          (signal) => kv.getCertificate(vaultUrl, name, version, { signal, deadline: ctx?.deadline }),
          ctx?.signal,
          on,
        ),
      listVersions: (type, vaultUrl, name, ctx) =>
        this.lists.run(
          { principal, vaultUrl, type: `${type}-versions`, name, version: "" },
          (signal) => kv.listVersions(type, vaultUrl, name, { signal, deadline: ctx?.deadline }),
          ctx?.signal,
          on,
        ),
    };
  }
}
