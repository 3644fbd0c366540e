// Version history (objectVersionHistory > 1), upstream getLatestNKeyVaultObjects.
//
// Decision on the N+1 quirk: upstream's stop test runs after appending, so it
// returns N+1 versions (indices 0..N) whenever more than N exist. We keep it:
// files `<base>/N` and ids `<type>/<name>/N` already exist on upstream mounts,
// and dropping them would delete a file applications may read after a
// provider swap. The path-conflict check reserves 0..N accordingly.
//
// Upstream sorts with Go's unstable sort; we sort stably (equal creation
// times keep the listing order) so the choice is deterministic.
import type { KeyVaultObject, VersionInfo } from "./plan.js";

export function selectHistory(obj: KeyVaultObject, versions: VersionInfo[]): { version: string; index: number }[] {
  const usable = versions
    .filter((v) => v.enabled !== false)
    .map((v, i) => ({ v, i, t: v.createdOn?.getTime() ?? 0 }))
    .sort((a, b) => b.t - a.t || a.i - b.i);
  const out: { version: string; index: number }[] = [];
  let found = obj.objectVersion === "" || obj.objectVersion === "latest";
  for (const { v } of usable) {
    found ||= v.version === obj.objectVersion;
    if (!found) continue;
    out.push({ version: v.version, index: out.length });
    if (out.length > obj.objectVersionHistory) break;
  }
  return out;
}
