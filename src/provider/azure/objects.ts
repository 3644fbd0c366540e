import type { KeyVaultObject, ObjectType } from "./plan.js";

/** File mode for an object's files: its filePermission, else the request default. */
export function fileMode(_obj: KeyVaultObject, _defaultMode: number): number {
  throw new Error("not implemented");
}
/** The base file name: alias, else name. */
export function objectFileName(obj: KeyVaultObject): string {
  return obj.objectAlias || obj.objectName;
}
/** Upstream ObjectVersion id: `<objectType>/<objectName>` (name, not alias). */
export function objectId(obj: KeyVaultObject): string {
  return `${obj.objectType}/${obj.objectName}`;
}
/** History mode file name `<base>/<i>`. */
export function historyFileName(base: string, index: number): string {
  return `${base}/${index}`;
}
/** History mode id `<objectType>/<objectName>/<i>`. */
export function historyObjectId(obj: KeyVaultObject, index: number): string {
  return `${obj.objectType}/${obj.objectName}/${index}`;
}
/** Throws upstream's fetch-time error for a type other than secret/key/cert. */
export function checkFetchableType(_obj: KeyVaultObject): ObjectType {
  throw new Error("not implemented");
}
