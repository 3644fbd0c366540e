// Our provider against Lowkey Vault, an independent Key Vault implementation
// (Java). Lowkey is the vault; the emulator supplies the managed identity
// (IMDS) and the CONNECT proxy that routes https://<vault>.lowkey.test to it.
// The jar comes from test/optional/lowkey.sh. Not part of `npm test`: Maven Central does not
// serve the Lowkey Vault application jar (only its testcontainers and client libraries), so
// this runs only where the jar can be had (`npm run test:lowkey`, or AKV_CSI_PEER_CACHE with it).
import { expect } from "chai";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { createPublicKey, X509Certificate } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { homedir, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import forge from "node-forge";
import { startEmulator, type Emulator } from "../../src/emulator/index.js";
import { createLogger } from "../../src/util/logger.js";
import { connectProvider } from "../helpers/provider-client.js";
import { mountRequest } from "../helpers/provider-mount.js";
import { startProviderProcess, type ProviderProcess } from "../helpers/provider-process.js";

const ROOT = resolve(__dirname, "..", "..");
const SUFFIX = "lowkey.test";
const VAULT = "peer-kv";
const JAVA = process.env.AKV_CSI_JAVA25 || "/usr/lib/jvm/temurin-25-jdk-amd64/bin/java";

function cacheDir(): string {
  return process.env.AKV_CSI_PEER_CACHE || join(homedir(), ".cache", "akv-csi", "peers");
}

/** Newest fetched jar, or why there is none. */
function findJar(): { jar?: string; why?: string; unobtainable?: boolean } {
  if (process.env.AKV_CSI_PEER_LOWKEY_JAR) return { jar: process.env.AKV_CSI_PEER_LOWKEY_JAR };
  const dir = cacheDir();
  const versions = existsSync(dir)
    ? readdirSync(dir)
        .filter((d) => d.startsWith("lowkey-vault-") && existsSync(join(dir, d, ".done")))
        .sort((a, b) => a.localeCompare(b, undefined, { numeric: true }))
    : [];
  const newest = versions[versions.length - 1];
  if (newest) {
    const jar = readdirSync(join(dir, newest)).find((f) => f.endsWith(".jar"));
    if (jar) return { jar: join(dir, newest, jar) };
  }
  const marker = join(dir, "lowkey-vault.unavailable");
  if (existsSync(marker)) return { why: readFileSync(marker, "utf8").trim(), unobtainable: true };
  return { why: "Lowkey Vault is not fetched (run: bash test/optional/lowkey.sh)" };
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
    s.on("error", rej);
  });
}

/** A CA and a `*.lowkey.test` server certificate in a PKCS#12 key store for Lowkey's Tomcat. */
function makeTls(dir: string): { caPem: string; keyStore: string; password: string } {
  const pki = forge.pki;
  const mk = (cn: string, issuer: forge.pki.Certificate | undefined, issuerKey: forge.pki.rsa.PrivateKey | undefined, ca: boolean) => {
    const keys = pki.rsa.generateKeyPair(2048);
    const cert = pki.createCertificate();
    cert.publicKey = keys.publicKey;
    cert.serialNumber = forge.util.bytesToHex(forge.random.getBytesSync(8)).replace(/^[89a-f]/, "1");
    cert.validity.notBefore = new Date(Date.now() - 60_000);
    cert.validity.notAfter = new Date(Date.now() + 86_400_000);
    cert.setSubject([{ name: "commonName", value: cn }]);
    cert.setIssuer((issuer ?? cert).subject.attributes);
    cert.setExtensions(
      ca
        ? [{ name: "basicConstraints", cA: true, critical: true }, { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true }, { name: "subjectKeyIdentifier" }]
        : [
            { name: "basicConstraints", cA: false },
            { name: "keyUsage", digitalSignature: true, keyEncipherment: true },
            { name: "extKeyUsage", serverAuth: true },
            { name: "subjectAltName", altNames: [{ type: 2, value: `*.${SUFFIX}` }, { type: 2, value: SUFFIX }, { type: 2, value: "localhost" }] },
          ],
    );
    cert.sign(issuerKey ?? keys.privateKey, forge.md.sha256.create());
    return { cert, key: keys.privateKey };
  };
  const ca = mk("akv-csi lowkey test CA", undefined, undefined, true);
  const leaf = mk(`*.${SUFFIX}`, ca.cert, ca.key, false);
  const password = "changeit";
  const p12 = forge.pkcs12.toPkcs12Asn1(leaf.key, [leaf.cert, ca.cert], password, { algorithm: "3des", friendlyName: "lowkey" });
  const keyStore = join(dir, "keystore.p12");
  writeFileSync(keyStore, Buffer.from(forge.asn1.toDer(p12).getBytes(), "binary"));
  return { caPem: pki.certificateToPem(ca.cert), keyStore, password };
}

