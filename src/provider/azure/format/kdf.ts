// Native (node:crypto) versions of the two key-derivation functions node-forge
// runs in pure JavaScript while reading a PFX: the PKCS#12 KDF (RFC 7292
// Appendix B.2, used for the MAC and the legacy 3DES/RC2 PBE) and PBKDF2 (PBES2).
// In JavaScript one 2048-iteration PFX took 60–190 ms of blocked event loop;
// natively it takes a few milliseconds. An iteration cap bounds the work a
// hostile PFX can demand (departure: upstream has none).
import { createHash, pbkdf2Sync } from "node:crypto";
import forge from "node-forge";

export const MAX_KDF_ITERATIONS = 1_000_000;

interface ForgeMd {
  algorithm: string;
  digestLength: number;
  blockLength: number;
}

type Bytes = string | forge.util.ByteStringBuffer;

const binary = (b: Bytes): Buffer => Buffer.from(typeof b === "string" ? b : b.bytes(), "binary");

function checkIterations(iter: number): void {
  if (!(iter >= 1)) throw new Error("pkcs12: key derivation iteration count must be >= 1");
  if (iter > MAX_KDF_ITERATIONS) throw new Error(`pkcs12: key derivation iteration count ${iter} exceeds the limit of ${MAX_KDF_ITERATIONS}`);
}

/** RFC 7292 B.2 with a BMPString password (NUL-terminated; null = no password bytes at all). */
export function pkcs12Kdf(password: string | null | undefined, salt: Bytes, id: number, iter: number, n: number, md?: ForgeMd): forge.util.ByteStringBuffer {
  checkIterations(iter);
  const alg = md?.algorithm ?? "sha1";
  const u = md?.digestLength ?? 20;
  const v = md?.blockLength ?? 64;
  let pass = Buffer.alloc(0);
  if (password !== null && password !== undefined) {
    pass = Buffer.alloc(password.length * 2 + 2);
    for (let i = 0; i < password.length; i++) pass.writeUInt16BE(password.charCodeAt(i), i * 2);
  }
  const s = binary(salt);
  const repeat = (src: Buffer, len: number) => {
    const out = Buffer.alloc(len);
    for (let i = 0; i < len; i++) out[i] = src[i % src.length]!;
    return out;
  };
  const D = Buffer.alloc(v, id);
  const I = Buffer.concat([repeat(s, v * Math.ceil(s.length / v)), repeat(pass, v * Math.ceil(pass.length / v))]);
  const out: Buffer[] = [];
  for (let produced = 0; produced < n; produced += u) {
    let A = createHash(alg).update(D).update(I).digest();
    for (let r = 1; r < iter; r++) A = createHash(alg).update(A).digest();
    out.push(A);
    const B = repeat(A, v);
    // Ij = (Ij + B + 1) mod 2^(8v) for every v-byte block of I.
    for (let j = 0; j < I.length; j += v) {
      let carry = 1;
      for (let k = v - 1; k >= 0; k--) {
        const sum = I[j + k]! + B[k]! + carry;
        I[j + k] = sum & 0xff;
        carry = sum >> 8;
      }
    }
  }
  return forge.util.createBuffer(Buffer.concat(out).subarray(0, n).toString("binary"));
}

/** forge.pkcs5.pbkdf2's synchronous form, natively. */
export function pbkdf2(password: string, salt: Bytes, iter: number, dkLen: number, md?: ForgeMd | string): string {
  checkIterations(iter);
  const alg = typeof md === "string" ? md : (md?.algorithm ?? "sha1");
  return pbkdf2Sync(Buffer.from(password, "binary"), binary(salt), iter, dkLen, alg).toString("binary");
}

/** Runs `fn` (synchronous) with forge's KDFs swapped for the native ones. */
export function withNativeKdf<T>(fn: () => T): T {
  const pbe = (forge.pki as unknown as { pbe: Record<string, unknown> }).pbe;
  const p12 = forge.pkcs12 as unknown as Record<string, unknown>;
  const pkcs5 = forge.pkcs5 as unknown as Record<string, unknown>;
  const saved = { pbe: pbe.generatePkcs12Key, p12: p12.generateKey, pbkdf2: pkcs5.pbkdf2 };
  pbe.generatePkcs12Key = pkcs12Kdf;
  p12.generateKey = pkcs12Kdf;
  pkcs5.pbkdf2 = pbkdf2;
  try {
    return fn();
  } finally {
    pbe.generatePkcs12Key = saved.pbe;
    p12.generateKey = saved.p12;
    pkcs5.pbkdf2 = saved.pbkdf2;
  }
}
