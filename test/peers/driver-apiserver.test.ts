// The driver against the REAL kube-apiserver (etcd + kube-apiserver peers).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { driverApiSuite } from "../helpers/driver-api-suite.js";
import { startControlPlane } from "../helpers/control-plane.js";
import { requireControlPlanePeers } from "./peers.js";

const CRD_DIR = join(__dirname, "..", "..", "charts", "akv-csi", "crds");

driverApiSuite("peers: akv-csi driver against a real kube-apiserver", async (ctx) => {
  const { etcdPath, apiserverPath, kubectlPath } = requireControlPlanePeers(ctx);
  const cp = await startControlPlane({ etcdPath, apiserverPath, kubectlPath });
  for (const f of readdirSync(CRD_DIR)) await cp.applyYaml(readFileSync(join(CRD_DIR, f), "utf8"));
  await cp.kubectl(["wait", "--for=condition=Established", "--timeout=60s", "crd/secretproviderclasses.secrets-store.csi.x-k8s.io", "crd/secretproviderclasspodstatuses.secrets-store.csi.x-k8s.io"]);
  return cp;
});
