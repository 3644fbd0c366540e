import { createPrivateKey, generateKeyPairSync } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { buildChain, INCOMPLETE_CHAIN_WARNING } from "../../../../src/provider/azure/format/chain.js";
import { decodeHex, decodeStdBase64 } from "../../../../src/provider/azure/format/encoding.js";
import { jwkToPublicPem } from "../../../../src/provider/azure/format/jwk.js";
import { pfxToPem } from "../../../../src/provider/azure/format/pkcs12.js";
import { certFiles, keyFiles, secretFiles } from "../../../../src/provider/azure/plan.js";
import type { KeyVaultObject, ProviderDefaults } from "../../../../src/provider/azure/plan.js";
import { certsDer, makeChain, openssl, publicDer, removeDir, tempDir, type Chain } from "./openssl-fixtures.js";

const obj = (o: Partial<KeyVaultObject> = {}): KeyVaultObject => ({
  objectName: "cert1",
  objectType: "secret",
  objectVersion: "",
  objectVersionHistory: 0,
  objectAlias: "cert1",
  objectFormat: "pem",
  objectEncoding: "utf-8",
  filePermission: "",
  ...o,
});

const defaults = (o: Partial<ProviderDefaults> = {}): ProviderDefaults => ({
  cloudName: "AzurePublicCloud",
  constructPemChain: true,
  writeCertAndKeyInSeparateFiles: false,
  onWarning: () => {},
  ...o,
});

const kid = "https://v.vault.azure.net/keys/cert1/abc";
const pfxSecret = (value: string) => ({ value, contentType: "application/x-pkcs12", kid, version: "abc" });

function blocks(pem: string): { type: string; text: string }[] {
  return [...pem.matchAll(/-----BEGIN ([A-Z ]+)-----\n[\s\S]*?-----END \1-----\n/g)].map((m) => ({ type: m[1]!, text: m[0] }));
}

function expectGoPemStyle(pem: string): void {
  expect(pem).to.not.include("\r");
  expect(pem.endsWith("\n")).to.equal(true);
  for (const line of pem.split("\n")) expect(line.length).to.be.at.most(64);
  for (const b of blocks(pem)) {
    const body = b.text.split("\n").slice(1, -2);
    body.slice(0, -1).forEach((l) => expect(l.length).to.equal(64));
  }
}

