// Errors raised by the Azure provider core. The message is the upstream text
// (so bats-style greps keep working) and must never carry a token or a secret
// value: callers pass names, versions and causes only.
export class ProviderError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ProviderError";
  }
}

interface ObjectRef {
  objectType: string;
  objectName: string;
  objectVersion: string;
}

/** Upstream wrapObjectTypeError: "failed to get objectType:T, objectName:N, objectVersion:V: <cause>". */
export function wrapObjectError(obj: ObjectRef, cause: unknown): ProviderError {
  const text = cause instanceof Error ? cause.message : String(cause);
  return new ProviderError(
    `failed to get objectType:${obj.objectType}, objectName:${obj.objectName}, objectVersion:${obj.objectVersion}: ${text}`,
    { cause },
  );
}
