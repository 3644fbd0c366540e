// Interop: OUR driver drives the UPSTREAM Azure provider (Go, pinned in
// versions.env). Mostly with AAD pod identity, where the provider asks NMI
// at its hard-coded http://localhost:2579/host/token/ (served by the emulator)
// and then reads Key Vault at https://<vault>.<suffix>/ through the emulator's
// CONNECT proxy, trusting the emulator CA via SSL_CERT_FILE. The SPC lives in
// the in-memory API server. Then our own provider serves a second pod through
// a second instance of our driver, and both mounts must hold the same bytes.
// Also: rotation by republish, workload identity (the pod's token exchanged by
// MSAL-Go, whose instance discovery the emulator answers for the public cloud
// host), a service principal from nodePublishSecretRef, and two error paths,
// each compared with our provider.
import { expect } from "chai";
import { createPublicKey, X509Certificate, type JsonWebKey } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  startEmulator,
  DEMO_CERT_NAME,
  DEMO_CLIENT_ID,
  DEMO_CLIENT_SECRET,
  DEMO_KEY_NAME,
  DEMO_POD_IDENTITY_CLIENT_ID,
  DEMO_SECRET_NAME,
  DEMO_SECRET_VALUE,
  DEMO_TENANT_ID,
  DEMO_VAULT,
  type Emulator,
} from "../../src/emulator/index.js";
import type { CertificateVersion, KeyVersion } from "../../src/emulator/store.js";
import { startMiniApiServer, type MiniApiServer } from "../../src/demo/mini-apiserver.js";
import { createKubeClient } from "../../src/k8s/client.js";
import { loadKubeConfig } from "../../src/k8s/config.js";
import {
  spcpsPath,
  tokenRequestPath,
  type SecretProviderClassPodStatus,
  type TokenRequest,
} from "../../src/k8s/types.js";
import { memoryLogger } from "../../src/util/logger.js";
import { spawnAkv, type AkvProcess } from "../helpers/akv-process.js";
import { freePort } from "../helpers/control-plane.js";
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
  type PublishOptions,
  type PeerProcess,
  type PodRef,
  azureSpc,
} from "../helpers/interop-kubelet.js";
import { PEER_VERSIONS, requirePeer } from "./peers.js";

const NS = "interop";
const SA = "interop-sa";
const SPC = "interop-kv";
const NODE = "node-1";
const NMI_PORT = 2579;
const ENTRA_PUBLIC_HOST = "login.microsoftonline.com";
const WI_SPC = "interop-wi";
const IS_ROOT = process.getuid?.() === 0;

type Side = "upstream" | "ours";

