import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { planMount, ProviderError } from "../../../../src/provider/azure/plan.js";
import type { ProviderDefaults } from "../../../../src/provider/azure/plan.js";

const defaults: ProviderDefaults = { cloudName: "AzurePublicCloud", constructPemChain: true, writeCertAndKeyInSeparateFiles: false };
const WI = "api://AzureADTokenExchange";
const IB = "api://AKSIdentityBinding";
const SENTINEL_SA = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6bnM6c2EifQ.SENTINEL-SA-TOKEN";
const SENTINEL_SECRET = "SENTINEL-CLIENT-SECRET";
const tokens = (m: Record<string, string>) =>
  JSON.stringify(Object.fromEntries(Object.entries(m).map(([aud, token]) => [aud, { token, expirationTimestamp: "2030-01-01T00:00:00Z" }])));

const objects = `array:
  - |
    objectName: secret1
    objectType: secret
`;

function attrs(o: Record<string, string | undefined> = {}): Record<string, string> {
  const base: Record<string, string | undefined> = {
    "csi.storage.k8s.io/pod.name": "pod1",
    "csi.storage.k8s.io/pod.namespace": "ns1",
    keyvaultName: "kv1",
    tenantId: "tenant1",
    objects,
    ...o,
  };
  return Object.fromEntries(Object.entries(base).filter((e): e is [string, string] => e[1] !== undefined));
}
const sp = { clientid: "id", clientsecret: SENTINEL_SECRET };
const plan = (a: Record<string, string>, s: Record<string, string> | null = sp, p = 0o644) => planMount(a, s, p, defaults);
const fails = (a: Record<string, string>, msg: string, s: Record<string, string> | null = sp) => {
  let err: unknown;
  try {
    plan(a, s);
  } catch (e) {
    err = e;
  }
  expect(err, `expected failure: ${msg}`).to.be.instanceOf(ProviderError);
  expect((err as Error).message).to.equal(msg);
  expect((err as Error).message).to.not.include(SENTINEL_SECRET);
  expect((err as Error).message).to.not.include("SENTINEL-SA");
};

