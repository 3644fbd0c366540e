// Driver flags: every upstream flag with its upstream default (driver.md §1),
// plus --kubeconfig and the few additions this implementation needs, which
// default to upstream behaviour wherever behaviour changes.
import { KLOG_FLAGS, parseFlags, type FlagTable, type FlagValues } from "../config/flags.js";

export const DRIVER_FLAGS = {
  ...KLOG_FLAGS,
  endpoint: { type: "string", default: "unix://tmp/csi.sock", usage: "CSI endpoint" },
  drivername: { type: "string", default: "secrets-store.csi.k8s.io", usage: "name of the driver" },
  nodeid: { type: "string", default: "", usage: "node id" },
  "log-format-json": { type: "bool", default: false, usage: "set log formatter to json" },
  "provider-volume": {
    type: "string",
    default: "/var/run/secrets-store-csi-providers",
    usage: "Volume path for provider",
  },
  "additional-provider-volume-paths": {
    type: "string",
    default: "/etc/kubernetes/secrets-store-csi-providers",
    usage: "Comma separated list of additional paths to communicate with providers",
  },
  "metrics-addr": {
    type: "string",
    default: ":8095",
    usage: "The address the metric endpoint binds to",
  },
  "metrics-backend": { type: "string", default: "Prometheus", usage: "Backend used for metrics" },
  "enable-secret-rotation": {
    type: "bool",
    default: false,
    usage: "Enable secret rotation feature [alpha]",
  },
  "rotation-poll-interval": {
    type: "duration",
    default: 120_000,
    usage: "Secret rotation poll interval duration",
  },
  "enable-pprof": {
    type: "bool",
    default: false,
    usage: "enable pprof profiling (no-op in this implementation)",
  },
  "pprof-port": { type: "int", default: 6065, usage: "port for pprof profiling" },
  "max-call-recv-msg-size": {
    type: "int",
    default: 1024 * 1024 * 4,
    usage: "maximum size in bytes of gRPC response from plugins",
  },
  "provider-health-check": {
    type: "bool",
    default: false,
    usage: "Enable health check for configured providers",
  },
  "provider-health-check-interval": {
    type: "duration",
    default: 120_000,
    usage: "Provider healthcheck interval duration",
  },
  version: { type: "bool", default: false, usage: "Print the version and exit" },
  kubeconfig: {
    type: "string",
    default: "",
    usage: "Paths to a kubeconfig. Only required if out-of-cluster.",
  },
  // --- additions (not in upstream) ---
  "tmpfs-size": {
    type: "string",
    default: "32Mi",
    usage: "size cap of each volume's tmpfs (Kubernetes quantity; 0 = kernel default, as upstream)",
  },
  "tmpfs-options": {
    type: "string",
    default: "nosuid,nodev",
    usage: "extra tmpfs mount options (upstream mounts with none)",
  },
  "mask-remount-errors": {
    type: "bool",
    default: true,
    usage:
      "report success when a republish fails, keeping the old contents (upstream behaviour, kubernetes#121271)",
  },
  "provider-timeout": {
    type: "duration",
    default: 100_000,
    usage: "deadline for one provider Mount call, inside kubelet's 2m (0 = none, as upstream)",
  },
  "enforce-target-path": {
    type: "bool",
    default: true,
    usage:
      "refuse target paths outside the kubelet layout .../pods/<uid>/volumes/kubernetes.io~csi/<vol>/mount or behind symlinks",
  },
} as const satisfies FlagTable;

export type DriverFlags = FlagValues<typeof DRIVER_FLAGS>;

export interface DriverConfig {
  readonly endpoint: string;
  readonly driverName: string;
  readonly nodeId: string;
  readonly logJson: boolean;
  readonly verbosity: number;
  /** Searched in order; the first directory holding `<provider>.sock` wins. */
  readonly providerDirs: readonly string[];
  readonly metricsAddr: string;
  readonly rotationEnabled: boolean;
  readonly rotationPollIntervalMs: number;
  readonly maxCallRecvMsgSize: number;
  readonly providerHealthCheck: boolean;
  readonly providerHealthCheckIntervalMs: number;
  readonly kubeconfig: string;
  readonly tmpfsSizeBytes: number;
  readonly tmpfsOptions: readonly string[];
  readonly maskRemountErrors: boolean;
  readonly providerTimeoutMs: number;
  readonly enforceTargetPath: boolean;
  readonly vendorVersion: string;
}

const QUANTITY: Record<string, number> = {
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
};

/** A Kubernetes quantity (`32Mi`, `64M`, `1048576`) in bytes. */
export function parseQuantity(flag: string, text: string): number {
  const m = /^(\d+)(|k|M|G|Ki|Mi|Gi)$/.exec(text.trim());
  if (!m)
    throw new Error(`invalid value "${text}" for flag -${flag}: expected a quantity such as 32Mi`);
  return Number(m[1]) * QUANTITY[m[2]!]!;
}

export const DRIVER_VERSION = "v1.6.0";

export function driverConfig(argv: readonly string[]) {
  const parsed = parseFlags(DRIVER_FLAGS, argv);
  const f = parsed.values;
  const config: DriverConfig = Object.freeze({
    endpoint: f.endpoint,
    driverName: f.drivername,
    nodeId: f.nodeid,
    logJson: f["log-format-json"],
    verbosity: f.v,
    providerDirs: Object.freeze([
      ...f["additional-provider-volume-paths"]
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean),
      f["provider-volume"],
    ]),
    metricsAddr: f["metrics-addr"],
    rotationEnabled: f["enable-secret-rotation"],
    rotationPollIntervalMs: f["rotation-poll-interval"],
    maxCallRecvMsgSize: f["max-call-recv-msg-size"],
    providerHealthCheck: f["provider-health-check"],
    providerHealthCheckIntervalMs: f["provider-health-check-interval"],
    kubeconfig: f.kubeconfig,
    tmpfsSizeBytes: parseQuantity("tmpfs-size", f["tmpfs-size"]),
    tmpfsOptions: Object.freeze(
      f["tmpfs-options"]
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean),
    ),
    maskRemountErrors: f["mask-remount-errors"],
    providerTimeoutMs: f["provider-timeout"],
    enforceTargetPath: f["enforce-target-path"],
    vendorVersion: DRIVER_VERSION,
  });
  if (f["metrics-backend"].toLowerCase() !== "prometheus")
    throw new Error(`unsupported metrics backend ${f["metrics-backend"]}`);
  return { config, flags: f, help: parsed.help, printVersion: f.version };
}
