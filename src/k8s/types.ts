// The few Kubernetes shapes the driver reads or writes, and the REST paths
// that address them. Only the fields we use are typed; objects round-trip
// unknown fields untouched because we never rebuild them from these types.

export const GROUP = "secrets-store.csi.x-k8s.io";
export const VERSION = "v1";
export const API_VERSION = `${GROUP}/${VERSION}`;

/** Label on every SPCPS naming the node that mounted it (driver.md §4). */
export const NODE_NAME_LABEL = "internal.secrets-store.csi.k8s.io/node-name";
/** Label on Secrets synced from secretObjects. */
export const MANAGED_LABEL = "secrets-store.csi.k8s.io/managed";

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
}

export interface ListMeta {
  resourceVersion: string;
  continue?: string;
}

export interface KubeList<T> {
  apiVersion?: string;
  kind?: string;
  metadata: ListMeta;
  items: T[];
}

export interface SecretObjectData {
  objectName: string;
  key: string;
}

export interface SecretObject {
  secretName: string;
  type: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  data?: SecretObjectData[];
}

export interface SecretProviderClass extends KubeObject {
  spec: {
    provider: string;
    parameters?: Record<string, string>;
    secretObjects?: SecretObject[];
  };
  /** Empty in v1; v1alpha1 had byPod[]. */
  status?: Record<string, unknown>;
}

export interface SecretProviderClassObject {
  id: string;
  version: string;
}

export interface SecretProviderClassPodStatus extends KubeObject {
  status: {
    podName: string;
    secretProviderClassName: string;
    mounted: boolean;
    targetPath: string;
    objects?: SecretProviderClassObject[];
  };
}

export interface CSIVolumeSource {
  driver: string;
  readOnly?: boolean;
  volumeAttributes?: Record<string, string>;
  nodePublishSecretRef?: { name: string };
}

export interface PodVolume {
  name: string;
  csi?: CSIVolumeSource;
  [other: string]: unknown;
}

export interface Pod extends KubeObject {
  spec: {
    nodeName?: string;
    serviceAccountName?: string;
    volumes?: PodVolume[];
    [other: string]: unknown;
  };
  status?: {
    phase?: "Pending" | "Running" | "Succeeded" | "Failed" | "Unknown";
    [other: string]: unknown;
  };
}

export interface Secret extends KubeObject {
  type?: string;
  /** base64 values */
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  immutable?: boolean;
}

export interface ObjectReference {
  apiVersion?: string;
  kind?: string;
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  fieldPath?: string;
}

/** core/v1 Event, as record.EventRecorder writes it. */
export interface Event extends KubeObject {
  involvedObject: ObjectReference;
  reason: string;
  message: string;
  type: "Normal" | "Warning";
  source?: { component?: string; host?: string };
  firstTimestamp?: string;
  lastTimestamp?: string;
  count?: number;
  reportingComponent?: string;
  reportingInstance?: string;
}

/** authentication.k8s.io/v1 TokenRequest. */
export interface TokenRequest {
  apiVersion?: string;
  kind?: string;
  spec: {
    audiences: string[];
    expirationSeconds?: number;
    boundObjectRef?: { apiVersion?: string; kind?: string; name?: string; uid?: string };
  };
  status?: { token: string; expirationTimestamp: string };
}

const seg = (s: string): string => {
  if (s === "" || s === "." || s === ".." || s.includes("/")) throw new Error(`invalid path segment ${JSON.stringify(s)}`);
  return encodeURIComponent(s);
};

/** `/api/v1[/namespaces/<ns>]/<resource>[/<name>]`; no namespace lists across all namespaces. */
export function corePath(resource: string, ns?: string, name?: string): string {
  return build("/api/v1", resource, ns, name);
}

/** `/apis/<group>/<version>[/namespaces/<ns>]/<resource>[/<name>]`. */
export function groupPath(group: string, version: string, resource: string, ns?: string, name?: string): string {
  return build(`/apis/${group}/${version}`, resource, ns, name);
}

function build(prefix: string, resource: string, ns?: string, name?: string): string {
  if (name !== undefined && ns === undefined) throw new Error(`a namespaced ${resource} name needs a namespace`);
  let p = prefix;
  if (ns !== undefined) p += `/namespaces/${seg(ns)}`;
  p += `/${resource}`;
  if (name !== undefined) p += `/${seg(name)}`;
  return p;
}

export const spcPath = (ns?: string, name?: string): string => groupPath(GROUP, VERSION, "secretproviderclasses", ns, name);
export const spcpsPath = (ns?: string, name?: string): string =>
  groupPath(GROUP, VERSION, "secretproviderclasspodstatuses", ns, name);
export const podPath = (ns?: string, name?: string): string => corePath("pods", ns, name);
export const secretPath = (ns?: string, name?: string): string => corePath("secrets", ns, name);
export const eventPath = (ns?: string, name?: string): string => corePath("events", ns, name);
export const serviceAccountPath = (ns?: string, name?: string): string => corePath("serviceaccounts", ns, name);
export const tokenRequestPath = (ns: string, serviceAccount: string): string =>
  `${serviceAccountPath(ns, serviceAccount)}/token`;
/** storage.k8s.io/v1 CSIDriver (cluster-scoped). */
export const csiDriverPath = (name?: string): string =>
  `/apis/storage.k8s.io/v1/csidrivers${name === undefined ? "" : `/${seg(name)}`}`;

/** Cache key used by informers and the mini API server: `ns/name` (or `name`). */
export function objectKey(meta: ObjectMeta): string {
  return meta.namespace ? `${meta.namespace}/${meta.name ?? ""}` : (meta.name ?? "");
}
