// Entra ID (v2 and v1 token endpoints, OIDC metadata, instance discovery) for
// the client-credentials flows the provider uses: client secret and federated
// client assertion. Errors follow the AADSTS shape MSAL reports.
import { randomUUID } from "node:crypto";
import type { EmulatorContext } from "./context.js";
import type { Principal } from "./identities.js";
import { checkFederatedAssertion } from "./jwt.js";
import { Exchange, readBody, sendJson } from "./http.js";

const OIDC_SCOPES = new Set(["openid", "profile", "offline_access"]);
const JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

export interface IssuedToken {
  accessToken: string;
  expiresIn: number;
  expiresOn: number;
  notBefore: number;
}

/** The access token: an HS256 JWT with the claims Key Vault looks at. */
export function issueAccessToken(ctx: EmulatorContext, p: Principal, resource: string): IssuedToken {
  const now = Math.floor(Date.now() / 1000);
  const exp = now + ctx.tokenLifetime;
  const accessToken = ctx.signer.sign({
    aud: resource,
    iss: `https://sts.windows.net/${ctx.tenantId}/`,
    iat: now,
    nbf: now,
    exp,
    appid: p.clientId,
    azp: p.clientId,
    oid: p.objectId,
    sub: p.objectId,
    tid: ctx.tenantId,
    idtyp: "app",
    ver: "1.0",
    akv_kind: p.kind,
    uti: randomUUID(),
  });
  ctx.counters.tokensIssued++;
  return { accessToken, expiresIn: ctx.tokenLifetime, expiresOn: exp, notBefore: now };
}

function aadError(x: Exchange, status: number, error: string, code: number, description: string): void {
  sendJson(x, status, {
    error,
    error_description: `${description}\r\nTrace ID: ${randomUUID()}\r\nCorrelation ID: ${randomUUID()}\r\nTimestamp: ${new Date().toISOString()}`,
    error_codes: [code],
    timestamp: new Date().toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z"),
    trace_id: randomUUID(),
    correlation_id: randomUUID(),
  });
}

export function classifyEntra(path: string): Exchange["route"] | undefined {
  if (/^\/common\/discovery\/instance\/?$/i.test(path)) return "entra.discovery";
  if (/^\/[^/]+(\/v2\.0)?\/\.well-known\/openid-configuration\/?$/i.test(path)) return "entra.openid";
  if (/^\/[^/]+\/discovery(\/v2\.0)?\/keys\/?$/i.test(path)) return "entra.openid";
  if (/^\/[^/]+\/oauth2(\/v2\.0)?\/token\/?$/i.test(path)) return "entra.token";
  return undefined;
}

function tenantKnown(ctx: EmulatorContext, tenant: string): boolean {
  const t = tenant.toLowerCase();
  return t === ctx.tenantId.toLowerCase() || t === "organizations" || t === "common";
}

export async function handleEntra(ctx: EmulatorContext, x: Exchange): Promise<void> {
  const base = `https://${x.req.headers.host ?? new URL(ctx.authorityBase()).host}`;
  const segs = x.path.split("/").filter(Boolean);
  switch (x.route) {
    case "entra.discovery": {
      const host = new URL(base).host;
      sendJson(x, 200, {
        tenant_discovery_endpoint: `${base}/${ctx.tenantId}/v2.0/.well-known/openid-configuration`,
        "api-version": "1.1",
        metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
      });
      return;
    }
    case "entra.openid": {
      const tenant = segs[0]!;
      if (!tenantKnown(ctx, tenant)) return aadError(x, 400, "invalid_tenant", 90002, `AADSTS90002: Tenant '${tenant}' not found.`);
      if (segs.includes("keys")) return sendJson(x, 200, { keys: [] });
      const t = tenant === "common" || tenant === "organizations" ? "{tenantid}" : tenant;
      const v2 = segs[1] === "v2.0";
      const oauth = v2 ? "oauth2/v2.0" : "oauth2";
      sendJson(x, 200, {
        token_endpoint: `${base}/${tenant}/${oauth}/token`,
        token_endpoint_auth_methods_supported: ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        jwks_uri: `${base}/${tenant}/discovery/${v2 ? "v2.0/" : ""}keys`,
        response_modes_supported: ["query", "fragment", "form_post"],
        subject_types_supported: ["pairwise"],
        id_token_signing_alg_values_supported: ["RS256"],
        response_types_supported: ["code", "id_token", "code id_token", "id_token token"],
        scopes_supported: ["openid", "profile", "email", "offline_access"],
        issuer: v2 ? `${base}/${t}/v2.0` : `https://sts.windows.net/${t}/`,
        request_uri_parameter_supported: false,
        authorization_endpoint: `${base}/${tenant}/${oauth}/authorize`,
        device_authorization_endpoint: `${base}/${tenant}/${oauth}/devicecode`,
        end_session_endpoint: `${base}/${tenant}/${oauth}/logout`,
        http_logout_supported: true,
        frontchannel_logout_supported: true,
        claims_supported: ["sub", "iss", "aud", "exp", "iat", "nbf", "tid", "oid", "appid"],
        tenant_region_scope: null,
        cloud_instance_name: ctx.dnsSuffix,
        cloud_graph_host_name: "graph.invalid",
        msgraph_host: "graph.invalid",
      });
      return;
    }
    case "entra.token":
      if (x.method !== "POST") return aadError(x, 405, "invalid_request", 900561, "AADSTS900561: The endpoint only accepts POST requests.");
      return token(ctx, x, segs[0]!, segs[2] === "v2.0");
    default:
      return aadError(x, 404, "invalid_request", 900011, "AADSTS900011: Unknown endpoint.");
  }
}

