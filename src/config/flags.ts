// Go `flag`-compatible command-line parsing. The upstream chart and manifests
// pass Go-style flags (`-v=5`, `--enable-secret-rotation=false`, `2m`), which
// util.parseArgs and commander both mis-read, hence this small parser.
import { parseDuration } from "./duration.js";

export type FlagType = "string" | "bool" | "int" | "duration";

export interface FlagDef<T extends FlagType = FlagType> {
  type: T;
  default: FlagValue<T>;
  usage: string;
  /** Accepted and ignored (klog flags we do not implement, no-op upstream flags). */
  ignored?: boolean;
}

export type FlagValue<T extends FlagType> = T extends "string"
  ? string
  : T extends "bool"
    ? boolean
    : number; // int, or duration in milliseconds

export type FlagTable = Record<string, FlagDef>;
export type FlagValues<D extends FlagTable> = { [K in keyof D]: FlagValue<D[K]["type"]> };

export class FlagError extends Error {
  override name = "FlagError";
}

const BOOL_TRUE = new Set(["1", "t", "T", "TRUE", "true", "True"]);
const BOOL_FALSE = new Set(["0", "f", "F", "FALSE", "false", "False"]);

/** Go strconv.ParseBool. */
export function parseGoBool(s: string): boolean | undefined {
  if (BOOL_TRUE.has(s)) return true;
  if (BOOL_FALSE.has(s)) return false;
  return undefined;
}

function convert(name: string, def: FlagDef, raw: string): string | boolean | number {
  switch (def.type) {
    case "string":
      return raw;
    case "bool": {
      const b = parseGoBool(raw);
      if (b === undefined)
        throw new FlagError(`invalid boolean value "${raw}" for -${name}: parse error`);
      return b;
    }
    case "int": {
      if (!/^[-+]?\d+$/.test(raw))
        throw new FlagError(`invalid value "${raw}" for flag -${name}: parse error`);
      return Number.parseInt(raw, 10);
    }
    case "duration": {
      const ms = parseDuration(raw);
      if (ms === undefined)
        throw new FlagError(`invalid value "${raw}" for flag -${name}: parse error`);
      return ms;
    }
  }
}

export interface Parsed<D extends FlagTable> {
  values: FlagValues<D>;
  /** Flags the user set explicitly. */
  set: Set<string>;
  /** Positional arguments after the flags (or after `--`). */
  args: string[];
  help: boolean;
}

export function parseFlags<D extends FlagTable>(table: D, argv: readonly string[]): Parsed<D> {
  const values: Record<string, unknown> = {};
  for (const [k, d] of Object.entries(table)) values[k] = d.default;
  const set = new Set<string>();
  const args: string[] = [];
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith("-") || a === "-") {
      args.push(...argv.slice(i));
      break;
    }
    const body = a.startsWith("--") ? a.slice(2) : a.slice(1);
    const eq = body.indexOf("=");
    const name = eq >= 0 ? body.slice(0, eq) : body;
    if (name === "h" || name === "help") {
      help = true;
      continue;
    }
    const def = table[name];
    if (!def) throw new FlagError(`flag provided but not defined: -${name}`);
    let raw: string;
    if (eq >= 0) raw = body.slice(eq + 1);
    else if (def.type === "bool") raw = "true";
    else {
      const next = argv[i + 1];
      if (next === undefined) throw new FlagError(`flag needs an argument: -${name}`);
      raw = next;
      i++;
    }
    values[name] = convert(name, def, raw);
    set.add(name);
  }
  return { values: values as FlagValues<D>, set, args, help };
}

export function usage(table: FlagTable): string {
  const lines: string[] = [];
  for (const [name, d] of Object.entries(table)) {
    if (d.ignored) continue;
    const dflt =
      d.type === "duration" ? formatDuration(d.default as number) : JSON.stringify(d.default);
    lines.push(`  -${name} ${d.type === "bool" ? "" : d.type}\n    \t${d.usage} (default ${dflt})`);
  }
  return lines.join("\n");
}

export function formatDuration(ms: number): string {
  if (ms === 0) return "0s";
  const parts: string[] = [];
  let rest = ms;
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  if (h) parts.push(`${h}h`);
  if (m || h) parts.push(`${m}m`);
  if (rest || parts.length === 0)
    parts.push(rest % 1000 === 0 ? `${rest / 1000}s` : `${rest / 1000}s`);
  else parts.push("0s");
  return parts.join("");
}

/** klog flags the upstream binaries accept; taken and ignored except -v. */
export const KLOG_FLAGS = {
  v: { type: "int", default: 0, usage: "number for the log level verbosity" },
  logtostderr: { type: "bool", default: true, usage: "klog: log to standard error", ignored: true },
  alsologtostderr: { type: "bool", default: false, usage: "klog", ignored: true },
  stderrthreshold: { type: "string", default: "2", usage: "klog", ignored: true },
  log_dir: { type: "string", default: "", usage: "klog", ignored: true },
  log_file: { type: "string", default: "", usage: "klog", ignored: true },
  log_file_max_size: { type: "int", default: 1800, usage: "klog", ignored: true },
  skip_headers: { type: "bool", default: false, usage: "klog", ignored: true },
  skip_log_headers: { type: "bool", default: false, usage: "klog", ignored: true },
  add_dir_header: { type: "bool", default: false, usage: "klog", ignored: true },
  one_output: { type: "bool", default: false, usage: "klog", ignored: true },
  log_backtrace_at: { type: "string", default: "", usage: "klog", ignored: true },
  vmodule: { type: "string", default: "", usage: "klog", ignored: true },
} as const satisfies FlagTable;
