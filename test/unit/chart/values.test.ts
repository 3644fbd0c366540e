// Chart metadata, values.yaml against values.schema.json, and every
// `.Values.x.y` the templates read existing in values.yaml.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import {
  CHART_DIR,
  chartValues,
  readYaml,
  REPO,
  templateFiles,
  valuesValidator,
  type JsonObject,
} from "./chart-files.js";

interface ChartYaml {
  apiVersion: string;
  name: string;
  version: string;
  appVersion: string;
  kubeVersion: string;
  type?: string;
}

/** Dotted `.Values` paths a template reads, with `$x := .Values.a` aliases expanded. */
function valuesPaths(text: string): string[] {
  const aliases = new Map<string, string>();
  for (const m of text.matchAll(
    /\{\{-?\s*(\$[A-Za-z_][A-Za-z0-9_]*)\s*:=\s*\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)\s*-?\}\}/g,
  )) {
    aliases.set(m[1]!, m[2]!.slice(1));
  }
  const paths = new Set<string>();
  for (const m of text.matchAll(/(?<![A-Za-z0-9_$])\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g))
    paths.add(m[1]!.slice(1));
  for (const [alias, base] of aliases) {
    const re = new RegExp(`\\${alias}((?:\\.[A-Za-z_][A-Za-z0-9_]*)*)(?![A-Za-z0-9_])`, "g");
    for (const m of text.matchAll(re)) paths.add(base + (m[1] ?? ""));
  }
  return [...paths].sort();
}

function has(values: JsonObject, dotted: string): boolean {
  let cur: unknown = values;
  for (const part of dotted.split(".")) {
    if (
      cur === null ||
      typeof cur !== "object" ||
      Array.isArray(cur) ||
      !Object.prototype.hasOwnProperty.call(cur, part)
    )
      return false;
    cur = (cur as Record<string, unknown>)[part];
  }
  return true;
}

