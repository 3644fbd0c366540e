import { expect } from "chai";
import forge from "node-forge";
import { MAX_KDF_ITERATIONS, pbkdf2, pkcs12Kdf } from "../../../../src/provider/azure/format/kdf.js";

describe("provider/azure native PKCS#12 KDF and PBKDF2 (vs node-forge's JavaScript)", () => {
  const salt = "\x01\x02\x03\x04\x05\x06\x07\x08";
  const forgeKdf = (forge.pki as unknown as { pbe: { generatePkcs12Key: (...a: unknown[]) => forge.util.ByteStringBuffer } }).pbe.generatePkcs12Key;

  for (const password of ["", null, "pässwörd-long-enough-to-span-more-than-one-block-of-sixty-four"]) {
    for (const [id, n] of [[1, 24], [2, 8], [3, 20], [1, 40]] as const) {
      for (const mdName of ["sha1", "sha256", "sha512"] as const) {
        it(`password=${JSON.stringify(password)?.slice(0, 12)} id=${id} n=${n} ${mdName}`, () => {
          const ours = pkcs12Kdf(password, forge.util.createBuffer(salt), id, 5, n, forge.md[mdName].create()).bytes();
          const theirs = forgeKdf(password, forge.util.createBuffer(salt), id, 5, n, forge.md[mdName].create()).bytes();
          expect(Buffer.from(ours, "binary").toString("hex")).to.equal(Buffer.from(theirs, "binary").toString("hex"));
        });
      }
    }
  }

  it("PBKDF2 matches forge's for a forge message digest", () => {
    const md = forge.md.sha256.create();
    const ours = pbkdf2("", salt, 7, 32, md);
    const theirs = forge.pkcs5.pbkdf2("", salt, 7, 32, forge.md.sha256.create());
    expect(Buffer.from(ours, "binary").toString("hex")).to.equal(Buffer.from(theirs, "binary").toString("hex"));
  });

  it("iteration counts are bounded", () => {
    expect(() => pkcs12Kdf("", salt, 1, MAX_KDF_ITERATIONS + 1, 24)).to.throw(/exceeds the limit/);
    expect(() => pbkdf2("", salt, MAX_KDF_ITERATIONS + 1, 32, "sha256")).to.throw(/exceeds the limit/);
    expect(() => pkcs12Kdf("", salt, 1, 0, 24)).to.throw(/must be >= 1/);
  });
});
