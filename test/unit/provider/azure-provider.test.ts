import { expect } from "chai";
import { AzureProvider } from "../../../src/provider/azure/index.js";
import type { KeyVault, KeyVaultSource } from "../../../src/provider/azure/keyvault.js";
import { KeyVaultError } from "../../../src/provider/azure/keyvault.js";
import type { MountCredential } from "../../../src/provider/azure/auth.js";
import type { AuthConfig, FetchedSecret, VersionInfo } from "../../../src/provider/azure/plan.js";
import { memoryLogger } from "../../../src/util/logger.js";

const objects = (...items: string[]) => `array:\n${items.map((i) => `  - |\n${i.split("\n").map((l) => `    ${l}`).join("\n")}`).join("\n")}\n`;

function attrs(objectsYaml: string): Record<string, string> {
  return {
    keyvaultName: "demo-kv",
    tenantId: "72f988bf-86f1-41af-91ab-2d7cd011db47",
    objects: objectsYaml,
    "csi.storage.k8s.io/pod.name": "pod-1",
    "csi.storage.k8s.io/pod.namespace": "default",
  };
}
const spSecrets = { clientid: "client-1", clientsecret: "sentinel-client-secret-XYZ" };

interface FakeVault {
  secrets: Map<string, { value: string; version: string; delayMs?: number; fail?: Error }>;
  versions: Map<string, VersionInfo[]>;
  calls: string[];
  active: number;
  maxActive: number;
  aborted: number;
}

function fakeSource(v: FakeVault): KeyVaultSource & { identities: string[] } {
  const identities: string[] = [];
  return {
    identities,
    forIdentity(id: MountCredential): KeyVault {
      identities.push(id.principal);
      const secret = async (name: string, version: string, signal?: AbortSignal): Promise<FetchedSecret> => {
        v.calls.push(`secret/${name}/${version}`);
        v.active++;
        v.maxActive = Math.max(v.maxActive, v.active);
        try {
          const s = v.secrets.get(version ? `${name}@${version}` : name);
          await new Promise<void>((resolve, reject) => {
            let done = false;
            const t = setTimeout(() => ((done = true), resolve()), s?.delayMs ?? 5);
            signal?.addEventListener("abort", () => {
              if (done) return;
              clearTimeout(t);
              v.aborted++;
              reject(Object.assign(new Error("aborted"), { name: "AbortError" }));
            });
          });
          if (!s) throw new KeyVaultError(`keyvault https://demo-kv.vault.azure.net/: get secret "${name}" failed: RESPONSE 404, ERROR CODE: SecretNotFound`, "SecretNotFound", 404);
          if (s.fail) throw s.fail;
          return { value: s.value, version: s.version };
        } finally {
          v.active--;
        }
      };
      return {
        getSecret: (_u, name, version, ctx) => secret(name, version, ctx?.signal),
        getKey: () => Promise.reject(new Error("no keys here")),
        getCertificate: () => Promise.reject(new Error("no certs here")),
        listVersions: async (_t, _u, name) => {
          v.calls.push(`list/${name}`);
          return v.versions.get(name) ?? [];
        },
      };
    },
  };
}

function setup(maxParallel = 8) {
  const vault: FakeVault = { secrets: new Map(), versions: new Map(), calls: [], active: 0, maxActive: 0, aborted: 0 };
  const source = fakeSource(vault);
  const auths: AuthConfig[] = [];
  const mem = memoryLogger(10);
  const provider = new AzureProvider({
    defaults: { cloudName: "AzurePublicCloud", constructPemChain: true, writeCertAndKeyInSeparateFiles: false },
    log: mem.log,
    keyvault: source,
    credentials: {
      forMount: (auth) => {
        auths.push(auth);
        return { principal: `p:${auth.mode}`, credential: { getToken: async () => null } };
      },
    },
    maxParallel,
    runtimeVersion: "v0.0.0-test",
  });
  return { vault, source, auths, provider, mem };
}

const mountInput = (a: Record<string, string>, secrets: Record<string, string> = spSecrets) => ({
  attributes: a,
  secrets,
  targetPath: "/t",
  permission: 0o644,
  currentObjectVersions: [],
});

