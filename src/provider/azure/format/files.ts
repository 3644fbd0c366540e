import type { FetchedCertificate, FetchedKey, FetchedSecret, KeyVaultObject, OutFile, ProviderDefaults } from "../plan.js";

export function secretFiles(_obj: KeyVaultObject, _fileName: string, _s: FetchedSecret, _defaults: ProviderDefaults): OutFile[] {
  throw new Error("not implemented");
}
export function keyFiles(_obj: KeyVaultObject, _fileName: string, _k: FetchedKey): OutFile[] {
  throw new Error("not implemented");
}
export function certFiles(_obj: KeyVaultObject, _fileName: string, _c: FetchedCertificate): OutFile[] {
  throw new Error("not implemented");
}
