import type { KeyVaultObject, VersionInfo } from "./plan.js";

export function selectHistory(_obj: KeyVaultObject, _versions: VersionInfo[]): { version: string; index: number }[] {
  throw new Error("not implemented");
}
