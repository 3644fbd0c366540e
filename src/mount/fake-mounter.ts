// A mounter for unprivileged runs (the demo as non-root, unit tests): a
// "mount" is a marker in memory and the target stays a plain directory.
import { promises as fs } from "node:fs";
import { resolve } from "node:path";
import type { MountEntry, Mounter, TmpfsOptions } from "./mounter.js";

export class FakeMounter implements Mounter {
  readonly kind = "directory" as const;
  readonly mounts = new Map<string, MountEntry>();
  /** Calls, for assertions. */
  readonly log: string[] = [];
  failNextMount?: Error;
  failNextUnmount?: Error;

  async mountTmpfs(target: string, opts: TmpfsOptions): Promise<void> {
    this.log.push(`mount ${target}`);
    if (this.failNextMount) {
      const e = this.failNextMount;
      this.failNextMount = undefined;
      throw e;
    }
    await fs.stat(target);
    const options = ["rw", ...(opts.options ?? [])];
    if (opts.sizeBytes) options.push(`size=${opts.sizeBytes}`);
    this.mounts.set(resolve(target), {
      mountPoint: resolve(target),
      fsType: "tmpfs",
      source: "tmpfs",
      options,
    });
  }

  async unmount(target: string): Promise<void> {
    this.log.push(`unmount ${target}`);
    if (this.failNextUnmount) {
      const e = this.failNextUnmount;
      this.failNextUnmount = undefined;
      throw e;
    }
    if (!this.mounts.delete(resolve(target)))
      throw new Error(`unmount failed: ${target}: not mounted`);
    // A real unmount hides the tmpfs contents; emulate by emptying the directory.
    for (const e of await fs.readdir(target).catch(() => []))
      await fs.rm(`${target}/${e}`, { recursive: true, force: true });
  }

  async isMountPoint(target: string): Promise<boolean> {
    await fs.stat(target);
    return this.mounts.has(resolve(target));
  }

  async entry(target: string): Promise<MountEntry | undefined> {
    return this.mounts.get(resolve(target));
  }
}
