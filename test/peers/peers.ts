// Locates the pinned third-party peer binaries that test/peers/build.sh leaves in
// the cache outside the repo. Versions come from test/peers/versions.env, which
// build.sh sources too, so the two can never disagree.
import { accessSync, constants, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import type { Context } from "mocha";

const VERSIONS_FILE = join(__dirname, "versions.env");

function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([A-Z0-9_]+)=(\S*)$/.exec(line);
    if (!m) throw new Error(`${VERSIONS_FILE}: not a KEY=value line: ${line}`);
    out[m[1]!] = m[2]!;
  }
  return out;
}

const env = parseEnvFile(readFileSync(VERSIONS_FILE, "utf8"));
function pinned(key: string): string {
  const v = env[key];
  if (!v) throw new Error(`${VERSIONS_FILE}: ${key} is missing`);
  return v;
}

/** Pinned version of each buildable peer (the names build.sh takes). */
export const PEER_VERSIONS = Object.freeze({
  "csi-sanity": pinned("CSI_SANITY_VERSION"),
  "secrets-store-csi-driver": pinned("SECRETS_STORE_CSI_DRIVER_VERSION"),
  "azure-provider": pinned("AZURE_PROVIDER_VERSION"),
  etcd: pinned("ETCD_VERSION"),
  "kube-apiserver": pinned("KUBERNETES_VERSION"),
  helm: pinned("HELM_VERSION"),
});

export type PeerBuild = keyof typeof PEER_VERSIONS;

/** Binary name → the build that produces it. */
const BINARIES = {
  "csi-sanity": "csi-sanity",
  "secrets-store-csi-driver": "secrets-store-csi-driver",
  "azure-provider": "azure-provider",
  etcd: "etcd",
  etcdctl: "etcd",
  "kube-apiserver": "kube-apiserver",
  kubectl: "kube-apiserver",
  helm: "helm",
} as const satisfies Record<string, PeerBuild>;

export type PeerName = keyof typeof BINARIES;

export function peerCacheDir(): string {
  return process.env.AKV_CSI_PEER_CACHE || join(homedir(), ".cache", "akv-csi", "peers");
}

/** AKV_CSI_PEER_KUBE_APISERVER etc.: points one binary elsewhere. */
export function peerEnvVar(name: PeerName): string {
  return `AKV_CSI_PEER_${name.toUpperCase().replace(/-/g, "_")}`;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function stampedVersion(dir: string): string | undefined {
  try {
    return readFileSync(join(dir, ".done"), "utf8").split("\n")[0];
  } catch {
    return undefined;
  }
}

/** Why a peer cannot be used, or undefined when it can. */
function whyMissing(name: PeerName): string | undefined {
  const override = process.env[peerEnvVar(name)];
  if (override) return isExecutable(override) ? undefined : `${peerEnvVar(name)}=${override} is not an executable file`;
  const build = BINARIES[name];
  const version = PEER_VERSIONS[build];
  const dir = join(peerCacheDir(), `${build}-${version}`);
  // Without the stamp a build was interrupted, and its binaries may be partial.
  if (stampedVersion(dir) !== version) return `${build} ${version} is not built (run: bash test/peers/build.sh ${build})`;
  const bin = join(dir, "bin", name);
  return isExecutable(bin) ? undefined : `${bin} is missing although ${build} is stamped as built`;
}

/** Path of a peer binary at its pinned version, or undefined if not built. */
export function peerPath(name: PeerName): string | undefined {
  if (whyMissing(name) !== undefined) return undefined;
  const override = process.env[peerEnvVar(name)];
  if (override) return override;
  const build = BINARIES[name];
  return join(peerCacheDir(), `${build}-${PEER_VERSIONS[build]}`, "bin", name);
}

/**
 * Path of a peer for a test that needs it. A missing peer fails under CI=true;
 * elsewhere the test is skipped with one line saying why.
 */
export function requirePeer(ctx: Context, name: PeerName): string {
  const why = whyMissing(name);
  if (why === undefined) return peerPath(name)!;
  if (process.env.CI === "true") throw new Error(`peer ${name} is required under CI: ${why}`);
  console.log(`    skipping: peer ${name} unavailable: ${why}`);
  ctx.skip();
}

/** The three peers every real-API-server test needs (etcd, kube-apiserver, kubectl), or skip/fail as requirePeer does. */
export function requireControlPlanePeers(ctx: Context): { etcdPath: string; apiserverPath: string; kubectlPath: string } {
  return {
    etcdPath: requirePeer(ctx, "etcd"),
    apiserverPath: requirePeer(ctx, "kube-apiserver"),
    kubectlPath: requirePeer(ctx, "kubectl"),
  };
}
