// Real mounts through mount(8)/umount(8), as the upstream driver does via
// mount-utils; the mount table is read from /proc/self/mountinfo.
import { promises as fs } from "node:fs";
import { resolve } from "node:path";
import { CommandHelpers } from "./command-helpers.js";
import type { MountEntry, Mounter, TmpfsOptions } from "./mounter.js";
import { parseMountInfo } from "./mountinfo.js";

async function realTarget(target: string): Promise<string> {
  try {
    return await fs.realpath(target);
  } catch {
    return resolve(target);
  }
}

export class LinuxMounter implements Mounter {
  readonly kind = "tmpfs" as const;
  private readonly commands = new CommandHelpers();
  constructor(private readonly mountinfoPath = "/proc/self/mountinfo") {}

  async mountTmpfs(target: string, opts: TmpfsOptions): Promise<void> {
    const o = [...(opts.options ?? [])];
    if (opts.sizeBytes && opts.sizeBytes > 0) o.push(`size=${opts.sizeBytes}`);
    const args = ["-t", "tmpfs", ...(o.length ? ["-o", o.join(",")] : []), "tmpfs", target];
    try {
      await this.commands.run("mount", args);
    } catch (e) {
      throw new Error(`mount failed: ${(e as Error).message} (mount ${args.join(" ")})`, { cause: e });
    }
  }

  async unmount(target: string): Promise<void> {
    try {
      await this.commands.run("umount", [target]);
    } catch (e) {
      throw new Error(`unmount failed: ${(e as Error).message} (umount ${target})`, { cause: e });
    }
  }

  /** Stops the helper processes (they also exit with the driver). */
  close(): void {
    this.commands.close();
  }

  async entries(): Promise<MountEntry[]> {
    return parseMountInfo(await fs.readFile(this.mountinfoPath, "utf8"));
  }

  async entry(target: string): Promise<MountEntry | undefined> {
    const t = await realTarget(target);
    // The last entry wins: a later mount on the same point hides earlier ones.
    return (await this.entries()).filter((e) => e.mountPoint === t).pop();
  }

  async isMountPoint(target: string): Promise<boolean> {
    await fs.stat(target); // surface ENOENT / EACCES like upstream's IsLikelyNotMountPoint
    return (await this.entry(target)) !== undefined;
  }
}
