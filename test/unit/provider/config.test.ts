import { expect } from "chai";
import { parseProviderConfig } from "../../../src/provider/config.js";

describe("provider/config", () => {
  it("has the upstream defaults", () => {
    const c = parseProviderConfig([]);
    expect(c.endpoint).to.equal("unix:///tmp/azure.sock");
    expect(c.healthzPort).to.equal(8989);
    expect(c.healthzPath).to.equal("/healthz");
    expect(c.healthzTimeoutMs).to.equal(5000);
    expect(c.prometheusPort).to.equal(8898);
    expect(c.constructPemChain).to.equal(true);
    expect(c.writeCertAndKeyInSeparateFiles).to.equal(false);
    expect(c.cloudName).to.equal("AzurePublicCloud");
    expect(c.cacheTtlMs).to.equal(30_000);
    expect(c.maxParallelFetches).to.equal(8);
    expect(c.nmiUrl).to.equal("http://localhost:2579");
  });

  it("takes the chart's Go-style flags, klog's and the no-op ones", () => {
    const c = parseProviderConfig([
      "--endpoint=unix:///provider/azure.sock",
      "--log-format-json=true",
      "-v=5",
      "--construct-pem-chain=false",
      "--healthz-port=8990",
      "--healthz-path=/hz",
      "--healthz-timeout=5s",
      "--custom-user-agent=x",
      "--write-cert-and-key-in-separate-files",
      "--metrics-backend=PROMETHEUS",
      "--cache-ttl=0",
      "--keyvault-api-version=7.4",
      "--logtostderr",
    ]);
    expect(c.verbosity).to.equal(5);
    expect(c.logFormatJson).to.equal(true);
    expect(c.constructPemChain).to.equal(false);
    expect(c.writeCertAndKeyInSeparateFiles).to.equal(true);
    expect(c.cacheTtlMs).to.equal(0);
    expect(c.keyvaultApiVersion).to.equal("7.4");
  });

  it("rejects what upstream rejects", () => {
    expect(() => parseProviderConfig(["--metrics-backend=statsd"])).to.throw("unsupported metrics backend statsd");
    expect(() => parseProviderConfig(["--cloud-name=nowhere"])).to.throw(/no cloud environment matching the name "NOWHERE"/);
    expect(() => parseProviderConfig(["--bogus"])).to.throw(/flag provided but not defined/);
    expect(() => parseProviderConfig(["--max-parallel-fetches=0"])).to.throw(/1\.\.256/);
    expect(() => parseProviderConfig(["--keyvault-api-version=2026-99-99"])).to.throw(/must be one of/);
  });
});
