import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { stringify } from "yaml";
import { fileToken, KubeConfigError, loadKubeConfig, TOKEN_REREAD_MS } from "../../../src/k8s/config.js";

interface Doc {
  cluster?: Record<string, unknown>;
  user?: Record<string, unknown>;
  context?: Record<string, unknown>;
  current?: string | null;
}

describe("k8s/config loadKubeConfig", () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "k8s-config-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, doc: Doc = {}): string => {
    const file = path.join(dir, name);
    const y = {
      apiVersion: "v1",
      kind: "Config",
      ...(doc.current === null ? {} : { "current-context": doc.current ?? "ctx" }),
      clusters: [{ name: "c1", cluster: doc.cluster ?? { server: "https://10.0.0.1:6443" } }],
      contexts: [{ name: "ctx", context: doc.context ?? { cluster: "c1", user: "u1", namespace: "team" } }],
      users: [{ name: "u1", user: doc.user ?? { token: "static-token-abcdef" } }],
    };
    fs.writeFileSync(file, stringify(y));
    return file;
  };
  const pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
  const b64 = (s: string) => Buffer.from(s).toString("base64");
  const fail = (f: () => unknown): string => {
    try {
      f();
    } catch (e) {
      expect(e).to.be.instanceOf(KubeConfigError);
      return (e as Error).message;
    }
    throw new Error("expected a KubeConfigError");
  };

  it("reads server, static token, CA data and namespace from --kubeconfig", () => {
    const file = write("kc", { cluster: { server: "https://10.0.0.1:6443/", "certificate-authority-data": b64(pem) } });
    const cfg = loadKubeConfig({ kubeconfig: file, env: {} });
    expect(cfg.server).to.equal("https://10.0.0.1:6443");
    expect(cfg.token?.()).to.equal("static-token-abcdef");
    expect(cfg.ca?.toString()).to.equal(pem);
    expect(cfg.namespace).to.equal("team");
    expect(cfg.source).to.equal(file);
  });

  it("resolves certificate-authority, client-certificate and client-key files relative to the kubeconfig", () => {
    fs.writeFileSync(path.join(dir, "ca.crt"), pem);
    fs.writeFileSync(path.join(dir, "client.crt"), "CERT");
    fs.writeFileSync(path.join(dir, "client.key"), "KEY");
    const file = write("kc", {
      cluster: { server: "https://h:6443", "certificate-authority": "ca.crt", "insecure-skip-tls-verify": true, "tls-server-name": "kubernetes" },
      user: { "client-certificate": "client.crt", "client-key": "client.key" },
    });
    const cfg = loadKubeConfig({ kubeconfig: file, env: {} });
    expect(cfg.ca?.toString()).to.equal(pem);
    expect(cfg.clientCert?.toString()).to.equal("CERT");
    expect(cfg.clientKey?.toString()).to.equal("KEY");
    expect(cfg.insecureSkipTlsVerify).to.equal(true);
    expect(cfg.tlsServerName).to.equal("kubernetes");
    expect(cfg.token).to.equal(undefined);
  });

  it("reads client-certificate-data and client-key-data", () => {
    const file = write("kc", { user: { "client-certificate-data": b64("CERTDATA"), "client-key-data": b64("KEYDATA") } });
    const cfg = loadKubeConfig({ kubeconfig: file, env: {} });
    expect(cfg.clientCert?.toString()).to.equal("CERTDATA");
    expect(cfg.clientKey?.toString()).to.equal("KEYDATA");
  });

  it("re-reads a tokenFile at most once a minute", () => {
    const tf = path.join(dir, "token");
    fs.writeFileSync(tf, "first-token-value\n");
    let t = 1_000_000;
    const cfg = loadKubeConfig({ kubeconfig: write("kc", { user: { tokenFile: "token" } }), env: {}, now: () => t });
    expect(cfg.token?.()).to.equal("first-token-value");
    fs.writeFileSync(tf, "second-token-value");
    t += TOKEN_REREAD_MS - 1;
    expect(cfg.token?.()).to.equal("first-token-value");
    t += 1;
    expect(cfg.token?.()).to.equal("second-token-value");
    fs.rmSync(tf);
    t += TOKEN_REREAD_MS;
    expect(cfg.token?.(), "keeps the last good token when the file vanishes").to.equal("second-token-value");
  });

  it("fileToken refuses an empty token file", () => {
    const tf = path.join(dir, "empty");
    fs.writeFileSync(tf, "\n");
    expect(() => fileToken(tf)).to.throw(/is empty/);
  });

  it("uses $KUBECONFIG (first existing file of the list) when no flag is given", () => {
    const file = write("from-env", { cluster: { server: "https://env:1" } });
    const cfg = loadKubeConfig({ env: { KUBECONFIG: [path.join(dir, "missing"), file].join(path.delimiter), KUBERNETES_SERVICE_HOST: "10.0.0.9", KUBERNETES_SERVICE_PORT: "443" } });
    expect(cfg.server).to.equal("https://env:1");
    expect(fail(() => loadKubeConfig({ env: { KUBECONFIG: path.join(dir, "nope") } }))).to.contain("KUBECONFIG names no existing file");
  });

  it("merges a $KUBECONFIG list: first current-context and first entry of each name win, paths relative to their file", () => {
    const other = path.join(dir, "other");
    fs.mkdirSync(other);
    fs.writeFileSync(path.join(other, "tok"), "token-from-file-two");
    const one = path.join(dir, "one");
    fs.writeFileSync(one, stringify({ "current-context": "ctx", contexts: [{ name: "ctx", context: { cluster: "c1", user: "u1" } }], clusters: [{ name: "c1", cluster: { server: "https://one:1" } }] }));
    const two = path.join(other, "two");
    fs.writeFileSync(two, stringify({ "current-context": "ignored", clusters: [{ name: "c1", cluster: { server: "https://two:1" } }], users: [{ name: "u1", user: { tokenFile: "tok" } }] }));
    const cfg = loadKubeConfig({ env: { KUBECONFIG: [one, two].join(path.delimiter) } });
    expect(cfg.server).to.equal("https://one:1");
    expect(cfg.token?.()).to.equal("token-from-file-two");
    expect(cfg.source).to.equal([one, two].join(path.delimiter));
    expect(fail(() => loadKubeConfig({ env: { KUBECONFIG: [two, one].join(path.delimiter) } }))).to.contain('context "ignored" not found in contexts');
  });

  it("the flag wins over $KUBECONFIG", () => {
    const flag = write("flag", { cluster: { server: "https://flag:1" } });
    const env = write("env", { cluster: { server: "https://env:1" } });
    expect(loadKubeConfig({ kubeconfig: flag, env: { KUBECONFIG: env } }).server).to.equal("https://flag:1");
  });

  describe("in-cluster", () => {
    let sa: string;
    beforeEach(() => {
      sa = path.join(dir, "sa");
      fs.mkdirSync(sa);
      fs.writeFileSync(path.join(sa, "token"), "projected-sa-token");
      fs.writeFileSync(path.join(sa, "ca.crt"), pem);
      fs.writeFileSync(path.join(sa, "namespace"), "kube-system\n");
    });

    it("builds the server from KUBERNETES_SERVICE_HOST/PORT and reads token, CA and namespace", () => {
      const cfg = loadKubeConfig({ env: { KUBERNETES_SERVICE_HOST: "10.96.0.1", KUBERNETES_SERVICE_PORT: "443", HOME: dir }, serviceAccountDir: sa });
      expect(cfg.server).to.equal("https://10.96.0.1:443");
      expect(cfg.token?.()).to.equal("projected-sa-token");
      expect(cfg.ca?.toString()).to.equal(pem);
      expect(cfg.namespace).to.equal("kube-system");
      expect(cfg.source).to.equal("in-cluster");
    });

    it("brackets an IPv6 host", () => {
      const cfg = loadKubeConfig({ env: { KUBERNETES_SERVICE_HOST: "fd00:10:96::1", KUBERNETES_SERVICE_PORT: "443" }, serviceAccountDir: sa });
      expect(cfg.server).to.equal("https://[fd00:10:96::1]:443");
      expect(new URL(cfg.server).hostname).to.equal("[fd00:10:96::1]");
    });

    it("re-reads the rotated projected token after a minute", () => {
      let t = 0;
      const cfg = loadKubeConfig({ env: { KUBERNETES_SERVICE_HOST: "h", KUBERNETES_SERVICE_PORT: "1" }, serviceAccountDir: sa, now: () => t });
      fs.writeFileSync(path.join(sa, "token"), "rotated-sa-token");
      expect(cfg.token?.()).to.equal("projected-sa-token");
      t = TOKEN_REREAD_MS;
      expect(cfg.token?.()).to.equal("rotated-sa-token");
    });

    it("falls through to ~/.kube/config when the service env is incomplete", () => {
      fs.mkdirSync(path.join(dir, ".kube"));
      fs.copyFileSync(write("home", { cluster: { server: "https://home:1" } }), path.join(dir, ".kube", "config"));
      const cfg = loadKubeConfig({ env: { KUBERNETES_SERVICE_HOST: "10.96.0.1", HOME: dir }, serviceAccountDir: sa });
      expect(cfg.server).to.equal("https://home:1");
    });
  });

  it("explains when nothing is configured", () => {
    expect(fail(() => loadKubeConfig({ env: { HOME: dir }, serviceAccountDir: path.join(dir, "none") }))).to.contain("no Kubernetes configuration");
  });

  describe("errors name the missing field", () => {
    it("current-context", () => {
      expect(fail(() => loadKubeConfig({ kubeconfig: write("kc", { current: null }), env: {} }))).to.contain("current-context is not set");
    });
    it("unknown context", () => {
      expect(fail(() => loadKubeConfig({ kubeconfig: write("kc", { current: "other" }), env: {} }))).to.contain('context "other" not found in contexts');
    });
    it("context without a cluster", () => {
      expect(fail(() => loadKubeConfig({ kubeconfig: write("kc", { context: { user: "u1" } }), env: {} }))).to.contain('context "ctx" has no cluster');
    });
    it("cluster without a server", () => {
      expect(fail(() => loadKubeConfig({ kubeconfig: write("kc", { cluster: { "certificate-authority-data": b64(pem) } }), env: {} }))).to.contain('cluster "c1" has no server');
    });
    it("unknown user", () => {
      expect(fail(() => loadKubeConfig({ kubeconfig: write("kc", { context: { cluster: "c1", user: "ghost" } }), env: {} }))).to.contain('user "ghost" not found in users');
    });
    it("client certificate without a key", () => {
      expect(fail(() => loadKubeConfig({ kubeconfig: write("kc", { user: { "client-certificate-data": b64("C") } }), env: {} }))).to.contain("no client-key or client-key-data");
    });
    it("unreadable certificate-authority file", () => {
      expect(fail(() => loadKubeConfig({ kubeconfig: write("kc", { cluster: { server: "https://h:1", "certificate-authority": "nope.crt" } }), env: {} }))).to.match(/certificate-authority .*nope\.crt: ENOENT/);
    });
    it("exec plugins are refused with a hint", () => {
      expect(fail(() => loadKubeConfig({ kubeconfig: write("kc", { user: { exec: { command: "kubelogin" } } }), env: {} }))).to.contain("exec credential plugin");
    });
    it("missing tokenFile", () => {
      expect(fail(() => loadKubeConfig({ kubeconfig: write("kc", { user: { tokenFile: "gone" } }), env: {} }))).to.contain("tokenFile");
    });
    it("unreadable kubeconfig", () => {
      expect(fail(() => loadKubeConfig({ kubeconfig: path.join(dir, "absent"), env: {} }))).to.contain("cannot read kubeconfig");
    });
  });

  it("never puts the token or key bytes in an error", () => {
    const msg = fail(() => loadKubeConfig({ kubeconfig: write("kc", { user: { token: "very-secret-token-1", "client-key-data": b64("SECRETKEY") } }), env: {} }));
    expect(msg).to.not.contain("very-secret-token-1");
    expect(msg).to.not.contain("SECRETKEY");
    expect(msg).to.not.contain(b64("SECRETKEY"));
  });
});
