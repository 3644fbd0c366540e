// PKCS#12 → PEM the way upstream decodePKCS12 does it: empty password, every
// key re-encoded as PKCS#8 "PRIVATE KEY", bag attributes dropped, keys first
// then certificates, and the certificates optionally ordered leaf → root.
//
// Departure (more lenient): upstream's x/crypto/pkcs12 only reads the legacy
// SHA1/3DES/RC2 PFX with exactly two safes that Key Vault emits; node-forge
// also reads PBES2/AES (OpenSSL 3's default) and any number of safes, so a
// PFX imported into Key Vault from a modern tool converts too.
import { createPrivateKey } from "node:crypto";
import forge from "node-forge";
import { buildChain, derToAsn1 } from "./chain.js";
import { decodeStdBase64 } from "./encoding.js";
import { withNativeKdf } from "./kdf.js";
import { encodePem } from "./pem.js";

export interface Pkcs12Options {
  constructPemChain: boolean;
  warn: (msg: string) => void;
}

interface Bag {
  type: string;
  key?: forge.pki.PrivateKey | null;
  cert?: forge.pki.Certificate | null;
  asn1?: forge.asn1.Asn1;
}

/** base64 PFX (a Key Vault secret value) → PEM text. Errors carry no key material. */
export function pfxToPem(base64Value: string, opts: Pkcs12Options): string {
  const der = decodeStdBase64(base64Value);
  const bags = readBags(der);
  let keys = "";
  let certs = "";
  for (const bag of bags) {
    if (bag.type === forge.pki.oids.certBag) {
      certs += encodePem("CERTIFICATE", certDer(bag));
    } else if (bag.type === forge.pki.oids.keyBag || bag.type === forge.pki.oids.pkcs8ShroudedKeyBag) {
      keys += encodePem("PRIVATE KEY", pkcs8Der(bag));
    }
  }
  if (opts.constructPemChain) certs = buildChain(certs, opts.warn);
  return keys + certs;
}

/**
 * All bags in safe order. forge turns RSA keys and certificates into its own
 * objects (and would re-encode certificates); we make it keep the ASN.1 for
 * every bag by having its RSA-only parsers decline for the duration of this
 * synchronous call, so certificates keep their exact bytes and EC keys work.
 */
function readBags(der: Buffer): Bag[] {
  let asn1: forge.asn1.Asn1;
  try {
    asn1 = derToAsn1(der.toString("binary"));
  } catch {
    throw new Error("pkcs12: error decoding PFX: malformed ASN.1");
  }
  const pki = forge.pki as unknown as Record<string, unknown>;
  const saved = { key: pki.privateKeyFromAsn1, cert: pki.certificateFromAsn1 };
  const decline = () => {
    throw new Error("keep asn1");
  };
  pki.privateKeyFromAsn1 = decline;
  pki.certificateFromAsn1 = decline;
  try {
    let p12: forge.pkcs12.Pkcs12Pfx;
    try {
      p12 = withNativeKdf(() => forge.pkcs12.pkcs12FromAsn1(asn1, true, ""));
    } catch (first) {
      if (/iteration count/.test((first as Error).message)) throw first;
      // Some writers key the empty password as no bytes at all rather than a
      // NUL-terminated empty BMPString; x/crypto/pkcs12 retries the same way.
      try {
        p12 = withNativeKdf(() => forge.pkcs12.pkcs12FromAsn1(asn1, true, undefined as unknown as string));
      } catch {
        throw new Error(pkcs12Message(first), { cause: first });
      }
    }
    return p12.safeContents.flatMap((safe) => safe.safeBags as unknown as Bag[]);
  } finally {
    pki.privateKeyFromAsn1 = saved.key;
    pki.certificateFromAsn1 = saved.cert;
  }
}

/** x/crypto/pkcs12's text for a wrong password; forge's text otherwise. */
function pkcs12Message(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  if (/MAC could not be verified|wrong password/i.test(msg)) return "pkcs12: decryption password incorrect";
  return msg.startsWith("pkcs12:") ? msg : `pkcs12: ${msg}`;
}

function certDer(bag: Bag): Buffer {
  if (!bag.asn1) throw new Error("pkcs12: certificate bag without a certificate");
  return Buffer.from(forge.asn1.toDer(bag.asn1).getBytes(), "binary");
}

/** PrivateKeyInfo → PKCS#8 DER via node:crypto (validates RSA, EC and others alike). */
function pkcs8Der(bag: Bag): Buffer {
  if (!bag.asn1) throw new Error("failed to parse key for type pkcs1, pkcs8 or ec");
  const info = Buffer.from(forge.asn1.toDer(bag.asn1).getBytes(), "binary");
  try {
    return createPrivateKey({ key: info, format: "der", type: "pkcs8" }).export({ format: "der", type: "pkcs8" });
  } catch {
    throw new Error("failed to parse key for type pkcs1, pkcs8 or ec");
  }
}
