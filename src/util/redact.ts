// Redaction used by the logger, the RPC wrapper and error texts. Keys are
// matched by name (any depth); values under them are replaced, never echoed.
export const STRIPPED = "***stripped***";

const SENSITIVE_KEY =
  /(^|[._/-])(secrets?|token|tokens|access_token|refresh_token|id_token|password|passwd|clientsecret|client_secret|client_assertion|assertion|authorization|contents|value|serviceaccount\.tokens)$/i;

/** Keys whose values are never written anywhere. */
export function isSensitiveKey(key: string): boolean {
  return SENSITIVE_KEY.test(key);
}

/** Registered literal values (tokens, secret values) scrubbed from any string. */
const literals = new Set<string>();

/** Registers a value that must never appear in output (e.g. a bearer token).
 * Short values are ignored: they would scrub ordinary words. */
export function registerSecretValue(v: string | undefined): void {
  if (v && v.length >= 8) literals.add(v);
  if (literals.size > 4096) literals.delete(literals.values().next().value as string);
}

function scrubString(s: string): string {
  if (literals.size === 0) return s;
  let out = s;
  for (const lit of literals) if (out.includes(lit)) out = out.split(lit).join(STRIPPED);
  return out;
}

export function redact(v: unknown, depth = 0): unknown {
  if (typeof v === "string") return scrubString(v);
  if (v === null || typeof v !== "object" || depth > 8) return v;
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return `<${v.length} bytes>`;
  if (Array.isArray(v)) return v.map((x) => redact(x, depth + 1));
  if (v instanceof Error) return scrubString(v.message);
  const out: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
    out[k] =
      isSensitiveKey(k) && val !== null && val !== undefined && val !== ""
        ? STRIPPED
        : redact(val, depth + 1);
  }
  return out;
}
