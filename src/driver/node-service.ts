// NodePublishVolume / NodeUnpublishVolume as plain async functions over
// seams (mounter, Kubernetes, provider pool). The order of checks, the gRPC
// codes and the message texts follow upstream v1.6 (driver.md §2) because
// kubelet events and e2e suites quote them.
import { promises as fs } from "node:fs";
import { dirname } from "node:path";
import type { Mounter } from "../mount/mounter.js";
import { writeAtomic, type Payload } from "../util/atomic-writer.js";
import { KeyedMutex } from "../util/keyed-mutex.js";
import type { Logger } from "../util/logger.js";
import { parseKubeletTargetPath } from "../util/paths.js";
import { registerSecretValue } from "../util/redact.js";
import type { DriverConfig } from "./config.js";
import { CsiError, invalidArgument, type FailureReason } from "./errors.js";
import { httpStatusOf, spcPath, type KubeApi, type SecretProviderClass } from "./kube.js";
import type { DriverMetrics } from "./metrics.js";
import type { ProviderPool } from "./provider-client.js";
import { upsertSpcps } from "./spcps.js";

export const CTX = {
  spc: "secretProviderClass",
  providerName: "providerName",
  podName: "csi.storage.k8s.io/pod.name",
  podNamespace: "csi.storage.k8s.io/pod.namespace",
  podUid: "csi.storage.k8s.io/pod.uid",
  tokens: "csi.storage.k8s.io/serviceAccount.tokens",
} as const;

/** Default file mode sent to providers: 0644, as upstream. */
export const FILE_PERMISSION = 0o644;

export interface PublishRequest {
  volumeId: string;
  targetPath: string;
  hasCapability: boolean;
  readonly: boolean;
  secrets: Record<string, string>;
  volumeContext: Record<string, string>;
}

export interface UnpublishRequest {
  volumeId: string;
  targetPath: string;
}

export interface NodeServiceDeps {
  config: DriverConfig;
  mounter: Mounter;
  /** Undefined when no API server is configured: publish then fails clearly. */
  kube: KubeApi | undefined;
  providers: ProviderPool;
  metrics: DriverMetrics;
  log: Logger;
  now?: () => number;
  /** Called after each successful mount or rotation; must not throw. */
  onPublished?: (p: Published) => void;
}

export type PublishOutcome = "mounted" | "rotated" | "skipped" | "masked";

/** What a successful mount or rotation did; feeds the audit trail and secret sync. */
export interface Published {
  action: "mount" | "rotation";
  pod: { name: string; namespace: string; uid: string };
  spc: string;
  provider: string;
  targetPath: string;
  objects: { id: string; version: string }[];
  /** Files changed on disk (always true for a first mount). */
  contentChanged: boolean;
  /** Object ids whose version changed since the last publish this process saw. */
  changedIds?: string[];
}

export class NodeService {
  private readonly locks = new KeyedMutex();
  /** Last object versions per target path, to name what a rotation changed. */
  private readonly lastVersions = new Map<string, Map<string, string>>();
  private readonly now: () => number;

  constructor(private readonly d: NodeServiceDeps) {
    this.now = d.now ?? Date.now;
  }

  async publish(req: PublishRequest, signal?: AbortSignal): Promise<PublishOutcome> {
    if (!req.hasCapability) throw invalidArgument("Volume capability missing in request");
    if (!req.volumeId) throw invalidArgument("Volume ID missing in request");
    if (!req.targetPath) throw invalidArgument("Target path missing in request");
    if (Object.keys(req.volumeContext).length === 0)
      throw invalidArgument("Volume attributes missing in request");
    return this.locks.run(req.targetPath, () => this.publishLocked(req, signal));
  }

