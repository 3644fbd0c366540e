// AzureProvider: planMount → credential (per identity) → versions → bounded
// parallel fetch → files, all or nothing, in SPC order.
import type { Logger } from "../../util/logger.js";
import type { MountInput, MountOutput, MountedFile, ObjectVersion, SecretsProvider, VersionInfo } from "../types.js";
import { CredentialFactory, type MountCredential } from "./auth.js";
import type { CoalesceOutcome } from "./coalesce.js";
import { CoalescingKeyVaultSource, SdkKeyVaultSource, type CallContext, type KeyVault, type KeyVaultSource, type RequestObserver } from "./keyvault.js";
import {
  certFiles,
  checkFetchableType,
  checkOutputPaths,
  fileMode,
  historyFileName,
  historyObjectId,
  keyFiles,
  objectFileName,
  objectId,
  planMount,
  secretFiles,
  selectHistory,
  wrapObjectError,
  type AuthConfig,
  type CloudEnvironment,
  type KeyVaultObject,
  type MountPlan,
  type ObjectType,
  type OutFile,
  type ProviderDefaults,
} from "./plan.js";
import { ThrottleGate } from "./throttle.js";

export const RUNTIME_NAME = "secrets-store-csi-driver-provider-azure";
/** Set by the driver from the kubelet's pod info (podInfoOnMount), after the SPC parameters. */
const POD_SERVICE_ACCOUNT = "csi.storage.k8s.io/serviceAccount.name";

export interface CredentialSource {
  forMount(auth: AuthConfig, cloud: CloudEnvironment, podServiceAccount?: string): MountCredential;
}

export interface AzureProviderOptions {
  defaults: ProviderDefaults;
  log: Logger;
  keyvault: KeyVaultSource;
  credentials: CredentialSource;
  /** Objects (and history versions) of one mount fetched at once. */
  maxParallel: number;
  runtimeVersion: string;
}

/** Runs at most `n` tasks at a time, in submission order. */
function limiter(n: number) {
  let active = 0;
  const queue: (() => void)[] = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (active >= n) await new Promise<void>((r) => queue.push(r));
    active++;
    try {
      return await task();
    } finally {
      active--;
      queue.shift()?.();
    }
  };
}

interface ObjectResult {
  files: MountedFile[];
  versions: ObjectVersion[];
}

export class AzureProvider implements SecretsProvider {
  constructor(private readonly opts: AzureProviderOptions) {}

  version(): VersionInfo {
    return { version: "v1alpha1", runtimeName: RUNTIME_NAME, runtimeVersion: this.opts.runtimeVersion };
  }

  async mount(input: MountInput): Promise<MountOutput> {
    const { log } = this.opts;
    if (input.attributes.objects !== undefined) log.v(2).info("objects", { objects: input.attributes.objects });
    const plan = planMount(input.attributes, input.secrets, input.permission, this.opts.defaults);
    if (plan.objects.length === 0) return { files: [], objectVersions: [] };

    const id = this.opts.credentials.forMount(plan.auth, plan.cloud, input.attributes[POD_SERVICE_ACCOUNT]);
    const kv = this.opts.keyvault.forIdentity(id);
    // A failure stops the work of the objects AFTER it in SPC order, never before:
    // upstream fetches sequentially, so the error it reports is the first object (in
    // SPC order) that fails. Earlier objects run to completion and, when the cause is
    // shared (e.g. the identity cannot get a token), report it themselves.
    const stops = plan.objects.map(() => new AbortController());
    const onAbort = () => stops.forEach((s) => s.abort(input.signal?.reason));
    if (input.signal?.aborted) onAbort();
    input.signal?.addEventListener("abort", onAbort, { once: true });
    const limit = limiter(this.opts.maxParallel);

    const results: (ObjectResult | undefined)[] = new Array<ObjectResult | undefined>(plan.objects.length);
    const failures: { index: number; error: Error; consequence: boolean }[] = [];
    try {
      await Promise.all(
        plan.objects.map(async (obj, index) => {
          const stop = stops[index]!;
          const ctx: CallContext = { signal: stop.signal, deadline: input.deadline };
          try {
            results[index] = await this.fetchObject(plan, obj, kv, ctx, limit);
          } catch (e) {
            const error = e instanceof Error ? e : new Error(String(e));
            // An abort after an earlier object failed is a consequence, not a cause.
            const consequence = stop.signal.aborted && (error === stop.signal.reason || isAbort(error));
            failures.push({ index, error: wrapOnce(obj, error), consequence });
            const sibling = Object.assign(new Error("an earlier object failed"), { name: "AbortError" });
            for (const later of stops.slice(index + 1)) if (!later.signal.aborted) later.abort(sibling);
          }
        }),
      );
    } finally {
      input.signal?.removeEventListener("abort", onAbort);
    }
    if (failures.length > 0) {
      const causes = failures.filter((f) => !f.consequence);
      const pick = (causes.length > 0 ? causes : failures).sort((a, b) => a.index - b.index)[0]!;
      throw pick.error;
    }
    const out: MountOutput = { files: [], objectVersions: [] };
    for (const r of results) {
      out.files.push(...r!.files);
      out.objectVersions.push(...r!.versions);
    }
    // After conversion: `.crt`/`.key` side files can collide with another object's file.
    checkOutputPaths(out.files.map((f, i) => ({ path: f.path, id: out.objectVersions[i]!.id })));
    log.v(5).info("mounted objects", { pod: `${plan.podNamespace}/${plan.podName}`, vault: plan.vaultUrl, files: out.files.map((f) => f.path) });
    return out;
  }

