// The provider's gRPC edge: v1alpha1.CSIDriverProvider (Mount, Version) and
// grpc.health.v1.Health/Check on an owner-only unix socket. It decodes the
// JSON fields of MountRequest exactly like upstream and hands plain objects to
// a SecretsProvider; nothing below this file sees gRPC.
import * as grpc from "@grpc/grpc-js";
import type { HealthCheckResponse } from "../generated/grpc/health/v1/HealthCheckResponse.js";
import type { MountRequest__Output } from "../generated/v1alpha1/MountRequest.js";
import type { MountResponse } from "../generated/v1alpha1/MountResponse.js";
import type { VersionResponse } from "../generated/v1alpha1/VersionResponse.js";
import { serve, type Serving } from "../util/grpc-server.js";
import type { Logger } from "../util/logger.js";
import { loadHealth, loadProviderApi } from "../util/proto.js";
import { redact } from "../util/redact.js";
import type { ProviderMetrics } from "./metrics.js";
import type { MountInput, SecretsProvider } from "./types.js";

/** MountInput plus the call deadline (epoch ms), which the Azure provider uses to fail fast while throttled. */
export type MountInputWithDeadline = MountInput & { deadline?: number };

/** An error whose text goes back to the caller as is (decode errors). */
class RequestError extends Error {
  override name = "RequestError";
}

// --- Mount decoding (upstream pkg/server/server.go) ---

/** Describes a JSON.parse failure without echoing the input (which may hold tokens). */
function jsonSyntaxError(text: string, e: unknown): string {
  const m = e instanceof Error ? /position (\d+)/.exec(e.message) : null;
  if (text.trim() === "" || (e instanceof Error && /end of (JSON )?input/i.test(e.message))) return "unexpected end of JSON input";
  return m ? `invalid character at offset ${m[1]} looking for a JSON value` : "invalid character looking for beginning of value";
}

function jsonType(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "object") return "object";
  return typeof v === "boolean" ? "bool" : typeof v;
}

/** Go json.Unmarshal into map[string]string: null → empty map. */
export function decodeStringMap(field: "attributes" | "secrets", text: string): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new RequestError(`failed to unmarshal ${field}, error: ${jsonSyntaxError(text, e)}`);
  }
  if (parsed === null) return {};
  if (typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new RequestError(
      `failed to unmarshal ${field}, error: json: cannot unmarshal ${jsonType(parsed)} into Go value of type map[string]string`,
    );
  }
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
    if (typeof v !== "string" && v !== null) {
      throw new RequestError(
        `failed to unmarshal ${field}, error: json: cannot unmarshal ${jsonType(v)} into Go value of type string`,
      );
    }
    out[k] = v ?? "";
  }
  return out;
}

/** Go json.Unmarshal into os.FileMode (uint32): a plain decimal number. */
export function decodePermission(text: string): number {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new RequestError(`failed to unmarshal file permission, error: ${jsonSyntaxError(text, e)}`);
  }
  if (parsed === null) return 0;
  if (typeof parsed !== "number" || !Number.isInteger(parsed) || parsed < 0 || parsed > 0xffffffff) {
    const what = typeof parsed === "number" ? `number ${String(parsed)}` : jsonType(parsed);
    throw new RequestError(`failed to unmarshal file permission, error: json: cannot unmarshal ${what} into Go value of type fs.FileMode`);
  }
  return parsed;
}

export function decodeMountRequest(req: MountRequest__Output): Omit<MountInput, "signal"> {
  const attributes = decodeStringMap("attributes", req.attributes ?? "");
  const secrets = decodeStringMap("secrets", req.secrets ?? "");
  const permission = decodePermission(req.permission ?? "");
  return {
    attributes: { ...attributes },
    secrets: { ...secrets },
    targetPath: req.target_path ?? "",
    permission,
    currentObjectVersions: (req.current_object_version ?? []).map((o) => ({ id: o.id, version: o.version })),
  };
}

// --- one wrapper for every RPC: logging, metrics, status mapping ---

export interface ServerOptions {
  log: Logger;
  metrics?: ProviderMetrics;
}

interface HandlerContext {
  signal: AbortSignal;
  /** Epoch ms, or undefined when the caller set none. */
  deadline?: number;
}

function deadlineOf(call: grpc.ServerUnaryCall<unknown, unknown>): number | undefined {
  const d = call.getDeadline();
  const ms = d instanceof Date ? d.getTime() : d;
  return Number.isFinite(ms) ? ms : undefined;
}

function toStatus(e: unknown, signal: AbortSignal): grpc.ServiceError {
  const err = e instanceof Error ? e : new Error(String(e));
  let code = grpc.status.UNKNOWN;
  let message: string;
  if (err instanceof RequestError) message = err.message;
  else if (signal.aborted) {
    // Once the call's deadline passed (or the caller cancelled), that is why the mount
    // failed, however the provider wrapped the abort ("failed to get objectType:…").
    code = (signal.reason as Error | undefined)?.name === "TimeoutError" ? grpc.status.DEADLINE_EXCEEDED : grpc.status.CANCELLED;
    message = `failed to mount objects, error: ${err.message}`;
  } else message = `failed to mount objects, error: ${err.message}`;
  // Belt and braces: scrub any registered token or secret that slipped into a cause.
  message = redact(message) as string;
  return Object.assign(new Error(message), { code, details: message, metadata: new grpc.Metadata() });
}

