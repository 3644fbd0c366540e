import { expect } from "chai";
import { decodeKeyVaultObject, OBJECTS_MAX_BYTES, parseObjectsArray } from "../../../../src/provider/azure/objects.js";
import { checkFetchableType, checkOutputPaths, fileMode, planMount, ProviderError } from "../../../../src/provider/azure/plan.js";
import type { KeyVaultObject } from "../../../../src/provider/azure/plan.js";

const defaults = { cloudName: "AzurePublicCloud", constructPemChain: true, writeCertAndKeyInSeparateFiles: false };
const base = {
  "csi.storage.k8s.io/pod.name": "p",
  "csi.storage.k8s.io/pod.namespace": "n",
  keyvaultName: "kv1",
  tenantID: "t",
};
const sp = { clientid: "id", clientsecret: "s" };

/** `objects` with one block-literal entry per given document. */
function objectsOf(...docs: string[]): string {
  return "array:\n" + docs.map((d) => "  - |\n" + d.split("\n").map((l) => "    " + l).join("\n") + "\n").join("");
}
const planObjects = (...docs: string[]) => planMount({ ...base, objects: objectsOf(...docs) }, sp, 0o644, defaults).objects;
const planError = (...docs: string[]): string => {
  try {
    planObjects(...docs);
  } catch (e) {
    expect(e).to.be.instanceOf(ProviderError);
    return (e as Error).message;
  }
  throw new Error("expected planMount to fail");
};

