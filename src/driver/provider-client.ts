// gRPC client side of the provider contract. A pool finds `<name>.sock` in
// the provider directories (first directory wins), dials with authority
// `localhost` and the upstream retry policy, and — unlike upstream, which
// caches a client forever — re-resolves and re-dials when the socket was
// replaced or a call found the provider unavailable.
import * as grpc from "@grpc/grpc-js";
import { promises as fs } from "node:fs";
import { join } from "node:path";
import type { CSIDriverProviderClient } from "../generated/v1alpha1/CSIDriverProvider.js";
import type { MountResponse__Output } from "../generated/v1alpha1/MountResponse.js";
import type { Logger } from "../util/logger.js";
import { loadProviderApi } from "../util/proto.js";
import { CsiError, type StatusCode } from "./errors.js";

export interface ProviderMountRequest {
  attributes: string;
  secrets: string;
  targetPath: string;
  permission: string;
  currentObjectVersions: { id: string; version: string }[];
}

export interface ProviderFile {
  path: string;
  mode: number;
  contents: Buffer;
}

export interface ProviderMountResult {
  objectVersions: { id: string; version: string }[];
  files: ProviderFile[];
  /** MountResponse.error.code, when the provider set one. */
  errorCode: string;
  /** Encoded size of the response, for the >1 MiB warning. */
  sizeHint: number;
}

export interface ProviderClient {
  readonly name: string;
  readonly socketPath: string;
  mount(
    req: ProviderMountRequest,
    opts: { timeoutMs: number; signal?: AbortSignal },
  ): Promise<ProviderMountResult>;
  /** Returns the provider's runtime version. */
  version(timeoutMs: number): Promise<string>;
}

export interface ProviderPool {
  get(provider: string): Promise<ProviderClient>;
  /** Forget a client so the next get() re-resolves the socket and re-dials. */
  invalidate(provider: string): void;
  /** Version call on every cached client, logged at V(4) (upstream health check). */
  healthCheck(timeoutMs: number): Promise<void>;
  close(): void;
}

const PROVIDER_NAME = /^[a-zA-Z0-9_-]{0,30}$/;

/** The upstream service config: wait for ready, 3 attempts on UNAVAILABLE. */
const SERVICE_CONFIG = JSON.stringify({
  methodConfig: [
    {
      name: [{ service: "v1alpha1.CSIDriverProvider" }],
      waitForReady: true,
      retryPolicy: {
        maxAttempts: 3,
        initialBackoff: "1s",
        maxBackoff: "10s",
        backoffMultiplier: 1.1,
        retryableStatusCodes: ["UNAVAILABLE"],
      },
    },
  ],
});

const CODE_NAMES: Record<number, StatusCode> = {
  1: "Cancelled",
  2: "Unknown",
  3: "InvalidArgument",
  4: "DeadlineExceeded",
  5: "NotFound",
  6: "AlreadyExists",
  7: "PermissionDenied",
  8: "ResourceExhausted",
  9: "FailedPrecondition",
  10: "Aborted",
  12: "Unimplemented",
  13: "Internal",
  14: "Unavailable",
};

/** A failed provider call, worded like a Go grpc status error. */
export class ProviderCallError extends CsiError {
  constructor(code: StatusCode, details: string) {
    super(code, `rpc error: code = ${code} desc = ${details}`, "GRPCProviderError");
  }
}

function callError(e: unknown): ProviderCallError {
  const se = e as Partial<grpc.ServiceError>;
  const code = CODE_NAMES[se.code ?? 2] ?? "Unknown";
  return new ProviderCallError(code, se.details ?? (e instanceof Error ? e.message : String(e)));
}

interface Cached {
  client: ProviderClient;
  channel: grpc.Client;
  ino: number;
}

export interface ProviderPoolOptions {
  dirs: readonly string[];
  maxReceiveMessageLength: number;
  log: Logger;
}

