// Compact JWT helpers for the emulator's Entra ID stand-in. Access tokens are
// HS256-signed with a key that lives only in the emulator process, so the
// vault endpoints can tell their own tokens from anything else. Client
// assertions (service-account tokens) are only checked for shape and claims:
// the emulator has no way to fetch the real issuer's keys.
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

export type JwtClaims = Record<string, unknown>;

export interface DecodedJwt {
  header: Record<string, unknown>;
  payload: JwtClaims;
  signingInput: string;
  signature: string;
}

export class JwtError extends Error {
  override name = "JwtError";
}

export function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString("base64url");
}

function parseSegment(seg: string, what: string): Record<string, unknown> {
  if (!/^[A-Za-z0-9_-]+$/.test(seg)) throw new JwtError(`${what} is not base64url`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(seg, "base64url").toString("utf8"));
  } catch {
    throw new JwtError(`${what} is not JSON`);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new JwtError(`${what} is not a JSON object`);
  return parsed as Record<string, unknown>;
}

/** Splits and parses a compact JWS without verifying it. */
export function decodeJwt(token: string): DecodedJwt {
  const parts = token.split(".");
  if (parts.length !== 3) throw new JwtError("JWT must have three segments");
  const [h, p, s] = parts as [string, string, string];
  return { header: parseSegment(h, "JWT header"), payload: parseSegment(p, "JWT payload"), signingInput: `${h}.${p}`, signature: s };
}

/** An unsigned (alg "none") JWT; good enough for a test service-account token. */
export function unsignedJwt(payload: JwtClaims): string {
  return `${b64url(JSON.stringify({ alg: "none", typ: "JWT" }))}.${b64url(JSON.stringify(payload))}.`;
}

/** Issues and verifies HS256 tokens with a per-instance random key. */
export class TokenSigner {
  private readonly key: Buffer;

  constructor(key?: Buffer) {
    this.key = key ?? randomBytes(32);
  }

  sign(payload: JwtClaims): string {
    const input = `${b64url(JSON.stringify({ alg: "HS256", typ: "JWT" }))}.${b64url(JSON.stringify(payload))}`;
    return `${input}.${this.mac(input)}`;
  }

  /** Returns the claims of a token this signer issued and that has not expired. */
  verify(token: string, nowSeconds = Math.floor(Date.now() / 1000)): JwtClaims {
    const d = decodeJwt(token);
    if (d.header.alg !== "HS256") throw new JwtError("token was not issued by this emulator");
    const want = Buffer.from(this.mac(d.signingInput));
    const got = Buffer.from(d.signature);
    if (want.length !== got.length || !timingSafeEqual(want, got)) throw new JwtError("token signature is invalid");
    const exp = d.payload.exp;
    if (typeof exp !== "number" || exp <= nowSeconds) throw new JwtError("token is expired");
    return d.payload;
  }

  private mac(input: string): string {
    return createHmac("sha256", this.key).update(input).digest("base64url");
  }
}

export const TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange";

export interface AssertionCheck {
  ok: boolean;
  /** AADSTS-style description when not ok. */
  code?: number;
  description?: string;
  payload?: JwtClaims;
}

/** Validates a federated client assertion (a Kubernetes service-account token)
 * the way Entra does before matching it to a federated credential: shape,
 * validity window (5 min skew) and the token-exchange audience. */
export function checkFederatedAssertion(assertion: string, nowSeconds = Math.floor(Date.now() / 1000)): AssertionCheck {
  let d: DecodedJwt;
  try {
    d = decodeJwt(assertion);
  } catch {
    return { ok: false, code: 50027, description: "AADSTS50027: JWT token is invalid or malformed." };
  }
  const { exp, nbf, aud, sub } = d.payload;
  const skew = 300;
  if (typeof exp !== "number" || exp + skew <= nowSeconds || (typeof nbf === "number" && nbf - skew > nowSeconds)) {
    return { ok: false, code: 700024, description: "AADSTS700024: Client assertion is not within its valid time range." };
  }
  const audiences = Array.isArray(aud) ? aud : [aud];
  if (!audiences.includes(TOKEN_EXCHANGE_AUDIENCE)) {
    return {
      ok: false,
      code: 700212,
      description: `AADSTS700212: No matching federated identity record found for presented assertion audience '${audiences.map(String).join(",")}'.`,
    };
  }
  if (typeof sub !== "string" || sub === "") {
    return { ok: false, code: 50027, description: "AADSTS50027: JWT token is invalid or malformed." };
  }
  return { ok: true, payload: d.payload };
}