describe("provider/azure objects YAML (yaml.v3 semantics)", () => {
  it("string fields keep the raw plain-scalar text", () => {
    const o = decodeKeyVaultObject("objectName: 0755\nobjectVersion: 1e3\nfilePermission: 0755\nobjectAlias: true\nobjectType: 0x1F\nobjectFormat: 1_000\n");
    expect(o).to.include({ objectName: "0755", objectVersion: "1e3", filePermission: "0755", objectAlias: "true", objectType: "0x1F", objectFormat: "1_000" });
  });
  it("quoted and block scalars give their content; null leaves the field empty", () => {
    const o = decodeKeyVaultObject("objectName: \"a\\tb\"\nobjectAlias: 'it''s'\nobjectVersion: ~\nobjectType: null\nobjectEncoding:\nfilePermission: |\n  0644\n");
    expect(o).to.include({ objectName: "a\tb", objectAlias: "it's", objectVersion: "", objectType: "", objectEncoding: "", filePermission: "0644\n" });
  });
  it("objectVersionHistory: Go base-0 int32, floats truncated, null = 0", () => {
    const h = (v: string) => decodeKeyVaultObject(`objectVersionHistory: ${v}`).objectVersionHistory;
    expect(h("5")).to.equal(5);
    expect(h("010")).to.equal(8);
    expect(h("0o10")).to.equal(8);
    expect(h("0x10")).to.equal(16);
    expect(h("+3")).to.equal(3);
    expect(h("1_0")).to.equal(10);
    expect(h("2.9")).to.equal(2);
    expect(h("~")).to.equal(0);
    expect(h("2147483647")).to.equal(2147483647);
    expect(() => h("2147483648")).to.throw("line 1: cannot unmarshal !!int `2147483648` into int32");
    expect(() => h("'5'")).to.throw("line 1: cannot unmarshal !!str `5` into int32");
    expect(() => h("true")).to.throw("line 1: cannot unmarshal !!bool `true` into int32");
    expect(() => h("five")).to.throw("line 1: cannot unmarshal !!str `five` into int32");
  });
  it("unknown keys are ignored without decoding their values; keys are case-sensitive", () => {
    const o = decodeKeyVaultObject("objectname: lower\nObjectName: upper\nobjectName: real\nextra: {a: [1, 2]}\n");
    expect(o.objectName).to.equal("real");
  });
  it("anchors, aliases and merge keys resolve", () => {
    expect(parseObjectsArray("common: &c |\n  objectName: s\narray:\n  - *c\n  - *c\n")).to.deep.equal(["objectName: s\n", "objectName: s\n"]);
    const o = decodeKeyVaultObject("base: &b {objectType: secret, objectName: n}\n<<: *b\nobjectName: own\n");
    expect(o).to.include({ objectType: "secret", objectName: "own" });
  });
  it("only the first YAML document counts", () => {
    expect(parseObjectsArray("array: [a]\n---\narray: [b]\n")).to.deep.equal(["a"]);
  });
  it("plain scalar list items keep raw text (numbers stay strings)", () => {
    expect(parseObjectsArray("array: [0755, 1.50, true]")).to.deep.equal(["0755", "1.50", "true"]);
  });
  it("fields are trimmed, alias defaults to the name, format/encoding lowercased with defaults", () => {
    const [o] = planObjects("objectName: ' s1 '\nobjectType: ' secret '\nobjectFormat: ' PEM '\nobjectEncoding: ' Base64 '\nfilePermission: ' 0600 '");
    expect(o).to.deep.equal({
      objectName: "s1",
      objectType: "secret",
      objectVersion: "",
      objectVersionHistory: 0,
      objectAlias: "s1",
      objectFormat: "pem",
      objectEncoding: "base64",
      filePermission: "0600",
    });
  });

  describe("I4: size and alias caps", () => {
    it("rejects objects larger than the cap before parsing", () => {
      const big = "array:\n" + "  - x\n".repeat(Math.ceil(OBJECTS_MAX_BYTES / 6) + 1);
      expect(() => planMount({ ...base, objects: big }, sp, 0o644, defaults)).to.throw(ProviderError, /^failed to yaml unmarshal objects, error: objects is \d+ bytes, larger than the 1048576 byte limit$/);
    });
    it("an alias bomb ends in an error, quickly", () => {
      let y = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
      for (let i = 1; i <= 9; i++) y += `a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(", ")}]\n`;
      y += "array: *a9\n";
      const start = Date.now();
      let msg = "";
      try {
        planMount({ ...base, objects: y }, sp, 0o644, defaults);
      } catch (e) {
        msg = (e as Error).message;
      }
      expect(msg).to.match(/^failed to yaml unmarshal objects, error: yaml: /);
      expect(Date.now() - start).to.be.below(2000);
    });
    it("a merge-key bomb inside one object stops at the node-visit budget", () => {
      let m = "m0: &m0 {objectName: x}\n";
      for (let i = 1; i <= 9; i++) m += `m${i}: &m${i} {<<: [${Array(10).fill(`*m${i - 1}`).join(", ")}]}\n`;
      m += "<<: *m9\n";
      const start = Date.now();
      expect(() => decodeKeyVaultObject(m)).to.throw("yaml: document contains excessive aliasing");
      expect(Date.now() - start).to.be.below(5000);
    });
    it("aliases cannot multiply one large string past the cap", () => {
      const s = "x".repeat(200_000);
      const y = `big: &b "${s}"\narray: [*b, *b, *b, *b, *b, *b]\n`;
      expect(() => parseObjectsArray(y)).to.throw(/through aliases/);
    });
  });
});

