import { expect } from "chai";
import { createHttpHeaders, createPipelineRequest, type PipelineResponse } from "@azure/core-rest-pipeline";
import { CoalescingKeyVaultSource, errorCode, KeyVaultError, throttlePolicy, versionFromId, type KeyVault } from "../../../src/provider/azure/keyvault.js";
import { ThrottledError, ThrottleGate } from "../../../src/provider/azure/throttle.js";

const response = (status: number, headers: Record<string, string> = {}): PipelineResponse => ({
  status,
  headers: createHttpHeaders(headers),
  request: createPipelineRequest({ url: "https://kv.vault.azure.net/secrets/x" }),
});

describe("provider/azure/keyvault", () => {
  it("versions are the last segment of the id", () => {
    expect(versionFromId("https://kv.vault.azure.net/secrets/s1/abc123")).to.equal("abc123");
    expect(versionFromId("https://kv.vault.azure.net/keys/k/v9/")).to.equal("v9");
    expect(versionFromId(undefined)).to.equal("");
  });

  it("metric error codes are short identifiers, never free text", () => {
    expect(errorCode(new KeyVaultError("long text", "SecretNotFound", 404))).to.equal("SecretNotFound");
    expect(errorCode(new ThrottledError("kv", Date.now()))).to.equal("Throttled");
    expect(errorCode(Object.assign(new Error("x"), { name: "AbortError" }))).to.equal("Timeout");
    expect(errorCode(Object.assign(new Error("x"), { code: "Forbidden", statusCode: 403 }))).to.equal("Forbidden");
    expect(errorCode(Object.assign(new Error("x"), { code: "has spaces and secret=abc", statusCode: 500 }))).to.equal("HTTP500");
    expect(errorCode(new Error("AADSTS700016: application not found"))).to.equal("Unknown");
    expect(errorCode("string")).to.equal("Unknown");
  });

  it("the throttle policy opens the vault's window on 429 and holds the next request", async () => {
    const gate = new ThrottleGate();
    const policy = throttlePolicy(gate);
    const req = createPipelineRequest({ url: "https://kv.vault.azure.net/secrets/a" });
    const first = await policy.sendRequest(req, async () => response(429, { "retry-after": "1" }));
    expect(first.status).to.equal(429);
    expect(gate.until("kv.vault.azure.net")).to.be.a("number");
    const t0 = Date.now();
    const second = await policy.sendRequest(createPipelineRequest({ url: "https://kv.vault.azure.net/secrets/b" }), async () => response(200));
    expect(second.status).to.equal(200);
    expect(Date.now() - t0).to.be.at.least(900);
    // 503 without Retry-After is left to the SDK's own retry.
    await policy.sendRequest(req, async () => response(503));
    expect(gate.until("kv.vault.azure.net")).to.equal(undefined);
  });

  it("coalescing is scoped by principal", async () => {
    let calls = 0;
    const inner = {
      forIdentity: (): KeyVault => ({
        getSecret: async () => ({ value: `v${++calls}`, version: "1" }),
        getKey: () => Promise.reject(new Error("unused")),
        getCertificate: () => Promise.reject(new Error("unused")),
        listVersions: async () => [],
      }),
    };
    const src = new CoalescingKeyVaultSource(inner, { ttlMs: 30_000 });
    const cred = { getToken: async () => null };
    const a = src.forIdentity({ principal: "wi|a", credential: cred });
    const b = src.forIdentity({ principal: "wi|b", credential: cred });
    const [a1, a2, b1] = await Promise.all([a.getSecret("u", "s", ""), a.getSecret("u", "s", ""), b.getSecret("u", "s", "")]);
    expect(a1.value).to.equal(a2.value);
    expect(b1.value).to.not.equal(a1.value);
    expect(calls).to.equal(2);
  });
});
