// Where to find the API server and how to authenticate, resolved in the
// order controller-runtime uses: --kubeconfig, $KUBECONFIG, in-cluster, then
// ~/.kube/config. Only the kubeconfig subset a node daemon or a developer
// needs is supported; anything else fails with an error naming the field.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { registerSecretValue } from "../util/redact.js";

export interface KubeConfig {
  /** https://host:port (http:// only for local test servers). */
  server: string;
  ca?: Buffer;
  insecureSkipTlsVerify?: boolean;
  /** SNI / certificate name when it differs from the server host. */
  tlsServerName?: string;
  /** Called per request: projected tokens rotate, so file-backed tokens are re-read. */
  token?: () => string;
  clientCert?: Buffer;
  clientKey?: Buffer;
  userAgent?: string;
  /** The context's namespace, or the pod's own namespace in-cluster. */
  namespace?: string;
  /** Where this came from (a kubeconfig path or "in-cluster"); for log lines. */
  source?: string;
}

export interface LoadOptions {
  /** The --kubeconfig flag. */
  kubeconfig?: string;
  env?: NodeJS.ProcessEnv;
  /** Overrides current-context. */
  context?: string;
  /** For tests: where the in-cluster token, ca.crt and namespace live. */
  serviceAccountDir?: string;
  /** For tests: token file cache clock. */
  now?: () => number;
}

export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";
/** Projected tokens are refreshed by kubelet long before expiry; once a minute is plenty. */
export const TOKEN_REREAD_MS = 60_000;

export class KubeConfigError extends Error {
  override readonly name = "KubeConfigError";
}

export function loadKubeConfig(opts: LoadOptions = {}): KubeConfig {
  const env = opts.env ?? process.env;
  if (opts.kubeconfig) return fromKubeconfigFile(opts.kubeconfig, opts);
  const fromEnv = env.KUBECONFIG?.split(path.delimiter).filter(Boolean) ?? [];
  if (fromEnv.length > 0) {
    const existing = fromEnv.filter((f) => fs.existsSync(f));
    if (existing.length === 0) throw new KubeConfigError(`KUBECONFIG names no existing file: ${fromEnv.join(path.delimiter)}`);
    return fromKubeconfigFiles(existing, opts);
  }
  const inCluster = tryInCluster(env, opts);
  if (inCluster) return inCluster;
  const home = env.HOME || os.homedir();
  const homeConfig = path.join(home, ".kube", "config");
  if (fs.existsSync(homeConfig)) return fromKubeconfigFile(homeConfig, opts);
  throw new KubeConfigError(
    "no Kubernetes configuration: pass --kubeconfig, set KUBECONFIG, run in a pod (KUBERNETES_SERVICE_HOST/PORT), or create ~/.kube/config",
  );
}

/** rest.InClusterConfig: undefined when not in a cluster (so the caller falls through). */
export function tryInCluster(env: NodeJS.ProcessEnv, opts: LoadOptions = {}): KubeConfig | undefined {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) return undefined;
  const dir = opts.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  const tokenFile = path.join(dir, "token");
  if (!fs.existsSync(tokenFile)) return undefined;
  const cfg: KubeConfig = {
    server: `https://${host.includes(":") ? `[${host}]` : host}:${port}`,
    token: fileToken(tokenFile, opts.now),
    source: "in-cluster",
  };
  const caFile = path.join(dir, "ca.crt");
  if (fs.existsSync(caFile)) cfg.ca = fs.readFileSync(caFile);
  const nsFile = path.join(dir, "namespace");
  if (fs.existsSync(nsFile)) cfg.namespace = fs.readFileSync(nsFile, "utf8").trim();
  return cfg;
}

/** A token getter that re-reads its file at most once per TOKEN_REREAD_MS and
 * keeps the last good value if a later read fails (kubelet swaps it atomically,
 * but a read can still race a rename). The first read must succeed. */
