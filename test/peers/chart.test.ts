// The chart against real helm v4 and a real kube-apiserver: lint, render with
// default and with sync+rotation values, server-side dry-run and apply, RBAC
// as the driver's ServiceAccount sees it, the rendered flags through our own
// flag parsers, and a real `helm install` / `helm uninstall`.
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { driverConfig } from "../../src/driver/config.js";
import { parseProviderConfig } from "../../src/provider/config.js";
import { startControlPlane, type ControlPlane } from "../helpers/control-plane.js";
import {
  CHART_DIR,
  commandOf,
  EXAMPLES_DIR,
  unknownFlags,
  yamlDocs,
} from "../unit/chart/chart-files.js";
import { PEER_VERSIONS, requirePeer, requireControlPlanePeers } from "./peers.js";

// Manifests are untyped YAML; the assertions are the type checks.
/* eslint-disable @typescript-eslint/no-unsafe-return */
type Obj = Record<string, any>;

const RELEASE = "akv-csi";
const NS = "kube-system";
const GROUP = "secrets-store.csi.x-k8s.io";
const DRIVER_SA = `system:serviceaccount:${NS}:${RELEASE}-driver`;

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

function run(
  bin: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 60_000,
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString("utf8")));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}

function kindName(d: Obj): string {
  return `${d.kind}/${d.metadata.name}`;
}

function byKind(docs: Obj[], kind: string): Obj[] {
  return docs.filter((d) => d.kind === kind);
}

function one(docs: Obj[], kind: string, name: string): Obj {
  const d = docs.find((x) => x.kind === kind && x.metadata.name === name);
  if (!d) throw new Error(`${kind}/${name} not rendered; have ${docs.map(kindName).join(", ")}`);
  return d;
}

/** Container args with the kubelet's $(VAR) expansion from the container's env. */
function expandedArgs(container: Obj, downward: Record<string, string>): string[] {
  const env: Record<string, string> = {};
  for (const e of (container.env ?? []) as Obj[]) {
    if (typeof e.value === "string") env[e.name] = e.value;
    else if (e.valueFrom?.fieldRef?.fieldPath)
      env[e.name] = downward[e.valueFrom.fieldRef.fieldPath] ?? "";
  }
  return (container.args as string[]).map((a) =>
    a.replace(/\$\(([A-Z_][A-Z0-9_]*)\)/g, (m, v: string) => env[v] ?? m),
  );
}

function table(docs: Obj[]): string {
  const rows = docs.map((d) => [
    d.kind as string,
    d.metadata.name as string,
    (d.metadata.namespace as string | undefined) ?? "-",
  ]);
  const w0 = Math.max(4, ...rows.map((r) => r[0]!.length));
  const w1 = Math.max(4, ...rows.map((r) => r[1]!.length));
  const line = (r: string[]) => `      ${r[0]!.padEnd(w0)}  ${r[1]!.padEnd(w1)}  ${r[2]}`;
  return [line(["KIND", "NAME", "NAMESPACE"]), ...rows.map(line)].join("\n");
}

