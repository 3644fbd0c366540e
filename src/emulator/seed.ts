// Seed data: what the emulator holds at start. The default is the demo vault
// used by `akv-csi demo` and the integration tests; a YAML or JSON file with
// the same shape replaces it.
import { readFileSync } from "node:fs";
import YAML from "yaml";
import type { AppRegistration, IdentityRegistry, ManagedIdentity, PodIdentityBinding } from "./identities.js";
import type { EmulatorStore } from "./store.js";
import type { Curve, KeyType } from "./x509.js";

export interface SeedSecretVersion {
  value: string;
  contentType?: string;
  enabled?: boolean;
  tags?: Record<string, string>;
}

export interface SeedSecret extends Partial<SeedSecretVersion> {
  name: string;
  /** Oldest first; overrides value/contentType/enabled when given. */
  versions?: SeedSecretVersion[];
}

export interface SeedKey {
  name: string;
  kty: KeyType;
  size?: number;
  crv?: Curve;
  /** Number of versions to generate (default 1). */
  versions?: number;
  enabled?: boolean;
}

export interface SeedCertificate {
  name: string;
  keyType?: KeyType;
  size?: number;
  crv?: Curve;
  format?: "pfx" | "pem";
  chain?: 1 | 2 | 3;
  subject?: string;
  sans?: string[];
  versions?: number;
}

export interface SeedVault {
  name: string;
  secrets?: SeedSecret[];
  keys?: SeedKey[];
  certificates?: SeedCertificate[];
  /** Client ids allowed in; absent means any authenticated principal. */
  accessPolicies?: string[];
}

export interface EmulatorSeed {
  vaults?: SeedVault[];
  apps?: AppRegistration[];
  managedIdentities?: ManagedIdentity[];
  podIdentities?: PodIdentityBinding[];
}

export const DEMO_TENANT_ID = "7e1a0c5e-0000-4000-8000-00000000a001";
export const DEMO_VAULT = "demo-kv";
/** App registration with a client secret and a federated credential. */
export const DEMO_CLIENT_ID = "7e1a0c5e-0000-4000-8000-00000000c001";
/** Emulator-only credential; never valid anywhere else. */
export const DEMO_CLIENT_SECRET = "emulator-demo-client-secret";
export const DEMO_SA_SUBJECT = "system:serviceaccount:default:demo-sa";
export const DEMO_USER_MI_CLIENT_ID = "7e1a0c5e-0000-4000-8000-00000000d001";
export const DEMO_SYSTEM_MI_CLIENT_ID = "7e1a0c5e-0000-4000-8000-00000000d002";
export const DEMO_POD_IDENTITY_CLIENT_ID = "7e1a0c5e-0000-4000-8000-00000000e001";
export const DEMO_SECRET_NAME = "db-password";
export const DEMO_SECRET_VALUE = "demo-db-password-v1";
export const DEMO_KEY_NAME = "signing-key";
export const DEMO_CERT_NAME = "web-tls";

export const DEMO_SEED: EmulatorSeed = {
  vaults: [
    {
      name: DEMO_VAULT,
      secrets: [{ name: DEMO_SECRET_NAME, value: DEMO_SECRET_VALUE, contentType: "text/plain" }],
      keys: [{ name: DEMO_KEY_NAME, kty: "RSA", size: 2048 }],
      certificates: [{ name: DEMO_CERT_NAME, keyType: "RSA", format: "pfx", chain: 3, subject: "web.demo.local", sans: ["web.demo.local"] }],
    },
  ],
  apps: [{ clientId: DEMO_CLIENT_ID, clientSecret: DEMO_CLIENT_SECRET, federatedSubjects: [DEMO_SA_SUBJECT], displayName: "akv-csi-demo" }],
  managedIdentities: [
    { clientId: DEMO_USER_MI_CLIENT_ID, resourceId: "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/demo/providers/Microsoft.ManagedIdentity/userAssignedIdentities/demo-mi" },
    { clientId: DEMO_SYSTEM_MI_CLIENT_ID, systemAssigned: true },
  ],
  podIdentities: [{ namespace: "default", clientId: DEMO_POD_IDENTITY_CLIENT_ID }],
};

export function loadSeedFile(path: string): EmulatorSeed {
  const text = readFileSync(path, "utf8");
  const data: unknown = /\.json$/i.test(path) ? JSON.parse(text) : YAML.parse(text);
  return validateSeed(data, path);
}