  private async publishLocked(req: PublishRequest, signal?: AbortSignal): Promise<PublishOutcome> {
    const { config, mounter, metrics, log } = this.d;
    const start = this.now();
    const ctx = req.volumeContext;
    const target = req.targetPath;
    const podName = ctx[CTX.podName] ?? "";
    const podNamespace = ctx[CTX.podNamespace] ?? "";
    const podUid = ctx[CTX.podUid] ?? "";
    const pod = `${podNamespace}/${podName}`;
    registerSensitive(req.secrets, ctx);

    let provider = ctx[CTX.providerName] ?? "";
    let reason: FailureReason | "" = "FailedToMount";
    let mountedHere = false;
    let remount = false;

    try {
      if (config.rotationEnabled) {
        const mtime = await lastModified(target);
        if (mtime !== undefined && start < mtime + config.rotationPollIntervalMs) {
          metrics.nodePublish(""); // upstream counts skips with an empty provider label
          return "skipped";
        }
      }

      if (config.enforceTargetPath) await checkTargetPath(target, podUid);

      let mounted: boolean;
      try {
        mounted = await this.ensureMountPoint(target);
      } catch (e) {
        reason = "FailedToEnsureMountPoint";
        throw new CsiError(
          "Internal",
          `failed to check if target path ${target} is mount point, err: ${msg(e)}`,
          reason,
        );
      }
      remount = mounted;
      if (!config.rotationEnabled && mounted) {
        log.info("target path is already mounted", { targetPath: target, pod });
        metrics.nodePublish("");
        return "skipped";
      }
      log.v(2).info("node publish volume", { target, volumeId: req.volumeId });

      const spcName = ctx[CTX.spc] ?? "";
      if (!spcName) throw new Error("secretProviderClass is not set");
      const spc = await this.getSpc(podNamespace, spcName, signal).catch((e: unknown) => {
        reason = "SecretProviderClassNotFound";
        throw e;
      });
      reason = "FailedToMount";
      if (!spc.spec.provider) throw new Error(`provider not set in ${podNamespace}/${spcName}`);
      provider = spc.spec.provider;
      if (!spc.spec.parameters || Object.keys(spc.spec.parameters).length === 0)
        throw new Error(`parameters not set in ${podNamespace}/${spcName}`);
      // The whole volume context reaches the provider; the context wins.
      const parameters: Record<string, string> = { ...spc.spec.parameters, ...ctx };
      const tokens = req.secrets[CTX.tokens] ?? ctx[CTX.tokens];
      if (tokens) parameters[CTX.tokens] = tokens;
      if (!req.readonly) throw invalidArgument("Readonly is not true in request");

      if (!mounted) {
        try {
          await mounter.mountTmpfs(target, {
            sizeBytes: config.tmpfsSizeBytes,
            options: [...config.tmpfsOptions],
          });
        } catch (e) {
          reason = "FailedToMount";
          log.error("failed to mount", e, { pod });
          throw e;
        }
        mountedHere = true;
      }

      let objects: { id: string; version: string }[];
      let contentChanged: boolean;
      try {
        ({ objects, changed: contentChanged } = await this.mountContent(
          provider,
          parameters,
          req.secrets,
          target,
          signal,
          (r) => (reason = r),
        ));
      } catch (e) {
        log.error("failed to mount secrets store object content", e, {
          pod,
          isRemountRequest: remount,
        });
        if (remount && config.maskRemountErrors) return this.masked(provider, reason);
        throw wrap(e, `failed to mount secrets store objects for pod ${pod}, err: `);
      }

      try {
        await upsertSpcps(
          this.kube(),
          {
            podName,
            podNamespace,
            podUid,
            spcName,
            targetPath: target,
            nodeId: config.nodeId,
            objects,
          },
          signal,
        );
      } catch (e) {
        log.error("failed to create/update spcps", e, { pod, isRemountRequest: remount });
        if (remount && config.maskRemountErrors) return this.masked(provider, reason);
        throw wrap(e, `failed to create secret provider class pod status for pod ${pod}, err: `);
      }

      const prev = this.lastVersions.get(target);
      this.lastVersions.set(target, new Map(objects.map((o) => [o.id, o.version])));
      if (remount) metrics.rotationReconcile(provider, (this.now() - start) / 1000);
      if (!remount || contentChanged)
        this.d.onPublished?.({
          action: remount ? "rotation" : "mount",
          pod: { name: podName, namespace: podNamespace, uid: podUid },
          spc: spcName,
          provider,
          targetPath: target,
          objects,
          contentChanged,
          changedIds:
            remount && prev
              ? objects.filter((o) => prev.get(o.id) !== o.version).map((o) => o.id)
              : undefined,
        });
      metrics.nodePublish(provider);
      log.info("node publish volume complete", {
        targetPath: target,
        pod,
        time: `${this.now() - start}ms`,
      });
      return remount ? "rotated" : "mounted";
    } catch (e) {
      // First mount failed: leave nothing mounted so kubelet retries from scratch.
      if (mountedHere && !remount) {
        log.info("unmounting target path as node publish volume failed", {
          targetPath: target,
          pod,
        });
        await mounter
          .unmount(target)
          .catch((ue: unknown) => log.error("failed to unmounting target path", ue));
      }
      const r = e instanceof CsiError && e.reason ? e.reason : reason;
      metrics.nodePublishError(provider, r);
      if (remount) metrics.rotationReconcileError(provider, r);
      throw e;
    }
  }

