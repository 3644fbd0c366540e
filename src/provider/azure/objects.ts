// Decoding of the SPC `objects` parameter the way upstream's yaml.v3 does it:
// a mapping whose `array:` lists strings, each string a YAML document decoded
// into one object. We walk the parsed node tree ourselves rather than calling
// toJS() because yaml.v3 keeps the *raw text* of a plain scalar in a string
// field (`filePermission: 0755` is "0755", not 493), decodes ints with Go's
// base-0 rules, silently drops null list items, and ignores unknown keys
// without ever looking at their values.
//
// Hardening beyond upstream (see perf-security-kms.md §B4 I4):
// - `objects` larger than OBJECTS_MAX_BYTES is rejected before parsing;
// - aliases are resolved through our own anchor table (the library's
//   Alias.resolve() rescans the document each time) and every node visit is
//   counted, so an alias bomb ends in "document contains excessive aliasing";
// - the decoded object strings together are capped too, so aliases cannot
//   multiply one large string into many.
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseAllDocuments, visit } from "yaml";
import type { Document, Node as YamlNode, Scalar } from "yaml";
import type { KeyVaultObject } from "./plan.js";

export const OBJECTS_MAX_BYTES = 1024 * 1024;
const MAX_NODE_VISITS = 100_000;
const MAX_TYPE_ERRORS = 100;

/** The object exactly as yaml.v3 decodes it, before trimming and defaults. */
export interface RawKeyVaultObject {
  objectName: string;
  objectAlias: string;
  objectVersion: string;
  objectVersionHistory: number;
  objectType: string;
  objectFormat: string;
  objectEncoding: string;
  filePermission: string;
}

const STRING_FIELDS = [
  "objectName",
  "objectAlias",
  "objectVersion",
  "objectType",
  "objectFormat",
  "objectEncoding",
  "filePermission",
] as const;
type StringField = (typeof STRING_FIELDS)[number];

export class YamlDecodeError extends Error {}

/** Parses the `objects` parameter into its `array` strings (yaml.v3 StringArray semantics). */
export function parseObjectsArray(text: string): string[] {
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > OBJECTS_MAX_BYTES) {
    throw new YamlDecodeError(`objects is ${bytes} bytes, larger than the ${OBJECTS_MAX_BYTES} byte limit`);
  }
  const dec = new Decoder(text);
  const root = dec.root();
  const out: string[] = [];
  if (root !== undefined) {
    const node = dec.deref(root);
    if (isMap(node)) {
      const value = dec.structFields(node, "types.StringArray", new Set(["array"])).get("array");
      if (value !== undefined) dec.stringList(value, out);
    } else if (!dec.isNull(node)) {
      dec.typeError(node, "types.StringArray");
    }
  }
  dec.finish();
  let total = 0;
  for (const s of out) {
    total += s.length;
    if (total > OBJECTS_MAX_BYTES) {
      throw new YamlDecodeError(`objects expand to more than ${OBJECTS_MAX_BYTES} bytes through aliases`);
    }
  }
  return out;
}

/** Decodes one `array` entry into an object (yaml.v3 KeyVaultObject semantics, untrimmed). */
export function decodeKeyVaultObject(text: string): RawKeyVaultObject {
  const obj: RawKeyVaultObject = {
    objectName: "",
    objectAlias: "",
    objectVersion: "",
    objectVersionHistory: 0,
    objectType: "",
    objectFormat: "",
    objectEncoding: "",
    filePermission: "",
  };
  const dec = new Decoder(text);
  const root = dec.root();
  if (root !== undefined) {
    const node = dec.deref(root);
    if (isMap(node)) {
      const fields = dec.structFields(node, "types.KeyVaultObject", new Set([...STRING_FIELDS, "objectVersionHistory"]));
      for (const [key, value] of fields) {
        if (key === "objectVersionHistory") {
          const n = dec.int32(value);
          if (n !== undefined) obj.objectVersionHistory = n;
        } else {
          const s = dec.string(value);
          if (s !== undefined) obj[key as StringField] = s;
        }
      }
    } else if (!dec.isNull(node)) {
      dec.typeError(node, "types.KeyVaultObject");
    }
  }
  dec.finish();
  return obj;
}

