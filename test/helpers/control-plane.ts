// A real Kubernetes control plane for tests: etcd + kube-apiserver as child
// processes on free loopback ports, with everything (PKI, tokens, data, logs)
// in one temp dir that stop() removes. There is no controller-manager, so no
// garbage collection, namespace finalisation or token controller.
//
// Built so that a kubelet can join later (DESIGN.md tier 4): one cluster CA signs
// the serving cert and is also the --client-ca-file, so a kubelet client cert
// (CN=system:node:<name>, O=system:nodes) minted by issueClientCert() is trusted,
// and the apiserver already holds a kubelet client cert of its own.
import { spawn, type ChildProcess } from "node:child_process";
import { generateKeyPairSync, randomBytes, randomUUID } from "node:crypto";
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { createServer, type Server } from "node:http";
import { createServer as createNetServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import forge from "node-forge";
import { peerPath } from "../peers/peers.js";

export interface UserSpec {
  name: string;
  groups?: string[];
}

export interface ControlPlaneOptions {
  /** Users in the static token file (read once at start). More can be added later with addUser. */
  users?: UserSpec[];
  etcdPath?: string;
  apiserverPath?: string;
  /** kubectl binary; defaults to the peer build, then `kubectl` on PATH. */
  kubectlPath?: string;
  /** Extra kube-apiserver flags, e.g. `--feature-gates=…`. */
  extraApiserverFlags?: string[];
  /** Bound on etcd + apiserver readiness. */
  readyTimeoutMs?: number;
  /** Keep the temp dir after stop() for debugging (also AKV_CSI_KEEP_CONTROL_PLANE=1). */
  keepDir?: boolean;
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface KubectlOptions {
  input?: string;
  /** Act as this bearer token instead of the admin. */
  token?: string;
  /** Use this kubeconfig (e.g. from writeKubeconfig) instead of the admin's. */
  kubeconfig?: string;
  timeoutMs?: number;
}

/** Cluster PKI and service-account keys, kept together for components that join later. */
export interface ClusterPki {
  dir: string;
  caCert: string;
  caKey: string;
  serviceAccountKey: string;
  serviceAccountPub: string;
  /** Mints a client cert signed by the cluster CA: CN=user, O=groups. Returns the file paths. */
  issueClientCert(name: string, groups: string[]): { certFile: string; keyFile: string };
}

export interface ControlPlane {
  url: string;
  /** Admin bearer token (group system:masters). Never log it. */
  token: string;
  kubeconfigPath: string;
  /** CA that signed the apiserver's serving cert. */
  caFile: string;
  /** gitVersion from /version, e.g. v1.37.2. */
  version: string;
  dir: string;
  pki: ClusterPki;
  etcdUrl: string;
  pids: { etcd: number; apiserver: number };
  kubectlPath: string;
  kubectl(args: string[], opts?: KubectlOptions): Promise<KubectlResult>;
  /** Server-side apply as the admin; throws with kubectl's stderr on failure. */
  applyYaml(yamlText: string): Promise<string>;
  /** GET a JSON path on the apiserver as the admin (or the given token). */
  getJson<T = unknown>(path: string, token?: string): Promise<T>;
  /** Writes a kubeconfig for this cluster with a token or a client cert (see pki.issueClientCert); returns its path. */
  writeKubeconfig(name: string, user: { token: string } | { certFile: string; keyFile: string }): string;
  /**
   * A projected-style ServiceAccount token from the TokenRequest API (creates the
   * ServiceAccount if needed), as the kubelet passes to CSI drivers in
   * `csi.storage.k8s.io/serviceAccount.tokens`. Never log it.
   */
  serviceAccountToken(namespace: string, name: string, audience?: string, expirationSeconds?: number): Promise<string>;
  /** Token of a user given in opts.users (static token file). */
  userToken(name: string): string;
  /** A new bearer token for a user with these groups, served by the TokenReview webhook, so it works after start. */
  addUser(name: string, groups?: string[]): string;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;
function trackChild(child: ChildProcess): void {
  running.add(child);
  child.once("exit", () => running.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // A test run that dies must not leave etcd or an apiserver behind.
    process.once("exit", () => {
      for (const c of running) c.kill("SIGKILL");
    });
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createNetServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function newToken(): string {
  return randomBytes(24).toString("hex");
}

function tail(file: string, lines = 25): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

// ---------------------------------------------------------------- PKI

function rsaPem(): { privatePem: string; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return {
    privatePem: privateKey.export({ type: "pkcs1", format: "pem" }).toString(),
    publicPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
  };
}

interface CertRequest {
  cn: string;
  org?: string[];
  ca?: boolean;
  dnsNames?: string[];
  ips?: string[];
  usage: "ca" | "server" | "client";
}

function makeCert(req: CertRequest, issuer?: { cert: forge.pki.Certificate; keyPem: string }) {
  const keys = rsaPem();
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(keys.publicPem);
  cert.serialNumber = "01" + randomBytes(8).toString("hex");
  const now = Date.now();
  cert.validity.notBefore = new Date(now - 60_000);
  cert.validity.notAfter = new Date(now + 7 * 24 * 3600_000);
  const subject: forge.pki.CertificateField[] = [{ name: "commonName", value: req.cn }];
  for (const o of req.org ?? []) subject.push({ name: "organizationName", value: o });
  cert.setSubject(subject);
  cert.setIssuer(issuer ? issuer.cert.subject.attributes : subject);
  const ext: object[] = [{ name: "basicConstraints", cA: req.usage === "ca", critical: true }];
  if (req.usage === "ca") ext.push({ name: "keyUsage", keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true });
  else ext.push({ name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true });
  if (req.usage === "server") ext.push({ name: "extKeyUsage", serverAuth: true });
  if (req.usage === "client") ext.push({ name: "extKeyUsage", clientAuth: true });
  const alt = [...(req.dnsNames ?? []).map((value) => ({ type: 2, value })), ...(req.ips ?? []).map((ip) => ({ type: 7, ip }))];
  if (alt.length > 0) ext.push({ name: "subjectAltName", altNames: alt });
  ext.push({ name: "subjectKeyIdentifier" });
  cert.setExtensions(ext);
  cert.sign(forge.pki.privateKeyFromPem(issuer ? issuer.keyPem : keys.privatePem), forge.md.sha256.create());
  return { cert, certPem: forge.pki.certificateToPem(cert), keyPem: keys.privatePem };
}

function createPki(dir: string): ClusterPki & { servingCert: string; servingKey: string; kubeletClientCert: string; kubeletClientKey: string } {
  const write = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text, { mode: 0o600 });
    return p;
  };
  const ca = makeCert({ cn: "akv-csi-test-ca", usage: "ca" });
  const issuer = { cert: ca.cert, keyPem: ca.keyPem };
  const serving = makeCert(
    {
      cn: "kube-apiserver",
      usage: "server",
      dnsNames: ["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"],
      // 10.0.0.1 is the first address of --service-cluster-ip-range: the in-cluster service IP.
      ips: ["127.0.0.1", "10.0.0.1"],
    },
    issuer,
  );
  // The apiserver's identity towards kubelets (logs, exec) once one joins.
  const kubeletClient = makeCert({ cn: "kube-apiserver-kubelet-client", org: ["system:masters"], usage: "client" }, issuer);
  const sa = rsaPem();
  let n = 0;
  return {
    dir,
    caCert: write("ca.crt", ca.certPem),
    caKey: write("ca.key", ca.keyPem),
    servingCert: write("apiserver.crt", serving.certPem),
    servingKey: write("apiserver.key", serving.keyPem),
    kubeletClientCert: write("apiserver-kubelet-client.crt", kubeletClient.certPem),
    kubeletClientKey: write("apiserver-kubelet-client.key", kubeletClient.keyPem),
    serviceAccountKey: write("sa.key", sa.privatePem),
    serviceAccountPub: write("sa.pub", sa.publicPem),
    issueClientCert(name, groups) {
      const c = makeCert({ cn: name, org: groups, usage: "client" }, issuer);
      const base = `client-${++n}`;
      return { certFile: write(`${base}.crt`, c.certPem), keyFile: write(`${base}.key`, c.keyPem) };
    },
  };
}

// ---------------------------------------------------------------- tokens

/** The static token file the apiserver reads once at start: token,user,uid,"g1,g2". */
function tokenFileLine(token: string, user: UserSpec): string {
  const groups = (user.groups ?? []).join(",");
  return `${token},${user.name},${randomUUID()}${groups ? `,"${groups}"` : ""}\n`;
}

interface TokenReview {
  spec?: { token?: string };
}

/**
 * A TokenReview webhook on loopback so users added after start get tokens
 * without restarting the apiserver (the static file is not reloaded).
 */
async function startTokenWebhook(users: Map<string, UserSpec>): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      let review: TokenReview = {};
      try {
        review = JSON.parse(Buffer.concat(chunks).toString("utf8")) as TokenReview;
      } catch {
        /* answered as unauthenticated below */
      }
      const user = review.spec?.token ? users.get(review.spec.token) : undefined;
      const status = user
        ? { authenticated: true, user: { username: user.name, uid: `webhook-${user.name}`, groups: [...(user.groups ?? []), "system:authenticated"] } }
        : { authenticated: false };
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", status }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}/` };
}

// ---------------------------------------------------------------- processes

function startProcess(bin: string, args: string[], logFile: string): ChildProcess {
  const log = createWriteStream(logFile, { flags: "a" });
  const child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  trackChild(child);
  return child;
}

async function stopProcess(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

function exitedEarly(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function httpsGet(url: string, opts: { ca: Buffer; token?: string; timeoutMs?: number }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { ca: opts.ca, headers: opts.token ? { authorization: `Bearer ${opts.token}` } : {}, timeout: opts.timeoutMs ?? 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`timeout after ${opts.timeoutMs ?? 5000} ms`)));
    req.on("error", reject);
    req.end();
  });
}

