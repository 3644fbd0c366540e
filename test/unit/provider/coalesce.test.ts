import { expect } from "chai";
import { Coalescer, type CoalesceKey, type CoalesceOutcome } from "../../../src/provider/azure/coalesce.js";

const key = (principal: string, name = "s1", version = ""): CoalesceKey => ({
  principal,
  vaultUrl: "https://demo-kv.vault.azure.net/",
  type: "secret",
  name,
  version,
});

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe("provider/azure/coalesce", () => {
  it("concurrent equal reads by one identity share one call", async () => {
    const c = new Coalescer<string>({ ttlMs: 0 });
    let calls = 0;
    const d = deferred<string>();
    const outcomes: CoalesceOutcome[] = [];
    const all = Array.from({ length: 50 }, () =>
      c.run(key("wi|a"), () => (calls++, d.promise), undefined, (o) => outcomes.push(o)),
    );
    d.resolve("v");
    expect(await Promise.all(all)).to.deep.equal(Array(50).fill("v"));
    expect(calls).to.equal(1);
    expect(outcomes.filter((o) => o === "miss")).to.have.length(1);
    expect(outcomes.filter((o) => o === "shared")).to.have.length(49);
  });

  it("different identities never share, even for the same object", async () => {
    const c = new Coalescer<string>({ ttlMs: 60_000 });
    const seen: string[] = [];
    const fetch = (who: string) => async () => (seen.push(who), `value-for-${who}`);
    const [a, b] = await Promise.all([c.run(key("wi|a"), fetch("a")), c.run(key("wi|b"), fetch("b"))]);
    expect(a).to.equal("value-for-a");
    expect(b).to.equal("value-for-b");
    // And a cached result of one identity is not served to the other.
    expect(await c.run(key("wi|b"), fetch("b2"))).to.equal("value-for-b");
    expect(await c.run(key("sp|c"), fetch("c"))).to.equal("value-for-c");
    expect(seen).to.deep.equal(["a", "b", "c"]);
  });

  it("reuses a result within the TTL and fetches again after it", async () => {
    let now = 1_000;
    const c = new Coalescer<number>({ ttlMs: 30_000, now: () => now });
    let calls = 0;
    const fetch = async () => ++calls;
    expect(await c.run(key("p"), fetch)).to.equal(1);
    now += 29_999;
    expect(await c.run(key("p"), fetch)).to.equal(1);
    now += 2;
    expect(await c.run(key("p"), fetch)).to.equal(2);
  });

  it("ttl 0 shares only in-flight reads", async () => {
    const c = new Coalescer<number>({ ttlMs: 0 });
    let calls = 0;
    const fetch = async () => ++calls;
    await c.run(key("p"), fetch);
    await c.run(key("p"), fetch);
    expect(calls).to.equal(2);
    expect(c.size).to.equal(0);
  });

  it("versions and names are separate keys", async () => {
    const c = new Coalescer<string>({ ttlMs: 30_000 });
    const r1 = await c.run(key("p", "s1", "v1"), async () => "one");
    const r2 = await c.run(key("p", "s1", "v2"), async () => "two");
    const r3 = await c.run(key("p", "s2", "v1"), async () => "three");
    expect([r1, r2, r3]).to.deep.equal(["one", "two", "three"]);
  });

  it("errors are shared by concurrent waiters but never cached", async () => {
    const c = new Coalescer<string>({ ttlMs: 30_000 });
    let calls = 0;
    const d = deferred<string>();
    const a = c.run(key("p"), () => (calls++, d.promise));
    const b = c.run(key("p"), () => (calls++, d.promise));
    d.reject(new Error("SecretNotFound"));
    for (const p of [a, b]) {
      try {
        await p;
        expect.fail("should reject");
      } catch (e) {
        expect((e as Error).message).to.equal("SecretNotFound");
      }
    }
    expect(calls).to.equal(1);
    expect(await c.run(key("p"), async () => (calls++, "ok"))).to.equal("ok");
    expect(calls).to.equal(2);
  });

  it("one waiter giving up does not abort the shared fetch; the last one does", async () => {
    const c = new Coalescer<string>({ ttlMs: 0 });
    let fetchSignal: AbortSignal | undefined;
    const d = deferred<string>();
    const fetch = (s: AbortSignal) => {
      fetchSignal = s;
      s.addEventListener("abort", () => d.reject(new Error("fetch aborted")));
      return d.promise;
    };
    const ac1 = new AbortController();
    const ac2 = new AbortController();
    const p1 = c.run(key("p"), fetch, ac1.signal);
    const p2 = c.run(key("p"), fetch, ac2.signal);
    ac1.abort(new Error("pod 1 gone"));
    await p1.then(
      () => expect.fail("p1 should reject"),
      (e: Error) => expect(e.message).to.equal("pod 1 gone"),
    );
    expect(fetchSignal!.aborted).to.equal(false);
    ac2.abort(new Error("pod 2 gone"));
    await p2.catch(() => undefined);
    expect(fetchSignal!.aborted).to.equal(true);
    // A new caller starts a fresh flight instead of joining the dying one.
    expect(await c.run(key("p"), async () => "fresh")).to.equal("fresh");
  });
});
