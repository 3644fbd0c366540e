import { expect } from "chai";
import {
  API_VERSION,
  csiDriverPath,
  eventPath,
  GROUP,
  objectKey,
  podPath,
  secretPath,
  spcPath,
  spcpsPath,
  tokenRequestPath,
  VERSION,
} from "../../../src/k8s/types.js";

describe("k8s/types path builders", () => {
  it("CRD group and version", () => {
    expect(GROUP).to.equal("secrets-store.csi.x-k8s.io");
    expect(VERSION).to.equal("v1");
    expect(API_VERSION).to.equal("secrets-store.csi.x-k8s.io/v1");
  });

  it("SPC and SPCPS paths, namespaced, named and cluster-wide", () => {
    expect(spcPath("ns1", "azure-kv")).to.equal("/apis/secrets-store.csi.x-k8s.io/v1/namespaces/ns1/secretproviderclasses/azure-kv");
    expect(spcPath("ns1")).to.equal("/apis/secrets-store.csi.x-k8s.io/v1/namespaces/ns1/secretproviderclasses");
    expect(spcPath()).to.equal("/apis/secrets-store.csi.x-k8s.io/v1/secretproviderclasses");
    expect(spcpsPath("default", "web-default-azure-kv")).to.equal(
      "/apis/secrets-store.csi.x-k8s.io/v1/namespaces/default/secretproviderclasspodstatuses/web-default-azure-kv",
    );
    expect(spcpsPath()).to.equal("/apis/secrets-store.csi.x-k8s.io/v1/secretproviderclasspodstatuses");
  });

  it("core paths", () => {
    expect(podPath("default", "web-0")).to.equal("/api/v1/namespaces/default/pods/web-0");
    expect(podPath()).to.equal("/api/v1/pods");
    expect(secretPath("default")).to.equal("/api/v1/namespaces/default/secrets");
    expect(secretPath("default", "tls")).to.equal("/api/v1/namespaces/default/secrets/tls");
    expect(eventPath("default")).to.equal("/api/v1/namespaces/default/events");
    expect(tokenRequestPath("default", "app-sa")).to.equal("/api/v1/namespaces/default/serviceaccounts/app-sa/token");
    expect(csiDriverPath("secrets-store.csi.k8s.io")).to.equal("/apis/storage.k8s.io/v1/csidrivers/secrets-store.csi.k8s.io");
  });

  it("rejects segments that would escape the path", () => {
    expect(() => podPath("default", "../secrets/x")).to.throw(/invalid path segment/);
    expect(() => secretPath("..", "x")).to.throw(/invalid path segment/);
    expect(() => podPath("default", "")).to.throw(/invalid path segment/);
  });

  it("escapes odd characters and needs a namespace for a name", () => {
    expect(secretPath("default", "a b")).to.equal("/api/v1/namespaces/default/secrets/a%20b");
    expect(() => podPath(undefined, "web")).to.throw(/needs a namespace/);
  });

  it("objectKey is ns/name, or name for cluster objects", () => {
    expect(objectKey({ namespace: "ns", name: "n" })).to.equal("ns/n");
    expect(objectKey({ name: "node-1" })).to.equal("node-1");
  });
});