describe("provider/azure AzureProvider (fake Key Vault)", () => {
  it("reports upstream Version strings", () => {
    expect(setup().provider.version()).to.deep.equal({
      version: "v1alpha1",
      runtimeName: "secrets-store-csi-driver-provider-azure",
      runtimeVersion: "v0.0.0-test",
    });
  });

  it("returns files and versions in SPC order even when later objects finish first", async () => {
    const { vault, provider, auths } = setup();
    vault.secrets.set("slow", { value: "S", version: "v-slow", delayMs: 60 });
    vault.secrets.set("fast", { value: "F", version: "v-fast", delayMs: 1 });
    const out = await provider.mount(
      mountInput(attrs(objects("objectName: slow\nobjectType: secret", "objectName: fast\nobjectType: secret\nobjectAlias: f.txt"))),
    );
    expect(out.files.map((f) => [f.path, f.contents.toString(), f.mode])).to.deep.equal([
      ["slow", "S", 0o644],
      ["f.txt", "F", 0o644],
    ]);
    expect(out.objectVersions).to.deep.equal([
      { id: "secret/slow", version: "v-slow" },
      { id: "secret/fast", version: "v-fast" },
    ]);
    expect(auths[0]!.mode).to.equal("ServicePrincipal");
    // Both fetches ran at once.
    expect(vault.maxActive).to.equal(2);
  });

  it("bounds parallel fetches per mount", async () => {
    const { vault, provider } = setup(3);
    const items: string[] = [];
    for (let i = 0; i < 10; i++) {
      vault.secrets.set(`s${i}`, { value: `v${i}`, version: `ver${i}`, delayMs: 10 });
      items.push(`objectName: s${i}\nobjectType: secret`);
    }
    const out = await provider.mount(mountInput(attrs(objects(...items))));
    expect(out.files).to.have.length(10);
    expect(vault.maxActive).to.equal(3);
  });

  it("all or nothing: one missing object fails the mount, names it, and stops the objects after it (earlier ones finish, as upstream's order would reach them first)", async () => {
    const { vault, provider, mem } = setup(8);
    vault.secrets.set("a", { value: "A", version: "1", delayMs: 500 });
    vault.secrets.set("c", { value: "C", version: "3", delayMs: 500 });
    const t0 = Date.now();
    try {
      await provider.mount(
        mountInput(attrs(objects("objectName: a\nobjectType: secret", "objectName: missing\nobjectType: secret", "objectName: c\nobjectType: secret"))),
      );
      expect.fail("should fail");
    } catch (e) {
      expect((e as Error).message).to.match(/^failed to get objectType:secret, objectName:missing, objectVersion:: .*SecretNotFound/);
    }
    expect(Date.now() - t0).to.be.below(1000); // `a` (500 ms) finishes; `c` does not wait its 500 ms after that
    expect(vault.aborted).to.equal(1);
    expect(mem.lines.join("")).to.not.contain("sentinel-client-secret-XYZ");
  });

  it("zero objects: success with no files and no credential", async () => {
    const { provider, auths } = setup();
    const out = await provider.mount(mountInput(attrs("array: []\n")));
    expect(out).to.deep.equal({ files: [], objectVersions: [] });
    expect(auths).to.have.length(0);
  });

  it("planning errors surface before any Key Vault call", async () => {
    const { provider, vault } = setup();
    const a = attrs(objects("objectName: s\nobjectType: secret"));
    delete a.keyvaultName;
    await provider.mount(mountInput(a)).then(
      () => expect.fail("should fail"),
      (e: Error) => expect(e.message).to.contain("keyvaultName is not provided"),
    );
    expect(vault.calls).to.have.length(0);
  });

  it("history mode lists versions and fetches each, ids <type>/<name>/<i>", async () => {
    const { vault, provider } = setup();
    const t = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
    vault.versions.set("h", [
      { version: "old", enabled: true, createdOn: t(1) },
      { version: "new", enabled: true, createdOn: t(3) },
      { version: "mid", enabled: true, createdOn: t(2) },
    ]);
    for (const v of ["old", "mid", "new"]) vault.secrets.set(`h@${v}`, { value: `value-${v}`, version: v });
    const out = await provider.mount(mountInput(attrs(objects("objectName: h\nobjectType: secret\nobjectVersionHistory: 2"))));
    expect(vault.calls[0]).to.equal("list/h");
    const ids = out.objectVersions.map((o) => `${o.id}=${o.version}`);
    expect(ids.slice(0, 2)).to.deep.equal(["secret/h/0=new", "secret/h/1=mid"]);
    expect(out.files[0]!.path).to.equal("h/0");
    expect(out.files[0]!.contents.toString()).to.equal("value-new");
  });

  it("cancellation of the call aborts in-flight fetches", async () => {
    const { vault, provider } = setup();
    vault.secrets.set("a", { value: "A", version: "1", delayMs: 5_000 });
    const ac = new AbortController();
    setTimeout(() => ac.abort(Object.assign(new Error("the call was cancelled by the client"), { name: "AbortError" })), 30);
    const t0 = Date.now();
    await provider.mount({ ...mountInput(attrs(objects("objectName: a\nobjectType: secret"))), signal: ac.signal }).then(
      () => expect.fail("should fail"),
      (e: Error) => expect(e.message).to.contain("objectName:a"),
    );
    expect(Date.now() - t0).to.be.below(1000);
  });
});
