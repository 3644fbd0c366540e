// Content of a `secret` object (upstream getSecret): certificate-backed
// secrets (a kid is set) are converted by content type; everything else is
// returned exactly as stored.
import type { FetchedSecret } from "../plan.js";
import { pfxToPem, type Pkcs12Options } from "./pkcs12.js";
import { decodePemBlocks, encodeBlock } from "./pem.js";

export const CONTENT_TYPE_PEM = "application/x-pem-file";
export const CONTENT_TYPE_PFX = "application/x-pkcs12";

export interface SecretPart {
  suffix: "" | ".crt" | ".key";
  content: string;
}

export interface SecretContentOptions extends Pkcs12Options {
  objectFormat: string;
  writeCertAndKeyInSeparateFiles: boolean;
}

/** The text parts of one secret in upstream order: `.crt`, `.key` (flag on, cert-backed only), then the main file. */
export function secretContent(s: FetchedSecret, opts: SecretContentOptions): SecretPart[] {
  if (!s.kid) return [{ suffix: "", content: s.value }];
  let content = s.value;
  // Upstream dereferences a nil content type and crashes; we report it as unknown.
  const type = s.contentType ?? "";
  if (type === CONTENT_TYPE_PFX) {
    if (opts.objectFormat.toLowerCase() !== "pfx") content = pfxToPem(s.value, opts);
  } else if (type !== CONTENT_TYPE_PEM) {
    throw new Error(`failed to get certificate. unknown content type '${type}'`);
  }
  const parts: SecretPart[] = [];
  if (opts.writeCertAndKeyInSeparateFiles) {
    const { cert, key } = splitCertAndKey(content);
    parts.push({ suffix: ".crt", content: cert }, { suffix: ".key", content: key });
  }
  parts.push({ suffix: "", content });
  return parts;
}

/** Upstream splitCertAndKey: CERTIFICATE blocks to one string, every other block to the other. */
export function splitCertAndKey(content: string): { cert: string; key: string } {
  let cert = "";
  let key = "";
  for (const block of decodePemBlocks(content)) {
    if (block.type === "CERTIFICATE") cert += encodeBlock(block);
    else key += encodeBlock(block);
  }
  return { cert, key };
}
