// A small in-memory Kubernetes API server on loopback for the demo and fast
// integration tests. It serves, generically by path, the verbs and semantics
// the driver relies on (selectors, AlreadyExists, resourceVersion conflicts,
// merge patch, NDJSON watches with 410 Gone, owner-reference GC, TokenRequest)
// and can inject faults, so "API server unreachable" paths can be exercised.
// It is not a conformance target: the real kube-apiserver tier covers that.
import { createHash, generateKeyPair, randomBytes, randomUUID, sign, verify, type KeyObject } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import { isIP, type Socket } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import forge from "node-forge";
import { stringify as toYaml } from "yaml";
import type { ObjectMeta } from "../k8s/types.js";
import type { Logger } from "../util/logger.js";

type Obj = Record<string, unknown> & { apiVersion?: string; kind?: string; metadata?: Meta };
/** Stored objects keep unknown metadata fields as they came. */
type Meta = ObjectMeta & { [k: string]: unknown };

interface ResourceDef {
  group: string;
  versions: string[];
  resource: string;
  kind: string;
  namespaced: boolean;
}

const SSCD = "secrets-store.csi.x-k8s.io";
const RESOURCES: ResourceDef[] = [
  { group: "", versions: ["v1"], resource: "pods", kind: "Pod", namespaced: true },
  { group: "", versions: ["v1"], resource: "secrets", kind: "Secret", namespaced: true },
  { group: "", versions: ["v1"], resource: "events", kind: "Event", namespaced: true },
  { group: "", versions: ["v1"], resource: "serviceaccounts", kind: "ServiceAccount", namespaced: true },
  { group: "", versions: ["v1"], resource: "configmaps", kind: "ConfigMap", namespaced: true },
  { group: "", versions: ["v1"], resource: "namespaces", kind: "Namespace", namespaced: false },
  { group: "", versions: ["v1"], resource: "nodes", kind: "Node", namespaced: false },
  { group: "events.k8s.io", versions: ["v1"], resource: "events", kind: "Event", namespaced: true },
  { group: SSCD, versions: ["v1", "v1alpha1"], resource: "secretproviderclasses", kind: "SecretProviderClass", namespaced: true },
  { group: SSCD, versions: ["v1", "v1alpha1"], resource: "secretproviderclasspodstatuses", kind: "SecretProviderClassPodStatus", namespaced: true },
  { group: "storage.k8s.io", versions: ["v1"], resource: "csidrivers", kind: "CSIDriver", namespaced: false },
];

export const ISSUER = "https://kubernetes.default.svc.cluster.local";

export type Fault =
  /** Answer the next `count` API requests with this HTTP status and a Status body. */
  | { status: number; count?: number; reason?: string; message?: string; retryAfterSeconds?: number }
  /** Reset the connection of the next `count` requests without answering. */
  | { unreachable: true; count?: number }
  /** Hold the next `count` requests this long before answering them normally. */
  | { delayMs: number; count?: number };

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType?: string;
  userAgent?: string;
  authenticated: boolean;
}

export interface MiniStore {
  /** The stored object at an API path (e.g. spcpsPath(ns, name)), or undefined. */
  get<T = Obj>(apiPath: string): T | undefined;
  /** Creates or replaces an object (found by apiVersion/kind/metadata), assigning
   * uid, creationTimestamp and a new resourceVersion; watchers see the change. */
  put<T = Obj>(obj: unknown): T;
  /** Objects under a collection path (namespaced or cluster-wide), optionally filtered. */
  list<T = Obj>(apiPath: string, opts?: { labelSelector?: string; fieldSelector?: string }): T[];
  /** Deletes (with owner-reference GC); false if absent. */
  delete(apiPath: string): boolean;
  /** Current resourceVersion counter. */
  resourceVersion(): string;
}

export interface MiniApiServerOptions {
  https?: boolean;
  objects?: unknown[];
  /** Bearer token clients must send (random by default). */
  token?: string;
  /** Sends BOOKMARK events this often to watchers that allow them (0 = only at watch end). */
  bookmarkIntervalMs?: number;
  /** Watch history kept for resuming from a resourceVersion; older ones get 410 Gone. */
  historyLimit?: number;
  /** Loopback address to listen on: 127.0.0.1 (default) or ::1. */
  host?: "127.0.0.1" | "::1";
  /** Namespace written into the kubeconfig context. */
  namespace?: string;
  log?: Logger;
}

export interface MiniApiServer {
  url: string;
  kubeconfigPath: string;
  token: string;
  /** PEM of the CA that signed the serving certificate (https only). */
  ca?: Buffer;
  store: MiniStore;
  /** The last requests served (oldest first, bounded); never includes the token. */
  requests: RecordedRequest[];
  fault(f: Fault): void;
  clearFaults(): void;
  /** Stops accepting connections and drops open ones (clients see ECONNREFUSED) until resume(). */
  suspend(): Promise<void>;
  resume(): Promise<void>;
  /** Forgets watch history, as etcd compaction does: resuming from an older resourceVersion gets 410. */
  compact(): void;
  /** Ends every open watch; with gone, first sends an ERROR 410 event. */
  closeWatches(opts?: { gone?: boolean }): void;
  /** Public key that verifies TokenRequest JWTs (JWK). */
  issuerJwk: Record<string, unknown>;
  close(): Promise<void>;
}

interface Parsed {
  def: ResourceDef;
  version: string;
  namespace?: string;
  name?: string;
  sub?: string;
}

interface HistoryEntry {
  rv: number;
  type: "ADDED" | "MODIFIED" | "DELETED";
  obj: Obj;
  prev?: Obj;
}

interface Watcher {
  def: ResourceDef;
  version: string;
  namespace?: string;
  match: (o: Obj) => boolean;
  send: (type: string, obj: unknown) => void;
  end: (gone?: boolean) => void;
}

