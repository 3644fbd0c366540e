// One logger for the whole binary: klog-compatible verbosity (-v), text or
// JSON lines, and a redaction pass over every field so that no token, client
// secret or secret value can reach a log line at any verbosity.
import pino from "pino";
import { redact } from "./redact.js";

export type Fields = Record<string, unknown>;

export interface Logger {
  /** Always logged (klog V(0)). */
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, err?: unknown, fields?: Fields): void;
  /** klog-style gate: `log.v(5).info(...)` logs only at -v>=5. */
  v(level: number): { info(msg: string, fields?: Fields): void };
  enabled(level: number): boolean;
  child(fields: Fields): Logger;
}

export interface LoggerOptions {
  verbosity?: number;
  json?: boolean;
  /** Where lines go; stderr by default (klog writes to stderr). */
  write?: (line: string) => void;
  name?: string;
}

const severity = { info: "I", warn: "W", error: "E" } as const;

function klogText(obj: Record<string, unknown>): string {
  const d = new Date(typeof obj.time === "number" ? obj.time : Date.now());
  const pad = (n: number, w = 2) => String(n).padStart(w, "0");
  const sev = severity[(obj.level as keyof typeof severity) ?? "info"] ?? "I";
  const head =
    `${sev}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}000` +
    ` ${String(process.pid).padStart(7)} ${typeof obj.logger === "string" ? obj.logger : "akv-csi"}]`;
  const parts = [head, JSON.stringify(obj.msg ?? "")];
  for (const [k, v] of Object.entries(obj)) {
    if (k === "time" || k === "level" || k === "msg" || k === "logger" || k === "v") continue;
    parts.push(`${k}=${typeof v === "string" ? JSON.stringify(v) : JSON.stringify(v)}`);
  }
  return parts.join(" ") + "\n";
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const verbosity = opts.verbosity ?? 0;
  const write = opts.write ?? ((line: string) => process.stderr.write(line));
  const json = opts.json ?? false;
  const stream = {
    write(s: string) {
      if (json) return write(s.endsWith("\n") ? s : s + "\n");
      try {
        write(klogText(JSON.parse(s) as Record<string, unknown>));
      } catch {
        write(s);
      }
    },
  };
  const root = pino(
    {
      level: "trace",
      base: opts.name ? { logger: opts.name } : null,
      timestamp: pino.stdTimeFunctions.epochTime,
      messageKey: "msg",
      formatters: {
        level: (label) => ({ level: label === "trace" || label === "debug" ? "info" : label }),
      },
    },
    stream,
  );
  return wrap(root, verbosity);
}

function errorFields(err: unknown): Fields {
  if (err === undefined) return {};
  if (err instanceof Error) return { err: err.message };
  return { err: typeof err === "string" ? err : JSON.stringify(err) };
}

function wrap(p: pino.Logger, verbosity: number): Logger {
  const emit = (
    level: "info" | "warn" | "error",
    v: number | undefined,
    msg: string,
    fields?: Fields,
  ) => {
    const clean = fields ? (redact(fields) as Fields) : {};
    if (v !== undefined && v > 0) clean.v = v;
    p[level](clean, redact(msg) as string);
  };
  const self: Logger = {
    info: (msg, fields) => emit("info", undefined, msg, fields),
    warn: (msg, fields) => emit("warn", undefined, msg, fields),
    error: (msg, err, fields) => emit("error", undefined, msg, { ...fields, ...errorFields(err) }),
    v: (level) => ({
      info: (msg, fields) => {
        if (level <= verbosity) emit("info", level, msg, fields);
      },
    }),
    enabled: (level) => level <= verbosity,
    child: (fields) => wrap(p.child(redact(fields) as Fields), verbosity),
  };
  return self;
}

/** A logger that keeps lines in memory; for tests that grep the output. */
export function memoryLogger(verbosity = 10, json = false): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  return { log: createLogger({ verbosity, json, write: (l) => void lines.push(l) }), lines };
}
