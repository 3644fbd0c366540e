// Runs `akv-csi provider azure` as a child process (the deployment shape:
// NODE_EXTRA_CA_CERTS and HTTPS_PROXY are read only at process start).
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export interface ProviderProcess {
  child: ChildProcess;
  socket: string;
  dir: string;
  healthzPort: number;
  metricsPort: number;
  /** Everything the process wrote to stderr and stdout so far. */
  output(): string;
  metrics(): Promise<string>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

const ROOT = resolve(__dirname, "..", "..");

export async function startProviderProcess(opts: { args?: string[]; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<ProviderProcess> {
  const dir = mkdtempSync(join(tmpdir(), "akv-provider-it-"));
  const socket = join(dir, "azure.sock");
  const args = [
    "--import",
    "tsx",
    join(ROOT, "src", "main.ts"),
    "provider",
    "azure",
    `--endpoint=unix://${socket}`,
    "--healthz-port=0",
    "--prometheus-port=0",
    "--healthz-host=127.0.0.1",
    "--metrics-host=127.0.0.1",
    ...(opts.args ?? []),
  ];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, ...opts.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  let healthzPort = 0;
  let metricsPort = 0;
  while (Date.now() < deadline) {
    const h = /healthzPort=(\d+)/.exec(out);
    const m = /prometheusPort=(\d+)/.exec(out);
    if (h && m) {
      healthzPort = Number(h[1]);
      metricsPort = Number(m[1]);
      break;
    }
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!healthzPort) {
    child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`provider did not start:\n${out}`);
  }
  return {
    child,
    socket,
    dir,
    healthzPort,
    metricsPort,
    output: () => out,
    metrics: async () => (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text(),
    stop: async () => {
      if (child.exitCode === null) child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      const code = await exited;
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
      return code;
    },
  };
}
