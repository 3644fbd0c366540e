// Socket lifecycle for our gRPC servers: parse the upstream endpoint syntax,
// remove a stale socket (only if it is a socket), bind, restrict the mode,
// and shut down without leaving the file behind.
import * as grpc from "@grpc/grpc-js";
import { chmodSync, lstatSync, mkdirSync, unlinkSync } from "node:fs";
import { dirname } from "node:path";

export interface Endpoint {
  scheme: "unix" | "tcp";
  /** Socket path for unix, host:port for tcp. */
  address: string;
}

/**
 * Upstream parseEndpoint: `unix://` or `tcp://` only; a unix path gets a
 * leading `/` when it lacks one, so `unix://tmp/csi.sock` is `/tmp/csi.sock`.
 */
export function parseEndpoint(ep: string): Endpoint {
  const lower = ep.toLowerCase();
  if (lower.startsWith("unix://")) {
    let addr = ep.slice("unix://".length);
    if (addr === "") throw new Error(`invalid endpoint: ${ep}`);
    if (!addr.startsWith("/")) addr = "/" + addr;
    return { scheme: "unix", address: addr };
  }
  if (lower.startsWith("tcp://")) {
    const addr = ep.slice("tcp://".length);
    if (addr === "") throw new Error(`invalid endpoint: ${ep}`);
    return { scheme: "tcp", address: addr };
  }
  throw new Error(`invalid endpoint: ${ep}`);
}

/** Removes `path` if it is a socket; refuses to touch anything else. */
export function removeStaleSocket(path: string): void {
  let st;
  try {
    st = lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
    throw e;
  }
  if (!st.isSocket()) throw new Error(`refusing to remove ${path}: it exists and is not a socket`);
  unlinkSync(path);
}

export interface ServeOptions {
  /** File mode for the unix socket (0o700 keeps it to the owner). */
  socketMode?: number;
  maxReceiveMessageLength?: number;
}

export interface Serving {
  server: grpc.Server;
  endpoint: Endpoint;
  /** Graceful stop, forced after `graceMs`; removes the unix socket. */
  stop(graceMs?: number): Promise<void>;
}

export async function serve(
  server: grpc.Server,
  endpointText: string,
  opts: ServeOptions = {},
): Promise<Serving> {
  const endpoint = parseEndpoint(endpointText);
  let target: string;
  if (endpoint.scheme === "unix") {
    mkdirSync(dirname(endpoint.address), { recursive: true });
    removeStaleSocket(endpoint.address);
    target = `unix://${endpoint.address}`;
  } else {
    target = endpoint.address;
  }
  // Bind with a tight umask so the socket is never briefly group/world usable.
  const oldMask =
    endpoint.scheme === "unix" && opts.socketMode !== undefined ? process.umask(0o077) : undefined;
  try {
    await new Promise<number>((resolve, reject) =>
      server.bindAsync(target, grpc.ServerCredentials.createInsecure(), (err, port) =>
        err ? reject(err) : resolve(port),
      ),
    );
  } finally {
    if (oldMask !== undefined) process.umask(oldMask);
  }
  if (endpoint.scheme === "unix" && opts.socketMode !== undefined)
    chmodSync(endpoint.address, opts.socketMode);
  let stopped: Promise<void> | undefined;
  return {
    server,
    endpoint,
    stop(graceMs = 5000) {
      stopped ??= new Promise<void>((resolve) => {
        const timer = setTimeout(() => server.forceShutdown(), graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          if (endpoint.scheme === "unix") {
            try {
              removeStaleSocket(endpoint.address);
            } catch {
              /* already gone or replaced by a non-socket: leave it */
            }
          }
          resolve();
        });
      });
      return stopped;
    },
  };
}
