// Local Key Vault + Entra ID + IMDS + NMI stand-in. Clients reach it with no
// special code path: an AzureStackCloud environment file names the vault DNS
// suffix and authority, an HTTPS proxy (CONNECT) carries `<vault>.<suffix>:443`
// to the emulator's HTTPS port, and NODE_EXTRA_CA_CERTS / SSL_CERT_FILE trust
// its CA. See clientEnv().
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer, IncomingMessage, Server as HttpServer, ServerResponse } from "node:http";
import { createServer as createHttpsServer, Server as HttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Duplex } from "node:stream";
import { createLogger, Logger } from "../util/logger.js";
import { AdminHooks, handleAdmin, isAdminPath } from "./admin.js";
import type { EmulatorContext } from "./context.js";
import { classifyEntra, handleEntra } from "./entra.js";
import { FaultAction, FaultRule, FaultTable, isVaultRoute, Latency, LatencyTable, RouteKind, TokenBucket } from "./faults.js";
import { BadRequest, Exchange, parseRequest, sendJson, sleep } from "./http.js";
import { AppRegistration, IdentityRegistry, ManagedIdentity, PodIdentityBinding } from "./identities.js";
import { handleImds, handleNmi, isImdsPath, isNmiPath } from "./imds.js";
import { TokenSigner } from "./jwt.js";
import { classifyVault, handleVault, vaultFromHost } from "./keyvault.js";
import { handleConnect, ProxyConfig } from "./proxy.js";
import { applySeed, DEMO_SEED, DEMO_TENANT_ID, EmulatorSeed, loadSeedFile } from "./seed.js";
import { Counters, EmulatorStats, StatFilter } from "./stats.js";
import { EmulatorStore } from "./store.js";
import { createTlsMaterial } from "./tls.js";

export type { FaultAction, FaultRule, Latency, RouteKind } from "./faults.js";
export type { EmulatorStats, StatFilter, StatRow } from "./stats.js";
export type { EmulatorSeed } from "./seed.js";
export { EmulatorStore } from "./store.js";
export * from "./seed.js";

export interface EmulatorOptions {
  host?: string;
  httpsPort?: number;
  httpPort?: number;
  /** 2579 by default (upstream's hard-coded NMI port); 0 = ephemeral; -1 = disabled. */
  nmiPort?: number;
  dnsSuffix?: string;
  tenantId?: string;
  /** Replaces the demo seed; `{}` starts empty. */
  seed?: EmulatorSeed;
  seedFile?: string;
  /** Where ca.pem and the cloud environment file go; a temp dir by default. */
  stateDir?: string;
  /** Latency added to every Key Vault route: fixed ms or a distribution. */
  latencyMs?: Latency;
  /** Per-vault service limit; false turns it off. Default 4000 requests per 10 s. */
  throttle?: { requests: number; windowSeconds: number } | false;
  /** Extra hostnames served by the HTTPS server and tunnelled by the proxy. */
  interceptHosts?: string[];
  /** CONNECT routing table: host suffix → "host:port". */
  proxyRoutes?: Record<string, string>;
  tokenLifetimeSeconds?: number;
  log?: Logger;
}

export interface Emulator {
  readonly caPem: string;
  readonly caFile: string;
  /** https://localhost:<port> */
  readonly httpsUrl: string;
  /** https://localhost:<port>/ (Entra authority host) */
  readonly authorityHost: string;
  /** http://127.0.0.1:<httpPort> */
  readonly proxyUrl: string;
  /** http://127.0.0.1:<httpPort>, for AZURE_POD_IDENTITY_AUTHORITY_HOST (no trailing slash). */
  readonly imdsUrl: string;
  /** http://localhost:<nmiPort>, or "" when disabled. */
  readonly nmiUrl: string;
  readonly httpsPort: number;
  readonly httpPort: number;
  readonly nmiPort: number;
  readonly dnsSuffix: string;
  readonly tenantId: string;
  readonly stateDir: string;
  /** AzureStackCloud JSON file pointing at this emulator. */
  readonly cloudEnvFile: string;
  vaultUrl(vaultName: string): string;
  /** Env for a client process: proxy, CA trust and the IMDS host. */
  clientEnv(): Record<string, string>;
  readonly store: EmulatorStore;
  readonly identities: IdentityRegistry;
  readonly faults: { add(rule: FaultRule): void; clear(): void; pending(): number };
  /** Fixed ms or `{uniform:[min,max]}` / `{lognormal:{medianMs,sigma}}`; Key Vault routes unless `route` is given. */
  setLatency(latency: Latency, route?: RouteKind): void;
  /** Replaces the per-vault limit (buckets start full); false turns it off. */
  setThrottle(limit: { requests: number; windowSeconds: number } | false): void;
  /** Adds a CONNECT route: host suffix → "host:port". */
  addProxyRoute(hostSuffix: string, target: string): void;
  stats(): EmulatorStats;
  /** Sum of counters matching a filter. */
  count(filter?: StatFilter): number;
  resetStats(): void;
  addApp(app: AppRegistration): void;
  addManagedIdentity(mi: ManagedIdentity): void;
  addPodIdentity(binding: PodIdentityBinding): void;
  close(): Promise<void>;
}

