// Composition root of `akv-csi driver`: flags → logger, metrics, mounter,
// Kubernetes client, provider pool, node service, CSI server; then serve
// until SIGTERM/SIGINT.
import { usage } from "../config/flags.js";
import { createKubeClient } from "../k8s/client.js";
import { loadKubeConfig } from "../k8s/config.js";
import { FakeMounter } from "../mount/fake-mounter.js";
import { LinuxMounter } from "../mount/linux-mounter.js";
import type { Mounter } from "../mount/mounter.js";
import { listenHttp, waitForSignal } from "../util/http-listen.js";
import { createLogger } from "../util/logger.js";
import { DRIVER_FLAGS, DRIVER_VERSION, driverConfig } from "./config.js";
import type { KubeClient } from "../k8s/client.js";
import { recordAudit } from "./audit.js";
import { createEventSink } from "./events.js";
import { spcpsName } from "./spcps.js";
import { SecretSyncer } from "./sync/syncer.js";
import { DriverMetrics } from "./metrics.js";
import { NodeService, type Published } from "./node-service.js";
import { createProviderPool } from "./provider-client.js";
import { startCsiServer } from "./server.js";

export interface RunDriverOptions {
  /** Stop when aborted instead of on SIGTERM/SIGINT (embedding, the demo). */
  signal?: AbortSignal;
  /** Where log lines go (stderr by default). */
  logWrite?: (line: string) => void;
  /** Called once the CSI socket serves. */
  onReady?: () => void;
}

export async function runDriver(argv: string[], opts: RunDriverOptions = {}): Promise<number> {
  const { config, help, printVersion } = driverConfig(argv);
  if (help) {
    process.stdout.write(`Usage of akv-csi driver:\n${usage(DRIVER_FLAGS)}\n`);
    return 0;
  }
  if (printVersion) {
    process.stdout.write(
      JSON.stringify({
        BuildVersion: DRIVER_VERSION,
        GitCommit: process.env.AKV_CSI_GIT_COMMIT ?? "",
        BuildDate: process.env.AKV_CSI_BUILD_DATE ?? "",
      }) + "\n",
    );
    return 0;
  }
  const log = createLogger({
    verbosity: config.verbosity,
    json: config.logJson,
    name: "driver",
    write: opts.logWrite,
  });
  if (!config.nodeId)
    log.warn("--nodeid is empty; it must be the node name (NodeGetInfo and SPCPS labels use it)");

  const mounter: Mounter = process.getuid?.() === 0 ? new LinuxMounter() : new FakeMounter();
  if (mounter.kind !== "tmpfs")
    log.warn("not running as root: volumes are plain directories, not tmpfs");

  let kube: KubeClient | undefined;
  try {
    const kc = loadKubeConfig({ kubeconfig: config.kubeconfig || undefined });
    kube = createKubeClient(
      {
        ...kc,
        userAgent: `akv-csi/driver/${DRIVER_VERSION} (${process.platform}/${process.arch})`,
      },
      { log },
    );
  } catch (e) {
    log.warn("no Kubernetes API configured; NodePublishVolume will fail until one is", {
      err: (e as Error).message,
    });
  }

  const metrics = new DriverMetrics({ defaultMetrics: true });
  const metricsServer = await listenHttp(config.metricsAddr, (req, res) => {
    if (req.url?.startsWith("/metrics")) {
      metrics.registry.metrics().then(
        (body) => res.writeHead(200, { "content-type": metrics.registry.contentType }).end(body),
        (e: unknown) => res.writeHead(500).end(String(e)),
      );
    } else res.writeHead(404).end();
  });

  const events = createEventSink(kube, {
    component: "csi-secrets-store-driver",
    host: config.nodeId,
    log,
  });
  const syncer = kube
    ? new SecretSyncer({ kube, driverName: config.driverName, nodeId: config.nodeId, events, log })
    : undefined;
  const onPublished = (p: Published) => {
    recordAudit(log, events, {
      action: p.action,
      pod: p.pod,
      spc: p.spc,
      provider: p.provider,
      targetPath: p.targetPath,
      objects: p.objects,
      changed: p.changedIds,
    });
    syncer?.enqueue(p.pod.namespace, spcpsName(p.pod.name, p.pod.namespace, p.spc));
  };
  const providers = createProviderPool({
    dirs: config.providerDirs,
    maxReceiveMessageLength: config.maxCallRecvMsgSize,
    log,
  });
  const node = new NodeService({ config, mounter, kube, providers, metrics, log, onPublished });
  const serving = await startCsiServer({ config, node, log });
  log.info("starting driver", {
    endpoint: config.endpoint,
    drivername: config.driverName,
    nodeid: config.nodeId,
    version: DRIVER_VERSION,
    metrics: `:${metricsServer.port}`,
    mounter: mounter.kind,
  });

  // Resume syncing the Secrets of volumes mounted before a restart.
  syncer?.resyncNode().catch((e: unknown) =>
    log.warn("could not list this node's SecretProviderClassPodStatuses", {
      err: (e as Error).message,
    }),
  );

  opts.onReady?.();
  const health = config.providerHealthCheck
    ? setInterval(() => void providers.healthCheck(5000), config.providerHealthCheckIntervalMs)
    : undefined;

  const stop = opts.signal
    ? new Promise<string>((r) =>
        opts.signal!.addEventListener("abort", () => r("abort"), { once: true }),
      )
    : waitForSignal();
  const why = await stop;
  log.info("shutting down", { reason: why });
  if (health) clearInterval(health);
  syncer?.stop();
  await events.flush();
  await serving.stop();
  providers.close();
  await metricsServer.close();
  return 0;
}
