// Opt-in sync of mounted objects into Kubernetes Secrets (SPC secretObjects),
// following upstream's reconcile (driver.md §5) with one deliberate fix:
// owner references of other pods are merged, never replaced, and updates
// carry resourceVersion so a concurrent writer is never overwritten blindly
// (upstream #2051 wipes owners and lets GC delete synced Secrets).
import type { KubeClient } from "../../k8s/client.js";
import type {
  OwnerReference,
  Pod,
  Secret,
  SecretProviderClass,
  SecretProviderClassPodStatus,
} from "../../k8s/types.js";
import type { Logger } from "../../util/logger.js";
import { parseKubeletTargetPath } from "../../util/paths.js";
import type { EventSink } from "../events.js";
import {
  MANAGED_LABEL,
  NODE_LABEL,
  SPC_API_VERSION,
  httpStatusOf,
  podPath,
  secretPath,
  spcPath,
  spcpsPath,
} from "../kube.js";
import { mountedFiles } from "./mounted-files.js";
import { secretData, validateSecretObject } from "./secret-data.js";

export const SECRET_CREATION_FAILED = "FailedToCreateSecret";
export const SYNC_FORBIDDEN_HINT =
  "Cannot create or update Kubernetes Secrets: the driver lacks RBAC for secrets. Install the chart with syncSecret.enabled=true to use secretObjects.";

export const REQUEUE = { notFound: 5_000, files: 10_000, failed: 5_000, ok: 5 * 60_000 } as const;

export interface SyncerDeps {
  kube: Pick<KubeClient, "get" | "create" | "update" | "list">;
  driverName: string;
  nodeId: string;
  events: EventSink;
  log: Logger;
}

type Result = { requeueAfterMs: number } | { done: true };

const sameOwner = (a: OwnerReference, b: OwnerReference) =>
  a.uid && b.uid ? a.uid === b.uid : a.name === b.name && a.kind === b.kind;

export function mergeOwners(
  current: OwnerReference[] | undefined,
  add: OwnerReference[],
): OwnerReference[] {
  const out = [...(current ?? [])];
  for (const o of add) if (!out.some((c) => sameOwner(c, o))) out.push(o);
  return out;
}

export class SecretSyncer {
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly running = new Map<string, Promise<void>>();
  private stopped = false;

  constructor(private readonly d: SyncerDeps) {}

