// Composition root of `akv-csi provider azure`.
import { existsSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { dirname, join } from "node:path";
import { FlagError, usage } from "../config/flags.js";
import { createLogger, type Logger } from "../util/logger.js";
import { createAzureProvider } from "./azure/index.js";
import { parseProviderConfig, PROVIDER_FLAGS, type ProviderConfig } from "./config.js";
import { boundPort, ProviderMetrics, serveMetrics } from "./metrics.js";
import { checkHealth, startProviderServer } from "./server.js";

/** Our release version: AKV_CSI_VERSION, else the nearest akv-csi package.json. */
export function buildVersion(): { version: string; buildDate: string } {
  let version = process.env.AKV_CSI_VERSION ?? "";
  if (!version) {
    let dir = __dirname;
    for (let i = 0; i < 5 && !version; i++, dir = dirname(dir)) {
      const f = join(dir, "package.json");
      if (!existsSync(f)) continue;
      try {
        const pkg = JSON.parse(readFileSync(f, "utf8")) as { name?: string; version?: string };
        if (pkg.name === "akv-csi" && pkg.version) version = `v${pkg.version}`;
      } catch {
        /* not ours */
      }
    }
  }
  return { version: version || "dev", buildDate: process.env.AKV_CSI_BUILD_DATE ?? "" };
}

function listen(server: Server, port: number, host: string | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
}

function healthzServer(cfg: ProviderConfig, log: Logger): Server {
  return createServer((req, res) => {
    if ((req.url ?? "").split("?")[0] !== cfg.healthzPath) {
      res.writeHead(404);
      res.end("404 page not found\n");
      return;
    }
    checkHealth(cfg.endpoint, cfg.healthzTimeoutMs).then(
      () => {
        res.writeHead(200);
        res.end("ok");
      },
      (e: unknown) => {
        const msg = e instanceof Error ? e.message : String(e);
        log.v(5).info("health check failed", { err: msg });
        res.writeHead(503);
        res.end(msg);
      },
    );
  });
}

export async function runProvider(argv: string[]): Promise<number> {
  let cfg: ProviderConfig;
  try {
    cfg = parseProviderConfig(argv);
  } catch (e) {
    if (e instanceof FlagError) {
      process.stderr.write(`${e.message}\nUsage of akv-csi provider azure:\n${usage(PROVIDER_FLAGS)}\n`);
      return 2;
    }
    throw e;
  }
  if (cfg.help) {
    process.stdout.write(`Usage of akv-csi provider azure:\n${usage(PROVIDER_FLAGS)}\n`);
    return 0;
  }
  const ver = buildVersion();
  if (cfg.printVersion) {
    process.stdout.write(`${JSON.stringify(ver)}\n`);
    return 0;
  }
  const log = createLogger({ verbosity: cfg.verbosity, json: cfg.logFormatJson, name: "provider" });
  if (cfg.enablePprof) log.warn("--enable-pprof is accepted but has no effect in this build; use node --inspect instead");
  if (cfg.tokenProxyUrl || cfg.sniName) log.warn("--token-proxy-url/--sni-name are accepted, but useAzureTokenProxy is not supported by this build");

  const metrics = new ProviderMetrics();
  const provider = createAzureProvider({
    defaults: {
      cloudName: cfg.cloudName,
      constructPemChain: cfg.constructPemChain,
      writeCertAndKeyInSeparateFiles: cfg.writeCertAndKeyInSeparateFiles,
    },
    log,
    runtimeVersion: ver.version,
    cacheTtlMs: cfg.cacheTtlMs,
    maxParallelFetches: cfg.maxParallelFetches,
    keyvaultApiVersion: cfg.keyvaultApiVersion,
    disableChallengeResourceVerification: cfg.disableChallengeResourceVerification,
    nmiUrl: cfg.nmiUrl,
    maxThrottleWaitMs: cfg.maxThrottleWaitMs,
    onKeyVaultRequest: (type, name, seconds, code) => metrics.observeKeyVault(type, name, seconds, code),
    onCacheOutcome: (o) => metrics.keyvaultCache.inc({ result: o }),
  });

  const serving = await startProviderServer(provider, cfg.endpoint, { log, metrics });
  log.info("provider listening", { endpoint: cfg.endpoint, version: ver.version });
  const metricsServer = await serveMetrics(metrics, cfg.prometheusPort, cfg.metricsHost);
  log.info("metrics listening", { prometheusPort: boundPort(metricsServer) });
  const healthz = healthzServer(cfg, log);
  await listen(healthz, cfg.healthzPort, cfg.healthzHost);
  log.info("healthz listening", { healthzPort: boundPort(healthz), path: cfg.healthzPath });

  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      process.removeListener("SIGTERM", onTerm);
      process.removeListener("SIGINT", onInt);
      log.info("shutting down", { signal });
      resolve();
    };
    const onTerm = () => stop("SIGTERM");
    const onInt = () => stop("SIGINT");
    process.on("SIGTERM", onTerm);
    process.on("SIGINT", onInt);
  });
  healthz.close();
  metricsServer.close();
  healthz.closeAllConnections();
  metricsServer.closeAllConnections();
  await serving.stop(5000);
  log.info("stopped");
  return 0;
}
