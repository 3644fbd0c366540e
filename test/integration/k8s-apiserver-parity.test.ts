// Against the real kube-apiserver (etcd + kube-apiserver peers, like the
// test/peers tier): the in-memory API server must answer the driver's calls
// as the real one does (status, reason, message, watch events), and the
// client's client-certificate and in-cluster token paths must authenticate.
import { expect } from "chai";
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { startMiniApiServer } from "../../src/demo/mini-apiserver.js";
import { createKubeClient, KubeError, loadKubeConfig, NODE_NAME_LABEL, podPath, spcPath, spcpsPath, type KubeClient } from "../../src/k8s/index.js";
import { startControlPlane, type ControlPlane } from "../helpers/control-plane.js";
import { requirePeer } from "../peers/peers.js";

const NS = "parity";
const CRD_DIR = join(__dirname, "..", "..", "charts", "akv-csi", "crds");
const UID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

async function scenario(c: KubeClient): Promise<string[]> {
  const out: string[] = [];
  const step = async (label: string, p: Promise<unknown>) => {
    try {
      await p;
      out.push(`${label}: OK`);
    } catch (e) {
      const k = e as KubeError;
      out.push(`${label}: ${k.status} ${k.reason} | ${k.message.replace(UID, "<uid>")}`);
    }
  };
  await c.create("/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } }).catch(() => undefined);
  await step("get missing SPC", c.get(spcPath(NS, "nope")));
  await step("get missing pod", c.get(podPath(NS, "nope")));
  const s = {
    apiVersion: "secrets-store.csi.x-k8s.io/v1",
    kind: "SecretProviderClassPodStatus",
    metadata: { name: "p1", namespace: NS, labels: { [NODE_NAME_LABEL]: "n1" } },
    status: { podName: "p", secretProviderClassName: "s", mounted: true, targetPath: "/t", objects: [] },
  };
  const start = await c.list(spcpsPath(NS));
  const events: string[] = [];
  const ac = new AbortController();
  const watching = c
    .watch<{ metadata: { name: string } }>(spcpsPath(NS), { resourceVersion: start.metadata.resourceVersion, signal: ac.signal, labelSelector: `${NODE_NAME_LABEL}=n1` }, (t, o) => {
      if (t !== "BOOKMARK") events.push(`${t} ${o.metadata.name}`);
    })
    .catch((e: unknown) => events.push(`ERROR ${(e as Error).message}`));
  const created = await c.create<{ kind: string; apiVersion: string; metadata: { generation: number; resourceVersion: string } }>(spcpsPath(NS), s);
  out.push(`created ${created.apiVersion} ${created.kind} generation=${created.metadata.generation}`);
  await step("create again", c.create(spcpsPath(NS), s));
  await step("create with resourceVersion", c.create(spcpsPath(NS), { ...s, metadata: { ...s.metadata, name: "p2", resourceVersion: "5" } }));
  await c.patch(spcpsPath(NS, "p1"), { status: { mounted: false } });
  await step("update stale", c.update(spcpsPath(NS, "p1"), created));
  await step("merge patch with stale resourceVersion", c.patch(spcpsPath(NS, "p1"), { metadata: { resourceVersion: created.metadata.resourceVersion } }));
  await step("update missing", c.update(spcpsPath(NS, "zz"), { ...s, metadata: { ...s.metadata, name: "zz" } }));
  await step("unconditional update of a CR", c.update(spcpsPath(NS, "p1"), s));
  await step("strategic patch of a CR", c.patch(spcpsPath(NS, "p1"), { metadata: { labels: { a: "b" } } }, "strategic"));
  await step("json patch test fails", c.patch(spcpsPath(NS, "p1"), [{ op: "test", path: "/status/podName", value: "zzz" }], "json"));
  await step("label moves out of the selector", c.patch(spcpsPath(NS, "p1"), { metadata: { labels: { [NODE_NAME_LABEL]: "n2" } } }));
  await step("label moves back", c.patch(spcpsPath(NS, "p1"), { metadata: { labels: { [NODE_NAME_LABEL]: "n1" } } }));
  await step("token for a missing SA", c.create(`/api/v1/namespaces/${NS}/serviceaccounts/ghost/token`, { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { audiences: ["x"] } }));
  await c.create(`/api/v1/namespaces/${NS}/serviceaccounts`, { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "sa1" } });
  await step("token too short", c.create(`/api/v1/namespaces/${NS}/serviceaccounts/sa1/token`, { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { audiences: ["x"], expirationSeconds: 60 } }));
  const tr = await c.create<{ spec: unknown; status: { token: string } }>(`/api/v1/namespaces/${NS}/serviceaccounts/sa1/token`, {
    apiVersion: "authentication.k8s.io/v1",
    kind: "TokenRequest",
    spec: { audiences: ["api://AzureADTokenExchange"] },
  });
  const claims = JSON.parse(Buffer.from(tr.status.token.split(".")[1]!, "base64url").toString()) as Record<string, unknown>;
  out.push(`token spec=${JSON.stringify(tr.spec)} claims=${Object.keys(claims).sort().join(",")} sub=${String(claims.sub)}`);
  await step("delete with a stale uid precondition", c.delete(spcpsPath(NS, "p1"), { preconditions: { uid: "x" } }));
  await step("delete", c.delete(spcpsPath(NS, "p1")));
  await step("delete again", c.delete(spcpsPath(NS, "p1")));
  await step("unknown group", c.get("/apis/example.com/v1/widgets"));
  for (let i = 0; i < 100 && events.length < 5; i++) await new Promise((r) => setTimeout(r, 20));
  ac.abort();
  await watching;
  out.push(`watch: ${events.join(", ")}`);
  return out;
}

