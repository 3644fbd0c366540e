import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { startProviderProcess, type ProviderProcess } from "../helpers/provider-process.js";
import { connectProvider } from "../helpers/provider-client.js";

const ROOT = resolve(__dirname, "..", "..");
const run = (...args: string[]) =>
  spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "src/main.ts"), "provider", "azure", ...args], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 30_000,
  });

describe("integration: akv-csi provider azure process", function () {
  this.timeout(60_000);
  let p: ProviderProcess | undefined;

  afterEach(async () => {
    await p?.stop();
    p = undefined;
  });

  it("--version prints {version, buildDate} JSON", () => {
    const r = run("--version");
    expect(r.status).to.equal(0);
    const v = JSON.parse(r.stdout) as { version: string; buildDate: string };
    expect(v.version).to.match(/^v\d+\.\d+\.\d+/);
    expect(v).to.have.property("buildDate");
  });

  it("rejects an unsupported metrics backend and an unknown cloud like upstream", () => {
    const r1 = run("--metrics-backend=statsd");
    expect(r1.status).to.equal(2);
    expect(r1.stderr).to.contain("unsupported metrics backend statsd");
    const r2 = run("--cloud-name=Mars");
    expect(r2.status).to.equal(2);
    expect(r2.stderr).to.contain('There is no cloud environment matching the name "MARS"');
  });

  it("serves Version, healthz and metrics; SIGTERM stops it cleanly and removes the socket", async () => {
    p = await startProviderProcess({ args: ["-v=5", "--custom-user-agent=ua", "--enable-pprof", "--construct-pem-chain=false"] });
    expect(statSync(p.socket).mode & 0o777).to.equal(0o700);
    const c = connectProvider(p.socket);
    const v = await c.version();
    c.close();
    expect(v.version).to.equal("v1alpha1");
    expect(v.runtime_name).to.equal("secrets-store-csi-driver-provider-azure");
    expect(v.runtime_version).to.match(/^v\d/);
    const h = await fetch(`http://127.0.0.1:${p.healthzPort}/healthz`);
    expect(h.status).to.equal(200);
    expect(await h.text()).to.equal("ok");
    expect((await fetch(`http://127.0.0.1:${p.healthzPort}/other`)).status).to.equal(404);
    const m = await p.metrics();
    expect(m).to.match(/grpc_request_count\{provider="azure",os_type="linux",service_name="csi-secrets-store-provider-azure",grpc_method="\/grpc.health.v1.Health\/Check",grpc_code="OK",grpc_message=""\} 1/);
    expect(m).to.match(/grpc_method="\/v1alpha1.CSIDriverProvider\/Version"/);
    // Idle RSS after start-up (reported by the suite for the record).
    const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p.child.pid}/status`, "utf8"));
    const rssMiB = Number(rss![1]) / 1024;
    process.stdout.write(`      provider idle RSS: ${rssMiB.toFixed(1)} MiB (tsx, unbundled)\n`);
    expect(rssMiB).to.be.below(200);
    const socket = p.socket;
    const code = await p.stop();
    p = undefined;
    expect(code).to.equal(0);
    expect(existsSync(socket)).to.equal(false);
  });

  it("healthz answers 503 when the gRPC server is unreachable", async () => {
    p = await startProviderProcess();
    // Remove the socket under the running server: the probe can no longer dial it.
    spawnSync("rm", ["-f", p.socket]);
    const h = await fetch(`http://127.0.0.1:${p.healthzPort}/healthz`);
    expect(h.status).to.equal(503);
    expect(await h.text()).to.not.equal("ok");
  });
});
