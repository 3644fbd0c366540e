import { expect } from "chai";
import { X509Certificate } from "node:crypto";
import forge from "node-forge";
import { validateSeed } from "../../../src/emulator/seed.js";
import { EmulatorStore, x5t } from "../../../src/emulator/store.js";

describe("emulator store", function () {
  this.timeout(20_000);

  it("keeps secret versions in order; latest is the last created even when disabled", () => {
    const s = new EmulatorStore();
    const a = s.setSecret("kv", "n", "one").version;
    const b = s.setSecret("kv", "n", "two", { contentType: "text/plain" }).version;
    expect(a).to.match(/^[0-9a-f]{32}$/);
    expect(s.getSecretValue("kv", "n")).to.equal("two");
    expect(s.getSecretValue("KV", "n", a)).to.equal("one");
    expect(s.disableVersion("kv", "secrets", "n")).to.equal(true);
    expect(s.find("kv", "secrets", "n")?.version).to.equal(b);
    expect(s.find("kv", "secrets", "n")?.attributes.enabled).to.equal(false);
    expect(s.find("kv", "secrets", "missing")).to.equal(undefined);
    expect(s.find("nokv", "secrets", "n")).to.equal(undefined);
    expect(s.hasVault("nokv")).to.equal(false);
    const pem = s.setSecret("kv", "hand-made", "-----BEGIN CERTIFICATE-----", { contentType: "application/x-pem-file", certificateBacked: true });
    expect(s.find("kv", "secrets", "hand-made")).to.include({ kid: `keys/hand-made/${pem.version}`, managed: true });
  });

  it("creates an EC certificate with its backing key and PFX secret under one version", async () => {
    const s = new EmulatorStore();
    const c = await s.createCertificate("kv", "tls", { keyType: "EC", crv: "P-384", format: "pfx", chain: 3, subject: "svc.local" });
    const cert = s.find("kv", "certificates", "tls")!;
    const key = s.find("kv", "keys", "tls")!;
    const secret = s.find("kv", "secrets", "tls")!;
    expect(cert.version).to.equal(c.version);
    expect(key.version).to.equal(c.version);
    expect(key.jwk).to.include({ kty: "EC", crv: "P-384" });
    expect(key.managed).to.equal(true);
    expect(secret.kid).to.equal(`keys/tls/${c.version}`);
    expect(secret.contentType).to.equal("application/x-pkcs12");
    expect(c.x5t).to.equal(x5t(cert.chain[0]!));
    const [leaf, mid, root] = c.chainPem.map((p) => new X509Certificate(p));
    expect(leaf!.subjectAltName).to.equal("DNS:svc.local");
    expect(leaf!.verify(mid!.publicKey)).to.equal(true);
    expect(mid!.verify(root!.publicKey)).to.equal(true);
    expect(root!.ca).to.equal(true);
    expect(leaf!.ca).to.equal(false);
    // forge cannot read EC certificates but still parses the PFX structure and MAC.
    const p12 = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(forge.util.decode64(secret.value)), "");
    expect(p12.safeContents).to.have.length(2);
    expect(p12.getBags({ bagType: forge.pki.oids.certBag! })[forge.pki.oids.certBag!]).to.have.length(3);
    expect(() => forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(forge.util.decode64(secret.value)), "wrong")).to.throw(/MAC|password/i);
    s.disableVersion("kv", "certificates", "tls");
    expect(s.find("kv", "secrets", "tls")!.attributes.enabled).to.equal(false);
    expect(s.find("kv", "keys", "tls")!.attributes.enabled).to.equal(false);
  });

  it("validates seed files with pointed messages", () => {
    expect(validateSeed(null)).to.deep.equal({});
    expect(() => validateSeed({ vaults: [{ name: "bad name!" }] })).to.throw(/vaults\[0\]\.name/);
    expect(() => validateSeed({ vaults: [{ name: "kv", secrets: [{ name: "s" }] }] })).to.throw(/kv\/s needs value or versions/);
    expect(() => validateSeed({ vaults: [{ name: "kv", certificates: [{ name: "c", chain: 4 }] }] })).to.throw(/chain/);
    expect(() => validateSeed({ apps: [{}] })).to.throw(/apps\[0\]\.clientId/);
    expect(validateSeed({ vaults: [{ name: "kv", keys: [{ name: "k", kty: "EC" }] }] }).vaults).to.have.length(1);
  });
});

describe("emulator X.509 key identifiers", function () {
  this.timeout(20_000);

  it("SKI is SHA-1 of the subjectPublicKey bits, and AKI links each certificate to its issuer (RSA and EC)", async () => {
    const { generateChain, keyIdentifier } = await import("../../../src/emulator/x509.js");
    const { createHash, createPublicKey } = await import("node:crypto");
    const rsa = await generateChain({ key: { kty: "RSA" }, chain: 1, subject: "r.local" });
    const pkcs1 = rsa.publicKey.export({ type: "pkcs1", format: "der" });
    expect(keyIdentifier(rsa.publicKey).toString("hex")).to.equal(createHash("sha1").update(pkcs1).digest("hex"));
    const ec = await generateChain({ key: { kty: "EC" }, chain: 3, subject: "e.local" });
    const jwk = ec.publicKey.export({ format: "jwk" });
    const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, "base64url"), Buffer.from(jwk.y!, "base64url")]);
    expect(keyIdentifier(ec.publicKey).toString("hex")).to.equal(createHash("sha1").update(point).digest("hex"));
    const { X509Certificate } = await import("node:crypto");
    const ids = ec.certs.map((d) => keyIdentifier(createPublicKey(new X509Certificate(d).publicKey.export({ type: "spki", format: "pem" }))).toString("hex"));
    expect(new Set(ids).size).to.equal(3);
    // The AKI extension bytes of each certificate contain its issuer's SKI.
    expect(ec.certs[0]!.includes(Buffer.from(ids[1]!, "hex"))).to.equal(true);
    expect(ec.certs[1]!.includes(Buffer.from(ids[2]!, "hex"))).to.equal(true);
  });
});