  private masked(provider: string, reason: FailureReason | ""): PublishOutcome {
    // kubernetes#121271: kubelet used to delete the directory after a failed
    // republish, so upstream reports success and keeps the old contents.
    this.d.metrics.nodePublishError(provider, reason);
    this.d.metrics.rotationReconcileError(provider, reason);
    return "masked";
  }

  private kube(): KubeApi {
    if (!this.d.kube)
      throw new Error("no Kubernetes API configured (--kubeconfig, in-cluster config)");
    return this.d.kube;
  }

  private async getSpc(
    ns: string,
    name: string,
    signal?: AbortSignal,
  ): Promise<SecretProviderClass> {
    try {
      return await this.kube().get<SecretProviderClass>(spcPath(ns, name), { signal });
    } catch (e) {
      const detail =
        httpStatusOf(e) === 404
          ? `secretproviderclasses.secrets-store.csi.x-k8s.io "${name}" not found`
          : msg(e);
      throw new CsiError(
        "Unknown",
        `failed to get secretproviderclass ${ns}/${name}, error: ${detail}`,
        "SecretProviderClassNotFound",
      );
    }
  }

  /** Calls the provider and writes its files; returns the object versions. */
  private async mountContent(
    providerName: string,
    parameters: Record<string, string>,
    secrets: Record<string, string>,
    target: string,
    signal: AbortSignal | undefined,
    setReason: (r: FailureReason | "") => void,
  ): Promise<{ objects: { id: string; version: string }[]; changed: boolean }> {
    const { providers, config, log } = this.d;
    let client;
    try {
      client = await providers.get(providerName);
    } catch (e) {
      setReason(""); // upstream quirk: a failed lookup has an empty error_type
      throw new Error(
        `error connecting to provider ${JSON.stringify(providerName)}: ${msg(e)} (searched ${config.providerDirs.join(", ")})`,
        { cause: e },
      );
    }
    setReason("GRPCProviderError");
    const res = await client.mount(
      {
        attributes: JSON.stringify(parameters),
        secrets: Object.keys(secrets).length ? JSON.stringify(secrets) : "null",
        targetPath: target,
        permission: String(FILE_PERMISSION),
        currentObjectVersions: [],
      },
      { timeoutMs: config.providerTimeoutMs, signal },
    );
    if (res.errorCode) {
      setReason(res.errorCode as FailureReason);
      throw new Error(`mount request failed with provider error code ${res.errorCode}`);
    }
    if (res.objectVersions.length === 0) throw new Error("missing object versions");
    if (res.sizeHint > 1048576)
      log.info("proto above 1MiB, secret sync may fail", { size: res.sizeHint });
    if (res.files.length === 0) return { objects: res.objectVersions, changed: false };
    const payload: Payload = new Map();
    for (const f of res.files) payload.set(f.path, { data: f.contents, mode: f.mode });
    let changed: boolean;
    try {
      ({ changed } = await writeAtomic(target, payload));
    } catch (e) {
      setReason("FileWriteError");
      throw e;
    }
    log.v(5).info("mount response files written.");
    return { objects: res.objectVersions, changed };
  }

