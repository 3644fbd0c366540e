import { expect } from "chai";
import { classifyEntra } from "../../../src/emulator/entra.js";
import { IdentityRegistry } from "../../../src/emulator/identities.js";
import { classifyVault, isSupportedApiVersion, vaultFromHost } from "../../../src/emulator/keyvault.js";
import { resolveConnect } from "../../../src/emulator/proxy.js";

describe("emulator routing", () => {
  it("takes the vault from the Host header", () => {
    expect(vaultFromHost("demo-kv.vault.akv.test", "vault.akv.test")).to.equal("demo-kv");
    expect(vaultFromHost("vault.akv.test", "vault.akv.test")).to.equal(undefined);
    expect(vaultFromHost("a.b.vault.akv.test", "vault.akv.test")).to.equal(undefined);
    expect(vaultFromHost("localhost", "vault.akv.test")).to.equal(undefined);
  });

  it("classifies Key Vault and Entra routes", () => {
    expect(classifyVault("GET", "/secrets/s/")).to.equal("secret.get");
    expect(classifyVault("GET", "/secrets/s/abc")).to.equal("secret.get");
    expect(classifyVault("PUT", "/secrets/s")).to.equal("secret.set");
    expect(classifyVault("GET", "/secrets/s/versions")).to.equal("secret.versions");
    expect(classifyVault("GET", "/secrets")).to.equal("secret.list");
    expect(classifyVault("POST", "/keys/k/create")).to.equal("key.create");
    expect(classifyVault("GET", "/certificates/c/v1")).to.equal("certificate.get");
    expect(classifyVault("GET", "/deletedsecrets")).to.equal("kv.other");
    expect(classifyEntra("/t/oauth2/v2.0/token")).to.equal("entra.token");
    expect(classifyEntra("/t/oauth2/token")).to.equal("entra.token");
    expect(classifyEntra("/t/v2.0/.well-known/openid-configuration")).to.equal("entra.openid");
    expect(classifyEntra("/common/discovery/instance")).to.equal("entra.discovery");
    expect(classifyEntra("/secrets/x")).to.equal(undefined);
  });

  it("accepts the api-versions the SDKs send", () => {
    for (const v of ["7.0", "7.4", "7.6", "7.5-preview.1", "2025-07-01", "2026-04-01"]) expect(isSupportedApiVersion(v), v).to.equal(true);
    for (const v of ["6.0", "7.7", "2024-01-01", ""]) expect(isSupportedApiVersion(v), v).to.equal(false);
  });

  it("tunnels only vault hosts on 443, intercepted hosts and routed suffixes", () => {
    const https = { host: "127.0.0.1", port: 8443 };
    const cfg = { interceptHosts: ["login.example.test"], routes: new Map([["lowkey.test", "127.0.0.1:9443"]]) };
    expect(resolveConnect("demo-kv.vault.akv.test:443", "vault.akv.test", cfg, https)).to.deep.equal(https);
    expect(resolveConnect("vault.akv.test:443", "vault.akv.test", cfg, https)).to.deep.equal(https);
    expect(resolveConnect("demo-kv.vault.akv.test:8443", "vault.akv.test", cfg, https)).to.equal(undefined);
    expect(resolveConnect("login.example.test:443", "vault.akv.test", cfg, https)).to.deep.equal(https);
    expect(resolveConnect("kv1.lowkey.test:8443", "vault.akv.test", cfg, https)).to.deep.equal({ host: "127.0.0.1", port: 9443 });
    expect(resolveConnect("evilvault.akv.test:443", "vault.akv.test", cfg, https)).to.equal(undefined);
    expect(resolveConnect("example.com:443", "vault.akv.test", cfg, https)).to.equal(undefined);
    expect(resolveConnect("nonsense", "vault.akv.test", cfg, https)).to.equal(undefined);
  });
});

describe("emulator identity registry", () => {
  it("checks client secrets and federated subjects", () => {
    const r = new IdentityRegistry();
    r.addApp({ clientId: "App-1", clientSecret: "s3cret-value", federatedSubjects: ["system:serviceaccount:ns:sa"] });
    const app = r.app("app-1")!;
    expect(r.checkClientSecret(app, "s3cret-value")).to.equal(true);
    expect(r.checkClientSecret(app, "s3cret-valuE")).to.equal(false);
    expect(r.federatedSubjectAllowed(app, "system:serviceaccount:ns:sa")).to.equal(true);
    expect(r.federatedSubjectAllowed(app, "system:serviceaccount:ns:other")).to.equal(false);
    r.addApp({ clientId: "open" });
    expect(r.federatedSubjectAllowed(r.app("open")!, "anything")).to.equal(true);
    expect(r.checkClientSecret(r.app("open")!, "")).to.equal(false);
  });

  it("selects managed identities and pod identities", () => {
    const r = new IdentityRegistry();
    r.addManagedIdentity({ clientId: "sys", systemAssigned: true });
    r.addManagedIdentity({ clientId: "user", objectId: "obj-1", resourceId: "/subs/x/mi" });
    expect(r.managedIdentity({})?.clientId).to.equal("sys");
    expect(r.managedIdentity({ clientId: "USER" })?.clientId).to.equal("user");
    expect(r.managedIdentity({ objectId: "obj-1" })?.clientId).to.equal("user");
    expect(r.managedIdentity({ resourceId: "/subs/x/mi" })?.clientId).to.equal("user");
    expect(r.managedIdentity({ clientId: "nope" })).to.equal(undefined);
    r.addPodIdentity({ namespace: "default", podName: "web-0", clientId: "exact" });
    r.addPodIdentity({ namespace: "default", clientId: "any" });
    expect(r.podIdentity("default", "web-0")?.clientId).to.equal("exact");
    expect(r.podIdentity("default", "web-1")?.clientId).to.equal("any");
    expect(r.podIdentity("kube-system", "web-0")).to.equal(undefined);
  });
});
