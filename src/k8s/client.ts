// A thin Kubernetes REST client on node:https: JSON in and out, Status
// bodies as KubeError, bounded retries for reads, and NDJSON watches. It is a
// few hundred lines instead of @kubernetes/client-node because a node daemon
// needs a handful of verbs and must stay small (style-and-ecosystem.md §B3).
import { X509Certificate } from "node:crypto";
import * as http from "node:http";
import * as https from "node:https";
import { isIP } from "node:net";
import * as tls from "node:tls";
import type { Logger } from "../util/logger.js";
import { redact, registerSecretValue } from "../util/redact.js";
import type { KubeConfig } from "./config.js";
import { KubeError } from "./errors.js";
import type { KubeList } from "./types.js";

export interface RequestOptions {
  signal?: AbortSignal;
  /** Overrides the client's per-request timeout. */
  timeoutMs?: number;
}

export interface WriteOptions extends RequestOptions {
  fieldManager?: string;
  dryRun?: boolean;
}

export interface ListOptions extends RequestOptions {
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  limit?: number;
}

export interface DeleteOptions extends RequestOptions {
  propagationPolicy?: "Orphan" | "Background" | "Foreground";
  preconditions?: { uid?: string; resourceVersion?: string };
  gracePeriodSeconds?: number;
}

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK";

export interface WatchOptions {
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  /** Aborting ends the watch; the promise then resolves. */
  signal: AbortSignal;
  /** Server-side watch lifetime (client-go picks 5–10 min); the stream then ends normally. */
  timeoutSeconds?: number;
  /** Default true. */
  allowWatchBookmarks?: boolean;
  /** Give up (KubeError Timeout) when nothing arrives for this long; default timeoutSeconds (or 300) + 30 s. */
  idleTimeoutMs?: number;
}

export type PatchType = "merge" | "strategic" | "json";

export interface KubeClient {
  readonly server: string;
  get<T>(path: string, opts?: RequestOptions): Promise<T>;
  list<T>(path: string, opts?: ListOptions): Promise<KubeList<T>>;
  create<T>(path: string, body: unknown, opts?: WriteOptions): Promise<T>;
  /** PUT; a metadata.resourceVersion in the body makes it conditional (409 Conflict if stale). */
  update<T>(path: string, body: unknown, opts?: WriteOptions): Promise<T>;
  patch<T>(path: string, body: unknown, type?: PatchType, opts?: WriteOptions): Promise<T>;
  delete(path: string, opts?: DeleteOptions): Promise<void>;
  /** Streams events until the server ends the watch (resolves), the signal aborts
   * (resolves), or an error or watch ERROR event arrives (rejects with KubeError;
   * 410 Gone means relist). */
  watch<T>(path: string, opts: WatchOptions, onEvent: (type: WatchEventType, obj: T) => void): Promise<void>;
  /** Closes idle keep-alive sockets. */
  close(): void;
}

export interface ClientOptions {
  /** Per request, default 30 s. Watches use an idle timeout instead. */
  timeoutMs?: number;
  log?: Logger;
  /** Retries after the first attempt for retryable failures (default 3). */
  retries?: number;
  /** First backoff step (default 200 ms), doubled per retry, capped at 5 s. */
  retryBaseMs?: number;
  maxSockets?: number;
}

const CONTENT_TYPES: Record<PatchType, string> = {
  merge: "application/merge-patch+json",
  strategic: "application/strategic-merge-patch+json",
  json: "application/json-patch+json",
};

const DEFAULT_USER_AGENT = `akv-csi (${process.platform}/${process.arch})`;
const MAX_RETRY_DELAY_MS = 5_000;

interface Raw {
  status: number;
  text: string;
  retryAfter?: string;
}

interface Call {
  method: string;
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
}

/**
 * tls.checkServerIdentity, except that an IP host is matched with
 * X509Certificate.checkIP: Node 22.23's checkServerIdentity rejects every IPv6
 * address SAN (e.g. https://[::1]:6443 against IP:::1), which checkIP gets right.
 */
