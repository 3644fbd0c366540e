// The kind e2e cannot run here (no Docker engine); keep it from rotting anyway.
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { parseAllDocuments } from "yaml";
import { startEmulator } from "../../src/emulator/index.js";
import { createLogger } from "../../src/util/logger.js";

const E2E = join(__dirname, "..", "e2e");

describe("test/e2e (kind, needs Docker)", () => {
  it("run.sh is valid bash and installs with one helm install", () => {
    execFileSync("bash", ["-n", join(E2E, "run.sh")]);
    const sh = readFileSync(join(E2E, "run.sh"), "utf8");
    expect(sh.match(/^helm install /gm)).to.have.length(1);
    expect(sh).to.contain("charts/akv-csi");
  });
  it("manifests parse and point at the file the emulator writes", async () => {
    const docs = ["emulator.yaml", "workload.yaml"].flatMap((f) =>
      parseAllDocuments(readFileSync(join(E2E, f), "utf8")).map((d) => d.toJS() as { kind: string; spec?: { parameters?: Record<string, string> } }),
    );
    expect(docs.map((d) => d.kind)).to.deep.equal(["Namespace", "Deployment", "ServiceAccount", "SecretProviderClass", "Pod"]);
    const emu = await startEmulator({ httpsPort: 0, httpPort: 0, nmiPort: -1, log: createLogger({ write: () => undefined }) });
    try {
      const spc = docs.find((d) => d.kind === "SecretProviderClass")!;
      expect(basename(spc.spec!.parameters!.cloudEnvFileName!)).to.equal(basename(emu.cloudEnvFile));
    } finally {
      await emu.close();
    }
  });
});
