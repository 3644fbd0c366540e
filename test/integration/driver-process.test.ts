// `akv-csi driver` as a real process: socket lifecycle, signals, metrics
// endpoint, and serving while the API server is unreachable.
import * as grpc from "@grpc/grpc-js";
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { createServer } from "node:net";
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnAkv } from "../helpers/akv-process.js";
import { csiClient } from "../helpers/csi-client.js";

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

describe("integration: akv-csi driver process", function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "akv-dp-"));
    // A kubeconfig whose API server never answers (nothing listens on port 1).
    writeFileSync(
      join(dir, "kubeconfig"),
      [
        "apiVersion: v1",
        "kind: Config",
        "current-context: c",
        "contexts: [{name: c, context: {cluster: k, user: u}}]",
        "clusters: [{name: k, cluster: {server: 'https://127.0.0.1:1', insecure-skip-tls-verify: true}}]",
        "users: [{name: u, user: {token: unreachable-token-123456}}]",
      ].join("\n"),
    );
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("replaces a stale socket, serves without an API server, exposes metrics, and stops cleanly on SIGTERM", async () => {
    const sock = join(dir, "csi.sock");
    // A stale socket left by a process that died without cleaning up.
    execFileSync("python3", ["-c", "import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])", sock]);
    expect(statSync(sock).isSocket()).to.equal(true);
    const port = await freePort();
    const p = spawnAkv([
      "driver",
      `--endpoint=unix://${sock}`,
      "--nodeid=node-x",
      `--metrics-addr=127.0.0.1:${port}`,
      `--kubeconfig=${join(dir, "kubeconfig")}`,
    ]);
    try {
      // The stale socket exists from the start, so wait for the driver to say it serves.
      for (let i = 0; i < 400 && !p.output().includes("starting driver"); i++) {
        if (p.proc.exitCode !== null) throw new Error(p.output());
        await new Promise((r) => setTimeout(r, 50));
      }
      const c = csiClient(sock);
      expect(await c.call("Identity", "Probe")).to.deep.equal({ ready: { value: true } });
      expect(await c.call("Node", "NodeGetInfo")).to.deep.include({ node_id: "node-x" });
      const target = join(dir, "pods", "uid-1", "volumes", "kubernetes.io~csi", "v", "mount");
      mkdirSync(target, { recursive: true });
      await c.call("Node", "NodeUnpublishVolume", { volume_id: "v", target_path: target });
      expect(existsSync(target)).to.equal(false);

      const err = (await c
        .call("Node", "NodePublishVolume", {
          volume_id: "v",
          target_path: target,
          volume_capability: { mount: {} },
          readonly: true,
          volume_context: {
            secretProviderClass: "spc",
            "csi.storage.k8s.io/pod.name": "p",
            "csi.storage.k8s.io/pod.namespace": "ns",
            "csi.storage.k8s.io/pod.uid": "uid-1",
          },
        })
        .catch((e: grpc.ServiceError) => e)) as grpc.ServiceError;
      expect(err.code).to.equal(grpc.status.UNKNOWN);
      expect(err.details).to.match(/^failed to get secretproviderclass ns\/spc, error: .*(ECONNREFUSED|connect)/);
      expect(err.details).not.to.contain("unreachable-token-123456");

      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).to.match(/node_unpublish_total\{os_type="linux"\} 1/);
      expect(metrics).to.contain('node_publish_error_total{provider="",error_type="SecretProviderClassNotFound",os_type="linux"} 1');
      expect(metrics).to.contain("process_resident_memory_bytes");
      c.close();
      expect(statSync(sock).mode & 0o777).to.equal(0o700);
    } finally {
      const code = await p.stop();
      expect(code, p.output()).to.equal(0);
    }
    expect(existsSync(sock), "socket removed on shutdown").to.equal(false);
    expect(p.output()).to.contain("shutting down");
  });

  it("refuses to remove a non-socket file at the endpoint", async () => {
    const sock = join(dir, "csi.sock");
    writeFileSync(sock, "not a socket");
    const p = spawnAkv(["driver", `--endpoint=unix://${sock}`, "--nodeid=n", "--metrics-addr=127.0.0.1:0"]);
    const code = await new Promise<number | null>((r) => p.proc.once("exit", r));
    expect(code).to.equal(1);
    expect(p.output()).to.contain(`refusing to remove ${sock}: it exists and is not a socket`);
  });

  it("rejects unknown flags with Go's message and exit code 2; --version prints JSON", async () => {
    const p = spawnAkv(["driver", "--no-such-flag"]);
    expect(await new Promise((r) => p.proc.once("exit", r))).to.equal(2);
    expect(p.output()).to.contain("flag provided but not defined: -no-such-flag");
    const v = spawnAkv(["driver", "--version"]);
    expect(await new Promise((r) => v.proc.once("exit", r))).to.equal(0);
    expect(JSON.parse(v.output())).to.have.property("BuildVersion", "v1.6.0");
  });
});
