// Per-object validation: upstream validate.go first (same order, same texts),
// then our hardening. Every error is wrapped by the caller with
// "failed to get objectType:T, objectName:N, objectVersion:V: …", so it names
// the object; each cause names the field.
//
// Departures from upstream v1.8.2 (perf-security-kms.md §B4):
// - I1 file names: besides upstream's checks (empty, absolute, any "..") we
//   reject a NUL byte, an element longer than 255 bytes, a path longer than
//   4096 bytes and a path not in clean form (empty or "." elements, trailing
//   "/"). The driver's atomic writer rejects all of these anyway, after the
//   Key Vault calls; failing here names the object and spends no vault quota.
// - I3 filePermission: upstream silently turns an invalid octal into mode 0
//   (unreadable files). We reject it, and also reject setuid/setgid/sticky
//   bits and signs, which upstream's ParseInt would accept. "" still means the
//   request's default mode.
// - I2 two objects writing the same file (or one object's file being another
//   object's directory): upstream lets the later one win silently; we reject
//   the mount naming both objects.
// Kept as upstream (drop-in): uppercase "PFX" on a key/cert passes and is
// ignored; duplicate object ids are allowed; backslashes are ordinary
// characters on Linux.
import { ProviderError, wrapObjectError } from "./errors.js";
import type { KeyVaultObject, ObjectType } from "./plan.js";
import type { RawKeyVaultObject } from "./objects.js";

const MAX_ELEMENT_BYTES = 255;
const MAX_PATH_BYTES = 4096;

export function validateObjectFormat(objectFormat: string, objectType: string): void {
  if (objectFormat === "") return;
  const lower = objectFormat.toLowerCase();
  if (lower !== "pem" && lower !== "pfx") {
    throw new Error(`invalid objectFormat: ${objectFormat}, should be PEM or PFX`);
  }
  // Exact compare, as upstream: "PFX" on a cert slips through.
  if (objectFormat === "pfx" && objectType !== "secret") {
    throw new Error("PFX format only supported for objectType: secret");
  }
}

export function validateObjectEncoding(objectEncoding: string, objectType: string): void {
  if (objectEncoding === "") return;
  if (objectType !== "secret") throw new Error("objectEncoding only supported for objectType: secret");
  const lower = objectEncoding.toLowerCase();
  if (lower !== "hex" && lower !== "base64" && lower !== "utf-8") {
    throw new Error(`invalid objectEncoding: ${objectEncoding}, should be hex, base64 or utf-8`);
  }
}

/** Upstream validateFileName, then the I1 hardening. */
export function validateFileName(fileName: string): void {
  if (fileName.length === 0) throw new Error("file name must not be empty");
  if (fileName.startsWith("/")) throw new Error("file name must be a relative path");
  if (fileName.split("/").includes("..") || fileName.includes("..")) {
    throw new Error("file name must not contain '..'");
  }
  if (fileName.includes("\0")) throw new Error("file name must not contain a NUL byte");
  if (Buffer.byteLength(fileName, "utf8") > MAX_PATH_BYTES) {
    throw new Error(`file name must not be longer than ${MAX_PATH_BYTES} bytes`);
  }
  for (const element of fileName.split("/")) {
    if (element === "" || element === ".") {
      throw new Error(`file name ${JSON.stringify(fileName)} must be a clean relative path (no empty or '.' elements)`);
    }
    if (Buffer.byteLength(element, "utf8") > MAX_ELEMENT_BYTES) {
      throw new Error(`file name element must not be longer than ${MAX_ELEMENT_BYTES} bytes`);
    }
  }
}

/** Parses filePermission: "" → undefined (use the default); otherwise 0–0777 octal, or throws. */
export function parseFilePermission(text: string): number | undefined {
  if (text === "") return undefined;
  if (!/^[0-7]{1,12}$/.test(text)) {
    throw new Error(`invalid filePermission ${JSON.stringify(text)}: must be an octal number such as 0644`);
  }
  const mode = parseInt(text, 8);
  if (mode > 0o7777) throw new Error(`invalid filePermission ${JSON.stringify(text)}: must be at most 0777`);
  if (mode & 0o7000) {
    throw new Error(`invalid filePermission ${JSON.stringify(text)}: setuid, setgid and sticky bits are not allowed`);
  }
  return mode;
}

