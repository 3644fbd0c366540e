// The plain-object contract between the pure provider core (parameters,
// validation, formats, history) and the orchestrating AzureProvider. Nothing
// here touches the network, gRPC or Kubernetes.
//
// Departures from upstream v1.8.2, each explained where it is made:
// - validate.ts: file names also reject NUL, elements > 255 bytes, paths >
//   4096 bytes and unclean paths (I1); filePermission is strict octal 0–0777
//   instead of silently becoming mode 0 (I3); two objects writing one file,
//   or a file used as a directory, fail the mount naming both (I2);
//   checkOutputPaths repeats that for the converted file list.
// - objects.ts: `objects` capped at 1 MiB, alias/merge expansion bounded (I4).
// - clouds.ts: no process-global AZURE_ENVIRONMENT_FILEPATH (upstream race);
//   an environment file without keyVaultDNSSuffix is rejected.
// - auth-config.ts: an empty nodePublishSecretRef map reads as "not set"; token
//   JSON errors never quote the input.
// - format/files.ts: encoding errors (I10) and key errors name the object.
// - format/pkcs12.ts, kdf.ts: modern PBES2/AES PFX files convert too; KDFs run
//   natively with an iteration cap; a missing content type is an error, not a
//   crash (secret-content.ts).
// - history.ts: equal creation times sort stably. The N+1 quirk is kept.
export { ProviderError } from "./errors.js";

export type ObjectType = "secret" | "key" | "cert";

export interface KeyVaultObject {
  objectName: string;
  /** As written in the SPC (trimmed); only "secret" | "key" | "cert" can be fetched. */
  objectType: string;
  objectVersion: string;
  objectVersionHistory: number;
  /** Defaulted to objectName when empty. */
  objectAlias: string;
  /** Lowercased: "pem" | "pfx". */
  objectFormat: string;
  /** Lowercased: "utf-8" | "hex" | "base64". */
  objectEncoding: string;
  /** Raw octal text, "" when unset. */
  filePermission: string;
}

export type AuthConfig =
  | {
      mode: "WorkloadIdentity";
      tenantId: string;
      clientId: string;
      /** Token for audience api://AzureADTokenExchange. */
      serviceAccountToken: string;
      podNamespace: string;
      serviceAccountName?: string;
    }
  | { mode: "ServicePrincipal"; tenantId: string; clientId: string; clientSecret: string }
  | { mode: "VMManagedIdentity"; /** "" = system-assigned */ userAssignedIdentityId: string }
  | { mode: "PodIdentity"; podName: string; podNamespace: string }
  | {
      mode: "AzureTokenProxy";
      tenantId: string;
      clientId: string;
      /** Token for audience api://AKSIdentityBinding. */
      serviceAccountToken: string;
    };

export interface CloudEnvironment {
  name: string;
  /** Authority host, with trailing slash (e.g. https://login.microsoftonline.com/). */
  activeDirectoryEndpoint: string;
  /** e.g. vault.azure.net */
  keyVaultDNSSuffix: string;
  /** e.g. https://vault.azure.net/ (the pod-identity resource, trailing slash trimmed by the caller). */
  keyVaultEndpoint: string;
}

export interface MountPlan {
  podName: string;
  podNamespace: string;
  keyvaultName: string;
  /** https://<name>.<suffix>/ */
  vaultUrl: string;
  tenantId: string;
  cloud: CloudEnvironment;
  auth: AuthConfig;
  objects: KeyVaultObject[];
  defaultMode: number;
}

export interface ProviderDefaults {
  /** --cloud-name, default AzurePublicCloud */
  cloudName: string;
  constructPemChain: boolean;
  writeCertAndKeyInSeparateFiles: boolean;
  /**
   * --cloud-name resolved once at startup (resolveCloud), as upstream does;
   * when absent, cloudName is resolved on each mount.
   */
  defaultCloud?: CloudEnvironment;
  /** Where conversion warnings go (e.g. an incomplete PFX chain); stderr logger when absent. */
  onWarning?: (msg: string) => void;
}

export interface FetchedSecret {
  value: string;
  contentType?: string;
  kid?: string;
  version: string;
}

export interface FetchedKey {
  jwk: {
    kty: string;
    n?: Uint8Array | string;
    e?: Uint8Array | string;
    crv?: string;
    x?: Uint8Array | string;
    y?: Uint8Array | string;
  };
  version: string;
}

export interface FetchedCertificate {
  cer: Uint8Array;
  version: string;
}

/** One output file; path is relative to the volume. */
export interface OutFile {
  path: string;
  contents: Buffer;
}

export interface VersionInfo {
  version: string;
  enabled: boolean | undefined;
  createdOn: Date | undefined;
}

export { planMount } from "./parameters.js";
export { secretFiles, keyFiles, certFiles } from "./format/files.js";
export { objectFileName, objectId, historyFileName, historyObjectId } from "./objects.js";
export { fileMode, checkFetchableType, checkOutputPaths } from "./validate.js";
export { resolveCloud, DEFAULT_CLOUD_NAME } from "./clouds.js";
export { wrapObjectError } from "./errors.js";
export { selectHistory } from "./history.js";