async function token(ctx: EmulatorContext, x: Exchange, tenant: string, v2: boolean): Promise<void> {
  const form = new URLSearchParams(await readBody(x.req));
  const clientId = form.get("client_id") ?? "";
  if (clientId) x.principal = clientId;
  if (!tenantKnown(ctx, tenant) || tenant === "common") {
    return aadError(x, 400, "invalid_request", 90002, `AADSTS90002: Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`);
  }
  const grant = form.get("grant_type");
  if (grant !== "client_credentials") {
    return aadError(x, 400, "unsupported_grant_type", 70003, `AADSTS70003: The app requested an unsupported grant type '${grant ?? ""}'.`);
  }
  if (!clientId) return aadError(x, 400, "invalid_request", 900144, "AADSTS900144: The request body must contain the following parameter: 'client_id'.");
  let resource: string;
  if (v2) {
    const scope = (form.get("scope") ?? "").trim();
    // MSAL-Go (azidentity) always appends the OIDC scopes; Entra ignores them in client-credential flows.
    const resourceScopes = scope.split(/\s+/).filter((s) => s !== "" && !OIDC_SCOPES.has(s));
    if (resourceScopes.length !== 1 || !resourceScopes[0]!.endsWith("/.default")) {
      return aadError(x, 400, "invalid_scope", 1002012, `AADSTS1002012: The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`);
    }
    resource = resourceScopes[0]!.slice(0, -"/.default".length);
  } else {
    resource = form.get("resource") ?? "";
    if (!resource) return aadError(x, 400, "invalid_request", 900144, "AADSTS900144: The request body must contain the following parameter: 'resource'.");
  }
  const app = ctx.identities.app(clientId);
  if (!app) {
    return aadError(x, 400, "unauthorized_client", 700016, `AADSTS700016: Application with identifier '${clientId}' was not found in the directory '${ctx.tenantId}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.`);
  }
  const secret = form.get("client_secret");
  const assertion = form.get("client_assertion");
  if (secret !== null) {
    if (!ctx.identities.checkClientSecret(app, secret)) {
      return aadError(x, 401, "invalid_client", 7000215, `AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`);
    }
  } else if (assertion !== null) {
    if (form.get("client_assertion_type") !== JWT_BEARER) {
      return aadError(x, 400, "invalid_request", 50027, "AADSTS50027: client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer.");
    }
    const check = checkFederatedAssertion(assertion);
    if (!check.ok) return aadError(x, 401, "invalid_client", check.code!, check.description!);
    const sub = String(check.payload!.sub);
    if (!ctx.identities.federatedSubjectAllowed(app, sub)) {
      const iss = typeof check.payload!.iss === "string" ? check.payload!.iss : "";
      return aadError(x, 401, "invalid_client", 70021, `AADSTS70021: No matching federated identity record found for presented assertion. Assertion Issuer: '${iss}'. Assertion Subject: '${sub}'. Assertion Audience: 'api://AzureADTokenExchange'.`);
    }
  } else {
    return aadError(x, 401, "invalid_client", 7000218, "AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
  }
  const t = issueAccessToken(ctx, ctx.identities.appPrincipal(app), resource);
  ctx.log.v(4).info("token issued", { clientId, resource, via: secret !== null ? "client_secret" : "client_assertion" });
  if (v2) {
    sendJson(x, 200, { token_type: "Bearer", expires_in: t.expiresIn, ext_expires_in: t.expiresIn, access_token: t.accessToken });
  } else {
    sendJson(x, 200, {
      token_type: "Bearer", expires_in: String(t.expiresIn), ext_expires_in: String(t.expiresIn),
      expires_on: String(t.expiresOn), not_before: String(t.notBefore), resource, access_token: t.accessToken,
    });
  }
}
