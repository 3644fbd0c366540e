// A small X.509 v3 writer. node-forge signs RSA certificates only and Node has
// no certificate builder, so the DER is assembled here with forge's ASN.1
// encoder and signed with node:crypto, which covers RSA and EC alike.
import { createHash, generateKeyPair, KeyObject, randomBytes, sign } from "node:crypto";
import { isIP } from "node:net";
import { promisify } from "node:util";
import forge from "node-forge";

const { asn1 } = forge;
const U = asn1.Class.UNIVERSAL;
const T = asn1.Type;

export type KeyType = "RSA" | "EC";
export type Curve = "P-256" | "P-384" | "P-521";

export interface KeySpec {
  kty: KeyType;
  /** RSA modulus bits; 2048 by default. */
  size?: number;
  /** EC curve; P-256 by default. */
  crv?: Curve;
}

const NODE_CURVE: Record<Curve, string> = { "P-256": "prime256v1", "P-384": "secp384r1", "P-521": "secp521r1" };
const EC_HASH: Record<Curve, { hash: string; oid: string }> = {
  "P-256": { hash: "sha256", oid: "1.2.840.10045.4.3.2" },
  "P-384": { hash: "sha384", oid: "1.2.840.10045.4.3.3" },
  "P-521": { hash: "sha512", oid: "1.2.840.10045.4.3.4" },
};

const generate = promisify(generateKeyPair);

export async function generateKey(spec: KeySpec): Promise<{ privateKey: KeyObject; publicKey: KeyObject }> {
  if (spec.kty === "RSA") return generate("rsa", { modulusLength: spec.size ?? 2048 });
  const crv = spec.crv ?? "P-256";
  const namedCurve = NODE_CURVE[crv];
  if (!namedCurve) throw new Error(`unsupported curve ${String(crv)}`);
  return generate("ec", { namedCurve });
}

export interface Name {
  CN: string;
  O?: string;
}

export interface CertificateSpec {
  subject: Name;
  issuer: Name;
  publicKey: KeyObject;
  /** Key of the issuer; equals the subject's key for a self-signed certificate. */
  signingKey: KeyObject;
  issuerPublicKey: KeyObject;
  notBefore: Date;
  notAfter: Date;
  ca: boolean;
  pathLen?: number;
  /** DNS names and IP addresses for subjectAltName. */
  sans?: string[];
  serverAuth?: boolean;
}

function oid(o: string): forge.asn1.Asn1 {
  return asn1.create(U, T.OID, false, asn1.oidToDer(o).getBytes());
}
function seq(items: forge.asn1.Asn1[]): forge.asn1.Asn1 {
  return asn1.create(U, T.SEQUENCE, true, items);
}
function octets(b: Buffer): forge.asn1.Asn1 {
  return asn1.create(U, T.OCTETSTRING, false, b.toString("binary"));
}
function fromDer(b: Buffer): forge.asn1.Asn1 {
  return asn1.fromDer(forge.util.createBuffer(b.toString("binary")));
}
export function toDer(a: forge.asn1.Asn1): Buffer {
  return Buffer.from(asn1.toDer(a).getBytes(), "binary");
}

function encodeName(n: Name): forge.asn1.Asn1 {
  const rdn = (o: string, v: string) =>
    asn1.create(U, T.SET, true, [seq([oid(o), asn1.create(U, T.UTF8, false, forge.util.encodeUtf8(v))])]);
  const parts = [];
  if (n.O) parts.push(rdn("2.5.4.10", n.O));
  parts.push(rdn("2.5.4.3", n.CN));
  return seq(parts);
}

function time(d: Date): forge.asn1.Asn1 {
  // RFC 5280: UTCTime through 2049, GeneralizedTime after.
  return d.getUTCFullYear() < 2050
    ? asn1.create(U, T.UTCTIME, false, asn1.dateToUtcTime(d))
    : asn1.create(U, T.GENERALIZEDTIME, false, asn1.dateToGeneralizedTime(d));
}

