// Provider metrics with upstream names, labels and buckets (provider.md §5),
// on a private registry served at :<prometheus-port>/metrics.
//
// Deliberate difference: upstream puts the full error text in the
// keyvault_request `error` label; we put a short code (SecretNotFound,
// Throttled, Timeout…), which keeps cardinality bounded and can never carry
// a secret.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Counter, Histogram, Registry } from "prom-client";

export const BUCKETS = [0.1, 0.2, 0.3, 0.4, 0.5, 1, 1.5, 2, 2.5, 3, 5, 10, 15, 30];

export class ProviderMetrics {
  readonly registry = new Registry();
  readonly keyvaultRequest: Histogram<"object_type" | "object_name" | "error">;
  readonly grpcRequest: Histogram<"grpc_method" | "grpc_code" | "grpc_message">;
  /** Ours: how Key Vault reads were served (miss = a real call). */
  readonly keyvaultCache: Counter<"result">;

  constructor() {
    this.registry.setDefaultLabels({
      provider: "azure",
      os_type: process.platform === "win32" ? "windows" : "linux",
      service_name: "csi-secrets-store-provider-azure",
    });
    this.keyvaultRequest = new Histogram({
      name: "keyvault_request",
      help: "Distribution of how long it took to get from keyvault",
      labelNames: ["object_type", "object_name", "error"],
      buckets: BUCKETS,
      registers: [this.registry],
    });
    this.grpcRequest = new Histogram({
      name: "grpc_request",
      help: "Distribution of how long it took for the gRPC requests",
      labelNames: ["grpc_method", "grpc_code", "grpc_message"],
      buckets: BUCKETS,
      registers: [this.registry],
    });
    this.keyvaultCache = new Counter({
      name: "akv_csi_keyvault_reads_total",
      help: "Key Vault reads by outcome: miss (a real call), shared (joined an in-flight call), hit (recent result reused)",
      labelNames: ["result"],
      registers: [this.registry],
    });
  }

  observeKeyVault(objectType: string, objectName: string, seconds: number, errorCode: string): void {
    this.keyvaultRequest.observe({ object_type: objectType, object_name: objectName, error: errorCode }, seconds);
  }

  observeGrpc(method: string, code: string, message: string, seconds: number): void {
    this.grpcRequest.observe({ grpc_method: method, grpc_code: code, grpc_message: message }, seconds);
  }
}

/** Serves /metrics; port 0 picks a free one (read it from the result). */
export async function serveMetrics(metrics: ProviderMetrics, port: number, host?: string): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method === "GET" && (req.url ?? "").split("?")[0] === "/metrics") {
      metrics.registry.metrics().then(
        (body) => {
          res.writeHead(200, { "content-type": metrics.registry.contentType });
          res.end(body);
        },
        (e: unknown) => {
          res.writeHead(500);
          res.end(String(e));
        },
      );
      return;
    }
    res.writeHead(404);
    res.end("404 page not found\n");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}

export function boundPort(server: Server): number {
  return (server.address() as AddressInfo).port;
}