  /**
   * Upstream ensureMountPoint: create a missing target (0750); an unlistable
   * mount point (e.g. a dead FUSE/tmpfs) is unmounted and treated as fresh.
   */
  private async ensureMountPoint(target: string): Promise<boolean> {
    try {
      const mounted = await this.d.mounter.isMountPoint(target);
      if (!mounted) return false;
      try {
        await fs.readdir(target);
        return true;
      } catch {
        await this.d.mounter.unmount(target);
        return false;
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
      try {
        await fs.mkdir(target, { recursive: true, mode: 0o750 });
      } catch (me) {
        throw new CsiError("Internal", `failed to create target path ${target}, err: ${msg(me)}`);
      }
      return false;
    }
  }

  async unpublish(req: UnpublishRequest): Promise<void> {
    if (!req.volumeId) throw invalidArgument("Volume ID missing in request");
    if (!req.targetPath) throw invalidArgument("Target path missing in request");
    const { mounter, metrics, log } = this.d;
    const target = req.targetPath;
    try {
      await this.locks.run(target, async () => {
        // Empty the tmpfs first so a failed unmount never leaves secrets behind.
        let entries: string[];
        try {
          entries = await fs.readdir(target);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
          throw new CsiError("Internal", msg(e));
        }
        for (const name of entries) {
          await fs
            .rm(`${target}/${name}`, { recursive: true, force: true })
            .catch((e: unknown) =>
              log.error("failed to delete file from target path", e, {
                targetPath: target,
                file: name,
              }),
            );
        }
        try {
          if (await mounter.isMountPoint(target)) await mounter.unmount(target);
          await fs.rm(target, { recursive: true, force: true });
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
          log.error("failed to clean and unmount target path", e, { targetPath: target });
          throw new CsiError("Internal", msg(e));
        }
      });
      this.lastVersions.delete(target);
      metrics.nodeUnpublish();
      log.info("node unpublish volume complete", { targetPath: target });
    } catch (e) {
      metrics.nodeUnpublishError();
      throw e;
    }
  }
}

/** Remember token and secret values so every log line and error scrubs them. */
function registerSensitive(secrets: Record<string, string>, ctx: Record<string, string>): void {
  for (const v of Object.values(secrets)) registerSecretValue(v);
  for (const raw of [secrets[CTX.tokens], ctx[CTX.tokens]]) {
    if (!raw) continue;
    try {
      const parsed = JSON.parse(raw) as Record<string, { token?: string }>;
      for (const t of Object.values(parsed)) registerSecretValue(t?.token);
    } catch {
      /* not JSON: the raw value is registered above when it came in secrets */
    }
  }
}

async function lastModified(target: string): Promise<number | undefined> {
  try {
    return (await fs.stat(target)).mtimeMs;
  } catch {
    return undefined;
  }
}

/** Hardening: the target must be the kubelet's volume path for this pod, reached without symlinks. */
async function checkTargetPath(target: string, podUid: string): Promise<void> {
  const parts = parseKubeletTargetPath(target);
  if (!parts)
    throw new CsiError(
      "InvalidArgument",
      `target path ${target} does not match the kubelet layout .../pods/<uid>/volumes/kubernetes.io~csi/<volume>/mount`,
      "UnexpectedTargetPath",
    );
  if (podUid && parts.podUid !== podUid)
    throw new CsiError(
      "InvalidArgument",
      `target path ${target} does not belong to pod uid ${podUid}`,
      "UnexpectedTargetPath",
    );
  const parent = dirname(target);
  let real: string;
  try {
    real = await fs.realpath(parent);
  } catch {
    return; // parent missing: mkdir -p creates real directories
  }
  if (real !== parent)
    throw new CsiError(
      "InvalidArgument",
      `target path ${target} resolves through a symlink to ${real}`,
      "UnexpectedTargetPath",
    );
  try {
    const st = await fs.lstat(target);
    if (st.isSymbolicLink())
      throw new CsiError(
        "InvalidArgument",
        `target path ${target} is a symlink`,
        "UnexpectedTargetPath",
      );
  } catch (e) {
    if (e instanceof CsiError) throw e;
  }
}

function msg(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Prefix a message, keeping the gRPC code (Go's %w keeps the status). */
function wrap(e: unknown, prefix: string): Error {
  if (e instanceof CsiError) return new CsiError(e.code, prefix + e.message, e.reason);
  return new Error(prefix + msg(e));
}
