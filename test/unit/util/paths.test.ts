import { expect } from "chai";
import { parseKubeletTargetPath, validatePayloadPath } from "../../../src/util/paths.js";

describe("util/paths", () => {
  it("accepts clean relative paths", () => {
    for (const ok of ["a", "a/b", ".hidden", "a..b", "dir/..x/y".replace("..x", "x..")]) expect(() => validatePayloadPath(ok)).not.to.throw();
  });
  it("rejects with the kubelet writer's texts", () => {
    expect(() => validatePayloadPath("")).to.throw('invalid path: must not be empty: ""');
    expect(() => validatePayloadPath("/abs")).to.throw("invalid path: must be relative path: /abs");
    expect(() => validatePayloadPath("a/../b")).to.throw("invalid path: must not contain '..': a/../b");
    expect(() => validatePayloadPath("..data")).to.throw("invalid path: must not start with '..': ..data");
    expect(() => validatePayloadPath("x".repeat(4097))).to.throw("invalid path: must be less than or equal to 4096 characters");
    expect(() => validatePayloadPath("x".repeat(256))).to.throw("invalid path: filenames must be less than or equal to 255 characters");
    expect(() => validatePayloadPath("a/./b")).to.throw('invalid filepath: "a/./b"');
  });
  it("parses the kubelet target layout", () => {
    expect(parseKubeletTargetPath("/var/lib/kubelet/pods/u-1/volumes/kubernetes.io~csi/vol/mount")).to.deep.equal({ podUid: "u-1", volume: "vol" });
    expect(parseKubeletTargetPath("/tmp/x/mount")).to.equal(undefined);
    expect(parseKubeletTargetPath("/var/lib/kubelet/pods/u/volumes/kubernetes.io~csi/vol/mount/../../x")).to.equal(undefined);
  });
});
