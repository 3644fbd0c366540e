// Every example manifest against a real kube-apiserver with our CRDs: a
// server-side dry run, then a real apply, then a read-back showing the CRD
// schema kept every field the example sets (nothing pruned).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { startControlPlane, type ControlPlane } from "../helpers/control-plane.js";
import {
  CHART_DIR,
  EXAMPLES_DIR,
  exampleFolders,
  folderManifests,
  isValuesFile,
} from "../unit/chart/chart-files.js";
import { requireControlPlanePeers } from "./peers.js";

// Manifests are untyped YAML; the assertions are the type checks.
/* eslint-disable @typescript-eslint/no-unsafe-return */
type Obj = Record<string, any>;

const GROUP = "secrets-store.csi.x-k8s.io";

/** Namespace an example folder is applied into: its own, unless its manifests name one. */
function namespaceFor(folder: string): string {
  const named = folderManifests(folder).find((d) => d.metadata?.namespace)?.metadata.namespace as
    string | undefined;
  return named ?? `ex-${folder.replace(/[^a-z0-9]+/g, "-")}`;
}

/** kubectl's fully qualified resource for a manifest: pod, deployment.apps, secretproviderclass.secrets-store.csi.x-k8s.io. */
function resourceOf(d: Obj): string {
  const apiVersion = d.apiVersion as string;
  const group = apiVersion.includes("/") ? apiVersion.split("/")[0] : "";
  return `${(d.kind as string).toLowerCase()}${group ? `.${group}` : ""}`;
}

function manifestFiles(folder: string): string[] {
  const dir = join(EXAMPLES_DIR, folder);
  return readdirSync(dir)
    .filter((f) => f.endsWith(".yaml") && !isValuesFile(f))
    .sort()
    .map((f) => join(dir, f));
}

describe("examples: accepted by a real kube-apiserver", function () {
  this.timeout(240_000);
  let cp: ControlPlane | undefined;
  const need = (): ControlPlane => {
    if (!cp) throw new Error("control plane not started");
    return cp;
  };

  before(async function () {
    const { etcdPath, apiserverPath, kubectlPath } = requireControlPlanePeers(this);
    cp = await startControlPlane({ etcdPath, apiserverPath, kubectlPath });
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

  after(async () => {
    await cp?.stop();
  });

  const folders = exampleFolders();

  it("finds every example folder", () => {
    expect(folders.length).to.equal(8);
  });

  for (const folder of folders) {
    it(`${folder}: server-side dry run, apply, read back unchanged`, async () => {
      const c = need();
      const ns = namespaceFor(folder);
      if (ns !== "default") {
        const made = await c.kubectl(["create", "namespace", ns]);
        expect(made.code, made.stderr).to.equal(0);
      }
      const files = manifestFiles(folder).flatMap((f) => ["-f", f]);
      const dry = await c.kubectl(["apply", "--dry-run=server", "-n", ns, ...files]);
      expect(dry.code, dry.stderr).to.equal(0);
      expect(dry.stdout).to.include("(server dry run)");
      const docs = folderManifests(folder);
      for (const d of docs) {
        const absent = await c.kubectl([
          "get",
          resourceOf(d),
          d.metadata.name,
          "-n",
          ns,
          "--ignore-not-found",
          "-o",
          "name",
        ]);
        expect(absent.stdout.trim(), `dry run created ${d.kind}/${d.metadata.name}`).to.equal("");
      }
      const real = await c.kubectl(["apply", "-n", ns, ...files]);
      expect(real.code, real.stderr).to.equal(0);
      expect(real.stdout.trim().split("\n")).to.have.length(docs.length);

      for (const d of docs) {
        const got = await c.kubectl([
          "get",
          resourceOf(d),
          d.metadata.name,
          "-n",
          ns,
          "-o",
          "json",
        ]);
        expect(got.code, got.stderr).to.equal(0);
        const live = JSON.parse(got.stdout) as Obj;
        if (d.kind === "SecretProviderClass") {
          expect(live.spec, `${folder} SPC spec survives the CRD schema`).to.deep.equal(d.spec);
        } else if (d.kind === "Pod") {
          expect(live.spec.volumes.find((v: Obj) => v.csi)?.csi).to.deep.equal(
            d.spec.volumes.find((v: Obj) => v.csi).csi,
          );
        } else if (d.kind === "Deployment") {
          expect(live.spec.template.spec.volumes[0].csi).to.deep.equal(
            d.spec.template.spec.volumes[0].csi,
          );
        } else if (d.kind === "ServiceAccount") {
          expect(live.metadata.annotations).to.deep.include(d.metadata.annotations ?? {});
        } else if (d.kind === "Secret") {
          expect(Object.keys(live.data as object).sort()).to.deep.equal(
            Object.keys(d.stringData as object).sort(),
          );
        }
      }
    });
  }

  it("a manifest the API rejects fails the same check (the test can fail)", async () => {
    const bad = `apiVersion: ${GROUP}/v1\nkind: SecretProviderClass\nmetadata: {name: bad}\nspec: {provider: azure, parameters: {objects: [1, 2]}}\n`;
    const dry = await need().kubectl(["apply", "--dry-run=server", "-n", "default", "-f", "-"], {
      input: bad,
    });
    expect(dry.code).to.not.equal(0);
    expect(dry.stderr).to.match(/spec\.parameters\.objects/);
  });
});
