// The real Azure SDK (secrets, keys, certificates, identity) against the
// emulator over HTTPS through its CONNECT proxy, in a child process that
// trusts the emulator's CA. Plus direct checks of IMDS, NMI, the proxy's
// refusal, disabled versions, throttling and faults.
import { expect } from "chai";
import { execFile } from "node:child_process";
import { request as httpsRequest } from "node:https";
import { join } from "node:path";
import forge from "node-forge";
import { memoryLogger } from "../../src/util/logger.js";
import { unsignedJwt } from "../../src/emulator/jwt.js";
import {
  DEMO_CERT_NAME, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_KEY_NAME, DEMO_POD_IDENTITY_CLIENT_ID, DEMO_SA_SUBJECT, DEMO_SECRET_NAME,
  DEMO_SECRET_VALUE, DEMO_SYSTEM_MI_CLIENT_ID, DEMO_USER_MI_CLIENT_ID, DEMO_VAULT, Emulator, startEmulator,
} from "../../src/emulator/index.js";
import type { ClientRun, ClientSpec, OpResult } from "../helpers/emulator-client.js";

const HELPER = join(__dirname, "..", "helpers", "emulator-client.ts");

function childEnv(emu: Emulator): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    // Nothing from the parent may steer the SDK elsewhere (e.g. to 169.254.169.254).
    if (/^(AZURE_|IDENTITY_|MSI_|IMDS_)|proxy$/i.test(k)) continue;
    env[k] = v;
  }
  return { ...env, ...emu.clientEnv() };
}

function runClient(emu: Emulator, runs: ClientRun[]): Promise<OpResult[][]> {
  const spec: ClientSpec = {
    vaultUrl: emu.vaultUrl(DEMO_VAULT),
    tenantId: emu.tenantId,
    authorityHost: emu.authorityHost,
    adminUrl: emu.proxyUrl,
    runs,
  };
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ["--import", "tsx", HELPER, JSON.stringify(spec)], { env: childEnv(emu), timeout: 90_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`client failed: ${err.message}\n${stderr}`));
      try {
        resolve(JSON.parse(stdout) as OpResult[][]);
      } catch {
        reject(new Error(`client printed no JSON: ${stdout}\n${stderr}`));
      }
    });
  });
}

function ok(r: OpResult | undefined): Record<string, unknown> {
  if (!r) throw new Error("missing result");
  if (!r.ok) throw new Error(`op failed: ${r.error.name}: ${r.error.message}`);
  return r.result;
}

function fail(r: OpResult | undefined): { name: string; message: string; statusCode?: number; code?: string } {
  if (!r || r.ok) throw new Error(`expected a failure, got ${JSON.stringify(r)}`);
  return r.error;
}

/** Direct HTTPS to the emulator (no proxy), trusting its CA explicitly. */
function kv(emu: Emulator, path: string, opts: { token?: string; method?: string; body?: unknown; raw?: string; vault?: string } = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: any }> {
  const host = `${opts.vault ?? DEMO_VAULT}.${emu.dnsSuffix}`;
  return new Promise((resolve, reject) => {
    const payload = opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body));
    const req = httpsRequest(
      {
        host: "127.0.0.1", port: emu.httpsPort, servername: host, ca: emu.caPem, method: opts.method ?? "GET", path,
        headers: { host, ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}), ...(payload ? { "content-type": "application/json" } : {}) },
        timeout: 10_000,
      },
      (res) => {
        let text = "";
        res.on("data", (c: Buffer) => (text += c.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text ? JSON.parse(text) : undefined }));
      },
    );
    req.on("error", reject);
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.end(payload);
  });
}

async function imdsToken(emu: Emulator, clientId?: string): Promise<string> {
  const q = new URLSearchParams({ "api-version": "2018-02-01", resource: `https://${emu.dnsSuffix}` });
  if (clientId) q.set("client_id", clientId);
  const r = await fetch(`${emu.imdsUrl}/metadata/identity/oauth2/token?${q.toString()}`, { headers: { Metadata: "true" } });
  expect(r.status).to.equal(200);
  return ((await r.json()) as { access_token: string }).access_token;
}

