import type { MountPlan, ProviderDefaults } from "./plan.js";

/** Every check upstream's GetSecretsStoreObjectContent does before any network call, in upstream order. */
export function planMount(
  _attributes: Record<string, string>,
  _secrets: Record<string, string>,
  _permission: number,
  _defaults: ProviderDefaults,
): MountPlan {
  throw new Error("not implemented");
}