describe("provider/azure formats (checked against openssl)", function () {
  this.timeout(60_000);
  let dir: string;
  const chains: Record<"rsa" | "ec", Chain> = {} as never;

  before(() => {
    dir = tempDir();
    chains.rsa = makeChain(dir, "rsa");
    chains.ec = makeChain(dir, "ec");
  });
  after(() => removeDir(dir));

  for (const kind of ["rsa", "ec"] as const) {
    for (const variant of ["pfxModern", "pfxLegacy"] as const) {
      it(`${kind} ${variant}: key then certs leaf→root, same key and certs as openssl's own parse`, () => {
        const c = chains[kind];
        const files = secretFiles(obj(), "cert1", pfxSecret(c[variant]), defaults());
        expect(files.map((f) => f.path)).to.deep.equal(["cert1"]);
        const pem = files[0]!.contents.toString("utf8");
        expectGoPemStyle(pem);
        const types = blocks(pem).map((b) => b.type);
        expect(types).to.deep.equal(["PRIVATE KEY", "CERTIFICATE", "CERTIFICATE", "CERTIFICATE"]);

        const legacy = variant === "pfxLegacy" ? ["-legacy"] : [];
        const pfxDer = Buffer.from(c[variant], "base64");
        const theirKeys = openssl(["pkcs12", ...legacy, "-nodes", "-nocerts", "-passin", "pass:"], dir, pfxDer).toString();
        const theirCerts = openssl(["pkcs12", ...legacy, "-nokeys", "-passin", "pass:"], dir, pfxDer).toString();
        const ourKey = blocks(pem)[0]!.text;
        expect(publicDer(ourKey, dir)).to.equal(publicDer(theirKeys, dir));
        // PKCS#8 as openssl reads it back.
        expect(openssl(["pkey"], dir, ourKey).toString()).to.include("-----BEGIN PRIVATE KEY-----");

        const ours = certsDer(pem, dir);
        const theirs = certsDer(theirCerts, dir);
        expect([...ours].sort()).to.deep.equal([...theirs].sort());
        // openssl's PFX order is leaf, root, int; ours must be leaf, int, root.
        expect(theirs).to.not.deep.equal(ours);
        expect(ours).to.deep.equal(certsDer(c.leaf + c.int + c.root, dir));
      });
    }

    it(`${kind}: constructPemChain off keeps the PFX order`, () => {
      const c = chains[kind];
      const pem = secretFiles(obj(), "f", pfxSecret(c.pfxModern), defaults({ constructPemChain: false }))[0]!.contents.toString();
      expect(certsDer(pem, dir)).to.deep.equal(certsDer(c.leaf + c.root + c.int, dir));
    });

    it(`${kind}: incomplete chain keeps the original order and warns`, () => {
      const c = chains[kind];
      const warnings: string[] = [];
      const pem = secretFiles(obj(), "f", pfxSecret(c.pfxIncomplete), defaults({ onWarning: (m) => warnings.push(m) }))[0]!.contents.toString();
      expect(certsDer(pem, dir)).to.deep.equal(certsDer(c.leaf + c.root, dir));
      expect(warnings).to.have.length(1);
      expect(warnings[0]).to.include(INCOMPLETE_CHAIN_WARNING);
    });

    it(`${kind}: separate files .crt and .key come before the main file`, () => {
      const c = chains[kind];
      const files = secretFiles(obj(), "tls", pfxSecret(c.pfxModern), defaults({ writeCertAndKeyInSeparateFiles: true }));
      expect(files.map((f) => f.path)).to.deep.equal(["tls.crt", "tls.key", "tls"]);
      const [crt, key, main] = files.map((f) => f.contents.toString());
      expect(blocks(crt!).every((b) => b.type === "CERTIFICATE")).to.equal(true);
      expect(blocks(crt!)).to.have.length(3);
      expect(blocks(key!).map((b) => b.type)).to.deep.equal(["PRIVATE KEY"]);
      expect(key! + crt!).to.equal(main);
    });

    it(`${kind}: pfx objectFormat keeps the base64; with base64 encoding the file is the PFX itself`, () => {
      const c = chains[kind];
      const kept = secretFiles(obj({ objectFormat: "pfx" }), "p", pfxSecret(c.pfxModern), defaults());
      expect(kept[0]!.contents.toString()).to.equal(c.pfxModern);
      const bin = secretFiles(obj({ objectFormat: "pfx", objectEncoding: "base64" }), "p", pfxSecret(c.pfxModern), defaults());
      expect(bin[0]!.contents.equals(Buffer.from(c.pfxModern, "base64"))).to.equal(true);
      // openssl can read the mounted file.
      expect(openssl(["pkcs12", "-nokeys", "-passin", "pass:"], dir, bin[0]!.contents).toString()).to.include("BEGIN CERTIFICATE");
    });

    it(`${kind}: cert object is the DER as one CERTIFICATE block, byte-identical to openssl's PEM`, () => {
      const c = chains[kind];
      const der = openssl(["x509", "-outform", "DER"], dir, c.leaf);
      const files = certFiles(obj({ objectType: "cert" }), "leaf.pem", { cer: new Uint8Array(der), version: "v1" });
      expect(files[0]!.contents.toString()).to.equal(c.leaf);
    });

    it(`${kind}: key object JWK → PUBLIC KEY PEM equals openssl pkey -pubout`, () => {
      const c = chains[kind];
      const keyPem = openssl(["pkey"], dir, openssl(["pkey", "-in", c.leafKeyPath], dir)).toString();
      const jwk = createPrivateKey(keyPem).export({ format: "jwk" });
      const toBytes = (s?: string) => (s ? new Uint8Array(Buffer.from(s, "base64url")) : undefined);
      const files = keyFiles(obj({ objectType: "key" }), "k", {
        jwk: { kty: kind === "rsa" ? "RSA-HSM" : "EC-HSM", n: toBytes(jwk.n), e: toBytes(jwk.e), crv: jwk.crv, x: toBytes(jwk.x), y: toBytes(jwk.y) },
        version: "v",
      });
      const ours = files[0]!.contents.toString();
      expect(blocks(ours).map((b) => b.type)).to.deep.equal(["PUBLIC KEY"]);
      expectGoPemStyle(ours);
      expect(publicDer(ours, dir, true)).to.equal(publicDer(keyPem, dir));
    });
  }

  it("EC P-384 and P-521 JWKs convert (short coordinates are left-padded)", () => {
    for (const namedCurve of ["P-384", "P-521"] as const) {
      const { publicKey } = generateKeyPairSync("ec", { namedCurve });
      const jwk = publicKey.export({ format: "jwk" });
      const x = Buffer.from(jwk.x!, "base64url");
      const y = Buffer.from(jwk.y!, "base64url");
      const strip = (b: Buffer) => (b[0] === 0 ? b.subarray(1) : b);
      const pem = jwkToPublicPem({ kty: "EC", crv: namedCurve, x: strip(x), y: strip(y) });
      const spki = publicKey.export({ type: "spki", format: "pem" }).toString();
      expect(publicDer(pem, dir, true)).to.equal(publicDer(spki, dir, true));
    }
  });

  it("unsupported curves and key types give upstream's texts, wrapped with the object", () => {
    expect(() => jwkToPublicPem({ kty: "EC", crv: "P-256K" })).to.throw("curve P-256K is not supported");
    expect(() => keyFiles(obj({ objectType: "key", objectName: "k1" }), "k1", { jwk: { kty: "oct" }, version: "v" })).to.throw(
      "failed to get objectType:key, objectName:k1, objectVersion:: failed to get key. key type 'oct' currently not supported",
    );
  });

  describe("buildChain edge cases", () => {
    let a: string;
    let b: string;
    let l: string;
    before(() => {
      // A signed by B's key and B signed by A's key: each is the other's parent.
      const o = (args: string[]) => openssl(args, dir).toString();
      for (const n of ["a", "b"]) o(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `cy-${n}.key`, "-out", `cy-${n}0.crt`, "-subj", `/CN=${n}`, "-days", "2"]);
      for (const n of ["a", "b"]) o(["req", "-new", "-key", `cy-${n}.key`, "-out", `cy-${n}.csr`, "-subj", `/CN=${n}`]);
      o(["x509", "-req", "-in", "cy-a.csr", "-CA", "cy-b0.crt", "-CAkey", "cy-b.key", "-CAcreateserial", "-out", "cy-a.crt", "-days", "2", "-extfile", "ca.ext"]);
      o(["x509", "-req", "-in", "cy-b.csr", "-CA", "cy-a.crt", "-CAkey", "cy-a.key", "-CAcreateserial", "-out", "cy-b.crt", "-days", "2", "-extfile", "ca.ext"]);
      o(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "cy-l.key", "-out", "cy-l.csr", "-subj", "/CN=l"]);
      o(["x509", "-req", "-in", "cy-l.csr", "-CA", "cy-a.crt", "-CAkey", "cy-a.key", "-CAcreateserial", "-out", "cy-l.crt", "-days", "2", "-extfile", "leaf.ext"]);
      const r = (n: string) => openssl(["x509", "-in", n], dir).toString();
      a = r("cy-a.crt");
      b = r("cy-b.crt");
      l = r("cy-l.crt");
    });

    it("reorders a shuffled PEM chain leaf→root", () => {
      const c = chains.rsa;
      expect(buildChain(c.int + c.root + c.leaf, () => {})).to.equal(c.leaf + c.int + c.root);
    });
    it("no leaf found when every certificate is someone's parent", () => {
      expect(() => buildChain(a + b, () => {})).to.throw("no leaf found");
    });
    it("a leaf leading into a loop is a cycle", () => {
      expect(() => buildChain(l + a + b, () => {})).to.throw("constructing chain resulted in cycle");
    });
    it("a leaf without SKI under a root without AKI still chains (upstream 'leaf without SKI' case)", () => {
      const o = (args: string[]) => openssl(args, dir).toString();
      writeFileSync(join(dir, "noski.ext"), "basicConstraints=CA:FALSE\nsubjectKeyIdentifier=none\nauthorityKeyIdentifier=keyid\n");
      o(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "na-root.key", "-out", "na-root.crt", "-subj", "/CN=na root", "-days", "2", "-addext", "authorityKeyIdentifier=none"]);
      o(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "na-int.key", "-out", "na-int.csr", "-subj", "/CN=na int"]);
      o(["x509", "-req", "-in", "na-int.csr", "-CA", "na-root.crt", "-CAkey", "na-root.key", "-CAcreateserial", "-out", "na-int.crt", "-days", "2", "-extfile", "ca.ext"]);
      o(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "na-leaf.key", "-out", "na-leaf.csr", "-subj", "/CN=na leaf"]);
      o(["x509", "-req", "-in", "na-leaf.csr", "-CA", "na-int.crt", "-CAkey", "na-int.key", "-CAcreateserial", "-out", "na-leaf.crt", "-days", "2", "-extfile", "noski.ext"]);
      const r = (n: string) => openssl(["x509", "-in", n], dir).toString();
      const [root, int, leaf] = [r("na-root.crt"), r("na-int.crt"), r("na-leaf.crt")];
      expect(o(["x509", "-in", "na-leaf.crt", "-noout", "-text"])).to.not.include("Subject Key Identifier");
      expect(o(["x509", "-in", "na-root.crt", "-noout", "-text"])).to.not.include("Authority Key Identifier");
      expect(buildChain(root + leaf + int, () => {})).to.equal(leaf + int + root);
    });
    it("a lone self-signed certificate is its own chain", () => {
      expect(buildChain(chains.ec.root, () => {})).to.equal(chains.ec.root);
    });
  });

  it("a PFX with a non-empty password fails with x/crypto/pkcs12's text", () => {
    const pfx = openssl(["pkcs12", "-export", "-inkey", chains.ec.leafKeyPath, "-passout", "pass:secret"], dir, chains.ec.leaf).toString("base64");
    expect(() => secretFiles(obj(), "x", pfxSecret(pfx), defaults())).to.throw(
      "failed to get objectType:secret, objectName:cert1, objectVersion:: pkcs12: decryption password incorrect",
    );
  });

  it("a PFX that is not base64 fails with Go's text, wrapped with the object", () => {
    expect(() => secretFiles(obj(), "x", pfxSecret("not base64!"), defaults())).to.throw(
      "failed to get objectType:secret, objectName:cert1, objectVersion:: illegal base64 data at input byte 3",
    );
    expect(() => pfxToPem(Buffer.from("hello").toString("base64"), { constructPemChain: true, warn: () => {} })).to.throw(/pkcs12/);
  });
});