describe("k8s: the client and the mini API server against the real kube-apiserver", function () {
  this.timeout(300_000);
  let cp: ControlPlane;
  let admin: KubeClient;

  before(async function () {
    const etcdPath = requirePeer(this, "etcd");
    const apiserverPath = requirePeer(this, "kube-apiserver");
    cp = await startControlPlane({ etcdPath, apiserverPath });
    admin = createKubeClient(loadKubeConfig({ kubeconfig: cp.kubeconfigPath, env: {} }), { retries: 0 });
    for (const f of readdirSync(CRD_DIR)) await admin.create("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", parse(readFileSync(join(CRD_DIR, f), "utf8")));
    for (let i = 0; i < 150; i++) {
      if (await admin.list(spcpsPath(NS)).then(() => true, () => false)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
  });
  after(async () => {
    admin?.close();
    await cp?.stop();
  });

  const whoAmI = async (c: KubeClient) =>
    (await c.create<{ status: { userInfo: { username: string } } }>("/apis/authentication.k8s.io/v1/selfsubjectreviews", { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" })).status.userInfo.username;

  it("the mini server gives the same answers to the driver's calls", async () => {
    const mini = await startMiniApiServer({ https: true });
    let fromMini: string[];
    try {
      const c = createKubeClient(loadKubeConfig({ kubeconfig: mini.kubeconfigPath, env: {} }), { retries: 0 });
      fromMini = await scenario(c);
      c.close();
    } finally {
      await mini.close();
    }
    const fromReal = await scenario(admin);
    expect(fromMini).to.deep.equal(fromReal);
  });

  it("authenticates with a client certificate from a kubeconfig", async () => {
    const { certFile, keyFile } = cp.pki.issueClientCert("akv-csi-cert-user", ["akv-csi-testers"]);
    const c = createKubeClient(loadKubeConfig({ kubeconfig: cp.writeKubeconfig("cert-user", { certFile, keyFile }), env: {} }), { retries: 0 });
    try {
      expect(await whoAmI(c)).to.equal("akv-csi-cert-user");
    } finally {
      c.close();
    }
  });

  it("authenticates in-cluster style with a projected ServiceAccount token and the cluster CA", async () => {
    await admin.create("/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } }).catch(() => undefined);
    await admin.create(`/api/v1/namespaces/${NS}/serviceaccounts`, { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "driver" } }).catch(() => undefined);
    const tr = await admin.create<{ status: { token: string } }>(`/api/v1/namespaces/${NS}/serviceaccounts/driver/token`, { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { audiences: [] } });
    const sa = mkdtempSync(join(tmpdir(), "k8s-sa-"));
    try {
      writeFileSync(join(sa, "token"), tr.status.token);
      copyFileSync(cp.caFile, join(sa, "ca.crt"));
      writeFileSync(join(sa, "namespace"), NS);
      const url = new URL(cp.url);
      const cfg = loadKubeConfig({ env: { KUBERNETES_SERVICE_HOST: url.hostname, KUBERNETES_SERVICE_PORT: url.port }, serviceAccountDir: sa });
      expect(cfg.source).to.equal("in-cluster");
      const c = createKubeClient(cfg, { retries: 0 });
      try {
        expect(await whoAmI(c)).to.equal(`system:serviceaccount:${NS}:driver`);
        // no RBAC granted: the Status message names the user and the verb
        const e = await c.list(spcpsPath(NS)).catch((x: unknown) => x);
        expect((e as KubeError).reason).to.equal("Forbidden");
        expect((e as KubeError).message).to.contain(`User "system:serviceaccount:${NS}:driver" cannot list resource "secretproviderclasspodstatuses"`);
        expect((e as KubeError).message).to.not.contain(tr.status.token);
      } finally {
        c.close();
      }
    } finally {
      rmSync(sa, { recursive: true, force: true });
    }
  });
});
