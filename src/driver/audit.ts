// The audit trail: one structured log line and one Kubernetes Event per
// mount and per rotation, naming the pod, the SPC and the object ids and
// versions — never values. Upstream v1.6 has no such events.
import type { Logger } from "../util/logger.js";
import type { EventSink, PodRef } from "./events.js";

export interface AuditRecord {
  action: "mount" | "rotation";
  pod: PodRef;
  spc: string;
  provider: string;
  targetPath: string;
  objects: { id: string; version: string }[];
  /** For rotations: ids whose version changed. */
  changed?: string[];
}

export const AUDIT_REASONS = { mount: "SecretsMounted", rotation: "SecretsRotated" } as const;

export function recordAudit(log: Logger, events: EventSink, r: AuditRecord): void {
  const objects = r.objects.map((o) => `${o.id}@${o.version}`).join(", ");
  log.info("audit", {
    audit: r.action,
    pod: `${r.pod.namespace}/${r.pod.name}`,
    podUID: r.pod.uid ?? "",
    secretProviderClass: r.spc,
    provider: r.provider,
    targetPath: r.targetPath,
    objects: r.objects,
    ...(r.changed ? { changed: r.changed } : {}),
  });
  const verb = r.action === "mount" ? "Mounted" : "Rotated";
  const what =
    r.action === "rotation" && r.changed ? ` (changed: ${r.changed.join(", ") || "none"})` : "";
  events.emit(
    r.pod,
    "Normal",
    AUDIT_REASONS[r.action],
    `${verb} ${r.objects.length} object(s) from SecretProviderClass ${r.spc} via provider ${r.provider}: ${objects}${what}`,
  );
}
