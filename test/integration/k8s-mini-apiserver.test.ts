// The in-memory API server's own semantics, which the demo and the driver's
// fast integration tests lean on: auth, TokenRequest, selectors, watch
// transitions, bookmarks, preconditions and the error Status bodies.
import { expect } from "chai";
import { createPublicKey, verify } from "node:crypto";
import { mergePatch, parseFieldSelector, parseLabelSelector, startMiniApiServer, type MiniApiServer } from "../../src/demo/mini-apiserver.js";
import {
  createKubeClient,
  csiDriverPath,
  isNotFound,
  KubeError,
  loadKubeConfig,
  NODE_NAME_LABEL,
  serviceAccountPath,
  spcPath,
  spcpsPath,
  tokenRequestPath,
  type KubeClient,
  type KubeObject,
  type SecretProviderClass,
  type TokenRequest,
} from "../../src/k8s/index.js";

const sa = { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "app", namespace: "default" } };
const spcV1 = (name: string, labels: Record<string, string> = {}) => ({
  apiVersion: "secrets-store.csi.x-k8s.io/v1",
  kind: "SecretProviderClass",
  metadata: { name, namespace: "default", labels },
  spec: { provider: "azure", parameters: { keyvaultName: "kv" } },
});

describe("mini API server", function () {
  this.timeout(15000);
  let srv: MiniApiServer;
  let client: KubeClient;

  before(async () => {
    srv = await startMiniApiServer({ objects: [sa, spcV1("one", { tier: "a" })], bookmarkIntervalMs: 50 });
    client = createKubeClient(loadKubeConfig({ kubeconfig: srv.kubeconfigPath, env: {} }), { timeoutMs: 2000, retries: 0 });
  });
  after(async () => {
    client.close();
    await srv.close();
  });

  it("answers 401 with an Unauthorized Status without the token, and health without auth", async () => {
    const res = await fetch(`${srv.url}${spcPath("default", "one")}`);
    expect(res.status).to.equal(401);
    const body = (await res.json()) as { kind: string; reason: string; code: number };
    expect(body).to.include({ kind: "Status", reason: "Unauthorized", code: 401 });
    expect((await fetch(`${srv.url}/healthz`)).status).to.equal(200);
    expect(srv.requests.at(-1)?.authenticated).to.equal(false);
  });

  it("issues a TokenRequest JWT for a ServiceAccount, verifiable with the issuer key and usable as a bearer", async () => {
    const tr = await client.create<TokenRequest>(tokenRequestPath("default", "app"), {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenRequest",
      spec: { audiences: ["api://AzureADTokenExchange"], expirationSeconds: 3600, boundObjectRef: { kind: "Pod", name: "web", uid: "pod-uid" } },
    });
    const jwt = tr.status!.token;
    const [h, p, s] = jwt.split(".") as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, "base64url").toString()) as Record<string, unknown>;
    expect(claims.aud).to.deep.equal(["api://AzureADTokenExchange"]);
    expect(claims.sub).to.equal("system:serviceaccount:default:app");
    expect((claims["kubernetes.io"] as { pod: { uid: string } }).pod.uid).to.equal("pod-uid");
    const key = createPublicKey({ key: srv.issuerJwk as import("node:crypto").JsonWebKey, format: "jwk" });
    expect(verify("sha256", Buffer.from(`${h}.${p}`), { key, dsaEncoding: "ieee-p1363" }, Buffer.from(s, "base64url"))).to.equal(true);
    expect(JSON.parse(Buffer.from(h, "base64url").toString()).alg).to.equal("ES256");

    const asPod = createKubeClient({ server: srv.url, token: () => jwt }, { retries: 0 });
    expect((await asPod.get<SecretProviderClass>(spcPath("default", "one"))).metadata.name).to.equal("one");
    asPod.close();

    const missing = await client.create(tokenRequestPath("default", "ghost"), { spec: { audiences: ["x"] } }).catch((x: unknown) => x);
    expect((missing as KubeError).message).to.equal('serviceaccounts "ghost" not found');
    const short = await client.create(tokenRequestPath("default", "app"), { spec: { expirationSeconds: 60 } }).catch((x: unknown) => x);
    expect((short as KubeError).status).to.equal(422);
  });

  it("serves the v1alpha1 version of the CRDs from the same storage", async () => {
    const alpha = await client.get<SecretProviderClass>("/apis/secrets-store.csi.x-k8s.io/v1alpha1/namespaces/default/secretproviderclasses/one");
    expect(alpha.apiVersion).to.equal("secrets-store.csi.x-k8s.io/v1alpha1");
    expect(alpha.spec.provider).to.equal("azure");
  });

  it("handles cluster-scoped kinds and 404s unknown paths", async () => {
    await client.create(csiDriverPath(), { apiVersion: "storage.k8s.io/v1", kind: "CSIDriver", metadata: { name: "secrets-store.csi.k8s.io" }, spec: { podInfoOnMount: true } });
    const d = await client.get<KubeObject>(csiDriverPath("secrets-store.csi.k8s.io"));
    expect(d.metadata.namespace).to.equal(undefined);
    const e = await client.get("/apis/example.com/v1/widgets").catch((x: unknown) => x);
    expect(isNotFound(e)).to.equal(true);
    expect((e as Error).message).to.equal("the server responded with 404: 404 page not found");
    const known = await client.get("/api/v1/namespaces/default/widgets").catch((x: unknown) => x);
    expect((known as Error).message).to.equal("the server could not find the requested resource");
  });

  it("validates creates and updates like the API server", async () => {
    const withRv = await client.create(spcPath("default"), { ...spcV1("rv"), metadata: { name: "rv", resourceVersion: "5" } }).catch((x: unknown) => x);
    expect((withRv as Error).message).to.contain("resourceVersion should not be set");
    const wrongNs = await client.create(spcPath("default"), { ...spcV1("x"), metadata: { name: "x", namespace: "other" } }).catch((x: unknown) => x);
    expect((wrongNs as KubeError).status).to.equal(400);
    const gen = await client.create<KubeObject>(spcPath("default"), { ...spcV1("g"), metadata: { generateName: "gen-" } });
    expect(gen.metadata.name).to.match(/^gen-[0-9a-f]{5}$/);
    const putMissing = await client.update(spcPath("default", "absent"), spcV1("absent")).catch((x: unknown) => x);
    expect(isNotFound(putMissing)).to.equal(true);
    // as kube-apiserver: custom resources need a resourceVersion on update, built-in kinds do not
    const unconditional = await client.update(spcPath("default", "one"), spcV1("one", { tier: "a" })).catch((x: unknown) => x);
    expect((unconditional as KubeError).message).to.contain("metadata.resourceVersion: Invalid value: 0: must be specified for an update");
    await client.update(serviceAccountPath("default", "app"), { ...sa, metadata: { ...sa.metadata, labels: { x: "1" } } });
    const badType = await fetch(`${srv.url}${spcPath("default", "one")}`, { method: "PATCH", headers: { Authorization: `Bearer ${srv.token}`, "Content-Type": "application/json" }, body: "{}" });
    expect(badType.status).to.equal(415);
    // as kube-apiserver: no strategic merge patch for custom resources
    const smp = await client.patch(spcPath("default", "one"), { metadata: { labels: { a: "b" } } }, "strategic").catch((x: unknown) => x);
    expect((smp as KubeError).status).to.equal(415);
    const badJson = await client.patch(spcPath("default", "one"), [{ op: "test", path: "/spec/provider", value: "aws" }], "json").catch((x: unknown) => x);
    expect((badJson as KubeError).status).to.equal(422);
  });

  it("checks delete preconditions", async () => {
    const cur = await client.get<KubeObject>(spcPath("default", "one"));
    const stale = await client.delete(spcPath("default", "one"), { preconditions: { uid: "not-the-uid" } }).catch((x: unknown) => x);
    expect((stale as KubeError).reason).to.equal("Conflict");
    expect((stale as KubeError).message).to.contain("the UID in the precondition (not-the-uid) does not match the UID in record");
    expect(srv.store.get(spcPath("default", "one"))).to.not.equal(undefined);
    await client.delete(spcPath("default", "one"), { preconditions: { uid: cur.metadata.uid! } });
    expect(srv.store.get(spcPath("default", "one"))).to.equal(undefined);
    srv.store.put(spcV1("one", { tier: "a" }));
  });

  it("a watch without resourceVersion starts with ADDED for existing objects; label changes become ADDED/DELETED", async () => {
    srv.store.put(spcV1("w-1", { tier: "w" }));
    const events: string[] = [];
    const ac = new AbortController();
    const done = client.watch<KubeObject>(spcPath("default"), { labelSelector: "tier=w", signal: ac.signal }, (t, o) => {
      if (t !== "BOOKMARK") events.push(`${t} ${o.metadata.name}`);
    });
    const until = async (n: number) => {
      for (let i = 0; i < 300 && events.length < n; i++) await new Promise((r) => setTimeout(r, 10));
    };
    await until(1);
    await client.patch(spcPath("default", "w-1"), { metadata: { labels: { tier: "x" } } });
    await client.patch(spcPath("default", "one"), { metadata: { labels: { tier: "w" } } });
    await until(3);
    ac.abort();
    await done;
    expect(events).to.deep.equal(["ADDED w-1", "DELETED w-1", "ADDED one"]);
  });

  it("sends bookmarks when allowed and ends a watch at timeoutSeconds", async () => {
    const types: string[] = [];
    let bookmarkRv = "";
    const t0 = Date.now();
    await client.watch<KubeObject>(spcpsPath(), { resourceVersion: srv.store.resourceVersion(), timeoutSeconds: 1, signal: new AbortController().signal }, (t, o) => {
      types.push(t);
      if (t === "BOOKMARK") bookmarkRv = o.metadata.resourceVersion ?? "";
    });
    expect(Date.now() - t0).to.be.within(900, 3000);
    expect(types).to.include("BOOKMARK");
    expect(bookmarkRv).to.equal(srv.store.resourceVersion());
  });

  it("store access: put emits to watchers, list filters, delete GCs dependents", async () => {
    const owner = srv.store.put<KubeObject>(spcV1("owner"));
    srv.store.put({
      apiVersion: "secrets-store.csi.x-k8s.io/v1",
      kind: "SecretProviderClassPodStatus",
      metadata: { name: "dep", namespace: "default", labels: { [NODE_NAME_LABEL]: "n1" }, ownerReferences: [{ apiVersion: "v1", kind: "SecretProviderClass", name: "owner", uid: owner.metadata.uid }] },
      status: {},
    });
    expect(srv.store.list(spcpsPath(), { labelSelector: `${NODE_NAME_LABEL}=n1` })).to.have.length(1);
    expect(srv.store.delete(spcPath("default", "owner"))).to.equal(true);
    expect(srv.store.list(spcpsPath())).to.have.length(0);
    expect(srv.store.get(serviceAccountPath("default", "app"))).to.not.equal(undefined);
  });

  it("writes a 0600 kubeconfig and removes it on close", async () => {
    const s2 = await startMiniApiServer();
    const fs = await import("node:fs");
    expect(fs.statSync(s2.kubeconfigPath).mode & 0o777).to.equal(0o600);
    expect(fs.readFileSync(s2.kubeconfigPath, "utf8")).to.contain(s2.token);
    await s2.close();
    expect(fs.existsSync(s2.kubeconfigPath)).to.equal(false);
  });
});

