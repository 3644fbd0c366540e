// Builds v1alpha1 Mount requests the way the driver does: SPC parameters
// overlaid with the pod's volume context, JSON-encoded.
import type { MountRequest } from "../../src/generated/v1alpha1/MountRequest.js";
import { unsignedJwt } from "../../src/emulator/jwt.js";

export interface SpcObject {
  objectName: string;
  objectType: string;
  objectVersion?: string;
  objectVersionHistory?: number;
  objectAlias?: string;
  objectFormat?: string;
  objectEncoding?: string;
}

/** The `objects` parameter: a YAML `array:` of YAML strings. */
export function objectsParam(objs: SpcObject[]): string {
  const docs = objs.map((o) =>
    Object.entries(o)
      .map(([k, v]) => `    ${k}: ${String(v)}`)
      .join("\n"),
  );
  return `array:\n${docs.map((d) => `  - |\n${d}`).join("\n")}\n`;
}

/** A projected SA token as the kubelet would hand it over (unsigned; the emulator only reads claims). */
export function saToken(namespace: string, sa: string, audience = "api://AzureADTokenExchange"): string {
  const now = Math.floor(Date.now() / 1000);
  return unsignedJwt({
    iss: "https://kubernetes.default.svc.cluster.local",
    sub: `system:serviceaccount:${namespace}:${sa}`,
    aud: [audience],
    iat: now,
    nbf: now,
    exp: now + 3600,
    "kubernetes.io": { namespace, serviceaccount: { name: sa, uid: "00000000-0000-0000-0000-000000000001" } },
  });
}

export function tokensAttribute(tokens: Record<string, string>): string {
  const exp = new Date(Date.now() + 3600_000).toISOString();
  return JSON.stringify(Object.fromEntries(Object.entries(tokens).map(([aud, token]) => [aud, { token, expirationTimestamp: exp }])));
}

export interface MountSpec {
  params: Record<string, string>;
  objects: SpcObject[];
  podName?: string;
  podNamespace?: string;
  /** The pod's service account as the kubelet reports it. */
  serviceAccountName?: string;
  secrets?: Record<string, string> | null;
  permission?: string;
  extraContext?: Record<string, string>;
}

export function mountRequest(s: MountSpec): MountRequest {
  const attributes: Record<string, string> = {
    ...s.params,
    objects: objectsParam(s.objects),
    "csi.storage.k8s.io/pod.name": s.podName ?? "app-0",
    "csi.storage.k8s.io/pod.namespace": s.podNamespace ?? "default",
    "csi.storage.k8s.io/pod.uid": "11111111-2222-3333-4444-555555555555",
    "csi.storage.k8s.io/serviceAccount.name": s.serviceAccountName ?? "default",
    "csi.storage.k8s.io/ephemeral": "true",
    secretProviderClass: "azure-spc",
    ...s.extraContext,
  };
  return {
    attributes: JSON.stringify(attributes),
    secrets: JSON.stringify(s.secrets ?? null),
    permission: s.permission ?? "420",
    target_path: "/var/lib/kubelet/pods/11111111-2222-3333-4444-555555555555/volumes/kubernetes.io~csi/secrets-store-inline/mount",
  };
}
