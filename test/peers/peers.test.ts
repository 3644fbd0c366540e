// peers.ts and build.sh's cache rules, with a fake cache (builds nothing).
import { execFile } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect } from "chai";
import type { Context } from "mocha";
import { PEER_VERSIONS, peerEnvVar, peerPath, requirePeer } from "./peers.js";

const run = promisify(execFile);
const BUILD_SH = join(__dirname, "build.sh");

describe("test peers: pinned versions and cache lookup", () => {
  let cache: string;
  const saved = { ...process.env };

  beforeEach(() => {
    cache = mkdtempSync(join(tmpdir(), "akv-csi-peer-cache-"));
    process.env.AKV_CSI_PEER_CACHE = cache;
    delete process.env[peerEnvVar("etcd")];
    delete process.env[peerEnvVar("kubectl")];
  });
  afterEach(() => {
    rmSync(cache, { recursive: true, force: true });
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  });

  function fakeBuild(build: string, version: string, bins: string[], stamp: string | undefined): void {
    const dir = join(cache, `${build}-${version}`);
    mkdirSync(join(dir, "bin"), { recursive: true });
    for (const b of bins) {
      writeFileSync(join(dir, "bin", b), "#!/bin/sh\n");
      chmodSync(join(dir, "bin", b), 0o755);
    }
    if (stamp !== undefined) writeFileSync(join(dir, ".done"), `${stamp}\nbuilt\n`);
  }

  it("PEER_VERSIONS is versions.env, and build.sh knows the same peers", () => {
    const env = readFileSync(join(__dirname, "versions.env"), "utf8");
    expect(env).to.include(`ETCD_VERSION=${PEER_VERSIONS.etcd}`);
    expect(env).to.include(`KUBERNETES_VERSION=${PEER_VERSIONS["kube-apiserver"]}`);
    const all = /^ALL=\(([^)]*)\)/m.exec(readFileSync(BUILD_SH, "utf8"))?.[1]?.split(/\s+/).sort();
    expect(all).to.deep.equal(Object.keys(PEER_VERSIONS).sort());
    for (const v of Object.values(PEER_VERSIONS)) expect(v).to.match(/^v\d+\.\d+\.\d+$/);
  });

  it("a binary counts only with a stamp of the pinned version", () => {
    fakeBuild("etcd", PEER_VERSIONS.etcd, ["etcd", "etcdctl"], undefined);
    expect(peerPath("etcd"), "no stamp").to.equal(undefined);
    fakeBuild("etcd", PEER_VERSIONS.etcd, [], "v0.0.1");
    expect(peerPath("etcd"), "stamp of another version").to.equal(undefined);
    fakeBuild("etcd", PEER_VERSIONS.etcd, [], PEER_VERSIONS.etcd);
    expect(peerPath("etcdctl")).to.equal(join(cache, `etcd-${PEER_VERSIONS.etcd}`, "bin", "etcdctl"));
    expect(peerPath("kubectl"), "kubectl comes from the kube-apiserver build").to.equal(undefined);
  });

  it("AKV_CSI_PEER_<NAME> overrides the cache when it names an executable", () => {
    process.env[peerEnvVar("kubectl")] = "/bin/sh";
    expect(peerEnvVar("kubectl")).to.equal("AKV_CSI_PEER_KUBECTL");
    expect(peerPath("kubectl")).to.equal("/bin/sh");
    process.env[peerEnvVar("kubectl")] = join(cache, "nope");
    expect(peerPath("kubectl")).to.equal(undefined);
  });

  it("requirePeer fails under CI=true and skips with a reason elsewhere", () => {
    const skipped = new Error("skipped");
    const ctx = { skip: () => { throw skipped; } } as unknown as Context;
    process.env.CI = "true";
    expect(() => requirePeer(ctx, "helm")).to.throw(/peer helm is required under CI: helm v[\d.]+ is not built/);
    process.env.CI = "false";
    const said: unknown[][] = [];
    const log = console.log;
    console.log = (...args: unknown[]) => void said.push(args);
    try {
      expect(() => requirePeer(ctx, "helm")).to.throw(skipped);
    } finally {
      console.log = log;
    }
    expect(said).to.have.length(1);
    expect(String(said[0]?.[0])).to.match(/skipping: peer helm unavailable: .*build\.sh helm/);
    fakeBuild("helm", PEER_VERSIONS.helm, ["helm"], PEER_VERSIONS.helm);
    expect(requirePeer(ctx, "helm")).to.equal(join(cache, `helm-${PEER_VERSIONS.helm}`, "bin", "helm"));
  });

  it("build.sh skips a stamped peer and fails on an unknown name", async function () {
    this.timeout(20_000);
    fakeBuild("etcd", PEER_VERSIONS.etcd, ["etcd"], PEER_VERSIONS.etcd);
    const env = { ...process.env, AKV_CSI_PEER_CACHE: cache };
    const ok = await run("bash", [BUILD_SH, "etcd"], { env });
    expect(ok.stdout.trim()).to.match(new RegExp(`^etcd ${PEER_VERSIONS.etcd}: cached \\d+s$`));
    const bad = await run("bash", [BUILD_SH, "no-such-peer"], { env }).then(
      () => undefined,
      (e: { code: number; stdout: string }) => e,
    );
    expect(bad?.code).to.equal(1);
    expect(bad?.stdout).to.include("no-such-peer: unknown peer");
  });
});