async function waitFor(what: string, deadline: number, child: ChildProcess, logFile: string, probe: () => Promise<boolean>): Promise<void> {
  let lastError = "";
  while (Date.now() < deadline) {
    if (exitedEarly(child)) throw new Error(`${what} exited (code ${child.exitCode}, signal ${child.signalCode}); log tail:\n${tail(logFile)}`);
    try {
      if (await probe()) return;
    } catch (err) {
      lastError = (err as Error).message;
    }
    await sleep(250);
  }
  throw new Error(`${what} not ready in time (${lastError}); log tail:\n${tail(logFile)}`);
}

// ---------------------------------------------------------------- flags

/** etcd for one test run: its own data dir and ports, fsync off for speed. */
export function etcdFlags(dataDir: string, clientPort: number, peerPort: number): string[] {
  const client = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  return [
    "--name=default",
    `--data-dir=${dataDir}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=default=${peer}`,
    "--unsafe-no-fsync",
    "--log-level=warn",
  ];
}

/** Every apiserver flag in one place, including what a joining kubelet relies on. */
export function apiserverFlags(p: {
  dir: string;
  etcdUrl: string;
  port: number;
  pki: ReturnType<typeof createPki>;
  tokenFile: string;
  webhookConfig: string;
}): string[] {
  return [
    `--etcd-servers=${p.etcdUrl}`,
    "--bind-address=127.0.0.1",
    "--advertise-address=127.0.0.1",
    // Since 1.37 the endpoint reconciler refuses a loopback advertise address; with
    // no nodes or in-cluster clients yet, the kubernetes Service needs no endpoints.
    "--endpoint-reconciler-type=none",
    `--secure-port=${p.port}`,
    `--cert-dir=${join(p.dir, "apiserver-certs")}`,
    `--tls-cert-file=${p.pki.servingCert}`,
    `--tls-private-key-file=${p.pki.servingKey}`,
    `--client-ca-file=${p.pki.caCert}`,
    `--kubelet-client-certificate=${p.pki.kubeletClientCert}`,
    `--kubelet-client-key=${p.pki.kubeletClientKey}`,
    "--service-cluster-ip-range=10.0.0.0/24",
    "--allow-privileged=true",
    `--service-account-issuer=https://127.0.0.1:${p.port}`,
    `--service-account-key-file=${p.pki.serviceAccountPub}`,
    `--service-account-signing-key-file=${p.pki.serviceAccountKey}`,
    // Node authorizes a kubelet that joins later; RBAC everything else.
    "--authorization-mode=Node,RBAC",
    `--token-auth-file=${p.tokenFile}`,
    `--authentication-token-webhook-config-file=${p.webhookConfig}`,
    "--authentication-token-webhook-version=v1",
    // No token controller runs, so the ServiceAccount admission plugin would reject pods.
    "--disable-admission-plugins=ServiceAccount",
    "--profiling=false",
    "--v=1",
  ];
}