  /** Schedules a reconcile of one SPCPS; an earlier schedule for the same key wins. */
  enqueue(namespace: string, name: string, delayMs = 0): void {
    if (this.stopped) return;
    const key = `${namespace}/${name}`;
    const at = Date.now() + delayMs;
    const cur = this.timers.get(key);
    if (cur && cur.at <= at) return;
    if (cur) clearTimeout(cur.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      void this.runOnce(namespace, name);
    }, delayMs);
    timer.unref();
    this.timers.set(key, { at, timer });
  }

  /** Enqueues every SPCPS of this node (start-up, so a restart resumes syncing). */
  async resyncNode(): Promise<void> {
    const list = await this.d.kube.list<SecretProviderClassPodStatus>(spcpsPath(), {
      labelSelector: `${NODE_LABEL}=${this.d.nodeId}`,
    });
    for (const s of list.items)
      if (s.metadata.namespace && s.metadata.name)
        this.enqueue(s.metadata.namespace, s.metadata.name);
  }

  /** Runs a reconcile now (serialised per key) and schedules the next one. */
  async runOnce(namespace: string, name: string): Promise<Result> {
    const key = `${namespace}/${name}`;
    while (this.running.has(key)) await this.running.get(key);
    let result: Result = { done: true };
    const p = this.reconcile(namespace, name).then(
      (r) => void (result = r),
      (e: unknown) => {
        this.d.log.error("secret sync failed", e, { spcps: key });
        result = { requeueAfterMs: REQUEUE.failed };
      },
    );
    this.running.set(key, p);
    await p;
    this.running.delete(key);
    const r = result as Result; // assigned in the callbacks above
    if ("requeueAfterMs" in r) this.enqueue(namespace, name, r.requeueAfterMs);
    return r;
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t.timer);
    this.timers.clear();
  }

  async reconcile(namespace: string, name: string): Promise<Result> {
    const { kube, log } = this.d;
    const spcps = await getOrUndefined<SecretProviderClassPodStatus>(
      kube,
      spcpsPath(namespace, name),
    );
    if (!spcps) return { done: true };
    const podName = spcps.status.podName;
    const pod = await getOrUndefined<Pod>(kube, podPath(namespace, podName));
    if (!pod) return { requeueAfterMs: REQUEUE.notFound };
    if (
      pod.metadata.deletionTimestamp ||
      pod.status?.phase === "Succeeded" ||
      pod.status?.phase === "Failed"
    ) {
      log
        .v(5)
        .info("pod is being terminated, skipping reconcile", { pod: `${namespace}/${podName}` });
      return { done: true };
    }
    const spcName = spcps.status.secretProviderClassName;
    const spc = await getOrUndefined<SecretProviderClass>(kube, spcPath(namespace, spcName));
    if (!spc) return { requeueAfterMs: REQUEUE.notFound };
    const secretObjects = spc.spec.secretObjects ?? [];
    if (secretObjects.length === 0) return { done: true };

    const podRef = { name: podName, namespace, uid: pod.metadata.uid };
    const volume = (pod.spec.volumes ?? []).find(
      (v) =>
        v.csi?.driver === this.d.driverName &&
        v.csi.volumeAttributes?.secretProviderClass === spcName,
    );
    if (!volume)
      throw new Error(
        `failed to find secret provider class pod status volume for pod ${namespace}/${podName}`,
      );
    // CVE-2020-8568: the SPCPS is writable by users; only trust a target path that is this pod's volume.
    const parsed = parseKubeletTargetPath(spcps.status.targetPath);
    if (!parsed || parsed.podUid !== pod.metadata.uid)
      throw new Error(
        `secret provider class pod status targetPath did not match pod UID for pod ${namespace}/${podName}`,
      );
    if (parsed.volume !== volume.name)
      throw new Error(
        `secret provider class pod status volume name did not match pod Volume for pod ${namespace}/${podName}`,
      );

    let files: Map<string, string>;
    try {
      files = await mountedFiles(spcps.status.targetPath);
    } catch (e) {
      this.d.events.emit(
        podRef,
        "Warning",
        SECRET_CREATION_FAILED,
        `failed to get mounted files, err: ${(e as Error).message}`,
      );
      return { requeueAfterMs: REQUEUE.files };
    }

    const owners: OwnerReference[] = (pod.metadata.ownerReferences ?? []).map((o) => ({
      apiVersion: o.apiVersion,
      kind: o.kind,
      name: o.name,
      uid: o.uid,
    }));
    if (owners.length === 0)
      owners.push({
        apiVersion: SPC_API_VERSION,
        kind: "SecretProviderClassPodStatus",
        name,
        uid: spcps.metadata.uid ?? "",
      });

    let failed = false;
    for (const so of secretObjects) {
      const secretName = (so.secretName ?? "").trim();
      try {
        validateSecretObject(so);
      } catch (e) {
        log.error("failed to validate secret object in spc", e, { spc: `${namespace}/${spcName}` });
        failed = true;
        continue;
      }
      let data: Record<string, Buffer>;
      try {
        data = await secretData(so, files);
      } catch (e) {
        const msg = `failed to get data in spc ${namespace}/${spcName} for secret ${secretName}, err: ${(e as Error).message}`;
        this.d.events.emit(podRef, "Warning", SECRET_CREATION_FAILED, msg);
        log.error("failed to get data in spc for secret", e, {
          secret: `${namespace}/${secretName}`,
        });
        failed = true;
        continue;
      }
      try {
        await this.createOrUpdate(
          namespace,
          secretName,
          so.type.trim(),
          data,
          { ...so.labels, [MANAGED_LABEL]: "true" },
          so.annotations ?? {},
          owners,
        );
      } catch (e) {
        if (httpStatusOf(e) === 403) log.warn(SYNC_FORBIDDEN_HINT);
        this.d.events.emit(
          podRef,
          "Warning",
          SECRET_CREATION_FAILED,
          `failed to create or update secret ${namespace}/${secretName}: ${(e as Error).message}`,
        );
        return { requeueAfterMs: REQUEUE.failed };
      }
    }
    if (failed) return { requeueAfterMs: REQUEUE.failed };
    log.info("reconcile complete", {
      spc: `${namespace}/${spcName}`,
      pod: `${namespace}/${podName}`,
      spcps: `${namespace}/${name}`,
    });
    return { requeueAfterMs: REQUEUE.ok };
  }

  private async createOrUpdate(
    namespace: string,
    name: string,
    type: string,
    data: Record<string, Buffer>,
    labels: Record<string, string>,
    annotations: Record<string, string>,
    owners: OwnerReference[],
  ): Promise<void> {
    const { kube, log } = this.d;
    const b64: Record<string, string> = {};
    for (const [k, v] of Object.entries(data)) b64[k] = v.toString("base64");
    for (let attempt = 0; attempt < 5; attempt++) {
      const cur = await getOrUndefined<Secret>(kube, secretPath(namespace, name));
      if (!cur) {
        const body: Secret = {
          apiVersion: "v1",
          kind: "Secret",
          metadata: { name, namespace, labels, annotations, ownerReferences: owners },
          type,
          data: b64,
        };
        try {
          await kube.create(secretPath(namespace), body);
          log.info("successfully created Kubernetes secret", { secret: `${namespace}/${name}` });
          return;
        } catch (e) {
          if (httpStatusOf(e) === 409) continue; // someone else created it: merge into theirs
          throw e;
        }
      }
      if ((cur.type ?? "Opaque") !== type)
        throw new Error(
          `secret type is immutable: it is ${cur.type ?? "Opaque"}, secretObjects asks for ${type}`,
        );
      const next: Secret = {
        ...cur,
        metadata: {
          ...cur.metadata,
          labels: { ...cur.metadata.labels, ...labels },
          annotations: { ...cur.metadata.annotations, ...annotations },
          ownerReferences: mergeOwners(cur.metadata.ownerReferences, owners),
        },
        data: b64,
      };
      if (JSON.stringify(next) === JSON.stringify(cur)) {
        log
          .v(5)
          .info("Kubernetes secret is already up to date", { secret: `${namespace}/${name}` });
        return;
      }
      try {
        await kube.update(secretPath(namespace, name), next); // carries resourceVersion: 409 on a race
        log.v(5).info("successfully updated Kubernetes secret", { secret: `${namespace}/${name}` });
        return;
      } catch (e) {
        if (httpStatusOf(e) !== 409) throw e;
      }
    }
    throw new Error(`conflict updating secret ${namespace}/${name} 5 times in a row`);
  }
}

async function getOrUndefined<T>(
  kube: Pick<KubeClient, "get">,
  path: string,
): Promise<T | undefined> {
  try {
    return await kube.get<T>(path);
  } catch (e) {
    if (httpStatusOf(e) === 404) return undefined;
    throw e;
  }
}
