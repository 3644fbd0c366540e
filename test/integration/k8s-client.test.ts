// The Kubernetes client against the in-memory API server over real HTTPS
// with a generated CA: verbs, Status errors, watches, informer relist, and
// the failure paths (timeouts, retries, unreachable) the driver depends on.
import { expect } from "chai";
import { startMiniApiServer, type MiniApiServer } from "../../src/demo/mini-apiserver.js";
import {
  createInformer,
  createKubeClient,
  isAlreadyExists,
  isConflict,
  isGone,
  isNotFound,
  isTimeout,
  isUnauthorized,
  isUnreachable,
  KubeError,
  loadKubeConfig,
  NODE_NAME_LABEL,
  podPath,
  secretPath,
  spcPath,
  spcpsPath,
  type KubeClient,
  type KubeConfig,
  type Pod,
  type Secret,
  type SecretProviderClass,
  type SecretProviderClassPodStatus,
} from "../../src/k8s/index.js";
import { memoryLogger } from "../../src/util/logger.js";

const pod = (name: string, node: string, labels: Record<string, string> = {}) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace: "default", labels },
  spec: { nodeName: node, volumes: [{ name: "kv", csi: { driver: "secrets-store.csi.k8s.io", volumeAttributes: { secretProviderClass: "azure-kv" } } }] },
  status: { phase: "Running" },
});

const spc = {
  apiVersion: "secrets-store.csi.x-k8s.io/v1",
  kind: "SecretProviderClass",
  metadata: { name: "azure-kv", namespace: "default" },
  spec: { provider: "azure", parameters: { keyvaultName: "kv1", objects: "array: []" } },
};