class HttpError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
const clone = <T>(v: T): T => structuredClone(v);
const isPlain = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function qualified(def: ResourceDef): string {
  return def.group ? `${def.resource}.${def.group}` : def.resource;
}

function statusBody(code: number, reason: string, message: string, details?: Record<string, unknown>) {
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, ...(details ? { details } : {}), code };
}

const notFound = (def: ResourceDef, name: string) =>
  new HttpError(404, "NotFound", `${qualified(def)} "${name}" not found`, { name, group: def.group, kind: def.resource });

// --- selectors ---------------------------------------------------------------

type Requirement = (labels: Record<string, string>) => boolean;

function splitTop(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = "";
  for (const ch of s) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      out.push(cur);
      cur = "";
    } else cur += ch;
  }
  out.push(cur);
  return out.map((x) => x.trim()).filter(Boolean);
}

const KEY = "[A-Za-z0-9][-A-Za-z0-9_./]*";
const VAL = "[-A-Za-z0-9_.]*";

export function parseLabelSelector(sel: string): (labels: Record<string, string> | undefined) => boolean {
  const reqs: Requirement[] = [];
  for (const part of splitTop(sel)) {
    let m: RegExpExecArray | null;
    if ((m = new RegExp(`^(${KEY})\\s*(==|=|!=)\\s*(${VAL})$`).exec(part))) {
      const [, k, op, v] = m as unknown as [string, string, string, string];
      reqs.push(op === "!=" ? (l) => l[k] !== v : (l) => l[k] === v);
    } else if ((m = new RegExp(`^(${KEY})\\s+(in|notin)\\s*\\(([^)]*)\\)$`).exec(part))) {
      const [, k, op, list] = m as unknown as [string, string, string, string];
      const vals = new Set(list.split(",").map((x) => x.trim()));
      reqs.push(op === "in" ? (l) => l[k] !== undefined && vals.has(l[k]) : (l) => l[k] === undefined || !vals.has(l[k]));
    } else if ((m = new RegExp(`^!\\s*(${KEY})$`).exec(part))) {
      const k = m[1]!;
      reqs.push((l) => l[k] === undefined);
    } else if ((m = new RegExp(`^(${KEY})$`).exec(part))) {
      const k = m[1]!;
      reqs.push((l) => l[k] !== undefined);
    } else {
      throw new HttpError(400, "BadRequest", `unable to parse requirement: ${JSON.stringify(part)}`);
    }
  }
  return (labels) => reqs.every((r) => r(labels ?? {}));
}

function fieldValue(obj: unknown, dotted: string): string {
  let cur: unknown = obj;
  for (const p of dotted.split(".")) cur = isPlain(cur) ? cur[p] : undefined;
  if (cur === undefined || cur === null) return "";
  if (typeof cur === "string" || typeof cur === "number" || typeof cur === "boolean") return String(cur);
  return JSON.stringify(cur);
}

export function parseFieldSelector(sel: string): (obj: unknown) => boolean {
  const reqs: ((o: unknown) => boolean)[] = [];
  for (const part of splitTop(sel)) {
    const m = /^([A-Za-z0-9_.]+)\s*(==|=|!=)\s*(.*)$/.exec(part);
    if (!m) throw new HttpError(400, "BadRequest", `invalid field selector: ${JSON.stringify(part)}`);
    const [, f, op, v] = m as unknown as [string, string, string, string];
    reqs.push(op === "!=" ? (o) => fieldValue(o, f) !== v : (o) => fieldValue(o, f) === v);
  }
  return (o) => reqs.every((r) => r(o));
}

// --- patches -----------------------------------------------------------------

export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlain(patch)) return patch;
  const out: Record<string, unknown> = isPlain(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** Merge keys of the strategic-merge lists we meet; other lists are replaced. */
const MERGE_KEYS: Record<string, string> = { ownerReferences: "uid", volumes: "name", containers: "name", env: "name", volumeMounts: "mountPath" };

function strategicPatch(target: unknown, patch: unknown): unknown {
  if (!isPlain(patch)) return patch;
  const out: Record<string, unknown> = isPlain(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith("$")) continue;
    const key = MERGE_KEYS[k];
    if (v === null) delete out[k];
    else if (key && Array.isArray(v) && Array.isArray(out[k])) {
      const merged = [...(out[k] as unknown[])];
      for (const item of v) {
        const idx = isPlain(item) ? merged.findIndex((e) => isPlain(e) && e[key] === item[key]) : -1;
        if (idx >= 0) merged[idx] = strategicPatch(merged[idx], item);
        else merged.push(item);
      }
      out[k] = merged;
    } else out[k] = strategicPatch(out[k], v);
  }
  return out;
}

/** What kube-apiserver says for any failed JSON patch operation. */
const JSON_PATCH_FAILED = "the server rejected our request due to an error in our request";

function jsonPatch(doc: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw new HttpError(400, "BadRequest", "json patch must be an array of operations");
  let root = clone(doc);
  for (const op of ops as { op?: string; path?: string; value?: unknown }[]) {
    if (typeof op.path !== "string") throw new HttpError(422, "Invalid", "json patch operation has no path");
    const parts = op.path === "" ? [] : op.path.split("/").slice(1).map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
    if (parts.length === 0) {
      if (op.op === "replace" || op.op === "add") root = clone(op.value);
      else throw new HttpError(422, "Invalid", `unsupported json patch on the root: ${op.op}`);
      continue;
    }
    let parent: unknown = root;
    for (const p of parts.slice(0, -1)) {
      parent = Array.isArray(parent) ? parent[Number(p)] : isPlain(parent) ? parent[p] : undefined;
      if (parent === undefined) throw new HttpError(422, "Invalid", JSON_PATCH_FAILED);
    }
    const last = parts[parts.length - 1]!;
    const fail = () => {
      throw new HttpError(422, "Invalid", JSON_PATCH_FAILED);
    };
    if (Array.isArray(parent)) {
      const i = last === "-" ? parent.length : Number(last);
      if (!Number.isInteger(i) || i < 0 || i > parent.length) fail();
      if (op.op === "add") parent.splice(i, 0, clone(op.value));
      else if (op.op === "remove") (i < parent.length ? parent.splice(i, 1) : fail());
      else if (op.op === "replace") (i < parent.length ? (parent[i] = clone(op.value)) : fail());
      else if (op.op === "test") (JSON.stringify(parent[i]) === JSON.stringify(op.value) ? undefined : fail());
      else throw new HttpError(422, "Invalid", `unsupported json patch op ${op.op}`);
    } else if (isPlain(parent)) {
      if (op.op === "add") parent[last] = clone(op.value);
      else if (op.op === "remove") (last in parent ? delete parent[last] : fail());
      else if (op.op === "replace") (last in parent ? (parent[last] = clone(op.value)) : fail());
      else if (op.op === "test") (JSON.stringify(parent[last]) === JSON.stringify(op.value) ? undefined : fail());
      else throw new HttpError(422, "Invalid", `unsupported json patch op ${op.op}`);
    } else fail();
  }
  return root;
}