export function fileToken(file: string, now: () => number = Date.now): () => string {
  const read = (): string => {
    const t = fs.readFileSync(file, "utf8").trim();
    registerSecretValue(t);
    return t;
  };
  let value = read();
  if (!value) throw new KubeConfigError(`token file ${file} is empty`);
  let readAt = now();
  return () => {
    if (now() - readAt >= TOKEN_REREAD_MS) {
      readAt = now();
      try {
        value = read() || value;
      } catch {
        // keep the previous token; the next request will surface a 401 if it expired
      }
    }
    return value;
  };
}

/** yaml is loaded only when a kubeconfig is parsed: an in-cluster daemon never pays for it. */
function parseYaml(text: string): unknown {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const yaml = require("yaml") as typeof import("yaml");
  return yaml.parse(text);
}

interface NamedEntry<T> {
  name?: string;
  cluster?: T;
  context?: T;
  user?: T;
}

type Dict = Record<string, unknown>;

/** One parsed kubeconfig file; relative paths in its entries resolve against `base`. */
interface Source {
  doc: Dict;
  base: string;
}

function parseDoc(text: string, where: string): Dict {
  let doc: unknown;
  try {
    doc = parseYaml(text) ?? {};
  } catch (e) {
    throw new KubeConfigError(`${where}: not valid YAML: ${(e as Error).message.split("\n")[0]}`);
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw new KubeConfigError(`${where}: not a mapping`);
  return doc as Dict;
}

function readSource(file: string): Source {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new KubeConfigError(`cannot read kubeconfig ${file}: ${(e as Error).message}`);
  }
  return { doc: parseDoc(text, `kubeconfig ${file}`), base: path.dirname(path.resolve(file)) };
}

export function fromKubeconfigFile(file: string, opts: LoadOptions = {}): KubeConfig {
  return fromSources([readSource(file)], `kubeconfig ${file}`, file, opts);
}

/** $KUBECONFIG semantics (client-go's merge): the first file that sets
 * current-context wins, and so does the first file defining a named cluster,
 * context or user. */
export function fromKubeconfigFiles(files: string[], opts: LoadOptions = {}): KubeConfig {
  if (files.length === 1) return fromKubeconfigFile(files[0]!, opts);
  const list = files.join(path.delimiter);
  return fromSources(files.map(readSource), `KUBECONFIG ${list}`, list, opts);
}

/** Parses kubeconfig text; relative file references resolve against `file`'s directory. */
export function fromKubeconfigText(text: string, opts: LoadOptions & { file?: string } = {}): KubeConfig {
  const where = `kubeconfig ${opts.file ?? "(inline)"}`;
  const base = opts.file ? path.dirname(path.resolve(opts.file)) : process.cwd();
  return fromSources([{ doc: parseDoc(text, where), base }], where, opts.file ?? "kubeconfig", opts);
}

