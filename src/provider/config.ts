// `akv-csi provider azure` flags: every upstream v1.8.2 flag with its default
// (provider.md §1), klog's flags, then our additions (marked "akv-csi:").
import { FlagError, KLOG_FLAGS, parseFlags, type FlagTable, type FlagValues } from "../config/flags.js";

export const PROVIDER_FLAGS = {
  ...KLOG_FLAGS,
  endpoint: { type: "string", default: "unix:///tmp/azure.sock", usage: "CSI gRPC endpoint" },
  "log-format-json": { type: "bool", default: false, usage: "set log formatter to json" },
  "enable-pprof": { type: "bool", default: false, usage: "enable pprof profiling (accepted; Node has no pprof, use --inspect)" },
  "pprof-port": { type: "int", default: 6060, usage: "port for pprof profiling (accepted, unused)" },
  "healthz-port": { type: "int", default: 8989, usage: "port for health check (akv-csi: 0 picks a free port and logs it)" },
  "healthz-path": { type: "string", default: "/healthz", usage: "path for health check" },
  "healthz-timeout": { type: "duration", default: 5000, usage: "RPC timeout for health check" },
  "metrics-backend": { type: "string", default: "Prometheus", usage: "Backend used for metrics" },
  "prometheus-port": { type: "int", default: 8898, usage: "Prometheus port for metrics backend (akv-csi: 0 picks a free port)" },
  "construct-pem-chain": { type: "bool", default: true, usage: "explicitly reconstruct the pem chain in the order: SERVER, INTERMEDIATE, ROOT" },
  "write-cert-and-key-in-separate-files": {
    type: "bool",
    default: false,
    usage: "Write cert and key in separate files. The individual files will be named as <secret-name>.crt and <secret-name>.key. These files will be created in addition to the single file.",
  },
  "cloud-name": { type: "string", default: "AzurePublicCloud", usage: "default cloud name when the SecretProviderClass has none" },
  "token-proxy-url": { type: "string", default: "", usage: "identity binding token proxy URL (useAzureTokenProxy is not supported by this build)" },
  "sni-name": { type: "string", default: "", usage: "identity binding token proxy SNI (useAzureTokenProxy is not supported by this build)" },
  "custom-user-agent": { type: "string", default: "", usage: "user agent to add (a no-op upstream as well)" },
  version: { type: "bool", default: false, usage: "Print the version and exit" },
  // --- akv-csi additions ---
  "cache-ttl": {
    type: "duration",
    default: 30_000,
    usage: "akv-csi: reuse a Key Vault read for the same identity, vault and object this long (0 = share only concurrent reads)",
  },
  "max-parallel-fetches": { type: "int", default: 8, usage: "akv-csi: objects of one mount fetched in parallel (1 = upstream's sequential order)" },
  "keyvault-api-version": { type: "string", default: "", usage: "akv-csi: Key Vault REST api-version, e.g. 7.4 or 2025-07-01 (empty = SDK default)" },
  "disable-challenge-resource-verification": {
    type: "bool",
    default: false,
    usage: "akv-csi: accept a Key Vault auth challenge whose resource is not a parent domain of the vault host (local emulators only)",
  },
  "pod-identity-nmi-url": { type: "string", default: "http://localhost:2579", usage: "akv-csi: NMI base URL for usePodIdentity (upstream hard-codes this default)" },
  "max-throttle-wait": { type: "duration", default: 120_000, usage: "akv-csi: cap on one per-vault backoff window taken from Retry-After" },
  "healthz-host": { type: "string", default: "", usage: "akv-csi: address for the healthz listener (empty = all interfaces, as upstream)" },
  "metrics-host": { type: "string", default: "", usage: "akv-csi: address for the metrics listener (empty = all interfaces, as upstream)" },
} as const satisfies FlagTable;

export type ProviderFlagValues = FlagValues<typeof PROVIDER_FLAGS>;

export interface ProviderConfig {
  readonly endpoint: string;
  readonly verbosity: number;
  readonly logFormatJson: boolean;
  readonly enablePprof: boolean;
  readonly healthzPort: number;
  readonly healthzPath: string;
  readonly healthzTimeoutMs: number;
  readonly prometheusPort: number;
  readonly constructPemChain: boolean;
  readonly writeCertAndKeyInSeparateFiles: boolean;
  readonly cloudName: string;
  readonly tokenProxyUrl: string;
  readonly sniName: string;
  readonly printVersion: boolean;
  readonly cacheTtlMs: number;
  readonly maxParallelFetches: number;
  readonly keyvaultApiVersion: string | undefined;
  readonly disableChallengeResourceVerification: boolean;
  readonly nmiUrl: string;
  readonly maxThrottleWaitMs: number;
  readonly healthzHost: string | undefined;
  readonly metricsHost: string | undefined;
  readonly help: boolean;
}

const API_VERSIONS = new Set(["7.0", "7.1", "7.2", "7.3", "7.4", "7.5", "7.6", "2025-07-01"]);
const CLOUDS = new Set([
  "azurepubliccloud",
  "azureusgovernmentcloud",
  "azurechinacloud",
  "azuregermancloud",
  "azurestackcloud",
]);

export function parseProviderConfig(argv: readonly string[]): ProviderConfig {
  const { values: v, help } = parseFlags(PROVIDER_FLAGS, argv);
  if (v["metrics-backend"].toLowerCase() !== "prometheus") {
    throw new FlagError(`unsupported metrics backend ${v["metrics-backend"]}`);
  }
  if (v["cloud-name"] !== "" && !CLOUDS.has(v["cloud-name"].toLowerCase())) {
    throw new FlagError(`autorest/azure: There is no cloud environment matching the name "${v["cloud-name"].toUpperCase()}"`);
  }
  if (v["cache-ttl"] < 0) throw new FlagError("--cache-ttl must not be negative");
  if (v["max-parallel-fetches"] < 1 || v["max-parallel-fetches"] > 256) throw new FlagError("--max-parallel-fetches must be 1..256");
  if (v["keyvault-api-version"] && !API_VERSIONS.has(v["keyvault-api-version"])) {
    throw new FlagError(`--keyvault-api-version must be one of ${[...API_VERSIONS].join(", ")}`);
  }
  for (const p of ["healthz-port", "prometheus-port"] as const) {
    if (v[p] < 0 || v[p] > 65535) throw new FlagError(`--${p} must be 0..65535`);
  }
  return Object.freeze({
    endpoint: v.endpoint,
    verbosity: v.v,
    logFormatJson: v["log-format-json"],
    enablePprof: v["enable-pprof"],
    healthzPort: v["healthz-port"],
    healthzPath: v["healthz-path"],
    healthzTimeoutMs: v["healthz-timeout"],
    prometheusPort: v["prometheus-port"],
    constructPemChain: v["construct-pem-chain"],
    writeCertAndKeyInSeparateFiles: v["write-cert-and-key-in-separate-files"],
    cloudName: v["cloud-name"],
    tokenProxyUrl: v["token-proxy-url"],
    sniName: v["sni-name"],
    printVersion: v.version,
    cacheTtlMs: v["cache-ttl"],
    maxParallelFetches: v["max-parallel-fetches"],
    keyvaultApiVersion: v["keyvault-api-version"] || undefined,
    disableChallengeResourceVerification: v["disable-challenge-resource-verification"],
    nmiUrl: v["pod-identity-nmi-url"],
    maxThrottleWaitMs: v["max-throttle-wait"],
    healthzHost: v["healthz-host"] || undefined,
    metricsHost: v["metrics-host"] || undefined,
    help,
  });
}
