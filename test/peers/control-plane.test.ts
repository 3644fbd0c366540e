// The control-plane harness against the real etcd and kube-apiserver peers, and
// our CRDs as that apiserver sees them.
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { startControlPlane, type ControlPlane } from "../helpers/control-plane.js";
import { PEER_VERSIONS, requireControlPlanePeers } from "./peers.js";

const CRD_DIR = join(__dirname, "..", "..", "charts", "akv-csi", "crds");
const GROUP = "secrets-store.csi.x-k8s.io";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

interface Crd {
  spec: { scope: string; versions: Array<{ name: string; served: boolean; storage: boolean; deprecated?: boolean; deprecationWarning?: string; subresources?: object }> };
  status?: { conditions?: Array<{ type: string; status: string }> };
}

describe("control plane: etcd + kube-apiserver peers", function () {
  this.timeout(240_000);
  let cp: ControlPlane | undefined;
  const need = (): ControlPlane => {
    if (!cp) throw new Error("control plane not started");
    return cp;
  };

  before(async function () {
    const { etcdPath, apiserverPath, kubectlPath } = requireControlPlanePeers(this);
    cp = await startControlPlane({ etcdPath, apiserverPath, kubectlPath, users: [{ name: "viewer", groups: ["akv-readers"] }] });
  });

  after(async () => {
    await cp?.stop();
  });

  it("/version reports the pinned Kubernetes version", async () => {
    const c = need();
    expect(c.version).to.equal(PEER_VERSIONS["kube-apiserver"]);
    const v = await c.getJson<{ gitVersion: string; major: string; minor: string }>("/version");
    expect(v.gitVersion).to.equal(PEER_VERSIONS["kube-apiserver"]);
    expect(`v${v.major}.${v.minor}.`).to.equal(PEER_VERSIONS["kube-apiserver"].replace(/\d+$/, ""));
    const kv = await c.kubectl(["version", "-o", "json"]);
    expect(kv.code, kv.stderr).to.equal(0);
    const parsed = JSON.parse(kv.stdout) as { clientVersion: { gitVersion: string }; serverVersion: { gitVersion: string } };
    expect(parsed.serverVersion.gitVersion).to.equal(PEER_VERSIONS["kube-apiserver"]);
  });

  it("the kubeconfig verifies the serving cert against the cluster CA (no insecure skip)", () => {
    const kc = readFileSync(need().kubeconfigPath, "utf8");
    expect(kc).to.include(`certificate-authority: ${need().caFile}`);
    expect(kc).not.to.include("insecure-skip-tls-verify");
  });

  it("our CRDs apply and become Established with v1 stored and v1alpha1 deprecated", async () => {
    const c = need();
    const files = readdirSync(CRD_DIR).filter((f) => f.endsWith(".yaml"));
    expect(files).to.have.length(2);
    for (const f of files) await c.applyYaml(readFileSync(join(CRD_DIR, f), "utf8"));
    const names = ["secretproviderclasses", "secretproviderclasspodstatuses"].map((p) => `crd/${p}.${GROUP}`);
    const wait = await c.kubectl(["wait", "--for=condition=Established", "--timeout=60s", ...names]);
    expect(wait.code, wait.stderr).to.equal(0);
    for (const plural of ["secretproviderclasses", "secretproviderclasspodstatuses"]) {
      const crd = await c.getJson<Crd>(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${plural}.${GROUP}`);
      expect(crd.spec.scope).to.equal("Namespaced");
      const byName = Object.fromEntries(crd.spec.versions.map((v) => [v.name, v]));
      expect(byName.v1).to.include({ served: true, storage: true });
      expect(byName.v1alpha1).to.include({ served: true, storage: false, deprecated: true });
      expect(byName.v1?.subresources, "no subresources").to.equal(undefined);
      expect(crd.status?.conditions?.find((x) => x.type === "Established")?.status).to.equal("True");
    }
  });

  it("a SecretProviderClass written in v1 reads back in v1alpha1 with the deprecation warning", async () => {
    const c = need();
    await c.applyYaml(`
apiVersion: ${GROUP}/v1
kind: SecretProviderClass
metadata: {name: azure-kv, namespace: default}
spec:
  provider: azure
  parameters:
    keyvaultName: kv1
    objects: |
      array:
        - |
          objectName: s1
          objectType: secret
  secretObjects:
    - secretName: synced
      type: Opaque
      labels: {app: demo}
      annotations: {note: x}
      data:
        - {objectName: s1, key: password}
`);
    const alpha = await c.getJson<{ apiVersion: string; spec: { provider: string; parameters: Record<string, string>; secretObjects: unknown[] } }>(
      `/apis/${GROUP}/v1alpha1/namespaces/default/secretproviderclasses/azure-kv`,
    );
    expect(alpha.apiVersion).to.equal(`${GROUP}/v1alpha1`);
    expect(alpha.spec.provider).to.equal("azure");
    expect(alpha.spec.parameters.keyvaultName).to.equal("kv1");
    expect(alpha.spec.secretObjects).to.deep.equal([
      { secretName: "synced", type: "Opaque", labels: { app: "demo" }, annotations: { note: "x" }, data: [{ objectName: "s1", key: "password" }] },
    ]);
    const got = await c.kubectl(["get", `secretproviderclasses.v1alpha1.${GROUP}`, "azure-kv", "-n", "default", "-o", "name"]);
    expect(got.code, got.stderr).to.equal(0);
    expect(got.stderr).to.include(`${GROUP}/v1alpha1 is deprecated. Use ${GROUP}/v1 instead.`);
  });

  it("the schema rejects a non-string parameter value", async () => {
    let err: Error | undefined;
    try {
      await need().applyYaml(`
apiVersion: ${GROUP}/v1
kind: SecretProviderClass
metadata: {name: bad, namespace: default}
spec: {provider: azure, parameters: {usePodIdentity: {nested: true}}}
`);
    } catch (e) {
      err = e as Error;
    }
    expect(err?.message).to.match(/spec\.parameters\.usePodIdentity.*string/);
  });

  it("a SecretProviderClassPodStatus keeps its status on create (no status subresource)", async () => {
    const c = need();
    await c.applyYaml(`
apiVersion: ${GROUP}/v1
kind: SecretProviderClassPodStatus
metadata:
  name: pod1-default-azure-kv
  namespace: default
  labels: {internal.secrets-store.csi.k8s.io/node-name: node-1}
status:
  podName: pod1
  secretProviderClassName: azure-kv
  mounted: true
  targetPath: /var/lib/kubelet/pods/uid-1/volumes/kubernetes.io~csi/kv/mount
  objects:
    - {id: secret/s1, version: abc}
`);
    const st = await c.getJson<{ status: Record<string, unknown> }>(`/apis/${GROUP}/v1alpha1/namespaces/default/secretproviderclasspodstatuses/pod1-default-azure-kv`);
    expect(st.status).to.deep.equal({
      podName: "pod1",
      secretProviderClassName: "azure-kv",
      mounted: true,
      targetPath: "/var/lib/kubelet/pods/uid-1/volumes/kubernetes.io~csi/kv/mount",
      objects: [{ id: "secret/s1", version: "abc" }],
    });
  });

  it("RBAC denies an unprivileged token and honours a RoleBinding for a user added after start", async () => {
    const c = need();
    const viewer = c.userToken("viewer");
    const canI = (verb: string, token?: string) => c.kubectl(["auth", "can-i", verb, `secretproviderclasses.${GROUP}`, "-n", "default"], { token });
    const admin = await canI("create");
    expect([admin.code, admin.stdout.trim()]).to.deep.equal([0, "yes"]);
    const denied = await canI("create", viewer);
    expect([denied.code, denied.stdout.trim()]).to.deep.equal([1, "no"]);
    let forbidden = "";
    await c.getJson(`/apis/${GROUP}/v1/namespaces/default/secretproviderclasses`, viewer).catch((e: Error) => (forbidden = e.message));
    expect(forbidden).to.include("HTTP 403");

    const late = c.addUser("late-reader", ["spc-readers"]);
    await c.applyYaml(`
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: spc-read, namespace: default}
rules:
  - {apiGroups: [${GROUP}], resources: [secretproviderclasses], verbs: [get, list, watch]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: spc-read, namespace: default}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: spc-read}
subjects:
  - {apiGroup: rbac.authorization.k8s.io, kind: Group, name: spc-readers}
`);
    const get = await canI("get", late);
    expect([get.code, get.stdout.trim()]).to.deep.equal([0, "yes"]);
    const del = await canI("delete", late);
    expect([del.code, del.stdout.trim()]).to.deep.equal([1, "no"]);
    const list = await c.getJson<{ items: unknown[] }>(`/apis/${GROUP}/v1/namespaces/default/secretproviderclasses`, late);
    expect(list.items).to.have.length(1);
  });

  it("trusts client certs from the cluster CA, as a joining kubelet would use", async () => {
    const c = need();
    const node = c.pki.issueClientCert("system:node:node-1", ["system:nodes"]);
    const kubeconfig = c.writeKubeconfig("node-1", node);
    const who = await c.kubectl(["auth", "whoami", "-o", "json"], { kubeconfig });
    expect(who.code, who.stderr).to.equal(0);
    const info = (JSON.parse(who.stdout) as { status: { userInfo: { username: string; groups: string[] } } }).status.userInfo;
    expect(info.username).to.equal("system:node:node-1");
    expect(info.groups).to.include("system:nodes");
    // The Node authorizer lets a node read its own Node object only.
    const own = await c.kubectl(["auth", "can-i", "get", "nodes/node-1"], { kubeconfig });
    expect(own.stdout.trim()).to.equal("yes");
    const secrets = await c.kubectl(["auth", "can-i", "list", "secrets", "-A"], { kubeconfig });
    expect(secrets.stdout.trim()).to.match(/^no\b/);
  });

  it("issues ServiceAccount tokens for an audience, signed with the harness's SA key", async () => {
    const c = need();
    const jwt = await c.serviceAccountToken("default", "workload", "api://AzureADTokenExchange", 600);
    const [header, payload] = jwt.split(".").slice(0, 2).map((p) => JSON.parse(Buffer.from(p, "base64url").toString("utf8")) as Record<string, unknown>);
    expect(header?.alg).to.equal("RS256");
    expect(payload?.aud).to.deep.equal(["api://AzureADTokenExchange"]);
    expect(payload?.sub).to.equal("system:serviceaccount:default:workload");
    expect(payload?.iss).to.equal(c.url);
    const exp = Number(payload?.exp) - Number(payload?.iat);
    expect(exp).to.be.within(590, 610);
    // Relying parties (the emulator's token exchange) can fetch the keys from the issuer.
    const jwks = await c.getJson<{ keys: Array<{ kid: string }> }>("/openid/v1/jwks");
    expect(jwks.keys.map((k) => k.kid)).to.include(header?.kid);
  });

  it("stop() ends etcd and the apiserver and removes the temp dir", async () => {
    const c = need();
    const { pids, dir } = c;
    expect(alive(pids.etcd) && alive(pids.apiserver)).to.equal(true);
    await c.stop();
    expect(alive(pids.etcd), "etcd still running").to.equal(false);
    expect(alive(pids.apiserver), "kube-apiserver still running").to.equal(false);
    expect(existsSync(dir), `${dir} left behind`).to.equal(false);
  });
});
