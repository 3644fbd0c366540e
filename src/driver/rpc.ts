// The one wrapper every CSI RPC goes through: request/response logging at
// V(5) with secrets and tokens stripped (CVE-2023-2878), CsiError → gRPC
// status, and any other error → Unknown with its message, as a Go error does.
import * as grpc from "@grpc/grpc-js";
import type { Logger } from "../util/logger.js";
import { STRIPPED, redact } from "../util/redact.js";
import { codeOf, type StatusCode } from "./errors.js";

const CODES: Record<StatusCode, grpc.status> = {
  Cancelled: grpc.status.CANCELLED,
  Unknown: grpc.status.UNKNOWN,
  InvalidArgument: grpc.status.INVALID_ARGUMENT,
  DeadlineExceeded: grpc.status.DEADLINE_EXCEEDED,
  NotFound: grpc.status.NOT_FOUND,
  AlreadyExists: grpc.status.ALREADY_EXISTS,
  PermissionDenied: grpc.status.PERMISSION_DENIED,
  ResourceExhausted: grpc.status.RESOURCE_EXHAUSTED,
  FailedPrecondition: grpc.status.FAILED_PRECONDITION,
  Aborted: grpc.status.ABORTED,
  Unimplemented: grpc.status.UNIMPLEMENTED,
  Internal: grpc.status.INTERNAL,
  Unavailable: grpc.status.UNAVAILABLE,
};

/** Upstream sanitizeRequest: drop `secrets`, mask the token entry of the volume context. */
export function sanitizeRequest(req: unknown): unknown {
  if (!req || typeof req !== "object") return req;
  const r = { ...(req as Record<string, unknown>) };
  if ("secrets" in r) r.secrets = STRIPPED;
  const vc = r.volume_context;
  if (vc && typeof vc === "object") {
    const copy = { ...(vc as Record<string, string>) };
    if ("csi.storage.k8s.io/serviceAccount.tokens" in copy)
      copy["csi.storage.k8s.io/serviceAccount.tokens"] = STRIPPED;
    r.volume_context = copy;
  }
  return redact(r);
}

export type Handler<Req, Res> = (
  req: Req,
  call: { signal: AbortSignal; deadline?: Date },
) => Promise<Res>;

export function wrapUnary<Req, Res>(
  method: string,
  log: Logger,
  fn: Handler<Req, Res>,
): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    const ac = new AbortController();
    call.on("cancelled", () => ac.abort(new Error("call cancelled")));
    const deadline = call.getDeadline();
    const deadlineDate =
      deadline instanceof Date
        ? deadline
        : Number.isFinite(deadline)
          ? new Date(deadline)
          : undefined;
    log.v(5).info("GRPC call", { method, request: sanitizeRequest(call.request) });
    const started = Date.now();
    fn(call.request, { signal: ac.signal, deadline: deadlineDate }).then(
      (res) => {
        log
          .v(5)
          .info("GRPC response", {
            method,
            response: redact(res),
            elapsed: `${Date.now() - started}ms`,
          });
        callback(null, res);
      },
      (e: unknown) => {
        const code = codeOf(e);
        const details = redact(e instanceof Error ? e.message : String(e)) as string;
        log.error("GRPC error", undefined, { method, code, err: details });
        callback({ code: CODES[code], details, name: code, message: details });
      },
    );
  };
}
