// Benchmarks for the DESIGN.md performance targets. Not part of `npm test`:
// `npm run bench [-- --pods=500 --latency=50]` bundles src/ as the image does,
// runs the driver and the provider as separate processes from that bundle against the emulator and the in-memory API server, plays kubelet,
// and prints a Markdown table; JSON goes to bench/results/.
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startMiniApiServer } from "../src/demo/mini-apiserver.js";
import { DEMO_CLIENT_ID, DEMO_TENANT_ID, DEMO_VAULT, startEmulator } from "../src/emulator/index.js";
import { createKubeClient } from "../src/k8s/client.js";
import { loadKubeConfig } from "../src/k8s/config.js";
import { tokenRequestPath, type TokenRequest } from "../src/k8s/types.js";
import { createLogger } from "../src/util/logger.js";
import { csiClient } from "../test/helpers/csi-client.js";
import { PEER_VERSIONS, peerPath } from "../test/peers/peers.js";

const REPO = join(__dirname, "..");
const arg = (name: string, dflt: number) => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.split("=")[1]) : dflt;
};
const PODS = arg("pods", 500);
const LATENCY = arg("latency", 50);
/** Old-space cap in MiB, as the chart sets it (half the 200Mi memory limit); 0 = Node's default. */
const HEAP = arg("heap", 100);

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};
const rssMiB = (pid: number) => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
};