describe("chart: Chart.yaml and values", () => {
  const chart = readYaml<ChartYaml>(join(CHART_DIR, "Chart.yaml"));
  const pkg = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { version: string };

  it("Chart.yaml is apiVersion v2, needs Kubernetes >=1.30 and ships the package version", () => {
    expect(chart).to.include({
      apiVersion: "v2",
      name: "akv-csi",
      kubeVersion: ">=1.30.0-0",
      type: "application",
    });
    expect(chart.appVersion).to.equal(pkg.version);
    expect(chart.version).to.match(/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/);
  });

  it("values.yaml validates against values.schema.json", () => {
    const validate = valuesValidator();
    const ok = validate(chartValues());
    expect(validate.errors ?? [], JSON.stringify(validate.errors)).to.deep.equal([]);
    expect(ok).to.equal(true);
  });

  it("the schema is draft-07 and rejects unknown keys at every level the chart owns", () => {
    const schema = JSON.parse(readFileSync(join(CHART_DIR, "values.schema.json"), "utf8")) as {
      $schema: string;
    };
    expect(schema.$schema).to.equal("http://json-schema.org/draft-07/schema#");
    const validate = valuesValidator();
    const cases: [string, JsonObject][] = [
      ["top level", { ...chartValues(), bogus: true }],
      [
        "linux",
        { ...chartValues(), linux: { ...(chartValues().linux as JsonObject), kubeletDir: "/x" } },
      ],
      [
        "linux.driver",
        {
          ...chartValues(),
          linux: { ...(chartValues().linux as JsonObject), driver: { tmpfsSizee: "1Mi" } },
        },
      ],
      [
        "providers.azure",
        { ...chartValues(), providers: { azure: { enabled: true, constructPemChain: true } } },
      ],
      ["syncSecret", { ...chartValues(), syncSecret: { enabled: true, extra: 1 } }],
    ];
    for (const [where, values] of cases)
      expect(validate(values), `unknown key at ${where}`).to.equal(false);
  });

  it("the schema rejects wrong types and malformed durations, quantities and paths", () => {
    const validate = valuesValidator();
    const v = chartValues();
    const linux = v.linux as JsonObject;
    const azure = (v.providers as JsonObject).azure as JsonObject;
    const bad: [string, JsonObject][] = [
      ["enableSecretRotation as string", { ...v, enableSecretRotation: "true" }],
      ["rotationPollInterval", { ...v, rotationPollInterval: "2 minutes" }],
      ["kubeletRootDir relative", { ...v, linux: { ...linux, kubeletRootDir: "var/lib/kubelet" } }],
      ["metricsAddr without port", { ...v, linux: { ...linux, metricsAddr: "8095" } }],
      [
        "memory limit fractional",
        { ...v, linux: { ...linux, driver: { resources: { limits: { memory: "0.5Gi" } } } } },
      ],
      ["tokenRequests without audience", { ...v, tokenRequests: [{ expirationSeconds: 3600 }] }],
      [
        "healthzPort out of range",
        { ...v, providers: { azure: { ...azure, healthzPort: 70000 } } },
      ],
      ["cloudName unknown", { ...v, providers: { azure: { ...azure, cloudName: "Mars" } } }],
    ];
    for (const [what, values] of bad) expect(validate(values), what).to.equal(false);
    const good: [string, JsonObject][] = [
      ["rotation 30s", { ...v, enableSecretRotation: true, rotationPollInterval: "30s" }],
      ["rotation interval null (upstream's empty)", { ...v, rotationPollInterval: null }],
      ["cloud", { ...v, providers: { azure: { ...azure, cloudName: "AzureChinaCloud" } } }],
    ];
    for (const [what, values] of good)
      expect(validate(values), `${what}: ${JSON.stringify(validate.errors)}`).to.equal(true);
  });

  it("keeps the upstream defaults (driver.md §8, provider.md §6)", () => {
    const v = chartValues() as Record<string, any>;
    expect(v.linux.kubeletRootDir).to.equal("/var/lib/kubelet");
    expect(v.linux.providersDir).to.equal("/var/run/secrets-store-csi-providers");
    expect(v.linux.additionalProvidersDirs).to.deep.equal([
      "/etc/kubernetes/secrets-store-csi-providers",
    ]);
    expect(v.linux.metricsAddr).to.equal(":8095");
    expect(v.linux.registrar.logVerbosity).to.equal(5);
    expect(v.linux.registrarImage.tag).to.equal("v2.16.0");
    expect(v.linux.livenessProbeImage.tag).to.equal("v2.18.0");
    expect(v.linux.tolerations).to.deep.equal([{ operator: "Exists" }]);
    expect(JSON.stringify(v.linux.affinity)).to.include("virtual-kubelet");
    expect(v.livenessProbe).to.deep.equal({ port: 9808, logLevel: 2 });
    expect(v).to.deep.include({
      logVerbosity: 0,
      logFormatJSON: false,
      maxCallRecvMsgSize: 4194304,
      enableSecretRotation: false,
      providerHealthCheck: false,
      providerHealthCheckInterval: "2m",
    });
    expect(v.syncSecret).to.deep.equal({ enabled: false });
    expect(v.rbac.install).to.equal(true);
    expect(v.tokenRequests).to.deep.equal([{ audience: "api://AzureADTokenExchange" }]);
    expect(v.providers.azure).to.deep.include({
      enabled: true,
      constructPEMChain: true,
      writeCertAndKeyInSeparateFiles: false,
      healthzPort: 8989,
      healthzPath: "/healthz",
      healthzTimeout: "5s",
      metricsPort: 8898,
      hostNetwork: true,
    });
  });

  it("every .Values path the templates read exists in values.yaml", () => {
    const values = chartValues();
    const missing: string[] = [];
    let seen = 0;
    for (const { name, text } of templateFiles()) {
      for (const p of valuesPaths(text)) {
        seen++;
        if (!has(values, p)) missing.push(`${name}: .Values.${p}`);
      }
    }
    expect(missing).to.deep.equal([]);
    expect(seen, "the scan found references").to.be.greaterThan(40);
  });

  it("the .Values scanner expands aliases and catches a missing key", () => {
    const paths = valuesPaths(
      "{{- $l := .Values.linux }}\n{{ $l.driver.nope }} {{ .Values.image.tag }} {{ $l }}",
    );
    expect(paths).to.deep.equal(["image.tag", "linux", "linux.driver.nope"]);
    expect(has(chartValues(), "linux.driver.nope")).to.equal(false);
    expect(has(chartValues(), "linux.driver.tmpfsSize")).to.equal(true);
  });
});