describe("mini API server helpers", () => {
  it("label selectors: =, ==, !=, in, notin, exists, !exists", () => {
    const l = { app: "web", tier: "front" };
    const m = (s: string) => parseLabelSelector(s)(l);
    expect([m("app=web"), m("app==web"), m("app!=web"), m("app in (db, web)"), m("app notin (web)"), m("tier"), m("!tier"), m("!missing,app=web")]).to.deep.equal([
      true, true, false, true, false, true, false, true,
    ]);
    expect(() => parseLabelSelector("app=>web")).to.throw(/unable to parse requirement/);
  });

  it("field selectors on nested fields", () => {
    const pod = { metadata: { name: "p", namespace: "ns" }, spec: { nodeName: "node-a" }, status: { phase: "Running" } };
    expect(parseFieldSelector("spec.nodeName=node-a,metadata.namespace=ns")(pod)).to.equal(true);
    expect(parseFieldSelector("status.phase!=Running")(pod)).to.equal(false);
    expect(parseFieldSelector("spec.missing=")(pod)).to.equal(true);
  });

  it("merge patch follows RFC 7386", () => {
    expect(mergePatch({ a: 1, b: { c: 2, d: 3 }, l: [1, 2] }, { b: { c: null, e: 4 }, l: [3] })).to.deep.equal({ a: 1, b: { d: 3, e: 4 }, l: [3] });
  });
});