/** RFC 5280 method 1: SHA-1 of the subjectPublicKey BIT STRING contents. */
export function keyIdentifier(publicKey: KeyObject): Buffer {
  // forge would otherwise parse an RSA key's BIT STRING into ASN.1 children.
  const parse = forge.asn1.fromDer as unknown as (b: forge.util.ByteStringBuffer, o: object) => forge.asn1.Asn1;
  const spki = parse(forge.util.createBuffer(publicKey.export({ type: "spki", format: "der" }).toString("binary")), { decodeBitStrings: false });
  const bits = (spki.value as forge.asn1.Asn1[])[1]?.value;
  if (typeof bits !== "string" || bits.length < 2) throw new Error("cannot read subjectPublicKey");
  return createHash("sha1").update(Buffer.from(bits.slice(1), "binary")).digest();
}

function extension(id: string, critical: boolean, value: forge.asn1.Asn1): forge.asn1.Asn1 {
  const parts = [oid(id)];
  if (critical) parts.push(asn1.create(U, T.BOOLEAN, false, String.fromCharCode(0xff)));
  parts.push(octets(toDer(value)));
  return seq(parts);
}

function sanEntry(name: string): forge.asn1.Asn1 {
  const ctx = asn1.Class.CONTEXT_SPECIFIC;
  const ip = isIP(name);
  if (ip === 4) return asn1.create(ctx, 7, false, Buffer.from(name.split(".").map(Number)).toString("binary"));
  if (ip === 6) throw new Error("IPv6 SANs are not supported");
  return asn1.create(ctx, 2, false, name);
}

function signatureAlgorithm(key: KeyObject): { hash: string; alg: forge.asn1.Asn1 } {
  if (key.asymmetricKeyType === "rsa") {
    return { hash: "sha256", alg: seq([oid("1.2.840.113549.1.1.11"), asn1.create(U, T.NULL, false, "")]) };
  }
  const jwk = key.export({ format: "jwk" });
  const h = EC_HASH[jwk.crv as Curve];
  if (!h) throw new Error(`unsupported signing key ${String(jwk.crv)}`);
  return { hash: h.hash, alg: seq([oid(h.oid)]) };
}

/** Builds and signs a certificate; returns its DER. */
export function buildCertificate(spec: CertificateSpec): Buffer {
  const { hash, alg } = signatureAlgorithm(spec.signingKey);
  const serial = randomBytes(16);
  serial[0] = serial[0]! & 0x7f; // positive INTEGER
  const usage = spec.ca ? 0x06 : spec.publicKey.asymmetricKeyType === "rsa" ? 0xa0 : 0x80; // keyCertSign|cRLSign, or digitalSignature(|keyEncipherment)
  const basic = [asn1.create(U, T.BOOLEAN, false, String.fromCharCode(spec.ca ? 0xff : 0))];
  if (spec.ca && spec.pathLen !== undefined) basic.push(asn1.create(U, T.INTEGER, false, asn1.integerToDer(spec.pathLen).getBytes()));
  const exts = [
    extension("2.5.29.19", true, seq(spec.ca ? basic : [])),
    extension("2.5.29.15", true, asn1.create(U, T.BITSTRING, false, String.fromCharCode(spec.ca ? 1 : 5, usage))),
    extension("2.5.29.14", false, octets(keyIdentifier(spec.publicKey))),
    extension("2.5.29.35", false, seq([asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, false, keyIdentifier(spec.issuerPublicKey).toString("binary"))])),
  ];
  if (spec.serverAuth) exts.push(extension("2.5.29.37", false, seq([oid("1.3.6.1.5.5.7.3.1"), oid("1.3.6.1.5.5.7.3.2")])));
  if (spec.sans?.length) exts.push(extension("2.5.29.17", false, seq(spec.sans.map(sanEntry))));
  const tbs = seq([
    asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, true, [asn1.create(U, T.INTEGER, false, String.fromCharCode(2))]),
    asn1.create(U, T.INTEGER, false, serial.toString("binary")),
    alg,
    encodeName(spec.issuer),
    seq([time(spec.notBefore), time(spec.notAfter)]),
    encodeName(spec.subject),
    fromDer(spec.publicKey.export({ type: "spki", format: "der" })),
    asn1.create(asn1.Class.CONTEXT_SPECIFIC, 3, true, [seq(exts)]),
  ]);
  const tbsDer = toDer(tbs);
  const signature = sign(hash, tbsDer, spec.signingKey);
  return toDer(seq([fromDer(tbsDer), alg, asn1.create(U, T.BITSTRING, false, "\0" + signature.toString("binary"))]));
}

