// The README must not promise flags or values that do not exist.
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { DRIVER_FLAGS } from "../../src/driver/config.js";
import { PROVIDER_FLAGS } from "../../src/provider/config.js";

const REPO = join(__dirname, "..", "..");
const readme = readFileSync(join(REPO, "README.md"), "utf8");

function section(title: string): string {
  const start = readme.indexOf(`## ${title}`);
  expect(start, title).to.be.greaterThan(-1);
  const end = readme.indexOf("\n## ", start + 3);
  return readme.slice(start, end < 0 ? undefined : end);
}

const flagsIn = (text: string) => [...text.matchAll(/`(--?[a-z][a-z0-9-]*)`/g)].map((m) => m[1]!.replace(/^-+/, ""));

describe("README stays accurate", () => {
  it("shows the two commands", () => {
    expect(readme).to.contain("npm start");
    expect(readme).to.contain("npm test");
  });
  it("every driver flag it names exists", () => {
    const names = flagsIn(section("Driver flags"));
    expect(names.length).to.be.greaterThan(15);
    for (const n of names) expect(DRIVER_FLAGS, `--${n}`).to.have.property(n);
  });
  it("every provider flag it names exists", () => {
    const names = flagsIn(section("Provider flags"));
    expect(names.length).to.be.greaterThan(10);
    for (const n of names) expect(PROVIDER_FLAGS, `--${n}`).to.have.property(n);
  });
  it("every Helm value it names exists in values.yaml", () => {
    const values = parse(readFileSync(join(REPO, "charts/akv-csi/values.yaml"), "utf8")) as Record<string, unknown>;
    const keys = [...section("Helm values").matchAll(/`([a-zA-Z][a-zA-Z0-9]*(?:\.[a-zA-Z][a-zA-Z0-9]*)*)`/g)].map((m) => m[1]!);
    const paths = keys.filter((k) => !/^(ghcr|nosuid)/.test(k) && k !== "true" && k !== "false");
    expect(paths.length).to.be.greaterThan(20);
    for (const p of paths) {
      let cur: unknown = values;
      for (const part of p.split(".")) {
        expect(cur, p).to.be.an("object");
        expect(cur, p).to.have.property(part);
        cur = (cur as Record<string, unknown>)[part];
      }
    }
  });
  it("every example folder it names exists", () => {
    for (const m of readme.matchAll(/`(examples\/[a-z0-9/-]+)\/?`/g)) {
      expect(() => readFileSync(join(REPO, m[1]!, "README.md")), m[1]).not.to.throw();
    }
  });
});
