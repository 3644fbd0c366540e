// Every flag the chart passes to `driver` and `provider azure` must exist in our
// flag tables (DRIVER_FLAGS, PROVIDER_FLAGS), read from the template source.
import { expect } from "chai";
import { commandOf, flagName, templateFiles, unknownFlags } from "./chart-files.js";

interface ArgsBlock {
  file: string;
  args: string[];
}

/**
 * The literal items of every `args:` list in a template. Template control lines
 * inside the list are skipped, so conditional flags count as passed.
 */
function argsBlocks(file: string, text: string): ArgsBlock[] {
  const lines = text.split("\n");
  const blocks: ArgsBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^(\s*)args:\s*$/.exec(lines[i]!);
    if (!m) continue;
    const indent = m[1]!.length;
    const args: string[] = [];
    for (let j = i + 1; j < lines.length; j++) {
      const line = lines[j]!;
      if (/^\s*\{\{.*\}\}\s*$/.test(line) || line.trim() === "") continue;
      const lead = /^(\s*)/.exec(line)![1]!.length;
      const item = /^\s*-\s+(.*)$/.exec(line);
      if (lead < indent || (lead === indent && !item)) break;
      if (!item) break;
      args.push(item[1]!.trim().replace(/^"(.*)"$/, "$1"));
    }
    blocks.push({ file, args });
  }
  return blocks;
}

describe("chart: flags passed to our binary", () => {
  const blocks = templateFiles().flatMap(({ name, text }) => argsBlocks(name, text));
  const ours = blocks.filter((b) => commandOf(b.args) !== undefined);

  it("finds the driver and the provider argument lists", () => {
    expect(ours.map((b) => commandOf(b.args)).sort()).to.deep.equal(["driver", "provider azure"]);
  });

  for (const cmd of ["driver", "provider azure"] as const) {
    it(`every flag passed to \`${cmd}\` is in its flag table`, () => {
      const block = ours.find((b) => commandOf(b.args) === cmd)!;
      const flags = block.args.map(flagName).filter(Boolean);
      expect(flags.length, "flags found").to.be.greaterThan(8);
      expect(unknownFlags(cmd, block.args)).to.deep.equal([]);
    });
  }

  it("the driver gets its node name and socket from the downward API, the provider its chart socket", () => {
    const driver = ours.find((b) => commandOf(b.args) === "driver")!.args;
    expect(driver).to.include.members(["--endpoint=$(CSI_ENDPOINT)", "--nodeid=$(KUBE_NODE_NAME)"]);
    const provider = ours.find((b) => commandOf(b.args) === "provider azure")!.args;
    expect(provider).to.include("--endpoint=unix:///provider/azure.sock");
  });

  it("the check rejects a flag the table lacks", () => {
    expect(
      unknownFlags("driver", ["driver", "--endpoint=x", "--filtered-watch-secret=true", "-v=2"]),
    ).to.deep.equal(["filtered-watch-secret"]);
    expect(
      unknownFlags("provider azure", [
        "provider",
        "azure",
        "--healthz-port=1",
        "--metrics-addr=:1",
      ]),
    ).to.deep.equal(["metrics-addr"]);
  });

  it("sidecars get the upstream arguments", () => {
    const registrar = blocks.find((b) =>
      b.args.some((a) => a.startsWith("--kubelet-registration-path=")),
    )!;
    expect(registrar.args).to.include("--csi-address=/csi/csi.sock");
    const ds = templateFiles().find((t) => t.name === "driver-daemonset.yaml")!.text;
    expect(ds).to.include(
      '$pluginSock := printf "%s/plugins/csi-secrets-store/csi.sock" $l.kubeletRootDir',
    );
    expect(registrar.args).to.include("--kubelet-registration-path={{ $pluginSock }}");
    const probe = blocks.find((b) => b.args.includes("--probe-timeout=3s"))!;
    expect(probe.args).to.include("--csi-address=/csi/csi.sock");
    expect(probe.args.join(" ")).to.match(
      /--http-endpoint=0\.0\.0\.0:\{\{ \.Values\.livenessProbe\.port \}\}/,
    );
  });
});