export function createProviderPool(opts: ProviderPoolOptions): ProviderPool {
  const cache = new Map<string, Cached>();
  const Ctor = loadProviderApi().v1alpha1.CSIDriverProvider;

  async function resolve(provider: string): Promise<{ path: string; ino: number } | undefined> {
    for (const dir of opts.dirs) {
      const path = join(dir, `${provider}.sock`);
      try {
        const st = await fs.stat(path);
        return { path, ino: st.ino };
      } catch {
        /* try the next directory */
      }
    }
    return undefined;
  }

  function dial(
    provider: string,
    socketPath: string,
  ): { client: ProviderClient; channel: grpc.Client } {
    const stub: CSIDriverProviderClient = new Ctor(
      `unix://${socketPath}`,
      grpc.credentials.createInsecure(),
      {
        "grpc.default_authority": "localhost",
        "grpc.max_receive_message_length": opts.maxReceiveMessageLength,
        "grpc.service_config": SERVICE_CONFIG,
        "grpc.enable_retries": 1,
      },
    );
    const client: ProviderClient = {
      name: provider,
      socketPath,
      mount(req, { timeoutMs, signal }) {
        return new Promise((resolvePromise, reject) => {
          const deadline = timeoutMs > 0 ? new Date(Date.now() + timeoutMs) : Infinity;
          const call = stub.Mount(
            {
              attributes: req.attributes,
              secrets: req.secrets,
              target_path: req.targetPath,
              permission: req.permission,
              current_object_version: req.currentObjectVersions,
            },
            { deadline },
            (err, res?: MountResponse__Output) => {
              signal?.removeEventListener("abort", onAbort);
              if (err || !res) {
                if (err?.code === grpc.status.UNAVAILABLE) pool.invalidate(provider);
                return reject(callError(err ?? new Error("empty response")));
              }
              resolvePromise({
                objectVersions: res.object_version.map((o) => ({ id: o.id, version: o.version })),
                files: res.files.map((f) => ({
                  path: f.path,
                  mode: f.mode,
                  contents: Buffer.from(f.contents),
                })),
                errorCode: res.error?.code ?? "",
                sizeHint: res.files.reduce((n, f) => n + f.contents.length + f.path.length + 8, 0),
              });
            },
          );
          const onAbort = () => call.cancel();
          signal?.addEventListener("abort", onAbort, { once: true });
        });
      },
      version(timeoutMs) {
        return new Promise((resolvePromise, reject) => {
          stub.Version(
            { version: "v1alpha1" },
            { deadline: new Date(Date.now() + timeoutMs) },
            (err, res) => {
              if (err || !res) return reject(callError(err ?? new Error("empty response")));
              resolvePromise(res.runtime_version);
            },
          );
        });
      },
    };
    return { client, channel: stub };
  }

  const pool: ProviderPool = {
    async get(provider) {
      if (!PROVIDER_NAME.test(provider))
        throw new Error(`invalid provider: provider ${JSON.stringify(provider)}`);
      const found = await resolve(provider);
      const cached = cache.get(provider);
      if (cached && found && cached.client.socketPath === found.path && cached.ino === found.ino)
        return cached.client;
      if (cached) {
        // The socket moved or was re-created (provider restarted): dial afresh.
        opts.log
          .v(2)
          .info("provider socket changed, re-dialing", { provider, socket: found?.path ?? "" });
        cached.channel.close();
        cache.delete(provider);
      }
      if (!found) throw new Error(`provider not found: provider ${JSON.stringify(provider)}`);
      const { client, channel } = dial(provider, found.path);
      cache.set(provider, { client, channel, ino: found.ino });
      return client;
    },
    invalidate(provider) {
      const c = cache.get(provider);
      if (!c) return;
      c.channel.close();
      cache.delete(provider);
    },
    async healthCheck(timeoutMs) {
      await Promise.all(
        [...cache.values()].map(async ({ client }) => {
          try {
            const v = await client.version(timeoutMs);
            opts.log
              .v(4)
              .info("provider healthcheck successful", {
                provider: client.name,
                runtimeVersion: v,
              });
          } catch (e) {
            opts.log
              .v(4)
              .info("provider healthcheck failed", {
                provider: client.name,
                err: (e as Error).message,
              });
          }
        }),
      );
    },
    close() {
      for (const c of cache.values()) c.channel.close();
      cache.clear();
    },
  };
  return pool;
}