function fail(where: string, msg: string): never {
  throw new Error(`seed ${where}: ${msg}`);
}

/** Light shape check with messages that point at the offending entry. */
export function validateSeed(data: unknown, where = "seed"): EmulatorSeed {
  if (data === null || data === undefined) return {};
  if (typeof data !== "object" || Array.isArray(data)) fail(where, "must be a mapping");
  const s = data as Record<string, unknown>;
  const arr = (k: string) => {
    const v = s[k];
    if (v !== undefined && !Array.isArray(v)) fail(where, `${k} must be a list`);
    return (v ?? []) as Record<string, unknown>[];
  };
  arr("vaults").forEach((v, i) => {
    if (typeof v.name !== "string" || !/^[a-zA-Z0-9-]{1,63}$/.test(v.name)) fail(where, `vaults[${i}].name must be a DNS label`);
    for (const sec of (v.secrets ?? []) as Record<string, unknown>[]) {
      if (typeof sec.name !== "string") fail(where, `a secret in vault ${v.name} has no name`);
      if (typeof sec.value !== "string" && !Array.isArray(sec.versions)) fail(where, `secret ${v.name}/${sec.name} needs value or versions`);
    }
    for (const k of (v.keys ?? []) as Record<string, unknown>[]) {
      if (typeof k.name !== "string" || (k.kty !== "RSA" && k.kty !== "EC")) fail(where, `key ${String(k.name)} in vault ${v.name} needs name and kty RSA|EC`);
    }
    for (const c of (v.certificates ?? []) as Record<string, unknown>[]) {
      if (typeof c.name !== "string") fail(where, `a certificate in vault ${v.name} has no name`);
      if (c.format !== undefined && c.format !== "pfx" && c.format !== "pem") fail(where, `certificate ${c.name} format must be pfx or pem`);
      if (c.chain !== undefined && ![1, 2, 3].includes(c.chain as number)) fail(where, `certificate ${c.name} chain must be 1, 2 or 3`);
    }
  });
  arr("apps").forEach((a, i) => typeof a.clientId === "string" || fail(where, `apps[${i}].clientId is required`));
  arr("managedIdentities").forEach((a, i) => typeof a.clientId === "string" || fail(where, `managedIdentities[${i}].clientId is required`));
  arr("podIdentities").forEach((a, i) => (typeof a.clientId === "string" && typeof a.namespace === "string") || fail(where, `podIdentities[${i}] needs namespace and clientId`));
  return s;
}

/** Loads a seed into a store and registry. Versions of one object get
 * increasing `created` times, one second apart, ending now. */
export async function applySeed(seed: EmulatorSeed, store: EmulatorStore, ids: IdentityRegistry): Promise<void> {
  const now = Math.floor(Date.now() / 1000);
  for (const app of seed.apps ?? []) ids.addApp(app);
  for (const mi of seed.managedIdentities ?? []) ids.addManagedIdentity(mi);
  for (const p of seed.podIdentities ?? []) ids.addPodIdentity(p);
  for (const v of seed.vaults ?? []) {
    store.vault(v.name);
    if (v.accessPolicies) store.setAccess(v.name, v.accessPolicies);
    for (const s of v.secrets ?? []) {
      const versions = s.versions ?? [{ value: s.value ?? "", contentType: s.contentType, enabled: s.enabled, tags: s.tags }];
      versions.forEach((ver, i) =>
        store.setSecret(v.name, s.name, ver.value, { contentType: ver.contentType, enabled: ver.enabled, tags: ver.tags, created: now - (versions.length - 1 - i) }),
      );
    }
    for (const k of v.keys ?? []) {
      const n = k.versions ?? 1;
      for (let i = 0; i < n; i++) await store.setKey(v.name, k.name, { kty: k.kty, size: k.size, crv: k.crv, enabled: k.enabled, created: now - (n - 1 - i) });
    }
    for (const c of v.certificates ?? []) {
      const n = c.versions ?? 1;
      for (let i = 0; i < n; i++) {
        await store.createCertificate(v.name, c.name, {
          keyType: c.keyType, size: c.size, crv: c.crv, format: c.format, chain: c.chain, subject: c.subject, sans: c.sans, created: now - (n - 1 - i),
        });
      }
    }
  }
}
