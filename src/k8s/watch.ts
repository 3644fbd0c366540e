// Informer-lite: list, then watch from the list's resourceVersion, keeping an
// in-memory cache of one kind. A 410 Gone (the server compacted past our
// resourceVersion) forces a relist; other failures back off and resume the
// watch. Consumers read the cache and get change callbacks; there is no
// work queue or resync period (the driver does not need them).
import type { Logger } from "../util/logger.js";
import type { KubeClient, WatchEventType } from "./client.js";
import { isGone } from "./errors.js";
import { objectKey, type KubeObject } from "./types.js";

export type ChangeType = "ADDED" | "MODIFIED" | "DELETED";

export interface Informer<T extends KubeObject> {
  /** From the cache; undefined when absent (or not yet synced). */
  get(namespace: string | undefined, name: string): T | undefined;
  list(): T[];
  /** Called for every cache change, including those a relist discovers. Returns an unsubscribe function. */
  onChange(cb: (type: ChangeType, obj: T, old?: T) => void): () => void;
  /** Resolves after the first successful list; rejects if stopped first. */
  synced(): Promise<void>;
  isSynced(): boolean;
  /** The resourceVersion the cache reflects. */
  resourceVersion(): string;
  stop(): void;
}

export interface InformerOptions {
  labelSelector?: string;
  fieldSelector?: string;
  log?: Logger;
  /** Backoff after a failed list or watch: starts here, doubles, capped by maxBackoffMs. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Server-side watch lifetime; the watch is then resumed (client-go uses 5–10 min). */
  watchTimeoutSeconds?: number;
}

export function createInformer<T extends KubeObject>(client: KubeClient, path: string, opts: InformerOptions = {}): Informer<T> {
  const cache = new Map<string, T>();
  const listeners = new Set<(type: ChangeType, obj: T, old?: T) => void>();
  const stopper = new AbortController();
  const initialBackoff = opts.initialBackoffMs ?? 500;
  const maxBackoff = opts.maxBackoffMs ?? 30_000;
  const log = opts.log?.child({ informer: path });
  let rv = "";
  let isSynced = false;
  let markSynced!: () => void;
  let failSync!: (e: Error) => void;
  const syncedPromise = new Promise<void>((resolve, reject) => {
    markSynced = resolve;
    failSync = reject;
  });
  // Callers may never await synced(); an unobserved rejection must not crash the process.
  syncedPromise.catch(() => undefined);

  const emit = (type: ChangeType, obj: T, old?: T) => {
    for (const cb of listeners) {
      try {
        cb(type, obj, old);
      } catch (e) {
        log?.error("informer listener failed", e);
      }
    }
  };

  const selectors = {
    ...(opts.labelSelector ? { labelSelector: opts.labelSelector } : {}),
    ...(opts.fieldSelector ? { fieldSelector: opts.fieldSelector } : {}),
  };

  async function relist(): Promise<void> {
    const res = await client.list<T>(path, { ...selectors, signal: stopper.signal });
    const seen = new Set<string>();
    for (const obj of res.items) {
      const key = objectKey(obj.metadata);
      seen.add(key);
      const old = cache.get(key);
      cache.set(key, obj);
      if (!old) emit("ADDED", obj);
      else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion) emit("MODIFIED", obj, old);
    }
    for (const [key, old] of [...cache]) {
      if (!seen.has(key)) {
        cache.delete(key);
        emit("DELETED", old, old);
      }
    }
    rv = res.metadata.resourceVersion;
    if (!isSynced) {
      isSynced = true;
      markSynced();
    }
  }

  function apply(type: WatchEventType, obj: T): void {
    const newRv = obj?.metadata?.resourceVersion;
    if (type === "BOOKMARK") {
      if (newRv) rv = newRv;
      return;
    }
    const key = objectKey(obj.metadata);
    const old = cache.get(key);
    if (type === "DELETED") {
      cache.delete(key);
      emit("DELETED", obj, old);
    } else {
      cache.set(key, obj);
      emit(old ? "MODIFIED" : "ADDED", obj, old);
    }
    if (newRv) rv = newRv;
  }

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        stopper.signal.removeEventListener("abort", done);
        resolve();
      }
      stopper.signal.addEventListener("abort", done, { once: true });
    });

  async function run(): Promise<void> {
    let backoff = initialBackoff;
    let needList = true;
    while (!stopper.signal.aborted) {
      try {
        if (needList) {
          await relist();
          needList = false;
          log?.v(4).info("informer listed", { count: cache.size, resourceVersion: rv });
        }
        const watchStarted = Date.now();
        let events = 0;
        await client.watch<T>(
          path,
          {
            ...selectors,
            resourceVersion: rv,
            signal: stopper.signal,
            // like client-go: 5–10 min, spread so that informers do not re-watch in lockstep
            timeoutSeconds: opts.watchTimeoutSeconds ?? Math.floor(300 + Math.random() * 300),
          },
          (type, obj) => {
            apply(type, obj);
            events++;
            backoff = initialBackoff;
          },
        );
        // The server ended the watch normally: resume from where we are, but
        // not in a hot loop if something keeps closing empty watches at once.
        if (events === 0 && Date.now() - watchStarted < 1000) {
          await sleep(backoff);
          backoff = Math.min(maxBackoff, backoff * 2);
        }
      } catch (e) {
        if (stopper.signal.aborted) break;
        if (isGone(e)) {
          // Our resourceVersion was compacted away: only a fresh list can catch up.
          log?.v(2).info("informer watch expired; relisting", { resourceVersion: rv });
          needList = true;
        } else {
          log?.warn("informer list/watch failed; retrying", { err: (e as Error).message, backoffMs: backoff });
        }
        await sleep(backoff);
        backoff = Math.min(maxBackoff, backoff * 2);
      }
    }
  }

  void run().catch((e: unknown) => log?.error("informer loop crashed", e));

  return {
    get: (namespace, name) => cache.get(namespace ? `${namespace}/${name}` : name),
    list: () => [...cache.values()],
    onChange(cb) {
      listeners.add(cb);
      return () => void listeners.delete(cb);
    },
    synced: () => syncedPromise,
    isSynced: () => isSynced,
    resourceVersion: () => rv,
    stop() {
      if (stopper.signal.aborted) return;
      stopper.abort();
      if (!isSynced) failSync(new Error(`informer for ${path} stopped before it synced`));
    },
  };
}