function spawnDist(args: string[], env: Record<string, string>, log: string): ChildProcess {
  const nodeOptions = HEAP > 0 ? { NODE_OPTIONS: `--max-old-space-size=${HEAP}` } : {};
  const child = spawn(process.execPath, [join(REPO, "dist/bundle/main.js"), ...args], {
    env: { ...process.env, ...env, ...nodeOptions },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const chunks: Buffer[] = [];
  child.stdout.on("data", (b: Buffer) => chunks.push(b));
  child.stderr.on("data", (b: Buffer) => chunks.push(b));
  child.once("exit", () => writeFileSync(log, Buffer.concat(chunks)));
  return child;
}

async function waitPath(p: string, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 600 && !existsSync(p); i++) {
    if (child.exitCode !== null) throw new Error(`process exited before ${p}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function main(): Promise<void> {
  execFileSync("npm", ["run", "-s", "bundle"], { cwd: REPO, stdio: "inherit" });
  const ws = mkdtempSync(join(tmpdir(), "akv-bench-"));
  const quiet = createLogger({ write: () => undefined });
  // The upstream provider hard-codes NMI at localhost:2579, so the comparison needs that port.
  const upstreamBin = peerPath("azure-provider");
  const emulator = await startEmulator({ nmiPort: upstreamBin ? 2579 : -1, stateDir: join(ws, "emu"), log: quiet, latencyMs: LATENCY });
  const spc = {
    apiVersion: "secrets-store.csi.x-k8s.io/v1",
    kind: "SecretProviderClass",
    metadata: { name: "bench", namespace: "default" },
    spec: {
      provider: "azure",
      parameters: {
        clientID: DEMO_CLIENT_ID,
        tenantId: DEMO_TENANT_ID,
        keyvaultName: DEMO_VAULT,
        cloudName: "AzureStackCloud",
        cloudEnvFileName: emulator.cloudEnvFile,
        objects: "array:\n  - |\n    objectName: db-password\n    objectType: secret\n  - |\n    objectName: signing-key\n    objectType: key\n  - |\n    objectName: web-tls\n    objectType: cert\n",
      },
    },
  };
  const sa = { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "demo-sa", namespace: "default" } };
  // The same objects in pod-identity mode (the one auth mode the Go provider can use against the
  // emulator without Azure's instance discovery), once per provider.
  const podIdentitySpc = (name: string, provider: string) => ({
    ...spc,
    metadata: { name, namespace: "default" },
    spec: { provider, parameters: { ...spc.spec.parameters, clientID: "", usePodIdentity: "true" } },
  });
  const api = await startMiniApiServer({
    https: true,
    objects: [sa, spc, podIdentitySpc("cmp-ours", "azure"), podIdentitySpc("cmp-upstream", "azure-upstream")],
    log: quiet,
  });
  const kube = createKubeClient(loadKubeConfig({ kubeconfig: api.kubeconfigPath }));

  mkdirSync(join(ws, "prov"));
  const provider = spawnDist(
    ["provider", "azure", `--endpoint=unix://${ws}/prov/azure.sock`, "--healthz-port=0", "--healthz-host=127.0.0.1", "--prometheus-port=0", "--metrics-host=127.0.0.1"],
    emulator.clientEnv(),
    join(ws, "provider.log"),
  );
  const driver = spawnDist(
    ["driver", `--endpoint=unix://${ws}/csi.sock`, "--nodeid=bench-node", `--provider-volume=${ws}/prov`, `--additional-provider-volume-paths=${ws}/none`, `--kubeconfig=${api.kubeconfigPath}`, "--metrics-addr=127.0.0.1:0", "--enable-secret-rotation", "--rotation-poll-interval=1h"],
    {},
    join(ws, "driver.log"),
  );
  await waitPath(join(ws, "prov/azure.sock"), provider);
  await waitPath(join(ws, "csi.sock"), driver);
  await new Promise((r) => setTimeout(r, 1000));
  const idle = { driver: rssMiB(driver.pid!), provider: rssMiB(provider.pid!) };
  const csi = csiClient(join(ws, "csi.sock"));

  const token = (await kube.create<TokenRequest>(tokenRequestPath("default", "demo-sa"), { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { audiences: ["api://AzureADTokenExchange"], expirationSeconds: 3600 } })).status!;
  const req = (i: number, spcName = "bench") => {
    const uid = `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`;
    return {
      volume_id: `v${i}`,
      target_path: join(ws, "pods", uid, "volumes", "kubernetes.io~csi", "secrets-store-inline", "mount"),
      volume_capability: { mount: {} },
      readonly: true,
      volume_context: {
        secretProviderClass: spcName,
        "csi.storage.k8s.io/pod.name": `pod-${i}`,
        "csi.storage.k8s.io/pod.namespace": "default",
        "csi.storage.k8s.io/pod.uid": uid,
        "csi.storage.k8s.io/serviceAccount.name": "demo-sa",
        "csi.storage.k8s.io/serviceAccount.tokens": JSON.stringify({ "api://AzureADTokenExchange": token }),
      },
    };
  };
  const timed = async (i: number, spcName?: string) => {
    const t = process.hrtime.bigint();
    await csi.call("Node", "NodePublishVolume", req(i, spcName));
    return Number(process.hrtime.bigint() - t) / 1e6;
  };

  // S2: burst of PODS pods, one SPC and identity, vault latency LATENCY.
  // First, with cold caches: this is the burst a node start or a rollout produces.
  emulator.resetStats();
  const t0 = Date.now();
  const burst = await Promise.all(Array.from({ length: PODS }, (_, i) => timed(i)));
  const burstWall = Date.now() - t0;
  const gets = emulator.count({ route: /^(secret|key|certificate)\.get$/, status: 200 });
  const throttled = emulator.count({ status: 429 });
  const tokens = emulator.count({ route: "entra.token" });
  const loaded = { driver: rssMiB(driver.pid!), provider: rssMiB(provider.pid!) };

  // S1: overhead — sequential mounts with the vault latency set to 0 (and the
  // provider's cache warm from S2), so what remains is driver + provider time.
  emulator.setLatency(0);
  const warm: number[] = [];
  for (let i = 0; i < 200; i++) warm.push(await timed(100_000 + i));
  emulator.setLatency(LATENCY);

  // S3: skipped republish (rotation on, interval not yet due): no provider call.
  const before = emulator.count({ route: /^(secret|key|certificate)\.get$/ });
  const skipped: number[] = [];
  for (let i = 0; i < PODS; i++) skipped.push(await timed(i));
  const skippedGets = emulator.count({ route: /^(secret|key|certificate)\.get$/ }) - before;

  // S4: the same burst in pod-identity mode through the upstream Go provider and through ours.
  const compare: Record<string, { p50: number; p99: number; gets: number; nmiTokens: number; rssMiB: number }> = {};
  if (upstreamBin) {
    const goProvider = spawn(upstreamBin, ["--endpoint", `unix://${ws}/prov/azure-upstream.sock`, "--healthz-port=0", "--prometheus-port=0"], {
      env: { ...process.env, ...emulator.clientEnv() },
      stdio: "ignore",
    });
    await waitPath(join(ws, "prov/azure-upstream.sock"), goProvider);
    const sides: [string, string, number, ChildProcess][] = [
      ["upstream", "cmp-upstream", 200_000, goProvider],
      ["akv-csi", "cmp-ours", 300_000, provider],
    ];
    for (const [side, spcName, base, proc] of sides) {
      emulator.resetStats();
      const lat = await Promise.all(Array.from({ length: PODS }, (_, i) => timed(base + i, spcName)));
      compare[side] = {
        p50: pct(lat, 50),
        p99: pct(lat, 99),
        gets: emulator.count({ route: /^(secret|key|certificate)\.get$/, status: 200 }),
        nmiTokens: emulator.count({ route: "nmi.token" }),
        rssMiB: rssMiB(proc.pid!),
      };
      for (let i = 0; i < PODS; i++) await csi.call("Node", "NodeUnpublishVolume", { volume_id: "c", target_path: req(base + i).target_path });
    }
    goProvider.kill("SIGTERM");
  }

  for (let i = 0; i < PODS; i++) await csi.call("Node", "NodeUnpublishVolume", { volume_id: `v${i}`, target_path: req(i).target_path });
  for (let i = 0; i < 200; i++) await csi.call("Node", "NodeUnpublishVolume", { volume_id: "w", target_path: req(100_000 + i).target_path });
  csi.close();
  driver.kill("SIGTERM");
  provider.kill("SIGTERM");
  await Promise.all([new Promise((r) => driver.once("exit", r)), new Promise((r) => provider.once("exit", r))]);
  kube.close();
  await api.close();
  await emulator.close();

  const result = {
    date: new Date().toISOString(),
    node: process.version,
    pods: PODS,
    vaultLatencyMs: LATENCY,
    heapCapMiB: HEAP,
    overheadMs: { p50: pct(warm, 50), p99: pct(warm, 99), note: "sequential publish, vault latency 0 (emulator time included)" },
    burst: { p50: pct(burst, 50), p99: pct(burst, 99), wallMs: burstWall, keyVaultGets: gets, objects: 3, throttled429: tokens >= 0 ? throttled : 0, entraTokenRequests: tokens },
    skippedRepublishMs: { p50: pct(skipped, 50), p99: pct(skipped, 99), keyVaultGets: skippedGets },
    rssMiB: { idle, loaded },
    podIdentityVsUpstreamProvider: compare,
  };
  mkdirSync(join(REPO, "bench/results"), { recursive: true });
  writeFileSync(join(REPO, "bench/results", `bench-${result.date.replace(/[:.]/g, "-")}.json`), JSON.stringify(result, null, 2));
  const f = (n: number) => n.toFixed(1);
  const md = [
    `| measure (${PODS} pods, vault latency ${LATENCY} ms, heap cap ${HEAP || "default"} MiB as in the chart) | target | akv-csi |`,
    "|---|---|---|",
    `| publish overhead p50 / p99 (vault latency 0) | ≤ 10 / ≤ 50 ms | ${f(result.overheadMs.p50)} / ${f(result.overheadMs.p99)} ms |`,
    `| burst publish p50 / p99 | p99 ≤ 5 s | ${f(result.burst.p50)} / ${f(result.burst.p99)} ms (wall ${burstWall} ms) |`,
    `| Key Vault GETs for ${PODS} pods × 3 objects | ≤ 3 | ${gets} |`,
    `| Entra token requests | 1 per identity | ${tokens} |`,
    `| 429 responses | 0 | ${throttled} |`,
    `| skipped republish p50 / p99 | p99 ≤ 2 ms, no provider call | ${f(result.skippedRepublishMs.p50)} / ${f(result.skippedRepublishMs.p99)} ms, ${skippedGets} GETs |`,
    `| driver RSS idle / at ${PODS} pods | ≤ 100 MiB | ${f(idle.driver)} / ${f(loaded.driver)} MiB |`,
    `| provider RSS idle / at ${PODS} pods | ≤ 80 MiB | ${f(idle.provider)} / ${f(loaded.provider)} MiB |`,
    ...(compare.upstream && compare["akv-csi"]
      ? [
          "",
          `| pod identity, ${PODS}-pod burst through our driver | upstream provider ${PEER_VERSIONS["azure-provider"]} | akv-csi provider | ratio |`,
          "|---|---|---|---|",
          `| Key Vault GETs | ${compare.upstream.gets} | ${compare["akv-csi"].gets} | ${(compare["akv-csi"].gets / Math.max(1, compare.upstream.gets)).toFixed(3)} |`,
          `| NMI token requests | ${compare.upstream.nmiTokens} | ${compare["akv-csi"].nmiTokens} | ${(compare["akv-csi"].nmiTokens / Math.max(1, compare.upstream.nmiTokens)).toFixed(3)} |`,
          `| publish p50 / p99 (ms) | ${f(compare.upstream.p50)} / ${f(compare.upstream.p99)} | ${f(compare["akv-csi"].p50)} / ${f(compare["akv-csi"].p99)} | ${(compare["akv-csi"].p99 / compare.upstream.p99).toFixed(2)} (p99) |`,
          `| provider RSS after the burst (MiB) | ${f(compare.upstream.rssMiB)} | ${f(compare["akv-csi"].rssMiB)} | ${(compare["akv-csi"].rssMiB / compare.upstream.rssMiB).toFixed(2)} |`,
        ]
      : ["", "(upstream provider not built: `bash test/peers/build.sh azure-provider` for the side-by-side rows)"]),
  ].join("\n");
  writeFileSync(join(REPO, "bench/results", "latest.md"), md + "\n");
  process.stdout.write(md + "\n");
  rmSync(ws, { recursive: true, force: true });
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