/** validate() for one trimmed object; throws the wrapped upstream error. */
export function validateObject(obj: RawKeyVaultObject): void {
  try {
    validateObjectFormat(obj.objectFormat, obj.objectType);
    validateObjectEncoding(obj.objectEncoding, obj.objectType);
    validateFileName(obj.objectAlias || obj.objectName);
    parseFilePermission(obj.filePermission);
  } catch (err) {
    throw wrapObjectError(obj, err);
  }
}

/** File mode for an object's files: its filePermission, else the request default. */
export function fileMode(obj: KeyVaultObject, defaultMode: number): number {
  try {
    return parseFilePermission(obj.filePermission) ?? defaultMode;
  } catch (err) {
    throw wrapObjectError(obj, err);
  }
}

/** Upstream's fetch-time check: only secret, key and cert can be fetched. */
export function checkFetchableType(obj: KeyVaultObject): ObjectType {
  const t = obj.objectType;
  if (t === "secret" || t === "key" || t === "cert") return t;
  throw wrapObjectError(obj, new Error("Invalid vaultObjectTypes. Should be secret, key, or cert"));
}

interface Claim {
  obj: KeyVaultObject;
  path: string;
  /** History mode: the path is a directory holding 0..maxIndex. */
  maxIndex?: number;
}

const describe = (o: KeyVaultObject) => `objectType:${o.objectType}, objectName:${o.objectName}`;
const isIndex = (segment: string, max: number) => /^(0|[1-9][0-9]*)$/.test(segment) && Number(segment) <= max;

/**
 * I2: rejects two objects that would write the same file, or a file where
 * another object needs a directory. History objects claim `<base>/0..N`
 * (upstream can return N+1 versions). Linear in objects × path depth.
 */
export function checkPathConflicts(objects: KeyVaultObject[]): void {
  const byPath = new Map<string, Claim>();
  /** Directory → the earlier claims beneath it, with their next path segment. */
  const under = new Map<string, { claim: Claim; next: string }[]>();
  for (const obj of objects) {
    const claim: Claim = obj.objectVersionHistory > 1 ? { obj, path: obj.objectAlias, maxIndex: obj.objectVersionHistory } : { obj, path: obj.objectAlias };
    const clash = findClash(claim, byPath, under);
    if (clash) {
      throw wrapObjectError(obj, new ProviderError(`file ${JSON.stringify(clash.path)} is also written by ${describe(clash.with.obj)}`));
    }
    byPath.set(claim.path, claim);
    const parts = claim.path.split("/");
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join("/");
      const list = under.get(dir) ?? [];
      list.push({ claim, next: parts[i]! });
      under.set(dir, list);
    }
  }
}

function findClash(
  claim: Claim,
  byPath: Map<string, Claim>,
  under: Map<string, { claim: Claim; next: string }[]>,
): { path: string; with: Claim } | undefined {
  const same = byPath.get(claim.path);
  if (same) return { path: claim.path, with: same };
  // An earlier object's file (or history index) is one of our directories.
  const parts = claim.path.split("/");
  for (let i = 1; i < parts.length; i++) {
    const dir = parts.slice(0, i).join("/");
    const owner = byPath.get(dir);
    if (!owner) continue;
    if (owner.maxIndex === undefined) return { path: dir, with: owner };
    if (isIndex(parts[i]!, owner.maxIndex)) return { path: `${dir}/${parts[i]}`, with: owner };
  }
  // Earlier objects live beneath our path.
  for (const { claim: other, next } of under.get(claim.path) ?? []) {
    if (claim.maxIndex === undefined) return { path: claim.path, with: other };
    if (isIndex(next, claim.maxIndex)) return { path: `${claim.path}/${next}`, with: other };
  }
  return undefined;
}

/**
 * I2 after conversion: the final file list of a mount must not write one path
 * twice or use a file as another file's directory (e.g. `tls` with
 * writeCertAndKeyInSeparateFiles next to an object aliased `tls.crt`).
 * For the orchestrator to call once all objects are converted.
 */
export function checkOutputPaths(files: { path: string; id: string }[]): void {
  const seen = new Map<string, string>();
  for (const f of files) {
    const prior = seen.get(f.path);
    if (prior !== undefined) throw new ProviderError(`file ${JSON.stringify(f.path)} is written by both ${prior} and ${f.id}`);
    seen.set(f.path, f.id);
  }
  for (const f of files) {
    const parts = f.path.split("/");
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join("/");
      const owner = seen.get(dir);
      if (owner !== undefined) {
        throw new ProviderError(`file ${JSON.stringify(dir)} of ${owner} is also a directory for ${f.id}`);
      }
    }
  }
}
