// Cloud environments as go-autorest names them (v0.11.30), plus the
// AzureStackCloud JSON file.
//
// Departure from upstream: upstream stores `cloudEnvFileName` in the
// process-global AZURE_ENVIRONMENT_FILEPATH, so concurrent mounts of
// different SPCs race for it, and an SPC without the parameter may read
// another SPC's file. We pass the path explicitly; with none we fall back to
// the variable as the process was started with (which the chart may set).
// A file without a keyVaultDNSSuffix is rejected here instead of producing
// the URL "https://<name>./".
import { readFileSync, statSync } from "node:fs";
import type { CloudEnvironment } from "./plan.js";

export const DEFAULT_CLOUD_NAME = "AzurePublicCloud";
export const AZURE_STACK_CLOUD = "AzureStackCloud";
export const ENVIRONMENT_FILEPATH_VAR = "AZURE_ENVIRONMENT_FILEPATH";
const ENV_FILE_MAX_BYTES = 1024 * 1024;

const cloud = (name: string, activeDirectoryEndpoint: string, keyVaultDNSSuffix: string): CloudEnvironment =>
  Object.freeze({ name, activeDirectoryEndpoint, keyVaultDNSSuffix, keyVaultEndpoint: `https://${keyVaultDNSSuffix}/` });

const CLOUDS: ReadonlyMap<string, CloudEnvironment> = new Map([
  ["AZURECHINACLOUD", cloud("AzureChinaCloud", "https://login.chinacloudapi.cn/", "vault.azure.cn")],
  ["AZUREGERMANCLOUD", cloud("AzureGermanCloud", "https://login.microsoftonline.de/", "vault.microsoftazure.de")],
  ["AZUREPUBLICCLOUD", cloud("AzurePublicCloud", "https://login.microsoftonline.com/", "vault.azure.net")],
  ["AZUREUSGOVERNMENTCLOUD", cloud("AzureUSGovernmentCloud", "https://login.microsoftonline.us/", "vault.usgovcloudapi.net")],
]);

/**
 * go-autorest EnvironmentFromName: case-insensitive; AzureStackCloud reads
 * `envFilePath`. Throws with go-autorest's texts.
 */
export function resolveCloud(name: string, envFilePath: string | undefined): CloudEnvironment {
  if (name.toUpperCase() === AZURE_STACK_CLOUD.toUpperCase()) return readCloudFile(envFilePath ?? "");
  const env = CLOUDS.get(name.toUpperCase());
  if (!env) {
    throw new Error(`autorest/azure: There is no cloud environment matching the name ${JSON.stringify(name.toUpperCase())}`);
  }
  return env;
}

/** Parsed cloud files by path, valid while the file's mtime and size are unchanged. */
const cloudFileCache = new Map<string, { mtimeMs: number; size: number; env: CloudEnvironment }>();

/**
 * Reads an AzureStackCloud environment file (go-autorest EnvironmentFromFile;
 * JSON keys match case-insensitively as in Go). Every mount names the file, so
 * a parse is reused until the file changes (one stat per mount).
 */
export function readCloudFile(path: string): CloudEnvironment {
  let st: { mtimeMs: number; size: number } | undefined;
  try {
    st = statSync(path);
  } catch {
    st = undefined; // readCloudFileUncached reports the error in go's words
  }
  const hit = st && cloudFileCache.get(path);
  if (st && hit && hit.mtimeMs === st.mtimeMs && hit.size === st.size) return hit.env;
  const env = readCloudFileUncached(path);
  if (st) {
    if (cloudFileCache.size > 64) cloudFileCache.clear();
    cloudFileCache.set(path, { mtimeMs: st.mtimeMs, size: st.size, env: Object.freeze(env) });
  }
  return env;
}

function readCloudFileUncached(path: string): CloudEnvironment {
  let text: string;
  try {
    const buf = readFileSync(path);
    if (buf.length > ENV_FILE_MAX_BYTES) throw new Error(`read ${path}: file too large`);
    text = buf.toString("utf8");
  } catch (err) {
    throw new Error(goFileError(path, err), { cause: err });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`invalid JSON in cloud environment file ${path}`);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new Error(`json: cannot unmarshal ${Array.isArray(parsed) ? "array" : typeof parsed} into Go value of type azure.Environment`);
  }
  const field = (key: string): string => {
    const entry = Object.entries(parsed).find(([k]) => k.toLowerCase() === key.toLowerCase());
    const v: unknown = entry?.[1];
    if (v === undefined || v === null) return "";
    if (typeof v !== "string") throw new Error(`json: cannot unmarshal ${typeof v} into Go struct field Environment.${key} of type string`);
    return v;
  };
  const env: CloudEnvironment = {
    name: field("name"),
    activeDirectoryEndpoint: field("activeDirectoryEndpoint"),
    keyVaultDNSSuffix: field("keyVaultDNSSuffix"),
    keyVaultEndpoint: field("keyVaultEndpoint"),
  };
  if (env.keyVaultDNSSuffix === "") throw new Error(`keyVaultDNSSuffix is empty in cloud environment file ${path}`);
  return Object.freeze(env);
}

function goFileError(path: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const reasons: Record<string, string> = {
    ENOENT: "no such file or directory",
    EACCES: "permission denied",
    EISDIR: "is a directory",
    ENOTDIR: "not a directory",
    ELOOP: "too many levels of symbolic links",
  };
  if (code === "EISDIR") return `read ${path}: is a directory`;
  if (code && reasons[code]) return `open ${path}: ${reasons[code]}`;
  return err instanceof Error ? err.message : String(err);
}