function unary<Req, Res>(
  method: string,
  opts: ServerOptions,
  handler: (req: Req, ctx: HandlerContext) => Promise<Res> | Res,
): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    const started = performance.now();
    const controller = new AbortController();
    const deadline = deadlineOf(call);
    const onCancel = () => controller.abort(Object.assign(new Error("the call was cancelled by the client"), { name: "AbortError" }));
    call.on("cancelled", onCancel);
    let timer: NodeJS.Timeout | undefined;
    if (deadline !== undefined) {
      timer = setTimeout(
        () => controller.abort(Object.assign(new Error("the call deadline passed"), { name: "TimeoutError" })),
        Math.max(0, deadline - Date.now()),
      );
    }
    const finish = (code: grpc.status, message: string) => {
      if (timer) clearTimeout(timer);
      call.removeListener("cancelled", onCancel);
      const seconds = (performance.now() - started) / 1000;
      const codeName = grpc.status[code] ?? String(code);
      opts.metrics?.observeGrpc(method, codeName, message.slice(0, 256), seconds);
      opts.log.v(5).info("request", { method, duration: `${seconds.toFixed(6)}s`, code: codeName });
      if (code !== grpc.status.OK) opts.log.error("request failed", undefined, { method, code: codeName, message });
    };
    Promise.resolve()
      .then(() => handler(call.request, { signal: controller.signal, deadline }))
      .then(
        (res) => {
          finish(grpc.status.OK, "");
          callback(null, res);
        },
        (e: unknown) => {
          const st = toStatus(e, controller.signal);
          finish(st.code, st.details);
          callback(st);
        },
      );
  };
}

export function createProviderServer(provider: SecretsProvider, opts: ServerOptions): grpc.Server {
  const server = new grpc.Server({
    "grpc.max_receive_message_length": 4 * 1024 * 1024,
    // channelz bookkeeping cost ~2% of CPU per call in a 500-mount burst and nothing reads it.
    "grpc.enable_channelz": 0,
  });
  const api = loadProviderApi();
  const health = loadHealth();
  server.addService(api.v1alpha1.CSIDriverProvider.service, {
    Mount: unary<MountRequest__Output, MountResponse>("/v1alpha1.CSIDriverProvider/Mount", opts, async (req, ctx) => {
      const decoded = decodeMountRequest(req);
      const input: MountInputWithDeadline = { ...decoded, signal: ctx.signal, deadline: ctx.deadline };
      const out = await provider.mount(input);
      // MountResponse.error is never set: failures are gRPC errors (upstream).
      return {
        files: out.files.map((f) => ({ path: f.path, mode: f.mode, contents: f.contents })),
        object_version: out.objectVersions.map((o) => ({ id: o.id, version: o.version })),
      };
    }),
    Version: unary<unknown, VersionResponse>("/v1alpha1.CSIDriverProvider/Version", opts, () => {
      const v = provider.version();
      return { version: v.version, runtime_name: v.runtimeName, runtime_version: v.runtimeVersion };
    }),
  });
  server.addService(health.grpc.health.v1.Health.service, {
    Check: unary<unknown, HealthCheckResponse>("/grpc.health.v1.Health/Check", opts, () => ({ status: "SERVING" })),
    Watch: (call: grpc.ServerWritableStream<unknown, HealthCheckResponse>) =>
      call.destroy(Object.assign(new Error("method Watch not implemented"), { code: grpc.status.UNIMPLEMENTED })),
  });
  return server;
}

/** Binds the provider on `endpoint` (unix sockets: stale file removed, mode 0700). */
export async function startProviderServer(provider: SecretsProvider, endpoint: string, opts: ServerOptions): Promise<Serving> {
  return serve(createProviderServer(provider, opts), endpoint, { socketMode: 0o700 });
}

/** Dials `endpoint` and calls Health/Check; resolves when SERVING. Used by the healthz handler. */
export function checkHealth(endpoint: string, timeoutMs: number): Promise<void> {
  const health = loadHealth();
  const target = endpoint.startsWith("tcp://") ? endpoint.slice("tcp://".length) : endpoint;
  const client = new health.grpc.health.v1.Health(target, grpc.credentials.createInsecure(), {
    // Upstream dials the socket with authority localhost.
    "grpc.default_authority": "localhost",
    "grpc.enable_channelz": 0,
  });
  return new Promise<void>((resolve, reject) => {
    client.Check({ service: "" }, { deadline: Date.now() + timeoutMs }, (err, res) => {
      client.close();
      if (err) return reject(new Error(err.details || err.message));
      if (res?.status !== "SERVING") return reject(new Error(`service is not serving: ${res?.status}`));
      resolve();
    });
  });
}

/** A client for tests and tools; the driver has its own in src/driver. */
export function providerClient(endpoint: string) {
  const api = loadProviderApi();
  return new api.v1alpha1.CSIDriverProvider(endpoint, grpc.credentials.createInsecure(), {
    "grpc.default_authority": "localhost",
  });
}
