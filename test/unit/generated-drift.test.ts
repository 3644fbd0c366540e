// The committed src/generated must be exactly what scripts/gen-proto.mjs
// makes from proto/ today: editing a .proto without regenerating fails here.
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";

const REPO = join(__dirname, "..", "..");

function tree(dir: string, root = dir, out = new Map<string, string>()): Map<string, string> {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) tree(p, root, out);
    else out.set(relative(root, p), readFileSync(p, "utf8"));
  }
  return out;
}

describe("generated proto types", function () {
  this.timeout(60_000);
  it("match a fresh `npm run gen:proto`", () => {
    const out = mkdtempSync(join(tmpdir(), "akv-gen-"));
    try {
      execFileSync(process.execPath, [join(REPO, "scripts/gen-proto.mjs"), "--out", out], { cwd: REPO, stdio: "pipe" });
      const fresh = tree(out);
      const committed = tree(join(REPO, "src/generated"));
      expect([...committed.keys()].sort()).to.deep.equal([...fresh.keys()].sort());
      for (const [k, v] of fresh) expect(committed.get(k), k).to.equal(v);
      expect(fresh.size).to.be.greaterThan(20);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
