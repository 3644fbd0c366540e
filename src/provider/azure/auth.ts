// AuthConfig (from planMount) → a TokenCredential, reused per identity.
//
// The principal key names who Key Vault will see. It scopes the credential
// cache, the SDK client cache and the value coalescer, so two pods share
// anything only when Key Vault would authorise them identically.
import {
  ClientAssertionCredential,
  ClientSecretCredential,
  ManagedIdentityCredential,
  type TokenCredential,
} from "@azure/identity";
import { createHash } from "node:crypto";
import type { Logger } from "../../util/logger.js";
import { registerSecretValue } from "../../util/redact.js";
import { serviceAccountFromToken } from "./auth-config.js";
import { NmiCredential } from "./nmi.js";
import type { AuthConfig, CloudEnvironment } from "./plan.js";
import { CachingCredential, KeyedCache } from "./token-cache.js";

export { serviceAccountFromToken };

export class AuthNotSupportedError extends Error {
  override name = "AuthNotSupportedError";
}

const sha = (s: string) => createHash("sha256").update(s).digest("hex").slice(0, 32);

/**
 * Identity key (perf-security-kms.md §A5): tenant+client+namespace/SA for
 * workload identity, tenant+client+hash(secret) for a service principal, the
 * MI client id, namespace/pod for pod identity. Never contains a secret.
 *
 * Cached values are served without Entra seeing the token again, so the SA
 * part must come from something the pod cannot forge: the kubelet's pod
 * namespace and service account name (`podServiceAccount`), and the token's
 * (unverified) subject must agree with them. Otherwise the key is the token
 * itself (hashed): that pod shares nothing and Entra judges its token.
 */
export function principalKey(auth: AuthConfig, cloud: CloudEnvironment, podServiceAccount?: string): string {
  const authority = cloud.activeDirectoryEndpoint.toLowerCase();
  switch (auth.mode) {
    case "WorkloadIdentity": {
      const claimed = serviceAccountFromToken(auth.serviceAccountToken);
      const trusted =
        podServiceAccount !== undefined &&
        podServiceAccount !== "" &&
        claimed !== undefined &&
        claimed.namespace === auth.podNamespace &&
        claimed.name === podServiceAccount;
      const who = trusted ? `sa=${podServiceAccount}` : `tok=${sha(auth.serviceAccountToken)}`;
      return `wi|${authority}|${auth.tenantId}|${auth.clientId}|${auth.podNamespace}|${who}`;
    }
    case "ServicePrincipal":
      return `sp|${authority}|${auth.tenantId}|${auth.clientId}|${sha(auth.clientSecret)}`;
    case "VMManagedIdentity":
      return `mi|${auth.userAssignedIdentityId || "system"}`;
    case "PodIdentity":
      return `pod|${auth.podNamespace}|${auth.podName}`;
    case "AzureTokenProxy":
      return `proxy|${authority}|${auth.tenantId}|${auth.clientId}|${sha(auth.serviceAccountToken)}`;
  }
}

export interface CredentialFactoryOptions {
  log: Logger;
  /** NMI base URL for pod identity. */
  nmiUrl: string;
  /** Bound on live credentials (each holds an MSAL cache). */
  maxCredentials?: number;
  /** Idle credentials are dropped after this long. */
  idleMs?: number;
}

interface CredentialEntry {
  credential: CachingCredential;
  /** Latest SA token seen for a workload identity; read by the assertion callback. */
  assertion: { token: string };
}

export interface MountCredential {
  principal: string;
  credential: TokenCredential;
}

export class CredentialFactory {
  private readonly cache: KeyedCache<CredentialEntry>;
  private warnedPodIdentity = false;

  constructor(private readonly opts: CredentialFactoryOptions) {
    this.cache = new KeyedCache(opts.maxCredentials ?? 1024, opts.idleMs ?? 60 * 60_000);
  }

  get size(): number {
    return this.cache.size;
  }

  /** `podServiceAccount`: the kubelet's `csi.storage.k8s.io/serviceAccount.name`. */
  forMount(auth: AuthConfig, cloud: CloudEnvironment, podServiceAccount?: string): MountCredential {
    if (auth.mode === "AzureTokenProxy") {
      // @azure/identity 4.13 has no AKS token-proxy transport (custom CA + SNI
      // towards the identity-binding proxy); faking it would be guesswork.
      throw new AuthNotSupportedError(
        "useAzureTokenProxy (AKS identity binding) is not supported by this build; use workload identity (clientID) instead",
      );
    }
    if (auth.mode === "ServicePrincipal") registerSecretValue(auth.clientSecret);
    if (auth.mode === "WorkloadIdentity") registerSecretValue(auth.serviceAccountToken);
    if (auth.mode === "PodIdentity" && !this.warnedPodIdentity) {
      this.warnedPodIdentity = true;
      this.opts.log.warn("pod identity (usePodIdentity) is deprecated; migrate to workload identity");
    }
    const principal = principalKey(auth, cloud, podServiceAccount);
    const entry = this.cache.getOrCreate(principal, () => this.create(auth, cloud));
    if (auth.mode === "WorkloadIdentity") entry.assertion.token = auth.serviceAccountToken;
    return { principal, credential: entry.credential };
  }

  private create(auth: AuthConfig, cloud: CloudEnvironment): CredentialEntry {
    const assertion = { token: "" };
    const common = { authorityHost: cloud.activeDirectoryEndpoint, disableInstanceDiscovery: true };
    let inner: TokenCredential;
    switch (auth.mode) {
      case "WorkloadIdentity":
        assertion.token = auth.serviceAccountToken;
        inner = new ClientAssertionCredential(auth.tenantId, auth.clientId, async () => assertion.token, common);
        break;
      case "ServicePrincipal":
        inner = new ClientSecretCredential(auth.tenantId, auth.clientId, auth.clientSecret, common);
        break;
      case "VMManagedIdentity":
        // client_id only when set: an empty one breaks system-assigned (upstream 1.8.1 fix).
        inner = auth.userAssignedIdentityId
          ? new ManagedIdentityCredential({ clientId: auth.userAssignedIdentityId })
          : new ManagedIdentityCredential();
        break;
      case "PodIdentity":
        inner = new NmiCredential({
          nmiUrl: this.opts.nmiUrl,
          podName: auth.podName,
          podNamespace: auth.podNamespace,
          resource: cloud.keyVaultEndpoint,
          log: this.opts.log,
        });
        break;
      case "AzureTokenProxy":
        throw new AuthNotSupportedError("useAzureTokenProxy is not supported by this build");
    }
    return { credential: new CachingCredential(inner), assertion };
  }
}
