// What the driver needs from the Kubernetes API, as a narrow seam: read a
// SecretProviderClass, write a SecretProviderClassPodStatus. The real
// implementation sits on src/k8s; tests pass an in-memory one.

export const SPC_GROUP = "secrets-store.csi.x-k8s.io";
export const SPC_API_VERSION = `${SPC_GROUP}/v1`;
export const NODE_LABEL = "internal.secrets-store.csi.k8s.io/node-name";

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
}

export interface SecretProviderClass {
  metadata: { name: string; namespace: string; uid?: string; resourceVersion?: string };
  spec: {
    provider?: string;
    parameters?: Record<string, string>;
    secretObjects?: unknown[];
  };
}

export interface SecretProviderClassPodStatus {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace: string;
    labels?: Record<string, string>;
    ownerReferences?: OwnerReference[];
    resourceVersion?: string;
  };
  status: {
    podName: string;
    secretProviderClassName: string;
    mounted: boolean;
    targetPath: string;
    objects: { id: string; version: string }[];
  };
}

/** Minimal API access; the k8s client satisfies it. Errors carry `status` (HTTP code). */
export interface KubeApi {
  get<T>(path: string, opts?: { signal?: AbortSignal }): Promise<T>;
  create<T>(path: string, body: unknown, opts?: { signal?: AbortSignal }): Promise<T>;
  update<T>(path: string, body: unknown, opts?: { signal?: AbortSignal }): Promise<T>;
}

export const spcPath = (ns: string, name: string) =>
  `/apis/${SPC_GROUP}/v1/namespaces/${encodeURIComponent(ns)}/secretproviderclasses/${encodeURIComponent(name)}`;
export const spcpsPath = (ns: string, name?: string) =>
  `/apis/${SPC_GROUP}/v1/namespaces/${encodeURIComponent(ns)}/secretproviderclasspodstatuses` +
  (name === undefined ? "" : `/${encodeURIComponent(name)}`);

export const httpStatusOf = (e: unknown): number | undefined => {
  const s = (e as { status?: unknown; statusCode?: unknown } | null)?.status ?? (e as { statusCode?: unknown } | null)?.statusCode;
  return typeof s === "number" ? s : undefined;
};