function kubeconfigYaml(server: string, caFile: string, user: { token?: string; certFile?: string; keyFile?: string }): string {
  const auth = user.token
    ? `    token: ${user.token}\n`
    : `    client-certificate: ${user.certFile}\n    client-key: ${user.keyFile}\n`;
  return (
    `apiVersion: v1\nkind: Config\n` +
    `clusters:\n- name: akv-csi-test\n  cluster:\n    server: ${server}\n    certificate-authority: ${caFile}\n` +
    `users:\n- name: user\n  user:\n${auth}` +
    `contexts:\n- name: akv-csi-test\n  context:\n    cluster: akv-csi-test\n    user: user\n` +
    `current-context: akv-csi-test\n`
  );
}

/** kubectl to use: the one built with the apiserver (same minor), else PATH. */
export function defaultKubectl(): string {
  return peerPath("kubectl") ?? "kubectl";
}

function runCommand(bin: string, args: string[], opts: { input?: string; timeoutMs: number; env?: NodeJS.ProcessEnv }): Promise<KubectlResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ["pipe", "pipe", "pipe"], env: opts.env ?? process.env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString("utf8")));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    child.stdin.on("error", () => undefined);
    child.stdin.end(opts.input ?? "");
  });
}

// ---------------------------------------------------------------- start

