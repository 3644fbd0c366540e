// examples/: every file parses, each folder holds the kinds it promises and is
// self-consistent (pods name SPCs, service accounts and secrets that exist),
// and each SecretProviderClass passes our provider's own parameter checks in
// the identity mode its folder is named after.
import { readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { expect } from "chai";
import { planMount } from "../../../src/provider/azure/parameters.js";
import type { AuthConfig } from "../../../src/provider/azure/plan.js";
import {
  DEMO_CERT_NAME,
  DEMO_CLIENT_ID,
  DEMO_KEY_NAME,
  DEMO_SA_SUBJECT,
  DEMO_SECRET_NAME,
  DEMO_TENANT_ID,
  DEMO_VAULT,
} from "../../../src/emulator/seed.js";
import {
  chartValues,
  EXAMPLES_DIR,
  exampleFolders,
  folderManifests,
  isValuesFile,
  rel,
  valuesValidator,
  walk,
  yamlDocs,
  type JsonObject,
} from "./chart-files.js";

// Manifests are untyped YAML; the assertions below are the type checks.
/* eslint-disable @typescript-eslint/no-unsafe-return */
type Obj = Record<string, any>;

const EXPECTED: Record<string, { kinds: string[]; mode?: AuthConfig["mode"] }> = {
  "azure/workload-identity": {
    kinds: ["Pod", "SecretProviderClass", "ServiceAccount"],
    mode: "WorkloadIdentity",
  },
  "azure/service-principal": {
    kinds: ["Pod", "Secret", "SecretProviderClass"],
    mode: "ServicePrincipal",
  },
  "azure/user-assigned-identity": {
    kinds: ["Pod", "SecretProviderClass"],
    mode: "VMManagedIdentity",
  },
  "azure/system-assigned-identity": {
    kinds: ["Pod", "SecretProviderClass"],
    mode: "VMManagedIdentity",
  },
  "azure/pod-identity": { kinds: ["Pod", "SecretProviderClass"], mode: "PodIdentity" },
  "azure/sync-as-kubernetes-secret": {
    kinds: ["Deployment", "SecretProviderClass", "ServiceAccount"],
    mode: "WorkloadIdentity",
  },
  "azure/rotation": {
    kinds: ["Pod", "SecretProviderClass", "ServiceAccount"],
    mode: "WorkloadIdentity",
  },
  demo: { kinds: ["Pod", "SecretProviderClass", "ServiceAccount"], mode: "WorkloadIdentity" },
};

/** An unsigned JWT shaped like a projected service-account token (the provider reads only its claims). */
function fakeSaToken(namespace: string, sa: string): string {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const claims = {
    aud: ["api://AzureADTokenExchange"],
    sub: `system:serviceaccount:${namespace}:${sa}`,
    "kubernetes.io": { namespace, serviceaccount: { name: sa } },
  };
  return `${b64({ alg: "RS256" })}.${b64(claims)}.c2ln`;
}

function podSpecs(docs: Obj[]): Obj[] {
  return docs.flatMap((d) =>
    d.kind === "Pod" ? [d.spec] : d.kind === "Deployment" ? [d.spec.template.spec] : [],
  );
}

function csiVolumes(spec: Obj): Obj[] {
  return ((spec.volumes ?? []) as Obj[]).filter((v) => v.csi);
}

describe("examples", () => {
  const folders = exampleFolders();

  it("has exactly the folders the README promises", () => {
    expect(folders).to.deep.equal(Object.keys(EXPECTED).sort());
  });

  it("every YAML file parses, and every manifest has apiVersion, kind and a name", () => {
    const files = walk(EXAMPLES_DIR).filter((p) => p.endsWith(".yaml"));
    expect(files.length).to.be.greaterThan(20);
    for (const f of files) {
      const docs = yamlDocs(readFileSync(f, "utf8"));
      expect(docs.length, rel(f)).to.be.greaterThan(0);
      if (isValuesFile(f)) continue;
      for (const d of docs) {
        expect(d.apiVersion, rel(f)).to.be.a("string");
        expect(d.kind, rel(f)).to.be.a("string");
        expect((d.metadata as JsonObject)?.name, rel(f)).to.be.a("string");
      }
    }
  });

  it("every folder has a README of 3–6 lines", () => {
    for (const folder of folders) {
      const lines = readFileSync(join(EXAMPLES_DIR, folder, "README.md"), "utf8")
        .trimEnd()
        .split("\n");
      expect(lines.length, folder).to.be.within(3, 6);
    }
  });

  for (const folder of Object.keys(EXPECTED)) {
    describe(folder, () => {
      const docs = folderManifests(folder);
      const byKind = (k: string) => docs.filter((d) => d.kind === k);

      it(`holds ${EXPECTED[folder]!.kinds.join(", ")}`, () => {
        expect([...new Set(docs.map((d) => d.kind as string))].sort()).to.deep.equal(
          EXPECTED[folder]!.kinds,
        );
      });

      it("pods mount an SPC of this folder through the secrets-store driver, read-only, with their SA and secrets present", () => {
        const spcNames = byKind("SecretProviderClass").map((s) => s.metadata.name);
        const specs = podSpecs(docs);
        expect(specs.length).to.be.greaterThan(0);
        for (const spec of specs) {
          const vols = csiVolumes(spec);
          expect(vols).to.have.length(1);
          const csi = vols[0]!.csi;
          expect(csi.driver).to.equal("secrets-store.csi.k8s.io");
          expect(csi.readOnly).to.equal(true);
          expect(spcNames).to.include(csi.volumeAttributes.secretProviderClass);
          if (spec.serviceAccountName)
            expect(byKind("ServiceAccount").map((s) => s.metadata.name)).to.include(
              spec.serviceAccountName,
            );
          if (csi.nodePublishSecretRef)
            expect(byKind("Secret").map((s) => s.metadata.name)).to.include(
              csi.nodePublishSecretRef.name,
            );
          const mounts = (spec.containers as Obj[])
            .flatMap((c) => (c.volumeMounts ?? []) as Obj[])
            .filter((m) => m.name === vols[0]!.name);
          expect(mounts.length).to.be.greaterThan(0);
          for (const m of mounts) expect(m.readOnly).to.equal(true);
        }
      });

      it(`every SPC passes the provider's parameter checks in mode ${EXPECTED[folder]!.mode}`, () => {
        for (const spc of byKind("SecretProviderClass")) {
          expect(spc.apiVersion).to.equal("secrets-store.csi.x-k8s.io/v1");
          expect(spc.spec.provider).to.equal("azure");
          const spec = podSpecs(docs).find(
            (s) => csiVolumes(s)[0]?.csi.volumeAttributes.secretProviderClass === spc.metadata.name,
          )!;
          const ns = spc.metadata.namespace ?? "default";
          const sa = spec.serviceAccountName ?? "default";
          // What the driver adds: pod info, and the tokens kubelet minted for the chart's tokenRequests.
          const audiences = (chartValues().tokenRequests as Obj[]).map((t) => t.audience as string);
          const tokens = Object.fromEntries(
            audiences.map((a) => [
              a,
              { token: fakeSaToken(ns, sa), expirationTimestamp: "2030-01-01T00:00:00Z" },
            ]),
          );
          const attributes = {
            ...spc.spec.parameters,
            "csi.storage.k8s.io/pod.name": "example-pod",
            "csi.storage.k8s.io/pod.namespace": ns,
            "csi.storage.k8s.io/serviceAccount.name": sa,
            "csi.storage.k8s.io/serviceAccount.tokens": JSON.stringify(tokens),
          };
          const ref = csiVolumes(spec)[0]!.csi.nodePublishSecretRef as Obj | undefined;
          const secrets = ref
            ? (byKind("Secret").find((s) => s.metadata.name === ref.name)!.stringData as Record<
                string,
                string
              >)
            : null;
          const plan = planMount(attributes, secrets, 0o644, {
            cloudName: "AzurePublicCloud",
            constructPemChain: true,
            writeCertAndKeyInSeparateFiles: false,
          });
          expect(plan.auth.mode).to.equal(EXPECTED[folder]!.mode);
          expect(plan.objects.length).to.be.greaterThan(0);
          expect(plan.vaultUrl).to.match(/^https:\/\/[-a-z0-9]+\.vault\.azure\.net\/$/);
          if (plan.auth.mode === "VMManagedIdentity") {
            expect(plan.auth.userAssignedIdentityId === "").to.equal(
              folder.endsWith("system-assigned-identity"),
            );
          }
          const fileNames = plan.objects.map((o) => o.objectAlias);
          for (const so of (spc.spec.secretObjects ?? []) as Obj[]) {
            for (const d of so.data as Obj[])
              expect(fileNames, `${so.secretName}.${d.key}`).to.include(d.objectName);
          }
        }
      });

      if (folder !== "demo") {
        it("leaves the namespace to kubectl -n", () => {
          for (const d of docs)
            expect(d.metadata.namespace, `${d.kind}/${d.metadata.name}`).to.equal(undefined);
        });
      }
    });
  }

  it("workload-identity ServiceAccounts carry the client ID their SPC uses", () => {
    for (const folder of [
      "azure/workload-identity",
      "azure/sync-as-kubernetes-secret",
      "azure/rotation",
      "demo",
    ]) {
      const docs = folderManifests(folder);
      const spc = docs.find((d) => d.kind === "SecretProviderClass")!;
      const sa = docs.find((d) => d.kind === "ServiceAccount")!;
      expect(sa.metadata.annotations["azure.workload.identity/client-id"], folder).to.equal(
        spc.spec.parameters.clientID,
      );
    }
  });

  it("sync-as-kubernetes-secret has an Opaque and a kubernetes.io/tls secret, and the Deployment reads env from the Secret", () => {
    const docs = folderManifests("azure/sync-as-kubernetes-secret");
    const spc = docs.find((d) => d.kind === "SecretProviderClass")!;
    const objs = spc.spec.secretObjects as Obj[];
    expect(objs.map((o) => o.type).sort()).to.deep.equal(["Opaque", "kubernetes.io/tls"]);
    const tls = objs.find((o) => o.type === "kubernetes.io/tls")!;
    expect((tls.data as Obj[]).map((d) => d.key).sort()).to.deep.equal(["tls.crt", "tls.key"]);
    const env = (
      docs.find((d) => d.kind === "Deployment")!.spec.template.spec.containers[0].env as Obj[]
    )[0]!;
    const opaque = objs.find((o) => o.type === "Opaque")!;
    expect(env.valueFrom.secretKeyRef.name).to.equal(opaque.secretName);
    expect((opaque.data as Obj[]).map((d) => d.key)).to.include(env.valueFrom.secretKeyRef.key);
  });

  it("rotation's Helm values validate against the chart schema and turn rotation on", () => {
    const values = yamlDocs(
      readFileSync(join(EXAMPLES_DIR, "azure", "rotation", "rotation-values.yaml"), "utf8"),
    )[0]!;
    expect(values).to.include({ enableSecretRotation: true });
    const validate = valuesValidator();
    expect(validate({ ...chartValues(), ...values }), JSON.stringify(validate.errors)).to.equal(
      true,
    );
  });

  it("demo matches the emulator's seed: vault, objects, tenant, app and federated subject; no cloud injected", () => {
    const docs = folderManifests("demo");
    const spc = docs.find((d) => d.kind === "SecretProviderClass")!;
    const p = spc.spec.parameters as Record<string, string>;
    expect(p.keyvaultName).to.equal(DEMO_VAULT);
    expect(p.tenantId).to.equal(DEMO_TENANT_ID);
    expect(p.clientID).to.equal(DEMO_CLIENT_ID);
    expect(p.cloudName, "the demo injects cloudName itself").to.equal(undefined);
    const plan = planMount(
      {
        ...p,
        "csi.storage.k8s.io/pod.name": "demo-app",
        "csi.storage.k8s.io/pod.namespace": "default",
        "csi.storage.k8s.io/serviceAccount.tokens": JSON.stringify({
          "api://AzureADTokenExchange": {
            token: fakeSaToken("default", "demo-sa"),
            expirationTimestamp: "",
          },
        }),
      },
      null,
      0o644,
      {
        cloudName: "AzurePublicCloud",
        constructPemChain: true,
        writeCertAndKeyInSeparateFiles: false,
      },
    );
    expect(plan.objects.map((o) => `${o.objectType}/${o.objectName}`)).to.deep.equal([
      `secret/${DEMO_SECRET_NAME}`,
      `key/${DEMO_KEY_NAME}`,
      `cert/${DEMO_CERT_NAME}`,
    ]);
    const pod = docs.find((d) => d.kind === "Pod")!;
    const sa = docs.find((d) => d.kind === "ServiceAccount")!;
    expect(
      `system:serviceaccount:${pod.metadata.namespace}:${pod.spec.serviceAccountName}`,
    ).to.equal(DEMO_SA_SUBJECT);
    expect(sa.metadata.name).to.equal(pod.spec.serviceAccountName);
    for (const d of docs) expect(d.metadata.namespace, basename(d.kind)).to.equal("default");
  });
});
