import * as grpc from "@grpc/grpc-js";
import { expect } from "chai";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createConnection } from "node:net";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadHealth } from "../../../src/util/proto.js";
import { memoryLogger } from "../../../src/util/logger.js";
import { ProviderMetrics } from "../../../src/provider/metrics.js";
import { checkHealth, decodePermission, decodeStringMap, startProviderServer } from "../../../src/provider/server.js";
import type { MountInput, MountOutput, SecretsProvider } from "../../../src/provider/types.js";
import { connectProvider, isServiceError, type ProviderTestClient } from "../../helpers/provider-client.js";
import type { Serving } from "../../../src/util/grpc-server.js";

class FakeProvider implements SecretsProvider {
  calls: (MountInput & { deadline?: number })[] = [];
  behaviour: (i: MountInput) => Promise<MountOutput> = async () => ({
    files: [{ path: "s1", mode: 0o644, contents: Buffer.from("v1") }],
    objectVersions: [{ id: "secret/s1", version: "abc" }],
  });
  async mount(input: MountInput): Promise<MountOutput> {
    this.calls.push(input);
    return this.behaviour(input);
  }
  version() {
    return { version: "v1alpha1", runtimeName: "secrets-store-csi-driver-provider-azure", runtimeVersion: "v9.9.9" };
  }
}

async function expectGrpcError(p: Promise<unknown>, code: grpc.status, details: string | RegExp) {
  try {
    await p;
    expect.fail("should fail");
  } catch (e) {
    if (!isServiceError(e)) throw e;
    expect(e.code, e.details).to.equal(code);
    if (typeof details === "string") expect(e.details).to.equal(details);
    else expect(e.details).to.match(details);
  }
}

