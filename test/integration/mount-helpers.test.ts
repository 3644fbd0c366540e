// The mount/umount helper processes: real programs, errors carried back,
// nothing but mount/umount accepted, and idle helpers never keep a process alive.
import { expect } from "chai";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { join } from "node:path";
import { CommandHelpers } from "../../src/mount/command-helpers.js";

const run = promisify(execFile);
const REPO = join(__dirname, "..", "..");

describe("integration: mount command helpers", function () {
  this.timeout(30_000);
  const helpers = new CommandHelpers(2);
  after(() => helpers.close());

  it("runs the real program and returns its stderr on failure", async () => {
    let err: Error | undefined;
    await helpers.run("umount", ["/definitely/not/mounted/akv-csi"]).catch((e: Error) => (err = e));
    expect(err?.message).to.match(/not mounted|no mount point|not found|No such file/i);
  });

  it("refuses anything but mount and umount", async () => {
    let err: Error | undefined;
    await helpers.run("rm" as "mount", ["-rf", "/tmp/nothing"]).catch((e: Error) => (err = e));
    expect(err?.message).to.equal("refused: not a mount or umount command");
  });

  it("many concurrent calls all get their own answer", async () => {
    const results = await Promise.allSettled(Array.from({ length: 40 }, (_, i) => helpers.run("umount", [`/nonexistent/akv-${i}`])));
    expect(results.every((r) => r.status === "rejected")).to.equal(true);
    const messages = results.map((r) => String((r as PromiseRejectedResult).reason));
    for (let i = 0; i < 40; i++) expect(messages[i]).to.contain(`akv-${i}`);
  });

  it("an idle helper does not keep its parent alive", async () => {
    const script = `const { CommandHelpers } = require(${JSON.stringify(join(REPO, "src/mount/command-helpers.ts"))});
new CommandHelpers(1).run("umount", ["/nonexistent/x"]).catch(() => console.log("answered"));`;
    const t = Date.now();
    const { stdout } = await run(process.execPath, ["--import", "tsx", "-e", script], { cwd: REPO, timeout: 20_000 });
    expect(stdout.trim()).to.equal("answered");
    expect(Date.now() - t).to.be.lessThan(15_000);
  });
});