describe("chart: helm v4 + kube-apiserver", function () {
  this.timeout(300_000);
  let helmBin = "";
  let cp: ControlPlane | undefined;
  let home = "";
  let helmEnv: NodeJS.ProcessEnv = {};
  let defaults: Obj[] = [];
  let syncRotation: Obj[] = [];
  let defaultYaml = "";
  let syncYaml = "";

  const need = (): ControlPlane => {
    if (!cp) throw new Error("control plane not started");
    return cp;
  };
  const kubeVersion = () => (cp?.version ?? PEER_VERSIONS["kube-apiserver"]).replace(/^v/, "");
  const helm = (args: string[]) => run(helmBin, args, helmEnv);
  const template = async (extra: string[]): Promise<string> => {
    const r = await helm([
      "template",
      RELEASE,
      CHART_DIR,
      "-n",
      NS,
      `--kube-version=${kubeVersion()}`,
      ...extra,
    ]);
    expect(r.code, r.stderr).to.equal(0);
    return r.stdout;
  };
  const canI = async (verb: string, resource: string, opts: { ns?: string; sub?: string } = {}) => {
    const args = ["auth", "can-i", verb, resource, `--as=${DRIVER_SA}`];
    if (opts.ns) args.push("-n", opts.ns);
    if (opts.sub) args.push(`--subresource=${opts.sub}`);
    const r = await need().kubectl(args);
    const answer = r.stdout.trim();
    if (answer !== "yes" && answer !== "no")
      throw new Error(`kubectl auth can-i ${verb} ${resource}: ${r.stderr}`);
    return answer;
  };

  before(function () {
    helmBin = requirePeer(this, "helm");
    home = mkdtempSync(join(tmpdir(), "akv-csi-helm-"));
    // Helm's caches and config stay in the temp dir; it talks only to our apiserver.
    helmEnv = {
      PATH: process.env.PATH,
      HOME: home,
      HELM_CACHE_HOME: join(home, "cache"),
      HELM_CONFIG_HOME: join(home, "config"),
      HELM_DATA_HOME: join(home, "data"),
      KUBECONFIG: join(home, "no-cluster.kubeconfig"),
    };
  });

  after(async () => {
    await cp?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  describe("rendering (helm only)", () => {
    it("helm lint --strict passes, also with the rotation example's values", async () => {
      const r = await helm(["lint", "--strict", CHART_DIR, `--kube-version=${kubeVersion()}`]);
      expect(r.code, r.stdout + r.stderr).to.equal(0);
      expect(r.stdout).to.match(/1 chart\(s\) linted, 0 chart\(s\) failed/);
      const rotation = join(EXAMPLES_DIR, "azure", "rotation", "rotation-values.yaml");
      const withRotation = await helm([
        "lint",
        "--strict",
        CHART_DIR,
        "-f",
        rotation,
        `--kube-version=${kubeVersion()}`,
      ]);
      expect(withRotation.code, withRotation.stdout + withRotation.stderr).to.equal(0);
      const rendered: Obj[] = yamlDocs(await template(["-f", rotation]));
      expect(
        one(rendered, "CSIDriver", "secrets-store.csi.k8s.io").spec.requiresRepublish,
      ).to.equal(true);
    });

    it("helm template renders the default values (resource table below)", async () => {
      defaultYaml = await template([]);
      defaults = yamlDocs(defaultYaml);
      console.log(
        `    rendered with default values (${defaults.length} resources):\n${table(defaults)}`,
      );
      expect(defaults.map(kindName).sort()).to.deep.equal(
        [
          "CSIDriver/secrets-store.csi.k8s.io",
          `ServiceAccount/${RELEASE}-driver`,
          `ServiceAccount/${RELEASE}-provider-azure`,
          `ClusterRole/${RELEASE}-driver`,
          `ClusterRoleBinding/${RELEASE}-driver`,
          `ClusterRole/${RELEASE}-secretproviderclasses-admin`,
          `ClusterRole/${RELEASE}-secretproviderclasses-viewer`,
          `ClusterRole/${RELEASE}-secretproviderclasspodstatuses-viewer`,
          `DaemonSet/${RELEASE}-driver`,
          `DaemonSet/${RELEASE}-provider-azure`,
        ].sort(),
      );
      for (const d of defaults)
        expect(d.metadata.labels?.["app.kubernetes.io/managed-by"], kindName(d)).to.equal("Helm");
    });

    it("the CSIDriver is ephemeral-only, pod-info, no attach, no republish by default, with the workload-identity audience", () => {
      const spec = one(defaults, "CSIDriver", "secrets-store.csi.k8s.io").spec;
      expect(spec).to.deep.include({
        attachRequired: false,
        podInfoOnMount: true,
        requiresRepublish: false,
        volumeLifecycleModes: ["Ephemeral"],
      });
      expect(spec.tokenRequests).to.deep.equal([{ audience: "api://AzureADTokenExchange" }]);
      expect(spec.fsGroupPolicy).to.equal(undefined);
      // From 1.35 kubelet can hand the tokens over in NodePublishVolumeRequest.secrets.
      expect(spec.serviceAccountTokenInSecrets).to.equal(true);
    });

    it("on Kubernetes 1.34 the CSIDriver leaves serviceAccountTokenInSecrets out", async () => {
      const r = await helm(["template", RELEASE, CHART_DIR, "-n", NS, "--kube-version=1.34.3"]);
      expect(r.code, r.stderr).to.equal(0);
      const drv = one(yamlDocs(r.stdout), "CSIDriver", "secrets-store.csi.k8s.io");
      expect(drv.spec.tokenRequests).to.deep.equal([{ audience: "api://AzureADTokenExchange" }]);
      expect(drv.spec).to.not.have.property("serviceAccountTokenInSecrets");
    });

    it("the driver DaemonSet: privileged driver with Bidirectional pods mount, upstream sidecars, heap sized to the limit", () => {
      const ds = one(defaults, "DaemonSet", `${RELEASE}-driver`);
      const pod = ds.spec.template.spec;
      expect(pod.serviceAccountName).to.equal(`${RELEASE}-driver`);
      expect(pod.nodeSelector).to.deep.equal({ "kubernetes.io/os": "linux" });
      expect(pod.tolerations).to.deep.equal([{ operator: "Exists" }]);
      expect(JSON.stringify(pod.affinity)).to.include("virtual-kubelet");
      expect(ds.spec.updateStrategy).to.deep.equal({
        type: "RollingUpdate",
        rollingUpdate: { maxUnavailable: 1 },
      });
      const c = Object.fromEntries((pod.containers as Obj[]).map((x) => [x.name, x]));
      expect(Object.keys(c)).to.deep.equal([
        "node-driver-registrar",
        "secrets-store",
        "liveness-probe",
      ]);
      expect(c["node-driver-registrar"].image).to.equal(
        "registry.k8s.io/sig-storage/csi-node-driver-registrar:v2.16.0",
      );
      expect(c["node-driver-registrar"].args).to.deep.equal([
        "--v=5",
        "--csi-address=/csi/csi.sock",
        "--kubelet-registration-path=/var/lib/kubelet/plugins/csi-secrets-store/csi.sock",
      ]);
      expect(c["liveness-probe"].image).to.equal(
        "registry.k8s.io/sig-storage/livenessprobe:v2.18.0",
      );
      expect(c["liveness-probe"].args).to.deep.equal([
        "--csi-address=/csi/csi.sock",
        "--probe-timeout=3s",
        "--http-endpoint=0.0.0.0:9808",
        "-v=2",
      ]);
      const d = c["secrets-store"];
      expect(d.image).to.equal("ghcr.io/akv-csi/akv-csi:0.1.0");
      expect(d.securityContext).to.deep.equal({ privileged: true });
      expect(d.livenessProbe).to.deep.include({
        initialDelaySeconds: 30,
        timeoutSeconds: 10,
        periodSeconds: 15,
        failureThreshold: 5,
      });
      expect(d.livenessProbe.httpGet).to.deep.equal({ path: "/healthz", port: "healthz" });
      expect(d.ports).to.deep.include({ name: "healthz", containerPort: 9808, protocol: "TCP" });
      expect(d.ports).to.deep.include({ name: "metrics", containerPort: 8095, protocol: "TCP" });
      const env = Object.fromEntries((d.env as Obj[]).map((e) => [e.name, e]));
      expect(env.KUBE_NODE_NAME.valueFrom.fieldRef.fieldPath).to.equal("spec.nodeName");
      expect(env.NODE_OPTIONS.value).to.equal("--max-old-space-size=100");
      const mounts = Object.fromEntries((d.volumeMounts as Obj[]).map((m) => [m.name, m]));
      expect(mounts["mountpoint-dir"]).to.deep.equal({
        name: "mountpoint-dir",
        mountPath: "/var/lib/kubelet/pods",
        mountPropagation: "Bidirectional",
      });
      expect(mounts["plugin-dir"].mountPath).to.equal("/csi");
      expect(mounts["providers-dir"].mountPath).to.equal("/var/run/secrets-store-csi-providers");
      expect(mounts["providers-dir-0"].mountPath).to.equal(
        "/etc/kubernetes/secrets-store-csi-providers",
      );
      const vols = Object.fromEntries((pod.volumes as Obj[]).map((v) => [v.name, v.hostPath.path]));
      expect(vols).to.deep.equal({
        "mountpoint-dir": "/var/lib/kubelet/pods",
        "registration-dir": "/var/lib/kubelet/plugins_registry/",
        "plugin-dir": "/var/lib/kubelet/plugins/csi-secrets-store/",
        "providers-dir": "/var/run/secrets-store-csi-providers",
        "providers-dir-0": "/etc/kubernetes/secrets-store-csi-providers",
      });
    });

    it("the rendered driver args parse with our driver flag parser into the intended config", () => {
      const d = one(defaults, "DaemonSet", `${RELEASE}-driver`).spec.template.spec.containers.find(
        (x: Obj) => x.name === "secrets-store",
      );
      const args = expandedArgs(d, { "spec.nodeName": "aks-node-1" });
      expect(commandOf(args)).to.equal("driver");
      expect(unknownFlags("driver", args)).to.deep.equal([]);
      const { config } = driverConfig(args.slice(1));
      expect(config).to.deep.include({
        endpoint: "unix:///csi/csi.sock",
        nodeId: "aks-node-1",
        metricsAddr: ":8095",
        rotationEnabled: false,
        maxCallRecvMsgSize: 4194304,
        maskRemountErrors: true,
        enforceTargetPath: true,
        providerTimeoutMs: 100_000,
        tmpfsSizeBytes: 32 * 1024 * 1024,
      });
      expect(config.providerDirs).to.deep.equal([
        "/etc/kubernetes/secrets-store-csi-providers",
        "/var/run/secrets-store-csi-providers",
      ]);
      expect(config.tmpfsOptions).to.deep.equal(["nosuid", "nodev"]);
    });

    it("the provider DaemonSet: unprivileged, read-only root, no capabilities, host network, socket in the providers dir", () => {
      const ds = one(defaults, "DaemonSet", `${RELEASE}-provider-azure`);
      const pod = ds.spec.template.spec;
      expect(pod.hostNetwork).to.equal(true);
      expect(pod.dnsPolicy).to.equal("ClusterFirstWithHostNet");
      expect(pod.automountServiceAccountToken).to.equal(false);
      expect(pod.containers).to.have.length(1);
      const c = pod.containers[0];
      expect(c.securityContext).to.deep.include({
        runAsUser: 0,
        privileged: false,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
      });
      expect(c.securityContext.capabilities).to.deep.equal({ drop: ["ALL"] });
      expect(c.volumeMounts).to.deep.equal([{ name: "providervol", mountPath: "/provider" }]);
      expect(pod.volumes[0].hostPath).to.deep.equal({
        path: "/var/run/secrets-store-csi-providers",
        type: "DirectoryOrCreate",
      });
      expect(c.livenessProbe.httpGet).to.deep.equal({ path: "/healthz", port: 8989 });
      expect(c.env).to.deep.equal([{ name: "NODE_OPTIONS", value: "--max-old-space-size=100" }]);
      const args = expandedArgs(c, {});
      expect(commandOf(args)).to.equal("provider azure");
      expect(unknownFlags("provider azure", args)).to.deep.equal([]);
      const config = parseProviderConfig(args.slice(2));
      expect(config).to.deep.include({
        endpoint: "unix:///provider/azure.sock",
        healthzPort: 8989,
        healthzPath: "/healthz",
        healthzTimeoutMs: 5000,
        prometheusPort: 8898,
        constructPemChain: true,
        writeCertAndKeyInSeparateFiles: false,
        cloudName: "AzurePublicCloud",
      });
    });

    it("default RBAC grants no secrets and no token minting", () => {
      const rules = byKind(defaults, "ClusterRole").flatMap((r) => r.rules as Obj[]);
      const resources = rules.flatMap((r) => r.resources as string[]);
      expect(resources).to.not.include("secrets");
      expect(resources).to.not.include("serviceaccounts/token");
      expect(resources).to.not.include("serviceaccounts");
    });

    it("with syncSecret and rotation on: republish, rotation flags and the secrets role", async () => {
      syncYaml = await template([
        "--set",
        "syncSecret.enabled=true",
        "--set",
        "enableSecretRotation=true",
        "--set",
        "rotationPollInterval=30s",
      ]);
      syncRotation = yamlDocs(syncYaml);
      const extra = syncRotation.map(kindName).filter((k) => !defaults.map(kindName).includes(k));
      expect(extra.sort()).to.deep.equal([
        `ClusterRole/${RELEASE}-driver-syncsecret`,
        `ClusterRoleBinding/${RELEASE}-driver-syncsecret`,
      ]);
      expect(
        one(syncRotation, "CSIDriver", "secrets-store.csi.k8s.io").spec.requiresRepublish,
      ).to.equal(true);
      const d = one(
        syncRotation,
        "DaemonSet",
        `${RELEASE}-driver`,
      ).spec.template.spec.containers.find((x: Obj) => x.name === "secrets-store");
      const { config } = driverConfig(expandedArgs(d, { "spec.nodeName": "n1" }).slice(1));
      expect(config.rotationEnabled).to.equal(true);
      expect(config.rotationPollIntervalMs).to.equal(30_000);
      const role = one(syncRotation, "ClusterRole", `${RELEASE}-driver-syncsecret`);
      expect(role.rules).to.deep.equal([
        {
          apiGroups: [""],
          resources: ["secrets"],
          verbs: ["create", "delete", "get", "list", "patch", "update", "watch"],
        },
      ]);
    });

    it("overrides reach every object: kubelet root (k0s), common labels, image, pull secrets, priority, heap, provider off", async () => {
      const docs: Obj[] = yamlDocs(
        await template([
          "--set",
          "linux.kubeletRootDir=/var/lib/k0s/kubelet",
          "--set",
          "commonLabels.team=platform",
          "--set",
          "image.tag=1.2.3",
          "--set",
          "imagePullSecrets[0].name=regcred",
          "--set",
          "linux.priorityClassName=system-node-critical",
          "--set",
          "linux.podLabels.extra=yes",
          "--set",
          "linux.driver.resources.limits.memory=1Gi",
          "--set",
          "providers.azure.enabled=false",
        ]),
      );
      expect(docs.map(kindName)).to.not.include(`DaemonSet/${RELEASE}-provider-azure`);
      expect(docs.map(kindName)).to.not.include(`ServiceAccount/${RELEASE}-provider-azure`);
      for (const d of docs) expect(d.metadata.labels?.team, kindName(d)).to.equal("platform");
      const pod = one(docs, "DaemonSet", `${RELEASE}-driver`).spec.template;
      expect(pod.metadata.labels).to.include({
        team: "platform",
        extra: "yes",
        app: "secrets-store-csi-driver",
      });
      expect(pod.spec.priorityClassName).to.equal("system-node-critical");
      expect(pod.spec.imagePullSecrets).to.deep.equal([{ name: "regcred" }]);
      const driver = pod.spec.containers.find((x: Obj) => x.name === "secrets-store");
      expect(driver.image).to.equal("ghcr.io/akv-csi/akv-csi:1.2.3");
      expect(driver.env.find((e: Obj) => e.name === "NODE_OPTIONS").value).to.equal(
        "--max-old-space-size=512",
      );
      const hostPaths = (pod.spec.volumes as Obj[]).map((v) => v.hostPath.path as string);
      expect(hostPaths.filter((p) => p.includes("kubelet"))).to.deep.equal([
        "/var/lib/k0s/kubelet/pods",
        "/var/lib/k0s/kubelet/plugins_registry/",
        "/var/lib/k0s/kubelet/plugins/csi-secrets-store/",
      ]);
      expect(driver.volumeMounts.find((m: Obj) => m.name === "mountpoint-dir").mountPath).to.equal(
        "/var/lib/k0s/kubelet/pods",
      );
      const registrar = pod.spec.containers.find((x: Obj) => x.name === "node-driver-registrar");
      expect(registrar.args).to.include(
        "--kubelet-registration-path=/var/lib/k0s/kubelet/plugins/csi-secrets-store/csi.sock",
      );
      expect(JSON.stringify(docs)).to.not.include("/var/lib/kubelet");
    });

    it("values outside the schema are refused by helm before anything renders", async () => {
      const r = await helm([
        "template",
        RELEASE,
        CHART_DIR,
        "-n",
        NS,
        `--kube-version=${kubeVersion()}`,
        "--set",
        "linux.bogus=1",
      ]);
      expect(r.code).to.not.equal(0);
      expect(r.stderr).to.match(/additional properties 'bogus' not allowed|bogus/);
      const low = await helm([
        "template",
        RELEASE,
        CHART_DIR,
        "-n",
        NS,
        `--kube-version=${kubeVersion()}`,
        "--set",
        "linux.driver.resources.limits.memory=40Mi",
      ]);
      expect(low.code).to.not.equal(0);
      expect(low.stderr).to.include("leaves under 32Mi of heap");
    });

    it("refuses Kubernetes older than 1.30", async () => {
      const r = await helm(["template", RELEASE, CHART_DIR, "-n", NS, "--kube-version=1.29.9"]);
      expect(r.code).to.not.equal(0);
      expect(r.stderr).to.match(/kubeVersion|incompatible/i);
    });
  });

  describe("on a real kube-apiserver", () => {
    before(async function () {
      const { etcdPath, apiserverPath, kubectlPath } = requireControlPlanePeers(this);
      if (defaults.length === 0 || syncRotation.length === 0)
        throw new Error("the rendering tests did not run");
      cp = await startControlPlane({ etcdPath, apiserverPath, kubectlPath });
      helmEnv.KUBECONFIG = cp.kubeconfigPath;
      for (const f of readdirSync(join(CHART_DIR, "crds")).filter((x) => x.endsWith(".yaml"))) {
        await cp.applyYaml(readFileSync(join(CHART_DIR, "crds", f), "utf8"));
      }
      const wait = await cp.kubectl([
        "wait",
        "--for=condition=Established",
        "--timeout=60s",
        `crd/secretproviderclasses.${GROUP}`,
        `crd/secretproviderclasspodstatuses.${GROUP}`,
      ]);
      expect(wait.code, wait.stderr).to.equal(0);
    });

    it("the rendered default manifests pass a server-side dry run, then apply for real", async () => {
      const c = need();
      const dry = await c.kubectl(
        ["apply", "--server-side", "--dry-run=server", "--field-manager=akv-csi-test", "-f", "-"],
        { input: defaultYaml },
      );
      expect(dry.code, dry.stderr).to.equal(0);
      expect(dry.stdout).to.include(
        "daemonset.apps/akv-csi-driver serverside-applied (server dry run)",
      );
      const before = await c.kubectl(["get", "daemonsets", "-n", NS, "-o", "name"]);
      expect(before.stdout).to.not.include("akv-csi-driver");
      await c.applyYaml(defaultYaml);
      const ds = await c.getJson<Obj>(
        `/apis/apps/v1/namespaces/${NS}/daemonsets/${RELEASE}-driver`,
      );
      expect(ds.spec.template.spec.containers[1].securityContext.privileged).to.equal(true);
      const drv = await c.getJson<Obj>(
        "/apis/storage.k8s.io/v1/csidrivers/secrets-store.csi.k8s.io",
      );
      expect(drv.spec.tokenRequests).to.deep.equal([{ audience: "api://AzureADTokenExchange" }]);
      expect(drv.spec.requiresRepublish).to.equal(false);
      // Kept by a 1.37 apiserver (a gated field would be dropped silently).
      expect(drv.spec.serviceAccountTokenInSecrets).to.equal(true);
    });

    it("the driver's ServiceAccount can do exactly what driver.md §8 grants", async () => {
      const granted: [string, string, { ns?: string; sub?: string }?][] = [
        ["create", "events", { ns: "default" }],
        ["patch", "events", { ns: "team-a" }],
        ...(["get", "list", "watch"] as const).map((v): [string, string, { ns: string }] => [
          v,
          "pods",
          { ns: "default" },
        ]),
        ...(["get", "list", "watch"] as const).map((v): [string, string, { ns: string }] => [
          v,
          `secretproviderclasses.${GROUP}`,
          { ns: "default" },
        ]),
        ...(["create", "delete", "get", "list", "patch", "update", "watch"] as const).map(
          (v): [string, string, { ns: string }] => [
            v,
            `secretproviderclasspodstatuses.${GROUP}`,
            { ns: "default" },
          ],
        ),
        ...(["get", "patch", "update"] as const).map(
          (v): [string, string, { ns: string; sub: string }] => [
            v,
            `secretproviderclasspodstatuses.${GROUP}`,
            { ns: "default", sub: "status" },
          ],
        ),
        ["get", "csidrivers.storage.k8s.io/secrets-store.csi.k8s.io"],
        ["watch", "csidrivers.storage.k8s.io/secrets-store.csi.k8s.io"],
      ];
      const denied: [string, string, { ns?: string; sub?: string }?][] = [
        ["create", "secrets", { ns: "default" }],
        ["get", "secrets", { ns: "default" }],
        ["list", "secrets", { ns: "default" }],
        ["delete", "pods", { ns: "default" }],
        ["create", "pods", { ns: "default" }],
        ["get", "nodes"],
        ["create", "serviceaccounts", { ns: "default", sub: "token" }],
        ["create", `secretproviderclasses.${GROUP}`, { ns: "default" }],
        ["delete", `secretproviderclasses.${GROUP}`, { ns: "default" }],
        ["delete", "events", { ns: "default" }],
        ["get", "configmaps", { ns: "default" }],
        ["get", "csidrivers.storage.k8s.io/other.csi.example.com"],
        ["update", "csidrivers.storage.k8s.io/secrets-store.csi.k8s.io"],
      ];
      const rows: string[] = [];
      for (const [verb, res, opts] of granted) {
        const a = await canI(verb, res, opts);
        rows.push(
          `yes ${a === "yes" ? "✓" : "✗"} ${verb} ${res}${opts?.sub ? `/${opts.sub}` : ""}`,
        );
        expect(a, `${verb} ${res} ${JSON.stringify(opts ?? {})}`).to.equal("yes");
      }
      for (const [verb, res, opts] of denied) {
        const a = await canI(verb, res, opts);
        rows.push(`no  ${a === "no" ? "✓" : "✗"} ${verb} ${res}${opts?.sub ? `/${opts.sub}` : ""}`);
        expect(a, `${verb} ${res} ${JSON.stringify(opts ?? {})} must be denied`).to.equal("no");
      }
      console.log(
        `    can-i as ${DRIVER_SA} (expected, result):\n${rows.map((r) => `      ${r}`).join("\n")}`,
      );
    });

    it("the admin/viewer roles match the built-in roles' aggregation selectors and grant what they say", async () => {
      const c = need();
      // No controller-manager runs here, so aggregation itself cannot happen: check that the
      // built-in roles would select ours, then bind ours directly to test their rules.
      const targets: Record<string, string[]> = {
        [`${RELEASE}-secretproviderclasses-admin`]: ["admin", "edit"],
        [`${RELEASE}-secretproviderclasses-viewer`]: ["view"],
        [`${RELEASE}-secretproviderclasspodstatuses-viewer`]: ["view"],
      };
      for (const [ours, builtins] of Object.entries(targets)) {
        const role = await c.getJson<Obj>(
          `/apis/rbac.authorization.k8s.io/v1/clusterroles/${ours}`,
        );
        for (const b of builtins) {
          const builtin = await c.getJson<Obj>(
            `/apis/rbac.authorization.k8s.io/v1/clusterroles/${b}`,
          );
          const selectors = builtin.aggregationRule.clusterRoleSelectors as Obj[];
          const selected = selectors.some((sel) =>
            Object.entries(sel.matchLabels as Record<string, string>).every(
              ([k, v]) => role.metadata.labels?.[k] === v,
            ),
          );
          expect(selected, `${b} aggregates ${ours}`).to.equal(true);
        }
      }
      await c.applyYaml(`
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: team-admin, namespace: default}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: ${RELEASE}-secretproviderclasses-admin}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: team-admin}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: team-viewer, namespace: default}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: ${RELEASE}-secretproviderclasses-viewer}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: team-viewer}]
`);
      const ask = async (user: string, verb: string, res: string) =>
        (
          await c.kubectl(["auth", "can-i", verb, res, "-n", "default", `--as=${user}`])
        ).stdout.trim();
      expect(await ask("team-admin", "create", `secretproviderclasses.${GROUP}`)).to.equal("yes");
      expect(await ask("team-admin", "delete", `secretproviderclasses.${GROUP}`)).to.equal("yes");
      expect(await ask("team-admin", "create", `secretproviderclasspodstatuses.${GROUP}`)).to.equal(
        "no",
      );
      expect(await ask("team-viewer", "list", `secretproviderclasses.${GROUP}`)).to.equal("yes");
      expect(await ask("team-viewer", "create", `secretproviderclasses.${GROUP}`)).to.equal("no");
      expect(await ask("team-viewer", "get", "secrets")).to.equal("no");
    });

    it("the syncSecret+rotation render applies and lets the driver manage Secrets", async () => {
      const c = need();
      const dry = await c.kubectl(
        ["apply", "--server-side", "--dry-run=server", "--field-manager=akv-csi-test", "-f", "-"],
        { input: syncYaml },
      );
      expect(dry.code, dry.stderr).to.equal(0);
      await c.applyYaml(syncYaml);
      const drv = await c.getJson<Obj>(
        "/apis/storage.k8s.io/v1/csidrivers/secrets-store.csi.k8s.io",
      );
      expect(drv.spec.requiresRepublish).to.equal(true);
      for (const verb of ["create", "update", "delete", "watch"])
        expect(await canI(verb, "secrets", { ns: "default" }), verb).to.equal("yes");
      expect(await canI("get", "nodes")).to.equal("no");
    });

    it("a real `helm install` into a fresh cluster state prints the NOTES, and `helm uninstall` removes it", async () => {
      const c = need();
      // Clear the kubectl-applied copy so helm owns every object it creates.
      const del = await c.kubectl(["delete", "--wait=false", "--ignore-not-found", "-f", "-"], {
        input: syncYaml,
      });
      expect(del.code, del.stderr).to.equal(0);
      const install = await helm([
        "install",
        RELEASE,
        CHART_DIR,
        "-n",
        NS,
        "--set",
        "syncSecret.enabled=true",
      ]);
      expect(install.code, install.stderr).to.equal(0);
      expect(install.stdout).to.include("STATUS: deployed");
      expect(install.stdout).to.include(
        `kubectl get pods -n ${NS} -l app.kubernetes.io/instance=${RELEASE},app.kubernetes.io/name=akv-csi`,
      );
      expect(install.stdout).to.include("examples/azure/workload-identity/");
      const ds = await c.kubectl([
        "get",
        "daemonsets",
        "-n",
        NS,
        "-l",
        `app.kubernetes.io/instance=${RELEASE}`,
        "-o",
        "name",
      ]);
      expect(ds.stdout.trim().split("\n").sort()).to.deep.equal([
        `daemonset.apps/${RELEASE}-driver`,
        `daemonset.apps/${RELEASE}-provider-azure`,
      ]);
      const list = await helm(["list", "-n", NS, "-o", "json"]);
      expect((JSON.parse(list.stdout) as Obj[]).map((r) => [r.name, r.status])).to.deep.equal([
        [RELEASE, "deployed"],
      ]);

      const un = await helm(["uninstall", RELEASE, "-n", NS]);
      expect(un.code, un.stderr).to.equal(0);
      const gone = await c.kubectl(["get", "csidrivers", "-o", "name"]);
      expect(gone.stdout).to.not.include("secrets-store.csi.k8s.io");
      const roles = await c.kubectl([
        "get",
        "clusterroles",
        "-l",
        `app.kubernetes.io/instance=${RELEASE}`,
        "-o",
        "name",
      ]);
      expect(roles.stdout.trim()).to.equal("");
      // CRDs in crds/ are never deleted by helm: SPCs survive an uninstall.
      const crd = await c.kubectl(["get", `crd/secretproviderclasses.${GROUP}`, "-o", "name"]);
      expect(crd.code, crd.stderr).to.equal(0);
    });
  });
});
