// The driver over real gRPC on unix sockets: a CSI client plays kubelet, a
// fake provider answers on its own socket, and (as root) volumes are real
// tmpfs mounts checked in /proc/self/mountinfo.
import * as grpc from "@grpc/grpc-js";
import { expect } from "chai";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { driverConfig } from "../../src/driver/config.js";
import { NODE_LABEL, spcPath, spcpsPath } from "../../src/driver/kube.js";
import { DriverMetrics } from "../../src/driver/metrics.js";
import { NodeService } from "../../src/driver/node-service.js";
import { createProviderPool } from "../../src/driver/provider-client.js";
import { startCsiServer } from "../../src/driver/server.js";
import { FakeMounter } from "../../src/mount/fake-mounter.js";
import { LinuxMounter } from "../../src/mount/linux-mounter.js";
import type { Mounter } from "../../src/mount/mounter.js";
import type { Serving } from "../../src/util/grpc-server.js";
import { memoryLogger } from "../../src/util/logger.js";
import { csiClient, type CsiClient } from "../helpers/csi-client.js";
import { startFakeProvider, type FakeProvider } from "../helpers/fake-provider.js";
import { MemoryKube } from "../helpers/memory-kube.js";

const isRoot = process.getuid?.() === 0;
const POD_UID = "5d4c3b2a-0000-4000-8000-000000000001";
const SENTINEL_TOKEN = "eyJSENTINEL-token-value-0123456789";
const SENTINEL_SECRET = "SENTINEL-client-secret-9876543210";

interface Rig {
  dir: string;
  target: string;
  kube: MemoryKube;
  provider: FakeProvider;
  client: CsiClient;
  serving: Serving;
  mounter: Mounter;
  metrics: DriverMetrics;
  lines: string[];
  stop(): Promise<void>;
}