/** Free ports are picked then released, so a parallel run can take one first: retry then. */
export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(opts);
    } catch (err) {
      if (attempt >= 3 || !/address already in use/i.test((err as Error).message)) throw err;
    }
  }
}

async function startOnce(opts: ControlPlaneOptions): Promise<ControlPlane> {
  const etcdBin = opts.etcdPath ?? peerPath("etcd");
  const apiserverBin = opts.apiserverPath ?? peerPath("kube-apiserver");
  if (!etcdBin || !apiserverBin) throw new Error("etcd and kube-apiserver peers are not built (bash test/peers/build.sh etcd kube-apiserver)");
  const kubectlBin = opts.kubectlPath ?? defaultKubectl();
  const readyTimeoutMs = opts.readyTimeoutMs ?? 120_000;
  const keepDir = opts.keepDir ?? process.env.AKV_CSI_KEEP_CONTROL_PLANE === "1";

  const dir = mkdtempSync(join(tmpdir(), "akv-csi-cp-"));
  const children: ChildProcess[] = [];
  let webhook: Server | undefined;
  const cleanup = async () => {
    for (const c of children.reverse()) await stopProcess(c);
    if (webhook) await new Promise<void>((r) => webhook!.close(() => r()));
    if (!keepDir) rmSync(dir, { recursive: true, force: true });
  };

  try {
    const pki = createPki(dir);
    const adminToken = newToken();
    let tokenFile = tokenFileLine(adminToken, { name: "admin", groups: ["system:masters"] });
    const preStart = new Map<string, string>();
    for (const u of opts.users ?? []) {
      const t = newToken();
      preStart.set(u.name, t);
      tokenFile += tokenFileLine(t, u);
    }
    const tokenPath = join(dir, "tokens.csv");
    writeFileSync(tokenPath, tokenFile, { mode: 0o600 });

    const lateUsers = new Map<string, UserSpec>();
    const wh = await startTokenWebhook(lateUsers);
    webhook = wh.server;
    const webhookConfig = join(dir, "token-webhook.kubeconfig");
    writeFileSync(
      webhookConfig,
      `apiVersion: v1\nkind: Config\nclusters:\n- name: webhook\n  cluster:\n    server: ${wh.url}\n` +
        `users:\n- name: apiserver\n  user: {}\ncontexts:\n- name: webhook\n  context:\n    cluster: webhook\n    user: apiserver\ncurrent-context: webhook\n`,
    );

    const deadline = Date.now() + readyTimeoutMs;
    const [clientPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
    const etcdUrl = `http://127.0.0.1:${clientPort}`;
    const etcdLog = join(dir, "etcd.log");
    const etcd = startProcess(etcdBin, etcdFlags(join(dir, "etcd"), clientPort, peerPort), etcdLog);
    children.push(etcd);
    await waitFor("etcd", deadline, etcd, etcdLog, async () => {
      const res = await fetch(`${etcdUrl}/health`, { signal: AbortSignal.timeout(2000) });
      return res.ok && ((await res.json()) as { health?: string }).health === "true";
    });

    const apiLog = join(dir, "kube-apiserver.log");
    const url = `https://127.0.0.1:${apiPort}`;
    const apiserver = startProcess(
      apiserverBin,
      [...apiserverFlags({ dir, etcdUrl, port: apiPort, pki, tokenFile: tokenPath, webhookConfig }), ...(opts.extraApiserverFlags ?? [])],
      apiLog,
    );
    children.push(apiserver);
    const ca = readFileSync(pki.caCert);
    await waitFor("kube-apiserver", deadline, apiserver, apiLog, async () => {
      const res = await httpsGet(`${url}/readyz`, { ca, token: adminToken });
      if (res.status !== 200) throw new Error(`/readyz ${res.status}`);
      return true;
    });
    const versionInfo = JSON.parse((await httpsGet(`${url}/version`, { ca, token: adminToken })).body) as { gitVersion: string };

    const kubeconfigPath = join(dir, "admin.kubeconfig");
    writeFileSync(kubeconfigPath, kubeconfigYaml(url, pki.caCert, { token: adminToken }), { mode: 0o600 });

    const kubectl = async (args: string[], k: KubectlOptions = {}) => {
      const auth = k.token ? [`--token=${k.token}`] : [];
      // HOME in the temp dir keeps kubectl's discovery cache out of the real one.
      return runCommand(kubectlBin, [`--kubeconfig=${k.kubeconfig ?? kubeconfigPath}`, ...auth, ...args], {
        input: k.input,
        timeoutMs: k.timeoutMs ?? 60_000,
        env: { ...process.env, HOME: dir, KUBECONFIG: "" },
      });
    };

    let stopped = false;
    const cp: ControlPlane = {
      url,
      token: adminToken,
      kubeconfigPath,
      caFile: pki.caCert,
      version: versionInfo.gitVersion,
      dir,
      pki,
      etcdUrl,
      pids: { etcd: etcd.pid!, apiserver: apiserver.pid! },
      kubectlPath: kubectlBin,
      kubectl,
      async applyYaml(yamlText) {
        const res = await kubectl(["apply", "--server-side", "--field-manager=akv-csi-test", "-f", "-"], { input: yamlText });
        if (res.code !== 0) throw new Error(`kubectl apply failed (exit ${res.code}): ${res.stderr.trim()}`);
        return res.stdout;
      },
      async getJson<T>(path: string, token?: string) {
        const res = await httpsGet(`${url}${path}`, { ca, token: token ?? adminToken });
        if (res.status < 200 || res.status >= 300) throw new Error(`GET ${path}: HTTP ${res.status}: ${res.body.slice(0, 300)}`);
        return JSON.parse(res.body) as T;
      },
      writeKubeconfig(name, user) {
        if (!/^[\w.-]+$/.test(name)) throw new Error(`kubeconfig name ${JSON.stringify(name)}: letters, digits, . _ - only`);
        const path = join(dir, `${name}.kubeconfig`);
        writeFileSync(path, kubeconfigYaml(url, pki.caCert, user), { mode: 0o600 });
        return path;
      },
      async serviceAccountToken(namespace, name, audience, expirationSeconds = 3600) {
        const sa = await kubectl(["create", "serviceaccount", name, "-n", namespace]);
        if (sa.code !== 0 && !/AlreadyExists/.test(sa.stderr)) throw new Error(`create serviceaccount ${namespace}/${name}: ${sa.stderr.trim()}`);
        const args = ["create", "token", name, "-n", namespace, `--duration=${expirationSeconds}s`];
        if (audience) args.push(`--audience=${audience}`);
        const res = await kubectl(args);
        if (res.code !== 0) throw new Error(`create token ${namespace}/${name}: ${res.stderr.trim()}`);
        return res.stdout.trim();
      },
      userToken(name) {
        const t = preStart.get(name);
        if (t === undefined) throw new Error(`no user ${name} in opts.users`);
        return t;
      },
      addUser(name, groups = []) {
        const t = newToken();
        lateUsers.set(t, { name, groups });
        return t;
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        await cleanup();
      },
    };
    return cp;
  } catch (err) {
    await cleanup();
    throw err;
  }
}
