// Managed identity endpoints: Azure IMDS (VM/VMSS managed identity) and the
// deprecated AAD pod identity NMI (`/host/token/`, keyed by pod headers).
import type { EmulatorContext } from "./context.js";
import { issueAccessToken } from "./entra.js";
import { Exchange, sendJson } from "./http.js";

export function isImdsPath(path: string): boolean {
  return /^\/metadata\/identity\/oauth2\/token\/?$/.test(path);
}

export function isNmiPath(path: string): boolean {
  return /^\/host\/token\/?$/.test(path);
}

export function handleImds(ctx: EmulatorContext, x: Exchange): void {
  if (x.method !== "GET") return sendJson(x, 405, { error: "invalid_request", error_description: "Only GET is supported" });
  if ((x.req.headers.metadata ?? "").toString().toLowerCase() !== "true") {
    return sendJson(x, 400, { error: "bad_request_102", error_description: "Required metadata header not specified" });
  }
  const q = x.query;
  if (!q.get("api-version")) return sendJson(x, 400, { error: "invalid_request", error_description: "Required query variable 'api-version' is missing" });
  const resource = q.get("resource");
  if (!resource) return sendJson(x, 400, { error: "invalid_request", error_description: "Required query variable 'resource' is missing" });
  const sel = {
    clientId: q.get("client_id") ?? undefined,
    objectId: q.get("object_id") ?? undefined,
    resourceId: q.get("msi_res_id") ?? q.get("mi_res_id") ?? undefined,
  };
  const p = ctx.identities.managedIdentity(sel);
  if (!p) return sendJson(x, 400, { error: "invalid_request", error_description: "Identity not found" });
  x.principal = p.clientId;
  const t = issueAccessToken(ctx, p, resource);
  sendJson(x, 200, {
    access_token: t.accessToken,
    client_id: p.clientId,
    expires_in: String(t.expiresIn),
    expires_on: String(t.expiresOn),
    ext_expires_in: String(t.expiresIn),
    not_before: String(t.notBefore),
    resource,
    token_type: "Bearer",
  });
}

function sendText(x: Exchange, status: number, text: string): void {
  x.status = status;
  if (x.res.headersSent) return;
  x.res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "x-content-type-options": "nosniff" });
  x.res.end(text + "\n");
}

export function handleNmi(ctx: EmulatorContext, x: Exchange): void {
  const podns = x.req.headers.podns?.toString() ?? "";
  const podname = x.req.headers.podname?.toString() ?? "";
  if (!podns || !podname) return sendText(x, 400, "missing podname and podns from request");
  const resource = x.query.get("resource");
  if (!resource) return sendText(x, 400, "parameter resource cannot be empty");
  const p = ctx.identities.podIdentity(podns, podname);
  if (!p) return sendText(x, 403, `getting assigned identities for pod ${podns}/${podname} in CREATED state failed: no azure identity found for request clientID`);
  x.principal = p.clientId;
  const t = issueAccessToken(ctx, p, resource);
  sendJson(x, 200, {
    token: {
      access_token: t.accessToken,
      refresh_token: "",
      expires_in: String(t.expiresIn),
      expires_on: String(t.expiresOn),
      not_before: String(t.notBefore),
      resource,
      token_type: "Bearer",
    },
    clientid: p.clientId,
  });
}
