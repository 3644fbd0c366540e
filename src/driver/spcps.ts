// The SecretProviderClassPodStatus a mount leaves behind: named
// `<pod>-<ns>-<spc>`, labelled with the node, owned by the pod (so garbage
// collection removes it with the pod), objects sorted by id.
import {
  NODE_LABEL,
  SPC_API_VERSION,
  httpStatusOf,
  spcpsPath,
  type KubeApi,
  type SecretProviderClassPodStatus,
} from "./kube.js";

export interface SpcpsInput {
  podName: string;
  podNamespace: string;
  podUid: string;
  spcName: string;
  targetPath: string;
  nodeId: string;
  objects: { id: string; version: string }[];
}

export function spcpsName(podName: string, podNamespace: string, spcName: string): string {
  return `${podName}-${podNamespace}-${spcName}`;
}

export function buildSpcps(i: SpcpsInput): SecretProviderClassPodStatus {
  return {
    apiVersion: SPC_API_VERSION,
    kind: "SecretProviderClassPodStatus",
    metadata: {
      name: spcpsName(i.podName, i.podNamespace, i.spcName),
      namespace: i.podNamespace,
      labels: { [NODE_LABEL]: i.nodeId },
      ownerReferences: [{ apiVersion: "v1", kind: "Pod", name: i.podName, uid: i.podUid }],
    },
    status: {
      podName: i.podName,
      secretProviderClassName: i.spcName,
      mounted: true,
      targetPath: i.targetPath,
      objects: [...i.objects].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
    },
  };
}

/**
 * Create, or on AlreadyExists overwrite label, status and owners (a
 * StatefulSet pod that moved node keeps its name). Retries once on a
 * resourceVersion conflict.
 */
export async function upsertSpcps(
  api: KubeApi,
  input: SpcpsInput,
  signal?: AbortSignal,
): Promise<void> {
  const want = buildSpcps(input);
  const { namespace, name } = want.metadata;
  try {
    await api.create(spcpsPath(namespace), want, { signal });
    return;
  } catch (e) {
    if (httpStatusOf(e) !== 409) throw e;
  }
  for (let attempt = 0; ; attempt++) {
    const cur = await api.get<SecretProviderClassPodStatus>(spcpsPath(namespace, name), { signal });
    const next: SecretProviderClassPodStatus = {
      ...cur,
      metadata: {
        ...cur.metadata,
        labels: { ...cur.metadata.labels, [NODE_LABEL]: input.nodeId },
        ownerReferences: want.metadata.ownerReferences,
      },
      status: want.status,
    };
    try {
      await api.update(spcpsPath(namespace, name), next, { signal });
      return;
    } catch (e) {
      if (httpStatusOf(e) !== 409 || attempt >= 2) throw e;
    }
  }
}
