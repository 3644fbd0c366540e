// The seam between the driver and the kernel's mount table.

export interface TmpfsOptions {
  /** Size cap in bytes; 0 or undefined means the kernel default (half of RAM). */
  sizeBytes?: number;
  /** Extra hardening options (nosuid, nodev, noexec …). */
  options?: string[];
}

export interface MountEntry {
  mountPoint: string;
  fsType: string;
  source: string;
  /** Per-mount options (e.g. rw, nosuid, nodev) and super-block options (e.g. size=…). */
  options: string[];
}

export interface Mounter {
  mountTmpfs(target: string, opts: TmpfsOptions): Promise<void>;
  unmount(target: string): Promise<void>;
  /** True when `target` is itself a mount point. */
  isMountPoint(target: string): Promise<boolean>;
  /** The mount table entry for `target`, if it is a mount point. */
  entry(target: string): Promise<MountEntry | undefined>;
  /** "tmpfs" for a kernel mount, "directory" for the fake. */
  readonly kind: "tmpfs" | "directory";
}
