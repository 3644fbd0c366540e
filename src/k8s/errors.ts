// API errors as the API server reports them: a metav1.Status turned into an
// Error whose message is Status.message and whose reason is Status.reason, so
// callers branch on reason (NotFound, AlreadyExists, Conflict) and log texts
// that match what kubectl and upstream would print.

/** metav1.Status, the error body of every API server failure. */
export interface Status {
  kind?: "Status";
  apiVersion?: string;
  metadata?: Record<string, unknown>;
  status?: "Success" | "Failure";
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code?: number;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: { reason?: string; message?: string; field?: string }[];
  retryAfterSeconds?: number;
}

/** Reasons used when the body is not a Status (proxies, crashed servers) and
 * for client-side failures (status 0). */
const REASON_BY_CODE: Record<number, string> = {
  400: "BadRequest",
  401: "Unauthorized",
  403: "Forbidden",
  404: "NotFound",
  405: "MethodNotAllowed",
  406: "NotAcceptable",
  409: "Conflict",
  410: "Expired",
  413: "RequestEntityTooLarge",
  415: "UnsupportedMediaType",
  422: "Invalid",
  429: "TooManyRequests",
  500: "InternalError",
  503: "ServiceUnavailable",
  504: "Timeout",
};

export function reasonForCode(code: number): string {
  return REASON_BY_CODE[code] ?? (code >= 500 ? "InternalError" : "Unknown");
}

export class KubeError extends Error {
  override readonly name = "KubeError";
  /** HTTP status; 0 when no response arrived (timeout, connection failure). */
  readonly status: number;
  readonly reason: string;
  readonly details?: StatusDetails;
  /** Seconds the server asked us to wait (Retry-After or details.retryAfterSeconds). */
  readonly retryAfterSeconds?: number;
  /** For status 0: the system error code (ECONNREFUSED, ECONNRESET, ...), if any. */
  code?: string;
  /** For status 0: the request went out on a reused keep-alive socket. */
  reusedSocket?: boolean;

  constructor(status: number, reason: string, message: string, details?: StatusDetails, retryAfterSeconds?: number) {
    super(message);
    this.status = status;
    this.reason = reason;
    if (details !== undefined) this.details = details;
    const retry = retryAfterSeconds ?? details?.retryAfterSeconds;
    if (retry !== undefined) this.retryAfterSeconds = retry;
  }

  /** Builds the error from a response; `body` is the raw text (maybe a Status). */
  static fromResponse(status: number, body: string, retryAfter?: string): KubeError {
    const parsed = parseStatus(body);
    const reason = parsed?.reason || reasonForCode(status);
    const message =
      parsed?.message ||
      (body.trim() ? `the server responded with ${status}: ${body.trim().slice(0, 200)}` : `the server responded with ${status} (${reason})`);
    const retrySeconds = retryAfter !== undefined && /^\d+$/.test(retryAfter) ? Number(retryAfter) : undefined;
    return new KubeError(parsed?.code || status, reason, message, parsed?.details, retrySeconds);
  }

  /** From a watch ERROR event, whose object is a Status. */
  static fromStatus(s: Status): KubeError {
    const code = s.code ?? 500;
    return new KubeError(code, s.reason || reasonForCode(code), s.message || `watch error ${code}`, s.details);
  }
}

function parseStatus(body: string): Status | undefined {
  if (!body.startsWith("{")) return undefined;
  try {
    const v = JSON.parse(body) as Status;
    return v && v.kind === "Status" ? v : undefined;
  } catch {
    return undefined;
  }
}

const hasReason = (e: unknown, reason: string, code: number): boolean =>
  e instanceof KubeError && (e.reason === reason || (e.status === code && !e.reason));

export const isNotFound = (e: unknown): boolean => hasReason(e, "NotFound", 404);
export const isAlreadyExists = (e: unknown): boolean => hasReason(e, "AlreadyExists", 409);
export const isConflict = (e: unknown): boolean => hasReason(e, "Conflict", 409);
export const isForbidden = (e: unknown): boolean => hasReason(e, "Forbidden", 403);
export const isUnauthorized = (e: unknown): boolean => hasReason(e, "Unauthorized", 401);
/** 410: a watch or list asked for a resourceVersion the server no longer has. */
export const isGone = (e: unknown): boolean => e instanceof KubeError && (e.status === 410 || e.reason === "Expired" || e.reason === "Gone");
/** No response at all: connection refused or reset, DNS, TLS failure, or our timeout. */
export const isUnreachable = (e: unknown): boolean => e instanceof KubeError && e.status === 0;
export const isTimeout = (e: unknown): boolean => e instanceof KubeError && e.reason === "Timeout";
