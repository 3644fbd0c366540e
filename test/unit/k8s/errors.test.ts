import { expect } from "chai";
import {
  isAlreadyExists,
  isConflict,
  isForbidden,
  isGone,
  isNotFound,
  isTimeout,
  isUnreachable,
  KubeError,
  reasonForCode,
} from "../../../src/k8s/errors.js";

const status = (code: number, reason: string, message: string, details?: object) =>
  JSON.stringify({ kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, details, code });

describe("k8s/errors Status → KubeError", () => {
  it("takes message, reason and details from a Status body", () => {
    const e = KubeError.fromResponse(404, status(404, "NotFound", 'pods "web" not found', { name: "web", kind: "pods" }));
    expect(e).to.be.instanceOf(Error);
    expect(e.name).to.equal("KubeError");
    expect(e.status).to.equal(404);
    expect(e.reason).to.equal("NotFound");
    expect(e.message).to.equal('pods "web" not found');
    expect(e.details).to.deep.equal({ name: "web", kind: "pods" });
    expect(isNotFound(e)).to.equal(true);
    expect(isConflict(e)).to.equal(false);
  });

  it("tells AlreadyExists from Conflict although both are 409", () => {
    const exists = KubeError.fromResponse(409, status(409, "AlreadyExists", 'secrets "s" already exists'));
    const conflict = KubeError.fromResponse(409, status(409, "Conflict", "Operation cannot be fulfilled"));
    expect([isAlreadyExists(exists), isConflict(exists)]).to.deep.equal([true, false]);
    expect([isAlreadyExists(conflict), isConflict(conflict)]).to.deep.equal([false, true]);
  });

  it("Forbidden keeps the RBAC message", () => {
    const msg = 'secrets is forbidden: User "system:serviceaccount:kube-system:csi" cannot create resource "secrets" in API group "" in the namespace "default"';
    const e = KubeError.fromResponse(403, status(403, "Forbidden", msg));
    expect(isForbidden(e)).to.equal(true);
    expect(e.message).to.equal(msg);
  });

  it("falls back to a reason from the HTTP code for non-Status bodies", () => {
    const e = KubeError.fromResponse(503, "<html>upstream down</html>");
    expect(e.reason).to.equal("ServiceUnavailable");
    expect(e.message).to.contain("503");
    const empty = KubeError.fromResponse(404, "");
    expect(isNotFound(empty)).to.equal(true);
    expect(reasonForCode(418)).to.equal("Unknown");
    expect(reasonForCode(502)).to.equal("InternalError");
  });

  it("reads Retry-After and details.retryAfterSeconds", () => {
    expect(KubeError.fromResponse(429, status(429, "TooManyRequests", "slow down"), "3").retryAfterSeconds).to.equal(3);
    expect(KubeError.fromResponse(429, status(429, "TooManyRequests", "slow down", { retryAfterSeconds: 7 })).retryAfterSeconds).to.equal(7);
  });

  it("a watch ERROR 410 is Gone", () => {
    const e = KubeError.fromStatus({ kind: "Status", code: 410, reason: "Expired", message: "too old resource version: 5 (9)" });
    expect(isGone(e)).to.equal(true);
    expect(e.status).to.equal(410);
  });

  it("status 0 means no response", () => {
    const t = new KubeError(0, "Timeout", "GET x: request timed out");
    expect(isUnreachable(t)).to.equal(true);
    expect(isTimeout(t)).to.equal(true);
    expect(isUnreachable(new Error("x"))).to.equal(false);
  });
});
