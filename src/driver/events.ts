// Kubernetes Events on pods, written the way client-go's recorder does
// (core/v1, involvedObject, source component/host). Never blocks or fails
// the operation that emits it: a lost event is logged, not retried forever.
import { randomBytes } from "node:crypto";
import type { KubeClient } from "../k8s/client.js";
import type { Event } from "../k8s/types.js";
import type { Logger } from "../util/logger.js";
import { redact } from "../util/redact.js";
import { eventPath } from "./kube.js";

export interface PodRef {
  name: string;
  namespace: string;
  uid?: string;
}

export interface EventSink {
  emit(pod: PodRef, type: "Normal" | "Warning", reason: string, message: string): void;
  /** Resolves when every emitted event has been sent (or failed); for tests and shutdown. */
  flush(): Promise<void>;
}

export function createEventSink(
  kube: Pick<KubeClient, "create"> | undefined,
  opts: { component: string; host: string; log: Logger },
): EventSink {
  const pending = new Set<Promise<void>>();
  return {
    emit(pod, type, reason, message) {
      if (!kube) return;
      const now = new Date().toISOString();
      const ev: Event = {
        apiVersion: "v1",
        kind: "Event",
        metadata: {
          name: `${pod.name}.${randomBytes(8).toString("hex")}`,
          namespace: pod.namespace,
        },
        involvedObject: {
          apiVersion: "v1",
          kind: "Pod",
          name: pod.name,
          namespace: pod.namespace,
          uid: pod.uid,
        },
        reason,
        // Messages are built from ids and errors; scrub registered secret values anyway.
        message: redact(message) as string,
        type,
        source: { component: opts.component, host: opts.host },
        reportingComponent: opts.component,
        reportingInstance: opts.host,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      };
      const p = kube
        .create(eventPath(pod.namespace), ev)
        .then(
          () => undefined,
          (e: unknown) =>
            opts.log
              .v(2)
              .info("failed to record event", {
                reason,
                pod: `${pod.namespace}/${pod.name}`,
                err: (e as Error).message,
              }),
        )
        .finally(() => pending.delete(p));
      pending.add(p);
    },
    async flush() {
      await Promise.all([...pending]);
    },
  };
}
