// Interop: the UPSTREAM secrets-store-csi-driver (Go, pinned in versions.env)
// drives OUR Azure provider, against a real kube-apiserver and the emulator.
// The test plays kubelet. Then our own driver publishes the same SPC for a
// second pod, and the two results must agree file for file and in the SPCPS.
import { expect } from "chai";
import { createPublicKey, X509Certificate } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startEmulator, DEMO_CERT_NAME, DEMO_CLIENT_ID, DEMO_KEY_NAME, DEMO_SECRET_NAME, DEMO_SECRET_VALUE, DEMO_TENANT_ID, DEMO_VAULT, type Emulator } from "../../src/emulator/index.js";
import type { CertificateVersion, KeyVersion } from "../../src/emulator/store.js";
import { createKubeClient, type KubeClient } from "../../src/k8s/client.js";
import { loadKubeConfig } from "../../src/k8s/config.js";
import { podPath, spcPath, spcpsPath, tokenRequestPath, type SecretProviderClassPodStatus, type TokenRequest } from "../../src/k8s/types.js";
import { spawnAkv, type AkvProcess } from "../helpers/akv-process.js";
import { freePort, startControlPlane, type ControlPlane } from "../helpers/control-plane.js";
import { csiClient, type CsiClient } from "../helpers/csi-client.js";
import {
  fsTypeAt,
  mountsUnder,
  publishRequest,
  readMountedFiles,
  startPeerProcess,
  targetPathFor,
  unmountAllUnder,
  volumeIdFor,
  waitForFile,
  waitForLog,
  WI_AUDIENCE,
  type MountedFile,
  type PeerProcess,
  type PodRef,
} from "../helpers/interop-kubelet.js";
import { PEER_VERSIONS, requirePeer } from "./peers.js";

const CRD_DIR = join(__dirname, "..", "..", "charts", "akv-csi", "crds");
const NS = "interop";
const SA = "interop-sa";
const SPC = "interop-kv";
const NODE = "node-1";
const IS_ROOT = process.getuid?.() === 0;

