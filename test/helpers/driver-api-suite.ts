// Our driver against an API server (the real kube-apiserver in test/peers, the
// in-memory one in test/integration): SPC reads, SPCPS with owner references, a real TokenRequest token reaching the
// provider, the audit trail (log line + Event), and secret sync that merges
// owner references from several pods instead of replacing them (#2051).
import { expect } from "chai";
import { X509Certificate } from "node:crypto";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createKubeClient, type KubeClient } from "../../src/k8s/client.js";
import { loadKubeConfig } from "../../src/k8s/config.js";
import {
  eventPath,
  podPath,
  spcPath,
  secretPath,
  spcpsPath,
  tokenRequestPath,
  type Secret,
  type SecretProviderClassPodStatus,
  type TokenRequest,
} from "../../src/k8s/types.js";
import { spawnAkv, waitForPath, type AkvProcess } from "../helpers/akv-process.js";
import { csiClient, type CsiClient } from "../helpers/csi-client.js";
import { startFakeProvider, type FakeProvider } from "../helpers/fake-provider.js";

const NS = "app";

/** An API server for the suite: the real one (peers) or the in-memory one (integration). */
export interface ApiUnderTest {
  kubeconfigPath: string;
  stop(): Promise<void>;
}

function selfSignedPem(dir: string): string {
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      join(dir, "k.pem"),
      "-out",
      join(dir, "c.pem"),
      "-days",
      "2",
      "-subj",
      "/CN=web",
    ],
    { stdio: "pipe" },
  );
  return readFileSync(join(dir, "k.pem"), "utf8") + readFileSync(join(dir, "c.pem"), "utf8");
}

