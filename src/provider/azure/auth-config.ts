// Identity-mode choice and credential inputs, as upstream buildAuthConfig /
// auth.NewConfig. Pure: tokens and secrets are copied into the AuthConfig and
// never into an error message (Node's JSON.parse error quotes its input, so
// token JSON errors use a fixed text).
import type { AuthConfig } from "./plan.js";

export const WORKLOAD_IDENTITY_AUDIENCE = "api://AzureADTokenExchange";
export const IDENTITY_BINDING_AUDIENCE = "api://AKSIdentityBinding";

export type IdentityMode = "None" | "PodIdentity" | "VMManagedIdentity" | "AzureTokenProxy";

/** Go strconv.ParseBool, including its error text. */
export function parseGoBool(s: string): boolean {
  switch (s) {
    case "1":
    case "t":
    case "T":
    case "TRUE":
    case "true":
    case "True":
      return true;
    case "0":
    case "f":
    case "F":
    case "FALSE":
    case "false":
    case "False":
      return false;
  }
  throw new Error(`strconv.ParseBool: parsing ${goQuote(s)}: invalid syntax`);
}

/** Approximates Go's %q for error texts. */
export function goQuote(s: string): string {
  return JSON.stringify(s);
}

/** The token for `audience` from the driver's `csi.storage.k8s.io/serviceAccount.tokens` JSON. */
export function parseTokenForAudience(saTokens: string, audience: string): string {
  if (saTokens.length === 0) throw new Error("service account tokens not found");
  let tokens: unknown;
  try {
    tokens = JSON.parse(saTokens);
  } catch {
    throw new Error("failed to unmarshal service account tokens, error: invalid JSON");
  }
  if (tokens !== null && (typeof tokens !== "object" || Array.isArray(tokens))) {
    throw new Error("failed to unmarshal service account tokens, error: not a JSON object");
  }
  const entry: unknown = tokens === null ? undefined : (tokens as Record<string, unknown>)[audience];
  if (entry !== undefined && entry !== null && (typeof entry !== "object" || Array.isArray(entry))) {
    throw new Error("failed to unmarshal service account tokens, error: token entry is not a JSON object");
  }
  const token: unknown = (entry as { token?: unknown } | null | undefined)?.token;
  if (token !== undefined && token !== null && typeof token !== "string") {
    throw new Error("failed to unmarshal service account tokens, error: token is not a string");
  }
  if (!token) throw new Error(`token for audience ${audience} not found`);
  return token;
}

/** `system:serviceaccount:<ns>:<name>` from an (unverified) SA token's `sub`, for cache keys and logs only. */
export function serviceAccountFromToken(token: string): { namespace: string; name: string } | undefined {
  const payload = token.split(".")[1];
  if (!payload) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { sub?: unknown };
    const m = typeof claims.sub === "string" ? /^system:serviceaccount:([^:]+):([^:]+)$/.exec(claims.sub) : null;
    return m ? { namespace: m[1]!, name: m[2]! } : undefined;
  } catch {
    return undefined;
  }
}

/** Upstream getCredential: `clientid` / `clientsecret` matched case-insensitively. */
export function servicePrincipalFromSecrets(secrets: Record<string, string> | null | undefined): {
  clientId: string;
  clientSecret: string;
} {
  // The gRPC edge turns JSON null into {}, so an empty map counts as "not set" too.
  if (!secrets || Object.keys(secrets).length === 0) {
    throw new Error("failed to get credentials, nodePublishSecretRef secret is not set");
  }
  let clientId = "";
  let clientSecret = "";
  for (const [k, v] of Object.entries(secrets)) {
    const key = k.toLowerCase();
    if (key === "clientid") clientId = v;
    else if (key === "clientsecret") clientSecret = v;
  }
  if (clientId === "") throw new Error("could not find clientid in secrets");
  if (clientSecret === "") throw new Error("could not find clientsecret in secrets");
  return { clientId, clientSecret };
}

export interface AuthInput {
  mode: IdentityMode;
  tenantId: string;
  userAssignedIdentityId: string;
  clientId: string;
  saTokens: string;
  secrets: Record<string, string> | null | undefined;
  podName: string;
  podNamespace: string;
}

/** Upstream buildAuthConfig; throws the bare cause (the caller adds "failed to build auth config for mode …"). */
export function buildAuthConfig(input: AuthInput): AuthConfig {
  if (input.mode === "AzureTokenProxy") {
    if (input.clientId === "") throw new Error("clientID is required for identity binding");
    if (input.saTokens === "") throw new Error("service account tokens are required for identity binding");
    let token: string;
    try {
      token = parseTokenForAudience(input.saTokens, IDENTITY_BINDING_AUDIENCE);
    } catch (err) {
      throw new Error(`failed to parse service account token for identity binding, error: ${(err as Error).message}`, {
        cause: err,
      });
    }
    return { mode: "AzureTokenProxy", tenantId: input.tenantId, clientId: input.clientId, serviceAccountToken: token };
  }
  let token = "";
  if (input.clientId !== "") {
    try {
      token = parseTokenForAudience(input.saTokens, WORKLOAD_IDENTITY_AUDIENCE);
    } catch (err) {
      throw new Error(`failed to parse workload identity tokens, error: ${(err as Error).message}`, { cause: err });
    }
  }
  switch (input.mode) {
    case "PodIdentity":
      return { mode: "PodIdentity", podName: input.podName, podNamespace: input.podNamespace };
    case "VMManagedIdentity":
      return { mode: "VMManagedIdentity", userAssignedIdentityId: input.userAssignedIdentityId };
    case "None":
      break;
  }
  if (token !== "") {
    const sa = serviceAccountFromToken(token);
    return {
      mode: "WorkloadIdentity",
      tenantId: input.tenantId,
      clientId: input.clientId,
      serviceAccountToken: token,
      podNamespace: input.podNamespace,
      ...(sa ? { serviceAccountName: sa.name } : {}),
    };
  }
  const sp = servicePrincipalFromSecrets(input.secrets);
  return { mode: "ServicePrincipal", tenantId: input.tenantId, ...sp };
}
