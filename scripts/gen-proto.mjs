// Regenerates src/generated from proto/ with proto-loader-gen-types, using the
// same loader options as src/util/... at runtime. `--out DIR` writes elsewhere
// (the drift test compares a fresh run against the committed tree).
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const outIdx = process.argv.indexOf("--out");
const out = outIdx > 0 ? process.argv[outIdx + 1] : join(root, "src/generated");
const protos = ["csi/v1/csi.proto", "provider/v1alpha1/service.proto", "grpc/health/v1/health.proto"];

rmSync(out, { recursive: true, force: true });
execFileSync(
  process.execPath,
  [
    join(root, "node_modules/@grpc/proto-loader/build/bin/proto-loader-gen-types.js"),
    "--keepCase",
    "--longs=String",
    "--enums=String",
    "--defaults",
    "--oneofs",
    "--grpcLib=@grpc/grpc-js",
    // Relative to the repo root, so the "Original file" comments do not depend on where it lives.
    "--includeDirs=proto",
    "--outDir=" + out,
    ...protos,
  ],
  { stdio: "inherit", cwd: root },
);