export function derToPem(der: Buffer, label = "CERTIFICATE"): string {
  const b64 = der.toString("base64").replace(/.{1,64}/g, "$&\n");
  return `-----BEGIN ${label}-----\n${b64}-----END ${label}-----\n`;
}

export interface GeneratedChain {
  /** Private key of the leaf. */
  key: KeyObject;
  publicKey: KeyObject;
  /** DER certificates, leaf first, root last. */
  certs: Buffer[];
}

const DAY = 86_400_000;

/** Generates a certificate chain of 1 (self-signed leaf), 2 (root → leaf) or
 * 3 (root → intermediate → leaf) certificates, all of the leaf's key type. */
export async function generateChain(opts: {
  key: KeySpec;
  chain?: 1 | 2 | 3;
  subject: string;
  sans?: string[];
  validityDays?: number;
  now?: Date;
}): Promise<GeneratedChain> {
  const length = opts.chain ?? 1;
  const now = opts.now ?? new Date();
  const notBefore = new Date(now.getTime() - 5 * 60_000);
  const notAfter = new Date(now.getTime() + (opts.validityDays ?? 365) * DAY);
  const leaf = await generateKey(opts.key);
  const leafName: Name = { CN: opts.subject };
  const leafSpec = (issuer: Name, signingKey: KeyObject, issuerPublicKey: KeyObject): CertificateSpec => ({
    subject: leafName, issuer, publicKey: leaf.publicKey, signingKey, issuerPublicKey,
    notBefore, notAfter, ca: false, sans: opts.sans ?? [opts.subject], serverAuth: true,
  });
  if (length === 1) {
    return { key: leaf.privateKey, publicKey: leaf.publicKey, certs: [buildCertificate(leafSpec(leafName, leaf.privateKey, leaf.publicKey))] };
  }
  const caValidTo = new Date(notAfter.getTime() + 365 * DAY);
  const root = await generateKey(opts.key);
  const rootName: Name = { CN: `${opts.subject} Root CA`, O: "akv-csi emulator" };
  const rootDer = buildCertificate({
    subject: rootName, issuer: rootName, publicKey: root.publicKey, signingKey: root.privateKey, issuerPublicKey: root.publicKey,
    notBefore, notAfter: caValidTo, ca: true,
  });
  if (length === 2) {
    return { key: leaf.privateKey, publicKey: leaf.publicKey, certs: [buildCertificate(leafSpec(rootName, root.privateKey, root.publicKey)), rootDer] };
  }
  const mid = await generateKey(opts.key);
  const midName: Name = { CN: `${opts.subject} Intermediate CA`, O: "akv-csi emulator" };
  const midDer = buildCertificate({
    subject: midName, issuer: rootName, publicKey: mid.publicKey, signingKey: root.privateKey, issuerPublicKey: root.publicKey,
    notBefore, notAfter: caValidTo, ca: true, pathLen: 0,
  });
  return {
    key: leaf.privateKey,
    publicKey: leaf.publicKey,
    certs: [buildCertificate(leafSpec(midName, mid.privateKey, mid.publicKey)), midDer, rootDer],
  };
}
