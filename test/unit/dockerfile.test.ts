// The image definition without a Docker engine: the Dockerfile's COPY sources
// exist and survive .dockerignore, the runtime stage ships only the bundle and
// proto/, and the Dockerfile's own esbuild command yields a bundle whose
// entrypoint runs with nothing but proto/ beside it.
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";

const REPO = join(__dirname, "..", "..");

interface Instruction {
  op: string;
  args: string;
  stage: number;
}

/** Instructions with continuations joined and comments dropped; stage = index of the FROM above. */
function parseDockerfile(text: string): Instruction[] {
  const logical: string[] = [];
  let cur = "";
  for (const raw of text.split("\n")) {
    if (/^\s*#/.test(raw)) continue;
    const line = raw.replace(/\s+$/, "");
    if (line.endsWith("\\")) {
      cur += line.slice(0, -1) + " ";
      continue;
    }
    cur += line;
    if (cur.trim() !== "") logical.push(cur.trim());
    cur = "";
  }
  let stage = -1;
  return logical.map((l) => {
    const m = /^(\S+)\s+(.*)$/.exec(l);
    if (!m) throw new Error(`bad Dockerfile line: ${l}`);
    const op = m[1]!.toUpperCase();
    if (op === "FROM") stage++;
    return { op, args: m[2]!, stage };
  });
}

/** Docker's .dockerignore: Go-style globs on context-relative paths, `!` re-includes, last match wins, a match on a parent covers its children. */
function dockerIgnored(patterns: string[], path: string): boolean {
  const toRe = (glob: string) =>
    new RegExp(
      "^" +
        glob
          .replace(/^\/+|\/+$/g, "")
          .split("")
          .map((c, i, a) => {
            if (c === "*") return a[i + 1] === "*" ? "" : a[i - 1] === "*" ? ".*" : "[^/]*";
            if (c === "?") return "[^/]";
            return c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
          })
          .join("") +
        "$",
    );
  const parts = path.split("/");
  const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join("/"));
  let ignored = false;
  for (const raw of patterns) {
    const neg = raw.startsWith("!");
    const re = toRe(neg ? raw.slice(1) : raw);
    if (prefixes.some((p) => re.test(p))) ignored = !neg;
  }
  return ignored;
}

/** Sources of a COPY/ADD (flags dropped, destination removed). */
function copySources(args: string): { from?: string; sources: string[] } {
  const words = args.startsWith("[") ? (JSON.parse(args) as string[]) : args.split(/\s+/);
  const flags = words.filter((w) => w.startsWith("--"));
  const rest = words.filter((w) => !w.startsWith("--"));
  const from = flags.find((f) => f.startsWith("--from="))?.slice("--from=".length);
  return { from, sources: rest.slice(0, -1) };
}

