// Failure reasons as data: the upstream reason strings (pkg/errors) are the
// `error_type` metric label, so they must match exactly.
export const FailureReasons = [
  "FailedToEnsureMountPoint",
  "IncompatibleProviderVersion",
  "ProviderError",
  "FailedToMount",
  "SecretProviderClassNotFound",
  "FailedToLookupProviderGRPCClient",
  "GRPCProviderError",
  "FailedToRotate",
  "PodNotFound",
  "NodePublishSecretRefNotFound",
  "UnexpectedTargetPath",
  "PodVolumeNotFound",
  "FileWriteError",
] as const;

export type FailureReason = (typeof FailureReasons)[number];

/** gRPC status codes by name; the edge (rpc.ts) maps them to numbers. */
export type StatusCode =
  | "Cancelled"
  | "Unknown"
  | "InvalidArgument"
  | "DeadlineExceeded"
  | "NotFound"
  | "AlreadyExists"
  | "PermissionDenied"
  | "ResourceExhausted"
  | "FailedPrecondition"
  | "Aborted"
  | "Unimplemented"
  | "Internal"
  | "Unavailable";

/**
 * An error that carries the gRPC code kubelet will see. Errors without one
 * surface as Unknown, exactly as a plain Go error does upstream.
 */
export class CsiError extends Error {
  override name = "CsiError";
  constructor(
    readonly code: StatusCode,
    message: string,
    readonly reason?: FailureReason,
  ) {
    super(message);
  }
}

export const invalidArgument = (msg: string) => new CsiError("InvalidArgument", msg);

/** Code of an error for the wire: CsiError's own, else Unknown. */
export function codeOf(e: unknown): StatusCode {
  return e instanceof CsiError ? e.code : "Unknown";
}
