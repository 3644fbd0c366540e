// AAD Pod Identity (deprecated upstream, still supported): the node's NMI
// daemon hands out a token for the pod named in the request headers.
import type { AccessToken, TokenCredential } from "@azure/identity";
import type { Logger } from "../../util/logger.js";
import { registerSecretValue } from "../../util/redact.js";

export const DEFAULT_NMI_URL = "http://localhost:2579";

export interface NmiOptions {
  /** Base URL of NMI; upstream hard-codes http://localhost:2579. */
  nmiUrl: string;
  podName: string;
  podNamespace: string;
  /** The cloud's Key Vault endpoint; sent without its trailing slash. */
  resource: string;
  log?: Logger;
  timeoutMs?: number;
}

/** Upstream's redaction for NMI values: first 4 + marker + last 4. */
export function redactNmiValue(s: string): string {
  if (s.length <= 8) return "##### REDACTED #####";
  return `${s.slice(0, 4)}##### REDACTED #####${s.slice(-4)}`;
}

interface NmiResponse {
  token?: { access_token?: string; expires_on?: string | number };
  clientid?: string;
}

export class NmiCredential implements TokenCredential {
  constructor(private readonly opts: NmiOptions) {}

  async getToken(): Promise<AccessToken> {
    const resource = this.opts.resource.replace(/\/+$/, "");
    // Upstream appends the resource unescaped; NMI parses it either way.
    const url = `${this.opts.nmiUrl.replace(/\/+$/, "")}/host/token/?resource=${resource}`;
    const res = await fetch(url, {
      headers: { podname: this.opts.podName, podns: this.opts.podNamespace },
      signal: AbortSignal.timeout(this.opts.timeoutMs ?? 60_000),
    });
    const text = await res.text();
    if (res.status !== 200) {
      throw new Error(`nmi response failed with status code: ${res.status}, response body: ${text.slice(0, 256)}`);
    }
    let body: NmiResponse;
    try {
      body = JSON.parse(text) as NmiResponse;
    } catch (e) {
      throw new Error(`failed to unmarshal nmi response, error: ${(e as Error).message}`, { cause: e });
    }
    const token = body.token?.access_token;
    const clientId = body.clientid;
    if (!token || !clientId) throw new Error("nmi did not return expected values in response: token and clientid");
    registerSecretValue(token);
    const expSeconds = Number(body.token?.expires_on);
    this.opts.log?.v(5).info("received token from nmi", {
      accessToken: redactNmiValue(token),
      clientid: redactNmiValue(clientId),
      pod: `${this.opts.podNamespace}/${this.opts.podName}`,
    });
    return {
      token,
      // A missing expiry must not pin a token forever: assume a short life.
      expiresOnTimestamp: Number.isFinite(expSeconds) && expSeconds > 0 ? expSeconds * 1000 : Date.now() + 10 * 60_000,
      tokenType: "Bearer",
    };
  }
}
