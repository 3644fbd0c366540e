// `akv-csi demo` (`npm start`): the whole flow on one machine, no cluster and
// no Azure account. Emulator (Key Vault + Entra ID) → provider (a child
// process, as in a cluster) → driver → a simulated kubelet doing a real
// NodePublishVolume, a rotation and a NodeUnpublishVolume.
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  promises as fs,
  readFileSync,
  rmSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { parseAllDocuments } from "yaml";
import { runDriver } from "../driver/main.js";
import { DEMO_SECRET_NAME, DEMO_VAULT, startEmulator, type Emulator } from "../emulator/index.js";
import { createKubeClient } from "../k8s/client.js";
import { loadKubeConfig } from "../k8s/config.js";
import {
  spcpsPath,
  tokenRequestPath,
  type SecretProviderClassPodStatus,
  type TokenRequest,
} from "../k8s/types.js";
import { LinuxMounter } from "../mount/linux-mounter.js";
import { createLogger } from "../util/logger.js";
import { kubeletFor } from "./kubelet.js";
import { startMiniApiServer, type MiniApiServer } from "./mini-apiserver.js";

const WI_AUDIENCE = "api://AzureADTokenExchange";
const VOLUME = "secrets-store-inline";
const NODE = "demo-node";

function examplesDir(): string {
  for (const c of [
    join(__dirname, "..", "..", "examples", "demo"),
    join(__dirname, "examples", "demo"),
  ])
    if (existsSync(join(c, "secretproviderclass.yaml"))) return c;
  throw new Error("examples/demo not found next to the program");
}

interface Manifest {
  metadata: { name: string; uid?: string };
  spec: { parameters: Record<string, string> };
}

function loadExample(file: string): Manifest[] {
  return parseAllDocuments(readFileSync(join(examplesDir(), file), "utf8")).map(
    (d) => d.toJS() as Manifest,
  );
}

const mode = (m: number) =>
  ["r", "w", "x", "r", "w", "x", "r", "w", "x"]
    .map((c, i) => (m & (1 << (8 - i)) ? c : "-"))
    .join("");

async function describeTree(
  target: string,
  out: (s: string) => void,
  previous?: Map<string, string>,
): Promise<Map<string, string>> {
  const hashes = new Map<string, string>();
  const walk = async (dir: string): Promise<string[]> => {
    const files: string[] = [];
    for (const name of (await fs.readdir(dir)).sort()) {
      if (name.startsWith("..")) continue;
      const p = join(dir, name);
      if ((await fs.stat(p)).isDirectory()) files.push(...(await walk(p)));
      else files.push(p);
    }
    return files;
  };
  for (const file of await walk(target)) {
    const rel = relative(target, file);
    const st = await fs.stat(file);
    const data = await fs.readFile(file);
    const hash = createHash("sha256").update(data).digest("hex").slice(0, 12);
    hashes.set(rel, hash);
    const firstLine = data.toString("utf8").split("\n")[0] ?? "";
    const shown = firstLine.startsWith("-----BEGIN") ? firstLine : "(value hidden)";
    const changed = previous && previous.get(rel) !== hash ? "  ← changed" : "";
    out(
      `    ${rel.padEnd(14)} ${mode(st.mode & 0o777)}  ${String(st.size).padStart(5)} B  sha256:${hash}  ${shown}${changed}`,
    );
  }
  out(`    ..data -> ${await fs.readlink(join(target, "..data"))}`);
  return hashes;
}

function startProvider(socket: string, emulator: Emulator, logFile: string): ChildProcess {
  const script = process.argv[1] ?? join(__dirname, "..", "main.js");
  const log = createWriteStream(logFile);
  const child = spawn(
    process.execPath,
    [
      ...process.execArgv,
      script,
      "provider",
      "azure",
      `--endpoint=unix://${socket}`,
      "--healthz-port=0",
      "--healthz-host=127.0.0.1",
      "--prometheus-port=0",
      "--metrics-host=127.0.0.1",
      // Show the rotation at once; in a cluster the default 30 s coalescing window is well
      // inside the rotation poll interval.
      "--cache-ttl=0s",
      "-v=2",
    ],
    { env: { ...process.env, ...emulator.clientEnv() }, stdio: ["ignore", "pipe", "pipe"] },
  );
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  return child;
}

