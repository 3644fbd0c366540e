// Errors raised by the Azure provider core. The message is the upstream text
// (so bats-style greps keep working) and must never carry a token or a secret
// value: callers pass names, versions and causes only.
export class ProviderError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ProviderError";
  }
}