describe(`peers: our driver drives the upstream Azure provider ${PEER_VERSIONS["azure-provider"]} (pod identity, workload identity, service principal)`, function () {
  this.timeout(180_000);
  let dir: string | undefined;
  let emulator: Emulator | undefined;
  let api: MiniApiServer | undefined;
  let goProvider: PeerProcess | undefined;
  let tsProvider: AkvProcess | undefined;
  const drivers: Partial<Record<Side, { proc: AkvProcess; csi: CsiClient }>> = {};
  const pods: Record<Side, PodRef> = {
    upstream: { name: "web-go-provider", namespace: NS, uid: "", serviceAccount: SA },
    ours: { name: "web-ts-provider", namespace: NS, uid: "", serviceAccount: SA },
  };
  /** A pod NMI has no identity for: the error path. */
  const unbound: PodRef = { name: "web-unbound", namespace: NS, uid: "", serviceAccount: SA };
  const published: { side: Side; target: string; uid: string }[] = [];
  const files: Partial<Record<Side, Map<string, MountedFile>>> = {};
  const timings: Record<string, number> = {};

  function startOurDriver(side: Side, provDir: string): Promise<void> {
    const sock = join(dir!, `csi-${side}.sock`);
    const proc = spawnAkv([
      "driver",
      `--endpoint=unix://${sock}`,
      `--nodeid=${NODE}`,
      `--provider-volume=${provDir}`,
      `--additional-provider-volume-paths=${provDir}`,
      "--metrics-addr=127.0.0.1:0",
      `--kubeconfig=${api!.kubeconfigPath}`,
      // kubelet's requiresRepublish reaches the provider on every call.
      "--enable-secret-rotation=true",
      "--rotation-poll-interval=0s",
      "-v=5",
    ]);
    drivers[side] = { proc, csi: csiClient(sock) };
    return waitForFile(
      sock,
      { exited: () => proc.proc.exitCode !== null, tail: () => proc.output().slice(-4000) },
      `our driver (${side} provider)`,
    );
  }

  before(async function () {
    const t0 = Date.now();
    const providerBin = requirePeer(this, "azure-provider");
    dir = mkdtempSync(join(tmpdir(), "akv-interop-prov-"));
    try {
      emulator = await startEmulator({
        nmiPort: NMI_PORT,
        stateDir: join(dir, "emulator"),
        log: memoryLogger(2).log,
        // MSAL-Go (in azidentity, no DisableInstanceDiscovery upstream) asks the public cloud about any
        // unknown authority; the emulator's proxy takes that host too, so nothing leaves loopback.
        interceptHosts: [ENTRA_PUBLIC_HOST],
      });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "EADDRINUSE")
        throw new Error(
          `port ${NMI_PORT} on 127.0.0.1 is taken: the upstream Azure provider calls NMI at the hard-coded http://localhost:${NMI_PORT}/host/token/, so the emulator must own that port. Stop whatever listens there (ss -ltnp | grep ${NMI_PORT}).`,
          { cause: e },
        );
      throw e;
    }
    for (const p of Object.values(pods))
      emulator.addPodIdentity({
        namespace: NS,
        podName: p.name,
        clientId: DEMO_POD_IDENTITY_CLIENT_ID,
      });
    emulator.identities.addFederatedSubject(DEMO_CLIENT_ID, `system:serviceaccount:${NS}:${SA}`);

    const spc = azureSpc(SPC, NS, {
      usePodIdentity: "true",
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
    });
    const podObjects = [...Object.values(pods), unbound].map((p) => ({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: p.name, namespace: NS },
      spec: {
        nodeName: NODE,
        serviceAccountName: SA,
        containers: [{ name: "app", image: "busybox" }],
        volumes: [
          {
            name: "secrets-store-inline",
            csi: {
              driver: "secrets-store.csi.k8s.io",
              readOnly: true,
              volumeAttributes: { secretProviderClass: SPC },
            },
          },
        ],
      },
    }));
    api = await startMiniApiServer({
      https: true,
      objects: [
        { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: SA, namespace: NS } },
        spc,
        ...podObjects,
      ],
    });
    for (const p of [...Object.values(pods), unbound]) {
      const stored = api.store.get<{ metadata: { uid: string } }>(
        `/api/v1/namespaces/${NS}/pods/${p.name}`,
      );
      p.uid = stored!.metadata.uid;
    }

    // The Go provider binds both HTTP ports on all interfaces, so they must be free ones.
    const goProvDir = join(dir, "prov-go");
    mkdirSync(goProvDir);
    goProvider = startPeerProcess(
      providerBin,
      [
        "--endpoint",
        `unix://${join(goProvDir, "azure.sock")}`,
        `--healthz-port=${await freePort()}`,
        `--prometheus-port=${await freePort()}`,
        "-v=5",
      ],
      join(dir, "upstream-provider.log"),
      emulator.clientEnv(),
    );
    await waitForLog(goProvider, /Listening for connections/, "the upstream provider to serve");

    const tsProvDir = join(dir, "prov-ts");
    mkdirSync(tsProvDir);
    tsProvider = spawnAkv(
      [
        "provider",
        "azure",
        `--endpoint=unix://${join(tsProvDir, "azure.sock")}`,
        "--healthz-port=0",
        "--healthz-host=127.0.0.1",
        "--prometheus-port=0",
        "--metrics-host=127.0.0.1",
        // Upstream reads Key Vault on every mount; ours reuses a read for 30 s by default (DESIGN.md,
        // identity-scoped coalescing). Off here so a republish right after a rotation compares like for like.
        "--cache-ttl=0s",
        "-v=5",
      ],
      emulator.clientEnv(),
    );
    await waitForFile(
      join(tsProvDir, "azure.sock"),
      {
        exited: () => tsProvider!.proc.exitCode !== null,
        tail: () => tsProvider!.output().slice(-4000),
      },
      "our provider",
    );

    await Promise.all([startOurDriver("upstream", goProvDir), startOurDriver("ours", tsProvDir)]);
    timings.setupMs = Date.now() - t0;
  });

  after(async function () {
    this.timeout(60_000);
    for (const p of published.splice(0)) {
      await drivers[p.side]?.csi
        .call("Node", "NodeUnpublishVolume", {
          volume_id: volumeIdFor(p.uid),
          target_path: p.target,
        })
        .catch(() => undefined);
    }
    for (const d of Object.values(drivers)) {
      d.csi.close();
      await d.proc.stop();
    }
    await goProvider?.stop();
    await tsProvider?.stop();
    await api?.close();
    await emulator?.close();
    if (dir) {
      const left = unmountAllUnder(dir);
      if (left.length > 0) console.log(`    cleanup: unmounted leftovers ${left.join(", ")}`);
      // AKV_CSI_KEEP_INTEROP=1 keeps the logs (driver, provider) for a look after the run.
      if (process.env.AKV_CSI_KEEP_INTEROP === "1") {
        for (const [side, d] of Object.entries(drivers))
          writeFileSync(join(dir, `driver-${side}.log`), d.proc.output());
        if (tsProvider) writeFileSync(join(dir, "our-provider.log"), tsProvider.output());
        console.log(`    kept ${dir}`);
      } else rmSync(dir, { recursive: true, force: true });
    }
    if (Object.keys(timings).length > 0) console.log(`    timings: ${JSON.stringify(timings)}`);
  });

  async function publish(
    side: Side,
    opts: { spc?: string; root?: string; tokens?: PublishOptions["tokens"]; label?: string } = {},
  ): Promise<string> {
    const pod = pods[side];
    const d = drivers[side]!;
    const target = targetPathFor(join(dir!, opts.root ?? "kubelet"), pod.uid);
    if (!published.some((p) => p.target === target)) published.push({ side, target, uid: pod.uid });
    const t = Date.now();
    try {
      await d.csi.call(
        "Node",
        "NodePublishVolume",
        publishRequest({ pod, spc: opts.spc ?? SPC, target, tokens: opts.tokens }),
      );
    } catch (e) {
      const providerLog =
        side === "upstream" ? goProvider!.tail(40) : tsProvider!.output().slice(-4000);
      throw new Error(
        `NodePublishVolume via our driver to the ${side === "upstream" ? "upstream Go" : "our"} provider failed: ${(e as Error).message}\n--- provider log tail:\n${providerLog}\n--- driver log tail:\n${d.proc.output().slice(-3000)}`,
        { cause: e },
      );
    }
    timings[`${side}${opts.label ?? "Publish"}Ms`] = Date.now() - t;
    return target;
  }

  function checkContents(got: Map<string, MountedFile>, secretValue = DEMO_SECRET_VALUE): void {
    expect([...got.keys()].sort()).to.deep.equal(
      [DEMO_CERT_NAME, DEMO_SECRET_NAME, DEMO_KEY_NAME].sort(),
    );
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
    for (const [name, f] of got) expect(f.mode, `mode of ${name}`).to.equal(0o644);
  }

  function spcpsOf(pod: PodRef, spc = SPC): SecretProviderClassPodStatus | undefined {
    return api!.store.get<SecretProviderClassPodStatus>(spcpsPath(NS, `${pod.name}-${NS}-${spc}`));
  }

  function expectedObjects(): { id: string; version: string }[] {
    return [
      { id: `cert/${DEMO_CERT_NAME}`, version: latest("certificates", DEMO_CERT_NAME) },
      { id: `key/${DEMO_KEY_NAME}`, version: latest("keys", DEMO_KEY_NAME) },
      { id: `secret/${DEMO_SECRET_NAME}`, version: latest("secrets", DEMO_SECRET_NAME) },
    ];
  }

  function expectSameFiles(a: Map<string, MountedFile>, b: Map<string, MountedFile>): void {
    expect([...a.keys()]).to.deep.equal([...b.keys()]);
    for (const [name, f] of a) {
      expect(f.contents.equals(b.get(name)!.contents), `contents of ${name}`).to.equal(true);
      expect(f.mode, `mode of ${name}`).to.equal(b.get(name)!.mode);
    }
  }

  const latest = (kind: "keys" | "certificates" | "secrets", name: string) =>
    emulator!.store.latestVersion(DEMO_VAULT, kind, name)!;

  it("mounts the vault's secret, key and cert from the upstream provider (NMI token, proxied Key Vault) and writes the SPCPS", async () => {
    const target = await publish("upstream");
    if (IS_ROOT) expect(fsTypeAt(target), "our driver mounts tmpfs as root").to.equal("tmpfs");
    const got = readMountedFiles(target);
    checkContents(got);
    files.upstream = got;

    // The Go provider really went through NMI as the bound pod, then Key Vault with that token.
    expect(
      emulator!.count({ route: "nmi.token", status: 200, principal: DEMO_POD_IDENTITY_CLIENT_ID }),
    ).to.be.at.least(1);
    expect(
      emulator!.count({
        route: /^(secret|key|certificate)\.get$/,
        status: 200,
        principal: DEMO_POD_IDENTITY_CLIENT_ID,
      }),
    ).to.equal(3);
    expect(goProvider!.log()).to.match(/using pod identity to retrieve token/);

    const spcps = spcpsOf(pods.upstream);
    expect(spcps, "SPCPS written").to.not.equal(undefined);
    expect(spcps!.status.mounted).to.equal(true);
    expect(spcps!.status.targetPath).to.equal(target);
    expect(spcps!.metadata.ownerReferences?.map((o) => [o.kind, o.name, o.uid])).to.deep.equal([
      ["Pod", pods.upstream.name, pods.upstream.uid],
    ]);
    expect(spcps!.status.objects).to.deep.equal(expectedObjects());
  });

  it("our provider, in the same pod-identity mode, yields byte-identical files and the same SPCPS objects", async function () {
    if (!files.upstream) this.skip();
    const target = await publish("ours");
    const got = readMountedFiles(target);
    checkContents(got);
    files.ours = got;
    expectSameFiles(got, files.upstream);
    expect(spcpsOf(pods.ours)!.status.objects).to.deep.equal(
      spcpsOf(pods.upstream)!.status.objects,
    );
  });

  it("rotation: a republish through our driver makes the Go provider fetch the new version; files and SPCPS follow, as with our provider", async function () {
    if (!files.ours) this.skip();
    const rotated = `rotated-${Date.now()}`;
    const { version } = emulator!.store.setSecret(DEMO_VAULT, DEMO_SECRET_NAME, rotated, {
      contentType: "text/plain",
    });
    const after = {} as Record<Side, Map<string, MountedFile>>;
    for (const side of ["upstream", "ours"] as const) {
      const target = await publish(side, { label: "Republish" });
      after[side] = readMountedFiles(target);
      checkContents(after[side], rotated);
      const spcps = spcpsOf(pods[side])!;
      expect(
        spcps.status.objects?.find((o) => o.id === `secret/${DEMO_SECRET_NAME}`)?.version,
      ).to.equal(version);
      expect(spcps.status.objects).to.deep.equal(expectedObjects());
    }
    expectSameFiles(after.ours, after.upstream);
  });

  it("workload identity: the Go provider exchanges the pod's service-account token (MSAL-Go instance discovery included), same files as our provider", async function () {
    const wiSpc = azureSpc(WI_SPC, NS, {
      clientID: DEMO_CLIENT_ID,
      keyvaultName: DEMO_VAULT,
      tenantId: DEMO_TENANT_ID,
      cloudName: "AzureStackCloud",
      cloudEnvFileName: emulator!.cloudEnvFile,
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
    });
    api!.store.put(wiSpc);
    const kube = createKubeClient(loadKubeConfig({ kubeconfig: api!.kubeconfigPath }));
    const got = {} as Record<Side, Map<string, MountedFile>>;
    try {
      for (const side of ["upstream", "ours"] as const) {
        const pod = pods[side];
        const tr = await kube.create<TokenRequest>(tokenRequestPath(NS, SA), {
          apiVersion: "authentication.k8s.io/v1",
          kind: "TokenRequest",
          spec: {
            audiences: [WI_AUDIENCE],
            expirationSeconds: 3600,
            boundObjectRef: { apiVersion: "v1", kind: "Pod", name: pod.name, uid: pod.uid },
          },
        });
        const before = emulator!.count({
          route: "entra.token",
          status: 200,
          principal: DEMO_CLIENT_ID,
        });
        const target = await publish(side, {
          spc: WI_SPC,
          root: "kubelet-wi",
          label: "WorkloadIdentityPublish",
          tokens: {
            [WI_AUDIENCE]: {
              token: tr.status!.token,
              expirationTimestamp: tr.status!.expirationTimestamp,
            },
          },
        });
        expect(
          emulator!.count({ route: "entra.token", status: 200, principal: DEMO_CLIENT_ID }) -
            before,
          `${side}: token exchanges`,
        ).to.be.at.least(1);
        got[side] = readMountedFiles(target);
        checkContents(got[side], emulator!.store.getSecretValue(DEMO_VAULT, DEMO_SECRET_NAME));
        expect(spcpsOf(pod, WI_SPC)!.status.objects).to.deep.equal(expectedObjects());
      }
    } finally {
      kube.close();
    }
    expectSameFiles(got.ours, got.upstream);
    // Only the Go provider asks the public cloud about the authority (ours disables instance discovery).
    expect(emulator!.count({ route: "entra.discovery" })).to.be.at.least(1);
  });

  it("service principal: kubelet's nodePublishSecretRef through our driver to the Go provider's client-secret credential, same file as our provider", async () => {
    const sp = "interop-sp";
    api!.store.put(
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
      published.push({ side, target, uid: pod.uid });
      const before = emulator!.count({
        route: "entra.token",
        status: 200,
        principal: DEMO_CLIENT_ID,
      });
      try {
        await drivers[side]!.csi.call(
          "Node",
          "NodePublishVolume",
          publishRequest({
            pod,
            spc: sp,
            target,
            secrets: { clientid: DEMO_CLIENT_ID, clientsecret: DEMO_CLIENT_SECRET },
          }),
        );
      } catch (e) {
        const providerLog =
          side === "upstream" ? goProvider!.tail(40) : tsProvider!.output().slice(-4000);
        throw new Error(
          `${side} provider: ${(e as Error).message}\n--- provider log tail:\n${providerLog}`,
          { cause: e },
        );
      }
      expect(
        emulator!.count({ route: "entra.token", status: 200, principal: DEMO_CLIENT_ID }) - before,
        `${side}: client-secret token requests`,
      ).to.equal(1);
      got[side] = readMountedFiles(target);
      expect([...got[side].keys()]).to.deep.equal([DEMO_SECRET_NAME]);
      expect(got[side].get(DEMO_SECRET_NAME)!.contents.toString("utf8")).to.equal(value);
    }
    expectSameFiles(got.ours, got.upstream);
  });

  it("formats: PEM chain from PFX (RSA and EC), PFX passthrough, PEM-backed cert, EC public key, version history, file permission — byte-identical to our provider", async () => {
    const store = emulator!.store;
    await store.createCertificate(DEMO_VAULT, "ec-tls", {
      keyType: "EC",
      crv: "P-256",
      format: "pfx",
      chain: 2,
      subject: "ec.demo.local",
      sans: ["ec.demo.local"],
    });
    await store.createCertificate(DEMO_VAULT, "pem-tls", {
      keyType: "RSA",
      format: "pem",
      chain: 3,
      subject: "pem.demo.local",
      sans: ["pem.demo.local"],
    });
    await store.setKey(DEMO_VAULT, "ec-key", { kty: "EC", crv: "P-384" });
    const now = Math.floor(Date.now() / 1000);
    for (const [i, v] of ["one", "two", "three"].entries())
      store.setSecret(DEMO_VAULT, "multi", `multi-${v}`, {
        contentType: "text/plain",
        created: now - 10 + i,
      });
    const formats = "interop-formats";
    const object = (o: Record<string, string | number>) =>
      `  - |\n${Object.entries(o)
        .map(([k, v]) => `    ${k}: ${typeof v === "number" ? v : JSON.stringify(v)}`)
        .join("\n")}\n`;
    api!.store.put(
      azureSpc(formats, NS, {
        usePodIdentity: "true",
        keyvaultName: DEMO_VAULT,
        tenantId: DEMO_TENANT_ID,
        cloudName: "AzureStackCloud",
        cloudEnvFileName: emulator!.cloudEnvFile,
        objects:
          "array:\n" +
          object({
            objectName: DEMO_CERT_NAME,
            objectType: "secret",
            objectAlias: "rsa-chain.pem",
          }) +
          object({
            objectName: DEMO_CERT_NAME,
            objectType: "secret",
            objectAlias: "rsa.pfx",
            objectFormat: "pfx",
            objectEncoding: "base64",
          }) +
          object({ objectName: "ec-tls", objectType: "secret", objectAlias: "ec-chain.pem" }) +
          object({ objectName: "ec-tls", objectType: "cert", objectAlias: "ec.crt" }) +
          object({ objectName: "pem-tls", objectType: "secret", objectAlias: "pem-chain.pem" }) +
          object({ objectName: "ec-key", objectType: "key", objectAlias: "ec-pub.pem" }) +
          object({
            objectName: "multi",
            objectType: "secret",
            objectVersionHistory: 2,
            filePermission: "0600",
          }),
      }),
    );
    const got = {} as Record<Side, Map<string, MountedFile>>;
    for (const side of ["upstream", "ours"] as const) {
      const target = await publish(side, {
        spc: formats,
        root: "kubelet-formats",
        label: "FormatsPublish",
      });
      got[side] = readMountedFiles(target);
    }
    const up = got.upstream;
    // objectVersionHistory: 2 writes three versions upstream (an off-by-one ours keeps on purpose).
    expect([...up.keys()].sort()).to.deep.equal([
      "ec-chain.pem",
      "ec-pub.pem",
      "ec.crt",
      "multi/0",
      "multi/1",
      "multi/2",
      "pem-chain.pem",
      "rsa-chain.pem",
      "rsa.pfx",
    ]);
    expect(
      ["multi/0", "multi/1", "multi/2"].map((n) => up.get(n)!.contents.toString()),
    ).to.deep.equal(["multi-three", "multi-two", "multi-one"]);
    expect(up.get("multi/0")!.mode).to.equal(0o600);
    expect(up.get("rsa.pfx")!.contents.subarray(0, 1)[0]).to.equal(0x30, "decoded PFX is DER");
    for (const [name, f] of got.ours) {
      const theirs = up.get(name);
      expect(theirs, `${name} exists in the Go provider's mount`).to.not.equal(undefined);
      expect(f.contents.toString("utf8"), `contents of ${name}`).to.equal(
        theirs!.contents.toString("utf8"),
      );
      expect(f.mode, `mode of ${name}`).to.equal(theirs!.mode);
    }
    expectSameFiles(got.ours, up);
    expect(spcpsOf(pods.ours, formats)!.status.objects).to.deep.equal(
      spcpsOf(pods.upstream, formats)!.status.objects,
    );
  });

  interface Failure {
    code: number;
    details: string;
    mounted: boolean;
  }

  /** Publishes through both drivers (Go provider, our provider) expecting failure; what each driver answered. */
  async function failBoth(
    pod: (side: Side) => PodRef,
    spc: string,
    tag: string,
  ): Promise<Record<Side, Failure>> {
    const outcome = {} as Record<Side, Failure>;
    for (const side of ["upstream", "ours"] as const) {
      const p = pod(side);
      const target = targetPathFor(join(dir!, `kubelet-${tag}`, side), p.uid);
      let err: (Error & { code?: number; details?: string }) | undefined;
      try {
        await drivers[side]!.csi.call(
          "Node",
          "NodePublishVolume",
          publishRequest({ pod: p, spc, target }),
        );
      } catch (e) {
        err = e as Error & { code?: number; details?: string };
      }
      expect(err, `${side}: publish must fail`).to.not.equal(undefined);
      outcome[side] = {
        code: err!.code ?? -1,
        details: err!.details ?? err!.message,
        mounted: mountsUnder(target).length > 0,
      };
    }
    return outcome;
  }

  it("a provider error crosses our driver intact: NMI's 403 for an unbound pod, code Unknown, nothing left mounted, as with our provider", async () => {
    const outcome = await failBoth(() => unbound, SPC, "unbound");
    const cause = `nmi response failed with status code: 403, response body: getting assigned identities for pod ${NS}/${unbound.name} in CREATED state failed`;
    for (const side of ["upstream", "ours"] as const) {
      const o = outcome[side];
      expect(o.code, o.details).to.equal(2);
      expect(o.details).to.match(
        new RegExp(
          `^failed to mount secrets store objects for pod ${NS}/${unbound.name}, err: rpc error: code = Unknown desc = failed to mount objects, error: failed to get objectType:secret, objectName:${DEMO_SECRET_NAME}, objectVersion:: `,
        ),
      );
      expect(o.details).to.include(cause);
      expect(o.mounted, `${side}: the failed mount is undone`).to.equal(false);
    }
    // Known wording difference: our provider names the vault and object before a non-HTTP cause
    // (`keyvault https://…/: secret "db-password": `); upstream puts the cause right after `objectVersion:: `.
    expect(outcome.upstream.details).to.include(`objectVersion:: ${cause}`);
  });

  it("a missing object: Key Vault's 404 through the Go provider and ours, code Unknown, nothing left mounted", async () => {
    const missing = "interop-missing";
    api!.store.put(
      azureSpc(missing, NS, {
        usePodIdentity: "true",
        keyvaultName: DEMO_VAULT,
        tenantId: DEMO_TENANT_ID,
        cloudName: "AzureStackCloud",
        cloudEnvFileName: emulator!.cloudEnvFile,
        objects: "array:\n  - |\n    objectName: no-such-secret\n    objectType: secret\n",
      }),
    );
    const outcome = await failBoth((side) => pods[side], missing, "missing");
    for (const side of ["upstream", "ours"] as const) {
      const o = outcome[side];
      expect(o.code, o.details).to.equal(2);
      expect(o.details).to.include(
        "failed to mount objects, error: failed to get objectType:secret, objectName:no-such-secret, objectVersion:: ",
      );
      expect(o.details).to.match(/RESPONSE 404/);
      expect(o.details).to.include("SecretNotFound");
      expect(o.mounted, `${side}: the failed mount is undone`).to.equal(false);
    }
  });

  it("unpublishes: no mount and no target left", async () => {
    // Two sides, each with pod-identity, workload-identity, service-principal and formats volumes.
    expect(published.length, "all eight publishes ran").to.equal(8);
    for (const p of published.splice(0)) {
      await drivers[p.side]!.csi.call("Node", "NodeUnpublishVolume", {
        volume_id: volumeIdFor(p.uid),
        target_path: p.target,
      });
      expect(existsSync(p.target), `${p.target} removed`).to.equal(false);
    }
    expect(mountsUnder(dir!)).to.deep.equal([]);
  });
});
