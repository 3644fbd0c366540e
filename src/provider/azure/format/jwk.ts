// Key Vault JSON Web Key → public key PEM ("PUBLIC KEY", SPKI), as upstream
// getKey: RSA/RSA-HSM from n,e; EC/EC-HSM from x,y on P-256/384/521 only.
import { createPublicKey, type JsonWebKey } from "node:crypto";
import type { FetchedKey } from "../plan.js";
import { encodePem } from "./pem.js";

const CURVE_BYTES: Record<string, number> = { "P-256": 32, "P-384": 48, "P-521": 66 };

export function jwkToPublicPem(jwk: FetchedKey["jwk"]): string {
  let key: JsonWebKey;
  switch (jwk.kty) {
    case "RSA":
    case "RSA-HSM":
      key = { kty: "RSA", n: b64url(jwk.n), e: b64url(jwk.e) };
      break;
    case "EC":
    case "EC-HSM": {
      const size = CURVE_BYTES[jwk.crv ?? ""];
      if (size === undefined) throw new Error(`curve ${jwk.crv ?? ""} is not supported`);
      key = { kty: "EC", crv: jwk.crv, x: b64url(jwk.x, size), y: b64url(jwk.y, size) };
      break;
    }
    default:
      throw new Error(`failed to get key. key type '${jwk.kty}' currently not supported`);
  }
  let der: Buffer;
  try {
    der = createPublicKey({ key, format: "jwk" }).export({ type: "spki", format: "der" });
  } catch (err) {
    throw new Error(`invalid ${jwk.kty} public key: ${(err as Error).message}`, { cause: err });
  }
  return encodePem("PUBLIC KEY", der);
}

/** base64url of a JWK member; big-endian ints are left-padded to `size` (Go's SetBytes accepts short coordinates, JWK import does not). */
function b64url(v: Uint8Array | string | undefined, size?: number): string {
  let bytes = v === undefined ? Buffer.alloc(0) : typeof v === "string" ? Buffer.from(v, "base64url") : Buffer.from(v);
  if (size !== undefined) {
    while (bytes.length > size && bytes[0] === 0) bytes = bytes.subarray(1);
    if (bytes.length < size) bytes = Buffer.concat([Buffer.alloc(size - bytes.length), bytes]);
  }
  return bytes.toString("base64url");
}
