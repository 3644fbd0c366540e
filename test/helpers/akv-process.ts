// Runs `akv-csi <command>` as a child process (through tsx, from source),
// collects its output, waits for its socket, and stops it with SIGTERM.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

export const REPO = join(__dirname, "..", "..");

export interface AkvProcess {
  proc: ChildProcess;
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
}

export function spawnAkv(args: string[], env: NodeJS.ProcessEnv = {}): AkvProcess {
  const proc = spawn(process.execPath, ["--import", "tsx", join(REPO, "src/main.ts"), ...args], {
    cwd: REPO,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const chunks: Buffer[] = [];
  proc.stdout.on("data", (b: Buffer) => chunks.push(b));
  proc.stderr.on("data", (b: Buffer) => chunks.push(b));
  const exited = new Promise<number | null>((r) => proc.once("exit", (code) => r(code)));
  return {
    proc,
    output: () => Buffer.concat(chunks).toString("utf8"),
    async stop(graceMs = 5000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      proc.kill("SIGTERM");
      const t = setTimeout(() => proc.kill("SIGKILL"), graceMs);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}

export async function waitForPath(path: string, p: AkvProcess, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!existsSync(path)) {
    if (p.proc.exitCode !== null) throw new Error(`process exited (${p.proc.exitCode}) before ${path} appeared:\n${p.output()}`);
    if (Date.now() > until) throw new Error(`timed out waiting for ${path}:\n${p.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
