// Interop: the UPSTREAM secrets-store-csi-driver (Go, pinned in versions.env)
// drives OUR Azure provider, against a real kube-apiserver and the emulator.
// The test plays kubelet. Then our own driver publishes an identical SPC for a
// second pod (own node, own SPC), and the two must agree file for file, in the
// SPCPS, in the Secrets their secret sync writes, and after a rotation.
import { expect } from "chai";
import { createPrivateKey, createPublicKey, X509Certificate, type JsonWebKey } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  startEmulator,
  DEMO_CERT_NAME,
  DEMO_CLIENT_ID,
  DEMO_CLIENT_SECRET,
  DEMO_KEY_NAME,
  DEMO_SECRET_NAME,
  DEMO_SECRET_VALUE,
  DEMO_TENANT_ID,
  DEMO_VAULT,
  type Emulator,
} from "../../src/emulator/index.js";
import type { CertificateVersion, KeyVersion } from "../../src/emulator/store.js";
import { createKubeClient, type KubeClient } from "../../src/k8s/client.js";
import { loadKubeConfig } from "../../src/k8s/config.js";
import { memoryLogger } from "../../src/util/logger.js";
import {
  podPath,
  spcPath,
  spcpsPath,
  tokenRequestPath,
  type SecretProviderClassPodStatus,
  type TokenRequest,
} from "../../src/k8s/types.js";
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
  VOLUME_NAME,
  WI_AUDIENCE,
  type MountedFile,
  type PeerProcess,
  type PodRef,
  azureSpc,
} from "../helpers/interop-kubelet.js";
import { PEER_VERSIONS, requirePeer, requireControlPlanePeers } from "./peers.js";

const CRD_DIR = join(__dirname, "..", "..", "charts", "akv-csi", "crds");
const NS = "interop";
const SA = "interop-sa";
const IS_ROOT = process.getuid?.() === 0;
const TLS_PEM = "web-tls.pem";

type Side = "upstream" | "ours";
/** Each driver has its own node, pod and SPC, so neither driver's secret sync touches the other's objects. */
const SIDES: Record<Side, { node: string; pod: string; spc: string }> = {
  upstream: { node: "node-1", pod: "web-upstream", spc: "interop-kv-upstream" },
  ours: { node: "node-2", pod: "web-ours", spc: "interop-kv-ours" },
};
const FILE_NAMES = [DEMO_CERT_NAME, DEMO_SECRET_NAME, DEMO_KEY_NAME, TLS_PEM].sort();

function spcManifest(side: Side, cloudEnvFile: string): Record<string, unknown> {
  return {
    apiVersion: "secrets-store.csi.x-k8s.io/v1",
    kind: "SecretProviderClass",
    metadata: { name: SIDES[side].spc, namespace: NS },
    spec: {
      provider: "azure",
      parameters: {
        clientID: DEMO_CLIENT_ID,
        keyvaultName: DEMO_VAULT,
        tenantId: DEMO_TENANT_ID,
        cloudName: "AzureStackCloud",
        cloudEnvFileName: cloudEnvFile,
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
          // The certificate's backing secret: key + chain as PEM, the input of a TLS secret.
          "  - |",
          `    objectName: ${DEMO_CERT_NAME}`,
          "    objectType: secret",
          `    objectAlias: ${TLS_PEM}`,
          "",
        ].join("\n"),
      },
      secretObjects: [
        {
          secretName: `db-${side}`,
          type: "Opaque",
          labels: { app: "interop" },
          data: [{ objectName: DEMO_SECRET_NAME, key: "password" }],
        },
        {
          secretName: `tls-${side}`,
          type: "kubernetes.io/tls",
          data: [
            { objectName: TLS_PEM, key: "tls.key" },
            { objectName: TLS_PEM, key: "tls.crt" },
          ],
        },
      ],
    },
  };
}