describe("Dockerfile", () => {
  const dockerfile = readFileSync(join(REPO, "Dockerfile"), "utf8");
  const ins = parseDockerfile(dockerfile);
  const ignore = readFileSync(join(REPO, ".dockerignore"), "utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
  const froms = ins.filter((i) => i.op === "FROM");
  const runtime = froms.length - 1;

  it("has a build stage and a runtime stage, both node:22-bookworm-slim", () => {
    expect(froms.map((f) => f.args)).to.deep.equal([
      "node:22-bookworm-slim AS build",
      "node:22-bookworm-slim",
    ]);
  });

  it("every COPY source from the build context exists and is not excluded by .dockerignore", () => {
    const contextCopies = ins.filter(
      (i) => (i.op === "COPY" || i.op === "ADD") && copySources(i.args).from === undefined,
    );
    expect(contextCopies.length).to.be.greaterThan(2);
    for (const c of contextCopies) {
      for (const src of copySources(c.args).sources) {
        expect(existsSync(join(REPO, src)), `${src} exists`).to.equal(true);
        expect(
          dockerIgnored(ignore, src.replace(/^\.\//, "")),
          `${src} is not dockerignored`,
        ).to.equal(false);
      }
    }
  });

  it(".dockerignore keeps node_modules, tests, charts and git metadata out of the context", () => {
    for (const p of [
      "node_modules/yaml/package.json",
      "test/unit/dockerfile.test.ts",
      "charts/akv-csi/values.yaml",
      ".git/HEAD",
      "README.md",
    ]) {
      expect(dockerIgnored(ignore, p), p).to.equal(true);
    }
    expect(dockerIgnored(ignore, "src/main.ts")).to.equal(false);
    expect(dockerIgnored(ignore, "proto/csi/v1/csi.proto")).to.equal(false);
  });

  it("the runtime stage ships only the bundle and proto/ from the build stage, as /app", () => {
    const copies = ins
      .filter((i) => i.stage === runtime && i.op === "COPY")
      .map((i) => copySources(i.args));
    expect(copies.every((c) => c.from === "build")).to.equal(true);
    expect(copies.flatMap((c) => c.sources).sort()).to.deep.equal(["/out/main.js", "/out/proto"]);
    expect(
      ins
        .filter((i) => i.stage === runtime && i.op === "COPY")
        .map((i) => i.args.split(/\s+/).pop()),
    ).to.deep.equal(["/app/main.js", "/app/proto"]);
    expect(
      ins.some((i) => i.stage === runtime && i.op === "RUN"),
      "no RUN in the runtime stage",
    ).to.equal(false);
  });

  it("ENTRYPOINT is the exec form node /app/main.js", () => {
    const eps = ins.filter((i) => i.op === "ENTRYPOINT");
    expect(eps).to.have.length(1);
    expect(eps[0]!.stage).to.equal(runtime);
    expect(JSON.parse(eps[0]!.args)).to.deep.equal(["node", "/app/main.js"]);
  });

  it("the image version ARG defaults to the package version", () => {
    const pkg = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { version: string };
    const arg = ins.find((i) => i.op === "ARG" && i.args.startsWith("AKV_CSI_VERSION="));
    expect(arg?.args).to.equal(`AKV_CSI_VERSION=v${pkg.version}`);
  });

  describe("the Dockerfile's esbuild bundle", function () {
    this.timeout(120_000);
    let dir = "";
    let bundle = "";

    before(function () {
      const run = ins.find((i) => i.op === "RUN" && i.args.includes("esbuild"));
      expect(run, "a RUN with esbuild").to.not.equal(undefined);
      const cmd = /npx (esbuild [^&]+?)\s*(&&|$)/.exec(run!.args)![1]!.trim().split(/\s+/);
      const outfile = cmd.find((w) => w.startsWith("--outfile="));
      expect(outfile).to.equal("--outfile=/out/main.js");
      dir = mkdtempSync(join(tmpdir(), "akv-csi-bundle-"));
      bundle = join(dir, "main.js");
      // The build stage sees only what its COPY lines bring in; node_modules stands in for `npm ci`.
      const context = join(dir, "context");
      for (const c of ins.filter((i) => i.stage === 0 && i.op === "COPY")) {
        for (const src of copySources(c.args).sources) {
          cpSync(join(REPO, src), join(context, src), { recursive: true });
        }
      }
      symlinkSync(join(REPO, "node_modules"), join(context, "node_modules"), "dir");
      const args = cmd
        .slice(1)
        .map((w) => (w.startsWith("--outfile=") ? `--outfile=${bundle}` : w));
      execFileSync(join(REPO, "node_modules", ".bin", "esbuild"), [...args, "--log-level=error"], {
        cwd: context,
        stdio: "pipe",
        timeout: 90_000,
      });
      rmSync(context, { recursive: true, force: true });
      // As in the image: proto/ beside the bundle, no node_modules anywhere above it.
      cpSync(join(REPO, "proto"), join(dir, "proto"), { recursive: true });
    });

    after(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    const node = (args: string[], env: NodeJS.ProcessEnv = {}) =>
      spawnSync(process.execPath, [bundle, ...args], {
        cwd: dir,
        encoding: "utf8",
        timeout: 20_000,
        env: { PATH: process.env.PATH, ...env },
      });

    it("is built for node22 from src/main.ts", () => {
      const run = ins.find((i) => i.op === "RUN" && i.args.includes("esbuild"))!;
      expect(run.args).to.match(/esbuild src\/main\.ts --bundle --platform=node --target=node22/);
    });

    it("main.js --help exits 0 and prints the usage", () => {
      const r = node(["--help"]);
      expect(r.status, r.stderr).to.equal(0);
      expect(r.stdout).to.include("Usage:");
      expect(r.stdout).to.include("akv-csi driver");
      expect(r.stdout).to.include("akv-csi provider azure");
    });

    it("main.js driver --version prints upstream's version JSON", () => {
      const r = node(["driver", "--version"]);
      expect(r.status, r.stderr).to.equal(0);
      expect(JSON.parse(r.stdout)).to.include({ BuildVersion: "v1.6.0" });
    });

    it("main.js provider azure --version reports the image version from the environment", () => {
      const r = node(["provider", "azure", "--version"], { AKV_CSI_VERSION: "v9.9.9-test" });
      expect(r.status, r.stderr).to.equal(0);
      expect(JSON.parse(r.stdout)).to.include({ version: "v9.9.9-test" });
    });

    it("needs proto/ beside it: without it the driver stops with a clear error", () => {
      rmSync(join(dir, "proto"), { recursive: true, force: true });
      try {
        const r = node([
          "driver",
          `--endpoint=unix://${join(dir, "csi.sock")}`,
          "--nodeid=n1",
          "--metrics-addr=127.0.0.1:0",
        ]);
        expect(r.status, "exit code").to.not.equal(0);
        expect(r.stderr + r.stdout).to.match(/proto directory not found/);
      } finally {
        cpSync(join(REPO, "proto"), join(dir, "proto"), { recursive: true });
      }
    });
  });
});