function listen(server: HttpServer | HttpsServer, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** The principal behind a bearer token, if it is one of ours; for counting
 * requests that a fault answers before authentication runs. */
function peekPrincipal(ctx: EmulatorContext, req: IncomingMessage): string | undefined {
  const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? "");
  if (!m) return undefined;
  try {
    return String(ctx.signer.verify(m[1]!).appid);
  } catch {
    return undefined;
  }
}

function faultResponse(x: Exchange, a: Extract<FaultAction, { kind: "status" }>): void {
  const headers: Record<string, string> = {};
  if (a.retryAfterSeconds !== undefined) headers["retry-after"] = String(a.retryAfterSeconds);
  const code = a.code ?? (a.status === 429 ? "Throttled" : a.status >= 500 ? "InternalServerError" : "BadRequest");
  const message = a.message ?? `Injected fault: ${a.status}`;
  if (x.route.startsWith("entra.") || x.route === "imds.token") {
    sendJson(x, a.status, { error: a.status === 429 ? "temporarily_unavailable" : "server_error", error_description: `AADSTS90033: ${message}` }, headers);
  } else {
    sendJson(x, a.status, { error: { code, message } }, headers);
  }
}

export async function startEmulator(opts: EmulatorOptions = {}): Promise<Emulator> {
  const host = opts.host ?? "127.0.0.1";
  const dnsSuffix = (opts.dnsSuffix ?? "vault.akv.test").toLowerCase().replace(/^\.|\/$/g, "");
  const tenantId = opts.tenantId ?? DEMO_TENANT_ID;
  const log = opts.log ?? createLogger({ name: "emulator" });
  const ownStateDir = !opts.stateDir;
  const stateDir = opts.stateDir ?? mkdtempSync(join(tmpdir(), "akv-emulator-"));
  mkdirSync(stateDir, { recursive: true });
  const interceptHosts = (opts.interceptHosts ?? []).map((h) => h.toLowerCase());

  const throttleOpt = opts.throttle === undefined ? { requests: 4000, windowSeconds: 10 } : opts.throttle;
  let httpsPort = 0;
  const ctx: EmulatorContext = {
    store: new EmulatorStore(),
    identities: new IdentityRegistry(),
    signer: new TokenSigner(),
    faults: new FaultTable(),
    latency: new LatencyTable(opts.latencyMs ?? 0),
    throttle: throttleOpt ? new TokenBucket(throttleOpt.requests, throttleOpt.windowSeconds * 1000) : undefined,
    counters: new Counters(),
    log,
    dnsSuffix,
    tenantId,
    authorityBase: () => `https://localhost:${httpsPort}`,
    tokenLifetime: opts.tokenLifetimeSeconds ?? 3599,
  };
  ctx.store.onChange = (kind, vault, name, version) => log.v(3).info("object version created", { kind, vault, name, version });

  const seed = opts.seed ?? (opts.seedFile ? loadSeedFile(opts.seedFile) : DEMO_SEED);
  await applySeed(seed, ctx.store, ctx.identities);

  const hostnames = [`*.${dnsSuffix}`, dnsSuffix, "localhost", "127.0.0.1", ...interceptHosts];
  const tls = await createTlsMaterial({ stateDir: opts.stateDir, hostnames });
  const caFile = join(stateDir, "ca.pem");
  writeFileSync(caFile, tls.caPem);

  const hung = new Set<ServerResponse>();
  const tunnels = new Set<Duplex>();

  async function pipeline(x: Exchange, handler: () => Promise<void> | void): Promise<void> {
    const started = Date.now();
    try {
      const delay = ctx.latency.for(x.route);
      if (delay > 0) await sleep(delay);
      const fault = ctx.faults.take({ method: x.method, path: x.path, route: x.route, vault: x.vault });
      if (fault) ctx.counters.faultsInjected++;
      if (fault?.kind === "delay") await sleep(fault.ms);
      if (fault && fault.kind !== "delay") {
        x.principal = peekPrincipal(ctx, x.req);
        if (fault.kind === "reset") {
          x.status = 0;
          x.req.socket.destroy();
        } else if (fault.kind === "hang") {
          x.status = 0;
          hung.add(x.res);
          x.res.on("close", () => hung.delete(x.res));
        } else {
          faultResponse(x, fault);
        }
      } else {
        await handler();
      }
    } catch (e) {
      if (e instanceof BadRequest) {
        if (!x.res.headersSent) sendJson(x, 400, { error: { code: "BadParameter", message: e.message } });
      } else {
        log.error("emulator handler failed", e, { route: x.route, path: x.path });
        if (!x.res.headersSent) sendJson(x, 500, { error: { code: "InternalServerError", message: "emulator handler failed" } });
      }
    }
    ctx.counters.record(x.route, x.vault, x.status ?? 0, x.principal);
    log.v(5).info("request", { method: x.method, path: x.path, route: x.route, vault: x.vault, status: x.status, principal: x.principal, ms: Date.now() - started });
  }

  const onHttps = (req: IncomingMessage, res: ServerResponse) => {
    const p = parseRequest(req);
    const vault = vaultFromHost(p.hostname, dnsSuffix);
    if (vault) {
      const x: Exchange = { ...p, res, route: classifyVault(p.method, p.path), vault };
      void pipeline(x, () => handleVault(ctx, x, vault));
      return;
    }
    const route = classifyEntra(p.path);
    const x: Exchange = { ...p, res, route: route ?? "other" };
    void pipeline(x, () => (route ? handleEntra(ctx, x) : sendJson(x, 404, { error: { code: "NotFound", message: `no route for ${p.method} ${p.path}` } })));
  };

  let httpPortNum = 0;
  let nmiPortNum = 0;
  const info = () => ({
    httpsUrl: `https://localhost:${httpsPort}`,
    authorityHost: `https://localhost:${httpsPort}/`,
    proxyUrl: `http://127.0.0.1:${httpPortNum}`,
    imdsUrl: `http://127.0.0.1:${httpPortNum}`,
    nmiUrl: nmiPortNum ? `http://localhost:${nmiPortNum}` : "",
    dnsSuffix,
    tenantId,
    caFile,
    cloudEnvFile,
    vaults: ctx.store.vaultNames(),
    env: clientEnv(),
  });
  const resetAll = () => {
    ctx.counters.reset();
    ctx.faults.clear();
    ctx.throttle?.reset();
    ctx.latency.clear();
    ctx.latency.set(opts.latencyMs ?? 0);
  };
  const hooks: AdminHooks = { info, reset: resetAll };

  const onHttp = (req: IncomingMessage, res: ServerResponse) => {
    const p = parseRequest(req);
    if (isImdsPath(p.path)) {
      const x: Exchange = { ...p, res, route: "imds.token" };
      return void pipeline(x, () => handleImds(ctx, x));
    }
    if (isAdminPath(p.path)) {
      const x: Exchange = { ...p, res, route: "admin" };
      // Admin calls bypass faults and counters: they steer the test, they are not part of it.
      return void handleAdmin(ctx, hooks, x).catch((e: unknown) => log.error("admin request failed", e));
    }
    const x: Exchange = { ...p, res, route: "other" };
    void pipeline(x, () => sendJson(x, 404, { error: "not_found", error_description: `no route for ${p.method} ${p.path}` }));
  };

  const onNmi = (req: IncomingMessage, res: ServerResponse) => {
    const p = parseRequest(req);
    const x: Exchange = { ...p, res, route: isNmiPath(p.path) ? "nmi.token" : "other" };
    void pipeline(x, () => (x.route === "nmi.token" ? handleNmi(ctx, x) : sendJson(x, 404, { error: "not_found" })));
  };

  const https = createHttpsServer({ cert: tls.certPem + tls.caPem, key: tls.keyPem }, onHttps);
  const http = createHttpServer(onHttp);
  const proxyCfg: ProxyConfig = {
    httpsTarget: () => ({ host, port: httpsPort }),
    interceptHosts,
    routes: new Map(Object.entries(opts.proxyRoutes ?? {})),
  };
  http.on("connect", (req: IncomingMessage, socket: Duplex, head: Buffer) => handleConnect(ctx, proxyCfg, tunnels, req, socket, head));
  const nmiWanted = (opts.nmiPort ?? 2579) >= 0;
  const nmi = nmiWanted ? createHttpServer(onNmi) : undefined;

  const servers: (HttpServer | HttpsServer)[] = [];
  const closeAll = async () => {
    for (const r of hung) r.destroy();
    for (const t of tunnels) t.destroy();
    await Promise.all(
      servers.map(
        (s) =>
          new Promise<void>((resolve) => {
            s.close(() => resolve());
            s.closeAllConnections();
          }),
      ),
    );
  };
  try {
    httpsPort = await listen(https, opts.httpsPort ?? 0, host);
    servers.push(https);
    httpPortNum = await listen(http, opts.httpPort ?? 0, host);
    servers.push(http);
    if (nmi) {
      nmiPortNum = await listen(nmi, opts.nmiPort ?? 2579, host);
      servers.push(nmi);
    }
  } catch (e) {
    await closeAll();
    if (ownStateDir) rmSync(stateDir, { recursive: true, force: true });
    throw e;
  }

  const cloudEnvFile = join(stateDir, "azurestackcloud.json");
  writeFileSync(cloudEnvFile, JSON.stringify(cloudEnvironment(dnsSuffix, httpsPort), null, 2) + "\n");

  function clientEnv(): Record<string, string> {
    const proxy = `http://127.0.0.1:${httpPortNum}`;
    return {
      HTTPS_PROXY: proxy,
      https_proxy: proxy,
      NO_PROXY: "localhost,127.0.0.1",
      no_proxy: "localhost,127.0.0.1",
      NODE_EXTRA_CA_CERTS: caFile,
      SSL_CERT_FILE: caFile,
      AZURE_POD_IDENTITY_AUTHORITY_HOST: `http://127.0.0.1:${httpPortNum}`,
    };
  }

  log.info("emulator listening", { https: httpsPort, http: httpPortNum, nmi: nmiPortNum, dnsSuffix, tenantId });
  let closed = false;
  return {
    caPem: tls.caPem,
    caFile,
    httpsUrl: `https://localhost:${httpsPort}`,
    authorityHost: `https://localhost:${httpsPort}/`,
    proxyUrl: `http://127.0.0.1:${httpPortNum}`,
    imdsUrl: `http://127.0.0.1:${httpPortNum}`,
    nmiUrl: nmiPortNum ? `http://localhost:${nmiPortNum}` : "",
    httpsPort,
    httpPort: httpPortNum,
    nmiPort: nmiPortNum,
    dnsSuffix,
    tenantId,
    stateDir,
    cloudEnvFile,
    vaultUrl: (name: string) => `https://${name.toLowerCase()}.${dnsSuffix}/`,
    clientEnv,
    store: ctx.store,
    identities: ctx.identities,
    faults: { add: (r) => ctx.faults.add(r), clear: () => ctx.faults.clear(), pending: () => ctx.faults.pending() },
    setLatency: (ms, route) => ctx.latency.set(ms, route),
    setThrottle: (limit) => {
      ctx.throttle = limit ? new TokenBucket(limit.requests, limit.windowSeconds * 1000) : undefined;
    },
    addProxyRoute: (suffix, target) => void proxyCfg.routes.set(suffix, target),
    stats: () => ctx.counters.snapshot(),
    count: (f) => ctx.counters.count(f),
    resetStats: () => ctx.counters.reset(),
    addApp: (a) => ctx.identities.addApp(a),
    addManagedIdentity: (m) => ctx.identities.addManagedIdentity(m),
    addPodIdentity: (b) => ctx.identities.addPodIdentity(b),
    async close() {
      if (closed) return;
      closed = true;
      await closeAll();
      if (ownStateDir) rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/** go-autorest's Environment JSON (AZURE_ENVIRONMENT_FILEPATH) for this emulator. */
export function cloudEnvironment(dnsSuffix: string, httpsPort: number): Record<string, unknown> {
  const authority = `https://localhost:${httpsPort}/`;
  return {
    name: "AzureStackCloud",
    managementPortalURL: authority,
    publishSettingsURL: authority,
    serviceManagementEndpoint: `https://${dnsSuffix}/`,
    resourceManagerEndpoint: authority,
    activeDirectoryEndpoint: authority,
    galleryEndpoint: authority,
    keyVaultEndpoint: `https://${dnsSuffix}/`,
    graphEndpoint: authority,
    serviceBusEndpoint: authority,
    batchManagementEndpoint: authority,
    storageEndpointSuffix: "storage.akv.test",
    sqlDatabaseDNSSuffix: "sql.akv.test",
    trafficManagerDNSSuffix: "tm.akv.test",
    keyVaultDNSSuffix: dnsSuffix,
    serviceBusEndpointSuffix: "sb.akv.test",
    serviceManagementVMDNSSuffix: "vm.akv.test",
    resourceManagerVMDNSSuffix: "vm.akv.test",
    containerRegistryDNSSuffix: "cr.akv.test",
    tokenAudience: `https://${dnsSuffix}/`,
    resourceIdentifiers: { graph: authority, keyVault: `https://${dnsSuffix}`, datalake: authority, batch: authority, operationalInsights: authority, storage: authority },
  };
}

export { isVaultRoute };
