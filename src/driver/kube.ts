// What the driver needs from the Kubernetes API, as a narrow seam. The real
// implementation is src/k8s's client; tests pass an in-memory one. Shapes and
// paths come from src/k8s/types.
import type { KubeClient } from "../k8s/client.js";
export {
  API_VERSION as SPC_API_VERSION,
  NODE_NAME_LABEL as NODE_LABEL,
  MANAGED_LABEL,
  spcPath,
  spcpsPath,
  podPath,
  secretPath,
  eventPath,
} from "../k8s/types.js";
export type {
  OwnerReference,
  Pod,
  Secret,
  SecretObject,
  SecretProviderClass,
  SecretProviderClassPodStatus,
} from "../k8s/types.js";

/** The subset of KubeClient the node service uses (errors carry `status`). */
export type KubeApi = Pick<KubeClient, "get" | "create" | "update">;

export const httpStatusOf = (e: unknown): number | undefined => {
  const s = (e as { status?: unknown } | null)?.status;
  return typeof s === "number" ? s : undefined;
};
