// secretObjects → Secret data, checked against keys and certificates openssl makes.
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { createPrivateKey, createPublicKey, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { secretData, validateSecretObject } from "../../../src/driver/sync/secret-data.js";
import { mergeOwners } from "../../../src/driver/sync/syncer.js";

const ossl = (args: string[]) => execFileSync("openssl", args, { stdio: "pipe" });

describe("driver/sync/secret-data", function () {
  this.timeout(30_000);
  let dir: string;
  const files = new Map<string, string>();
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "akv-sd-"));
    ossl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", join(dir, "rsa.key"), "-out", join(dir, "rsa.crt"), "-days", "2", "-subj", "/CN=rsa"]);
    ossl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", join(dir, "ec.key"), "-out", join(dir, "ec.crt"), "-days", "2", "-subj", "/CN=ec"]);
    ossl(["pkcs12", "-export", "-legacy", "-inkey", join(dir, "rsa.key"), "-in", join(dir, "rsa.crt"), "-passout", "pass:", "-out", join(dir, "rsa.pfx")]);
    writeFileSync(join(dir, "rsa.pem"), readFileSync(join(dir, "rsa.key"), "utf8") + readFileSync(join(dir, "rsa.crt"), "utf8"));
    writeFileSync(join(dir, "ec.pem"), readFileSync(join(dir, "ec.key"), "utf8") + readFileSync(join(dir, "ec.crt"), "utf8"));
    writeFileSync(join(dir, "plain"), "s3cret");
    for (const f of ["rsa.pem", "ec.pem", "rsa.pfx", "plain"]) files.set(f, join(dir, f));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const tls = (objectName: string) => ({
    secretName: "t",
    type: "kubernetes.io/tls",
    data: [
      { objectName, key: "tls.key" },
      { objectName, key: "tls.crt" },
    ],
  });

  it("Opaque copies bytes; all fields are required, with upstream texts", async () => {
    expect(await secretData({ secretName: "s", type: "Opaque", data: [{ objectName: " plain ", key: " k " }] }, files)).to.deep.equal({ k: Buffer.from("s3cret") });
    expect(() => validateSecretObject({ secretName: "", type: "Opaque", data: [{ objectName: "a", key: "b" }] })).to.throw("secret name is empty");
    expect(() => validateSecretObject({ secretName: "s", type: "", data: [{ objectName: "a", key: "b" }] })).to.throw("secret type is empty");
    expect(() => validateSecretObject({ secretName: "s", type: "Opaque", data: [] })).to.throw("data is empty");
    let err: Error | undefined;
    await secretData({ secretName: "s", type: "Opaque", data: [{ objectName: "missing", key: "k" }] }, files).catch((e: Error) => (err = e));
    expect(err?.message).to.equal("file matching objectName missing not found in the pod");
  });

  it("TLS from PEM: RSA key as PKCS#1, certificate blocks only, same key as openssl's", async () => {
    const d = await secretData(tls("rsa.pem"), files);
    expect(d["tls.key"]!.toString()).to.match(/^-----BEGIN RSA PRIVATE KEY-----\n/);
    expect(d["tls.crt"]!.toString()).to.match(/^-----BEGIN CERTIFICATE-----\n[\s\S]*-----END CERTIFICATE-----\n$/).and.not.contain("PRIVATE");
    const ours = createPublicKey(createPrivateKey(d["tls.key"]!)).export({ type: "spki", format: "der" });
    const theirs = createPublicKey(readFileSync(join(dir, "rsa.key"))).export({ type: "spki", format: "der" });
    expect(Buffer.compare(ours, theirs)).to.equal(0);
    expect(new X509Certificate(d["tls.crt"]!).fingerprint256).to.equal(new X509Certificate(readFileSync(join(dir, "rsa.crt"))).fingerprint256);
  });

  it("TLS from PEM: EC key as SEC1", async () => {
    const d = await secretData(tls("ec.pem"), files);
    expect(d["tls.key"]!.toString()).to.match(/^-----BEGIN EC PRIVATE KEY-----\n/);
    expect(createPrivateKey(d["tls.key"]!).asymmetricKeyDetails?.namedCurve).to.equal("prime256v1");
  });

  it("TLS from a password-less legacy PKCS#12 file", async () => {
    const d = await secretData(tls("rsa.pfx"), files);
    expect(d["tls.key"]!.toString()).to.match(/^-----BEGIN RSA PRIVATE KEY-----\n/);
    expect(new X509Certificate(d["tls.crt"]!).subject).to.contain("CN=rsa");
  });

  it("TLS rejects other keys with upstream's text", async () => {
    let err: Error | undefined;
    await secretData({ secretName: "t", type: "kubernetes.io/tls", data: [{ objectName: "rsa.pem", key: "ca.crt" }] }, files).catch((e: Error) => (err = e));
    expect(err?.message).to.contain("key 'ca.crt' is not supported. Only 'tls.key' and 'tls.crt' are supported");
  });

  it("owner references are merged by uid, never dropped (#2051)", () => {
    const a = { apiVersion: "apps/v1", kind: "ReplicaSet", name: "a", uid: "1" };
    const b = { apiVersion: "apps/v1", kind: "ReplicaSet", name: "b", uid: "2" };
    expect(mergeOwners([a], [b])).to.deep.equal([a, b]);
    expect(mergeOwners([a, b], [a])).to.deep.equal([a, b]);
    expect(mergeOwners(undefined, [a])).to.deep.equal([a]);
  });
});