async function waitFor(check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

// Seeds through the real SDK in a child process (CA and proxy are read at start-up).
const SEED_SCRIPT = `
const { ManagedIdentityCredential } = require("@azure/identity");
const { SecretClient } = require("@azure/keyvault-secrets");
const { KeyClient } = require("@azure/keyvault-keys");
const { CertificateClient, DefaultCertificatePolicy } = require("@azure/keyvault-certificates");
(async () => {
  const url = process.argv[1];
  const cred = new ManagedIdentityCredential();
  const o = { serviceVersion: "7.6" };
  await new SecretClient(url, cred, o).setSecret("peer-secret", "peer-secret-value");
  await new KeyClient(url, cred, o).createRsaKey("peer-key", { keySize: 2048 });
  const p = await new CertificateClient(url, cred, o).beginCreateCertificate("peer-cert", { ...DefaultCertificatePolicy, subject: "CN=peer.lowkey.test" }, { intervalInMs: 200 });
  await p.pollUntilDone();
  process.stdout.write("seeded\\n");
})().catch((e) => { process.stderr.write(String(e && e.message || e) + "\\n"); process.exit(1); });
`;

describe("peers: Lowkey Vault as the Key Vault", function () {
  this.timeout(240_000);
  let emu: Emulator | undefined;
  let lowkey: ChildProcess | undefined;
  let provider: ProviderProcess | undefined;
  let dir: string | undefined;
  let lowkeyLog = "";

  before(async function () {
    const found = findJar();
    const missing = !found.jar ? found.why : !existsSync(JAVA) ? `Java 25 not found at ${JAVA}` : undefined;
    if (missing) {
      // A registry that does not serve the artifact is a fact of this machine;
      // a build step that was never run is a CI bug.
      if (process.env.CI === "true" && !found.unobtainable) throw new Error(`peer lowkey-vault is required under CI: ${missing}`);
      console.log(`    skipping: peer lowkey-vault unavailable: ${missing}`);
      this.skip();
    }
    dir = mkdtempSync(join(tmpdir(), "akv-lowkey-"));
    const tls = makeTls(dir);
    emu = await startEmulator({ nmiPort: -1, log: createLogger({ verbosity: 0, write: () => undefined }) });
    const port = await freePort();
    lowkey = spawn(
      JAVA,
      [
        "-Xmx256m",
        "-jar",
        found.jar!,
        `--server.port=${port}`,
        "--server.address=127.0.0.1",
        `--server.ssl.key-store=${tls.keyStore}`,
        "--server.ssl.key-store-type=PKCS12",
        `--server.ssl.key-store-password=${tls.password}`,
        `--LOWKEY_VAULT_NAMES=${VAULT}`,
        // Clients reach it as https://peer-kv.lowkey.test (port 443 via the proxy).
        `--LOWKEY_VAULT_ALIASES=${VAULT}.localhost=${VAULT}.${SUFFIX}`,
        `--LOWKEY_AUTH_RESOURCE=${SUFFIX}`,
      ],
      { cwd: dir, stdio: ["ignore", "pipe", "pipe"] },
    );
    lowkey.stdout!.on("data", (d: Buffer) => (lowkeyLog += d.toString()));
    lowkey.stderr!.on("data", (d: Buffer) => (lowkeyLog += d.toString()));
    await waitFor(() => /Started \w+ in/.test(lowkeyLog) || lowkey!.exitCode !== null, 120_000, "Lowkey Vault to start");
    if (lowkey.exitCode !== null) throw new Error(`Lowkey Vault exited:\n${lowkeyLog.slice(-2000)}`);
    emu.addProxyRoute(SUFFIX, `127.0.0.1:${port}`);

    const caFile = join(dir, "ca.pem");
    writeFileSync(caFile, `${emu.caPem}\n${tls.caPem}`);
    const env = { ...process.env, ...emu.clientEnv(), NODE_EXTRA_CA_CERTS: caFile, SSL_CERT_FILE: caFile };
    const seeded = await promisify(execFile)(process.execPath, ["-e", SEED_SCRIPT, `https://${VAULT}.${SUFFIX}/`], { cwd: ROOT, env, timeout: 120_000 });
    expect(seeded.stdout).to.contain("seeded");

    const cloud = JSON.parse(readFileSync(emu.cloudEnvFile, "utf8")) as Record<string, unknown>;
    writeFileSync(join(dir, "cloud.json"), JSON.stringify({ ...cloud, keyVaultDNSSuffix: SUFFIX, keyVaultEndpoint: `https://${SUFFIX}/` }));
    provider = await startProviderProcess({ env, args: ["--keyvault-api-version=7.6", "-v=5"] });
  });

  after(async () => {
    await provider?.stop();
    lowkey?.kill("SIGTERM");
    await emu?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("mounts a secret, a key and a certificate served by Lowkey Vault", async () => {
    const client = connectProvider(provider!.socket);
    try {
      const res = await client.mount(
        mountRequest({
          params: {
            keyvaultName: VAULT,
            tenantId: emu!.tenantId,
            cloudName: "AzureStackCloud",
            cloudEnvFileName: join(dir!, "cloud.json"),
            useVMManagedIdentity: "true",
          },
          objects: [
            { objectName: "peer-secret", objectType: "secret" },
            { objectName: "peer-key", objectType: "key" },
            { objectName: "peer-cert", objectType: "cert" },
          ],
        }),
        60_000,
      );
      expect(res.files.map((f) => f.path)).to.deep.equal(["peer-secret", "peer-key", "peer-cert"]);
      expect(res.files[0]!.contents.toString()).to.equal("peer-secret-value");
      expect(createPublicKey(res.files[1]!.contents).asymmetricKeyType).to.equal("rsa");
      expect(new X509Certificate(res.files[2]!.contents).subject).to.contain("peer.lowkey.test");
      for (const o of res.object_version) expect(o.version).to.match(/^[0-9a-zA-Z-]+$/);
    } finally {
      client.close();
    }
  });
});