const spcps = (name: string, node: string): SecretProviderClassPodStatus => ({
  apiVersion: "secrets-store.csi.x-k8s.io/v1",
  kind: "SecretProviderClassPodStatus",
  metadata: { name, namespace: "default", labels: { [NODE_NAME_LABEL]: node } },
  status: { podName: "web-a", secretProviderClassName: "azure-kv", mounted: true, targetPath: "/var/lib/kubelet/pods/x/volumes/kubernetes.io~csi/kv/mount", objects: [] },
});

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("k8s client against the mini API server (HTTPS)", function () {
  this.timeout(15000);
  let srv: MiniApiServer;
  let cfg: KubeConfig;
  let client: KubeClient;
  const mem = memoryLogger(10);

  before(async () => {
    srv = await startMiniApiServer({ https: true, objects: [pod("web-a", "node-a", { app: "web" }), pod("web-b", "node-b", { app: "web" }), pod("db-a", "node-a", { app: "db" }), spc] });
    cfg = loadKubeConfig({ kubeconfig: srv.kubeconfigPath, env: {} });
    client = createKubeClient(cfg, { timeoutMs: 2000, retryBaseMs: 5, log: mem.log });
  });
  after(async () => {
    client.close();
    await srv.close();
  });
  afterEach(() => srv.clearFaults());

  it("verifies the server with the kubeconfig CA and gets an SPC", async () => {
    expect(srv.url).to.match(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(cfg.ca?.toString()).to.contain("BEGIN CERTIFICATE");
    const got = await client.get<SecretProviderClass>(spcPath("default", "azure-kv"));
    expect(got.spec.provider).to.equal("azure");
    expect(got.metadata.uid).to.be.a("string");
  });

  it("rejects a server whose CA it does not trust", async () => {
    const untrusting = createKubeClient({ ...cfg, ca: undefined }, { timeoutMs: 2000, retries: 0 });
    try {
      const e = await untrusting.get(spcPath("default", "azure-kv")).catch((x: unknown) => x);
      expect(isUnreachable(e)).to.equal(true);
      expect((e as Error).message).to.match(/certificate/i);
    } finally {
      untrusting.close();
    }
  });

  it("turns a 404 Status into a NotFound KubeError with the server's message", async () => {
    const e = await client.get(spcPath("default", "nope")).catch((x: unknown) => x);
    expect(e).to.be.instanceOf(KubeError);
    expect(isNotFound(e)).to.equal(true);
    expect((e as KubeError).status).to.equal(404);
    expect((e as KubeError).message).to.equal('secretproviderclasses.secrets-store.csi.x-k8s.io "nope" not found');
  });

  it("lists with field and label selectors, across namespaces", async () => {
    const onA = await client.list<Pod>(podPath(), { fieldSelector: "spec.nodeName=node-a" });
    expect(onA.items.map((p) => p.metadata.name)).to.deep.equal(["db-a", "web-a"]);
    expect(onA.metadata.resourceVersion).to.match(/^\d+$/);
    const web = await client.list<Pod>(podPath("default"), { labelSelector: "app=web", fieldSelector: "spec.nodeName=node-a" });
    expect(web.items.map((p) => p.metadata.name)).to.deep.equal(["web-a"]);
    const notDb = await client.list<Pod>(podPath(), { labelSelector: "app notin (db)" });
    expect(notDb.items).to.have.length(2);
    const last = srv.requests.filter((r) => r.path === "/api/v1/pods").pop();
    expect(last?.query.labelSelector).to.equal("app notin (db)");
  });

  it("creates, reports AlreadyExists, and conflicts on a stale resourceVersion", async () => {
    const created = await client.create<SecretProviderClassPodStatus>(spcpsPath("default"), spcps("web-a-default-azure-kv", "node-a"));
    expect(created.metadata.resourceVersion).to.match(/^\d+$/);
    const dup = await client.create(spcpsPath("default"), spcps("web-a-default-azure-kv", "node-a")).catch((x: unknown) => x);
    expect(isAlreadyExists(dup)).to.equal(true);
    expect((dup as KubeError).reason).to.equal("AlreadyExists");
    expect((dup as KubeError).message).to.contain('"web-a-default-azure-kv" already exists');

    const p = spcpsPath("default", "web-a-default-azure-kv");
    const fresh = await client.get<SecretProviderClassPodStatus>(p);
    fresh.metadata.labels = { [NODE_NAME_LABEL]: "node-b" };
    const updated = await client.update<SecretProviderClassPodStatus>(p, fresh);
    expect(updated.metadata.labels?.[NODE_NAME_LABEL]).to.equal("node-b");
    expect(Number(updated.metadata.resourceVersion)).to.be.greaterThan(Number(fresh.metadata.resourceVersion));

    const stale = await client.update(p, fresh).catch((x: unknown) => x);
    expect(isConflict(stale)).to.equal(true);
    expect((stale as Error).message).to.contain("the object has been modified");
  });

  it("merge-patches, honours a resourceVersion precondition in the patch, and sends the right content types", async () => {
    const p = spcpsPath("default", "web-a-default-azure-kv");
    const cur = await client.get<SecretProviderClassPodStatus>(p);
    const patched = await client.patch<SecretProviderClassPodStatus>(p, { metadata: { labels: { extra: "1" } }, status: { mounted: false } });
    expect(patched.metadata.labels?.extra).to.equal("1");
    expect(patched.metadata.labels?.[NODE_NAME_LABEL]).to.equal("node-b");
    expect(patched.status.mounted).to.equal(false);
    expect(srv.requests.at(-1)?.contentType).to.equal("application/merge-patch+json");

    const locked = await client.patch(p, { metadata: { resourceVersion: cur.metadata.resourceVersion, labels: { x: "y" } } }).catch((x: unknown) => x);
    expect(isConflict(locked)).to.equal(true);

    // strategic merge patch (built-in kinds only) merges ownerReferences by uid
    const sp = secretPath("default", "smp");
    await client.create(secretPath("default"), { apiVersion: "v1", kind: "Secret", metadata: { name: "smp" } });
    const owner = { apiVersion: "v1", kind: "Pod", name: "web-a", uid: "u-1" };
    await client.patch(sp, { metadata: { ownerReferences: [owner] } }, "strategic");
    const both = await client.patch<Secret>(sp, { metadata: { ownerReferences: [{ ...owner, name: "web-b", uid: "u-2" }] } }, "strategic");
    expect(srv.requests.at(-1)?.contentType).to.equal("application/strategic-merge-patch+json");
    expect(both.metadata.ownerReferences?.map((o) => o.uid)).to.deep.equal(["u-1", "u-2"]);
    await client.delete(sp);

    const j = await client.patch<SecretProviderClassPodStatus>(p, [{ op: "replace", path: "/status/podName", value: "web-z" }], "json");
    expect(j.status.podName).to.equal("web-z");
    expect(srv.requests.at(-1)?.contentType).to.equal("application/json-patch+json");
  });

  it("deletes, and a second delete is NotFound", async () => {
    const p = spcpsPath("default", "web-a-default-azure-kv");
    await client.delete(p);
    expect(isNotFound(await client.get(p).catch((x: unknown) => x))).to.equal(true);
    expect(isNotFound(await client.delete(p).catch((x: unknown) => x))).to.equal(true);
  });

  it("streams ADDED, MODIFIED and DELETED events from a resourceVersion, and stops on abort", async () => {
    const start = await client.list(spcpsPath("default"));
    const events: string[] = [];
    const ac = new AbortController();
    const done = client.watch<SecretProviderClassPodStatus>(
      spcpsPath("default"),
      { resourceVersion: start.metadata.resourceVersion, labelSelector: `${NODE_NAME_LABEL}=node-w`, signal: ac.signal },
      (type, obj) => events.push(`${type} ${obj.metadata.name}`),
    );
    const p = spcpsPath("default", "w1");
    await client.create(spcpsPath("default"), spcps("w1", "node-w"));
    await client.create(spcpsPath("default"), spcps("other", "node-x"));
    await client.patch(p, { status: { mounted: false } });
    await client.delete(p);
    await until(() => events.length >= 3);
    ac.abort();
    await done;
    expect(events).to.deep.equal(["ADDED w1", "MODIFIED w1", "DELETED w1"]);
    const w = srv.requests.find((r) => r.query.watch === "1");
    expect(w?.query.allowWatchBookmarks).to.equal("true");
  });

  it("gives up on a watch that goes silent", async () => {
    const t0 = Date.now();
    const e = await client.watch(secretPath("quiet"), { signal: new AbortController().signal, idleTimeoutMs: 300 }, () => undefined).catch((x: unknown) => x);
    expect(isTimeout(e)).to.equal(true);
    expect(Date.now() - t0).to.be.within(250, 2000);
  });

  it("rejects a watch from a compacted resourceVersion with 410 Gone", async () => {
    const old = (await client.list(spcpsPath("default"))).metadata.resourceVersion;
    await client.create(spcpsPath("default"), spcps("gone-1", "node-g"));
    srv.compact();
    const e = await client.watch(spcpsPath("default"), { resourceVersion: old, signal: new AbortController().signal }, () => undefined).catch((x: unknown) => x);
    expect(isGone(e)).to.equal(true);
    expect((e as KubeError).message).to.contain("too old resource version");
  });

  it("informer: syncs, follows changes, and relists after a 410", async () => {
    const inf = createInformer<SecretProviderClassPodStatus>(client, spcpsPath(), { labelSelector: `${NODE_NAME_LABEL}=node-i`, initialBackoffMs: 20 });
    const seen: string[] = [];
    inf.onChange((t, o) => seen.push(`${t} ${o.metadata.name}`));
    srv.store.put(spcps("i1", "node-i"));
    await inf.synced();
    expect(inf.get("default", "i1")?.status.podName).to.equal("web-a");
    srv.store.put(spcps("i2", "node-i"));
    await until(() => inf.list().length === 2);

    // Lose the watch and compact history while changes happen: only a relist can catch up.
    const listsBefore = srv.requests.filter((r) => r.path === "/apis/secrets-store.csi.x-k8s.io/v1/secretproviderclasspodstatuses" && !r.query.watch).length;
    srv.closeWatches({ gone: true });
    srv.store.delete(spcpsPath("default", "i1"));
    srv.store.put(spcps("i3", "node-i"));
    srv.compact();
    await until(() => inf.get("default", "i3") !== undefined && inf.get("default", "i1") === undefined);
    const listsAfter = srv.requests.filter((r) => r.path === "/apis/secrets-store.csi.x-k8s.io/v1/secretproviderclasspodstatuses" && !r.query.watch).length;
    expect(listsAfter).to.be.greaterThan(listsBefore);
    expect(seen).to.include.members(["ADDED i1", "ADDED i2", "DELETED i1", "ADDED i3"]);
    inf.stop();
  });

  it("informer: resumes the watch after the server ends it, without relisting", async () => {
    const inf = createInformer<Pod>(client, podPath(), { fieldSelector: "spec.nodeName=node-r", initialBackoffMs: 20 });
    await inf.synced();
    const lists = () => srv.requests.filter((r) => r.path === "/api/v1/pods" && r.query.fieldSelector === "spec.nodeName=node-r" && !r.query.watch).length;
    expect(lists()).to.equal(1);
    srv.closeWatches();
    srv.store.put(pod("r1", "node-r"));
    await until(() => inf.get("default", "r1") !== undefined);
    expect(lists()).to.equal(1);
    inf.stop();
  });

  it("times out a request that gets no answer", async () => {
    srv.fault({ delayMs: 1500 });
    const t0 = Date.now();
    const e = await client.get(spcPath("default", "azure-kv"), { timeoutMs: 200 }).catch((x: unknown) => x);
    expect(isTimeout(e)).to.equal(true);
    expect(isUnreachable(e)).to.equal(true);
    expect(Date.now() - t0).to.be.lessThan(1200);
  });

  it("retries reads on 5xx and 429, but not writes on 5xx", async () => {
    srv.fault({ status: 503, count: 2 });
    const n0 = srv.requests.length;
    const got = await client.get<SecretProviderClass>(spcPath("default", "azure-kv"));
    expect(got.metadata.name).to.equal("azure-kv");
    expect(srv.requests.length - n0).to.equal(3);

    srv.fault({ status: 500, count: 1 });
    const e = await client.create(secretPath("default"), { apiVersion: "v1", kind: "Secret", metadata: { name: "s1" } }).catch((x: unknown) => x);
    expect((e as KubeError).status).to.equal(500);
    expect(srv.store.get(secretPath("default", "s1"))).to.equal(undefined);

    srv.fault({ status: 429, count: 1, retryAfterSeconds: 0 });
    await client.create(secretPath("default"), { apiVersion: "v1", kind: "Secret", metadata: { name: "s1" } });
    expect(srv.store.get(secretPath("default", "s1"))).to.not.equal(undefined);

    srv.fault({ status: 503, count: 10 });
    const gaveUp = await client.get(spcPath("default", "azure-kv")).catch((x: unknown) => x);
    expect((gaveUp as KubeError).reason).to.equal("ServiceUnavailable");
  });

  it("reports an unreachable server, then recovers when it comes back", async () => {
    await srv.suspend();
    const e = await client.get(spcPath("default", "azure-kv"), { timeoutMs: 500 }).catch((x: unknown) => x);
    expect(isUnreachable(e)).to.equal(true);
    await srv.resume();
    const ok = await client.get<SecretProviderClass>(spcPath("default", "azure-kv"));
    expect(ok.metadata.name).to.equal("azure-kv");

    // A reset on a fresh connection may come after the server acted: a write is not retried.
    const fresh = createKubeClient(cfg, { retryBaseMs: 5 });
    srv.fault({ unreachable: true, count: 1 });
    const reset = await fresh.create(secretPath("default"), { apiVersion: "v1", kind: "Secret", metadata: { name: "s2" } }).catch((x: unknown) => x);
    expect(isUnreachable(reset)).to.equal(true);
    expect((reset as KubeError).reusedSocket).to.equal(undefined);
    // On a reused keep-alive socket it is the idle-close race, which Node documents as safe to retry.
    await fresh.get(spcPath("default", "azure-kv"));
    srv.fault({ unreachable: true, count: 1 });
    await fresh.create(secretPath("default"), { apiVersion: "v1", kind: "Secret", metadata: { name: "s3" } });
    expect(srv.store.get(secretPath("default", "s3"))).to.not.equal(undefined);
    fresh.close();
  });

  it("retries a write whose connection was refused (the server cannot have acted)", async () => {
    const patient = createKubeClient(cfg, { timeoutMs: 2000, retryBaseMs: 150 });
    try {
      await srv.suspend();
      const refused = await createKubeClient(cfg, { retries: 0 }).get(spcPath("default", "azure-kv")).catch((x: unknown) => x);
      expect((refused as KubeError).code).to.equal("ECONNREFUSED");
      const pending = patient.create(secretPath("default"), { apiVersion: "v1", kind: "Secret", metadata: { name: "after-refused" } });
      await new Promise((r) => setTimeout(r, 40));
      await srv.resume();
      await pending;
      expect(srv.store.get(secretPath("default", "after-refused"))).to.not.equal(undefined);
    } finally {
      await srv.resume();
      patient.close();
    }
  });

  it("aborts a request through its signal", async () => {
    srv.fault({ delayMs: 1000 });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const e = await client.get(spcPath("default", "azure-kv"), { signal: ac.signal }).catch((x: unknown) => x);
    expect((e as Error).name).to.equal("AbortError");
  });

  it("needs the bearer token, and never puts it (or the client key) in an error or log line", async () => {
    const anon = createKubeClient({ ...cfg, token: undefined }, { retries: 0 });
    const e401 = await anon.get(spcPath("default", "azure-kv")).catch((x: unknown) => x);
    anon.close();
    expect(isUnauthorized(e401)).to.equal(true);

    const key = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDTESTKEYMATERIAL\n-----END PRIVATE KEY-----\n";
    const errors: unknown[] = [e401];
    // the server echoes the token back in an error body
    srv.fault({ status: 400, message: `bad token ${srv.token}` });
    errors.push(await client.get(spcPath("default", "azure-kv")).catch((x: unknown) => x));
    errors.push(await client.get(spcPath("default", "missing")).catch((x: unknown) => x));
    await srv.suspend();
    errors.push(await client.get(spcPath("default", "azure-kv"), { timeoutMs: 300 }).catch((x: unknown) => x));
    const badKey = createKubeClient({ ...cfg, clientCert: Buffer.from("not a cert"), clientKey: Buffer.from(key) }, { retries: 0, log: mem.log });
    errors.push(await Promise.resolve().then(() => badKey.get(spcPath("default", "azure-kv"))).catch((x: unknown) => x));
    badKey.close();
    await srv.resume();
    expect(errors.every((e) => e instanceof Error)).to.equal(true);
    expect((errors[1] as Error).message).to.contain("bad token ***stripped***");
    const text = [...errors.map((e) => `${String(e)} ${JSON.stringify(e)} ${(e as Error).stack}`), ...mem.lines].join("\n");
    expect(text).to.not.contain(srv.token);
    expect(text).to.not.contain("TESTKEYMATERIAL");
    expect(mem.lines.some((l) => l.includes("kube request"))).to.equal(true);
  });

  it("garbage-collects an SPCPS when its owning pod is deleted", async () => {
    const owner = await client.get<Pod>(podPath("default", "web-b"));
    const s = spcps("web-b-default-azure-kv", "node-b");
    s.metadata.ownerReferences = [{ apiVersion: "v1", kind: "Pod", name: "web-b", uid: owner.metadata.uid! }];
    await client.create(spcpsPath("default"), s);
    await client.delete(podPath("default", "web-b"));
    expect(srv.store.get(spcpsPath("default", "web-b-default-azure-kv"))).to.equal(undefined);
  });
});

describe("k8s client over IPv6 loopback", () => {
  it("connects to https://[::1]:port and verifies the IP SAN", async () => {
    const srv = await startMiniApiServer({ https: true, host: "::1", objects: [spc] });
    try {
      const cfg = loadKubeConfig({ kubeconfig: srv.kubeconfigPath, env: {} });
      expect(cfg.server).to.match(/^https:\/\/\[::1\]:\d+$/);
      const client = createKubeClient(cfg);
      const got = await client.get<SecretProviderClass>(spcPath("default", "azure-kv"));
      expect(got.metadata.name).to.equal("azure-kv");
      client.close();
    } finally {
      await srv.close();
    }
  });
});

describe("k8s client against the mini API server (plain HTTP)", () => {
  it("works over http:// with the same kubeconfig flow", async () => {
    const srv = await startMiniApiServer({ objects: [spc] });
    try {
      const client = createKubeClient(loadKubeConfig({ kubeconfig: srv.kubeconfigPath, env: {} }));
      const got = await client.get<SecretProviderClass>(spcPath("default", "azure-kv"));
      expect(srv.url).to.match(/^http:\/\//);
      expect(got.spec.parameters?.keyvaultName).to.equal("kv1");
      client.close();
    } finally {
      await srv.close();
    }
  });
});
