// The emulator's own CA and its HTTPS server certificate. With a state dir
// the CA is kept (ca.pem + ca-key.pem, 0600) so clients that trust it keep
// working across restarts; the server certificate is always fresh.
import { createPrivateKey, createPublicKey, KeyObject } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildCertificate, derToPem, generateKey, Name } from "./x509.js";

export interface TlsMaterial {
  caPem: string;
  certPem: string;
  keyPem: string;
}

const CA_NAME: Name = { CN: "akv-csi emulator CA", O: "akv-csi emulator" };
const DAY = 86_400_000;

async function loadOrCreateCa(stateDir: string | undefined): Promise<{ key: KeyObject; pub: KeyObject; pem: string }> {
  const certFile = stateDir ? join(stateDir, "ca.pem") : undefined;
  const keyFile = stateDir ? join(stateDir, "ca-key.pem") : undefined;
  if (certFile && keyFile && existsSync(certFile) && existsSync(keyFile)) {
    const key = createPrivateKey(readFileSync(keyFile));
    return { key, pub: createPublicKey(key), pem: readFileSync(certFile, "utf8") };
  }
  const { privateKey, publicKey } = await generateKey({ kty: "EC", crv: "P-256" });
  const now = Date.now();
  const der = buildCertificate({
    subject: CA_NAME, issuer: CA_NAME, publicKey, signingKey: privateKey, issuerPublicKey: publicKey,
    notBefore: new Date(now - 3_600_000), notAfter: new Date(now + 3650 * DAY), ca: true, pathLen: 0,
  });
  const pem = derToPem(der);
  if (keyFile) writeFileSync(keyFile, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
  return { key: privateKey, pub: publicKey, pem };
}

export async function createTlsMaterial(opts: { stateDir?: string; hostnames: string[] }): Promise<TlsMaterial> {
  const ca = await loadOrCreateCa(opts.stateDir);
  const { privateKey, publicKey } = await generateKey({ kty: "EC", crv: "P-256" });
  const now = Date.now();
  const der = buildCertificate({
    subject: { CN: opts.hostnames[0] ?? "localhost" }, issuer: CA_NAME, publicKey, signingKey: ca.key, issuerPublicKey: ca.pub,
    notBefore: new Date(now - 3_600_000), notAfter: new Date(now + 397 * DAY), ca: false, sans: opts.hostnames, serverAuth: true,
  });
  return { caPem: ca.pem, certPem: derToPem(der), keyPem: privateKey.export({ type: "pkcs8", format: "pem" }) as string };
}
