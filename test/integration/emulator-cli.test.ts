// `akv-csi emulator` as its own process: YAML seed, printed endpoints and
// env, admin rotation from another process, SIGTERM shutdown.
import { expect } from "chai";
import { ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";

const MAIN = join(__dirname, "..", "..", "src", "main.ts");

function waitForOutput(child: ChildProcess, re: RegExp, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re}; got:\n${out}`)), timeoutMs);
    child.stdout!.on("data", (c: Buffer) => {
      out += c.toString();
      if (re.test(out)) {
        clearTimeout(timer);
        resolve(out);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`emulator exited early with ${code}:\n${out}`));
    });
  });
}

describe("akv-csi emulator command", function () {
  this.timeout(60_000);
  let dir: string;
  let child: ChildProcess | undefined;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "akv-emu-cli-"));
  });
  after(() => {
    if (child && child.exitCode === null) child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  it("starts from a YAML seed, prints the client env, serves IMDS + Key Vault, and exits 0 on SIGTERM", async () => {
    const seedFile = join(dir, "seed.yaml");
    writeFileSync(
      seedFile,
      [
        "vaults:",
        "  - name: cli-kv",
        "    secrets:",
        "      - name: greeting",
        "        versions:",
        "          - value: hello-v1",
        "          - value: hello-v2",
        "    keys:",
        "      - name: ec-key",
        "        kty: EC",
        "        crv: P-256",
        "managedIdentities:",
        "  - clientId: 11111111-2222-3333-4444-555555555555",
        "    systemAssigned: true",
        "",
      ].join("\n"),
    );
    const stateDir = join(dir, "state");
    child = spawn(process.execPath, ["--import", "tsx", MAIN, "emulator", "--https-port=0", "--http-port=0", "--nmi-port=-1", `--seed=${seedFile}`, `--state-dir=${stateDir}`], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const out = await waitForOutput(child, /AZURE_ENVIRONMENT_FILEPATH=.*\n/, 45_000);
    const env = Object.fromEntries([...out.matchAll(/^export (\w+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]));
    expect(env.NODE_EXTRA_CA_CERTS).to.equal(join(stateDir, "ca.pem"));
    expect(env.NO_PROXY).to.equal("localhost,127.0.0.1");
    expect(out).to.match(/vaults: cli-kv/);
    expect(out).to.match(/NMI:\s+off/);
    const cloud = JSON.parse(readFileSync(env.AZURE_ENVIRONMENT_FILEPATH!, "utf8")) as Record<string, string>;
    expect(cloud.name).to.equal("AzureStackCloud");
    expect(cloud.keyVaultDNSSuffix).to.equal("vault.akv.test");
    const httpsPort = Number(/https:\/\/localhost:(\d+)\//.exec(cloud.activeDirectoryEndpoint!)![1]);

    const imds = env.AZURE_POD_IDENTITY_AUTHORITY_HOST!;
    const tok = await fetch(`${imds}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://vault.akv.test`, { headers: { Metadata: "true" } });
    const { access_token: token, client_id: clientId } = (await tok.json()) as { access_token: string; client_id: string };
    expect(clientId).to.equal("11111111-2222-3333-4444-555555555555");

    const rotate = await fetch(`${imds}/_emulator/vaults/cli-kv/secrets/greeting`, { method: "PUT", body: JSON.stringify({ value: "hello-v3" }) });
    expect(rotate.status).to.equal(200);

    const ca = readFileSync(env.NODE_EXTRA_CA_CERTS!, "utf8");
    const get = (path: string) =>
      new Promise<{ status: number; body: any }>((resolve, reject) => {
        const host = "cli-kv.vault.akv.test";
        const req = httpsRequest({ host: "127.0.0.1", port: httpsPort, servername: host, ca, path, headers: { host, authorization: `Bearer ${token}` } }, (res) => {
          let t = "";
          res.on("data", (c: Buffer) => (t += c.toString()));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(t) }));
        });
        req.on("error", reject);
        req.end();
      });
    const secret = await get("/secrets/greeting/?api-version=7.4");
    expect(secret.body.value).to.equal("hello-v3");
    const versions = await get("/secrets/greeting/versions?api-version=7.4");
    expect(versions.body.value).to.have.length(3);
    const key = await get("/keys/ec-key/?api-version=7.4");
    expect(key.body.key).to.include({ kty: "EC", crv: "P-256" });

    const exited = new Promise<number | null>((resolve) => child!.once("exit", (code) => resolve(code)));
    child.kill("SIGTERM");
    expect(await exited).to.equal(0);
  });
});
