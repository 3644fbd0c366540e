// Builds real PKI fixtures with the openssl CLI in a temp dir: an RSA and an
// EC chain root → intermediate → leaf, and PFX files (OpenSSL 3 default
// PBES2/AES, and -legacy RC2/3DES) with an empty password.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Chain {
  dir: string;
  /** PEM text of each certificate as openssl wrote it. */
  root: string;
  int: string;
  leaf: string;
  leafKeyPath: string;
  /** base64 of a PFX holding leaf key + certs in the order root, leaf, int. */
  pfxModern: string;
  pfxLegacy: string;
  /** leaf + root only (intermediate missing). */
  pfxIncomplete: string;
}

export function openssl(args: string[], cwd: string, input?: string | Buffer): Buffer {
  return execFileSync("openssl", args, { cwd, input, timeout: 20_000, stdio: ["pipe", "pipe", "pipe"] });
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "akv-azure-fmt-"));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export function makeChain(dir: string, kind: "rsa" | "ec"): Chain {
  const keyArgs = kind === "rsa" ? ["-newkey", "rsa:2048"] : ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"];
  const p = (n: string) => `${kind}-${n}`;
  writeFileSync(join(dir, "ca.ext"), "basicConstraints=critical,CA:TRUE\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n");
  writeFileSync(join(dir, "leaf.ext"), "basicConstraints=CA:FALSE\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n");
  openssl(["req", "-x509", ...keyArgs, "-nodes", "-keyout", p("root.key"), "-out", p("root.crt"), "-subj", `/CN=${kind} root`, "-days", "2"], dir);
  const issue = (name: string, ca: string, ext: string) => {
    openssl(["req", ...keyArgs, "-nodes", "-keyout", p(`${name}.key`), "-out", p(`${name}.csr`), "-subj", `/CN=${kind} ${name}`], dir);
    openssl(["x509", "-req", "-in", p(`${name}.csr`), "-CA", p(`${ca}.crt`), "-CAkey", p(`${ca}.key`), "-CAcreateserial", "-out", p(`${name}.crt`), "-days", "2", "-extfile", ext], dir);
  };
  issue("int", "root", "ca.ext");
  issue("leaf", "int", "leaf.ext");
  const read = (n: string) => readFileSync(join(dir, n), "utf8");
  // root first, then leaf, then intermediate: the chain builder has to reorder.
  writeFileSync(join(dir, p("shuffled.pem")), read(p("root.crt")) + read(p("leaf.crt")) + read(p("int.crt")));
  writeFileSync(join(dir, p("incomplete.pem")), read(p("root.crt")) + read(p("leaf.crt")));
  const pfx = (out: string, certs: string, legacy: boolean) => {
    openssl(["pkcs12", "-export", ...(legacy ? ["-legacy"] : []), "-inkey", p("leaf.key"), "-in", certs, "-passout", "pass:", "-out", out], dir);
    return readFileSync(join(dir, out)).toString("base64");
  };
  return {
    dir,
    root: read(p("root.crt")),
    int: read(p("int.crt")),
    leaf: read(p("leaf.crt")),
    leafKeyPath: join(dir, p("leaf.key")),
    pfxModern: pfx(p("modern.pfx"), p("shuffled.pem"), false),
    pfxLegacy: pfx(p("legacy.pfx"), p("shuffled.pem"), true),
    pfxIncomplete: pfx(p("incomplete.pfx"), p("incomplete.pem"), false),
  };
}

/** DER of every certificate in a PEM text, via openssl. */
export function certsDer(pem: string, dir: string): string[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n?/g) ?? [];
  return blocks.map((b) => openssl(["x509", "-outform", "DER"], dir, b).toString("hex"));
}

/** SPKI DER (hex) of a private or public key PEM, via openssl. */
export function publicDer(pem: string, dir: string, isPublic = false): string {
  const args = isPublic ? ["pkey", "-pubin", "-pubout", "-outform", "DER"] : ["pkey", "-pubout", "-outform", "DER"];
  return openssl(args, dir, pem).toString("hex");
}
