import { expect } from "chai";
import { FlagError, parseFlags, KLOG_FLAGS } from "../../../src/config/flags.js";
import { parseDuration } from "../../../src/config/duration.js";

const table = {
  ...KLOG_FLAGS,
  endpoint: { type: "string", default: "unix://tmp/csi.sock", usage: "" },
  "enable-secret-rotation": { type: "bool", default: false, usage: "" },
  "rotation-poll-interval": { type: "duration", default: 120_000, usage: "" },
  "max-call-recv-msg-size": { type: "int", default: 4194304, usage: "" },
} as const;

describe("config/flags (Go flag syntax)", () => {
  it("keeps defaults when nothing is given", () => {
    const p = parseFlags(table, []);
    expect(p.values.endpoint).to.equal("unix://tmp/csi.sock");
    expect(p.values["rotation-poll-interval"]).to.equal(120_000);
    expect(p.values.v).to.equal(0);
  });
  it("reads -v=5, --x=false, a following value and durations", () => {
    const p = parseFlags(table, [
      "-v=5",
      "--enable-secret-rotation=false",
      "--endpoint",
      "unix:///csi/csi.sock",
      "--rotation-poll-interval=1m30s",
      "-max-call-recv-msg-size=10",
    ]);
    expect(p.values.v).to.equal(5);
    expect(p.values["enable-secret-rotation"]).to.equal(false);
    expect(p.values.endpoint).to.equal("unix:///csi/csi.sock");
    expect(p.values["rotation-poll-interval"]).to.equal(90_000);
    expect(p.values["max-call-recv-msg-size"]).to.equal(10);
    expect([...p.set]).to.include("endpoint");
  });
  it("a bare bool flag means true, Go ParseBool spellings are accepted", () => {
    expect(parseFlags(table, ["--enable-secret-rotation"]).values["enable-secret-rotation"]).to.equal(true);
    expect(parseFlags(table, ["--enable-secret-rotation=T"]).values["enable-secret-rotation"]).to.equal(true);
    expect(parseFlags(table, ["--enable-secret-rotation=0"]).values["enable-secret-rotation"]).to.equal(false);
  });
  it("rejects unknown flags and bad values with Go's wording", () => {
    expect(() => parseFlags(table, ["--nope"])).to.throw(FlagError, "flag provided but not defined: -nope");
    expect(() => parseFlags(table, ["--enable-secret-rotation=yes"])).to.throw(FlagError, /invalid boolean value "yes"/);
    expect(() => parseFlags(table, ["-v=x"])).to.throw(FlagError, /invalid value "x" for flag -v/);
    expect(() => parseFlags(table, ["--endpoint"])).to.throw(FlagError, "flag needs an argument: -endpoint");
  });
  it("accepts klog flags the chart may pass", () => {
    expect(() => parseFlags(table, ["--logtostderr", "--vmodule=x=2"])).not.to.throw();
  });
  it("parses Go durations", () => {
    expect(parseDuration("2m")).to.equal(120_000);
    expect(parseDuration("1h2m3s")).to.equal(3_723_000);
    expect(parseDuration("500ms")).to.equal(500);
    expect(parseDuration("1.5s")).to.equal(1500);
    expect(parseDuration("0")).to.equal(0);
    expect(parseDuration("10")).to.equal(undefined);
    expect(parseDuration("")).to.equal(undefined);
    expect(parseDuration("2x")).to.equal(undefined);
  });
});
