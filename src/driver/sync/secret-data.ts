// Turns a secretObjects entry plus the mounted files into Secret data, as
// upstream does: every objectName must be a mounted file; for
// kubernetes.io/tls, `tls.crt` keeps only CERTIFICATE blocks and `tls.key`
// is re-encoded as PKCS#1 (RSA) or SEC1 (EC); PKCS#12 files are opened with
// an empty password.
import { createPrivateKey, type KeyObject } from "node:crypto";
import { promises as fs } from "node:fs";
import type Forge from "node-forge";
import type { SecretObject } from "../../k8s/types.js";

export const TLS_TYPE = "kubernetes.io/tls";

export function validateSecretObject(o: SecretObject): void {
  if (!o.secretName?.trim()) throw new Error("secret name is empty");
  if (!o.type?.trim()) throw new Error("secret type is empty");
  if (!o.data || o.data.length === 0) throw new Error("data is empty");
}

interface PemBlock {
  type: string;
  der: Buffer;
}

function pemBlocks(text: string): PemBlock[] {
  const out: PemBlock[] = [];
  const re = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    out.push({ type: m[1]!, der: Buffer.from(m[2]!.replace(/[^A-Za-z0-9+/=]/g, ""), "base64") });
  }
  return out;
}

function pem(type: string, der: Buffer): string {
  const b64 = der.toString("base64").replace(/(.{64})/g, "$1\n");
  return `-----BEGIN ${type}-----\n${b64}${b64.endsWith("\n") ? "" : "\n"}-----END ${type}-----\n`;
}

/** PEM blocks inside a password-less PKCS#12 file. */
function pkcs12Blocks(data: Buffer): PemBlock[] {
  // Loaded on first use: only TLS sync of a PFX file needs it, and it is large.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const forge = require("node-forge") as typeof Forge;
  let p12;
  try {
    const asn1 = forge.asn1.fromDer(forge.util.createBuffer(data.toString("binary")));
    p12 = forge.pkcs12.pkcs12FromAsn1(asn1, false, "");
  } catch (e) {
    throw new Error(`pkcs12: ${(e as Error).message}`, { cause: e });
  }
  const out: PemBlock[] = [];
  const der = (a: Forge.asn1.Asn1) => Buffer.from(forge.asn1.toDer(a).getBytes(), "binary");
  for (const sc of p12.safeContents)
    for (const bag of sc.safeBags) {
      if (bag.cert)
        out.push({ type: "CERTIFICATE", der: der(forge.pki.certificateToAsn1(bag.cert)) });
      else if (bag.key)
        out.push({
          type: "PRIVATE KEY",
          der: der(forge.pki.wrapRsaPrivateKey(forge.pki.privateKeyToAsn1(bag.key))),
        });
    }
  return out;
}

function tlsCert(content: Buffer): Buffer {
  let certs = pemBlocks(content.toString("latin1")).filter((b) => b.type === "CERTIFICATE");
  if (certs.length === 0) certs = pkcs12Blocks(content).filter((b) => b.type === "CERTIFICATE");
  return Buffer.from(certs.map((b) => pem("CERTIFICATE", b.der)).join(""));
}

function tlsKey(content: Buffer): Buffer {
  let der = pemBlocks(content.toString("latin1"))
    .filter((b) => b.type !== "CERTIFICATE")
    .pop()?.der;
  if (!der)
    der = pkcs12Blocks(content)
      .filter((b) => b.type === "PRIVATE KEY")
      .pop()?.der;
  if (!der) throw new Error("no private key found");
  let key: KeyObject | undefined;
  for (const type of ["pkcs8", "pkcs1", "sec1"] as const) {
    try {
      key = createPrivateKey({ key: der, format: "der", type });
      break;
    } catch {
      /* try the next encoding */
    }
  }
  if (!key) throw new Error("failed to parse private key: not PKCS#1, PKCS#8 or SEC1");
  if (key.asymmetricKeyType === "rsa")
    return Buffer.from(key.export({ format: "pem", type: "pkcs1" }));
  if (key.asymmetricKeyType === "ec")
    return Buffer.from(key.export({ format: "pem", type: "sec1" }));
  throw new Error(
    "unknown private key type found while getting key. Only rsa and ecdsa are supported",
  );
}

/** The data map for one secretObjects entry (values are raw bytes). */
export async function secretData(
  o: SecretObject,
  files: Map<string, string>,
): Promise<Record<string, Buffer>> {
  const type = o.type.trim();
  const out: Record<string, Buffer> = {};
  for (const d of o.data ?? []) {
    const objectName = (d.objectName ?? "").trim();
    const key = (d.key ?? "").trim();
    if (!objectName) throw new Error("object name in secretObjects.data is empty");
    if (!key) throw new Error("key in secretObjects.data is empty");
    const file = files.get(objectName);
    if (!file) throw new Error(`file matching objectName ${objectName} not found in the pod`);
    let content: Buffer;
    try {
      content = await fs.readFile(file);
    } catch (e) {
      throw new Error(`failed to read file ${objectName}, err: ${(e as Error).message}`, {
        cause: e,
      });
    }
    if (type === TLS_TYPE) {
      try {
        if (key === "tls.key") content = tlsKey(content);
        else if (key === "tls.crt") content = tlsCert(content);
        else
          throw new Error(
            `key '${key}' is not supported. Only 'tls.key' and 'tls.crt' are supported`,
          );
      } catch (e) {
        throw new Error(
          `failed to get cert data from file ${objectName}, err: ${(e as Error).message}`,
          { cause: e },
        );
      }
    }
    out[key] = content;
  }
  return out;
}
