// Shared readers for the chart, examples and flag checks (unit and peer tests).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import Ajv from "ajv";
import YAML from "yaml";
import { DRIVER_FLAGS } from "../../../src/driver/config.js";
import { PROVIDER_FLAGS } from "../../../src/provider/config.js";

export const REPO = join(__dirname, "..", "..", "..");
export const CHART_DIR = join(REPO, "charts", "akv-csi");
export const TEMPLATES_DIR = join(CHART_DIR, "templates");
export const EXAMPLES_DIR = join(REPO, "examples");

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

export function readYaml<T = JsonObject>(path: string): T {
  return YAML.parse(readFileSync(path, "utf8")) as T;
}

export function chartValues(): JsonObject {
  return readYaml(join(CHART_DIR, "values.yaml"));
}

/** Ajv validator for values.schema.json, in the strict mode that catches schema typos. */
let validator: ReturnType<Ajv["compile"]> | undefined;
export function valuesValidator(): ReturnType<Ajv["compile"]> {
  if (validator) return validator;
  const ajv = new Ajv({ strict: true, allowUnionTypes: true, allErrors: true });
  validator = ajv.compile(
    JSON.parse(readFileSync(join(CHART_DIR, "values.schema.json"), "utf8")) as object,
  );
  return validator;
}

export function templateFiles(): { name: string; text: string }[] {
  return readdirSync(TEMPLATES_DIR)
    .filter((f) => /\.(ya?ml|tpl|txt)$/.test(f))
    .sort()
    .map((name) => ({ name, text: readFileSync(join(TEMPLATES_DIR, name), "utf8") }));
}

export function walk(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir).sort()) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else out.push(p);
  }
  return out;
}

export function rel(p: string): string {
  return relative(REPO, p);
}

/** All YAML documents of a multi-document file or string. */
export function yamlDocs(text: string): JsonObject[] {
  return YAML.parseAllDocuments(text)
    .map((d) => {
      if (d.errors.length > 0) throw new Error(d.errors.map((e) => e.message).join("; "));
      return d.toJSON() as JsonObject | null;
    })
    .filter((d): d is JsonObject => d !== null && typeof d === "object");
}

/** The flag name of one argument (`--a-b=x` → `a-b`, `-v=5` → `v`), or undefined for a positional. */
export function flagName(arg: string): string | undefined {
  const m = /^--?([A-Za-z0-9_][A-Za-z0-9_.-]*)(=|$)/.exec(arg);
  return m ? m[1] : undefined;
}

export type Command = "driver" | "provider azure";

/** Which of our commands an argument list runs, from its leading positionals. */
export function commandOf(args: readonly string[]): Command | undefined {
  if (args[0] === "driver") return "driver";
  if (args[0] === "provider" && args[1] === "azure") return "provider azure";
  return undefined;
}

export function flagTable(cmd: Command): Record<string, unknown> {
  return cmd === "driver" ? DRIVER_FLAGS : PROVIDER_FLAGS;
}

/** Flags in `args` that the command's flag table does not define. */
export function unknownFlags(cmd: Command, args: readonly string[]): string[] {
  const table = flagTable(cmd);
  return args
    .map(flagName)
    .filter((f): f is string => f !== undefined)
    .filter((f) => !Object.prototype.hasOwnProperty.call(table, f));
}

/** Helm values files in examples/ are checked against the chart schema, not applied. */
export const isValuesFile = (p: string): boolean => /values\.ya?ml$/.test(p);

export function exampleFolders(): string[] {
  const dirs = new Set(
    walk(EXAMPLES_DIR)
      .filter((p) => p.endsWith(".yaml"))
      .map((p) => dirname(p)),
  );
  return [...dirs].map((d) => d.slice(EXAMPLES_DIR.length + 1)).sort();
}

export function folderManifests(folder: string): Record<string, any>[] {
  const dir = join(EXAMPLES_DIR, folder);
  return readdirSync(dir)
    .filter((f) => f.endsWith(".yaml") && !isValuesFile(f))
    .sort()
    .flatMap((f) => yamlDocs(readFileSync(join(dir, f), "utf8")));
}
