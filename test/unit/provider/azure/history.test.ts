import { expect } from "chai";
import { historyFileName, historyObjectId, objectId, selectHistory } from "../../../../src/provider/azure/plan.js";
import type { KeyVaultObject, VersionInfo } from "../../../../src/provider/azure/plan.js";

const obj = (objectVersionHistory: number, objectVersion = ""): KeyVaultObject => ({
  objectName: "secret1",
  objectType: "secret",
  objectVersion,
  objectVersionHistory,
  objectAlias: "s1",
  objectFormat: "pem",
  objectEncoding: "utf-8",
  filePermission: "",
});
const v = (version: string, minute: number | undefined, enabled: boolean | undefined = true): VersionInfo => ({
  version,
  enabled,
  createdOn: minute === undefined ? undefined : new Date(Date.UTC(2026, 0, 1, 0, minute)),
});

describe("provider/azure version history", () => {
  const listing = [v("v1", 1), v("v4", 4), v("v2", 2), v("v5", 5), v("v3", 3)];

  it("newest first; N+1 versions when more than N exist (upstream quirk, kept)", () => {
    expect(selectHistory(obj(2), listing)).to.deep.equal([
      { version: "v5", index: 0 },
      { version: "v4", index: 1 },
      { version: "v3", index: 2 },
    ]);
  });
  it("all versions when there are at most N", () => {
    expect(selectHistory(obj(5), listing).map((x) => x.version)).to.deep.equal(["v5", "v4", "v3", "v2", "v1"]);
    expect(selectHistory(obj(4), listing).map((x) => x.version)).to.deep.equal(["v5", "v4", "v3", "v2", "v1"]);
  });
  it("'latest' is the same as empty", () => {
    expect(selectHistory(obj(2, "latest"), listing)).to.deep.equal(selectHistory(obj(2), listing));
  });
  it("starts at objectVersion; nothing when it is not listed", () => {
    expect(selectHistory(obj(2, "v3"), listing).map((x) => [x.version, x.index])).to.deep.equal([["v3", 0], ["v2", 1], ["v1", 2]]);
    expect(selectHistory(obj(3, "nope"), listing)).to.deep.equal([]);
  });
  it("disabled versions are skipped; unknown enabled counts as enabled; missing created time is the epoch", () => {
    const l = [v("old", undefined), v("off", 9, false), v("new", 5, undefined), v("mid", 3)];
    expect(selectHistory(obj(5), l).map((x) => x.version)).to.deep.equal(["new", "mid", "old"]);
  });
  it("equal creation times keep listing order (stable)", () => {
    expect(selectHistory(obj(5), [v("a", 1), v("b", 1), v("c", 1)]).map((x) => x.version)).to.deep.equal(["a", "b", "c"]);
  });
  it("file names and ids", () => {
    expect(historyFileName("s1", 0)).to.equal("s1/0");
    expect(historyObjectId(obj(3), 2)).to.equal("secret/secret1/2");
    expect(objectId(obj(0))).to.equal("secret/secret1");
  });
});
