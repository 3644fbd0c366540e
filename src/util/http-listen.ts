// Small HTTP endpoints (metrics, healthz) on Go-style listen addresses:
// ":8095" (all interfaces), "127.0.0.1:8095", "[::1]:8095", "8095".
import { createServer, type RequestListener, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export function parseListenAddr(addr: string): { host: string | undefined; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*))?:?(\d+)$/.exec(addr.trim());
  if (!m) throw new Error(`invalid listen address ${JSON.stringify(addr)}`);
  const host = m[1] ?? (m[2] || undefined);
  return { host, port: Number(m[3]) };
}

export async function listenHttp(
  addr: string,
  handler: RequestListener,
): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const { host, port } = parseListenAddr(addr);
  const server = createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Resolves on the first SIGTERM/SIGINT (one handler per signal). */
export function waitForSignal(
  signals: NodeJS.Signals[] = ["SIGTERM", "SIGINT"],
): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const handlers = new Map<NodeJS.Signals, () => void>();
    for (const s of signals) {
      const h = () => {
        for (const [sig, fn] of handlers) process.off(sig, fn);
        resolve(s);
      };
      handlers.set(s, h);
      process.on(s, h);
    }
  });
}