describe("provider/server", () => {
  let dir: string;
  let sock: string;
  let fake: FakeProvider;
  let serving: Serving;
  let client: ProviderTestClient;
  let mem: ReturnType<typeof memoryLogger>;
  let metrics: ProviderMetrics;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "akv-provider-"));
    sock = join(dir, "azure.sock");
    fake = new FakeProvider();
    mem = memoryLogger(10);
    metrics = new ProviderMetrics();
    serving = await startProviderServer(fake, `unix://${sock}`, { log: mem.log, metrics });
    client = connectProvider(sock);
  });

  afterEach(async () => {
    client.close();
    await serving.stop(1000);
    rmSync(dir, { recursive: true, force: true });
  });

  it("binds an owner-only socket and removes it on stop", async () => {
    expect(statSync(sock).mode & 0o777).to.equal(0o700);
    await serving.stop(1000);
    expect(() => statSync(sock)).to.throw(/ENOENT/);
  });

  it("replaces a stale socket left by a previous run", async () => {
    await serving.stop(1000);
    // A process that bound the socket and died leaves the file behind.
    const r = spawnSync("python3", ["-c", `import socket; s=socket.socket(socket.AF_UNIX); s.bind(${JSON.stringify(sock)})`]);
    expect(r.status).to.equal(0);
    expect(statSync(sock).isSocket()).to.equal(true);
    serving = await startProviderServer(fake, `unix://${sock}`, { log: mem.log });
    const c2 = connectProvider(sock);
    expect((await c2.version()).runtime_version).to.equal("v9.9.9");
    c2.close();
  });

  it("refuses to replace a regular file at the socket path", async () => {
    await serving.stop(1000);
    writeFileSync(sock, "not a socket");
    await startProviderServer(fake, `unix://${sock}`, { log: mem.log }).then(
      () => expect.fail("should refuse"),
      (e: Error) => expect(e.message).to.contain("is not a socket"),
    );
    rmSync(sock);
    serving = await startProviderServer(fake, `unix://${sock}`, { log: mem.log });
  });

  it("Version returns the upstream strings", async () => {
    const v = await client.version();
    expect(v).to.deep.equal({
      version: "v1alpha1",
      runtime_name: "secrets-store-csi-driver-provider-azure",
      runtime_version: "v9.9.9",
    });
  });

  it("Health/Check is SERVING (and checkHealth says so)", async () => {
    const health = loadHealth();
    const hc = new health.grpc.health.v1.Health(`unix://${sock}`, grpc.credentials.createInsecure());
    const res = await new Promise<unknown>((resolve, reject) =>
      hc.Check({ service: "" }, (err, r) => (err ? reject(err) : resolve(r))),
    );
    hc.close();
    expect(res).to.deep.equal({ status: "SERVING" });
    await checkHealth(`unix://${sock}`, 2000);
    await checkHealth(`unix://${join(dir, "nothing.sock")}`, 500).then(
      () => expect.fail("should fail"),
      (e: Error) => expect(e.message).to.not.equal(""),
    );
  });

  it("decodes a Mount request into plain objects and returns files in order", async () => {
    const res = await client.mount({
      attributes: JSON.stringify({ keyvaultName: "kv", "csi.storage.k8s.io/pod.name": "p" }),
      secrets: "null",
      permission: "420",
      target_path: "/var/lib/kubelet/pods/x/volumes/y/mount",
      current_object_version: [{ id: "secret/s1", version: "old" }],
    });
    expect(res.files.map((f) => [f.path, f.mode, f.contents.toString()])).to.deep.equal([["s1", 0o644, "v1"]]);
    expect(res.object_version).to.deep.equal([{ id: "secret/s1", version: "abc" }]);
    expect(res.error).to.equal(null);
    const call = fake.calls[0]!;
    expect(call.attributes).to.deep.equal({ keyvaultName: "kv", "csi.storage.k8s.io/pod.name": "p" });
    expect(call.secrets).to.deep.equal({});
    expect(call.permission).to.equal(420);
    expect(call.currentObjectVersions).to.deep.equal([{ id: "secret/s1", version: "old" }]);
    expect(call.signal).to.be.instanceOf(AbortSignal);
    expect(call.deadline).to.be.a("number");
  });

  it("reports decode errors with upstream prefixes and never echoes the input", async () => {
    const token = "eyJhbGciOiJSUzI1NiJ9.sentinel-sa-token-0123456789";
    await expectGrpcError(
      client.mount({ attributes: "", secrets: "{}", permission: "420" }),
      grpc.status.UNKNOWN,
      /^failed to unmarshal attributes, error: unexpected end of JSON input$/,
    );
    await expectGrpcError(
      client.mount({ attributes: `{"csi.storage.k8s.io/serviceAccount.tokens": ${token}}`, secrets: "{}", permission: "420" }),
      grpc.status.UNKNOWN,
      /^failed to unmarshal attributes, error: invalid character/,
    );
    await expectGrpcError(
      client.mount({ attributes: "{}", secrets: "", permission: "420" }),
      grpc.status.UNKNOWN,
      /^failed to unmarshal secrets, error: /,
    );
    await expectGrpcError(
      client.mount({ attributes: "{}", secrets: "{}", permission: "" }),
      grpc.status.UNKNOWN,
      /^failed to unmarshal file permission, error: /,
    );
    await expectGrpcError(
      client.mount({ attributes: "{}", secrets: "{}", permission: '"420"' }),
      grpc.status.UNKNOWN,
      /^failed to unmarshal file permission, error: json: cannot unmarshal string/,
    );
    expect(fake.calls).to.have.length(0);
    expect(mem.lines.join("")).to.not.contain("sentinel-sa-token");
  });

  it("wraps provider failures as Unknown 'failed to mount objects, error: …' and records metrics", async () => {
    fake.behaviour = async () => {
      throw new Error("failed to get objectType:secret, objectName:s1, objectVersion:: SecretNotFound");
    };
    await expectGrpcError(
      client.mount({ attributes: "{}", secrets: "{}", permission: "420" }),
      grpc.status.UNKNOWN,
      "failed to mount objects, error: failed to get objectType:secret, objectName:s1, objectVersion:: SecretNotFound",
    );
    const text = await metrics.registry.metrics();
    expect(text).to.match(/grpc_request_count\{provider="azure",os_type="linux",service_name="csi-secrets-store-provider-azure",grpc_method="\/v1alpha1.CSIDriverProvider\/Mount",grpc_code="UNKNOWN",grpc_message="failed to mount objects[^"]*"\} 1/);
    expect(text).to.contain('le="30"');
    expect(mem.lines.some((l) => l.includes("/v1alpha1.CSIDriverProvider/Mount"))).to.equal(true);
  });

  it("passes cancellation to the provider as an aborted signal", async () => {
    let seen: AbortSignal | undefined;
    fake.behaviour = (i) =>
      new Promise((_res, rej) => {
        seen = i.signal;
        i.signal!.addEventListener("abort", () => rej(new Error("aborted by signal")));
      });
    await expectGrpcError(client.mount({ attributes: "{}", secrets: "{}", permission: "420" }, 200), grpc.status.DEADLINE_EXCEEDED, /.*/);
    await new Promise((r) => setTimeout(r, 100));
    expect(seen?.aborted).to.equal(true);
  });

  it("decoders follow Go json.Unmarshal", () => {
    expect(decodeStringMap("secrets", "null")).to.deep.equal({});
    expect(decodeStringMap("secrets", '{"clientid":"a","clientsecret":"b"}')).to.deep.equal({ clientid: "a", clientsecret: "b" });
    expect(() => decodeStringMap("attributes", "[]")).to.throw("failed to unmarshal attributes, error: json: cannot unmarshal array into Go value of type map[string]string");
    expect(() => decodeStringMap("attributes", '{"a":1}')).to.throw("json: cannot unmarshal number into Go value of type string");
    expect(decodePermission("420")).to.equal(420);
    expect(decodePermission("511")).to.equal(0o777);
    expect(() => decodePermission("-1")).to.throw(/failed to unmarshal file permission/);
    expect(() => decodePermission("4.5")).to.throw(/failed to unmarshal file permission/);
  });

  it("never accepts a connection on a socket another user could reach", () => {
    // Only the owner has rwx; group/other have no bits at all.
    const mode = statSync(sock).mode;
    expect(mode & 0o077).to.equal(0);
    const conn = createConnection(sock);
    conn.destroy();
  });
});
