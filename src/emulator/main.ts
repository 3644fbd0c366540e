// `akv-csi emulator`: runs the emulator until SIGINT/SIGTERM and prints the
// endpoints and the environment a client shell should export.
import { FlagTable, parseFlags, usage } from "../config/flags.js";
import { createLogger } from "../util/logger.js";
import { waitForSignal } from "../util/http-listen.js";
import { startEmulator } from "./index.js";

const FLAGS = {
  "https-port": { type: "int", default: 8443, usage: "HTTPS port for Key Vault and Entra ID (0 = ephemeral)" },
  "http-port": { type: "int", default: 8444, usage: "HTTP port for the CONNECT proxy, IMDS and /_emulator admin (0 = ephemeral)" },
  "nmi-port": { type: "int", default: 2579, usage: "AAD pod identity NMI port (0 = ephemeral, -1 = off)" },
  host: { type: "string", default: "127.0.0.1", usage: "address to listen on (keep it on loopback)" },
  "dns-suffix": { type: "string", default: "vault.akv.test", usage: "Key Vault DNS suffix served (vault URLs are https://<name>.<suffix>/)" },
  "tenant-id": { type: "string", default: "", usage: "tenant id (default: the demo tenant)" },
  seed: { type: "string", default: "", usage: "YAML or JSON seed file (default: the demo vault)" },
  "state-dir": { type: "string", default: "", usage: "directory for ca.pem, ca-key.pem and the cloud environment file (default: a temp dir)" },
  latency: { type: "duration", default: 0, usage: "fixed latency added to every Key Vault request" },
  throttle: { type: "bool", default: true, usage: "apply Key Vault's 4000 requests / 10 s per-vault limit" },
  "intercept-host": { type: "string", default: "", usage: "comma-separated extra hostnames served by the HTTPS server via the proxy" },
  v: { type: "int", default: 0, usage: "log verbosity" },
} as const satisfies FlagTable;

export async function runEmulator(argv: string[]): Promise<number> {
  const { values: f, help } = parseFlags(FLAGS, argv);
  if (help) {
    process.stdout.write(`Usage: akv-csi emulator [flags]\n\n${usage(FLAGS)}\n`);
    return 0;
  }
  const log = createLogger({ verbosity: f.v, name: "emulator" });
  const emu = await startEmulator({
    host: f.host,
    httpsPort: f["https-port"],
    httpPort: f["http-port"],
    nmiPort: f["nmi-port"],
    dnsSuffix: f["dns-suffix"],
    tenantId: f["tenant-id"] || undefined,
    seedFile: f.seed || undefined,
    stateDir: f["state-dir"] || undefined,
    latencyMs: f.latency,
    throttle: f.throttle ? undefined : false,
    interceptHosts: f["intercept-host"] ? f["intercept-host"].split(",").map((s) => s.trim()).filter(Boolean) : undefined,
    log,
  });
  const env = emu.clientEnv();
  const lines = [
    `akv-csi emulator is up (tenant ${emu.tenantId})`,
    `  Key Vault:   ${emu.vaultUrl("<vault>")}  (vaults: ${emu.store.vaultNames().join(", ") || "none"}) via proxy ${emu.proxyUrl}`,
    `  Entra ID:    ${emu.authorityHost}${emu.tenantId}/oauth2/v2.0/token`,
    `  IMDS:        ${emu.imdsUrl}/metadata/identity/oauth2/token`,
    `  NMI:         ${emu.nmiUrl ? `${emu.nmiUrl}/host/token/` : "off"}`,
    `  Admin/stats: ${emu.proxyUrl}/_emulator/stats`,
    `  CA:          ${emu.caFile}`,
    `  Cloud file:  ${emu.cloudEnvFile}  (AzureStackCloud)`,
    "",
    "# export these in a client shell:",
    ...Object.entries(env).map(([k, v]) => `export ${k}=${v}`),
    `export AZURE_ENVIRONMENT_FILEPATH=${emu.cloudEnvFile}`,
    "",
  ];
  process.stdout.write(lines.join("\n"));
  const sig = await waitForSignal();
  log.info("shutting down", { signal: sig });
  await emu.close();
  return 0;
}