async function eventually<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  timeoutMs = 20_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}: ${last instanceof Error ? last.message : ""}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export function driverApiSuite(
  title: string,
  start: (ctx: Mocha.Context) => Promise<ApiUnderTest>,
): void {
  describe(title, function () {
    this.timeout(300_000);
    let cp: ApiUnderTest;
    let kube: KubeClient;
    let dir: string;
    let provider: FakeProvider;
    let driver: AkvProcess;
    let csi: CsiClient;
    const pods: Record<string, string> = {};

    before(async function () {
      cp = await start(this);
      kube = createKubeClient(loadKubeConfig({ kubeconfig: cp.kubeconfigPath }));
      await kube
        .create("/api/v1/namespaces", {
          apiVersion: "v1",
          kind: "Namespace",
          metadata: { name: NS },
        })
        .catch(() => undefined);
      await kube.create(`/api/v1/namespaces/${NS}/serviceaccounts`, {
        apiVersion: "v1",
        kind: "ServiceAccount",
        metadata: { name: "app-sa", namespace: NS },
      });
      await kube.create(spcPath(NS), {
        apiVersion: "secrets-store.csi.x-k8s.io/v1",
        kind: "SecretProviderClass",
        metadata: { name: "kv", namespace: NS },
        spec: {
          provider: "fake",
          parameters: { keyvaultName: "kv1", objects: "array: []" },
          secretObjects: [
            {
              secretName: "app-creds",
              type: "Opaque",
              labels: { team: "web" },
              data: [{ objectName: "username", key: "user" }],
            },
            {
              secretName: "app-tls",
              type: "kubernetes.io/tls",
              data: [
                { objectName: "tls.pem", key: "tls.key" },
                { objectName: "tls.pem", key: "tls.crt" },
              ],
            },
          ],
        },
      });
      for (const [pod, rs] of [
        ["web-1", "web-rs-1"],
        ["web-2", "web-rs-2"],
      ] as const) {
        const created = await kube.create<{ metadata: { uid: string } }>(podPath(NS), {
          apiVersion: "v1",
          kind: "Pod",
          metadata: {
            name: pod,
            namespace: NS,
            ownerReferences: [
              {
                apiVersion: "apps/v1",
                kind: "ReplicaSet",
                name: rs,
                uid: `00000000-0000-4000-8000-00000000000${pod.slice(-1)}`,
              },
            ],
          },
          spec: {
            nodeName: "node-a",
            serviceAccountName: "app-sa",
            containers: [{ name: "c", image: "busybox" }],
            volumes: [
              {
                name: "secrets-store-inline",
                csi: {
                  driver: "secrets-store.csi.k8s.io",
                  readOnly: true,
                  volumeAttributes: { secretProviderClass: "kv" },
                },
              },
            ],
          },
        });
        pods[pod] = created.metadata.uid;
      }

      dir = mkdtempSync(join(tmpdir(), "akv-drv-api-"));
      mkdirSync(join(dir, "providers"));
      provider = await startFakeProvider(join(dir, "providers", "fake.sock"));
      provider.files = [
        { path: "username", mode: 0o644, contents: Buffer.from("alice") },
        { path: "tls.pem", mode: 0o600, contents: Buffer.from(selfSignedPem(dir)) },
      ];
      provider.versions = [
        { id: "secret/username", version: "v1" },
        { id: "secret/tls", version: "t1" },
      ];
      writeFileSync(join(dir, "kubeconfig"), readFileSync(cp.kubeconfigPath));
      driver = spawnAkv([
        "driver",
        `--endpoint=unix://${dir}/csi.sock`,
        "--nodeid=node-a",
        `--provider-volume=${dir}/providers`,
        `--additional-provider-volume-paths=${dir}/none`,
        `--kubeconfig=${join(dir, "kubeconfig")}`,
        "--metrics-addr=127.0.0.1:0",
        "--enable-secret-rotation",
        "--rotation-poll-interval=0s",
        "-v=5",
      ]);
      await waitForPath(join(dir, "csi.sock"), driver);
      csi = csiClient(join(dir, "csi.sock"));
    });

    after(async () => {
        for (const pod of Object.keys(pods)) {
        const target = targetOf(pod);
        await csi
          ?.call("Node", "NodeUnpublishVolume", { volume_id: pod, target_path: target })
          .catch(() => undefined);
      }
      await driver?.stop();
      await provider?.stop();
      kube?.close();
      await cp?.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    const targetOf = (pod: string) =>
      join(
        dir,
        "pods",
        pods[pod]!,
        "volumes",
        "kubernetes.io~csi",
        "secrets-store-inline",
        "mount",
      );

    async function publish(pod: string): Promise<string> {
      // Play kubelet: a real TokenRequest bound to the pod, as the CSIDriver tokenRequests make it do.
      const tr = await kube.create<TokenRequest>(tokenRequestPath(NS, "app-sa"), {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenRequest",
        spec: {
          audiences: ["api://AzureADTokenExchange"],
          expirationSeconds: 3600,
          boundObjectRef: { apiVersion: "v1", kind: "Pod", name: pod, uid: pods[pod] },
        },
      });
      await csi.call("Node", "NodePublishVolume", {
        volume_id: pod,
        target_path: targetOf(pod),
        volume_capability: { mount: {} },
        readonly: true,
        volume_context: {
          secretProviderClass: "kv",
          "csi.storage.k8s.io/pod.name": pod,
          "csi.storage.k8s.io/pod.namespace": NS,
          "csi.storage.k8s.io/pod.uid": pods[pod],
          "csi.storage.k8s.io/serviceAccount.name": "app-sa",
          "csi.storage.k8s.io/serviceAccount.tokens": JSON.stringify({
            "api://AzureADTokenExchange": tr.status,
          }),
        },
      });
      return tr.status!.token;
    }

    it("publishes: SPCPS owned by the pod, the real SA token reaches the provider, audit line and Event", async () => {
      const token = await publish("web-1");
      const attrs = JSON.parse(provider.requests.at(-1)!.attributes) as Record<string, string>;
      const tokens = JSON.parse(attrs["csi.storage.k8s.io/serviceAccount.tokens"]!) as Record<
        string,
        { token: string }
      >;
      expect(tokens["api://AzureADTokenExchange"]!.token).to.equal(token);
      const claims = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()) as {
        aud: string[];
        sub: string;
      };
      expect(claims.aud).to.deep.equal(["api://AzureADTokenExchange"]);
      expect(claims.sub).to.equal(`system:serviceaccount:${NS}:app-sa`);

      const spcps = await kube.get<SecretProviderClassPodStatus>(spcpsPath(NS, `web-1-${NS}-kv`));
      expect(spcps.metadata.labels).to.deep.equal({
        "internal.secrets-store.csi.k8s.io/node-name": "node-a",
      });
      expect(spcps.metadata.ownerReferences).to.deep.equal([
        { apiVersion: "v1", kind: "Pod", name: "web-1", uid: pods["web-1"] },
      ]);
      expect(spcps.status.objects).to.deep.equal([
        { id: "secret/tls", version: "t1" },
        { id: "secret/username", version: "v1" },
      ]);

      const ev = await eventually("SecretsMounted event", async () => {
        const list = await kube.list<{
          reason: string;
          message: string;
          involvedObject: { name: string; uid: string };
        }>(eventPath(NS));
        return list.items.find(
          (e) => e.reason === "SecretsMounted" && e.involvedObject.name === "web-1",
        );
      });
      expect(ev.involvedObject.uid).to.equal(pods["web-1"]);
      expect(ev.message).to.contain("secret/username@v1").and.not.contain("alice");
      expect(driver.output()).to.match(/"audit" audit="mount" pod="app\/web-1"/);
      expect(driver.output()).not.to.contain(token);
    });

    it("syncs secretObjects into Secrets: data, managed label, TLS re-encoding, owner = the pod's ReplicaSet", async () => {
      const creds = await eventually("app-creds", () =>
        kube.get<Secret>(secretPath(NS, "app-creds")),
      );
      expect(Buffer.from(creds.data!.user!, "base64").toString()).to.equal("alice");
      expect(creds.metadata.labels).to.deep.equal({
        team: "web",
        "secrets-store.csi.k8s.io/managed": "true",
      });
      expect(creds.metadata.ownerReferences?.map((o) => o.name)).to.deep.equal(["web-rs-1"]);
      const tls = await eventually("app-tls", () => kube.get<Secret>(secretPath(NS, "app-tls")));
      expect(tls.type).to.equal("kubernetes.io/tls");
      const key = Buffer.from(tls.data!["tls.key"]!, "base64").toString();
      const crt = Buffer.from(tls.data!["tls.crt"]!, "base64").toString();
      expect(key).to.match(/^-----BEGIN RSA PRIVATE KEY-----\n/);
      expect(crt)
        .to.match(/^-----BEGIN CERTIFICATE-----\n/)
        .and.not.contain("PRIVATE KEY");
      expect(new X509Certificate(crt).subject).to.contain("CN=web");
    });

    it("a second pod of another ReplicaSet adds its owner instead of replacing (#2051)", async () => {
      await publish("web-2");
      const creds = await eventually("both owners", async () => {
        const s = await kube.get<Secret>(secretPath(NS, "app-creds"));
        return (s.metadata.ownerReferences?.length ?? 0) >= 2 ? s : undefined;
      });
      expect(creds.metadata.ownerReferences?.map((o) => o.name).sort()).to.deep.equal([
        "web-rs-1",
        "web-rs-2",
      ]);
    });

    it("rotation updates the files, the SPCPS, the synced Secret, and records SecretsRotated", async () => {
      provider.files = [
        { path: "username", mode: 0o644, contents: Buffer.from("bob") },
        provider.files[1]!,
      ];
      provider.versions = [
        { id: "secret/username", version: "v2" },
        { id: "secret/tls", version: "t1" },
      ];
      // Both pods sync the same Secret from their own files (last writer wins, as upstream),
      // so rotate both, as kubelet's periodic republish would.
      await publish("web-1");
      await publish("web-2");
      expect(readFileSync(join(targetOf("web-1"), "username"), "utf8")).to.equal("bob");
      const spcps = await kube.get<SecretProviderClassPodStatus>(spcpsPath(NS, `web-1-${NS}-kv`));
      expect(spcps.status.objects).to.deep.include({ id: "secret/username", version: "v2" });
      await eventually("synced rotation", async () => {
        const s = await kube.get<Secret>(secretPath(NS, "app-creds"));
        return Buffer.from(s.data!.user!, "base64").toString() === "bob" ? s : undefined;
      });
      const ev = await eventually("SecretsRotated event", async () => {
        const list = await kube.list<{
          reason: string;
          message: string;
          involvedObject: { name: string };
        }>(eventPath(NS));
        return list.items.find(
          (e) => e.reason === "SecretsRotated" && e.involvedObject.name === "web-1",
        );
      });
      expect(ev.message).to.contain("changed: secret/username").and.not.contain("bob");
    });
  });
}
