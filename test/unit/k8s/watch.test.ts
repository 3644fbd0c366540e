// Informer logic against a scripted fake client: relist diffing, 410 handling,
// backoff on other errors, unsubscribe and stop-before-sync.
import { expect } from "chai";
import type { KubeClient, WatchEventType, WatchOptions } from "../../../src/k8s/client.js";
import { KubeError } from "../../../src/k8s/errors.js";
import type { KubeList, KubeObject } from "../../../src/k8s/types.js";
import { createInformer } from "../../../src/k8s/watch.js";

const obj = (name: string, rv: string): KubeObject => ({ metadata: { name, namespace: "ns", resourceVersion: rv } });

type WatchScript = (opts: WatchOptions, emit: (t: WatchEventType, o: KubeObject) => void) => Promise<void>;

function fakeClient(lists: (() => Promise<KubeList<KubeObject>>)[], watches: WatchScript[]) {
  const calls: string[] = [];
  let li = 0;
  let wi = 0;
  const client = {
    list: async () => {
      calls.push("list");
      const f = lists[Math.min(li++, lists.length - 1)]!;
      return f();
    },
    watch: async (_p: string, opts: WatchOptions, onEvent: (t: WatchEventType, o: KubeObject) => void) => {
      calls.push(`watch@${opts.resourceVersion}`);
      const w = watches[wi++];
      if (!w) {
        // park until stopped
        await new Promise<void>((r) => opts.signal.addEventListener("abort", () => r(), { once: true }));
        return;
      }
      return w(opts, onEvent);
    },
  } as unknown as KubeClient;
  return { client, calls };
}

const list = (rv: string, ...items: KubeObject[]) => async () => ({ metadata: { resourceVersion: rv }, items });
const tick = () => new Promise((r) => setTimeout(r, 5));
async function until(cond: () => boolean) {
  for (let i = 0; i < 400 && !cond(); i++) await tick();
  expect(cond()).to.equal(true);
}

describe("k8s/watch createInformer", () => {
  it("lists, then watches from the list resourceVersion and applies events", async () => {
    const { client, calls } = fakeClient(
      [list("10", obj("a", "9"))],
      [
        async (_o, emit) => {
          emit("ADDED", obj("b", "11"));
          emit("MODIFIED", obj("a", "12"));
          emit("BOOKMARK", obj("", "15"));
          emit("DELETED", obj("b", "16"));
        },
      ],
    );
    const inf = createInformer(client, "/x", { initialBackoffMs: 1 });
    const seen: string[] = [];
    inf.onChange((t, o, old) => seen.push(`${t} ${o.metadata.name} ${old?.metadata.resourceVersion ?? "-"}`));
    await inf.synced();
    await until(() => calls.includes("watch@16"));
    expect(calls.slice(0, 2)).to.deep.equal(["list", "watch@10"]);
    expect(seen).to.deep.equal(["ADDED a -", "ADDED b -", "MODIFIED a 9", "DELETED b 11"]);
    expect(inf.get("ns", "a")?.metadata.resourceVersion).to.equal("12");
    expect(inf.list()).to.have.length(1);
    expect(inf.resourceVersion()).to.equal("16");
    inf.stop();
  });

  it("relists on 410 and reports what changed meanwhile", async () => {
    const { client, calls } = fakeClient(
      [list("10", obj("a", "5"), obj("b", "6")), list("20", obj("b", "18"), obj("c", "19"))],
      [async () => Promise.reject(new KubeError(410, "Expired", "too old resource version"))],
    );
    const inf = createInformer(client, "/x", { initialBackoffMs: 1 });
    const seen: string[] = [];
    await inf.synced();
    inf.onChange((t, o) => seen.push(`${t} ${o.metadata.name}`));
    await until(() => calls.includes("watch@20"));
    expect(calls.slice(0, 4)).to.deep.equal(["list", "watch@10", "list", "watch@20"]);
    expect(seen.sort()).to.deep.equal(["ADDED c", "DELETED a", "MODIFIED b"]);
    inf.stop();
  });

  it("backs off and resumes the watch (no relist) after other errors", async () => {
    const { client, calls } = fakeClient(
      [list("10")],
      [async () => Promise.reject(new KubeError(0, "Unreachable", "ECONNRESET")), async () => Promise.reject(new KubeError(500, "InternalError", "boom"))],
    );
    const inf = createInformer(client, "/x", { initialBackoffMs: 1 });
    await until(() => calls.length >= 4);
    expect(calls.slice(0, 4)).to.deep.equal(["list", "watch@10", "watch@10", "watch@10"]);
    inf.stop();
  });

  it("does not spin when watches keep ending at once without events", async () => {
    const empty: WatchScript = async () => undefined;
    const { client, calls } = fakeClient([list("10")], Array<WatchScript>(50).fill(empty));
    const inf = createInformer(client, "/x", { initialBackoffMs: 20, maxBackoffMs: 40 });
    await inf.synced();
    await new Promise((r) => setTimeout(r, 150));
    inf.stop();
    expect(calls.filter((c) => c.startsWith("watch")).length).to.be.within(2, 8);
  });

  it("keeps retrying a failing first list, and synced() rejects if stopped first", async () => {
    const { client, calls } = fakeClient([async () => Promise.reject(new KubeError(403, "Forbidden", "no"))], []);
    const inf = createInformer(client, "/x", { initialBackoffMs: 1, maxBackoffMs: 2 });
    await until(() => calls.length >= 3);
    expect(inf.isSynced()).to.equal(false);
    inf.stop();
    const e = await inf.synced().catch((x: unknown) => x);
    expect((e as Error).message).to.contain("stopped before it synced");
  });

  it("unsubscribes listeners and survives a throwing one", async () => {
    const { client } = fakeClient([list("1", obj("a", "1"))], []);
    const inf = createInformer(client, "/x");
    let n = 0;
    const off = inf.onChange(() => n++);
    inf.onChange(() => {
      throw new Error("listener bug");
    });
    off();
    await inf.synced();
    expect(n).to.equal(0);
    expect(inf.get("ns", "a")).to.not.equal(undefined);
    inf.stop();
  });
});