export function checkServerIdentity(host: string, cert: tls.PeerCertificate): Error | undefined {
  if (isIP(host) && cert.raw) {
    try {
      if (new X509Certificate(cert.raw).checkIP(host) !== undefined) return undefined;
    } catch {
      /* fall through to Node's own check and its error */
    }
  }
  return tls.checkServerIdentity(host, cert);
}

export function createKubeClient(cfg: KubeConfig, opts: ClientOptions = {}): KubeClient {
  const base = new URL(cfg.server);
  const secure = base.protocol === "https:";
  const hostname = base.hostname.replace(/^\[(.*)\]$/, "$1");
  const port = base.port ? Number(base.port) : secure ? 443 : 80;
  const basePath = base.pathname.replace(/\/+$/, "");
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const retries = opts.retries ?? 3;
  const retryBaseMs = opts.retryBaseMs ?? 200;
  const log = opts.log;
  const agentOpts = { keepAlive: true, maxSockets: opts.maxSockets ?? 64, maxFreeSockets: 4, scheduling: "lifo" as const };
  const agent: http.Agent = secure
    ? new https.Agent({
        ...agentOpts,
        ...(cfg.ca ? { ca: cfg.ca } : {}),
        ...(cfg.clientCert ? { cert: cfg.clientCert } : {}),
        ...(cfg.clientKey ? { key: cfg.clientKey } : {}),
        rejectUnauthorized: !cfg.insecureSkipTlsVerify,
        ...(cfg.tlsServerName ? { servername: cfg.tlsServerName } : {}),
        checkServerIdentity,
      })
    : new http.Agent(agentOpts);
  const transport = secure ? https : http;
  const userAgent = cfg.userAgent ?? DEFAULT_USER_AGENT;

  const scrub = (s: string): string => redact(s) as string;

  function headers(contentType?: string, length?: number): http.OutgoingHttpHeaders {
    const h: http.OutgoingHttpHeaders = { Accept: "application/json", "User-Agent": userAgent };
    if (cfg.token) {
      const t = cfg.token();
      if (t) {
        registerSecretValue(t);
        h.Authorization = `Bearer ${t}`;
      }
    }
    if (contentType) h["Content-Type"] = contentType;
    if (length !== undefined) h["Content-Length"] = length;
    return h;
  }

  function urlPath(path: string, query?: Call["query"]): string {
    if (!path.startsWith("/")) throw new TypeError(`API path must start with "/": ${path}`);
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== "") q.set(k, String(v));
    const qs = q.toString();
    return basePath + path + (qs ? `?${qs}` : "");
  }

  /** Turns a transport failure into a status-0 KubeError whose text names the verb and path only. */
  function transportError(method: string, path: string, e: unknown): KubeError {
    const err = e as NodeJS.ErrnoException;
    const code = err.code ? ` (${err.code})` : "";
    const ke = new KubeError(0, "Unreachable", scrub(`${method} ${cfg.server}${path}: ${err.message}${code}`));
    if (err.code) ke.code = err.code;
    return ke;
  }

  function abortError(signal: AbortSignal): Error {
    const r: unknown = signal.reason;
    if (r instanceof Error) return r;
    const e = new Error("the operation was aborted");
    e.name = "AbortError";
    return e;
  }

  function once(call: Call): Promise<Raw> {
    const payload = call.body === undefined ? undefined : Buffer.from(JSON.stringify(call.body));
    const p = urlPath(call.path, call.query);
    const limit = call.timeoutMs ?? timeoutMs;
    return new Promise<Raw>((resolve, reject) => {
      if (call.signal?.aborted) return reject(abortError(call.signal));
      let settled = false;
      const finish = (f: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        call.signal?.removeEventListener("abort", onAbort);
        f();
      };
      const req = transport.request({
        agent,
        hostname,
        port,
        method: call.method,
        path: p,
        headers: headers(payload ? (call.contentType ?? "application/json") : undefined, payload?.length),
      });
      const onAbort = () => {
        finish(() => reject(abortError(call.signal!)));
        req.destroy();
      };
      const timer = setTimeout(() => {
        finish(() => reject(new KubeError(0, "Timeout", `${call.method} ${cfg.server}${call.path}: request timed out after ${limit} ms`)));
        req.destroy();
      }, limit);
      call.signal?.addEventListener("abort", onAbort, { once: true });
      req.on("error", (e) =>
        finish(() => {
          const ke = transportError(call.method, call.path, e);
          if (req.reusedSocket) ke.reusedSocket = true;
          reject(ke);
        }),
      );
      req.on("response", (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", (e) => finish(() => reject(transportError(call.method, call.path, e))));
        res.on("end", () => {
          const retryAfter = res.headers["retry-after"];
          finish(() =>
            resolve({
              status: res.statusCode ?? 0,
              text: Buffer.concat(chunks).toString("utf8"),
              ...(typeof retryAfter === "string" ? { retryAfter } : {}),
            }),
          );
        });
      });
      req.end(payload);
    });
  }

  /** Reads (GET) are retried on 429, 5xx and lost connections; writes only on
   * 429, refused connections, and a reset of a reused keep-alive socket (the
   * server closed it as idle before reading the request), where the server
   * cannot have acted. */
  function retryable(method: string, e: unknown): boolean {
    if (!(e instanceof KubeError)) return false;
    if (e.status === 429) return true;
    if (e.reason === "Timeout" && e.status === 0) return false;
    if (e.status === 0) return method === "GET" || e.code === "ECONNREFUSED" || (e.code === "ECONNRESET" && e.reusedSocket === true);
    return method === "GET" && e.status >= 500 && e.status !== 501;
  }

  function sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(abortError(signal));
      const t = setTimeout(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      }, ms);
      const onAbort = () => {
        clearTimeout(t);
        reject(abortError(signal!));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  async function request<T>(call: Call): Promise<T> {
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      let err: unknown;
      try {
        const raw = await once(call);
        log?.v(5).info("kube request", { method: call.method, path: call.path, status: raw.status, ms: Date.now() - started });
        if (raw.status < 400) {
          if (raw.text === "") return undefined as T;
          try {
            return JSON.parse(raw.text) as T;
          } catch {
            throw new KubeError(raw.status, "InternalError", `${call.method} ${call.path}: the server sent a non-JSON response`);
          }
        }
        err = KubeError.fromResponse(raw.status, scrub(raw.text), raw.retryAfter);
      } catch (e) {
        err = e;
      }
      if (attempt >= retries || !retryable(call.method, err) || call.signal?.aborted) throw err;
      const ke = err as KubeError;
      const backoff = Math.min(MAX_RETRY_DELAY_MS, retryBaseMs * 2 ** attempt);
      const delay = ke.retryAfterSeconds !== undefined ? Math.min(MAX_RETRY_DELAY_MS, ke.retryAfterSeconds * 1000) : backoff * (0.75 + Math.random() / 2);
      log?.v(4).info("kube request retry", { method: call.method, path: call.path, status: ke.status, reason: ke.reason, attempt: attempt + 1, delayMs: Math.round(delay) });
      await sleep(delay, call.signal);
    }
  }

  const writeQuery = (o?: WriteOptions) => ({ fieldManager: o?.fieldManager, dryRun: o?.dryRun ? "All" : undefined });
  const common = (o?: RequestOptions) => ({
    ...(o?.signal ? { signal: o.signal } : {}),
    ...(o?.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
  });

  function watch<T>(path: string, o: WatchOptions, onEvent: (type: WatchEventType, obj: T) => void): Promise<void> {
    const p = urlPath(path, {
      watch: 1,
      allowWatchBookmarks: o.allowWatchBookmarks === false ? undefined : "true",
      labelSelector: o.labelSelector,
      fieldSelector: o.fieldSelector,
      resourceVersion: o.resourceVersion,
      timeoutSeconds: o.timeoutSeconds,
    });
    // A silent dead connection would hang forever: give up when nothing (not even
    // a bookmark) arrives for longer than the server-side timeout plus slack.
    const idleMs = o.idleTimeoutMs ?? ((o.timeoutSeconds ?? 300) + 30) * 1000;
    return new Promise<void>((resolve, reject) => {
      if (o.signal.aborted) return resolve();
      let settled = false;
      let idle: NodeJS.Timeout | undefined;
      const finish = (err?: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(idle);
        o.signal.removeEventListener("abort", onAbort);
        req.destroy();
        if (err === undefined) resolve();
        else reject(err instanceof Error ? err : new Error("watch failed"));
      };
      const touch = () => {
        clearTimeout(idle);
        idle = setTimeout(() => finish(new KubeError(0, "Timeout", `WATCH ${cfg.server}${path}: no data for ${idleMs} ms`)), idleMs);
      };
      const req = transport.request({ agent, hostname, port, method: "GET", path: p, headers: headers() });
      const onAbort = () => finish();
      o.signal.addEventListener("abort", onAbort, { once: true });
      touch();
      req.on("error", (e) => finish(transportError("WATCH", path, e)));
      req.on("response", (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 400) {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => finish(KubeError.fromResponse(status, scrub(Buffer.concat(chunks).toString("utf8")), res.headers["retry-after"])));
          res.on("error", (e) => finish(transportError("WATCH", path, e)));
          return;
        }
        log?.v(5).info("kube watch started", { path, resourceVersion: o.resourceVersion });
        let buf = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          touch();
          buf += chunk;
          let nl: number;
          while (!settled && (nl = buf.indexOf("\n")) >= 0) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            if (line) handleLine(line);
          }
        });
        res.on("end", () => {
          const rest = buf.trim();
          if (rest && !settled) handleLine(rest);
          finish();
        });
        res.on("error", (e) => finish(transportError("WATCH", path, e)));
        const lost = () => finish(new KubeError(0, "Unreachable", `WATCH ${cfg.server}${path}: connection lost`));
        res.on("aborted", lost);
        res.on("close", () => {
          if (!res.complete) lost();
        });
      });
      const handleLine = (line: string) => {
        let ev: { type?: string; object?: unknown };
        try {
          ev = JSON.parse(line) as typeof ev;
        } catch {
          return finish(new KubeError(0, "InternalError", `WATCH ${path}: malformed event line`));
        }
        if (ev.type === "ERROR") return finish(KubeError.fromStatus((ev.object ?? {})));
        if (ev.type === "ADDED" || ev.type === "MODIFIED" || ev.type === "DELETED" || ev.type === "BOOKMARK") {
          try {
            onEvent(ev.type, ev.object as T);
          } catch (e) {
            finish(e);
          }
        }
      };
      req.end();
    });
  }

  return {
    server: cfg.server,
    get: <T>(path: string, o?: RequestOptions) => request<T>({ method: "GET", path, ...common(o) }),
    list: <T>(path: string, o?: ListOptions) =>
      request<KubeList<T>>({
        method: "GET",
        path,
        query: { labelSelector: o?.labelSelector, fieldSelector: o?.fieldSelector, resourceVersion: o?.resourceVersion, limit: o?.limit },
        ...common(o),
      }),
    create: <T>(path: string, body: unknown, o?: WriteOptions) => request<T>({ method: "POST", path, body, query: writeQuery(o), ...common(o) }),
    update: <T>(path: string, body: unknown, o?: WriteOptions) => request<T>({ method: "PUT", path, body, query: writeQuery(o), ...common(o) }),
    patch: <T>(path: string, body: unknown, type: PatchType = "merge", o?: WriteOptions) =>
      request<T>({ method: "PATCH", path, body, contentType: CONTENT_TYPES[type], query: writeQuery(o), ...common(o) }),
    delete: async (path: string, o?: DeleteOptions) => {
      const body =
        o?.propagationPolicy || o?.preconditions || o?.gracePeriodSeconds !== undefined
          ? {
              apiVersion: "v1",
              kind: "DeleteOptions",
              ...(o.propagationPolicy ? { propagationPolicy: o.propagationPolicy } : {}),
              ...(o.preconditions ? { preconditions: o.preconditions } : {}),
              ...(o.gracePeriodSeconds !== undefined ? { gracePeriodSeconds: o.gracePeriodSeconds } : {}),
            }
          : undefined;
      await request<unknown>({ method: "DELETE", path, body, ...common(o) });
    },
    watch,
    close: () => agent.destroy(),
  };
}
