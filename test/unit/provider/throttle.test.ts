import { expect } from "chai";
import { retryAfterMs, ThrottledError, ThrottleGate } from "../../../src/provider/azure/throttle.js";

describe("provider/azure/throttle", () => {
  it("no window: wait returns at once", async () => {
    const g = new ThrottleGate();
    const t0 = Date.now();
    await g.wait("demo.vault.azure.net");
    expect(Date.now() - t0).to.be.below(50);
    expect(g.until("demo.vault.azure.net")).to.equal(undefined);
  });

  it("new calls wait for the open window (Retry-After honoured)", async () => {
    const opened: string[] = [];
    const g = new ThrottleGate({ onOpen: (v) => opened.push(v) });
    g.open("demo.vault.azure.net", 300);
    g.open("demo.vault.azure.net", 100); // a shorter answer does not shorten the window
    const t0 = Date.now();
    await Promise.all([g.wait("demo.vault.azure.net"), g.wait("DEMO.vault.azure.net")]);
    const waited = Date.now() - t0;
    expect(waited).to.be.within(280, 1000);
    expect(opened).to.deep.equal(["demo.vault.azure.net"]); // one log line per window
    // Other vaults are not held.
    const t1 = Date.now();
    g.open("demo.vault.azure.net", 500);
    await g.wait("other.vault.azure.net");
    expect(Date.now() - t1).to.be.below(50);
  });

  it("fails fast with 'throttled until T' when the window outlasts the deadline", async () => {
    const g = new ThrottleGate();
    const until = g.open("demo.vault.azure.net", 10_000);
    const t0 = Date.now();
    try {
      await g.wait("demo.vault.azure.net", undefined, Date.now() + 1_000);
      expect.fail("should throw");
    } catch (e) {
      expect(e).to.be.instanceOf(ThrottledError);
      expect((e as Error).message).to.contain(`throttled until ${new Date(until).toISOString()}`);
    }
    expect(Date.now() - t0).to.be.below(50);
  });

  it("a waiting call can be cancelled", async () => {
    const g = new ThrottleGate();
    g.open("v", 5_000);
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error("cancelled by caller")), 30);
    try {
      await g.wait("v", ac.signal);
      expect.fail("should reject");
    } catch (e) {
      expect((e as Error).message).to.equal("cancelled by caller");
    }
  });

  it("caps a hostile Retry-After", () => {
    let now = 0;
    const g = new ThrottleGate({ now: () => now, maxWindowMs: 60_000 });
    expect(g.open("v", 3_600_000)).to.equal(60_000);
    now = 60_001;
    expect(g.until("v")).to.equal(undefined);
  });

  it("parses Retry-After forms", () => {
    const h = (m: Record<string, string>) => (n: string) => m[n];
    expect(retryAfterMs(h({ "retry-after": "3" }))).to.equal(3000);
    expect(retryAfterMs(h({ "retry-after-ms": "250" }))).to.equal(250);
    expect(retryAfterMs(h({ "x-ms-retry-after-ms": "40", "retry-after": "9" }))).to.equal(40);
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(retryAfterMs(h({ "retry-after": "Thu, 01 Jan 2026 00:00:05 GMT" }), now)).to.equal(5000);
    expect(retryAfterMs(h({ "retry-after": "soon" }))).to.equal(undefined);
    expect(retryAfterMs(h({}))).to.equal(undefined);
  });
});
