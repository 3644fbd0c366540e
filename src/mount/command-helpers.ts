// Runs mount(8) and umount(8) from small helper processes instead of the
// driver itself. Every spawn forks the calling process on its event-loop
// thread, and forking a busy driver (150+ MiB) costs milliseconds: 500 mounts
// took ~9 s of blocked loop that way, against ~1 s through two 35 MiB helpers
// (bench/, measured here). The helpers run only these two programs, with
// argument arrays (no shell), and answer over the IPC channel.
import { spawn, type ChildProcess } from "node:child_process";

/** The helper's whole program, run with `node -e` so it needs no file on disk. */
const HELPER_SOURCE = `
const { execFile } = require("node:child_process");
const ALLOWED = new Set(["mount", "umount"]);
process.on("message", (m) => {
  if (!m || !ALLOWED.has(m.cmd) || !Array.isArray(m.args) || !m.args.every((a) => typeof a === "string")) {
    process.send({ id: m && m.id, err: "refused: not a mount or umount command" });
    return;
  }
  execFile(m.cmd, m.args, { timeout: m.timeoutMs || 30000 }, (e, _out, stderr) => {
    process.send({ id: m.id, err: e ? String(stderr || e.message).trim() || e.message : "" });
  });
});
process.on("disconnect", () => process.exit(0));
`;

interface Pending {
  resolve: () => void;
  reject: (e: Error) => void;
}

class Helper {
  readonly pending = new Map<number, Pending>();
  private readonly child: ChildProcess;
  private nextId = 0;
  dead = false;

  constructor() {
    this.child = spawn(process.execPath, ["-e", HELPER_SOURCE], { stdio: ["ignore", "ignore", "inherit", "ipc"] });
    this.child.on("message", (m: { id: number; err: string }) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (this.pending.size === 0) this.idle();
      if (m.err) p.reject(new Error(m.err));
      else p.resolve();
    });
    const fail = (why: string) => {
      this.dead = true;
      for (const p of this.pending.values()) p.reject(new Error(`mount helper ${why}`));
      this.pending.clear();
    };
    this.child.on("exit", (code, signal) => fail(`exited (${signal ?? code})`));
    this.child.on("error", (e) => fail(`failed: ${e.message}`));
    this.idle();
  }

  /** An idle helper must not keep the driver's event loop alive. */
  private idle(): void {
    this.child.unref();
    (this.child.channel as { unref?: () => void } | undefined)?.unref?.();
  }

  private busy(): void {
    this.child.ref();
    (this.child.channel as { ref?: () => void } | undefined)?.ref?.();
  }

  run(cmd: string, args: string[], timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const id = ++this.nextId;
      if (this.pending.size === 0) this.busy();
      this.pending.set(id, { resolve, reject });
      this.child.send({ id, cmd, args, timeoutMs }, (err) => {
        if (!err) return;
        this.pending.delete(id);
        reject(err);
      });
    });
  }

  close(): void {
    this.dead = true;
    this.child.kill();
  }
}

export class CommandHelpers {
  private helpers: Helper[] = [];

  constructor(private readonly size = 2) {}

  /** Runs `cmd args…`; rejects with the program's stderr (or exit reason). */
  run(cmd: "mount" | "umount", args: string[], timeoutMs = 30_000): Promise<void> {
    this.helpers = this.helpers.filter((h) => !h.dead);
    while (this.helpers.length < this.size) this.helpers.push(new Helper());
    const h = this.helpers.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
    return h.run(cmd, args, timeoutMs);
  }

  close(): void {
    for (const h of this.helpers) h.close();
    this.helpers = [];
  }
}
