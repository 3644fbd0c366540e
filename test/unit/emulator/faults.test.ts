import { expect } from "chai";
import { FaultTable, faultRuleFromJson, LatencyTable, sampleLatency, TokenBucket } from "../../../src/emulator/faults.js";
import { Counters } from "../../../src/emulator/stats.js";

const req = (over: Partial<{ method: string; path: string; route: "secret.get" | "key.get" | "entra.token"; vault: string }> = {}) => ({
  method: "GET", path: "/secrets/db/", route: "secret.get" as const, vault: "demo-kv", ...over,
});

describe("emulator fault matching", () => {
  it("matches on method, path regex, route and vault, and consumes `times`", () => {
    const t = new FaultTable();
    t.add({ method: "get", path: /^\/secrets\/db\//, route: "secret.get", vault: "DEMO-KV", times: 2, action: { kind: "status", status: 429, retryAfterSeconds: 3 } });
    expect(t.take(req({ method: "PUT" }))).to.equal(undefined);
    expect(t.take(req({ path: "/secrets/other/" }))).to.equal(undefined);
    expect(t.take(req({ vault: "other" }))).to.equal(undefined);
    expect(t.take(req({ route: "key.get" }))).to.equal(undefined);
    expect(t.take(req())).to.deep.equal({ kind: "status", status: 429, retryAfterSeconds: 3 });
    expect(t.take(req())?.kind).to.equal("status");
    expect(t.take(req())).to.equal(undefined);
    expect(t.pending()).to.equal(0);
  });

  it("keeps unlimited rules, applies the first match, and clears", () => {
    const t = new FaultTable();
    t.add({ path: "^/secrets/", action: { kind: "reset" } });
    t.add({ action: { kind: "hang" } });
    for (let i = 0; i < 5; i++) expect(t.take(req())?.kind).to.equal("reset");
    expect(t.take(req({ path: "/keys/k/" }))?.kind).to.equal("hang");
    t.clear();
    expect(t.take(req())).to.equal(undefined);
  });

  it("a global-flag regex does not skip matches through lastIndex", () => {
    const t = new FaultTable();
    t.add({ path: /secrets/g, action: { kind: "delay", ms: 1 } });
    expect(t.take(req())?.kind).to.equal("delay");
    expect(t.take(req())?.kind).to.equal("delay");
  });

  it("validates rules", () => {
    const t = new FaultTable();
    expect(() => t.add({ action: { kind: "status", status: 200 } })).to.throw(/4xx or 5xx/);
    expect(() => t.add({ times: 0, action: { kind: "reset" } })).to.throw(/positive/);
    expect(() => t.add({ action: { kind: "explode" } as never })).to.throw(/unknown fault kind/);
    expect(() => faultRuleFromJson({})).to.throw(/action/);
    const r = faultRuleFromJson({ path: "^/x$", times: 1, route: "entra.token", action: { kind: "status", status: 503 } });
    t.add(r);
    expect(t.take(req({ path: "/x", route: "entra.token" }))).to.deep.equal({ kind: "status", status: 503 });
  });
});

describe("emulator throttle and latency", () => {
  it("token bucket allows `capacity` per window per key and reports the wait", () => {
    let now = 0;
    const b = new TokenBucket(4, 10_000, () => now);
    expect([1, 2, 3, 4].map(() => b.take("kv"))).to.deep.equal([0, 0, 0, 0]);
    expect(b.take("kv")).to.equal(3); // one token per 2.5 s
    expect(b.take("other")).to.equal(0);
    now = 2_500;
    expect(b.take("kv")).to.equal(0);
    expect(b.take("kv")).to.be.greaterThan(0);
    b.reset();
    expect(b.take("kv")).to.equal(0);
  });

  it("latency defaults apply to vault routes only", () => {
    const l = new LatencyTable(50);
    expect(l.for("secret.get")).to.equal(50);
    expect(l.for("entra.token")).to.equal(0);
    l.set(7, "entra.token");
    expect(l.for("entra.token")).to.equal(7);
    expect(() => l.set(-1)).to.throw();
  });

  it("samples uniform and log-normal latencies", () => {
    const l = new LatencyTable();
    l.set({ uniform: [10, 20] });
    expect(l.for("key.get", () => 0)).to.equal(10);
    expect(l.for("key.get", () => 0.5)).to.equal(15);
    // u1 = e^-0.5 and u2 = 0 give z = 1, so the draw is median * e^sigma.
    l.set({ lognormal: { medianMs: 50, sigma: 0.5 } }, "secret.get");
    const seq = [Math.exp(-0.5), 0];
    expect(l.for("secret.get", () => seq.shift()!)).to.be.closeTo(50 * Math.exp(0.5), 1e-9);
    const draws = Array.from({ length: 2001 }, () => sampleLatency({ lognormal: { medianMs: 50, sigma: 0.8 } })).sort((a, b) => a - b);
    expect(draws[1000]).to.be.within(40, 62);
    expect(() => l.set({ uniform: [5, 1] })).to.throw(/min <= max/);
    expect(() => l.set({ lognormal: { medianMs: 0, sigma: 1 } })).to.throw(/medianMs/);
  });
});

describe("emulator counters", () => {
  it("counts by route, vault, status and principal", () => {
    const c = new Counters();
    c.record("secret.get", "demo-kv", 200, "app-1");
    c.record("secret.get", "demo-kv", 200, "app-1");
    c.record("secret.get", "demo-kv", 401, undefined);
    c.record("entra.token", undefined, 200, "app-1");
    expect(c.count({ route: "secret.get", principal: "APP-1" })).to.equal(2);
    expect(c.count({ principal: "anonymous" })).to.equal(1);
    expect(c.count({ route: /^secret\./, vault: "Demo-KV" })).to.equal(3);
    const s = c.snapshot();
    expect(s.total).to.equal(4);
    expect(s.byStatus).to.deep.equal({ "200": 3, "401": 1 });
    expect(s.byPrincipal["app-1"]).to.equal(3);
    c.reset();
    expect(c.snapshot().total).to.equal(0);
  });
});
