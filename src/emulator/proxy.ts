// The HTTPS_PROXY side: CONNECT tunnels for the emulator's vault hostnames
// (to its own HTTPS port) and for a configurable suffix → address table
// (e.g. to put Lowkey Vault behind the same hostnames). Anything else is
// refused, so a client pointed at this proxy can never reach the internet.
import { connect, Socket } from "node:net";
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { EmulatorContext } from "./context.js";
import { vaultFromHost } from "./keyvault.js";

export interface ProxyConfig {
  /** host:port of the emulator's HTTPS server. */
  httpsTarget(): { host: string; port: number };
  /** Extra hostnames tunnelled to the HTTPS server (also on its certificate). */
  interceptHosts: string[];
  /** hostSuffix → "host:port". */
  routes: Map<string, string>;
}

/** Where a CONNECT to `authority` should go, or undefined to refuse. */
export function resolveConnect(
  authority: string,
  suffix: string,
  cfg: Pick<ProxyConfig, "interceptHosts" | "routes">,
  https: { host: string; port: number },
): { host: string; port: number } | undefined {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(authority);
  if (!m) return undefined;
  const host = m[1]!.toLowerCase();
  const port = Number(m[2]);
  for (const [s, target] of cfg.routes) {
    const key = s.toLowerCase().replace(/^\./, "");
    if (host === key || host.endsWith(`.${key}`)) {
      const t = /^\[?([^\]]+?)\]?:(\d+)$/.exec(target);
      return t ? { host: t[1]!, port: Number(t[2]) } : undefined;
    }
  }
  if (port !== 443) return undefined;
  const s = suffix.toLowerCase();
  if (host === s || host.endsWith(`.${s}`) || cfg.interceptHosts.some((h) => h.toLowerCase() === host)) return https;
  return undefined;
}

export function handleConnect(ctx: EmulatorContext, cfg: ProxyConfig, tunnels: Set<Duplex>, req: IncomingMessage, client: Duplex, head: Buffer): void {
  const authority = req.url ?? "";
  const hostname = authority.replace(/:\d+$/, "").toLowerCase();
  const vault = vaultFromHost(hostname, ctx.dnsSuffix);
  const record = (status: number) => ctx.counters.record("proxy.connect", vault, status, undefined);
  client.on("error", () => undefined);
  const fault = ctx.faults.take({ method: "CONNECT", path: authority, route: "proxy.connect", vault });
  if (fault) {
    ctx.counters.faultsInjected++;
    if (fault.kind === "reset" || fault.kind === "hang") {
      record(0);
      if (fault.kind === "reset") client.destroy();
      else tunnels.add(client);
      return;
    }
    if (fault.kind === "status") {
      record(fault.status);
      client.end(`HTTP/1.1 ${fault.status} Injected\r\ncontent-length: 0\r\n\r\n`);
      return;
    }
  }
  const target = resolveConnect(authority, ctx.dnsSuffix, cfg, cfg.httpsTarget());
  if (!target) {
    ctx.log.v(2).info("proxy refused CONNECT", { authority });
    record(403);
    client.end("HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n");
    return;
  }
  const upstream: Socket = connect(target.port, target.host);
  tunnels.add(client);
  tunnels.add(upstream);
  const done = () => {
    tunnels.delete(client);
    tunnels.delete(upstream);
    client.destroy();
    upstream.destroy();
  };
  upstream.once("connect", () => {
    record(200);
    client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
    if (head.length) upstream.write(head);
    upstream.pipe(client);
    client.pipe(upstream);
  });
  upstream.on("error", (e) => {
    if (!client.writableEnded && upstream.bytesRead === 0 && upstream.connecting) {
      record(502);
      ctx.log.warn("proxy upstream unreachable", { authority, err: e.message });
      client.end("HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n");
    }
    done();
  });
  upstream.on("close", done);
  client.on("close", done);
}
