// What the interop tests do in kubelet's place: build NodePublishVolume
// requests the way kubelet does for an inline secrets-store volume, read back
// what a driver wrote, and make sure no tmpfs outlives a test.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { createWriteStream, existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";

export const WI_AUDIENCE = "api://AzureADTokenExchange";
export const VOLUME_NAME = "secrets-store-inline";

export interface PodRef {
  name: string;
  namespace: string;
  uid: string;
  serviceAccount: string;
}

/** kubelet's target path for an inline CSI volume of a pod under a kubelet root. */
export function targetPathFor(kubeletRoot: string, podUid: string): string {
  return join(kubeletRoot, "pods", podUid, "volumes", "kubernetes.io~csi", VOLUME_NAME, "mount");
}

/** The volume handle kubelet derives for an inline CSI volume: sha256 of pod UID + volume name. */
export function volumeIdFor(podUid: string, volumeName = VOLUME_NAME): string {
  return `csi-${createHash("sha256")
    .update(podUid + volumeName)
    .digest("hex")}`;
}

export interface PublishOptions {
  pod: PodRef;
  spc: string;
  target: string;
  /** The serviceAccount.tokens JSON value; absent when the CSIDriver asks for no tokens. */
  tokens?: Record<string, { token: string; expirationTimestamp: string }>;
  /** nodePublishSecretRef data, as kubelet passes it in NodePublishVolumeRequest.secrets. */
  secrets?: Record<string, string>;
}

/** A NodePublishVolume request shaped like kubelet's (podInfoOnMount, readOnly volume). */
export function publishRequest(o: PublishOptions): Record<string, unknown> {
  const context: Record<string, string> = {
    secretProviderClass: o.spc,
    "csi.storage.k8s.io/pod.name": o.pod.name,
    "csi.storage.k8s.io/pod.namespace": o.pod.namespace,
    "csi.storage.k8s.io/pod.uid": o.pod.uid,
    "csi.storage.k8s.io/serviceAccount.name": o.pod.serviceAccount,
    "csi.storage.k8s.io/ephemeral": "true",
  };
  if (o.tokens) context["csi.storage.k8s.io/serviceAccount.tokens"] = JSON.stringify(o.tokens);
  return {
    volume_id: volumeIdFor(o.pod.uid),
    target_path: o.target,
    volume_capability: { mount: {}, access_mode: { mode: "SINGLE_NODE_READER_ONLY" } },
    readonly: true,
    volume_context: context,
    ...(o.secrets ? { secrets: o.secrets } : {}),
  };
}

export interface MountedFile {
  contents: Buffer;
  mode: number;
}

/**
 * The files a pod would see under the volume (symlinks followed, the atomic
 * writer's `..data` / `..<timestamp>` entries hidden), keyed by relative path.
 */
export function readMountedFiles(target: string): Map<string, MountedFile> {
  const out = new Map<string, MountedFile>();
  const walk = (dir: string, depth: number) => {
    if (depth > 8) throw new Error(`volume tree deeper than 8 levels under ${target}`);
    for (const name of readdirSync(dir).sort()) {
      if (name.startsWith("..")) continue;
      const p = join(dir, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p, depth + 1);
      else out.set(relative(target, p), { contents: readFileSync(p), mode: st.mode & 0o777 });
    }
  };
  walk(target, 0);
  return out;
}

/** Mount points at or below `prefix`, from this process's mount table. */
export function mountsUnder(prefix: string): string[] {
  const decode = (s: string) =>
    s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4])
    .filter((p): p is string => p !== undefined && p !== "")
    .map(decode)
    .filter((p) => p === prefix || p.startsWith(prefix + "/"));
}

/** The filesystem type mounted exactly at `path`, if any. */
export function fsTypeAt(path: string): string | undefined {
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const f = line.split(" ");
    if (f[4] !== path) continue;
    const sep = f.indexOf("-");
    return sep >= 0 ? f[sep + 1] : undefined;
  }
  return undefined;
}

/** Last resort for a test that failed midway: lazily unmount whatever is left under `prefix`, deepest first. */
export function unmountAllUnder(prefix: string): string[] {
  const left = mountsUnder(prefix).sort((a, b) => b.length - a.length);
  for (const m of left) {
    try {
      execFileSync("umount", ["-l", m], { stdio: "pipe" });
    } catch {
      /* reported by the caller, which checks mountsUnder again */
    }
  }
  return left;
}

export interface PeerProcess {
  proc: ChildProcess;
  logFile: string;
  /** The last lines of the log, for failure messages. */
  tail(lines?: number): string;
  /** The whole log so far. */
  log(): string;
  exited(): boolean;
  /** SIGTERM, SIGKILL after graceMs. */
  stop(graceMs?: number): Promise<void>;
}

/** Runs a third-party binary with its output in a log file. */
export function startPeerProcess(
  bin: string,
  args: string[],
  logFile: string,
  env: NodeJS.ProcessEnv = {},
): PeerProcess {
  const out = createWriteStream(logFile, { flags: "a" });
  const proc = spawn(bin, args, {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  proc.stdout?.pipe(out);
  proc.stderr?.pipe(out);
  const done = new Promise<void>((r) => proc.once("exit", () => r()));
  const exited = () => proc.exitCode !== null || proc.signalCode !== null;
  const log = () => (existsSync(logFile) ? readFileSync(logFile, "utf8") : "");
  return {
    proc,
    logFile,
    log,
    tail: (lines = 30) => log().trimEnd().split("\n").slice(-lines).join("\n"),
    exited,
    async stop(graceMs = 5000) {
      if (!exited()) {
        proc.kill("SIGTERM");
        const t = setTimeout(() => proc.kill("SIGKILL"), graceMs);
        await done;
        clearTimeout(t);
      }
      await new Promise<void>((r) => out.end(() => r()));
    },
  };
}

/** Waits for a file (a socket) while the process that should create it is alive. */
export async function waitForFile(
  path: string,
  p: { exited(): boolean; tail(n?: number): string },
  what: string,
  timeoutMs = 30_000,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!existsSync(path)) {
    if (p.exited())
      throw new Error(`${what} exited before ${path} appeared; log tail:\n${p.tail()}`);
    if (Date.now() > until)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${path} (${what}); log tail:\n${p.tail()}`,
      );
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Polls until the log matches, bounded. */
export async function waitForLog(
  p: PeerProcess,
  re: RegExp,
  what: string,
  timeoutMs = 30_000,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!re.test(p.log())) {
    if (p.exited()) throw new Error(`${what}: process exited; log tail:\n${p.tail()}`);
    if (Date.now() > until)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}; log tail:\n${p.tail()}`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A SecretProviderClass for provider `azure` with these parameters (the interop suites' one shape). */
export function azureSpc(
  name: string,
  namespace: string,
  parameters: Record<string, string>,
): Record<string, unknown> {
  return {
    apiVersion: "secrets-store.csi.x-k8s.io/v1",
    kind: "SecretProviderClass",
    metadata: { name, namespace },
    spec: { provider: "azure", parameters },
  };
}