async function waitFor(
  what: string,
  ok: () => boolean,
  child: ChildProcess,
  logFile: string,
  timeoutMs = 60_000,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!ok()) {
    if (child.exitCode !== null) throw new Error(`${what} exited early; see ${logFile}`);
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}; see ${logFile}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function runDemo(argv: string[]): Promise<number> {
  const keep = argv.includes("--keep");
  const out = (s = "") => process.stdout.write(s + "\n");
  const t0 = Date.now();
  const root = process.getuid?.() === 0;
  const ws = mkdtempSync(join(tmpdir(), "akv-demo-"));
  const ac = new AbortController();
  let emulator: Emulator | undefined;
  let api: MiniApiServer | undefined;
  let provider: ChildProcess | undefined;
  let driverDone: Promise<number> | undefined;
  try {
    out("akv-csi demo — Key Vault emulator → Azure provider → CSI driver → simulated kubelet\n");
    const emulatorLog = createWriteStream(join(ws, "emulator.log"));
    emulator = await startEmulator({
      nmiPort: -1,
      stateDir: join(ws, "emulator"),
      log: createLogger({ name: "emulator", write: (l) => void emulatorLog.write(l) }),
    });

    // The example SPC, pointed at the emulator through a custom-cloud file.
    const spc = loadExample("secretproviderclass.yaml")[0]!;
    spc.spec.parameters.cloudName = "AzureStackCloud";
    spc.spec.parameters.cloudEnvFileName = emulator.cloudEnvFile;
    const objects = [...loadExample("serviceaccount.yaml"), spc, ...loadExample("pod.yaml")];
    api = await startMiniApiServer({ https: true, objects });
    const pod = api.store.get<Manifest>("/api/v1/namespaces/default/pods/demo-app")!;
    const podUid = String(pod.metadata.uid);

    const providersDir = join(ws, "providers");
    mkdirSync(providersDir);
    const providerSock = join(providersDir, "azure.sock");
    const providerLog = join(ws, "provider.log");
    provider = startProvider(providerSock, emulator, providerLog);

    const csiSock = join(ws, "csi.sock");
    const driverLog = createWriteStream(join(ws, "driver.log"));
    let driverReady = false;
    driverDone = runDriver(
      [
        `--endpoint=unix://${csiSock}`,
        `--nodeid=${NODE}`,
        `--provider-volume=${providersDir}`,
        `--additional-provider-volume-paths=${join(ws, "etc-providers")}`,
        `--kubeconfig=${api.kubeconfigPath}`,
        "--metrics-addr=127.0.0.1:0",
        "--enable-secret-rotation=true",
        "--rotation-poll-interval=0s",
        "-v=2",
      ],
      {
        signal: ac.signal,
        logWrite: (l) => void driverLog.write(l),
        onReady: () => (driverReady = true),
      },
    );
    await waitFor("the provider", () => existsSync(providerSock), provider, providerLog);
    const start = Date.now();
    while (!driverReady) {
      if (Date.now() - start > 30_000)
        throw new Error(`driver did not start; see ${join(ws, "driver.log")}`);
      await new Promise((r) => setTimeout(r, 20));
    }

    out(`  workspace    ${ws}`);
    out(
      `  volumes      ${root ? "real tmpfs mounts (running as root)" : "plain directories (not root: no tmpfs; run as root for real mounts)"}`,
    );
    out(
      `  key vault    ${emulator.vaultUrl(DEMO_VAULT)}  (emulator; its CA is trusted only by the provider process)`,
    );
    out(
      `  api server   ${api.url}  (in-memory, holds examples/demo: SPC demo-kv, Pod demo-app, SA demo-sa)`,
    );
    out(`  provider     unix://${providerSock}  (pid ${provider.pid}, log ${providerLog})`);
    out(`  driver       unix://${csiSock}  (log ${join(ws, "driver.log")})`);
    out();

    const kubelet = kubeletFor(csiSock);
    const info = await kubelet.call<{ name: string; vendor_version: string }>(
      "Identity",
      "GetPluginInfo",
    );
    out(`kubelet → GetPluginInfo        ${info.name} ${info.vendor_version}`);
    const probe = await kubelet.call<{ ready?: { value: boolean } }>("Identity", "Probe");
    out(`kubelet → Probe                ready=${String(probe.ready?.value)}`);

    const target = join(
      ws,
      "kubelet",
      "pods",
      podUid,
      "volumes",
      "kubernetes.io~csi",
      VOLUME,
      "mount",
    );
    const publish = async () => {
      // kubelet mints a fresh service-account token per call (CSIDriver tokenRequests).
      const tr = (await fetchToken(api!, podUid)).status!;
      return kubelet.call("Node", "NodePublishVolume", {
        volume_id: `csi-${podUid.slice(0, 8)}`,
        target_path: target,
        volume_capability: { mount: {}, access_mode: { mode: "SINGLE_NODE_READER_ONLY" } },
        readonly: true,
        volume_context: {
          secretProviderClass: "demo-kv",
          "csi.storage.k8s.io/pod.name": "demo-app",
          "csi.storage.k8s.io/pod.namespace": "default",
          "csi.storage.k8s.io/pod.uid": podUid,
          "csi.storage.k8s.io/serviceAccount.name": "demo-sa",
          "csi.storage.k8s.io/ephemeral": "true",
          "csi.storage.k8s.io/serviceAccount.tokens": JSON.stringify({
            [WI_AUDIENCE]: { token: tr.token, expirationTimestamp: tr.expirationTimestamp },
          }),
        },
      });
    };

    let t = Date.now();
    await publish();
    out(
      `kubelet → NodePublishVolume    pod default/demo-app, SPC demo-kv, workload identity  (${Date.now() - t} ms)`,
    );
    out();
    const entry = root ? await new LinuxMounter().entry(target) : undefined;
    out(`  mounted ${target}`);
    if (entry)
      out(
        `  ${entry.fsType} (${entry.options.filter((o) => /^(nosuid|nodev|size=)/.test(o)).join(",")})`,
      );
    const before = await describeTree(target, out);

    const spcps = api.store.get<SecretProviderClassPodStatus>(
      spcpsPath("default", "demo-app-default-demo-kv"),
    )!;
    out();
    out(`  SecretProviderClassPodStatus default/${spcps.metadata.name}`);
    out(
      `    node label ${spcps.metadata.labels?.["internal.secrets-store.csi.k8s.io/node-name"]}, owner Pod/${spcps.metadata.ownerReferences?.[0]?.name}, mounted=${spcps.status.mounted}`,
    );
    for (const o of spcps.status.objects ?? []) out(`    ${o.id.padEnd(20)} version ${o.version}`);
    out(
      `  Key Vault GETs so far: ${emulator.count({ route: /^(secret|key|certificate)\.get$/, status: 200 })} (one per object)`,
    );

    out();
    const rotated = emulator.store.setSecret(
      DEMO_VAULT,
      DEMO_SECRET_NAME,
      `rotated-at-${new Date().toISOString()}`,
    );
    out(`rotating ${DEMO_SECRET_NAME} in Key Vault → new version ${rotated.version}`);
    t = Date.now();
    await publish();
    out(
      `kubelet → NodePublishVolume    republish (requiresRepublish, rotation on)  (${Date.now() - t} ms)`,
    );
    await describeTree(target, out, before);

    out();
    await kubelet.call("Node", "NodeUnpublishVolume", {
      volume_id: `csi-${podUid.slice(0, 8)}`,
      target_path: target,
    });
    const left =
      existsSync(target) || (root && readFileSync("/proc/self/mountinfo", "utf8").includes(target));
    out(
      `kubelet → NodeUnpublishVolume  ${left ? "SOMETHING WAS LEFT BEHIND" : "nothing left: no mount, no directory"}`,
    );
    kubelet.close();
    out();
    out(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s. Next: README.md → "Install on AKS".`);
    return left ? 1 : 0;
  } finally {
    ac.abort();
    await driverDone?.catch(() => 1);
    if (provider && provider.exitCode === null) {
      provider.kill("SIGTERM");
      await new Promise((r) => provider!.once("exit", r));
    }
    await api?.close();
    await emulator?.close();
    if (!keep) rmSync(ws, { recursive: true, force: true });
  }
}

async function fetchToken(api: MiniApiServer, podUid: string): Promise<TokenRequest> {
  const kube = createKubeClient(loadKubeConfig({ kubeconfig: api.kubeconfigPath }));
  try {
    return await kube.create<TokenRequest>(tokenRequestPath("default", "demo-sa"), {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenRequest",
      spec: {
        audiences: [WI_AUDIENCE],
        expirationSeconds: 3600,
        boundObjectRef: { kind: "Pod", name: "demo-app", uid: podUid },
      },
    });
  } finally {
    kube.close();
  }
}