async function rig(extraFlags: string[] = []): Promise<Rig> {
  const dir = mkdtempSync(join(tmpdir(), "akv-drv-"));
  mkdirSync(join(dir, "providers"));
  const target = join(dir, "pods", POD_UID, "volumes", "kubernetes.io~csi", "secrets-store-inline", "mount");
  const { config } = driverConfig([
    `--endpoint=unix://${dir}/csi.sock`,
    "--nodeid=node-a",
    `--provider-volume=${dir}/providers`,
    `--additional-provider-volume-paths=${dir}/none`,
    "-v=10",
    ...extraFlags,
  ]);
  const kube = new MemoryKube();
  kube.objects.set(spcPath("default", "azure-kv"), {
    metadata: { name: "azure-kv", namespace: "default" },
    spec: { provider: "fake", parameters: { keyvaultName: "kv1", objects: "array: []", podName: "from-spc" } },
  });
  const provider = await startFakeProvider(join(dir, "providers", "fake.sock"));
  provider.files = [
    { path: "db-password", mode: 0o644, contents: Buffer.from("hunter2") },
    { path: "certs/tls.crt", mode: 0o600, contents: Buffer.from("-----BEGIN CERTIFICATE-----\n") },
  ];
  provider.versions = [
    { id: "secret/db-password", version: "v1" },
    { id: "cert/tls", version: "c1" },
  ];
  const { log, lines } = memoryLogger(10);
  const mounter: Mounter = isRoot ? new LinuxMounter() : new FakeMounter();
  const metrics = new DriverMetrics();
  const providers = createProviderPool({ dirs: config.providerDirs, maxReceiveMessageLength: config.maxCallRecvMsgSize, log });
  const node = new NodeService({ config, mounter, kube, providers, metrics, log });
  const serving = await startCsiServer({ config, node, log });
  const client = csiClient(join(dir, "csi.sock"));
  return {
    dir,
    target,
    kube,
    provider,
    client,
    serving,
    mounter,
    metrics,
    lines,
    async stop() {
      client.close();
      providers.close();
      await serving.stop(100);
      await provider.stop();
      if (await mounter.isMountPoint(target).catch(() => false)) await mounter.unmount(target);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function publishReq(r: Rig, over: Record<string, unknown> = {}) {
  return {
    volume_id: "csi-0123",
    target_path: r.target,
    volume_capability: { mount: {}, access_mode: { mode: "SINGLE_NODE_READER_ONLY" } },
    readonly: true,
    secrets: { clientid: "app-id", clientsecret: SENTINEL_SECRET },
    volume_context: {
      secretProviderClass: "azure-kv",
      "csi.storage.k8s.io/pod.name": "web-0",
      "csi.storage.k8s.io/pod.namespace": "default",
      "csi.storage.k8s.io/pod.uid": POD_UID,
      "csi.storage.k8s.io/ephemeral": "true",
      "csi.storage.k8s.io/serviceAccount.name": "default",
      "csi.storage.k8s.io/serviceAccount.tokens": JSON.stringify({ "api://AzureADTokenExchange": { token: SENTINEL_TOKEN } }),
      podName: "from-context",
    },
    ...over,
  };
}

async function metric(r: Rig, name: string): Promise<string> {
  return (await r.metrics.registry.metrics()).split("\n").filter((l) => l.startsWith(name)).join("\n");
}

describe("integration: driver NodePublish/NodeUnpublish over real sockets" + (isRoot ? " (real tmpfs)" : " (fake mounter: not root)"), function () {
  this.timeout(30_000);
  let r: Rig;
  afterEach(async () => r && (await r.stop()));

  it("publishes: tmpfs with nosuid,nodev and a size cap, atomic layout, provider request, SPCPS", async () => {
    r = await rig();
    await r.client.call("Node", "NodePublishVolume", publishReq(r));

    const entry = await r.mounter.entry(r.target);
    expect(entry?.fsType).to.equal("tmpfs");
    expect(entry?.options).to.include.members(["nosuid", "nodev"]);
    if (isRoot) {
      const mi = readFileSync("/proc/self/mountinfo", "utf8").split("\n").find((l) => l.includes(` ${r.target} `));
      expect(mi, "mountinfo line").to.match(/nosuid,nodev/).and.match(/ tmpfs tmpfs /).and.match(/size=32768k/);
    }
    expect(readFileSync(join(r.target, "db-password"), "utf8")).to.equal("hunter2");
    expect(lstatSync(join(r.target, "db-password")).isSymbolicLink()).to.equal(true);
    expect(readlinkSync(join(r.target, "certs"))).to.equal("..data/certs");
    expect(readlinkSync(join(r.target, "..data"))).to.match(/^\.\.\d{4}_\d\d_\d\d_\d\d_\d\d_\d\d\.\d+$/);
    expect(statSync(join(r.target, "certs/tls.crt")).mode & 0o777).to.equal(0o600);

    const req = r.provider.requests[0]!;
    const attrs = JSON.parse(req.attributes) as Record<string, string>;
    expect(attrs.podName, "volume context wins over SPC parameters").to.equal("from-context");
    expect(attrs.keyvaultName).to.equal("kv1");
    expect(attrs["csi.storage.k8s.io/serviceAccount.tokens"]).to.contain(SENTINEL_TOKEN);
    expect(JSON.parse(req.secrets)).to.deep.equal({ clientid: "app-id", clientsecret: SENTINEL_SECRET });
    expect(req.permission).to.equal("420");
    expect(req.target_path).to.equal(r.target);
    expect(req.current_object_version).to.deep.equal([]);

    const spcps = r.kube.objects.get(spcpsPath("default", "web-0-default-azure-kv")) as Record<string, any>;
    expect(spcps.metadata.labels[NODE_LABEL]).to.equal("node-a");
    expect(spcps.metadata.ownerReferences).to.deep.equal([{ apiVersion: "v1", kind: "Pod", name: "web-0", uid: POD_UID }]);
    expect(spcps.status).to.deep.include({ podName: "web-0", secretProviderClassName: "azure-kv", mounted: true, targetPath: r.target });
    expect(spcps.status.objects.map((o: { id: string }) => o.id)).to.deep.equal(["cert/tls", "secret/db-password"]);
    expect(await metric(r, "node_publish_total")).to.contain('provider="fake"');

    // Idempotent when rotation is off: no second provider call.
    await r.client.call("Node", "NodePublishVolume", publishReq(r));
    expect(r.provider.requests).to.have.length(1);
  });

  it("never logs tokens or nodePublishSecretRef values, even at -v=10", async () => {
    r = await rig();
    await r.client.call("Node", "NodePublishVolume", publishReq(r));
    r.provider.error = { code: grpc.status.UNKNOWN, details: `boom ${SENTINEL_TOKEN}` };
    await r.client.call("Node", "NodeUnpublishVolume", { volume_id: "csi-0123", target_path: r.target });
    await r.client.call("Node", "NodePublishVolume", publishReq(r)).catch((e: Error) => {
      expect(e.message).not.to.contain(SENTINEL_TOKEN);
    });
    const all = r.lines.join("");
    expect(all).to.contain("NodePublishVolume"); // the V(5) request lines are there…
    expect(all).not.to.contain(SENTINEL_TOKEN); // …without the token
    expect(all).not.to.contain(SENTINEL_SECRET);
    expect(all).not.to.contain("hunter2");
  });

  it("rotation: a due republish swaps contents atomically and records rotation metrics", async () => {
    r = await rig(["--enable-secret-rotation", "--rotation-poll-interval=0s"]);
    await r.client.call("Node", "NodePublishVolume", publishReq(r));
    const before = readlinkSync(join(r.target, "..data"));
    r.provider.files = [{ path: "db-password", mode: 0o644, contents: Buffer.from("rotated!") }];
    r.provider.versions = [{ id: "secret/db-password", version: "v2" }];
    await r.client.call("Node", "NodePublishVolume", publishReq(r));
    expect(readFileSync(join(r.target, "db-password"), "utf8")).to.equal("rotated!");
    expect(readlinkSync(join(r.target, "..data"))).not.to.equal(before);
    expect(existsSync(join(r.target, "certs")), "entry that left the payload is pruned").to.equal(false);
    expect(existsSync(join(r.target, before)), "old data dir removed").to.equal(false);
    const spcps = r.kube.objects.get(spcpsPath("default", "web-0-default-azure-kv")) as Record<string, any>;
    expect(spcps.status.objects).to.deep.equal([{ id: "secret/db-password", version: "v2" }]);
    expect(await metric(r, "rotation_reconcile_total")).to.contain('rotated="true"');
  });

  it("rotation gate: a republish before the poll interval is skipped without a provider call", async () => {
    r = await rig(["--enable-secret-rotation", "--rotation-poll-interval=1h"]);
    await r.client.call("Node", "NodePublishVolume", publishReq(r));
    await r.client.call("Node", "NodePublishVolume", publishReq(r));
    expect(r.provider.requests).to.have.length(1);
  });

  it("a failed republish keeps the old contents and reports success (masked, as upstream)", async () => {
    r = await rig(["--enable-secret-rotation", "--rotation-poll-interval=0s"]);
    await r.client.call("Node", "NodePublishVolume", publishReq(r));
    r.provider.error = { code: grpc.status.UNAVAILABLE, details: "vault throttled" };
    await r.client.call("Node", "NodePublishVolume", publishReq(r));
    expect(readFileSync(join(r.target, "db-password"), "utf8")).to.equal("hunter2");
    expect(await metric(r, "rotation_reconcile_error_total")).to.contain('error_type="GRPCProviderError"');
  });

  it("with --mask-remount-errors=false a failed republish surfaces, old contents still kept", async () => {
    r = await rig(["--enable-secret-rotation", "--rotation-poll-interval=0s", "--mask-remount-errors=false"]);
    await r.client.call("Node", "NodePublishVolume", publishReq(r));
    r.provider.error = { code: grpc.status.INTERNAL, details: "vault down" };
    const err = await r.client.call("Node", "NodePublishVolume", publishReq(r)).then(
      () => undefined,
      (e: grpc.ServiceError) => e,
    );
    expect(err?.code).to.equal(grpc.status.INTERNAL);
    expect(err?.details).to.equal(
      "failed to mount secrets store objects for pod default/web-0, err: rpc error: code = Internal desc = vault down",
    );
    expect(readFileSync(join(r.target, "db-password"), "utf8")).to.equal("hunter2");
    expect(await r.mounter.isMountPoint(r.target)).to.equal(true);
  });

  it("a failed first mount leaves no mount behind", async () => {
    r = await rig();
    r.provider.error = { code: grpc.status.UNKNOWN, details: "failed to mount objects, error: SecretNotFound" };
    const err = await r.client.call("Node", "NodePublishVolume", publishReq(r)).catch((e: grpc.ServiceError) => e);
    expect((err as grpc.ServiceError).details).to.contain("failed to mount secrets store objects for pod default/web-0");
    expect(await r.mounter.isMountPoint(r.target)).to.equal(false);
    expect(existsSync(join(r.target, "db-password"))).to.equal(false);
    expect(await metric(r, "node_publish_error_total")).to.contain('error_type="GRPCProviderError"');
  });

  it("provider socket missing: clean error naming the provider and the directories, nothing mounted", async () => {
    r = await rig();
    await r.provider.stop();
    const err = (await r.client.call("Node", "NodePublishVolume", publishReq(r)).catch((e: grpc.ServiceError) => e)) as grpc.ServiceError;
    expect(err.code).to.equal(grpc.status.UNKNOWN);
    expect(err.details).to.contain('error connecting to provider "fake": provider not found: provider "fake"');
    expect(err.details).to.contain(join(r.dir, "providers"));
    expect(await r.mounter.isMountPoint(r.target)).to.equal(false);
    expect(r.kube.calls.filter((c) => c.startsWith("POST"))).to.deep.equal([]);
    expect(await metric(r, "node_publish_error_total")).to.contain('error_type=""');
  });

  it("re-dials a provider that restarted on a new socket (upstream caches clients forever)", async () => {
    r = await rig(["--enable-secret-rotation", "--rotation-poll-interval=0s", "--mask-remount-errors=false"]);
    await r.client.call("Node", "NodePublishVolume", publishReq(r));
    await r.provider.stop();
    const again = await startFakeProvider(join(r.dir, "providers", "fake.sock"));
    again.files = [{ path: "db-password", mode: 0o644, contents: Buffer.from("from-restarted") }];
    again.versions = [{ id: "secret/db-password", version: "v3" }];
    r.provider = again;
    await r.client.call("Node", "NodePublishVolume", publishReq(r));
    expect(readFileSync(join(r.target, "db-password"), "utf8")).to.equal("from-restarted");
    expect(again.requests).to.have.length(1);
  });

  it("validation: upstream codes and texts, in upstream order", async () => {
    r = await rig();
    const cases: [Record<string, unknown>, grpc.status, string][] = [
      [{ volume_capability: null }, grpc.status.INVALID_ARGUMENT, "Volume capability missing in request"],
      [{ volume_id: "" }, grpc.status.INVALID_ARGUMENT, "Volume ID missing in request"],
      [{ target_path: "" }, grpc.status.INVALID_ARGUMENT, "Target path missing in request"],
      [{ volume_context: {} }, grpc.status.INVALID_ARGUMENT, "Volume attributes missing in request"],
      [{ readonly: false }, grpc.status.INVALID_ARGUMENT, "Readonly is not true in request"],
      [
        { volume_context: { ...publishReq(r).volume_context, secretProviderClass: "nope" } },
        grpc.status.UNKNOWN,
        'failed to get secretproviderclass default/nope, error: secretproviderclasses.secrets-store.csi.x-k8s.io "nope" not found',
      ],
      [
        { target_path: join(r.dir, "elsewhere") },
        grpc.status.INVALID_ARGUMENT,
        `target path ${join(r.dir, "elsewhere")} does not match the kubelet layout`,
      ],
    ];
    for (const [over, code, text] of cases) {
      const err = (await r.client.call("Node", "NodePublishVolume", publishReq(r, over)).catch((e: grpc.ServiceError) => e)) as grpc.ServiceError;
      expect(err?.code, text).to.equal(code);
      expect(err.details).to.contain(text);
    }
    expect(r.provider.requests).to.have.length(0);
    expect(await r.mounter.isMountPoint(r.target).catch(() => false)).to.equal(false);
  });

  it("unpublish leaves no mount and no directory, and is idempotent", async () => {
    r = await rig();
    await r.client.call("Node", "NodePublishVolume", publishReq(r));
    await r.client.call("Node", "NodeUnpublishVolume", { volume_id: "csi-0123", target_path: r.target });
    expect(existsSync(r.target)).to.equal(false);
    expect(await r.mounter.entry(r.target)).to.equal(undefined);
    if (isRoot) expect(readFileSync("/proc/self/mountinfo", "utf8")).not.to.contain(r.target);
    await r.client.call("Node", "NodeUnpublishVolume", { volume_id: "csi-0123", target_path: r.target });
    expect(await metric(r, "node_unpublish_total")).to.match(/node_unpublish_total\{os_type="linux"\} 2/);
  });

  it("identity, capabilities and node info answer as upstream", async () => {
    r = await rig();
    const info = await r.client.call("Identity", "GetPluginInfo");
    expect(info).to.deep.include({ name: "secrets-store.csi.k8s.io", vendor_version: "v1.6.0" });
    const caps = await r.client.call<{ capabilities: unknown[] }>("Identity", "GetPluginCapabilities");
    expect(caps.capabilities).to.deep.equal([{ service: { type: "CONTROLLER_SERVICE" }, type: "service" }]);
    expect(await r.client.call("Identity", "Probe")).to.deep.equal({ ready: { value: true } });
    expect(await r.client.call("Node", "NodeGetInfo")).to.deep.include({ node_id: "node-a" });
    const ncaps = await r.client.call<{ capabilities: unknown[] }>("Node", "NodeGetCapabilities");
    expect(ncaps.capabilities).to.deep.equal([{ rpc: { type: "STAGE_UNSTAGE_VOLUME" }, type: "rpc" }]);
    const st = statSync(join(r.dir, "csi.sock"));
    expect(st.mode & 0o777).to.equal(0o700);
  });
});
