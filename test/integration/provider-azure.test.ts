// The provider as deployed: a child process on a unix socket, the real Azure
// SDK, HTTPS through the emulator's CONNECT proxy, its CA via
// NODE_EXTRA_CA_CERTS, an AzureStackCloud environment file.
import { expect } from "chai";
import { createPublicKey, X509Certificate, createPrivateKey } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import {
  DEMO_CLIENT_ID,
  DEMO_CLIENT_SECRET,
  DEMO_POD_IDENTITY_CLIENT_ID,
  DEMO_SECRET_VALUE,
  DEMO_TENANT_ID,
  DEMO_USER_MI_CLIENT_ID,
  startEmulator,
  type Emulator,
} from "../../src/emulator/index.js";
import { createLogger } from "../../src/util/logger.js";
import { connectProvider, isServiceError, type ProviderTestClient } from "../helpers/provider-client.js";
import { mountRequest, saToken, tokensAttribute, type MountSpec } from "../helpers/provider-mount.js";
import { startProviderProcess, type ProviderProcess } from "../helpers/provider-process.js";

const VAULT = "demo-kv";
const SENTINEL_SECRET_VALUE = "sentinel-secret-value-7f3a9c1e";
const SENTINEL_CLIENT_SECRET = "sentinel-client-secret-b81d44e2";
const SP2_CLIENT_ID = "7e1a0c5e-0000-4000-8000-00000000c0b2";
const WI_TOKEN = saToken("default", "demo-sa");