describe("provider/azure secret content rules", () => {
  const pem = "-----BEGIN CERTIFICATE-----\r\nAAAA\r\n-----END CERTIFICATE-----\r\nroot-first junk\n";

  it("application/x-pem-file is passed through untouched", () => {
    const f = secretFiles(obj(), "c", { value: pem, contentType: "application/x-pem-file", kid, version: "v" }, defaults());
    expect(f[0]!.contents.toString()).to.equal(pem);
  });
  it("PEM secrets with separate files: blocks re-encoded Go-style (LF, 64 columns), headers kept, main file untouched", () => {
    const body = Buffer.alloc(100, 7).toString("base64");
    const crlf = `-----BEGIN EC PRIVATE KEY-----\r\nProc-Type: 4,ENCRYPTED\r\n\r\n${body}\r\n-----END EC PRIVATE KEY-----\r\n-----BEGIN CERTIFICATE-----\r\n${body.slice(0, 50)}\r\n${body.slice(50)}\r\n-----END CERTIFICATE-----\r\n`;
    const f = secretFiles(obj(), "p", { value: crlf, contentType: "application/x-pem-file", kid, version: "v" }, defaults({ writeCertAndKeyInSeparateFiles: true }));
    expect(f.map((x) => x.path)).to.deep.equal(["p.crt", "p.key", "p"]);
    const wrapped = body.match(/.{1,64}/g)!.join("\n") + "\n";
    expect(f[0]!.contents.toString()).to.equal(`-----BEGIN CERTIFICATE-----\n${wrapped}-----END CERTIFICATE-----\n`);
    expect(f[1]!.contents.toString()).to.equal(`-----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\n${wrapped}-----END EC PRIVATE KEY-----\n`);
    expect(f[2]!.contents.toString()).to.equal(crlf);
  });
  it("secrets without a kid are raw whatever the content type (#273)", () => {
    const f = secretFiles(obj(), "c", { value: "not a pfx", contentType: "application/x-pkcs12", version: "v" }, defaults({ writeCertAndKeyInSeparateFiles: true }));
    expect(f.map((x) => [x.path, x.contents.toString()])).to.deep.equal([["c", "not a pfx"]]);
  });
  it("unknown or missing content type on a cert-backed secret", () => {
    expect(() => secretFiles(obj(), "c", { value: "x", contentType: "text/plain", kid, version: "v" }, defaults())).to.throw(
      "failed to get certificate. unknown content type 'text/plain'",
    );
    expect(() => secretFiles(obj(), "c", { value: "x", kid, version: "v" }, defaults())).to.throw("unknown content type ''");
  });
  it("pfx format with separate files writes empty .crt and .key (upstream #1277)", () => {
    const f = secretFiles(obj({ objectFormat: "pfx" }), "c", pfxSecret("QUJD"), defaults({ writeCertAndKeyInSeparateFiles: true }));
    expect(f.map((x) => [x.path, x.contents.length])).to.deep.equal([["c.crt", 0], ["c.key", 0], ["c", 4]]);
  });
  it("objectEncoding hex and base64 decode; utf-8 is verbatim", () => {
    const s = (value: string) => ({ value, version: "v" });
    expect(secretFiles(obj({ objectEncoding: "hex" }), "h", s("48656c6C6f"), defaults())[0]!.contents.toString()).to.equal("Hello");
    expect(secretFiles(obj({ objectEncoding: "base64" }), "b", s("SGVs\r\nbG8="), defaults())[0]!.contents.toString()).to.equal("Hello");
    expect(secretFiles(obj(), "u", s("héllo"), defaults())[0]!.contents.toString()).to.equal("héllo");
  });
  it("I10: invalid base64/hex content fails naming the object (Node's lenient decoders are not used)", () => {
    const s = (value: string) => ({ value, version: "v" });
    const o = obj({ objectName: "s1", objectEncoding: "base64" });
    expect(() => secretFiles(o, "s1", s("SGVsbG8"), defaults())).to.throw("failed to get objectType:secret, objectName:s1, objectVersion:: illegal base64 data at input byte 4");
    expect(() => secretFiles(o, "s1", s("SGV sbG8="), defaults())).to.throw("illegal base64 data at input byte 3");
    expect(() => secretFiles(o, "s1", s("SGVsbG8=AAAA"), defaults())).to.throw("illegal base64 data at input byte 8");
    const h = obj({ objectName: "s2", objectEncoding: "hex" });
    expect(() => secretFiles(h, "s2", s("abc"), defaults())).to.throw("failed to get objectType:secret, objectName:s2, objectVersion:: encoding/hex: odd length hex string");
    expect(() => secretFiles(h, "s2", s("zz"), defaults())).to.throw("encoding/hex: invalid byte: U+007A 'z'");
    expect(() => secretFiles(h, "s2", s("0g1"), defaults())).to.throw("encoding/hex: invalid byte: U+0067 'g'");
    // base64 on PEM content fails, as upstream.
    expect(() => secretFiles(o, "s1", s(pem), defaults())).to.throw(/illegal base64 data at input byte 0/);
  });
  it("strict decoders accept what Go accepts", () => {
    expect(decodeStdBase64("").length).to.equal(0);
    expect(decodeStdBase64("YQ==").toString()).to.equal("a");
    expect(decodeStdBase64("YWI=\n").toString()).to.equal("ab");
    expect(() => decodeStdBase64("YQ=")).to.throw("illegal base64 data");
    expect(() => decodeStdBase64("YQ-_")).to.throw("illegal base64 data at input byte 2");
    expect(decodeHex("00ff").equals(Buffer.from([0, 255]))).to.equal(true);
  });
});
