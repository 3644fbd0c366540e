// planMount: everything upstream's GetSecretsStoreObjectContent checks before
// it builds a credential, in upstream order with upstream texts
// (provider.md §2 "Check order"). The result is a plain MountPlan; nothing
// here touches the network.
//
// Departures from upstream are listed in validate.ts (file names, file modes,
// path conflicts), objects.ts (size and alias caps) and clouds.ts (no
// process-global AZURE_ENVIRONMENT_FILEPATH). One more: an empty
// nodePublishSecretRef map reads as "not set" (auth-config.ts).
import { buildAuthConfig, goQuote, parseGoBool, type IdentityMode } from "./auth-config.js";
import { ENVIRONMENT_FILEPATH_VAR, resolveCloud } from "./clouds.js";
import { ProviderError, wrapObjectError } from "./errors.js";
import { decodeKeyVaultObject, goTrimSpace, normalizeObject, parseObjectsArray, type RawKeyVaultObject } from "./objects.js";
import type { AuthConfig, CloudEnvironment, KeyVaultObject, MountPlan, ProviderDefaults } from "./plan.js";
import { checkPathConflicts, validateObject } from "./validate.js";

export const ATTR = {
  keyvaultName: "keyvaultName",
  cloudName: "cloudName",
  usePodIdentity: "usePodIdentity",
  useVMManagedIdentity: "useVMManagedIdentity",
  userAssignedIdentityID: "userAssignedIdentityID",
  tenantID: "tenantID",
  tenantIdLegacy: "tenantId",
  cloudEnvFileName: "cloudEnvFileName",
  clientID: "clientID",
  useAzureTokenProxy: "useAzureTokenProxy",
  objects: "objects",
  podName: "csi.storage.k8s.io/pod.name",
  podNamespace: "csi.storage.k8s.io/pod.namespace",
  serviceAccountTokens: "csi.storage.k8s.io/serviceAccount.tokens",
} as const;

export function planMount(
  attributes: Record<string, string>,
  secrets: Record<string, string> | null,
  permission: number,
  defaults: ProviderDefaults,
): MountPlan {
  const get = (key: string): string => {
    const v = Object.prototype.hasOwnProperty.call(attributes, key) ? attributes[key] : undefined;
    return typeof v === "string" ? goTrimSpace(v) : "";
  };
  const keyvaultName = get(ATTR.keyvaultName);
  const cloudName = get(ATTR.cloudName);
  const userAssignedIdentityId = get(ATTR.userAssignedIdentityID);
  const tenantId = get(ATTR.tenantID) || get(ATTR.tenantIdLegacy);
  const cloudEnvFileName = get(ATTR.cloudEnvFileName);
  const podName = get(ATTR.podName);
  const podNamespace = get(ATTR.podNamespace);

  // 1. pod identity of the request
  if (podName === "") throw new ProviderError("pod name is not provided");
  if (podNamespace === "") throw new ProviderError("pod namespace is not provided");

  // 2–3. identity-mode flags and their exclusivity
  const flag = (key: string): boolean => {
    const s = get(key);
    if (s === "") return false;
    try {
      return parseGoBool(s);
    } catch (err) {
      throw new ProviderError(`failed to parse ${key} flag, error: ${(err as Error).message}`);
    }
  };
  const usePodIdentity = flag(ATTR.usePodIdentity);
  const useVMManagedIdentity = flag(ATTR.useVMManagedIdentity);
  const useAzureTokenProxy = flag(ATTR.useAzureTokenProxy);
  let mode: IdentityMode = "None";
  if (usePodIdentity) mode = "PodIdentity";
  if (useVMManagedIdentity) mode = "VMManagedIdentity";
  if (useAzureTokenProxy) mode = "AzureTokenProxy";
  if (Number(usePodIdentity) + Number(useVMManagedIdentity) + Number(useAzureTokenProxy) > 1) {
    throw new ProviderError(
      "only one identity mode can be enabled at a time: usePodIdentity, useVMManagedIdentity, or useAzureTokenProxy",
    );
  }
  const clientId = get(ATTR.clientID);
  const saTokens = get(ATTR.serviceAccountTokens);

  // 4. vault and tenant
  if (keyvaultName === "") throw new ProviderError("keyvaultName is not provided");
  if (tenantId === "") throw new ProviderError("tenantId is not provided");

  // 5. cloud
  if (cloudEnvFileName.includes("\0")) {
    throw new ProviderError(
      `failed to set AZURE_ENVIRONMENT_FILEPATH env to ${cloudEnvFileName}, error setenv: invalid argument`,
    );
  }
  let cloud: CloudEnvironment;
  try {
    cloud = cloudName === "" ? defaultCloud(defaults, cloudEnvFileName) : resolveCloud(cloudName, envFile(cloudEnvFileName));
  } catch (err) {
    throw new ProviderError(`cloudName ${cloudName} is not valid, error: ${(err as Error).message}`);
  }

  // 6. credential inputs
  let auth: AuthConfig;
  try {
    auth = buildAuthConfig({ mode, tenantId, userAssignedIdentityId, clientId, saTokens, secrets, podName, podNamespace });
  } catch (err) {
    throw new ProviderError(`failed to build auth config for mode ${mode}: ${(err as Error).message}`);
  }

  // 7–8. objects
  const objectsText = get(ATTR.objects);
  if (objectsText === "") throw new ProviderError("objects is not set");
  const objects = planObjects(objectsText);

  // 9. zero objects is a success with no files, before the vault name is even looked at.
  const vaultUrl = objects.length === 0 ? "" : vaultUrlFor(keyvaultName, cloud);

  return { podName, podNamespace, keyvaultName, vaultUrl, tenantId, cloud, auth, objects, defaultMode: permission };
}

