import { expect } from "chai";
import type { AccessToken } from "@azure/identity";
import { CachingCredential, KeyedCache, REFRESH_MARGIN_MS } from "../../../src/provider/azure/token-cache.js";

describe("provider/azure/token-cache", () => {
  it("reuses a token until shortly before expiry and coalesces concurrent requests", async () => {
    let now = 1_000_000;
    let calls = 0;
    const inner = {
      getToken: async (): Promise<AccessToken> => {
        calls++;
        await new Promise((r) => setTimeout(r, 5));
        return { token: `t${calls}`, expiresOnTimestamp: now + 3_600_000 };
      },
    };
    const c = new CachingCredential(inner, () => now);
    const first = await Promise.all(Array.from({ length: 20 }, () => c.getToken("https://vault.azure.net/.default")));
    expect(new Set(first.map((t) => t!.token))).to.deep.equal(new Set(["t1"]));
    now += 3_600_000 - REFRESH_MARGIN_MS - 1;
    expect((await c.getToken("https://vault.azure.net/.default"))!.token).to.equal("t1");
    now += 2;
    expect((await c.getToken("https://vault.azure.net/.default"))!.token).to.equal("t2");
    // Another scope is another token.
    expect((await c.getToken("https://other/.default"))!.token).to.equal("t3");
    expect(calls).to.equal(3);
  });

  it("does not cache failures", async () => {
    let calls = 0;
    const c = new CachingCredential({
      getToken: async () => {
        calls++;
        if (calls === 1) throw new Error("AADSTS700016");
        return { token: "ok", expiresOnTimestamp: Date.now() + 3_600_000 };
      },
    });
    await c.getToken("s").then(
      () => expect.fail("should reject"),
      (e: Error) => expect(e.message).to.equal("AADSTS700016"),
    );
    expect((await c.getToken("s"))!.token).to.equal("ok");
  });

  it("KeyedCache keeps one object per key and evicts LRU and idle entries", () => {
    let now = 0;
    const k = new KeyedCache<object>(2, 1000, () => now);
    const a = k.getOrCreate("a", () => ({ a: 1 }));
    expect(k.getOrCreate("a", () => ({ a: 2 }))).to.equal(a);
    k.getOrCreate("b", () => ({}));
    k.getOrCreate("a", () => ({})); // a is now most recent
    k.getOrCreate("c", () => ({}));
    expect(k.get("b")).to.equal(undefined);
    expect(k.get("a")).to.equal(a);
    now = 5000;
    const a2 = k.getOrCreate("a", () => ({ fresh: true }));
    expect(a2).to.not.equal(a);
    expect(k.size).to.equal(1);
  });
});