describe("provider/azure per-object validation", () => {
  const wrap = (type: string, name: string, cause: string) => `failed to get objectType:${type}, objectName:${name}, objectVersion:: ${cause}`;

  it("I5: upstream format/encoding texts and quirks", () => {
    expect(planError("objectName: a\nobjectType: secret\nobjectFormat: der")).to.equal(wrap("secret", "a", "invalid objectFormat: der, should be PEM or PFX"));
    expect(planError("objectName: a\nobjectType: cert\nobjectFormat: pfx")).to.equal(wrap("cert", "a", "PFX format only supported for objectType: secret"));
    // Exact-case compare upstream: uppercase PFX on a cert passes (and is ignored).
    expect(planObjects("objectName: a\nobjectType: cert\nobjectFormat: PFX")[0]!.objectType).to.equal("cert");
    expect(planError("objectName: a\nobjectType: key\nobjectEncoding: utf-8")).to.equal(wrap("key", "a", "objectEncoding only supported for objectType: secret"));
    expect(planError("objectName: a\nobjectType: secret\nobjectEncoding: latin1")).to.equal(wrap("secret", "a", "invalid objectEncoding: latin1, should be hex, base64 or utf-8"));
    expect(planObjects("objectName: a\nobjectType: secret\nobjectFormat: PFX\nobjectEncoding: HEX")[0]).to.include({ objectFormat: "pfx", objectEncoding: "hex" });
    // Format is checked before encoding.
    expect(planError("objectName: a\nobjectType: key\nobjectFormat: x\nobjectEncoding: y")).to.equal(wrap("key", "a", "invalid objectFormat: x, should be PEM or PFX"));
  });

  it("a wrong objectType passes planning and fails at fetch time with upstream's text", () => {
    const [o] = planObjects("objectName: a\nobjectType: Secret");
    expect(() => checkFetchableType(o!)).to.throw("failed to get objectType:Secret, objectName:a, objectVersion:: Invalid vaultObjectTypes. Should be secret, key, or cert");
    expect(checkFetchableType({ ...o!, objectType: "cert" })).to.equal("cert");
  });

  it("I1: upstream file-name checks", () => {
    expect(planError("objectName: ''\nobjectType: secret")).to.equal(wrap("secret", "", "file name must not be empty"));
    expect(planError("objectName: ok\nobjectAlias: /etc/x\nobjectType: secret")).to.equal(wrap("secret", "ok", "file name must be a relative path"));
    for (const bad of ["../x", "a/../../b", "..data", "..foo", "a..b", "a\\..\\b", "x/.."]) {
      expect(planError(`objectName: s\nobjectAlias: '${bad}'\nobjectType: secret`), bad).to.equal(wrap("secret", "s", "file name must not contain '..'"));
    }
  });

  it("I1 hardening: NUL, element > 255 bytes, path > 4096 bytes, unclean paths", () => {
    expect(planError('objectName: s\nobjectAlias: "a\\0b"\nobjectType: secret')).to.equal(wrap("secret", "s", "file name must not contain a NUL byte"));
    expect(planError(`objectName: s\nobjectAlias: ${"é".repeat(128)}\nobjectType: secret`)).to.equal(wrap("secret", "s", "file name element must not be longer than 255 bytes"));
    expect(planObjects(`objectName: s\nobjectAlias: ${"a".repeat(255)}\nobjectType: secret`)).to.have.length(1);
    const long = Array(20).fill("d".repeat(250)).join("/");
    expect(planError(`objectName: s\nobjectAlias: ${long}\nobjectType: secret`)).to.equal(wrap("secret", "s", "file name must not be longer than 4096 bytes"));
    for (const bad of ["a//b", "./a", "a/.", "a/"]) {
      expect(planError(`objectName: s\nobjectAlias: '${bad}'\nobjectType: secret`), bad).to.equal(
        wrap("secret", "s", `file name ${JSON.stringify(bad)} must be a clean relative path (no empty or '.' elements)`),
      );
    }
    // Sub-paths and backslashes (ordinary characters on Linux) stay allowed.
    expect(planObjects("objectName: s\nobjectAlias: dir/sub/file\nobjectType: secret", "objectName: t\nobjectAlias: 'a\\b'\nobjectType: secret")).to.have.length(2);
  });

  it("I3: filePermission is parsed strictly; '' means the default", () => {
    const ok = (fp: string) => planObjects(`objectName: s\nobjectType: secret\nfilePermission: ${fp}`)[0]!;
    expect(fileMode(ok("0755"), 0o644)).to.equal(0o755);
    expect(fileMode(ok("600"), 0o644)).to.equal(0o600);
    expect(fileMode(ok("0"), 0o644)).to.equal(0);
    expect(fileMode(ok("''"), 0o644)).to.equal(0o644);
    expect(fileMode(ok("~"), 0o640)).to.equal(0o640);
    const bad = (fp: string, why: string) =>
      expect(planError(`objectName: s\nobjectType: secret\nfilePermission: ${fp}`), fp).to.equal(wrap("secret", "s", `invalid filePermission ${JSON.stringify(fp)}: ${why}`));
    bad("0999", "must be an octal number such as 0644");
    bad("abc", "must be an octal number such as 0644");
    bad("-1", "must be an octal number such as 0644");
    bad("+644", "must be an octal number such as 0644");
    bad("04755", "setuid, setgid and sticky bits are not allowed");
    bad("1777", "setuid, setgid and sticky bits are not allowed");
    bad("17777", "must be at most 0777");
  });

  it("I2: two objects mapping to one file are rejected, naming both", () => {
    expect(planError("objectName: a\nobjectType: secret", "objectName: b\nobjectAlias: a\nobjectType: secret")).to.equal(
      'failed to get objectType:secret, objectName:b, objectVersion:: file "a" is also written by objectType:secret, objectName:a',
    );
    // The same object twice (upstream allows duplicate ids; the files would collide).
    expect(planError("objectName: a\nobjectType: secret", "objectName: a\nobjectType: key")).to.include('file "a" is also written by objectType:secret, objectName:a');
    // A file where another object needs a directory.
    expect(planError("objectName: a\nobjectType: secret", "objectName: b\nobjectAlias: a/b\nobjectType: secret")).to.include('file "a" is also written by');
    // History directories own <base>/0..N (N+1 files upstream).
    expect(planError("objectName: h\nobjectType: secret\nobjectVersionHistory: 3", "objectName: x\nobjectAlias: h/3\nobjectType: secret")).to.include('file "h/3" is also written by objectType:secret, objectName:h');
    expect(planObjects("objectName: h\nobjectType: secret\nobjectVersionHistory: 3", "objectName: x\nobjectAlias: h/4\nobjectType: secret")).to.have.length(2);
    expect(planObjects("objectName: h\nobjectType: secret\nobjectVersionHistory: 3", "objectName: x\nobjectAlias: h/extra\nobjectType: secret")).to.have.length(2);
    // Same clashes found whichever object comes first.
    expect(planError("objectName: b\nobjectAlias: a/b\nobjectType: secret", "objectName: a\nobjectType: secret")).to.equal(
      'failed to get objectType:secret, objectName:a, objectVersion:: file "a" is also written by objectType:secret, objectName:b',
    );
    expect(planError("objectName: x\nobjectAlias: h/0/deep\nobjectType: secret", "objectName: h\nobjectType: secret\nobjectVersionHistory: 2")).to.include('file "h/0" is also written by objectType:secret, objectName:x');
    // Distinct files are fine.
    expect(planObjects("objectName: a\nobjectType: secret", "objectName: a\nobjectAlias: a2\nobjectType: key")).to.have.length(2);
  });

  it("I2 after conversion: checkOutputPaths catches .crt/.key clashes and file-as-directory", () => {
    expect(() => checkOutputPaths([{ path: "tls.crt", id: "secret/tls" }, { path: "tls", id: "secret/tls" }, { path: "tls.crt", id: "secret/other" }])).to.throw(
      ProviderError,
      'file "tls.crt" is written by both secret/tls and secret/other',
    );
    expect(() => checkOutputPaths([{ path: "a", id: "secret/a" }, { path: "a/b", id: "secret/b" }])).to.throw('file "a" of secret/a is also a directory for secret/b');
    expect(() => checkOutputPaths([{ path: "h/0", id: "secret/h/0" }, { path: "h/1", id: "secret/h/1" }, { path: "h/extra", id: "secret/x" }])).to.not.throw();
  });

  it("repeated mounts of one SPC reuse the parse but never share object instances", () => {
    const first = planObjects("objectName: same\nobjectType: secret");
    first[0]!.objectAlias = "mutated";
    const second = planObjects("objectName: same\nobjectType: secret");
    expect(second[0]!.objectAlias).to.equal("same");
    expect(second[0]).to.not.equal(first[0]);
  });

  it("planning many objects stays linear (2000 objects with nested aliases)", () => {
    const docs = Array.from({ length: 2000 }, (_, i) => `objectName: s${i}\nobjectAlias: d${i % 50}/f${i}\nobjectType: secret`);
    const start = Date.now();
    expect(planObjects(...docs)).to.have.length(2000);
    expect(Date.now() - start).to.be.below(15_000);
  });

  it("fileMode reports a bad permission on an object that skipped planning", () => {
    const o: KeyVaultObject = { objectName: "n", objectType: "secret", objectVersion: "v1", objectVersionHistory: 0, objectAlias: "n", objectFormat: "pem", objectEncoding: "utf-8", filePermission: "9" };
    expect(() => fileMode(o, 0o644)).to.throw('failed to get objectType:secret, objectName:n, objectVersion:v1: invalid filePermission "9"');
  });
});
