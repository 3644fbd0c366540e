import { expect } from "chai";
import { parseMountInfo } from "../../../src/mount/mountinfo.js";

describe("mount/mountinfo", () => {
  it("parses mount point, type, source and both option sets, unescaping octal", () => {
    const text =
      "36 35 98:0 /mnt1 /mnt/with\\040space rw,nosuid,nodev shared:1 - tmpfs tmpfs rw,size=32768k\n" +
      "37 35 0:5 / /proc rw - proc proc rw\n";
    const e = parseMountInfo(text);
    expect(e).to.have.length(2);
    expect(e[0]).to.deep.equal({ mountPoint: "/mnt/with space", fsType: "tmpfs", source: "tmpfs", options: ["rw", "nosuid", "nodev", "size=32768k"] });
    expect(e[1]!.fsType).to.equal("proc");
  });
});