/** Go strings.TrimSpace: Unicode White_Space only (JS trim() also strips U+FEFF). */
export function goTrimSpace(s: string): string {
  return s.replace(/^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/, "").replace(
    /[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/,
    "",
  );
}

/** Upstream formatKeyVaultObject + our defaults: trimmed, alias defaulted to name, format/encoding lowercased with defaults. */
export function normalizeObject(raw: RawKeyVaultObject): KeyVaultObject {
  const objectName = goTrimSpace(raw.objectName);
  return {
    objectName,
    objectType: goTrimSpace(raw.objectType),
    objectVersion: goTrimSpace(raw.objectVersion),
    objectVersionHistory: raw.objectVersionHistory,
    objectAlias: goTrimSpace(raw.objectAlias) || objectName,
    objectFormat: goTrimSpace(raw.objectFormat).toLowerCase() || "pem",
    objectEncoding: goTrimSpace(raw.objectEncoding).toLowerCase() || "utf-8",
    filePermission: goTrimSpace(raw.filePermission),
  };
}

/** yaml.v3 plain-scalar resolution (YAML 1.2 core plus Go base-0 ints). */
type Resolved =
  | { tag: "!!null" }
  | { tag: "!!bool"; value: boolean }
  | { tag: "!!int"; value: bigint }
  | { tag: "!!float"; value: number }
  | { tag: "!!str" | "!!merge" };

const FLOAT_RE = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
const INT64_MIN = -(2n ** 63n);
const UINT64_MAX = 2n ** 64n - 1n;

function resolvePlain(v: string): Resolved {
  switch (v) {
    case "":
    case "~":
    case "null":
    case "Null":
    case "NULL":
      return { tag: "!!null" };
    case "true":
    case "True":
    case "TRUE":
      return { tag: "!!bool", value: true };
    case "false":
    case "False":
    case "FALSE":
      return { tag: "!!bool", value: false };
    case ".nan":
    case ".NaN":
    case ".NAN":
      return { tag: "!!float", value: NaN };
    case ".inf":
    case ".Inf":
    case ".INF":
    case "+.inf":
    case "+.Inf":
    case "+.INF":
      return { tag: "!!float", value: Infinity };
    case "-.inf":
    case "-.Inf":
    case "-.INF":
      return { tag: "!!float", value: -Infinity };
    case "<<":
      return { tag: "!!merge" };
  }
  if (!/^[-+.0-9]/.test(v)) return { tag: "!!str" };
  const plain = v.replace(/_/g, "");
  const int = goParseInt(plain);
  if (int !== undefined && int >= INT64_MIN && int <= UINT64_MAX) return { tag: "!!int", value: int };
  if (FLOAT_RE.test(plain)) return { tag: "!!float", value: Number(plain) };
  return { tag: "!!str" };
}

/** strconv.ParseInt(s, 0, ...) syntax: sign, then 0x / 0o / 0b / leading-0 octal / decimal. */
function goParseInt(s: string): bigint | undefined {
  const m = /^([-+]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$/.exec(s);
  if (!m) return undefined;
  const digits = m[2]!;
  let n: bigint;
  if (/^0[oO]/.test(digits)) n = BigInt("0o" + digits.slice(2));
  else if (/^0[0-7]+$/.test(digits)) n = BigInt("0o" + digits.slice(1));
  else n = BigInt(digits);
  return m[1] === "-" ? -n : n;
}

class Decoder {
  private readonly lines = new LineCounter();
  private readonly doc: Document.Parsed | undefined;
  private readonly anchors = new Map<string, { offset: number; node: YamlNode }[]>();
  private readonly errors: string[] = [];
  private visits = 0;

  constructor(text: string) {
    const docs = parseAllDocuments(text, {
      version: "1.2",
      lineCounter: this.lines,
      uniqueKeys: false,
      merge: false,
      prettyErrors: false,
    });
    // Like yaml.v3 Unmarshal, only the first document counts.
    const first = Array.isArray(docs) ? docs[0] : undefined;
    if (first === undefined) return;
    const err = first.errors[0];
    if (err) {
      const line = this.lines.linePos(err.pos[0]).line;
      throw new YamlDecodeError(`yaml: line ${line}: ${firstLine(err.message)}`);
    }
    this.doc = first;
    visit(first, {
      Node: (_key, node) => {
        const anchor = (node as { anchor?: string }).anchor;
        if (anchor && node.range) {
          const list = this.anchors.get(anchor) ?? [];
          list.push({ offset: node.range[0], node });
          this.anchors.set(anchor, list);
        }
      },
    });
  }

  root(): YamlNode | undefined {
    const c = this.doc?.contents;
    return c ?? undefined;
  }

  /** Follows aliases to their anchored node, counting every step. */
  deref(node: YamlNode): YamlNode {
    let n = node;
    for (let hops = 0; isAlias(n); hops++) {
      this.count();
      const list = this.anchors.get(n.source);
      const at = n.range?.[0] ?? Infinity;
      let target: YamlNode | undefined;
      for (const a of list ?? []) if (a.offset < at) target = a.node;
      if (!target || hops > 100) throw new YamlDecodeError(`yaml: unknown anchor '${n.source}' referenced`);
      n = target;
    }
    this.count();
    return n;
  }

  private count(): void {
    if (++this.visits > MAX_NODE_VISITS) throw new YamlDecodeError("yaml: document contains excessive aliasing");
  }

  private line(node: YamlNode): number {
    return node.range ? this.lines.linePos(node.range[0]).line : 0;
  }

  private tagOf(node: YamlNode): string {
    if (isMap(node)) return "!!map";
    if (isSeq(node)) return "!!seq";
    if (isScalar(node)) {
      const explicit = node.tag;
      if (explicit && explicit !== "!") return explicit.replace(/^tag:yaml\.org,2002:/, "!!");
      if (node.type === "PLAIN") return resolvePlain(this.text(node)).tag;
      return "!!str";
    }
    return "!!str";
  }

  private text(node: Scalar): string {
    return node.source ?? String(node.value);
  }

  isNull(node: YamlNode): boolean {
    return isScalar(node) && node.type === "PLAIN" && !node.tag && resolvePlain(this.text(node)).tag === "!!null";
  }

  typeError(node: YamlNode, into: string): void {
    if (this.errors.length >= MAX_TYPE_ERRORS) return;
    const tag = this.tagOf(node);
    let value = "";
    if (tag !== "!!seq" && tag !== "!!map" && isScalar(node)) {
      const v = this.text(node);
      value = v.length > 10 ? ` \`${v.slice(0, 7)}...\`` : ` \`${v}\``;
    }
    this.errors.push(`line ${this.line(node)}: cannot unmarshal ${tag}${value} into ${into}`);
  }

  /** Struct decoding: known keys only, duplicate keys rejected, `<<` merges honoured. */
  structFields(map: YamlNode, _into: string, known: Set<string>): Map<string, YamlNode> {
    if (!isMap(map)) return new Map();
    const pairs = map.items;
    const before = this.errors.length;
    // yaml.v3 compares every pair; a first-occurrence map gives the same
    // messages for the usual single duplicate in linear time.
    const firstSeen = new Map<string, YamlNode>();
    for (const pair of pairs) {
      const b = pair.key as YamlNode | null;
      if (!b || !isScalar(b)) continue;
      const a = firstSeen.get(this.text(b));
      if (a === undefined) {
        firstSeen.set(this.text(b), b);
      } else if (this.errors.length < MAX_TYPE_ERRORS) {
        this.errors.push(`line ${this.line(b)}: mapping key ${JSON.stringify(this.text(b))} already defined at line ${this.line(a)}`);
      }
    }
    const out = new Map<string, YamlNode>();
    if (this.errors.length > before) return out;
    const merges: YamlNode[] = [];
    for (const pair of pairs) {
      const key = pair.key as YamlNode | null;
      if (!key) continue;
      const k = this.deref(key);
      if (!isScalar(k) || this.isNull(k)) continue;
      const name = this.text(k);
      if (k.type === "PLAIN" && name === "<<" && !k.tag) {
        if (pair.value) merges.push(pair.value as YamlNode);
        continue;
      }
      if (known.has(name) && pair.value) out.set(name, pair.value as YamlNode);
    }
    for (const m of merges) {
      const target = this.deref(m);
      const sources = isSeq(target) ? target.items.map((n) => this.deref(n as YamlNode)) : [target];
      for (const src of sources) {
        if (!isMap(src)) throw new YamlDecodeError("yaml: map merge requires map or sequence of maps as the value");
        for (const [k, v] of this.structFields(src, _into, known)) if (!out.has(k)) out.set(k, v);
      }
    }
    return out;
  }

  /** `[]string`: null items are dropped silently, collections are type errors. */
  stringList(node: YamlNode, out: string[]): void {
    const n = this.deref(node);
    if (this.isNull(n)) return;
    if (!isSeq(n)) {
      this.typeError(n, "[]string");
      return;
    }
    for (const item of n.items) {
      const s = this.string(item as YamlNode);
      if (s !== undefined) out.push(s);
    }
  }

  /** A string field: the scalar's raw text (plain) or decoded content (quoted/block). */
  string(node: YamlNode): string | undefined {
    const n = this.deref(node);
    if (!isScalar(n)) {
      this.typeError(n, "string");
      return undefined;
    }
    if (this.isNull(n)) return undefined;
    return this.text(n);
  }

  /** An int32 field: Go base-0 ints, floats truncated, quoted values are errors. */
  int32(node: YamlNode): number | undefined {
    const n = this.deref(node);
    if (this.isNull(n)) return undefined;
    if (isScalar(n) && n.type === "PLAIN" && (!n.tag || n.tag === "tag:yaml.org,2002:int")) {
      const r = resolvePlain(this.text(n));
      if (r.tag === "!!int" && r.value >= -(2n ** 31n) && r.value < 2n ** 31n) return Number(r.value);
      if (r.tag === "!!float" && Number.isFinite(r.value)) {
        const t = Math.trunc(r.value);
        if (t >= -(2 ** 31) && t < 2 ** 31) return t === 0 ? 0 : t;
      }
    }
    this.typeError(n, "int32");
    return undefined;
  }

  finish(): void {
    if (this.errors.length > 0) {
      throw new YamlDecodeError(`yaml: unmarshal errors:\n  ${this.errors.join("\n  ")}`);
    }
  }
}

function firstLine(s: string): string {
  return s.split("\n")[0]!.trim();
}

/** The base file name: alias, else name. */
export function objectFileName(obj: KeyVaultObject): string {
  return obj.objectAlias || obj.objectName;
}

/** Upstream ObjectVersion id: `<objectType>/<objectName>` (name, not alias, so duplicates are possible). */
export function objectId(obj: KeyVaultObject): string {
  return `${obj.objectType}/${obj.objectName}`;
}

/** History-mode file name `<base>/<i>` (upstream uses filepath.Join, i.e. "/" on Linux). */
export function historyFileName(base: string, index: number): string {
  return `${base}/${index}`;
}

/** History-mode id `<objectType>/<objectName>/<i>`. */
export function historyObjectId(obj: KeyVaultObject, index: number): string {
  return `${obj.objectType}/${obj.objectName}/${index}`;
}