describe("provider/azure planMount: check order and upstream texts", () => {
  it("happy path: service principal, public cloud, one object with defaults", () => {
    const p = plan(attrs());
    expect(p.vaultUrl).to.equal("https://kv1.vault.azure.net/");
    expect(p.cloud.activeDirectoryEndpoint).to.equal("https://login.microsoftonline.com/");
    expect(p.auth).to.deep.equal({ mode: "ServicePrincipal", tenantId: "tenant1", clientId: "id", clientSecret: SENTINEL_SECRET });
    expect(p.defaultMode).to.equal(0o644);
    expect(p.objects).to.deep.equal([
      {
        objectName: "secret1",
        objectType: "secret",
        objectVersion: "",
        objectVersionHistory: 0,
        objectAlias: "secret1",
        objectFormat: "pem",
        objectEncoding: "utf-8",
        filePermission: "",
      },
    ]);
  });

  it("1. pod name, then pod namespace (trimmed)", () => {
    fails(attrs({ "csi.storage.k8s.io/pod.name": " ", keyvaultName: "" }), "pod name is not provided");
    fails(attrs({ "csi.storage.k8s.io/pod.namespace": undefined, keyvaultName: "" }), "pod namespace is not provided");
  });

  it("2. ParseBool set and error texts, in flag order", () => {
    for (const t of ["1", "t", "T", "TRUE", "true", "True", " true "]) expect(plan(attrs({ useVMManagedIdentity: t })).auth.mode).to.equal("VMManagedIdentity");
    for (const f of ["0", "f", "F", "FALSE", "false", "False", ""]) expect(plan(attrs({ useVMManagedIdentity: f })).auth.mode).to.equal("ServicePrincipal");
    fails(attrs({ usePodIdentity: "yes", useVMManagedIdentity: "nope" }), 'failed to parse usePodIdentity flag, error: strconv.ParseBool: parsing "yes": invalid syntax');
    fails(attrs({ useVMManagedIdentity: "tRUE" }), 'failed to parse useVMManagedIdentity flag, error: strconv.ParseBool: parsing "tRUE": invalid syntax');
    fails(attrs({ useAzureTokenProxy: "on", keyvaultName: "" }), 'failed to parse useAzureTokenProxy flag, error: strconv.ParseBool: parsing "on": invalid syntax');
  });

  it("3. only one identity mode, checked before the vault name", () => {
    const msg = "only one identity mode can be enabled at a time: usePodIdentity, useVMManagedIdentity, or useAzureTokenProxy";
    fails(attrs({ usePodIdentity: "true", useVMManagedIdentity: "true", keyvaultName: "" }), msg);
    fails(attrs({ useVMManagedIdentity: "true", useAzureTokenProxy: "1" }), msg);
    fails(attrs({ usePodIdentity: "t", useAzureTokenProxy: "T" }), msg);
  });

  it("4. keyvaultName, then tenant; tenantID wins over tenantId", () => {
    fails(attrs({ keyvaultName: "  ", tenantId: "" }), "keyvaultName is not provided");
    fails(attrs({ tenantId: " " }), "tenantId is not provided");
    expect(plan(attrs({ tenantID: "new", tenantId: "old" })).tenantId).to.equal("new");
    expect(plan(attrs({ tenantID: " ", tenantId: "old" })).tenantId).to.equal("old");
  });

  describe("5. clouds", () => {
    let dir: string;
    before(() => (dir = mkdtempSync(join(tmpdir(), "akv-cloud-"))));
    after(() => rmSync(dir, { recursive: true, force: true }));

    it("the four named clouds, case-insensitive", () => {
      const table: [string, string, string][] = [
        ["AzurePublicCloud", "https://login.microsoftonline.com/", "https://kv1.vault.azure.net/"],
        ["azureusgovernmentcloud", "https://login.microsoftonline.us/", "https://kv1.vault.usgovcloudapi.net/"],
        ["AZURECHINACLOUD", "https://login.chinacloudapi.cn/", "https://kv1.vault.azure.cn/"],
        ["AzureGermanCloud", "https://login.microsoftonline.de/", "https://kv1.vault.microsoftazure.de/"],
      ];
      for (const [name, aad, url] of table) {
        const p = plan(attrs({ cloudName: name }));
        expect(p.cloud.activeDirectoryEndpoint).to.equal(aad);
        expect(p.vaultUrl).to.equal(url);
      }
    });
    it("an unknown cloud gives go-autorest's text (name upper-cased)", () => {
      fails(attrs({ cloudName: "Mars" }), 'cloudName Mars is not valid, error: autorest/azure: There is no cloud environment matching the name "MARS"');
    });
    it("AzureStackCloud reads cloudEnvFileName (JSON keys case-insensitive) without touching process.env", () => {
      const file = join(dir, "env.json");
      writeFileSync(file, JSON.stringify({ name: "Stack", ActiveDirectoryEndpoint: "https://adfs.local/", keyVaultDNSSuffix: "vault.local", keyVaultEndpoint: "https://vault.local" }));
      const before = process.env.AZURE_ENVIRONMENT_FILEPATH;
      const p = plan(attrs({ cloudName: "AzureStackCloud", cloudEnvFileName: file, tenantId: "adfs" }));
      expect(p.vaultUrl).to.equal("https://kv1.vault.local/");
      expect(p.cloud).to.deep.include({ name: "Stack", activeDirectoryEndpoint: "https://adfs.local/", keyVaultEndpoint: "https://vault.local" });
      expect(p.tenantId).to.equal("adfs");
      expect(process.env.AZURE_ENVIRONMENT_FILEPATH).to.equal(before);
    });
    it("AzureStackCloud file errors", () => {
      const missing = join(dir, "nope.json");
      fails(attrs({ cloudName: "AzureStackCloud", cloudEnvFileName: missing }), `cloudName AzureStackCloud is not valid, error: open ${missing}: no such file or directory`);
      const bad = join(dir, "bad.json");
      writeFileSync(bad, "{not json");
      fails(attrs({ cloudName: "azurestackcloud", cloudEnvFileName: bad }), `cloudName azurestackcloud is not valid, error: invalid JSON in cloud environment file ${bad}`);
      const empty = join(dir, "empty.json");
      writeFileSync(empty, "{}");
      fails(attrs({ cloudName: "AzureStackCloud", cloudEnvFileName: empty }), `cloudName AzureStackCloud is not valid, error: keyVaultDNSSuffix is empty in cloud environment file ${empty}`);
      fails(attrs({ cloudEnvFileName: "a\0b" }), "failed to set AZURE_ENVIRONMENT_FILEPATH env to a\0b, error setenv: invalid argument");
    });
    it("no cloudName uses the default (pre-resolved default wins)", () => {
      expect(planMount(attrs(), sp, 0o644, { ...defaults, cloudName: "AzureChinaCloud" }).vaultUrl).to.equal("https://kv1.vault.azure.cn/");
      const custom = { name: "X", activeDirectoryEndpoint: "https://a/", keyVaultDNSSuffix: "v.x", keyVaultEndpoint: "https://v.x/" };
      expect(planMount(attrs(), sp, 0o644, { ...defaults, defaultCloud: custom }).vaultUrl).to.equal("https://kv1.v.x/");
    });
  });

  describe("6. auth config", () => {
    it("service principal from secrets, keys case-insensitive; values not trimmed", () => {
      expect(plan(attrs(), { ClientID: "a", CLIENTSECRET: " s " }).auth).to.deep.include({ mode: "ServicePrincipal", clientId: "a", clientSecret: " s " });
    });
    it("service principal errors", () => {
      fails(attrs(), "failed to build auth config for mode None: failed to get credentials, nodePublishSecretRef secret is not set", null);
      fails(attrs(), "failed to build auth config for mode None: failed to get credentials, nodePublishSecretRef secret is not set", {});
      fails(attrs(), "failed to build auth config for mode None: could not find clientid in secrets", { clientsecret: SENTINEL_SECRET });
      fails(attrs(), "failed to build auth config for mode None: could not find clientsecret in secrets", { clientid: "x" });
    });
    it("clientID ⇒ workload identity with the AzureADTokenExchange token", () => {
      const a = attrs({ clientID: " cid ", "csi.storage.k8s.io/serviceAccount.tokens": tokens({ [WI]: SENTINEL_SA, [IB]: "other" }) });
      expect(plan(a, null).auth).to.deep.equal({
        mode: "WorkloadIdentity",
        tenantId: "tenant1",
        clientId: "cid",
        serviceAccountToken: SENTINEL_SA,
        podNamespace: "ns1",
        serviceAccountName: "sa",
      });
    });
    it("workload identity token errors (also with pod identity or MI on)", () => {
      fails(attrs({ clientID: "c" }), "failed to build auth config for mode None: failed to parse workload identity tokens, error: service account tokens not found");
      fails(
        attrs({ clientID: "c", "csi.storage.k8s.io/serviceAccount.tokens": tokens({ [IB]: SENTINEL_SA }) }),
        `failed to build auth config for mode None: failed to parse workload identity tokens, error: token for audience ${WI} not found`,
      );
      fails(
        attrs({ clientID: "c", useVMManagedIdentity: "true", "csi.storage.k8s.io/serviceAccount.tokens": `{"${WI}": "${SENTINEL_SA}"` }),
        "failed to build auth config for mode VMManagedIdentity: failed to parse workload identity tokens, error: failed to unmarshal service account tokens, error: invalid JSON",
      );
      fails(attrs({ clientID: "c", usePodIdentity: "true" }), "failed to build auth config for mode PodIdentity: failed to parse workload identity tokens, error: service account tokens not found");
      const withToken = attrs({ clientID: "c", usePodIdentity: "true", "csi.storage.k8s.io/serviceAccount.tokens": tokens({ [WI]: SENTINEL_SA }) });
      expect(plan(withToken, null).auth).to.deep.equal({ mode: "PodIdentity", podName: "pod1", podNamespace: "ns1" });
    });
    it("managed identity: userAssignedIdentityID (case-sensitive key), empty = system-assigned", () => {
      expect(plan(attrs({ useVMManagedIdentity: "true", userAssignedIdentityID: " uid " }), null).auth).to.deep.equal({ mode: "VMManagedIdentity", userAssignedIdentityId: "uid" });
      expect(plan(attrs({ useVMManagedIdentity: "true", userAssignedIdentityId: "ignored" }), null).auth).to.deep.equal({ mode: "VMManagedIdentity", userAssignedIdentityId: "" });
    });
    it("identity binding needs clientID and the AKSIdentityBinding token", () => {
      fails(attrs({ useAzureTokenProxy: "true" }), "failed to build auth config for mode AzureTokenProxy: clientID is required for identity binding");
      fails(attrs({ useAzureTokenProxy: "true", clientID: "c" }), "failed to build auth config for mode AzureTokenProxy: service account tokens are required for identity binding");
      fails(
        attrs({ useAzureTokenProxy: "true", clientID: "c", "csi.storage.k8s.io/serviceAccount.tokens": tokens({ [WI]: SENTINEL_SA }) }),
        `failed to build auth config for mode AzureTokenProxy: failed to parse service account token for identity binding, error: token for audience ${IB} not found`,
      );
      const ok = attrs({ useAzureTokenProxy: "true", clientID: "c", "csi.storage.k8s.io/serviceAccount.tokens": tokens({ [IB]: SENTINEL_SA }) });
      expect(plan(ok, null).auth).to.deep.equal({ mode: "AzureTokenProxy", tenantId: "tenant1", clientId: "c", serviceAccountToken: SENTINEL_SA });
    });
    it("auth is checked before objects", () => {
      fails(attrs({ objects: "" }), "failed to build auth config for mode None: failed to get credentials, nodePublishSecretRef secret is not set", null);
    });
  });

  describe("7–9. objects", () => {
    it("objects is not set (empty or blank)", () => {
      fails(attrs({ objects: undefined }), "objects is not set");
      fails(attrs({ objects: " \n " }), "objects is not set");
    });
    it("yaml errors", () => {
      fails(attrs({ objects: "foo" }), "failed to yaml unmarshal objects, error: yaml: unmarshal errors:\n  line 1: cannot unmarshal !!str `foo` into types.StringArray");
      fails(attrs({ objects: "array: foo" }), "failed to yaml unmarshal objects, error: yaml: unmarshal errors:\n  line 1: cannot unmarshal !!str `foo` into []string");
      fails(attrs({ objects: "- a\n- b" }), "failed to yaml unmarshal objects, error: yaml: unmarshal errors:\n  line 1: cannot unmarshal !!seq into types.StringArray");
      fails(
        attrs({ objects: "array:\n  - objectName: x\n    objectType: secret" }),
        "failed to yaml unmarshal objects, error: yaml: unmarshal errors:\n  line 2: cannot unmarshal !!map into string",
      );
      fails(attrs({ objects: "array: []\narray: []" }), 'failed to yaml unmarshal objects, error: yaml: unmarshal errors:\n  line 2: mapping key "array" already defined at line 1');
      expect(() => plan(attrs({ objects: "array: [unclosed" }))).to.throw(ProviderError, /^failed to yaml unmarshal objects, error: yaml: line \d+: /);
    });
    it("zero objects (no array, empty array, null items) succeed with no objects, before the vault name is checked", () => {
      for (const o of ["array:", "other: 1", "array: []", "array:\n  - ~\n  -", "# only a comment"]) {
        const p = plan(attrs({ objects: o, keyvaultName: "x" }));
        expect(p.objects, o).to.deep.equal([]);
        expect(p.vaultUrl).to.equal("");
      }
    });
    it("per-object unmarshal error names the index", () => {
      const o = 'array:\n  - |\n    objectName: a\n  - "just a string"\n';
      fails(attrs({ objects: o }), "unmarshal failed for keyVaultObjects at index 1, error: yaml: unmarshal errors:\n  line 1: cannot unmarshal !!str `just a ...` into types.KeyVaultObject");
      fails(
        attrs({ objects: 'array:\n  - |\n    objectName: a\n    objectVersionHistory: "5"\n' }),
        "unmarshal failed for keyVaultObjects at index 0, error: yaml: unmarshal errors:\n  line 2: cannot unmarshal !!str `5` into int32",
      );
      fails(
        attrs({ objects: "array:\n  - |\n    objectName: [a]\n    objectVersionHistory: 99999999999\n" }),
        "unmarshal failed for keyVaultObjects at index 0, error: yaml: unmarshal errors:\n  line 1: cannot unmarshal !!seq into string\n  line 2: cannot unmarshal !!int `9999999...` into int32",
      );
      fails(
        attrs({ objects: "array:\n  - |\n    objectName: a\n    objectName: b\n" }),
        'unmarshal failed for keyVaultObjects at index 0, error: yaml: unmarshal errors:\n  line 2: mapping key "objectName" already defined at line 1',
      );
    });
    it("10. vault name shape after the objects", () => {
      fails(attrs({ keyvaultName: "ab" }), 'failed to get vault: Invalid vault name: "ab", must be between 3 and 24 chars');
      fails(attrs({ keyvaultName: "a".repeat(25) }), `failed to get vault: Invalid vault name: "${"a".repeat(25)}", must be between 3 and 24 chars`);
      fails(attrs({ keyvaultName: "kv_1" }), 'failed to get vault: Invalid vault name: "kv_1", must match [-a-zA-Z0-9]{3,24}');
      fails(attrs({ keyvaultName: "kv.evil.com/x" }), 'failed to get vault: Invalid vault name: "kv.evil.com/x", must match [-a-zA-Z0-9]{3,24}');
      expect(plan(attrs({ keyvaultName: "My-Vault-01" })).vaultUrl).to.equal("https://My-Vault-01.vault.azure.net/");
      // An object error comes before the vault name error.
      fails(
        attrs({ keyvaultName: "ab", objects: "array:\n  - |\n    objectName: a\n    objectFormat: der\n" }),
        "failed to get objectType:, objectName:a, objectVersion:: invalid objectFormat: der, should be PEM or PFX",
      );
    });
  });
});