async function eventually<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last = "";
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = (e as Error).message;
    }
    if (Date.now() > until)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last}` : ""}`,
      );
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe(`peers: upstream secrets-store-csi-driver ${PEER_VERSIONS["secrets-store-csi-driver"]} drives our Azure provider`, function () {
  this.timeout(240_000);
  let dir: string | undefined;
  let cp: ControlPlane | undefined;
  let kube: KubeClient | undefined;
  let emulator: Emulator | undefined;
  let provider: AkvProcess | undefined;
  let upstream: PeerProcess | undefined;
  let ours: AkvProcess | undefined;
  let upstreamMetricsPort = 0;
  const csi: Partial<Record<Side, CsiClient>> = {};
  const pods = {} as Record<Side, PodRef>;
  const targets = {} as Record<Side, string>;
  const published = new Set<Side>();
  /** Volumes a single test publishes and unpublishes itself; the after hook undoes them if it fails midway. */
  const scratch: { side: Side; target: string; uid: string }[] = [];
  const files: Partial<Record<Side, Map<string, MountedFile>>> = {};
  const timings: Record<string, number> = {};

  before(async function () {
    const t0 = Date.now();
    const driverBin = requirePeer(this, "secrets-store-csi-driver");
    const { etcdPath, apiserverPath, kubectlPath } = requireControlPlanePeers(this);
    // The upstream driver always mounts tmpfs (mount-utils), which needs root; it has no plain-directory mode.
    if (!IS_ROOT) {
      if (process.env.CI === "true")
        throw new Error("the upstream driver interop test needs root (it mounts tmpfs)");
      console.log("    skipping: the upstream driver mounts tmpfs, which needs root");
      this.skip();
    }
    dir = mkdtempSync(join(tmpdir(), "akv-interop-drv-"));
    const provDir = join(dir, "prov");
    mkdirSync(provDir);

    cp = await startControlPlane({ etcdPath, apiserverPath, kubectlPath });
    for (const f of readdirSync(CRD_DIR))
      await cp.applyYaml(readFileSync(join(CRD_DIR, f), "utf8"));
    const established = await cp.kubectl([
      "wait",
      "--for=condition=Established",
      "--timeout=60s",
      "crd/secretproviderclasses.secrets-store.csi.x-k8s.io",
      "crd/secretproviderclasspodstatuses.secrets-store.csi.x-k8s.io",
    ]);
    if (established.code !== 0) throw new Error(`CRDs not established: ${established.stderr}`);
    kube = createKubeClient(loadKubeConfig({ kubeconfig: cp.kubeconfigPath }));

    emulator = await startEmulator({
      nmiPort: -1,
      stateDir: join(dir, "emulator"),
      log: memoryLogger(2).log,
    });
    // The demo app's federated credential trusts default/demo-sa; this test's SA is another subject.
    emulator.identities.addFederatedSubject(DEMO_CLIENT_ID, `system:serviceaccount:${NS}:${SA}`);

    await kube.create("/api/v1/namespaces", {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: NS },
    });
    await kube.create(`/api/v1/namespaces/${NS}/serviceaccounts`, {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: SA, namespace: NS },
    });
    for (const side of ["upstream", "ours"] as const) {
      const s = SIDES[side];
      await kube.create(spcPath(NS), spcManifest(side, emulator.cloudEnvFile));
      const created = await kube.create<{ metadata: { uid: string } }>(podPath(NS), {
        apiVersion: "v1",
        kind: "Pod",
        metadata: {
          name: s.pod,
          namespace: NS,
          ownerReferences: [
            {
              apiVersion: "apps/v1",
              kind: "ReplicaSet",
              name: `rs-${side}`,
              uid:
                side === "upstream"
                  ? "00000000-0000-4000-8000-0000000000a1"
                  : "00000000-0000-4000-8000-0000000000a2",
            },
          ],
        },
        spec: {
          nodeName: s.node,
          serviceAccountName: SA,
          containers: [{ name: "app", image: "busybox" }],
          volumes: [
            {
              name: VOLUME_NAME,
              csi: {
                driver: "secrets-store.csi.k8s.io",
                readOnly: true,
                volumeAttributes: { secretProviderClass: s.spc },
              },
            },
          ],
        },
      });
      pods[side] = { name: s.pod, namespace: NS, uid: created.metadata.uid, serviceAccount: SA };
      targets[side] = targetPathFor(join(dir, "kubelet"), created.metadata.uid);
    }

    // No coalescing cache, so the rotation test sees the new version at once.
    provider = spawnAkv(
      [
        "provider",
        "azure",
        `--endpoint=unix://${join(provDir, "azure.sock")}`,
        "--healthz-port=0",
        "--healthz-host=127.0.0.1",
        "--prometheus-port=0",
        "--metrics-host=127.0.0.1",
        "--cache-ttl=0s",
        "-v=5",
      ],
      emulator.clientEnv(),
    );
    await waitForFile(
      join(provDir, "azure.sock"),
      {
        exited: () => provider!.proc.exitCode !== null,
        tail: () => provider!.output().slice(-4000),
      },
      "our provider",
    );

    upstreamMetricsPort = await freePort();
    // Rotation on with a zero poll interval: every republish reaches the provider (kubelet's requiresRepublish).
    upstream = startPeerProcess(
      driverBin,
      [
        `--endpoint=unix://${join(dir, "csi-upstream.sock")}`,
        `--nodeid=${SIDES.upstream.node}`,
        `--provider-volume=${provDir}`,
        `--additional-provider-volume-paths=${provDir}`,
        `--metrics-addr=127.0.0.1:${upstreamMetricsPort}`,
        `--kubeconfig=${cp.kubeconfigPath}`,
        "--enable-secret-rotation=true",
        "--rotation-poll-interval=0s",
        // Version RPCs to every provider it has dialled, logged at -v=4.
        "--provider-health-check=true",
        "--provider-health-check-interval=1s",
        "-v=5",
      ],
      join(dir, "upstream-driver.log"),
    );
    await waitForLog(upstream, /Listening for connections/, "the upstream driver to serve");
    csi.upstream = csiClient(join(dir, "csi-upstream.sock"));

    ours = spawnAkv([
      "driver",
      `--endpoint=unix://${join(dir, "csi-ours.sock")}`,
      `--nodeid=${SIDES.ours.node}`,
      `--provider-volume=${provDir}`,
      `--additional-provider-volume-paths=${provDir}`,
      "--metrics-addr=127.0.0.1:0",
      `--kubeconfig=${cp.kubeconfigPath}`,
      "--enable-secret-rotation=true",
      "--rotation-poll-interval=0s",
      "-v=5",
    ]);
    await waitForFile(
      join(dir, "csi-ours.sock"),
      { exited: () => ours!.proc.exitCode !== null, tail: () => ours!.output().slice(-4000) },
      "our driver",
    );
    csi.ours = csiClient(join(dir, "csi-ours.sock"));
    timings.setupMs = Date.now() - t0;
  });

  after(async function () {
    this.timeout(60_000);
    // Unpublish whatever a failed test left published, through the driver that published it.
    for (const side of published) {
      await csi[side]
        ?.call("Node", "NodeUnpublishVolume", {
          volume_id: volumeIdFor(pods[side].uid),
          target_path: targets[side],
        })
        .catch(() => undefined);
    }
    published.clear();
    for (const v of scratch.splice(0)) {
      await csi[v.side]
        ?.call("Node", "NodeUnpublishVolume", {
          volume_id: volumeIdFor(v.uid),
          target_path: v.target,
        })
        .catch(() => undefined);
    }
    csi.upstream?.close();
    csi.ours?.close();
    await upstream?.stop();
    await ours?.stop();
    await provider?.stop();
    kube?.close();
    await cp?.stop();
    await emulator?.close();
    if (dir) {
      const left = unmountAllUnder(dir);
      if (left.length > 0) console.log(`    cleanup: unmounted leftovers ${left.join(", ")}`);
      // AKV_CSI_KEEP_INTEROP=1 keeps the logs (driver, provider) for a look after the run.
      if (process.env.AKV_CSI_KEEP_INTEROP === "1") console.log(`    kept ${dir}`);
      else rmSync(dir, { recursive: true, force: true });
    }
    if (Object.keys(timings).length > 0) console.log(`    timings: ${JSON.stringify(timings)}`);
  });

  function logsOf(side: Side): string {
    const d = side === "upstream" ? upstream!.tail(40) : ours!.output().slice(-4000);
    return `--- ${side} driver log tail:\n${d}\n--- provider log tail:\n${provider!.output().slice(-4000)}`;
  }

  async function mintToken(
    p: PodRef,
  ): Promise<Record<string, { token: string; expirationTimestamp: string }>> {
    const tr = await kube!.create<TokenRequest>(tokenRequestPath(NS, SA), {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenRequest",
      spec: {
        audiences: [WI_AUDIENCE],
        expirationSeconds: 3600,
        boundObjectRef: { apiVersion: "v1", kind: "Pod", name: p.name, uid: p.uid },
      },
    });
    return {
      [WI_AUDIENCE]: {
        token: tr.status!.token,
        expirationTimestamp: tr.status!.expirationTimestamp,
      },
    };
  }

  /** kubelet's NodePublishVolume with a fresh token; returns the Key Vault GETs it caused. */
  async function publish(side: Side, label: string): Promise<number> {
    const pod = pods[side];
    const req = publishRequest({
      pod,
      spc: SIDES[side].spc,
      target: targets[side],
      tokens: await mintToken(pod),
    });
    published.add(side);
    const gets = () => emulator!.count({ route: /^(secret|key|certificate)\.get$/, status: 200 });
    const before = gets();
    const t = Date.now();
    try {
      await csi[side]!.call("Node", "NodePublishVolume", req);
    } catch (e) {
      throw new Error(
        `${side} driver NodePublishVolume failed: ${(e as Error).message}\n${logsOf(side)}`,
        { cause: e },
      );
    }
    timings[`${side}${label}Ms`] = Date.now() - t;
    return gets() - before;
  }

  const latest = (kind: "keys" | "certificates" | "secrets", name: string) =>
    emulator!.store.latestVersion(DEMO_VAULT, kind, name)!;

  function expectedObjects(): { id: string; version: string }[] {
    return [
      { id: `cert/${DEMO_CERT_NAME}`, version: latest("certificates", DEMO_CERT_NAME) },
      { id: `key/${DEMO_KEY_NAME}`, version: latest("keys", DEMO_KEY_NAME) },
      { id: `secret/${DEMO_SECRET_NAME}`, version: latest("secrets", DEMO_SECRET_NAME) },
      { id: `secret/${DEMO_CERT_NAME}`, version: latest("secrets", DEMO_CERT_NAME) },
    ];
  }

  function checkContents(got: Map<string, MountedFile>, secretValue: string): void {
    expect([...got.keys()].sort()).to.deep.equal(FILE_NAMES);
    expect(got.get(DEMO_SECRET_NAME)!.contents.toString("utf8")).to.equal(secretValue);
    const key = emulator!.store.find(DEMO_VAULT, "keys", DEMO_KEY_NAME) as KeyVersion;
    const pem = got.get(DEMO_KEY_NAME)!.contents.toString("utf8");
    expect(pem).to.match(/^-----BEGIN PUBLIC KEY-----\n/);
    const expectedDer = createPublicKey({ key: key.jwk as JsonWebKey, format: "jwk" }).export({
      type: "spki",
      format: "der",
    });
    expect(
      createPublicKey(pem).export({ type: "spki", format: "der" }).equals(expectedDer),
    ).to.equal(true, "key PEM is not the vault key's public half");
    const cert = emulator!.store.find(
      DEMO_VAULT,
      "certificates",
      DEMO_CERT_NAME,
    ) as CertificateVersion;
    const certPem = got.get(DEMO_CERT_NAME)!.contents.toString("utf8");
    expect(certPem).to.match(/^-----BEGIN CERTIFICATE-----\n/);
    expect(new X509Certificate(certPem).raw.equals(cert.chain[0]!)).to.equal(
      true,
      "cert PEM is not the vault certificate",
    );
    // The backing secret as PEM: a private key that belongs to the leaf, then the chain.
    const tlsPem = got.get(TLS_PEM)!.contents.toString("utf8");
    const leaf = new X509Certificate(tlsPem);
    expect(leaf.raw.equals(cert.chain[0]!)).to.equal(
      true,
      `${TLS_PEM} does not start its chain with the leaf`,
    );
    expect(leaf.checkPrivateKey(createPrivateKey(tlsPem))).to.equal(
      true,
      `${TLS_PEM}: key does not match the leaf`,
    );
    for (const [name, f] of got) expect(f.mode, `mode of ${name}`).to.equal(0o644);
  }

  function spcpsOf(side: Side): Promise<SecretProviderClassPodStatus> {
    return kube!.get<SecretProviderClassPodStatus>(
      spcpsPath(NS, `${SIDES[side].pod}-${NS}-${SIDES[side].spc}`),
    );
  }

  it("publishes through the upstream driver: tmpfs, the vault's secret, key and cert, an SPCPS in the API", async () => {
    const gets = await publish("upstream", "Publish");
    const target = targets.upstream;
    expect(fsTypeAt(target), "the upstream driver mounts tmpfs").to.equal("tmpfs");
    const got = readMountedFiles(target);
    checkContents(got, DEMO_SECRET_VALUE);
    files.upstream = got;
    expect(readFileSync(join(target, "..data", DEMO_SECRET_NAME), "utf8")).to.equal(
      DEMO_SECRET_VALUE,
    );
    // One GET per object, each after the real token exchange.
    expect(gets).to.equal(4);

    const spcps = await spcpsOf("upstream");
    expect(spcps.status.mounted).to.equal(true);
    expect(spcps.status.secretProviderClassName).to.equal(SIDES.upstream.spc);
    expect(spcps.status.podName).to.equal(SIDES.upstream.pod);
    expect(spcps.status.targetPath).to.equal(target);
    expect(spcps.metadata.labels?.["internal.secrets-store.csi.k8s.io/node-name"]).to.equal(
      SIDES.upstream.node,
    );
    expect(spcps.metadata.ownerReferences?.map((o) => [o.kind, o.name, o.uid])).to.deep.equal([
      ["Pod", pods.upstream.name, pods.upstream.uid],
    ]);
    expect(spcps.status.objects).to.deep.equal(expectedObjects());

    const metrics = await (await fetch(`http://127.0.0.1:${upstreamMetricsPort}/metrics`)).text();
    expect(metrics).to.match(/node_publish_total\{[^}]*provider="azure"[^}]*\} 1\b/);
  });

  it("the upstream driver's provider health check gets our provider's Version", async function () {
    if (!files.upstream) this.skip();
    // The health check only covers providers the driver has dialled, i.e. after the first mount.
    await waitForLog(
      upstream!,
      /provider healthcheck successful" provider="azure" runtimeVersion="v\d+\.\d+\.\d+[^"]*"/,
      "a successful provider health check",
      15_000,
    );
    expect(upstream!.log()).to.not.match(/provider healthcheck failed/);
  });

  it("our driver publishes an identical SPC for a second pod with identical files and SPCPS objects", async function () {
    if (!files.upstream) this.skip();
    const gets = await publish("ours", "Publish");
    const target = targets.ours;
    expect(fsTypeAt(target), "our driver mounts tmpfs as root").to.equal("tmpfs");
    expect(gets).to.equal(4);
    const got = readMountedFiles(target);
    checkContents(got, DEMO_SECRET_VALUE);
    files.ours = got;
    const theirs = files.upstream;
    expect([...got.keys()]).to.deep.equal([...theirs.keys()]);
    for (const [name, f] of got) {
      expect(f.contents.equals(theirs.get(name)!.contents), `contents of ${name}`).to.equal(true);
      expect(f.mode, `mode of ${name}`).to.equal(theirs.get(name)!.mode);
    }
    // The same on-disk layout: kubelet's atomic-writer scheme in both.
    const entries = (t: string) =>
      readdirSync(t)
        .map((n) => (n.startsWith("..") && n !== "..data" ? "..<ts>" : n))
        .sort();
    expect(entries(target)).to.deep.equal(entries(targets.upstream));

    const mine = await spcpsOf("ours");
    const other = await spcpsOf("upstream");
    expect(mine.status.objects).to.deep.equal(other.status.objects);
    expect(mine.status.mounted).to.equal(other.status.mounted);
    expect(mine.status.targetPath).to.equal(target);
    expect(Object.keys(mine.metadata.labels ?? {})).to.deep.equal(
      Object.keys(other.metadata.labels ?? {}),
    );
    expect(mine.metadata.labels?.["internal.secrets-store.csi.k8s.io/node-name"]).to.equal(
      SIDES.ours.node,
    );
    const shape = (s: SecretProviderClassPodStatus) =>
      s.metadata.ownerReferences?.map((o) => ({
        apiVersion: o.apiVersion,
        kind: o.kind,
        controller: o.controller,
        blockOwnerDeletion: o.blockOwnerDeletion,
      }));
    expect(shape(mine)).to.deep.equal(shape(other));
  });

  it("both drivers sync the mounted files into Kubernetes Secrets with identical data (secretObjects)", async function () {
    if (!files.ours) this.skip();
    type Secret = {
      type?: string;
      data?: Record<string, string>;
      metadata: {
        labels?: Record<string, string>;
        ownerReferences?: { kind: string; name: string }[];
      };
    };
    const synced = {} as Record<Side, { db: Secret; tls: Secret }>;
    for (const side of ["upstream", "ours"] as const) {
      const get = (name: string) =>
        eventually(
          `Secret ${NS}/${name} from the ${side} driver`,
          () => kube!.get<Secret>(`/api/v1/namespaces/${NS}/secrets/${name}`),
          30_000,
        );
      synced[side] = { db: await get(`db-${side}`), tls: await get(`tls-${side}`) };
    }
    const up = synced.upstream;
    expect(Buffer.from(up.db.data!.password!, "base64").toString("utf8")).to.equal(
      DEMO_SECRET_VALUE,
    );
    expect(up.db.metadata.labels).to.deep.equal({
      app: "interop",
      "secrets-store.csi.k8s.io/managed": "true",
    });
    expect(up.tls.type).to.equal("kubernetes.io/tls");
    const crt = Buffer.from(up.tls.data!["tls.crt"]!, "base64").toString("utf8");
    const key = Buffer.from(up.tls.data!["tls.key"]!, "base64").toString("utf8");
    // The upstream driver parsed our provider's PEM: the key re-encoded on its own, the certificates on their own.
    expect(key).to.not.include("CERTIFICATE");
    expect(crt).to.not.include("PRIVATE KEY");
    expect(new X509Certificate(crt).checkPrivateKey(createPrivateKey(key))).to.equal(true);

    const mine = synced.ours;
    expect(mine.db.type).to.equal(up.db.type);
    expect(mine.db.data).to.deep.equal(up.db.data);
    expect(mine.db.metadata.labels).to.deep.equal(up.db.metadata.labels);
    expect(mine.tls.type).to.equal(up.tls.type);
    expect(mine.tls.data).to.deep.equal(up.tls.data);
    expect(mine.tls.metadata.labels).to.deep.equal(up.tls.metadata.labels);
    // Owners: the pod's own owners (its ReplicaSet), added by each driver's patcher.
    for (const side of ["upstream", "ours"] as const) {
      const s = await eventually(`owner of db-${side}`, async () => {
        const cur = await kube!.get<Secret>(`/api/v1/namespaces/${NS}/secrets/db-${side}`);
        return (cur.metadata.ownerReferences ?? []).length > 0 ? cur : undefined;
      });
      expect(s.metadata.ownerReferences!.map((o) => [o.kind, o.name])).to.deep.equal([
        ["ReplicaSet", `rs-${side}`],
      ]);
    }
  });

  it("a republish after rotation reaches our provider through both drivers: new file, new SPCPS version, synced Secret follows", async function () {
    if (!files.ours) this.skip();
    const rotatedValue = `rotated-${Date.now()}`;
    const { version } = emulator!.store.setSecret(DEMO_VAULT, DEMO_SECRET_NAME, rotatedValue, {
      contentType: "text/plain",
    });
    for (const side of ["upstream", "ours"] as const) {
      expect(await publish(side, "Republish"), `${side}: GETs on republish`).to.equal(4);
      const got = readMountedFiles(targets[side]);
      checkContents(got, rotatedValue);
      const spcps = await eventually(
        `${side} SPCPS with the new version`,
        async () => {
          const s = await spcpsOf(side);
          return s.status.objects?.some(
            (o) => o.id === `secret/${DEMO_SECRET_NAME}` && o.version === version,
          )
            ? s
            : undefined;
        },
        15_000,
      );
      expect(spcps.status.objects).to.deep.equal(expectedObjects());
      await eventually(
        `db-${side} to carry the rotated value`,
        async () => {
          const s = await kube!.get<{ data?: Record<string, string> }>(
            `/api/v1/namespaces/${NS}/secrets/db-${side}`,
          );
          return Buffer.from(s.data?.password ?? "", "base64").toString("utf8") === rotatedValue
            ? true
            : undefined;
        },
        30_000,
      );
    }
    const metrics = await (await fetch(`http://127.0.0.1:${upstreamMetricsPort}/metrics`)).text();
    expect(metrics).to.match(/node_publish_total\{[^}]*provider="azure"[^}]*\} 2\b/);
  });

  it("our provider's error crosses the upstream driver like ours: code Unknown, same text, the failed tmpfs undone", async () => {
    const missing = "interop-missing";
    await kube!.create(spcPath(NS), {
      apiVersion: "secrets-store.csi.x-k8s.io/v1",
      kind: "SecretProviderClass",
      metadata: { name: missing, namespace: NS },
      spec: {
        provider: "azure",
        parameters: {
          clientID: DEMO_CLIENT_ID,
          keyvaultName: DEMO_VAULT,
          tenantId: DEMO_TENANT_ID,
          cloudName: "AzureStackCloud",
          cloudEnvFileName: emulator!.cloudEnvFile,
          objects: "array:\n  - |\n    objectName: no-such-secret\n    objectType: secret\n",
        },
      },
    });
    const details = {} as Record<Side, string>;
    for (const side of ["upstream", "ours"] as const) {
      const pod = pods[side];
      const target = targetPathFor(join(dir!, "kubelet-missing"), pod.uid);
      // The driver's informer may not have seen the new SPC yet: retry only on "not found".
      const err = await eventually(
        `${side}: a provider error (not SPC-not-found)`,
        async () => {
          try {
            await csi[side]!.call(
              "Node",
              "NodePublishVolume",
              publishRequest({ pod, spc: missing, target, tokens: await mintToken(pod) }),
            );
          } catch (e) {
            const ge = e as Error & { code?: number; details?: string };
            return /failed to get secretproviderclass/.test(ge.details ?? "") ? undefined : ge;
          }
          throw new Error("publish succeeded");
        },
        15_000,
      );
      expect(err.code, err.details).to.equal(2);
      expect(mountsUnder(target), `${side}: the failed mount is undone`).to.deep.equal([]);
      expect(existsSync(join(target, DEMO_SECRET_NAME))).to.equal(false);
      details[side] = (err.details ?? "").replace(pod.name, "<pod>");
    }
    expect(details.upstream).to.match(
      /^failed to mount secrets store objects for pod interop\/<pod>, err: rpc error: code = Unknown desc = failed to mount objects, error: failed to get objectType:secret, objectName:no-such-secret, objectVersion:: /,
    );
    expect(details.upstream).to.include("SecretNotFound");
    expect(details.ours).to.equal(details.upstream);
  });

  it("service principal: the upstream driver hands kubelet's nodePublishSecretRef to our provider, as ours does", async () => {
    const sp = "interop-sp";
    await kube!.create(
      spcPath(NS),
      azureSpc(sp, NS, {
        keyvaultName: DEMO_VAULT,
        tenantId: DEMO_TENANT_ID,
        cloudName: "AzureStackCloud",
        cloudEnvFileName: emulator!.cloudEnvFile,
        objects: `array:\n  - |\n    objectName: ${DEMO_SECRET_NAME}\n    objectType: secret\n`,
      }),
    );
    const value = emulator!.store.getSecretValue(DEMO_VAULT, DEMO_SECRET_NAME);
    const got = {} as Record<Side, Map<string, MountedFile>>;
    for (const side of ["upstream", "ours"] as const) {
      const pod = pods[side];
      const target = targetPathFor(join(dir!, "kubelet-sp"), pod.uid);
      scratch.push({ side, target, uid: pod.uid });
      const secretExchanges = () =>
        emulator!.count({ route: "entra.token", status: 200, principal: DEMO_CLIENT_ID });
      const before = secretExchanges();
      await eventually(
        `${side}: publish with the new SPC`,
        async () => {
          try {
            await csi[side]!.call(
              "Node",
              "NodePublishVolume",
              publishRequest({
                pod,
                spc: sp,
                target,
                secrets: { clientid: DEMO_CLIENT_ID, clientsecret: DEMO_CLIENT_SECRET },
              }),
            );
            return true;
          } catch (e) {
            // The driver's informer may not have seen the new SPC yet; anything else is the answer.
            if (/failed to get secretproviderclass/.test((e as { details?: string }).details ?? ""))
              return undefined;
            throw new Error(`${side} driver: ${(e as Error).message}\n${logsOf(side)}`, {
              cause: e,
            });
          }
        },
        15_000,
      );
      // Our provider reuses a principal's access token, so only the first of the two mounts asks Entra.
      expect(secretExchanges() - before, `${side}: client-secret token requests`).to.equal(
        side === "upstream" ? 1 : 0,
      );
      got[side] = readMountedFiles(target);
      expect([...got[side].keys()]).to.deep.equal([DEMO_SECRET_NAME]);
      expect(got[side].get(DEMO_SECRET_NAME)!.contents.toString("utf8")).to.equal(value);
    }
    expect(got.ours.get(DEMO_SECRET_NAME)!.mode).to.equal(got.upstream.get(DEMO_SECRET_NAME)!.mode);

    // A wrong secret is judged by Entra, not served from the right secret's cached token.
    const wrong = "not-the-client-secret";
    const badTarget = targetPathFor(join(dir!, "kubelet-sp-wrong"), pods.upstream.uid);
    let err: { code?: number; details?: string } | undefined;
    try {
      await csi.upstream!.call(
        "Node",
        "NodePublishVolume",
        publishRequest({
          pod: pods.upstream,
          spc: sp,
          target: badTarget,
          secrets: { clientid: DEMO_CLIENT_ID, clientsecret: wrong },
        }),
      );
    } catch (e) {
      err = e as { code?: number; details?: string };
    }
    expect(err, "publish with a wrong client secret must fail").to.not.equal(undefined);
    expect(err!.details).to.include("AADSTS7000215");
    expect(err!.details).to.not.include(wrong);
    expect(mountsUnder(badTarget)).to.deep.equal([]);

    for (const v of scratch.splice(0)) {
      await csi[v.side]!.call("Node", "NodeUnpublishVolume", {
        volume_id: volumeIdFor(v.uid),
        target_path: v.target,
      });
      expect(mountsUnder(v.target)).to.deep.equal([]);
    }
  });

  it("nested paths and file modes from our provider are laid out the same by both drivers", async () => {
    const now = Math.floor(Date.now() / 1000);
    for (const [i, v] of ["one", "two", "three"].entries())
      emulator!.store.setSecret(DEMO_VAULT, "multi", `multi-${v}`, {
        contentType: "text/plain",
        created: now - 10 + i,
      });
    const nested = "interop-nested";
    await kube!.create(
      spcPath(NS),
      azureSpc(nested, NS, {
        clientID: DEMO_CLIENT_ID,
        keyvaultName: DEMO_VAULT,
        tenantId: DEMO_TENANT_ID,
        cloudName: "AzureStackCloud",
        cloudEnvFileName: emulator!.cloudEnvFile,
        objects: [
          "array:",
          "  - |",
          "    objectName: multi",
          "    objectType: secret",
          "    objectVersionHistory: 2",
          '    filePermission: "0600"',
          "  - |",
          `    objectName: ${DEMO_SECRET_NAME}`,
          "    objectType: secret",
          `    objectAlias: nested/dir/${DEMO_SECRET_NAME}`,
          '    filePermission: "0440"',
          "",
        ].join("\n"),
      }),
    );
    const trees = {} as Record<Side, { files: Map<string, MountedFile>; dirs: string[] }>;
    for (const side of ["upstream", "ours"] as const) {
      const pod = pods[side];
      const target = targetPathFor(join(dir!, "kubelet-nested"), pod.uid);
      scratch.push({ side, target, uid: pod.uid });
      await eventually(
        `${side}: publish with the new SPC`,
        async () => {
          try {
            await csi[side]!.call(
              "Node",
              "NodePublishVolume",
              publishRequest({ pod, spc: nested, target, tokens: await mintToken(pod) }),
            );
            return true;
          } catch (e) {
            if (/failed to get secretproviderclass/.test((e as { details?: string }).details ?? ""))
              return undefined;
            throw new Error(`${side} driver: ${(e as Error).message}\n${logsOf(side)}`, {
              cause: e,
            });
          }
        },
        15_000,
      );
      const dirs = ["multi", "nested", "nested/dir"].map(
        (d) => `${d}:${(statSync(join(target, d)).mode & 0o777).toString(8)}`,
      );
      trees[side] = { files: readMountedFiles(target), dirs };
    }
    const up = trees.upstream.files;
    expect([...up.keys()].sort()).to.deep.equal([
      "multi/0",
      "multi/1",
      "multi/2",
      `nested/dir/${DEMO_SECRET_NAME}`,
    ]);
    expect(up.get("multi/0")!.mode).to.equal(0o600);
    expect(up.get(`nested/dir/${DEMO_SECRET_NAME}`)!.mode).to.equal(0o440);
    expect(up.get("multi/0")!.contents.toString()).to.equal("multi-three");
    expect([...trees.ours.files.keys()]).to.deep.equal([...up.keys()]);
    for (const [name, f] of trees.ours.files) {
      expect(f.contents.equals(up.get(name)!.contents), `contents of ${name}`).to.equal(true);
      expect(f.mode.toString(8), `mode of ${name}`).to.equal(up.get(name)!.mode.toString(8));
    }
    expect(trees.ours.dirs, "directory modes").to.deep.equal(trees.upstream.dirs);
    for (const v of scratch.splice(0)) {
      await csi[v.side]!.call("Node", "NodeUnpublishVolume", {
        volume_id: volumeIdFor(v.uid),
        target_path: v.target,
      });
      expect(mountsUnder(v.target)).to.deep.equal([]);
    }
  });

  it("unpublishes both: no mount and no target left", async () => {
    expect([...published].sort(), "both publishes ran").to.deep.equal(["ours", "upstream"]);
    for (const side of ["upstream", "ours"] as const) {
      await csi[side]!.call("Node", "NodeUnpublishVolume", {
        volume_id: volumeIdFor(pods[side].uid),
        target_path: targets[side],
      });
      published.delete(side);
      expect(existsSync(targets[side]), `${targets[side]} removed`).to.equal(false);
    }
    expect(mountsUnder(dir!)).to.deep.equal([]);
  });
});