/**
 * Steps 7–8 depend on the `objects` text alone, and every pod of a
 * deployment mounts the same SPC, so successful results are memoised
 * (bounded; callers get fresh copies).
 */
const OBJECTS_CACHE_ENTRIES = 128;
const OBJECTS_CACHE_MAX_TEXT = 64 * 1024;
const objectsCache = new Map<string, readonly Readonly<KeyVaultObject>[]>();

function planObjects(objectsText: string): KeyVaultObject[] {
  const hit = objectsCache.get(objectsText);
  if (hit) {
    objectsCache.delete(objectsText);
    objectsCache.set(objectsText, hit);
    return hit.map((o) => ({ ...o }));
  }
  const objects = decodeObjects(objectsText);
  if (objectsText.length <= OBJECTS_CACHE_MAX_TEXT) {
    if (objectsCache.size >= OBJECTS_CACHE_ENTRIES) objectsCache.delete(objectsCache.keys().next().value!);
    objectsCache.set(objectsText, objects.map((o) => Object.freeze({ ...o })));
  }
  return objects;
}

function decodeObjects(objectsText: string): KeyVaultObject[] {
  let array: string[];
  try {
    array = parseObjectsArray(objectsText);
  } catch (err) {
    throw new ProviderError(`failed to yaml unmarshal objects, error: ${(err as Error).message}`);
  }
  const objects: KeyVaultObject[] = [];
  array.forEach((text, i) => {
    let raw: RawKeyVaultObject;
    try {
      raw = decodeKeyVaultObject(text);
    } catch (err) {
      throw new ProviderError(`unmarshal failed for keyVaultObjects at index ${i}, error: ${(err as Error).message}`);
    }
    const trimmed = trimObject(raw);
    validateObject(trimmed);
    objects.push(normalizeObject(trimmed));
  });
  checkPathConflicts(objects);
  return objects;
}

function trimObject(raw: RawKeyVaultObject): RawKeyVaultObject {
  return {
    objectName: goTrimSpace(raw.objectName),
    objectAlias: goTrimSpace(raw.objectAlias),
    objectVersion: goTrimSpace(raw.objectVersion),
    objectVersionHistory: raw.objectVersionHistory,
    objectType: goTrimSpace(raw.objectType),
    objectFormat: goTrimSpace(raw.objectFormat),
    objectEncoding: goTrimSpace(raw.objectEncoding),
    filePermission: goTrimSpace(raw.filePermission),
  };
}

function envFile(cloudEnvFileName: string): string {
  return cloudEnvFileName || process.env[ENVIRONMENT_FILEPATH_VAR] || "";
}

/** Upstream resolves --cloud-name once at startup; a pre-resolved defaults.defaultCloud plays that part. */
function defaultCloud(defaults: ProviderDefaults, cloudEnvFileName: string): CloudEnvironment {
  if (defaults.defaultCloud) return defaults.defaultCloud;
  return resolveCloud(defaults.cloudName || "AzurePublicCloud", envFile(cloudEnvFileName));
}

/** 10. upstream getVaultURL, with its texts (the caller's fetch wrapping is "failed to get vault: …"). */
export function vaultUrlFor(keyvaultName: string, cloud: CloudEnvironment): string {
  const bytes = Buffer.byteLength(keyvaultName, "utf8"); // Go len() counts bytes
  if (bytes < 3 || bytes > 24) {
    throw new ProviderError(`failed to get vault: Invalid vault name: ${goQuote(keyvaultName)}, must be between 3 and 24 chars`);
  }
  if (!/^[-A-Za-z0-9]+$/.test(keyvaultName)) {
    throw new ProviderError(`failed to get vault: Invalid vault name: ${goQuote(keyvaultName)}, must match [-a-zA-Z0-9]{3,24}`);
  }
  return `https://${keyvaultName}.${cloud.keyVaultDNSSuffix}/`;
}

export { wrapObjectError };
