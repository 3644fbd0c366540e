// Request/response plumbing shared by the emulator's servers.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { RouteKind } from "./faults.js";

export const MAX_BODY = 4 * 1024 * 1024;

/** One request in flight, with what the counters need to know about it. */
export interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  /** Path without the query, percent-decoding left to the handlers. */
  path: string;
  query: URLSearchParams;
  /** Lower-cased Host header without the port. */
  hostname: string;
  route: RouteKind;
  vault?: string;
  principal?: string;
  status?: number;
}

export function parseRequest(req: IncomingMessage): Omit<Exchange, "res" | "route"> {
  const raw = req.url ?? "/";
  const q = raw.indexOf("?");
  const path = q >= 0 ? raw.slice(0, q) : raw;
  const query = new URLSearchParams(q >= 0 ? raw.slice(q + 1) : "");
  const host = (req.headers.host ?? "").toLowerCase();
  const hostname = host.startsWith("[") ? host.slice(0, host.indexOf("]") + 1) : host.replace(/:\d+$/, "");
  return { req, method: (req.method ?? "GET").toUpperCase(), path, query, hostname };
}

export function readBody(req: IncomingMessage, limit = MAX_BODY): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new BadRequest("request body too large"));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

/** A client error whose message is safe to echo and log. */
export class BadRequest extends Error {
  override name = "BadRequest";
}

export async function readJson(req: IncomingMessage): Promise<unknown> {
  const text = await readBody(req);
  if (text.trim() === "") return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // JSON.parse quotes the input in its message, and the input may be a secret value.
    throw new BadRequest("request body is not valid JSON");
  }
}

export function sendJson(x: Exchange, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  x.status = status;
  if (x.res.headersSent || x.res.destroyed) return;
  x.res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
    ...headers,
  });
  x.res.end(text);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref?.());
}