  private async fetchObject(
    plan: MountPlan,
    obj: KeyVaultObject,
    kv: KeyVault,
    ctx: CallContext,
    limit: ReturnType<typeof limiter>,
  ): Promise<ObjectResult> {
    const type = checkFetchableType(obj);
    const mode = fileMode(obj, plan.defaultMode);
    const base = objectFileName(obj);
    this.opts.log.v(5).info("fetching object", { vault: plan.vaultUrl, objectType: type, objectName: obj.objectName, objectVersion: obj.objectVersion });
    const result: ObjectResult = { files: [], versions: [] };
    const add = (files: OutFile[], uid: string, version: string) => {
      for (const f of files) {
        result.files.push({ path: f.path, mode, contents: f.contents });
        result.versions.push({ id: uid, version });
      }
    };
    if (obj.objectVersionHistory > 1) {
      const versions = await limit(() => kv.listVersions(type, plan.vaultUrl, obj.objectName, ctx));
      const picked = selectHistory(obj, versions);
      const fetched = await Promise.all(
        picked.map((p) => limit(() => this.fetchOne(type, plan, obj, p.version, historyFileName(base, p.index), kv, ctx))),
      );
      fetched.forEach((f, i) => add(f.files, historyObjectId(obj, picked[i]!.index), f.version));
    } else {
      const f = await limit(() => this.fetchOne(type, plan, obj, obj.objectVersion, base, kv, ctx));
      add(f.files, objectId(obj), f.version);
    }
    return result;
  }

  private async fetchOne(
    type: ObjectType,
    plan: MountPlan,
    obj: KeyVaultObject,
    version: string,
    fileName: string,
    kv: KeyVault,
    ctx: CallContext,
  ): Promise<{ files: OutFile[]; version: string }> {
    switch (type) {
      case "secret": {
        const s = await kv.getSecret(plan.vaultUrl, obj.objectName, version, ctx);
        return { files: secretFiles(obj, fileName, s, this.opts.defaults), version: s.version };
      }
      case "key": {
        const k = await kv.getKey(plan.vaultUrl, obj.objectName, version, ctx);
        return { files: keyFiles(obj, fileName, k), version: k.version };
      }
      case "cert": {
        const c = await kv.getCertificate(plan.vaultUrl, obj.objectName, version, ctx);
        return { files: certFiles(obj, fileName, c), version: c.version };
      }
    }
  }
}

function isAbort(e: Error): boolean {
  return e.name === "AbortError" || e.name === "TimeoutError" || (e as { code?: unknown }).code === "Timeout";
}

function wrapOnce(obj: KeyVaultObject, e: Error): Error {
  return /^failed to get objectType:/.test(e.message) ? e : wrapObjectError(obj, e);
}

export interface AzureProviderConfig {
  defaults: ProviderDefaults;
  log: Logger;
  runtimeVersion: string;
  cacheTtlMs: number;
  maxParallelFetches: number;
  keyvaultApiVersion?: string;
  disableChallengeResourceVerification?: boolean;
  nmiUrl: string;
  maxThrottleWaitMs?: number;
  onKeyVaultRequest?: RequestObserver;
  onCacheOutcome?: (o: CoalesceOutcome) => void;
}

/** The production wiring: SDK clients behind the throttle gate and the coalescer. */
export function createAzureProvider(cfg: AzureProviderConfig): AzureProvider {
  const gate = new ThrottleGate({
    maxWindowMs: cfg.maxThrottleWaitMs,
    onOpen: (vault, until) => cfg.log.warn("keyvault throttled; holding new requests", { vault, until: new Date(until).toISOString() }),
  });
  const sdk = new SdkKeyVaultSource({
    gate,
    serviceVersion: cfg.keyvaultApiVersion,
    disableChallengeResourceVerification: cfg.disableChallengeResourceVerification,
    onRequest: cfg.onKeyVaultRequest,
  });
  return new AzureProvider({
    defaults: { onWarning: (msg) => cfg.log.warn(msg), ...cfg.defaults },
    log: cfg.log,
    runtimeVersion: cfg.runtimeVersion,
    maxParallel: cfg.maxParallelFetches,
    credentials: new CredentialFactory({ log: cfg.log, nmiUrl: cfg.nmiUrl }),
    keyvault: new CoalescingKeyVaultSource(sdk, { ttlMs: cfg.cacheTtlMs, onOutcome: cfg.onCacheOutcome }),
  });
}
