import { expect } from "chai";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeAtomic, type Payload } from "../../../src/util/atomic-writer.js";
import { PathError } from "../../../src/util/paths.js";

const payload = (entries: Record<string, [string, number?]>): Payload =>
  new Map(Object.entries(entries).map(([k, [v, mode]]) => [k, { data: Buffer.from(v), mode: mode ?? 0o644 }]));

describe("util/atomic-writer (kubelet layout)", () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "akv-aw-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("writes ..data → timestamped dir and one link per top-level entry", async () => {
    const r = await writeAtomic(dir, payload({ a: ["1"], "sub/b": ["2", 0o600] }));
    expect(r.changed).to.equal(true);
    expect(readlinkSync(join(dir, "..data"))).to.equal(r.dataDir);
    expect(readlinkSync(join(dir, "a"))).to.equal("..data/a");
    expect(readlinkSync(join(dir, "sub"))).to.equal("..data/sub");
    expect(readFileSync(join(dir, "sub/b"), "utf8")).to.equal("2");
    expect(statSync(join(dir, r.dataDir)).mode & 0o777).to.equal(0o755);
    expect(statSync(join(dir, "sub/b")).mode & 0o777).to.equal(0o600);
  });

  it("takes the mode verbatim: 0 gives 0000", async () => {
    await writeAtomic(dir, payload({ z: ["x", 0] }));
    expect(statSync(join(dir, "..data/z")).mode & 0o777).to.equal(0);
  });

  it("leaves unchanged bytes untouched (same dir, same mtime)", async () => {
    const first = await writeAtomic(dir, payload({ a: ["1"] }));
    const mtime = statSync(join(dir, first.dataDir, "a")).mtimeMs;
    const second = await writeAtomic(dir, payload({ a: ["1"] }));
    expect(second).to.deep.equal({ changed: false, dataDir: first.dataDir });
    expect(statSync(join(dir, first.dataDir, "a")).mtimeMs).to.equal(mtime);
  });

  it("swaps to a new dir on change and prunes stale links and the old dir", async () => {
    const first = await writeAtomic(dir, payload({ a: ["1"], gone: ["x"] }));
    const second = await writeAtomic(dir, payload({ a: ["2"] }));
    expect(second.changed).to.equal(true);
    expect(second.dataDir).not.to.equal(first.dataDir);
    expect(readFileSync(join(dir, "a"), "utf8")).to.equal("2");
    expect(existsSync(join(dir, "gone"))).to.equal(false);
    expect(existsSync(join(dir, first.dataDir))).to.equal(false);
    expect(readdirSync(dir).sort()).to.deep.equal(["..data", second.dataDir, "a"].sort());
  });

  it("a mode change alone is a change", async () => {
    await writeAtomic(dir, payload({ a: ["1", 0o644] }));
    const r = await writeAtomic(dir, payload({ a: ["1", 0o400] }));
    expect(r.changed).to.equal(true);
    expect(statSync(join(dir, "a")).mode & 0o777).to.equal(0o400);
  });

  it("cleans a stale ..data_tmp left by a crash", async () => {
    await writeAtomic(dir, payload({ a: ["1"] }));
    symlinkSync("..nowhere", join(dir, "..data_tmp"));
    await writeAtomic(dir, payload({ a: ["2"] }));
    expect(existsSync(join(dir, "..data_tmp"))).to.equal(false);
    expect(() => lstatSync(join(dir, "..data_tmp"))).to.throw();
  });

  it("removes legacy non-symlink entries a payload now owns (#551)", async () => {
    mkdirSync(join(dir, "certs"));
    writeFileSync(join(dir, "certs", "old"), "legacy");
    writeFileSync(join(dir, "a"), "legacy");
    await writeAtomic(dir, payload({ a: ["new"], "certs/tls.crt": ["c"] }));
    expect(lstatSync(join(dir, "a")).isSymbolicLink()).to.equal(true);
    expect(readFileSync(join(dir, "a"), "utf8")).to.equal("new");
    expect(existsSync(join(dir, "certs", "old"))).to.equal(false);
  });

  it("rejects unsafe paths before writing anything", async () => {
    for (const bad of ["../x", "/etc/x", "a/../../b", "..data", "..foo", "a/./b", "a//b", "", "x\0y", "a/" + "n".repeat(256)]) {
      let err: unknown;
      try {
        await writeAtomic(dir, payload({ ok: ["1"], [bad]: ["2"] }));
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(bad)).to.be.instanceOf(PathError);
      expect(readdirSync(dir), JSON.stringify(bad)).to.deep.equal([]);
    }
  });
});