// --- PKI and tokens ------------------------------------------------------------

// EC P-256 everywhere: RSA key generation costs about a second per key on a
// loaded CI machine, EC keys are free. forge builds only RSA certificates, so
// the few DER structures are assembled with its ASN.1 encoder here.
const genKeyPair = promisify(generateKeyPair);
const ecKey = () => genKeyPair("ec", { namedCurve: "prime256v1" });

const { asn1 } = forge;
const U = asn1.Class.UNIVERSAL;
const T = asn1.Type;
const toDer = (a: forge.asn1.Asn1): Buffer => Buffer.from(asn1.toDer(a).getBytes(), "binary");
const fromDer = (b: Buffer): forge.asn1.Asn1 => asn1.fromDer(forge.util.createBuffer(b.toString("binary")));
const seq = (items: forge.asn1.Asn1[]) => asn1.create(U, T.SEQUENCE, true, items);
const oid = (o: string) => asn1.create(U, T.OID, false, asn1.oidToDer(o).getBytes());
const octets = (b: Buffer) => asn1.create(U, T.OCTETSTRING, false, b.toString("binary"));
const bool = (v: boolean) => asn1.create(U, T.BOOLEAN, false, v ? "\xff" : "\x00");
const cn = (name: string) => seq([asn1.create(U, T.SET, true, [seq([oid("2.5.4.3"), asn1.create(U, T.UTF8, false, name)])])]);
const ext = (id: string, critical: boolean, value: forge.asn1.Asn1) => seq([oid(id), ...(critical ? [bool(true)] : []), octets(toDer(value))]);
const ECDSA_SHA256 = () => seq([oid("1.2.840.10045.4.3.2")]);
const keyId = (pub: KeyObject) => createHash("sha1").update(pub.export({ type: "spki", format: "der" })).digest();

function ipBytes(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split(".").map(Number));
  const [head = "", tail = ""] = ip.split("::") as [string?, string?];
  const h = head ? head.split(":") : [];
  const t = ip.includes("::") && tail ? tail.split(":") : [];
  const groups = [...h, ...Array<string>(8 - h.length - t.length).fill("0"), ...t];
  return Buffer.from(groups.flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff]));
}

function certificate(o: { subject: string; issuer: string; pub: KeyObject; issuerPub: KeyObject; signer: KeyObject; ca: boolean; sans?: string[] }): Buffer {
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x01;
  const exts = [
    ext("2.5.29.19", true, seq(o.ca ? [bool(true)] : [])),
    // keyUsage: keyCertSign|cRLSign for the CA, digitalSignature for the server
    ext("2.5.29.15", true, asn1.create(U, T.BITSTRING, false, o.ca ? "\x01\x06" : "\x07\x80")),
    ext("2.5.29.14", false, octets(keyId(o.pub))),
    ext("2.5.29.35", false, seq([asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, false, keyId(o.issuerPub).toString("binary"))])),
  ];
  if (!o.ca) exts.push(ext("2.5.29.37", false, seq([oid("1.3.6.1.5.5.7.3.1")])));
  if (o.sans?.length)
    exts.push(
      ext(
        "2.5.29.17",
        false,
        seq(o.sans.map((n) => (isIP(n) ? asn1.create(asn1.Class.CONTEXT_SPECIFIC, 7, false, ipBytes(n).toString("binary")) : asn1.create(asn1.Class.CONTEXT_SPECIFIC, 2, false, n)))),
      ),
    );
  const tbs = toDer(
    seq([
      asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, true, [asn1.create(U, T.INTEGER, false, "\x02")]),
      asn1.create(U, T.INTEGER, false, serial.toString("binary")),
      ECDSA_SHA256(),
      cn(o.issuer),
      seq([asn1.create(U, T.UTCTIME, false, asn1.dateToUtcTime(new Date(Date.now() - 60_000))), asn1.create(U, T.UTCTIME, false, asn1.dateToUtcTime(new Date(Date.now() + 7 * 86_400_000)))]),
      cn(o.subject),
      fromDer(o.pub.export({ type: "spki", format: "der" })),
      asn1.create(asn1.Class.CONTEXT_SPECIFIC, 3, true, [seq(exts)]),
    ]),
  );
  const sig = sign("sha256", tbs, o.signer);
  return toDer(seq([fromDer(tbs), ECDSA_SHA256(), asn1.create(U, T.BITSTRING, false, "\x00" + sig.toString("binary"))]));
}

const pem = (der: Buffer) => `-----BEGIN CERTIFICATE-----\n${der.toString("base64").replace(/.{1,64}/g, "$&\n")}-----END CERTIFICATE-----\n`;

