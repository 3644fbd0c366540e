// Upstream fetchCertChains: order a PFX's certificates leaf → intermediates →
// root by matching each certificate's Authority Key Identifier to another's
// Subject Key Identifier. When the links do not cover every certificate the
// original order is kept (#1701) and a warning is reported.
import forge from "node-forge";
import { decodePemBlocks, encodePem } from "./pem.js";

export const INCOMPLETE_CHAIN_WARNING =
  "certificate chain is not complete due to missing intermediate/root certificates in the cert from key vault";

interface KeyIds {
  /** undefined = extension or field absent (Go nil). */
  ski: Buffer | undefined;
  aki: Buffer | undefined;
}

const OID_SKI = "2.5.29.14";
const OID_AKI = "2.5.29.35";

/** SKI and AKI keyIdentifier of a DER certificate, or throws a parse error. */
export function keyIdentifiers(der: Uint8Array): KeyIds {
  let cert: forge.asn1.Asn1;
  try {
    cert = derToAsn1(Buffer.from(der).toString("binary"));
  } catch {
    throw new Error("x509: malformed certificate");
  }
  const tbs = children(cert)[0];
  if (!tbs || !Array.isArray(tbs.value)) throw new Error("x509: malformed tbs certificate");
  const ids: KeyIds = { ski: undefined, aki: undefined };
  const extsWrapper = children(tbs).find((n) => isContext(n, 3));
  const exts = extsWrapper ? children(children(extsWrapper)[0]) : [];
  for (const ext of exts) {
    const parts = children(ext);
    const oidNode = parts[0];
    const valueNode = parts[parts.length - 1];
    if (!oidNode || !valueNode || typeof valueNode.value !== "string") continue;
    const oid = forge.asn1.derToOid(oidNode.value as string);
    if (oid !== OID_SKI && oid !== OID_AKI) continue;
    let inner: forge.asn1.Asn1;
    try {
      inner = derToAsn1(valueNode.value);
    } catch {
      throw new Error("x509: invalid key identifier extension");
    }
    if (oid === OID_SKI) {
      if (typeof inner.value !== "string") throw new Error("x509: invalid subject key identifier");
      ids.ski = Buffer.from(inner.value, "binary");
    } else {
      const keyId = children(inner).find((n) => isContext(n, 0));
      if (keyId && typeof keyId.value === "string") ids.aki = Buffer.from(keyId.value, "binary");
    }
  }
  return ids;
}

/** forge's fromDer with BIT STRING contents left alone (the typings only know the boolean form). */
export function derToAsn1(binary: string): forge.asn1.Asn1 {
  const fromDer = forge.asn1.fromDer as unknown as (b: forge.util.ByteStringBuffer, o: object) => forge.asn1.Asn1;
  return fromDer(forge.util.createBuffer(binary), { strict: true, decodeBitStrings: false });
}

function isContext(n: forge.asn1.Asn1, tag: number): boolean {
  return (n.tagClass as number) === (forge.asn1.Class.CONTEXT_SPECIFIC as number) && (n.type as number) === tag;
}

function children(n: forge.asn1.Asn1 | undefined): forge.asn1.Asn1[] {
  return n && Array.isArray(n.value) ? n.value : [];
}

/** Orders the CERTIFICATE blocks of `pem` leaf first; returns `pem` unchanged when the chain is incomplete. */
export function buildChain(pem: string, warn: (msg: string) => void): string {
  const certs = decodePemBlocks(pem).map((b) => ({ der: b.bytes, ...keyIdentifiers(b.bytes) }));
  const parent: (number | undefined)[] = new Array<number | undefined>(certs.length).fill(undefined);
  const isParent: boolean[] = new Array<boolean>(certs.length).fill(false);
  for (let i = 0; i < certs.length; i++) {
    for (let j = 0; j < certs.length; j++) {
      if (i === j) continue;
      const { aki } = certs[i]!;
      const { ski } = certs[j]!;
      // A leaf's SKI is optional (RFC 3280); nil on both sides is no link.
      if (aki === undefined && ski === undefined) continue;
      if ((aki ?? Buffer.alloc(0)).equals(ski ?? Buffer.alloc(0))) {
        isParent[j] = true;
        parent[i] = j;
        break;
      }
    }
  }
  const leaf = isParent.findIndex((p) => !p);
  if (leaf < 0) throw new Error("no leaf found");
  const order: number[] = [];
  for (let n: number | undefined = leaf; n !== undefined; n = parent[n]) {
    if (order.length >= certs.length) throw new Error("constructing chain resulted in cycle");
    order.push(n);
  }
  if (order.length !== certs.length) {
    warn(INCOMPLETE_CHAIN_WARNING);
    return pem;
  }
  return order.map((i) => encodePem("CERTIFICATE", certs[i]!.der)).join("");
}