describe("emulator with the real Azure SDK", function () {
  this.timeout(120_000);
  let emu: Emulator;

  before(async () => {
    emu = await startEmulator({ nmiPort: 0, log: memoryLogger(0).log });
  });
  after(async () => {
    await emu?.close();
  });
  beforeEach(() => {
    emu.resetStats();
    emu.faults.clear();
  });

  it("serves secrets, keys and certificates to ClientSecretCredential through the proxy, retrying a 429", async () => {
    const cred = { kind: "secret" as const, clientId: DEMO_CLIENT_ID, clientSecret: DEMO_CLIENT_SECRET };
    const [res] = await runClient(emu, [
      {
        cred,
        ops: [
          { op: "getSecret", name: DEMO_SECRET_NAME },
          { op: "setSecret", name: "rotating", value: "value-1" },
          { op: "setSecret", name: "rotating", value: "value-2" },
          { op: "setSecret", name: "rotating", value: "value-3" },
          { op: "getSecret", name: "rotating" },
          { op: "listSecretVersions", name: "rotating", pageSize: 2 },
          { op: "getKey", name: DEMO_KEY_NAME },
          { op: "getCertificate", name: DEMO_CERT_NAME },
          { op: "getSecret", name: DEMO_CERT_NAME },
          { op: "fault", rule: { route: "secret.get", times: 1, action: { kind: "status", status: 429, retryAfterSeconds: 1 } } },
          { op: "getSecret", name: DEMO_SECRET_NAME },
          { op: "getSecret", name: "does-not-exist" },
        ],
      },
    ]);
    const r = res!;
    expect(ok(r[0]).value).to.equal(DEMO_SECRET_VALUE);
    expect(ok(r[0]).version).to.equal(emu.store.latestVersion(DEMO_VAULT, "secrets", DEMO_SECRET_NAME));

    const written = [1, 2, 3].map((i) => String(ok(r[i]).version));
    expect(new Set(written).size).to.equal(3);
    expect(ok(r[4]).value).to.equal("value-3");
    expect(ok(r[4]).version).to.equal(written[2]);
    expect(emu.store.getSecretValue(DEMO_VAULT, "rotating", written[0])).to.equal("value-1");
    const listed = ok(r[5]);
    expect(listed.pages).to.equal(2);
    expect([...(listed.versions as string[])].sort()).to.deep.equal([...written].sort());

    const key = ok(r[6]);
    const stored = emu.store.find(DEMO_VAULT, "keys", DEMO_KEY_NAME)!;
    expect(key.kty).to.equal("RSA");
    expect(key.n).to.equal(stored.jwk.n);
    expect(key.e).to.equal(stored.jwk.e);
    expect(key.kid).to.equal(`${emu.vaultUrl(DEMO_VAULT)}keys/${DEMO_KEY_NAME}/${stored.version}`);

    const cert = ok(r[7]);
    const storedCert = emu.store.find(DEMO_VAULT, "certificates", DEMO_CERT_NAME)!;
    expect(cert.cer).to.equal(storedCert.chain[0]!.toString("base64"));
    expect(cert.version).to.equal(storedCert.version);
    expect(cert.contentType).to.equal("application/x-pkcs12");

    const backing = ok(r[8]);
    expect(backing.contentType).to.equal("application/x-pkcs12");
    expect(backing.keyId).to.equal(`${emu.vaultUrl(DEMO_VAULT)}keys/${DEMO_CERT_NAME}/${storedCert.version}`);
    const p12 = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(forge.util.decode64(String(backing.value))), "");
    const certBags = p12.getBags({ bagType: forge.pki.oids.certBag! })[forge.pki.oids.certBag!]!;
    const keyBags = p12.getBags({ bagType: forge.pki.oids.pkcs8ShroudedKeyBag! })[forge.pki.oids.pkcs8ShroudedKeyBag!]!;
    expect(certBags).to.have.length(3);
    expect(keyBags).to.have.length(1);
    const leafDer = forge.asn1.toDer(forge.pki.certificateToAsn1(certBags[0]!.cert!)).getBytes();
    expect(Buffer.from(leafDer, "binary").toString("base64")).to.equal(cert.cer);
    const leafKey = keyBags[0]!.key as forge.pki.rsa.PrivateKey;
    expect(leafKey.n.toString(16)).to.equal((certBags[0]!.cert!.publicKey as forge.pki.rsa.PublicKey).n.toString(16));

    // The 429 was answered, the SDK honoured Retry-After and the retry succeeded.
    expect(ok(r[9]).status).to.equal(201);
    expect(ok(r[10]).value).to.equal(DEMO_SECRET_VALUE);
    expect(emu.count({ route: "secret.get", status: 429, principal: DEMO_CLIENT_ID })).to.equal(1);
    expect(emu.stats().faultsInjected).to.equal(1);

    const missing = fail(r[11]);
    expect(missing.statusCode).to.equal(404);
    expect(missing.code).to.equal("SecretNotFound");

    // One challenge per SDK client type (secrets, keys, certificates), counted as anonymous 401s.
    expect(emu.stats().challenges).to.equal(3);
    expect(emu.count({ status: 401, principal: "anonymous" })).to.equal(3);
    expect(emu.count({ route: "entra.token", status: 200, principal: DEMO_CLIENT_ID })).to.be.at.least(1);
    expect(emu.count({ route: "secret.get", status: 200, principal: DEMO_CLIENT_ID })).to.equal(4);
    expect(emu.count({ route: "secret.set", status: 200, principal: DEMO_CLIENT_ID })).to.equal(3);
    expect(emu.count({ route: "key.get", status: 200, principal: DEMO_CLIENT_ID })).to.equal(1);
    expect(emu.count({ route: "certificate.get", status: 200, principal: DEMO_CLIENT_ID })).to.equal(1);
    expect(emu.count({ route: "proxy.connect", status: 200, vault: DEMO_VAULT })).to.be.at.least(1);
  });

  it("rejects a wrong client secret and a mismatched federated subject with AADSTS errors, accepts a good assertion", async () => {
    const now = Math.floor(Date.now() / 1000);
    const sa = (sub: string) => unsignedJwt({ iss: "https://kubernetes.default.svc.cluster.local", sub, aud: ["api://AzureADTokenExchange"], iat: now, exp: now + 3600 });
    const results = await runClient(emu, [
      { cred: { kind: "secret", clientId: DEMO_CLIENT_ID, clientSecret: "wrong-secret-value" }, ops: [{ op: "getSecret", name: DEMO_SECRET_NAME }] },
      { cred: { kind: "assertion", clientId: DEMO_CLIENT_ID, assertion: sa(DEMO_SA_SUBJECT) }, ops: [{ op: "getSecret", name: DEMO_SECRET_NAME }] },
      { cred: { kind: "assertion", clientId: DEMO_CLIENT_ID, assertion: sa("system:serviceaccount:default:other") }, ops: [{ op: "getSecret", name: DEMO_SECRET_NAME }] },
    ]);
    const wrong = fail(results[0]![0]);
    expect(wrong.message).to.contain("AADSTS7000215");
    expect(wrong.message).to.not.contain("wrong-secret-value");
    expect(ok(results[1]![0]).value).to.equal(DEMO_SECRET_VALUE);
    expect(fail(results[2]![0]).message).to.contain("AADSTS70021");
    expect(emu.count({ route: "entra.token", status: 401, principal: DEMO_CLIENT_ID })).to.be.at.least(2);
    expect(emu.count({ route: "secret.get", status: 200, principal: DEMO_CLIENT_ID })).to.equal(1);
  });

  it("issues managed identity tokens through IMDS to ManagedIdentityCredential (user- and system-assigned)", async () => {
    const results = await runClient(emu, [
      { cred: { kind: "mi", clientId: DEMO_USER_MI_CLIENT_ID }, ops: [{ op: "getSecret", name: DEMO_SECRET_NAME }] },
      { cred: { kind: "mi" }, ops: [{ op: "getSecret", name: DEMO_SECRET_NAME }] },
      { cred: { kind: "mi", clientId: "00000000-0000-0000-0000-0000000000ff" }, ops: [{ op: "getToken", scope: `https://${emu.dnsSuffix}/.default` }] },
    ]);
    expect(ok(results[0]![0]).value).to.equal(DEMO_SECRET_VALUE);
    expect(ok(results[1]![0]).value).to.equal(DEMO_SECRET_VALUE);
    expect(results[2]![0]!.ok).to.equal(false);
    expect(emu.count({ route: "secret.get", status: 200, principal: DEMO_USER_MI_CLIENT_ID })).to.equal(1);
    expect(emu.count({ route: "secret.get", status: 200, principal: DEMO_SYSTEM_MI_CLIENT_ID })).to.equal(1);
    expect(emu.count({ route: "imds.token", status: 400 })).to.be.at.least(1);
  });

  it("creates a certificate through the SDK poller with its backing key and secret", async () => {
    const [res] = await runClient(emu, [
      {
        cred: { kind: "secret", clientId: DEMO_CLIENT_ID, clientSecret: DEMO_CLIENT_SECRET },
        ops: [{ op: "createCertificate", name: "sdk-made", subject: "CN=sdk.demo.local" }, { op: "getSecret", name: "sdk-made" }],
      },
    ]);
    const created = ok(res![0]);
    const secret = ok(res![1]);
    expect(secret.version).to.equal(created.version);
    expect(secret.keyId).to.match(/\/keys\/sdk-made\//);
    expect(emu.store.find(DEMO_VAULT, "keys", "sdk-made")?.version).to.equal(created.version);
  });
});