describe("provider/azure planMount: upstream GetSecretsStoreObjectContent fixtures (indented objects as in provider_test.go)", () => {
  const p = (extra: Record<string, string>) => ({
    keyvaultName: "testKV",
    tenantId: "tid",
    useVMManagedIdentity: "true",
    "csi.storage.k8s.io/pod.name": "pod1",
    "csi.storage.k8s.io/pod.namespace": "ns1",
    ...extra,
  });
  const run = (a: Record<string, string>) => planMount(a, null, 0o420, defaults);

  it("objects not configured as an array", () => {
    const objects = `
        - |
          objectName: secret1
          objectType: secret
          objectVersion: ""`;
    expect(() => run(p({ objects }))).to.throw("failed to yaml unmarshal objects, error: yaml: unmarshal errors");
  });
  it("objects array is empty", () => {
    expect(run(p({ objects: "\n      array:" })).objects).to.deep.equal([]);
  });
  it("invalid object format / encoding", () => {
    const obj = (line: string) => `
      array:
        - |
          objectName: secret1
          objectType: secret
          ${line}
          objectVersion: ""`;
    expect(() => run(p({ objects: obj("objectFormat: pkcs") }))).to.throw(
      "failed to get objectType:secret, objectName:secret1, objectVersion:: invalid objectFormat: pkcs, should be PEM or PFX",
    );
    expect(() => run(p({ objects: obj("objectEncoding: utf-16") }))).to.throw(
      "failed to get objectType:secret, objectName:secret1, objectVersion:: invalid objectEncoding: utf-16, should be hex, base64 or utf-8",
    );
    const ok = run(p({ objects: obj("objectEncoding: base64") }));
    expect(ok.objects[0]).to.include({ objectName: "secret1", objectVersion: "", objectEncoding: "base64" });
    expect(ok.vaultUrl).to.equal("https://testKV.vault.azure.net/");
    expect(ok.defaultMode).to.equal(0o420);
  });
  it("AzureStackCloud with a missing env file", () => {
    expect(() => run(p({ cloudName: "AzureStackCloud", cloudEnvFileName: "/etc/kubernetes/akscustom.json" }))).to.throw(
      "cloudName AzureStackCloud is not valid, error: open /etc/kubernetes/akscustom.json: no such file or directory",
    );
  });
});