/** A throwaway CA and a loopback serving certificate it signed (localhost, 127.0.0.1, ::1). */
export async function generateLoopbackPki(): Promise<{ caPem: string; certPem: string; keyPem: string }> {
  const [ca, srv] = await Promise.all([ecKey(), ecKey()]);
  const caDer = certificate({ subject: "mini-apiserver-ca", issuer: "mini-apiserver-ca", pub: ca.publicKey, issuerPub: ca.publicKey, signer: ca.privateKey, ca: true });
  const srvDer = certificate({
    subject: "kube-apiserver",
    issuer: "mini-apiserver-ca",
    pub: srv.publicKey,
    issuerPub: ca.publicKey,
    signer: ca.privateKey,
    ca: false,
    sans: ["localhost", "kubernetes.default.svc", "127.0.0.1", "::1"],
  });
  return { caPem: pem(caDer), certPem: pem(srvDer), keyPem: srv.privateKey.export({ type: "pkcs8", format: "pem" }) as string };
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString("base64url");

// --- the server ------------------------------------------------------------------

export async function startMiniApiServer(opts: MiniApiServerOptions = {}): Promise<MiniApiServer> {
  const token = opts.token ?? `mini-${randomBytes(24).toString("hex")}`;
  const historyLimit = opts.historyLimit ?? 1000;
  const host = opts.host ?? "127.0.0.1";
  const log = opts.log;
  const objects = new Map<string, Obj>();
  const history: HistoryEntry[] = [];
  const watchers = new Set<Watcher>();
  const requests: RecordedRequest[] = [];
  const faults: { f: Fault; left: number }[] = [];
  let rv = 0;
  /** Highest resourceVersion whose successors are no longer all in history. */
  let compactedRv = 0;

  const [jwtKey, pkiPem] = await Promise.all([ecKey(), opts.https ? generateLoopbackPki() : Promise.resolve(undefined)]);
  const kid = b64url(randomBytes(9));
  const issuerJwk = { ...(jwtKey.publicKey.export({ format: "jwk" }) as Record<string, unknown>), kid, use: "sig", alg: "ES256" };

  const storeKey = (def: ResourceDef, ns: string | undefined, name: string) => `${def.group}/${def.resource}/${ns ?? ""}/${name}`;
  const collectionPrefix = (def: ResourceDef, ns?: string) => `${def.group}/${def.resource}/${ns === undefined ? "" : `${ns}/`}`;
  const apiVersionOf = (def: ResourceDef, version: string) => (def.group ? `${def.group}/${version}` : version);
  const asVersion = (o: Obj, def: ResourceDef, version: string): Obj => ({ ...clone(o), apiVersion: apiVersionOf(def, version), kind: def.kind });

  function parsePath(p: string): Parsed | undefined {
    let rest: string[];
    let group = "";
    let version: string;
    const segs = p.split("/").slice(1).map((s) => decodeURIComponent(s));
    if (segs[0] === "api" && segs[1] === "v1") {
      version = "v1";
      rest = segs.slice(2);
    } else if (segs[0] === "apis" && segs.length >= 3) {
      group = segs[1]!;
      version = segs[2]!;
      rest = segs.slice(3);
    } else return undefined;
    let namespace: string | undefined;
    if (rest[0] === "namespaces" && rest.length >= 3) {
      namespace = rest[1];
      rest = rest.slice(2);
    }
    const [resource, name, sub, ...more] = rest;
    if (more.length > 0 || !resource) return undefined;
    const def = RESOURCES.find((d) => d.group === group && d.resource === resource && d.versions.includes(version));
    if (!def) return undefined;
    if (def.namespaced !== (namespace !== undefined) && !(def.namespaced && namespace === undefined && name === undefined)) return undefined;
    return { def, version, ...(namespace !== undefined ? { namespace } : {}), ...(name ? { name } : {}), ...(sub ? { sub } : {}) };
  }

  function knownGroupVersion(p: string): boolean {
    if (p.startsWith("/api/v1/")) return true;
    const [, , group, version] = p.split("/");
    return RESOURCES.some((d) => d.group === group && d.versions.includes(version ?? ""));
  }

  function defForObject(o: Obj): ResourceDef {
    const [g, v] = (o.apiVersion ?? "").includes("/") ? (o.apiVersion ?? "").split("/") : ["", o.apiVersion];
    const def = RESOURCES.find((d) => d.group === g && d.kind === o.kind && d.versions.includes(v ?? ""));
    if (!def) throw new Error(`mini-apiserver: unsupported object ${o.apiVersion}/${o.kind}`);
    return def;
  }

  function record(type: HistoryEntry["type"], def: ResourceDef, obj: Obj, prev?: Obj) {
    history.push({ rv: Number(obj.metadata!.resourceVersion), type, obj, ...(prev ? { prev } : {}) });
    while (history.length > historyLimit) compactedRv = history.shift()!.rv;
    for (const w of watchers) deliver(w, { rv: 0, type, obj, ...(prev ? { prev } : {}) }, def);
  }

  function deliver(w: Watcher, e: HistoryEntry, def: ResourceDef) {
    if (w.def !== def) return;
    const ns = e.obj.metadata?.namespace;
    if (w.namespace !== undefined && w.namespace !== ns) return;
    const nowMatch = w.match(e.obj);
    const prevMatch = e.prev ? w.match(e.prev) : false;
    let type: string | undefined;
    if (e.type === "ADDED") type = nowMatch ? "ADDED" : undefined;
    else if (e.type === "DELETED") type = nowMatch ? "DELETED" : undefined;
    else if (nowMatch) type = prevMatch ? "MODIFIED" : "ADDED";
    else if (prevMatch) type = "DELETED";
    if (type) w.send(type, asVersion(e.obj, def, w.version));
  }

  const nextRv = () => String(++rv);

  function stamp(def: ResourceDef, o: Obj, ns: string | undefined): Obj {
    const meta = (o.metadata ??= {});
    if (!meta.name && meta.generateName) meta.name = meta.generateName + randomBytes(4).toString("hex").slice(0, 5);
    if (!meta.name) throw new HttpError(422, "Invalid", `${def.kind} "" is invalid: metadata.name: Required value: name or generateName is required`);
    if (def.namespaced) meta.namespace = ns ?? meta.namespace ?? "default";
    else delete meta.namespace;
    meta.uid ??= randomUUID();
    meta.creationTimestamp ??= now();
    meta.generation ??= 1;
    meta.resourceVersion = nextRv();
    o.apiVersion = apiVersionOf(def, def.versions[0]!);
    o.kind = def.kind;
    return o;
  }

  function create(def: ResourceDef, ns: string | undefined, body: Obj): Obj {
    if (body.metadata?.resourceVersion) throw new HttpError(500, "InternalError", "resourceVersion should not be set on objects to be created");
    if (def.namespaced && body.metadata?.namespace && ns !== undefined && body.metadata.namespace !== ns)
      throw new HttpError(400, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request");
    const o = clone(body);
    const meta = (o.metadata ??= {});
    if (!meta.name && meta.generateName) meta.name = meta.generateName + randomBytes(4).toString("hex").slice(0, 5);
    const key = storeKey(def, def.namespaced ? (ns ?? meta.namespace ?? "default") : undefined, meta.name ?? "");
    if (meta.name && objects.has(key))
      throw new HttpError(409, "AlreadyExists", `${qualified(def)} "${meta.name}" already exists`, { name: meta.name, group: def.group, kind: def.resource });
    delete meta.uid;
    delete meta.creationTimestamp;
    delete meta.generation;
    stamp(def, o, def.namespaced ? (ns ?? meta.namespace ?? "default") : undefined);
    objects.set(key, o);
    record("ADDED", def, o);
    return o;
  }

  function replace(def: ResourceDef, key: string, existing: Obj, next: Obj, checkRv: boolean): Obj {
    const meta = (next.metadata ??= {});
    const old = existing.metadata!;
    if (checkRv && meta.resourceVersion && meta.resourceVersion !== old.resourceVersion) {
      throw new HttpError(
        409,
        "Conflict",
        `Operation cannot be fulfilled on ${qualified(def)} "${old.name}": the object has been modified; please apply your changes to the latest version and try again`,
        { name: old.name, group: def.group, kind: def.resource },
      );
    }
    meta.name = old.name;
    if (old.namespace) meta.namespace = old.namespace;
    meta.uid = old.uid;
    meta.creationTimestamp = old.creationTimestamp;
    const specChanged = JSON.stringify(next.spec) !== JSON.stringify(existing.spec);
    meta.generation = (old.generation ?? 1) + (specChanged ? 1 : 0);
    meta.resourceVersion = nextRv();
    next.apiVersion = existing.apiVersion;
    next.kind = existing.kind;
    objects.set(key, next);
    record("MODIFIED", def, next, existing);
    return next;
  }

  function remove(def: ResourceDef, key: string, existing: Obj, gc = true): Obj {
    objects.delete(key);
    const gone = clone(existing);
    gone.metadata!.resourceVersion = nextRv();
    record("DELETED", def, gone, existing);
    if (gc) collectGarbage();
    return gone;
  }

  /** Background garbage collection: a dependent goes once none of its owners exists. */
  function collectGarbage() {
    for (let pass = 0; pass < 16; pass++) {
      const uids = new Set([...objects.values()].map((o) => o.metadata?.uid));
      const orphans = [...objects.entries()].filter(([, o]) => {
        const refs = o.metadata?.ownerReferences ?? [];
        return refs.length > 0 && refs.every((r) => !uids.has(r.uid));
      });
      if (orphans.length === 0) return;
      for (const [key, o] of orphans) remove(defForObject(o), key, o, false);
    }
  }

  function listItems(def: ResourceDef, ns: string | undefined, q: URLSearchParams): Obj[] {
    const match = matcher(q);
    const prefix = collectionPrefix(def, ns);
    return [...objects.entries()]
      .filter(([k, o]) => k.startsWith(prefix) && match(o))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, o]) => o);
  }

  function matcher(q: URLSearchParams): (o: Obj) => boolean {
    const ls = q.get("labelSelector") ? parseLabelSelector(q.get("labelSelector")!) : undefined;
    const fs_ = q.get("fieldSelector") ? parseFieldSelector(q.get("fieldSelector")!) : undefined;
    return (o) => (!ls || ls(o.metadata?.labels)) && (!fs_ || fs_(o));
  }

  function issueToken(ns: string, sa: Obj, body: Obj): Obj {
    const spec = (isPlain(body.spec) ? body.spec : {}) as { audiences?: string[]; expirationSeconds?: number; boundObjectRef?: { kind?: string; name?: string; uid?: string } };
    const exp = spec.expirationSeconds ?? 3600;
    if (exp < 600) throw new HttpError(422, "Invalid", `TokenRequest.authentication.k8s.io "" is invalid: spec.expirationSeconds: Invalid value: ${exp}: may not specify a duration less than 10 minutes`);
    const audiences = spec.audiences && spec.audiences.length > 0 ? spec.audiences : [ISSUER];
    const iat = Math.floor(Date.now() / 1000);
    const claims: Record<string, unknown> = {
      aud: audiences,
      exp: iat + exp,
      iat,
      nbf: iat,
      iss: ISSUER,
      jti: randomUUID(),
      sub: `system:serviceaccount:${ns}:${sa.metadata?.name}`,
      "kubernetes.io": {
        namespace: ns,
        serviceaccount: { name: sa.metadata?.name, uid: sa.metadata?.uid },
        ...(spec.boundObjectRef?.kind === "Pod" ? { pod: { name: spec.boundObjectRef.name, uid: spec.boundObjectRef.uid } } : {}),
      },
    };
    const head = b64url(JSON.stringify({ alg: "ES256", kid }));
    const signingInput = `${head}.${b64url(JSON.stringify(claims))}`;
    const jwt = `${signingInput}.${b64url(sign("sha256", Buffer.from(signingInput), { key: jwtKey.privateKey, dsaEncoding: "ieee-p1363" }))}`;
    return {
      kind: "TokenRequest",
      apiVersion: "authentication.k8s.io/v1",
      metadata: { name: sa.metadata?.name, namespace: ns },
      spec: { audiences, expirationSeconds: exp, boundObjectRef: spec.boundObjectRef ?? null },
      status: { token: jwt, expirationTimestamp: new Date((iat + exp) * 1000).toISOString().replace(/\.\d{3}Z$/, "Z") },
    };
  }

  /** Accepts the static token, or a JWT this server issued that has not expired. */
  function authenticated(header: string | undefined): boolean {
    const m = /^Bearer\s+(.+)$/i.exec(header ?? "");
    if (!m) return false;
    const t = m[1]!.trim();
    if (t === token) return true;
    const parts = t.split(".");
    if (parts.length !== 3) return false;
    try {
      const ok = verify("sha256", Buffer.from(`${parts[0]}.${parts[1]}`), { key: jwtKey.publicKey, dsaEncoding: "ieee-p1363" }, Buffer.from(parts[2]!, "base64url"));
      const claims = JSON.parse(Buffer.from(parts[1]!, "base64url").toString()) as { exp?: number };
      return ok && (claims.exp ?? 0) * 1000 > Date.now();
    } catch {
      return false;
    }
  }

  function watch(p: Parsed, q: URLSearchParams, res: http.ServerResponse) {
    const match = matcher(q);
    const fromRv = q.get("resourceVersion") ?? "";
    const bookmarks = q.get("allowWatchBookmarks") === "true";
    const timeoutSeconds = Number(q.get("timeoutSeconds") ?? "0");
    if (fromRv !== "" && fromRv !== "0") {
      const n = Number(fromRv);
      if (!Number.isInteger(n) || n < 0) throw new HttpError(400, "BadRequest", `invalid resource version: ${fromRv}`);
      if (n < compactedRv) {
        // the apiserver answers 200 and then an ERROR event for an expired watch
        res.writeHead(200, { "Content-Type": "application/json" });
        res.end(JSON.stringify({ type: "ERROR", object: statusBody(410, "Expired", `too old resource version: ${n} (${compactedRv + 1})`) }) + "\n");
        return;
      }
    }
    res.writeHead(200, { "Content-Type": "application/json", "Transfer-Encoding": "chunked", "Cache-Control": "no-cache" });
    res.flushHeaders();
    let timers: NodeJS.Timeout[] = [];
    const w: Watcher = {
      def: p.def,
      version: p.version,
      ...(p.namespace !== undefined ? { namespace: p.namespace } : {}),
      match,
      send: (type, obj) => {
        if (!res.writableEnded) res.write(JSON.stringify({ type, object: obj }) + "\n");
      },
      end: (gone) => {
        watchers.delete(w);
        timers.forEach(clearTimeout);
        timers = [];
        if (res.writableEnded) return;
        if (gone) w.send("ERROR", statusBody(410, "Expired", `too old resource version: ${fromRv || "0"} (${rv})`));
        res.end();
      },
    };
    const bookmark = () => w.send("BOOKMARK", { kind: p.def.kind, apiVersion: apiVersionOf(p.def, p.version), metadata: { resourceVersion: String(rv) } });
    if (fromRv === "" || fromRv === "0") {
      for (const o of listItems(p.def, p.namespace, new URLSearchParams())) if (match(o)) w.send("ADDED", asVersion(o, p.def, p.version));
    } else {
      const n = Number(fromRv);
      for (const e of history) if (e.rv > n) deliver(w, e, p.def);
    }
    watchers.add(w);
    res.on("close", () => w.end());
    if (bookmarks && opts.bookmarkIntervalMs) {
      const t = setInterval(bookmark, opts.bookmarkIntervalMs);
      t.unref();
      timers.push(t);
    }
    if (timeoutSeconds > 0) {
      const t = setTimeout(() => {
        if (bookmarks) bookmark();
        w.end();
      }, timeoutSeconds * 1000);
      t.unref();
      timers.push(t);
    }
  }

  async function readBody(req: http.IncomingMessage): Promise<unknown> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req as AsyncIterable<Buffer>) {
      size += c.length;
      if (size > 3 * 1024 * 1024) throw new HttpError(413, "RequestEntityTooLarge", "request entity too large");
      chunks.push(c);
    }
    const text = Buffer.concat(chunks).toString("utf8");
    if (!text) return undefined;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new HttpError(400, "BadRequest", "the request body is not valid JSON");
    }
  }

  function send(res: http.ServerResponse, code: number, body: unknown) {
    const text = JSON.stringify(body);
    res.writeHead(code, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
    res.end(text);
  }

  async function handleApi(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    const p = parsePath(url.pathname);
    if (!p) {
      // the real server answers an unknown group/version with a plain-text 404, a known one with a Status
      if (!/^\/(api\/v1|apis\/[^/]+\/[^/]+)\//.test(url.pathname) || !knownGroupVersion(url.pathname)) {
        res.writeHead(404, { "Content-Type": "text/plain; charset=utf-8" }).end("404 page not found\n");
        return;
      }
      throw new HttpError(404, "NotFound", "the server could not find the requested resource");
    }
    const q = url.searchParams;
    const method = req.method ?? "GET";
    const { def, namespace: ns, name, sub } = p;
    const key = name ? storeKey(def, def.namespaced ? ns : undefined, name) : "";
    const existing = key ? objects.get(key) : undefined;

    if (sub) {
      if (def.resource === "serviceaccounts" && sub === "token" && method === "POST") {
        if (!existing) throw notFound(def, name!);
        const body = (await readBody(req)) as Obj | undefined;
        return send(res, 201, issueToken(ns!, existing, body ?? {}));
      }
      throw new HttpError(404, "NotFound", "the server could not find the requested resource");
    }

    if (method === "GET") {
      if (!name) {
        if (q.get("watch") === "1" || q.get("watch") === "true") return watch(p, q, res);
        const items = listItems(def, ns, q).map((o) => asVersion(o, def, p.version));
        return send(res, 200, { kind: `${def.kind}List`, apiVersion: apiVersionOf(def, p.version), metadata: { resourceVersion: String(rv) }, items });
      }
      if (!existing) throw notFound(def, name);
      return send(res, 200, asVersion(existing, def, p.version));
    }
    if (method === "POST") {
      if (name) throw new HttpError(405, "MethodNotAllowed", `the server does not allow this method on the requested resource`);
      const body = await readBody(req);
      if (!isPlain(body)) throw new HttpError(400, "BadRequest", "the request body must be an object");
      return send(res, 201, asVersion(create(def, ns, body), def, p.version));
    }
    if (!name) throw new HttpError(405, "MethodNotAllowed", `the server does not allow this method on the requested resource`);
    if (method === "PUT") {
      const body = await readBody(req);
      if (!isPlain(body)) throw new HttpError(400, "BadRequest", "the request body must be an object");
      const b = body as Obj;
      if (b.metadata?.name && b.metadata.name !== name) throw new HttpError(400, "BadRequest", "the name of the object does not match the name on the URL");
      if (!existing) throw notFound(def, name);
      // custom resources refuse unconditional updates; built-in kinds allow them
      if (def.group === SSCD && !b.metadata?.resourceVersion)
        throw new HttpError(422, "Invalid", `${qualified(def)} "${name}" is invalid: metadata.resourceVersion: Invalid value: 0: must be specified for an update`, { name, group: def.group, kind: def.kind });
      return send(res, 200, asVersion(replace(def, key, existing, clone(b), true), def, p.version));
    }
    if (method === "PATCH") {
      const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim();
      const patch = await readBody(req);
      if (!existing) throw notFound(def, name);
      let next: unknown;
      if (type === "application/merge-patch+json") next = mergePatch(clone(existing), patch);
      else if (type === "application/strategic-merge-patch+json" && def.group !== SSCD) next = strategicPatch(clone(existing), patch);
      else if (type === "application/json-patch+json") next = jsonPatch(existing, patch);
      else throw new HttpError(415, "UnsupportedMediaType", `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`);
      if (!isPlain(next)) throw new HttpError(422, "Invalid", "the patch produced a non-object");
      const n = next as Obj;
      // a resourceVersion inside the patch is a precondition (optimistic lock)
      const patchRv = isPlain(patch) && isPlain(patch.metadata) ? (patch.metadata.resourceVersion as string | undefined) : undefined;
      if (n.metadata?.name !== existing.metadata?.name) throw new HttpError(422, "Invalid", "metadata.name: Invalid value: field is immutable");
      if (n.metadata) n.metadata.resourceVersion = patchRv ?? existing.metadata?.resourceVersion;
      return send(res, 200, asVersion(replace(def, key, existing, n, true), def, p.version));
    }
    if (method === "DELETE") {
      const body = (await readBody(req)) as { preconditions?: { uid?: string; resourceVersion?: string }; propagationPolicy?: string } | undefined;
      if (!existing) throw notFound(def, name);
      const pre = body?.preconditions;
      const kindGroup = def.group ? `${def.kind}.${def.group}` : def.kind;
      if (pre?.uid && pre.uid !== existing.metadata?.uid)
        throw new HttpError(409, "Conflict", `Operation cannot be fulfilled on ${kindGroup} "${name}": the UID in the precondition (${pre.uid}) does not match the UID in record (${existing.metadata?.uid}). The object might have been deleted and then recreated`);
      if (pre?.resourceVersion && pre.resourceVersion !== existing.metadata?.resourceVersion)
        throw new HttpError(409, "Conflict", `Operation cannot be fulfilled on ${kindGroup} "${name}": the ResourceVersion in the precondition (${pre.resourceVersion}) does not match the ResourceVersion in record (${existing.metadata?.resourceVersion}). The object might have been modified`);
      remove(def, key, existing, body?.propagationPolicy !== "Orphan");
      return send(res, 200, { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", details: { name, group: def.group, kind: def.resource, uid: existing.metadata?.uid } });
    }
    throw new HttpError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
  }

  function takeFault(): Fault | undefined {
    const head = faults[0];
    if (!head) return undefined;
    if (--head.left <= 0) faults.shift();
    return head.f;
  }

  const openSockets = new Set<Socket>();

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://mini");
    const method = req.method ?? "GET";
    if (method === "GET" && ["/healthz", "/readyz", "/livez"].includes(url.pathname)) {
      res.writeHead(200, { "Content-Type": "text/plain" }).end("ok");
      return;
    }
    if (method === "GET" && url.pathname === "/version")
      return send(res, 200, { major: "1", minor: "34", gitVersion: "v1.34.0-mini", platform: `${process.platform}/${process.arch}` });
    if (method === "GET" && url.pathname === "/.well-known/openid-configuration")
      return send(res, 200, { issuer: ISSUER, jwks_uri: `${ISSUER}/openid/v1/jwks`, response_types_supported: ["id_token"], subject_types_supported: ["public"], id_token_signing_alg_values_supported: ["ES256"] });
    if (method === "GET" && url.pathname === "/openid/v1/jwks") return send(res, 200, { keys: [issuerJwk] });

    const authed = authenticated(req.headers.authorization);
    requests.push({
      method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      ...(req.headers["content-type"] ? { contentType: req.headers["content-type"] } : {}),
      ...(req.headers["user-agent"] ? { userAgent: req.headers["user-agent"] } : {}),
      authenticated: authed,
    });
    if (requests.length > 500) requests.shift();

    const fault = takeFault();
    if (fault && "unreachable" in fault) {
      req.socket.destroy();
      return;
    }
    if (fault && "delayMs" in fault) {
      await new Promise((r) => setTimeout(r, fault.delayMs));
      if (req.socket.destroyed) return;
    }
    try {
      if (fault && "status" in fault) {
        const reason = fault.reason ?? (fault.status === 429 ? "TooManyRequests" : fault.status === 503 ? "ServiceUnavailable" : "InternalError");
        if (fault.retryAfterSeconds !== undefined) res.setHeader("Retry-After", String(fault.retryAfterSeconds));
        throw new HttpError(fault.status, reason, fault.message ?? `injected fault ${fault.status}`);
      }
      if (!authed) throw new HttpError(401, "Unauthorized", "Unauthorized");
      await handleApi(req, res, url);
    } catch (e) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (e instanceof HttpError) send(res, e.code, statusBody(e.code, e.reason, e.message, e.details));
      else {
        log?.error("mini-apiserver handler failed", e);
        send(res, 500, statusBody(500, "InternalError", `Internal error occurred: ${(e as Error).message}`));
      }
    }
  }

  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    log?.v(6).info("mini-apiserver request", { method: req.method, path: req.url?.split("?")[0] });
    handle(req, res).catch((e: unknown) => {
      log?.error("mini-apiserver request failed", e);
      res.destroy();
    });
  };
  const server: http.Server = pkiPem ? https.createServer({ cert: pkiPem.certPem, key: pkiPem.keyPem }, onRequest) : http.createServer(onRequest);
  server.on(pkiPem ? "secureConnection" : "connection", (s: Socket) => {
    openSockets.add(s);
    s.on("close", () => openSockets.delete(s));
  });
  // Under TLS the plain socket is tracked too, so suspend() can also drop half-open handshakes.
  if (pkiPem)
    server.on("connection", (s: Socket) => {
      openSockets.add(s);
      s.on("close", () => openSockets.delete(s));
    });

  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  await listen(0);
  const port = (server.address() as { port: number }).port;
  const url = `${pkiPem ? "https" : "http"}://${host.includes(":") ? `[${host}]` : host}:${port}`;

  const store: MiniStore = {
    get<T>(apiPath: string): T | undefined {
      const p = parsePath(apiPath);
      if (!p?.name) return undefined;
      const o = objects.get(storeKey(p.def, p.def.namespaced ? p.namespace : undefined, p.name));
      return o ? (asVersion(o, p.def, p.version) as T) : undefined;
    },
    put<T>(obj: unknown): T {
      const o = clone(obj) as Obj;
      const def = defForObject(o);
      const ns = def.namespaced ? (o.metadata?.namespace ?? "default") : undefined;
      const key = storeKey(def, ns, o.metadata?.name ?? "");
      const existing = objects.get(key);
      if (existing) {
        if (o.metadata) delete o.metadata.resourceVersion;
        return clone(replace(def, key, existing, o, false)) as T;
      }
      if (o.metadata) delete o.metadata.resourceVersion;
      const created = stamp(def, o, ns);
      objects.set(storeKey(def, ns, created.metadata!.name!), created);
      record("ADDED", def, created);
      return clone(created) as T;
    },
    list<T>(apiPath: string, o?: { labelSelector?: string; fieldSelector?: string }): T[] {
      const p = parsePath(apiPath);
      if (!p) throw new Error(`mini-apiserver: unknown collection ${apiPath}`);
      const q = new URLSearchParams();
      if (o?.labelSelector) q.set("labelSelector", o.labelSelector);
      if (o?.fieldSelector) q.set("fieldSelector", o.fieldSelector);
      return listItems(p.def, p.namespace, q).map((x) => asVersion(x, p.def, p.version) as T);
    },
    delete(apiPath: string): boolean {
      const p = parsePath(apiPath);
      if (!p?.name) return false;
      const key = storeKey(p.def, p.def.namespaced ? p.namespace : undefined, p.name);
      const o = objects.get(key);
      if (!o) return false;
      remove(p.def, key, o);
      return true;
    },
    resourceVersion: () => String(rv),
  };

  for (const o of opts.objects ?? []) store.put(o);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mini-apiserver-"));
  const kubeconfigPath = path.join(dir, "kubeconfig");
  const kubeconfig = {
    apiVersion: "v1",
    kind: "Config",
    "current-context": "mini",
    clusters: [{ name: "mini", cluster: { server: url, ...(pkiPem ? { "certificate-authority-data": Buffer.from(pkiPem.caPem).toString("base64") } : {}) } }],
    contexts: [{ name: "mini", context: { cluster: "mini", user: "mini", namespace: opts.namespace ?? "default" } }],
    users: [{ name: "mini", user: { token } }],
  };
  fs.writeFileSync(kubeconfigPath, toYaml(kubeconfig), { mode: 0o600 });

  let closed = false;
  let suspended = false;
  const dropConnections = () => {
    for (const w of [...watchers]) w.end();
    for (const s of openSockets) s.destroy();
  };

  return {
    url,
    kubeconfigPath,
    token,
    ...(pkiPem ? { ca: Buffer.from(pkiPem.caPem) } : {}),
    store,
    requests,
    issuerJwk,
    fault(f) {
      faults.push({ f, left: f.count ?? 1 });
    },
    clearFaults() {
      faults.length = 0;
    },
    async suspend() {
      if (suspended || closed) return;
      suspended = true;
      const done = new Promise<void>((r) => server.close(() => r()));
      dropConnections();
      await done;
    },
    async resume() {
      if (!suspended || closed) return;
      suspended = false;
      await listen(port);
    },
    compact() {
      compactedRv = rv;
      history.length = 0;
    },
    closeWatches(o) {
      for (const w of [...watchers]) w.end(o?.gone);
    },
    async close() {
      if (closed) return;
      closed = true;
      const done = suspended ? Promise.resolve() : new Promise<void>((r) => server.close(() => r()));
      dropConnections();
      await done;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
