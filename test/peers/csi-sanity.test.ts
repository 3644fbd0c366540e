// The real csi-sanity (kubernetes-csi/csi-test v5, built from the Go module
// proxy by test/peers/build.sh) against `akv-csi driver` on a unix socket.
//
// Skips, each forced by the shape of this driver rather than chosen:
// - "Controller Server": like upstream we advertise CONTROLLER_SERVICE but
//   implement only ControllerGetCapabilities; volumes are inline/ephemeral
//   and never created by a controller.
// - "should work", "should be idempotent", "should remove target path" and
//   "NodeStageVolume should fail when no volume capability is provided":
//   each first calls CreateVolume (Unimplemented here, as upstream), so they
//   test a controller we do not have. Upstream's own sanity run skips the
//   same (plus all of NodeStageVolume).
import { expect } from "chai";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { spawnAkv, waitForPath, type AkvProcess } from "../helpers/akv-process.js";
import { requirePeer } from "./peers.js";

const run = promisify(execFile);

export const SANITY_SKIP = [
  "Controller Server",
  "should work",
  "should be idempotent",
  "should remove target path",
  "NodeStageVolume should fail when no volume capability is provided",
].join("|");

function junitCounts(xml: string): { tests: number; failures: number; errors: number; skipped: number } {
  const m = /<testsuite\b[^>]*>/.exec(xml);
  const attr = (n: string) => Number(new RegExp(`\\b${n}="(\\d+)"`).exec(m?.[0] ?? "")?.[1] ?? "NaN");
  return { tests: attr("tests"), failures: attr("failures"), errors: attr("errors"), skipped: attr("skipped") };
}

describe("peers: csi-sanity v5 against akv-csi driver", function () {
  this.timeout(180_000);
  let dir: string;
  let driver: AkvProcess | undefined;

  before(async function () {
    const sanity = requirePeer(this, "csi-sanity");
    dir = mkdtempSync(join(tmpdir(), "akv-sanity-"));
    driver = spawnAkv(["driver", `--endpoint=unix://${dir}/csi.sock`, "--nodeid=sanity-node", "--metrics-addr=127.0.0.1:0", "-v=5"]);
    await waitForPath(join(dir, "csi.sock"), driver);
    (this as unknown as { sanity: string }).sanity = sanity;
  });

  after(async () => {
    await driver?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("passes every spec that applies to a node-only ephemeral driver", async function () {
    const sanity = (this as unknown as { sanity?: string }).sanity ?? requirePeer(this, "csi-sanity");
    const junit = join(dir, "sanity.xml");
    let out: string;
    let code = 0;
    try {
      const r = await run(
        sanity,
        [
          `--csi.endpoint=unix://${dir}/csi.sock`,
          `--csi.mountdir=${dir}/mnt`,
          `--csi.stagingdir=${dir}/stage`,
          `-ginkgo.skip=${SANITY_SKIP}`,
          "-ginkgo.no-color",
          `-ginkgo.junit-report=${junit}`,
        ],
        { timeout: 150_000, maxBuffer: 16 * 1024 * 1024 },
      );
      out = r.stdout + r.stderr;
    } catch (e) {
      const err = e as { code?: number; stdout?: string; stderr?: string };
      code = err.code ?? 1;
      out = (err.stdout ?? "") + (err.stderr ?? "");
    }
    const c = junitCounts(readFileSync(junit, "utf8"));
    const ran = c.tests - c.skipped;
    const failed = c.failures + c.errors;
    // CI reads this line; it is csi-sanity's own count, not mocha's.
    console.log(`csi-sanity: ${ran - failed} passed, ${failed} failed, ${c.skipped} skipped`);
    expect(failed, out.slice(-4000)).to.equal(0);
    expect(code, out.slice(-4000)).to.equal(0);
    expect(ran).to.be.greaterThan(10);
  });
});
