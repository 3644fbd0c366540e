import { expect } from "chai";
import { AuthNotSupportedError, CredentialFactory, principalKey, serviceAccountFromToken } from "../../../src/provider/azure/auth.js";
import type { AuthConfig, CloudEnvironment } from "../../../src/provider/azure/plan.js";
import { memoryLogger } from "../../../src/util/logger.js";
import { saToken } from "../../helpers/provider-mount.js";

const cloud: CloudEnvironment = {
  name: "AzurePublicCloud",
  activeDirectoryEndpoint: "https://login.microsoftonline.com/",
  keyVaultDNSSuffix: "vault.azure.net",
  keyVaultEndpoint: "https://vault.azure.net/",
};
const wi = (ns: string, sa: string, clientId = "c1", tenantId = "t1"): AuthConfig => ({
  mode: "WorkloadIdentity",
  tenantId,
  clientId,
  serviceAccountToken: saToken(ns, sa),
  podNamespace: ns,
});

describe("provider/azure/auth", () => {
  it("reads the service account from the projected token's sub claim", () => {
    expect(serviceAccountFromToken(saToken("prod", "web"))).to.deep.equal({ namespace: "prod", name: "web" });
    expect(serviceAccountFromToken("not-a-jwt")).to.equal(undefined);
  });

  it("principal keys separate every identity dimension and never contain a secret", () => {
    const keys = [
      principalKey(wi("a", "sa1"), cloud, "sa1"),
      principalKey(wi("b", "sa1"), cloud, "sa1"),
      principalKey(wi("a", "sa2"), cloud, "sa2"),
      principalKey(wi("a", "sa1", "c2"), cloud, "sa1"),
      principalKey(wi("a", "sa1", "c1", "t2"), cloud, "sa1"),
      principalKey({ mode: "ServicePrincipal", tenantId: "t1", clientId: "c1", clientSecret: "secret-one-123" }, cloud),
      principalKey({ mode: "ServicePrincipal", tenantId: "t1", clientId: "c1", clientSecret: "secret-two-456" }, cloud),
      principalKey({ mode: "VMManagedIdentity", userAssignedIdentityId: "" }, cloud),
      principalKey({ mode: "VMManagedIdentity", userAssignedIdentityId: "mi-1" }, cloud),
      principalKey({ mode: "PodIdentity", podName: "p1", podNamespace: "a" }, cloud),
      principalKey({ mode: "PodIdentity", podName: "p2", podNamespace: "a" }, cloud),
    ];
    expect(new Set(keys).size).to.equal(keys.length);
    expect(keys.join(" ")).to.not.contain("secret-one-123");
    // Two pods of one SA (different tokens) are one principal.
    const t1 = { ...wi("a", "sa1"), serviceAccountToken: saToken("a", "sa1") + "x" } as AuthConfig;
    expect(principalKey(t1, cloud, "sa1")).to.equal(principalKey(wi("a", "sa1"), cloud, "sa1"));
  });

  it("a token whose subject disagrees with the kubelet's pod info shares nothing", () => {
    const shared = principalKey(wi("a", "victim"), cloud, "victim");
    // A pod running as "evil" presenting a forged token that claims "victim".
    const forged = principalKey(wi("a", "victim"), cloud, "evil");
    expect(forged).to.not.equal(shared);
    expect(forged).to.match(/\|tok=[0-9a-f]{32}$/);
    // Another namespace's token in this namespace, or no pod info at all: no sharing either.
    expect(principalKey({ ...wi("b", "victim"), podNamespace: "a" } as AuthConfig, cloud, "victim")).to.match(/\|tok=/);
    expect(principalKey(wi("a", "victim"), cloud)).to.match(/\|tok=/);
  });

  it("reuses one credential per identity and builds new ones for new identities", () => {
    const { log } = memoryLogger();
    const f = new CredentialFactory({ log, nmiUrl: "http://localhost:2579" });
    const a1 = f.forMount(wi("a", "sa1"), cloud, "sa1");
    const a2 = f.forMount({ ...wi("a", "sa1"), serviceAccountToken: saToken("a", "sa1") + "2" } as AuthConfig, cloud, "sa1");
    const b = f.forMount(wi("b", "sa1"), cloud, "sa1");
    expect(a1.credential).to.equal(a2.credential);
    expect(b.credential).to.not.equal(a1.credential);
    const mi = f.forMount({ mode: "VMManagedIdentity", userAssignedIdentityId: "" }, cloud);
    expect(mi.principal).to.equal("mi|system");
    expect(f.size).to.equal(3);
  });

  it("warns once about pod identity and refuses the AKS token proxy with a clear message", () => {
    const { log, lines } = memoryLogger();
    const f = new CredentialFactory({ log, nmiUrl: "http://localhost:2579" });
    f.forMount({ mode: "PodIdentity", podName: "p", podNamespace: "n" }, cloud);
    f.forMount({ mode: "PodIdentity", podName: "q", podNamespace: "n" }, cloud);
    expect(lines.filter((l) => l.includes("deprecated"))).to.have.length(1);
    expect(() =>
      f.forMount({ mode: "AzureTokenProxy", tenantId: "t", clientId: "c", serviceAccountToken: saToken("n", "s") }, cloud),
    ).to.throw(AuthNotSupportedError, /not supported by this build/);
  });
});
