// Driver metrics with the upstream names and labels (driver.md §7), so the
// dashboards and e2e greps written for the Go driver keep working.
import { Counter, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { FailureReason } from "./errors.js";

/** ExponentialBucketsRange(0.1, 2, 11) as OTel/Prometheus upstream uses. */
export function exponentialBucketsRange(min: number, max: number, count: number): number[] {
  const factor = Math.pow(max / min, 1 / (count - 1));
  return Array.from({ length: count }, (_, i) => min * Math.pow(factor, i));
}

const OS_TYPE = process.platform === "win32" ? "windows" : process.platform;

export class DriverMetrics {
  readonly registry = new Registry();
  private readonly publish: Counter<"provider" | "os_type">;
  private readonly publishError: Counter<"provider" | "error_type" | "os_type">;
  private readonly unpublish: Counter<"os_type">;
  private readonly unpublishError: Counter<"os_type">;
  private readonly rotation: Counter<"provider" | "os_type" | "rotated">;
  private readonly rotationError: Counter<"provider" | "os_type" | "rotated" | "error_type">;
  private readonly rotationDuration: Histogram<"os_type">;

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    const r = [this.registry];
    this.publish = new Counter({
      name: "node_publish_total",
      help: "Total number of successful volume mount requests",
      labelNames: ["provider", "os_type"],
      registers: r,
    });
    this.publishError = new Counter({
      name: "node_publish_error_total",
      help: "Total number of errors with volume mount requests",
      labelNames: ["provider", "error_type", "os_type"],
      registers: r,
    });
    this.unpublish = new Counter({
      name: "node_unpublish_total",
      help: "Total number of successful volume unmount requests",
      labelNames: ["os_type"],
      registers: r,
    });
    this.unpublishError = new Counter({
      name: "node_unpublish_error_total",
      help: "Total number of errors with volume unmount requests",
      labelNames: ["os_type"],
      registers: r,
    });
    this.rotation = new Counter({
      name: "rotation_reconcile_total",
      help: "Total number of rotation reconciles",
      labelNames: ["provider", "os_type", "rotated"],
      registers: r,
    });
    this.rotationError = new Counter({
      name: "rotation_reconcile_error_total",
      help: "Total number of rotation reconciles with error",
      labelNames: ["provider", "os_type", "rotated", "error_type"],
      registers: r,
    });
    this.rotationDuration = new Histogram({
      name: "rotation_reconcile_duration_sec",
      help: "Distribution of how long it took to rotate secrets-store content for pods",
      labelNames: ["os_type"],
      buckets: exponentialBucketsRange(0.1, 2, 11),
      registers: r,
    });
    if (opts.defaultMetrics) collectDefaultMetrics({ register: this.registry });
  }

  nodePublish(provider: string): void {
    this.publish.inc({ provider, os_type: OS_TYPE });
  }
  nodePublishError(provider: string, reason: FailureReason | ""): void {
    this.publishError.inc({ provider, error_type: reason, os_type: OS_TYPE });
  }
  nodeUnpublish(): void {
    this.unpublish.inc({ os_type: OS_TYPE });
  }
  nodeUnpublishError(): void {
    this.unpublishError.inc({ os_type: OS_TYPE });
  }
  rotationReconcile(provider: string, seconds: number): void {
    this.rotation.inc({ provider, os_type: OS_TYPE, rotated: "true" });
    this.rotationDuration.observe({ os_type: OS_TYPE }, seconds);
  }
  rotationReconcileError(provider: string, reason: FailureReason | ""): void {
    this.rotationError.inc({ provider, os_type: OS_TYPE, rotated: "true", error_type: reason });
  }
}