describe(`peers: upstream secrets-store-csi-driver ${PEER_VERSIONS["secrets-store-csi-driver"]} drives our Azure provider`, function () {
  this.timeout(240_000);
  let dir: string | undefined;
  let cp: ControlPlane | undefined;
  let kube: KubeClient | undefined;
  let emulator: Emulator | undefined;
  let provider: AkvProcess | undefined;
  let upstream: PeerProcess | undefined;
  let ours: AkvProcess | undefined;
  let upstreamCsi: CsiClient | undefined;
  let oursCsi: CsiClient | undefined;
  const pods: Record<"upstream" | "ours", PodRef> = {
    upstream: { name: "web-upstream", namespace: NS, uid: "", serviceAccount: SA },
    ours: { name: "web-ours", namespace: NS, uid: "", serviceAccount: SA },
  };
  const published: { csi: CsiClient; target: string; uid: string }[] = [];
  const files: Partial<Record<"upstream" | "ours", Map<string, MountedFile>>> = {};
  const timings: Record<string, number> = {};

  before(async function () {
    const t0 = Date.now();
    const driverBin = requirePeer(this, "secrets-store-csi-driver");
    const etcdPath = requirePeer(this, "etcd");
    const apiserverPath = requirePeer(this, "kube-apiserver");
    const kubectlPath = requirePeer(this, "kubectl");
    dir = mkdtempSync(join(tmpdir(), "akv-interop-drv-"));
    const provDir = join(dir, "prov");
    mkdirSync(provDir);

    cp = await startControlPlane({ etcdPath, apiserverPath, kubectlPath });
    for (const f of readdirSync(CRD_DIR)) await cp.applyYaml(readFileSync(join(CRD_DIR, f), "utf8"));
    const established = await cp.kubectl([
      "wait",
      "--for=condition=Established",
      "--timeout=60s",
      "crd/secretproviderclasses.secrets-store.csi.x-k8s.io",
      "crd/secretproviderclasspodstatuses.secrets-store.csi.x-k8s.io",
    ]);
    if (established.code !== 0) throw new Error(`CRDs not established: ${established.stderr}`);
    kube = createKubeClient(loadKubeConfig({ kubeconfig: cp.kubeconfigPath }));

    emulator = await startEmulator({ nmiPort: -1, stateDir: join(dir, "emulator") });
    // The demo app's federated credential trusts default/demo-sa; this test's SA is another subject.
    emulator.identities.addFederatedSubject(DEMO_CLIENT_ID, `system:serviceaccount:${NS}:${SA}`);

    await kube.create("/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
    await kube.create(`/api/v1/namespaces/${NS}/serviceaccounts`, { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: SA, namespace: NS } });
    await kube.create(spcPath(NS), {
      apiVersion: "secrets-store.csi.x-k8s.io/v1",
      kind: "SecretProviderClass",
      metadata: { name: SPC, namespace: NS },
      spec: {
        provider: "azure",
        parameters: {
          clientID: DEMO_CLIENT_ID,
          keyvaultName: DEMO_VAULT,
          tenantId: DEMO_TENANT_ID,
          cloudName: "AzureStackCloud",
          cloudEnvFileName: emulator.cloudEnvFile,
          objects: [
            "array:",
            "  - |",
            `    objectName: ${DEMO_SECRET_NAME}`,
            "    objectType: secret",
            "  - |",
            `    objectName: ${DEMO_KEY_NAME}`,
            "    objectType: key",
            "  - |",
            `    objectName: ${DEMO_CERT_NAME}`,
            "    objectType: cert",
            "",
          ].join("\n"),
        },
      },
    });
    for (const p of Object.values(pods)) {
      const created = await kube.create<{ metadata: { uid: string } }>(podPath(NS), {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: p.name, namespace: NS },
        spec: {
          nodeName: NODE,
          serviceAccountName: SA,
          containers: [{ name: "app", image: "busybox" }],
          volumes: [{ name: "secrets-store-inline", csi: { driver: "secrets-store.csi.k8s.io", readOnly: true, volumeAttributes: { secretProviderClass: SPC } } }],
        },
      });
      p.uid = created.metadata.uid;
    }

    provider = spawnAkv(
      [
        "provider",
        "azure",
        `--endpoint=unix://${join(provDir, "azure.sock")}`,
        "--healthz-port=0",
        "--healthz-host=127.0.0.1",
        "--prometheus-port=0",
        "--metrics-host=127.0.0.1",
        "-v=5",
      ],
      emulator.clientEnv(),
    );
    const providerView = { exited: () => provider!.proc.exitCode !== null, tail: () => provider!.output().slice(-4000) };
    await waitForFile(join(provDir, "azure.sock"), providerView, "our provider");

    upstream = startPeerProcess(
      driverBin,
      [
        `--endpoint=unix://${join(dir, "csi-upstream.sock")}`,
        `--nodeid=${NODE}`,
        `--provider-volume=${provDir}`,
        `--additional-provider-volume-paths=${provDir}`,
        `--metrics-addr=127.0.0.1:${await freePort()}`,
        `--kubeconfig=${cp.kubeconfigPath}`,
        "-v=5",
      ],
      join(dir, "upstream-driver.log"),
    );
    await waitForLog(upstream, /Listening for connections/, "the upstream driver to serve");
    upstreamCsi = csiClient(join(dir, "csi-upstream.sock"));

    ours = spawnAkv([
      "driver",
      `--endpoint=unix://${join(dir, "csi-ours.sock")}`,
      `--nodeid=${NODE}`,
      `--provider-volume=${provDir}`,
      `--additional-provider-volume-paths=${provDir}`,
      "--metrics-addr=127.0.0.1:0",
      `--kubeconfig=${cp.kubeconfigPath}`,
      "-v=5",
    ]);
    const oursView = { exited: () => ours!.proc.exitCode !== null, tail: () => ours!.output().slice(-4000) };
    await waitForFile(join(dir, "csi-ours.sock"), oursView, "our driver");
    oursCsi = csiClient(join(dir, "csi-ours.sock"));
    timings.setupMs = Date.now() - t0;
  });

  after(async function () {
    this.timeout(60_000);
    // Unpublish whatever a failed test left published, through the driver that published it.
    for (const p of published.splice(0)) {
      await p.csi.call("Node", "NodeUnpublishVolume", { volume_id: volumeIdFor(p.uid), target_path: p.target }).catch(() => undefined);
    }
    upstreamCsi?.close();
    oursCsi?.close();
    await upstream?.stop();
    await ours?.stop();
    await provider?.stop();
    kube?.close();
    await cp?.stop();
    await emulator?.close();
    if (dir) {
      const left = unmountAllUnder(dir);
      if (left.length > 0) console.log(`    cleanup: unmounted leftovers ${left.join(", ")}`);
      rmSync(dir, { recursive: true, force: true });
    }
    if (Object.keys(timings).length > 0) console.log(`    timings: ${JSON.stringify(timings)}`);
  });

  async function mintToken(p: PodRef): Promise<Record<string, { token: string; expirationTimestamp: string }>> {
    const tr = await kube!.create<TokenRequest>(tokenRequestPath(NS, SA), {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenRequest",
      spec: { audiences: [WI_AUDIENCE], expirationSeconds: 3600, boundObjectRef: { apiVersion: "v1", kind: "Pod", name: p.name, uid: p.uid } },
    });
    return { [WI_AUDIENCE]: { token: tr.status!.token, expirationTimestamp: tr.status!.expirationTimestamp } };
  }

  async function publish(which: "upstream" | "ours"): Promise<string> {
    const pod = pods[which];
    const csi = which === "upstream" ? upstreamCsi! : oursCsi!;
    const target = targetPathFor(join(dir!, "kubelet"), pod.uid);
    const req = publishRequest({ pod, spc: SPC, target, tokens: await mintToken(pod) });
    published.push({ csi, target, uid: pod.uid });
    const t = Date.now();
    try {
      await csi.call("Node", "NodePublishVolume", req);
    } catch (e) {
      const log = which === "upstream" ? upstream!.tail(40) : ours!.output().slice(-4000);
      throw new Error(`${which} driver NodePublishVolume failed: ${(e as Error).message}\n--- ${which} driver log tail:\n${log}\n--- provider log tail:\n${provider!.output().slice(-4000)}`, { cause: e });
    }
    timings[`${which}PublishMs`] = Date.now() - t;
    return target;
  }

  function latest(kind: "keys" | "certificates" | "secrets", name: string): string {
    return emulator!.store.latestVersion(DEMO_VAULT, kind, name)!;
  }

  function expectedObjects(): { id: string; version: string }[] {
    return [
      { id: `cert/${DEMO_CERT_NAME}`, version: latest("certificates", DEMO_CERT_NAME) },
      { id: `key/${DEMO_KEY_NAME}`, version: latest("keys", DEMO_KEY_NAME) },
      { id: `secret/${DEMO_SECRET_NAME}`, version: latest("secrets", DEMO_SECRET_NAME) },
    ];
  }

  function checkContents(got: Map<string, MountedFile>): void {
    expect([...got.keys()].sort()).to.deep.equal([DEMO_CERT_NAME, DEMO_SECRET_NAME, DEMO_KEY_NAME].sort());
    expect(got.get(DEMO_SECRET_NAME)!.contents.toString("utf8")).to.equal(DEMO_SECRET_VALUE);
    const key = emulator!.store.find(DEMO_VAULT, "keys", DEMO_KEY_NAME) as KeyVersion;
    const pem = got.get(DEMO_KEY_NAME)!.contents.toString("utf8");
    expect(pem).to.match(/^-----BEGIN PUBLIC KEY-----\n/);
    const expectedDer = createPublicKey({ key: key.jwk as import("node:crypto").JsonWebKey, format: "jwk" }).export({ type: "spki", format: "der" });
    expect(createPublicKey(pem).export({ type: "spki", format: "der" }).equals(expectedDer)).to.equal(true, "key PEM is not the vault key's public half");
    const cert = emulator!.store.find(DEMO_VAULT, "certificates", DEMO_CERT_NAME) as CertificateVersion;
    const certPem = got.get(DEMO_CERT_NAME)!.contents.toString("utf8");
    expect(certPem).to.match(/^-----BEGIN CERTIFICATE-----\n/);
    expect(new X509Certificate(certPem).raw.equals(cert.chain[0]!)).to.equal(true, "cert PEM is not the vault certificate");
    for (const [name, f] of got) expect(f.mode, `mode of ${name}`).to.equal(0o644);
  }

  async function spcpsOf(pod: PodRef): Promise<SecretProviderClassPodStatus> {
    return kube!.get<SecretProviderClassPodStatus>(spcpsPath(NS, `${pod.name}-${NS}-${SPC}`));
  }

  it("publishes through the upstream driver: tmpfs, the vault's secret, key and cert, an SPCPS in the API", async () => {
    const target = await publish("upstream");
    if (IS_ROOT) expect(fsTypeAt(target), "the upstream driver mounts tmpfs as root").to.equal("tmpfs");
    const got = readMountedFiles(target);
    checkContents(got);
    files.upstream = got;
    expect(readFileSync(join(target, "..data", DEMO_SECRET_NAME), "utf8")).to.equal(DEMO_SECRET_VALUE);

    const spcps = await spcpsOf(pods.upstream);
    expect(spcps.status.mounted).to.equal(true);
    expect(spcps.status.secretProviderClassName).to.equal(SPC);
    expect(spcps.status.podName).to.equal(pods.upstream.name);
    expect(spcps.status.targetPath).to.equal(target);
    expect(spcps.metadata.labels?.["internal.secrets-store.csi.k8s.io/node-name"]).to.equal(NODE);
    expect(spcps.metadata.ownerReferences?.map((o) => [o.kind, o.name, o.uid])).to.deep.equal([["Pod", pods.upstream.name, pods.upstream.uid]]);
    expect(spcps.status.objects).to.deep.equal(expectedObjects());
    // One GET per object, each through the real token exchange.
    expect(emulator!.count({ route: /^(secret|key|certificate)\.get$/, status: 200 })).to.equal(3);
  });

  it("our driver publishes the same SPC for a second pod with identical files and SPCPS objects", async function () {
    if (!files.upstream) this.skip();
    const target = await publish("ours");
    if (IS_ROOT) expect(fsTypeAt(target), "our driver mounts tmpfs as root").to.equal("tmpfs");
    const got = readMountedFiles(target);
    checkContents(got);
    files.ours = got;
    const a = files.upstream;
    expect([...got.keys()]).to.deep.equal([...a.keys()]);
    for (const [name, f] of got) {
      expect(f.contents.equals(a.get(name)!.contents), `contents of ${name}`).to.equal(true);
      expect(f.mode, `mode of ${name}`).to.equal(a.get(name)!.mode);
    }
    // The same on-disk layout: kubelet's atomic-writer scheme in both.
    const entries = (t: string) => readdirSync(t).map((n) => (n.startsWith("..") && n !== "..data" ? "..<ts>" : n)).sort();
    expect(entries(target)).to.deep.equal(entries(published.find((p) => p.uid === pods.upstream.uid)!.target));

    const mine = await spcpsOf(pods.ours);
    const theirs = await spcpsOf(pods.upstream);
    expect(mine.status.objects).to.deep.equal(theirs.status.objects);
    expect(mine.status.mounted).to.equal(theirs.status.mounted);
    expect(mine.status.secretProviderClassName).to.equal(theirs.status.secretProviderClassName);
    expect(mine.metadata.labels).to.deep.equal(theirs.metadata.labels);
    expect(mine.metadata.ownerReferences?.map((o) => [o.apiVersion, o.kind, o.name])).to.deep.equal(
      theirs.metadata.ownerReferences?.map((o) => [o.apiVersion, o.kind, pods.ours.name]),
    );
  });

  it("unpublishes both: no mount and no target left", async () => {
    expect(published.length, "both publishes ran").to.equal(2);
    for (const p of published.splice(0)) {
      await p.csi.call("Node", "NodeUnpublishVolume", { volume_id: volumeIdFor(p.uid), target_path: p.target });
      expect(existsSync(p.target), `${p.target} removed`).to.equal(false);
    }
    expect(mountsUnder(dir!)).to.deep.equal([]);
  });
});