describe("integration: provider azure against the emulator", function () {
  this.timeout(120_000);
  let emu: Emulator;
  let p: ProviderProcess;
  let client: ProviderTestClient;

  const cloudParams = () => ({
    keyvaultName: VAULT,
    tenantId: DEMO_TENANT_ID,
    cloudName: "AzureStackCloud",
    cloudEnvFileName: emu.cloudEnvFile,
  });
  const spSecrets = { clientid: DEMO_CLIENT_ID, clientsecret: DEMO_CLIENT_SECRET };
  const wiParams = () => ({ clientID: DEMO_CLIENT_ID });
  const wiContext = (token = WI_TOKEN) => ({ "csi.storage.k8s.io/serviceAccount.tokens": tokensAttribute({ "api://AzureADTokenExchange": token }) });

  async function mountErr(spec: MountSpec, timeoutMs?: number): Promise<grpc.ServiceError> {
    try {
      await client.mount(mountRequest(spec), timeoutMs);
    } catch (e) {
      if (isServiceError(e)) return e;
      throw e;
    }
    expect.fail("mount should have failed");
  }

  before(async () => {
    emu = await startEmulator({ nmiPort: 0, log: createLogger({ verbosity: 0, write: () => undefined }) });
    const s = emu.store;
    s.setSecret(VAULT, "sentinel", SENTINEL_SECRET_VALUE);
    for (let i = 1; i <= 4; i++) s.setSecret(VAULT, "rotated", `rotated-v${i}`, { created: Math.floor(Date.now() / 1000) - 100 + i });
    for (let i = 0; i < 6; i++) s.setSecret(VAULT, `burst-${i}`, `burst-value-${i}`);
    s.setSecret(VAULT, "reset-me", "reset-value");
    s.setSecret(VAULT, "hang-me", "hang-value");
    s.setSecret("throttle-kv", "t1", "t1-value");
    s.setSecret("throttle-kv", "t2", "t2-value");
    s.setSecret("throttle-kv", "t3", "t3-value");
    emu.addApp({ clientId: SP2_CLIENT_ID, clientSecret: SENTINEL_CLIENT_SECRET, federatedSubjects: ["system:serviceaccount:other:other-sa"] });
    p = await startProviderProcess({
      env: emu.clientEnv(),
      args: ["-v=10", `--pod-identity-nmi-url=${emu.nmiUrl}`],
    });
    client = connectProvider(p.socket);
  });

  after(async () => {
    client?.close();
    await p?.stop();
    await emu?.close();
  });

  it("service principal: secret, key (public PEM) and cert (leaf PEM) with versions from Key Vault", async () => {
    const res = await client.mount(
      mountRequest({
        params: cloudParams(),
        secrets: spSecrets,
        objects: [
          { objectName: "db-password", objectType: "secret" },
          { objectName: "signing-key", objectType: "key", objectAlias: "keys/signing.pem" },
          { objectName: "web-tls", objectType: "cert" },
        ],
      }),
    );
    expect(res.files.map((f) => f.path)).to.deep.equal(["db-password", "keys/signing.pem", "web-tls"]);
    expect(res.files[0]!.contents.toString()).to.equal(DEMO_SECRET_VALUE);
    expect(res.files.every((f) => f.mode === 0o644)).to.equal(true);
    const pub = createPublicKey(res.files[1]!.contents);
    expect(pub.asymmetricKeyType).to.equal("rsa");
    expect(res.files[1]!.contents.toString()).to.match(/^-----BEGIN PUBLIC KEY-----\n/);
    const cert = new X509Certificate(res.files[2]!.contents);
    expect(cert.subject).to.contain("web.demo.local");
    expect(res.object_version.map((o) => o.id)).to.deep.equal(["secret/db-password", "key/signing-key", "cert/web-tls"]);
    for (const o of res.object_version) expect(o.version).to.match(/^[0-9a-f]{32}$/);
  });

  it("PFX-backed certificate as a secret: PKCS#8 key then the chain, leaf first", async () => {
    const res = await client.mount(
      mountRequest({ params: cloudParams(), secrets: spSecrets, objects: [{ objectName: "web-tls", objectType: "secret", objectAlias: "tls.pem" }] }),
    );
    const pem = res.files[0]!.contents.toString();
    const blocks = pem.match(/-----BEGIN [A-Z ]+-----/g);
    expect(blocks).to.deep.equal([
      "-----BEGIN PRIVATE KEY-----",
      "-----BEGIN CERTIFICATE-----",
      "-----BEGIN CERTIFICATE-----",
      "-----BEGIN CERTIFICATE-----",
    ]);
    const certs = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/g)!.map((c) => new X509Certificate(c));
    expect(certs[0]!.subject).to.contain("web.demo.local");
    expect(certs[0]!.checkIssued(certs[1]!)).to.equal(true);
    expect(certs[1]!.checkIssued(certs[2]!)).to.equal(true);
    const key = createPrivateKey(pem.match(/-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----\n/)![0]);
    expect(certs[0]!.checkPrivateKey(key)).to.equal(true);
  });

  it("workload identity: the pod's own SA token as client assertion", async () => {
    const res = await client.mount(
      mountRequest({ params: { ...cloudParams(), ...wiParams() }, extraContext: wiContext(), objects: [{ objectName: "db-password", objectType: "secret" }] }),
    );
    expect(res.files[0]!.contents.toString()).to.equal(DEMO_SECRET_VALUE);
    expect(emu.count({ route: "entra.token", principal: DEMO_CLIENT_ID })).to.be.greaterThan(0);
  });

  it("workload identity with an SA the app does not federate fails with the Entra error, no token in it", async () => {
    const bad = saToken("default", "not-federated");
    const err = await mountErr({ params: { ...cloudParams(), ...wiParams() }, extraContext: wiContext(bad), objects: [{ objectName: "db-password", objectType: "secret" }] });
    expect(err.details).to.match(/^failed to mount objects, error: failed to get objectType:secret, objectName:db-password/);
    expect(err.details).to.not.contain(bad);
  });

  it("VM managed identity: user-assigned (client_id) and system-assigned via IMDS", async () => {
    const before = emu.count({ route: "imds.token" });
    const user = await client.mount(
      mountRequest({
        params: { ...cloudParams(), useVMManagedIdentity: "true", userAssignedIdentityID: DEMO_USER_MI_CLIENT_ID },
        objects: [{ objectName: "db-password", objectType: "secret" }],
      }),
    );
    expect(user.files[0]!.contents.toString()).to.equal(DEMO_SECRET_VALUE);
    const system = await client.mount(
      mountRequest({ params: { ...cloudParams(), useVMManagedIdentity: "true" }, objects: [{ objectName: "db-password", objectType: "secret" }] }),
    );
    expect(system.files[0]!.contents.toString()).to.equal(DEMO_SECRET_VALUE);
    expect(emu.count({ route: "imds.token" }) - before).to.be.at.least(2);
    expect(emu.count({ route: "secret.get", principal: DEMO_USER_MI_CLIENT_ID, status: 200 })).to.be.greaterThan(0);
  });

  it("pod identity (deprecated) through NMI with podname/podns headers", async () => {
    const res = await client.mount(
      mountRequest({ params: { ...cloudParams(), usePodIdentity: "true" }, podNamespace: "default", podName: "legacy-0", objects: [{ objectName: "db-password", objectType: "secret" }] }),
    );
    expect(res.files[0]!.contents.toString()).to.equal(DEMO_SECRET_VALUE);
    expect(emu.count({ route: "nmi.token" })).to.be.greaterThan(0);
    expect(emu.count({ route: "secret.get", principal: DEMO_POD_IDENTITY_CLIENT_ID, status: 200 })).to.be.greaterThan(0);
    expect(p.output()).to.contain("pod identity (usePodIdentity) is deprecated");
  });

  it("objectVersionHistory: newest first, ids <type>/<name>/<i>, files <alias>/<i>", async () => {
    const res = await client.mount(
      mountRequest({ params: cloudParams(), secrets: spSecrets, objects: [{ objectName: "rotated", objectType: "secret", objectVersionHistory: 3 }] }),
    );
    const files = res.files.map((f) => [f.path, f.contents.toString()]);
    expect(files.slice(0, 3)).to.deep.equal([
      ["rotated/0", "rotated-v4"],
      ["rotated/1", "rotated-v3"],
      ["rotated/2", "rotated-v2"],
    ]);
    expect(res.object_version.slice(0, 3).map((o) => o.id)).to.deep.equal(["secret/rotated/0", "secret/rotated/1", "secret/rotated/2"]);
  });

  it("500 concurrent mounts for one SPC and identity cost at most one GET per object; two identities never share", async () => {
    emu.resetStats();
    const objects = [0, 1, 2].map((i) => ({ objectName: `burst-${i}`, objectType: "secret" }));
    const spec = (token: string, pod: number): MountSpec => ({
      params: { ...cloudParams(), ...wiParams() },
      extraContext: wiContext(token),
      podName: `web-${pod}`,
      serviceAccountName: "demo-sa",
      objects,
    });
    const t0 = Date.now();
    const results = await Promise.all(Array.from({ length: 500 }, (_, i) => client.mount(mountRequest(spec(saToken("default", "demo-sa"), i)), 60_000)));
    const elapsed = Date.now() - t0;
    for (const r of results) expect(r.files.map((f) => f.contents.toString())).to.deep.equal(["burst-value-0", "burst-value-1", "burst-value-2"]);
    const gets = emu.count({ route: "secret.get", vault: VAULT, status: 200 });
    process.stdout.write(`      500 mounts x 3 objects: ${gets} Key Vault GETs (200), ${emu.count({ route: "entra.token" })} token requests, ${elapsed} ms\n`);
    expect(gets).to.be.at.most(3);

    // Same app, but another service account (another namespace): its own GETs.
    emu.resetStats();
    const other = saToken("other", "other-sa");
    await Promise.all([
      client.mount(
        mountRequest({ ...spec(other, 0), podNamespace: "other", serviceAccountName: "other-sa", params: { ...cloudParams(), clientID: SP2_CLIENT_ID }, extraContext: wiContext(other) }),
      ),
      client.mount(mountRequest(spec(saToken("default", "demo-sa"), 1))),
    ]);
    // demo-sa's values are fresh in its cache; other-sa must fetch its own.
    expect(emu.count({ route: "secret.get", vault: VAULT, status: 200, principal: SP2_CLIENT_ID })).to.equal(3);
    expect(emu.count({ route: "secret.get", vault: VAULT, status: 200, principal: DEMO_CLIENT_ID })).to.equal(0);
  });

  it("one missing object fails the whole mount with vault, object and code", async () => {
    const err = await mountErr({
      params: cloudParams(),
      secrets: spSecrets,
      objects: [
        { objectName: "db-password", objectType: "secret" },
        { objectName: "does-not-exist", objectType: "secret" },
      ],
    });
    expect(err.code).to.equal(grpc.status.UNKNOWN);
    expect(err.details).to.match(/^failed to mount objects, error: failed to get objectType:secret, objectName:does-not-exist, objectVersion:: /);
    expect(err.details).to.contain("SecretNotFound");
    expect(err.details).to.contain("demo-kv");
    const m = await p.metrics();
    expect(m).to.match(/keyvault_request_count\{[^}]*object_type="secret",object_name="does-not-exist",error="SecretNotFound"\} \d/);
  });

  it("a 429 with Retry-After holds the vault for the window, then succeeds", async () => {
    emu.resetStats();
    emu.faults.add({ route: "secret.get", vault: "throttle-kv", times: 1, action: { kind: "status", status: 429, retryAfterSeconds: 2 } });
    const t0 = Date.now();
    const res = await client.mount(
      mountRequest({ params: { ...cloudParams(), keyvaultName: "throttle-kv" }, secrets: spSecrets, objects: [{ objectName: "t1", objectType: "secret" }] }),
    );
    expect(res.files[0]!.contents.toString()).to.equal("t1-value");
    expect(Date.now() - t0).to.be.at.least(1900);
    expect(emu.count({ route: "secret.get", vault: "throttle-kv", status: 429 })).to.equal(1);
  });

  it("a Retry-After past the call deadline fails fast with 'throttled until'", async () => {
    emu.faults.add({ route: "secret.get", vault: "throttle-kv", times: 1, action: { kind: "status", status: 429, retryAfterSeconds: 60 } });
    const t0 = Date.now();
    const first = await mountErr(
      { params: { ...cloudParams(), keyvaultName: "throttle-kv" }, secrets: spSecrets, objects: [{ objectName: "t2", objectType: "secret" }] },
      10_000,
    );
    expect(first.details).to.contain("throttled until");
    // A new call while the window is open never reaches the vault.
    const before = emu.count({ route: "secret.get", vault: "throttle-kv" });
    const second = await mountErr(
      { params: { ...cloudParams(), keyvaultName: "throttle-kv" }, secrets: spSecrets, objects: [{ objectName: "t3", objectType: "secret" }] },
      10_000,
    );
    expect(second.details).to.contain("throttled until");
    expect(emu.count({ route: "secret.get", vault: "throttle-kv" })).to.equal(before);
    expect(Date.now() - t0).to.be.below(8_000);
  });

  it("a connection reset is retried by the SDK and the mount succeeds", async () => {
    emu.faults.add({ route: "secret.get", vault: VAULT, path: "/secrets/reset-me", times: 1, action: { kind: "reset" } });
    const res = await client.mount(mountRequest({ params: cloudParams(), secrets: spSecrets, objects: [{ objectName: "reset-me", objectType: "secret" }] }));
    expect(res.files[0]!.contents.toString()).to.equal("reset-value");
  });

  it("a hanging vault ends in DEADLINE_EXCEEDED, and the next mount is not stuck behind the dead call", async () => {
    emu.faults.add({ route: "secret.get", vault: VAULT, path: "/secrets/hang-me", times: 1, action: { kind: "hang" } });
    const spec: MountSpec = { params: cloudParams(), secrets: spSecrets, objects: [{ objectName: "hang-me", objectType: "secret" }] };
    const t0 = Date.now();
    const err = await mountErr(spec, 2_000);
    expect(err.code).to.equal(grpc.status.DEADLINE_EXCEEDED);
    expect(Date.now() - t0).to.be.below(4_000);
    const res = await client.mount(mountRequest(spec), 20_000);
    expect(res.files[0]!.contents.toString()).to.equal("hang-value");
  });

  it("never logs a client secret, SA token or secret value, even at -v=10", async () => {
    await client.mount(mountRequest({ params: cloudParams(), secrets: spSecrets, objects: [{ objectName: "sentinel", objectType: "secret" }] }));
    await client.mount(
      mountRequest({
        params: { ...cloudParams(), clientID: SP2_CLIENT_ID },
        secrets: { clientid: SP2_CLIENT_ID, clientsecret: SENTINEL_CLIENT_SECRET },
        objects: [{ objectName: "sentinel", objectType: "secret" }],
        extraContext: wiContext(saToken("other", "other-sa")),
        podNamespace: "other",
      }),
    );
    await mountErr({ params: cloudParams(), secrets: { clientid: SP2_CLIENT_ID, clientsecret: SENTINEL_CLIENT_SECRET }, objects: [{ objectName: "nope", objectType: "secret" }] });
    const out = p.output();
    expect(out).to.contain("/v1alpha1.CSIDriverProvider/Mount"); // the log is really at high verbosity
    for (const s of [SENTINEL_SECRET_VALUE, SENTINEL_CLIENT_SECRET, DEMO_CLIENT_SECRET, WI_TOKEN, WI_TOKEN.split(".")[1]!, DEMO_SECRET_VALUE]) {
      expect(out, `log contains ${s.slice(0, 12)}…`).to.not.contain(s);
    }
    expect(await p.metrics()).to.not.contain(SENTINEL_SECRET_VALUE);
  });
});
