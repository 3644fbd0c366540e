import { expect } from "chai";
import { driverConfig, parseQuantity } from "../../../src/driver/config.js";
import { parseEndpoint } from "../../../src/util/grpc-server.js";
import { exponentialBucketsRange } from "../../../src/driver/metrics.js";
import { parseListenAddr } from "../../../src/util/http-listen.js";

describe("driver/config", () => {
  it("has upstream defaults", () => {
    const { config } = driverConfig([]);
    expect(config).to.deep.include({
      endpoint: "unix://tmp/csi.sock",
      driverName: "secrets-store.csi.k8s.io",
      metricsAddr: ":8095",
      rotationEnabled: false,
      rotationPollIntervalMs: 120_000,
      maxCallRecvMsgSize: 4194304,
      providerHealthCheck: false,
      providerHealthCheckIntervalMs: 120_000,
    });
    expect(config.providerDirs).to.deep.equal(["/etc/kubernetes/secrets-store-csi-providers", "/var/run/secrets-store-csi-providers"]);
  });
  it("reads the flags the upstream chart passes", () => {
    const { config } = driverConfig([
      "--endpoint=$(CSI_ENDPOINT)".replace("$(CSI_ENDPOINT)", "unix:///csi/csi.sock"),
      "--nodeid=aks-node-1",
      "--provider-volume=/provider",
      "--additional-provider-volume-paths=/a,/b",
      "--enable-secret-rotation=true",
      "--rotation-poll-interval=30s",
      "--provider-health-check=false",
      "--provider-health-check-interval=2m",
      "--max-call-recv-msg-size=8388608",
      "--metrics-addr=:8095",
      "-v=5",
      "--log-format-json=true",
    ]);
    expect(config.providerDirs).to.deep.equal(["/a", "/b", "/provider"]);
    expect(config.rotationPollIntervalMs).to.equal(30_000);
    expect(config.verbosity).to.equal(5);
    expect(config.logJson).to.equal(true);
  });
  it("parses quantities and endpoints", () => {
    expect(parseQuantity("tmpfs-size", "32Mi")).to.equal(32 * 1024 * 1024);
    expect(parseQuantity("tmpfs-size", "0")).to.equal(0);
    expect(() => parseQuantity("tmpfs-size", "lots")).to.throw("-tmpfs-size");
    expect(parseEndpoint("unix://tmp/csi.sock")).to.deep.equal({ scheme: "unix", address: "/tmp/csi.sock" });
    expect(parseEndpoint("unix:///csi/csi.sock")).to.deep.equal({ scheme: "unix", address: "/csi/csi.sock" });
    expect(parseEndpoint("tcp://127.0.0.1:10000")).to.deep.equal({ scheme: "tcp", address: "127.0.0.1:10000" });
    expect(() => parseEndpoint("http://x")).to.throw("invalid endpoint: http://x");
    expect(parseListenAddr(":8095")).to.deep.equal({ host: undefined, port: 8095 });
    expect(parseListenAddr("127.0.0.1:0")).to.deep.equal({ host: "127.0.0.1", port: 0 });
    expect(parseListenAddr("[::1]:9")).to.deep.equal({ host: "::1", port: 9 });
  });
  it("uses upstream histogram buckets 0.1…2 s", () => {
    const b = exponentialBucketsRange(0.1, 2, 11);
    expect(b).to.have.length(11);
    expect(b[0]).to.be.closeTo(0.1, 1e-9);
    expect(b[10]).to.be.closeTo(2, 1e-9);
  });
});