describe("emulator endpoints (direct)", function () {
  this.timeout(60_000);
  let emu: Emulator;
  const mem = memoryLogger(10);

  before(async () => {
    emu = await startEmulator({
      nmiPort: 0,
      log: mem.log,
      seed: {
        vaults: [{ name: DEMO_VAULT, secrets: [{ name: "s", versions: [{ value: "old" }, { value: "new" }] }], certificates: [{ name: "pem-cert", keyType: "EC", format: "pem", chain: 2 }] }],
        managedIdentities: [{ clientId: DEMO_SYSTEM_MI_CLIENT_ID, systemAssigned: true }],
        podIdentities: [{ namespace: "default", podName: "web-0", clientId: DEMO_POD_IDENTITY_CLIENT_ID }],
      },
    });
  });
  after(async () => {
    await emu?.close();
  });
  beforeEach(() => {
    emu.faults.clear();
    emu.resetStats();
  });

  it("answers a bare request with the Key Vault challenge", async () => {
    const r = await kv(emu, "/secrets/s/?api%2Dversion=7.4");
    expect(r.status).to.equal(401);
    expect(r.headers["www-authenticate"]).to.equal(`Bearer authorization="https://localhost:${emu.httpsPort}/${emu.tenantId}", resource="https://${emu.dnsSuffix}"`);
    expect(r.body.error.code).to.equal("Unauthorized");
    const forged = await kv(emu, "/secrets/s/?api-version=7.4", { token: unsignedJwt({ appid: "x", exp: 9999999999 }) });
    expect(forged.status).to.equal(401);
    expect(emu.stats().challenges).to.equal(1);
  });

  it("returns 403 SecretDisabled for a disabled version, 400 for an unknown api-version, and a PEM-backed EC certificate", async () => {
    const token = await imdsToken(emu);
    const [oldV, newV] = emu.store.versions(DEMO_VAULT, "secrets", "s").map((v) => v.version);
    emu.store.disableVersion(DEMO_VAULT, "secrets", "s", oldV);
    const disabled = await kv(emu, `/secrets/s/${oldV}?api-version=7.4`, { token });
    expect(disabled.status).to.equal(403);
    expect(disabled.body.error.code).to.equal("Forbidden");
    expect(disabled.body.error.innererror.code).to.equal("SecretDisabled");
    const latest = await kv(emu, "/secrets/s/?api-version=2025-07-01", { token });
    expect(latest.body.value).to.equal("new");
    expect(latest.body.id).to.equal(`https://${DEMO_VAULT}.${emu.dnsSuffix}/secrets/s/${newV}`);
    const versions = await kv(emu, "/secrets/s/versions?api-version=7.4&maxresults=1", { token });
    expect(versions.body.value).to.have.length(1);
    expect(versions.body.nextLink).to.match(new RegExp(`^https://${DEMO_VAULT}\\.${emu.dnsSuffix.replace(/\./g, "\\.")}/secrets/s/versions\\?api-version=7\\.4&\\$skiptoken=`));
    const none = await kv(emu, "/secrets/never-created/versions?api-version=7.4", { token });
    expect(none.status).to.equal(200);
    expect(none.body).to.deep.equal({ value: [], nextLink: null });
    const bad = await kv(emu, "/secrets/s/?api-version=1999-01-01", { token });
    expect(bad.status).to.equal(400);
    expect(bad.body.error.code).to.equal("BadParameter");
    const pem = await kv(emu, "/secrets/pem-cert/?api-version=7.4", { token });
    expect(pem.body.contentType).to.equal("application/x-pem-file");
    expect(pem.body.value).to.match(/^-----BEGIN PRIVATE KEY-----[\s\S]+(-----BEGIN CERTIFICATE-----[\s\S]+){2}$/);
  });

  it("throttles a vault with 429 + Retry-After once its bucket is empty", async () => {
    const token = await imdsToken(emu);
    emu.setThrottle({ requests: 5, windowSeconds: 60 });
    const statuses: number[] = [];
    let retryAfter: string | string[] | undefined;
    for (let i = 0; i < 8; i++) {
      const r = await kv(emu, "/secrets/s/?api-version=7.4", { token, vault: "throttled-kv" });
      statuses.push(r.status);
      if (r.status === 429) retryAfter = r.headers["retry-after"];
    }
    expect(statuses.filter((s) => s === 429)).to.have.length(3);
    expect(Number(retryAfter)).to.be.greaterThan(0);
    expect(emu.stats().throttled).to.equal(3);
    emu.setThrottle({ requests: 4000, windowSeconds: 10 });
  });

  it("injects resets and hangs", async () => {
    const token = await imdsToken(emu);
    emu.faults.add({ path: "^/secrets/s/$", times: 1, action: { kind: "reset" } });
    const reset = await kv(emu, "/secrets/s/?api-version=7.4", { token }).then(() => "answered", (e: Error) => e.message);
    expect(reset).to.match(/socket hang up|ECONNRESET/);
    emu.faults.add({ route: "secret.get", times: 1, action: { kind: "hang" } });
    const hung = await Promise.race([kv(emu, "/secrets/s/?api-version=7.4", { token }).then(() => "answered", () => "error"), new Promise((r) => setTimeout(() => r("pending"), 300))]);
    expect(hung).to.equal("pending");
    const after = await kv(emu, "/secrets/s/?api-version=7.4", { token });
    expect(after.status).to.equal(200);
  });

  it("serves IMDS only with the Metadata header, and NMI by pod headers", async () => {
    const noHeader = await fetch(`${emu.imdsUrl}/metadata/identity/oauth2/token/?api-version=2018-02-01&resource=https://${emu.dnsSuffix}`);
    expect(noHeader.status).to.equal(400);
    const nmi = await fetch(`${emu.nmiUrl}/host/token/?resource=https://${emu.dnsSuffix}/`, { headers: { podname: "web-0", podns: "default" } });
    expect(nmi.status).to.equal(200);
    const body = (await nmi.json()) as { token: { access_token: string; expires_on: string }; clientid: string };
    expect(body.clientid).to.equal(DEMO_POD_IDENTITY_CLIENT_ID);
    expect(Number(body.token.expires_on)).to.be.greaterThan(Date.now() / 1000);
    const viaNmi = await kv(emu, "/secrets/s/?api-version=7.4", { token: body.token.access_token });
    expect(viaNmi.body.value).to.equal("new");
    expect(emu.count({ route: "secret.get", principal: DEMO_POD_IDENTITY_CLIENT_ID, status: 200 })).to.equal(1);
    const unbound = await fetch(`${emu.nmiUrl}/host/token/?resource=x`, { headers: { podname: "web-1", podns: "default" } });
    expect(unbound.status).to.equal(403);
  });

  it("keeps secret values and tokens out of its logs, even on a malformed body", async () => {
    const token = await imdsToken(emu);
    const leak = "top-secret-value-in-bad-json";
    const bad = await kv(emu, "/secrets/leaky?api-version=7.4", { token, method: "PUT", raw: `{"value": ${leak}` });
    expect(bad.status).to.equal(400);
    expect(bad.body.error.message).to.equal("request body is not valid JSON");
    const good = await kv(emu, "/secrets/leaky?api-version=7.4", { token, method: "PUT", body: { value: leak } });
    expect(good.status).to.equal(200);
    expect(good.body.value).to.equal(leak);
    const text = mem.lines.join("");
    expect(text).to.contain("request"); // v5 request lines were written
    expect(text).to.not.contain(leak);
    expect(text).to.not.contain(token);
  });

  it("rotates a secret over the admin API and refuses CONNECT to other hosts", async () => {
    const put = await fetch(`${emu.proxyUrl}/_emulator/vaults/${DEMO_VAULT}/secrets/s`, { method: "PUT", body: JSON.stringify({ value: "rotated" }) });
    expect(put.status).to.equal(200);
    const { version } = (await put.json()) as { version: string };
    expect(emu.store.latestVersion(DEMO_VAULT, "secrets", "s")).to.equal(version);
    expect(emu.store.getSecretValue(DEMO_VAULT, "s")).to.equal("rotated");
    const stats = (await (await fetch(`${emu.proxyUrl}/_emulator/stats`)).json()) as { total: number };
    expect(stats.total).to.be.a("number");

    const { request } = await import("node:http");
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port: emu.httpPort, method: "CONNECT", path: "example.com:443" });
      req.on("connect", (res, socket) => {
        socket.destroy();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      req.end();
    });
    expect(status).to.equal(403);
    expect(emu.count({ route: "proxy.connect", status: 403 })).to.equal(1);
  });
});