function fromSources(sources: Source[], where: string, label: string, opts: LoadOptions): KubeConfig {
  const current = sources.map((s) => s.doc["current-context"]).find((c) => typeof c === "string" && c !== "") as string | undefined;
  const contextName = opts.context ?? current;
  if (!contextName) throw new KubeConfigError(`${where}: current-context is not set`);
  const { body: ctx } = findNamed(sources, "contexts", "context", contextName, where);
  const clusterName = ctx.cluster as string | undefined;
  if (!clusterName) throw new KubeConfigError(`${where}: context "${contextName}" has no cluster`);
  const { body: cluster, base: clusterBase } = findNamed(sources, "clusters", "cluster", clusterName, where);
  const server = cluster.server as string | undefined;
  if (!server) throw new KubeConfigError(`${where}: cluster "${clusterName}" has no server`);
  if (!/^https?:\/\//.test(server)) throw new KubeConfigError(`${where}: cluster "${clusterName}" server must be an http(s) URL`);
  let base = clusterBase;

  const read = (p: string, field: string, owner: string): Buffer => {
    const abs = path.isAbsolute(p) ? p : path.join(base, p);
    try {
      return fs.readFileSync(abs);
    } catch (e) {
      throw new KubeConfigError(`${where}: ${owner} ${field} ${abs}: ${(e as NodeJS.ErrnoException).code ?? "unreadable"}`);
    }
  };
  const data = (d: unknown, field: string, owner: string): Buffer => {
    if (typeof d !== "string" || !/^[A-Za-z0-9+/=\s]+$/.test(d)) throw new KubeConfigError(`${where}: ${owner} ${field} is not base64`);
    return Buffer.from(d, "base64");
  };

  const cfg: KubeConfig = { server: server.replace(/\/+$/, ""), source: label };
  const cOwner = `cluster "${clusterName}"`;
  if (cluster["certificate-authority-data"]) cfg.ca = data(cluster["certificate-authority-data"], "certificate-authority-data", cOwner);
  else if (cluster["certificate-authority"]) cfg.ca = read(cluster["certificate-authority"] as string, "certificate-authority", cOwner);
  if (cluster["insecure-skip-tls-verify"] === true) cfg.insecureSkipTlsVerify = true;
  if (typeof cluster["tls-server-name"] === "string" && cluster["tls-server-name"]) cfg.tlsServerName = cluster["tls-server-name"];
  if (typeof ctx.namespace === "string" && ctx.namespace) cfg.namespace = ctx.namespace;

  const userName = ctx.user as string | undefined;
  if (userName) {
    const found = findNamed(sources, "users", "user", userName, where);
    const user = found.body;
    base = found.base;
    const uOwner = `user "${userName}"`;
    if (user.exec) throw new KubeConfigError(`${where}: ${uOwner} uses an exec credential plugin, which is not supported; use token, tokenFile or a client certificate`);
    if (user["auth-provider"]) throw new KubeConfigError(`${where}: ${uOwner} uses an auth-provider, which is not supported; use token, tokenFile or a client certificate`);
    if (user.username || user.password) throw new KubeConfigError(`${where}: ${uOwner} uses basic auth, which is not supported; use token, tokenFile or a client certificate`);
    if (typeof user.token === "string" && user.token) {
      const t = user.token;
      registerSecretValue(t);
      cfg.token = () => t;
    } else if (typeof user.tokenFile === "string" && user.tokenFile) {
      const abs = path.isAbsolute(user.tokenFile) ? user.tokenFile : path.join(base, user.tokenFile);
      try {
        cfg.token = fileToken(abs, opts.now);
      } catch (e) {
        if (e instanceof KubeConfigError) throw new KubeConfigError(`${where}: ${uOwner} ${e.message}`);
        throw new KubeConfigError(`${where}: ${uOwner} tokenFile ${abs}: ${(e as NodeJS.ErrnoException).code ?? "unreadable"}`);
      }
    }
    if (user["client-certificate-data"]) cfg.clientCert = data(user["client-certificate-data"], "client-certificate-data", uOwner);
    else if (user["client-certificate"]) cfg.clientCert = read(user["client-certificate"] as string, "client-certificate", uOwner);
    if (user["client-key-data"]) cfg.clientKey = data(user["client-key-data"], "client-key-data", uOwner);
    else if (user["client-key"]) cfg.clientKey = read(user["client-key"] as string, "client-key", uOwner);
    if (cfg.clientCert && !cfg.clientKey) throw new KubeConfigError(`${where}: ${uOwner} has a client certificate but no client-key or client-key-data`);
    if (cfg.clientKey && !cfg.clientCert) throw new KubeConfigError(`${where}: ${uOwner} has a client key but no client-certificate or client-certificate-data`);
  }
  return cfg;
}

function findNamed(sources: Source[], list: "clusters" | "contexts" | "users", field: "cluster" | "context" | "user", name: string, where: string): { body: Dict; base: string } {
  for (const src of sources) {
    const entries = (Array.isArray(src.doc[list]) ? src.doc[list] : []) as NamedEntry<Dict>[];
    const hit = entries.find((e) => e && e.name === name);
    if (!hit) continue;
    const body = hit[field];
    if (!body || typeof body !== "object") throw new KubeConfigError(`${where}: ${field} "${name}" has no ${field} section`);
    return { body, base: src.base };
  }
  throw new KubeConfigError(`${where}: ${field} "${name}" not found in ${list}`);
}
