import { expect } from "chai";
import { memoryLogger } from "../../../src/util/logger.js";
import { STRIPPED, redact, registerSecretValue } from "../../../src/util/redact.js";

describe("util/redact and logger", () => {
  it("strips sensitive keys at any depth and buffers", () => {
    const out = redact({ a: 1, secrets: { x: "y" }, nested: { clientSecret: "s", access_token: "t", keep: "k" }, contents: Buffer.from("v") }) as any;
    expect(out).to.deep.equal({ a: 1, secrets: STRIPPED, nested: { clientSecret: STRIPPED, access_token: STRIPPED, keep: "k" }, contents: STRIPPED });
    expect(redact({ "csi.storage.k8s.io/serviceAccount.tokens": "{}" })).to.deep.equal({ "csi.storage.k8s.io/serviceAccount.tokens": STRIPPED });
  });
  it("scrubs registered literal values from free text", () => {
    registerSecretValue("literal-secret-abcdef");
    expect(redact("error: bad literal-secret-abcdef here")).to.equal(`error: bad ${STRIPPED} here`);
    registerSecretValue("short");
    expect(redact("short")).to.equal("short");
  });
  it("klog-like text lines with -v gating", () => {
    const { log, lines } = memoryLogger(2);
    log.info("hello", { pod: "ns/p" });
    log.v(2).info("shown");
    log.v(3).info("hidden");
    expect(lines).to.have.length(2);
    expect(lines[0]).to.match(/^I\d{4} \d\d:\d\d:\d\d\.\d{6} +\d+ akv-csi\] "hello" pod="ns\/p"\n$/);
  });
  it("JSON lines carry v and redacted fields", () => {
    const { log, lines } = memoryLogger(5, true);
    log.v(5).info("req", { request: { secrets: { a: "b" } } });
    const o = JSON.parse(lines[0]!);
    expect(o).to.include({ msg: "req", v: 5 });
    expect(o.request.secrets).to.equal(STRIPPED);
  });
});
