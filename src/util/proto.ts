// Loads the in-house .proto files at runtime with the same options the
// committed generated types were made with (scripts/gen-proto.mjs).
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { ProtoGrpcType as CsiProto } from "../generated/csi.js";
import type { ProtoGrpcType as HealthProto } from "../generated/health.js";
import type { ProtoGrpcType as ProviderProto } from "../generated/service.js";

export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

/** proto/ sits next to the bundle in the image, and at the repo root otherwise. */
export function protoDir(): string {
  const candidates = [
    process.env.AKV_CSI_PROTO_DIR,
    join(__dirname, "proto"),
    join(__dirname, "..", "proto"),
    join(__dirname, "..", "..", "proto"),
  ];
  for (const c of candidates) if (c && existsSync(join(c, "csi", "v1", "csi.proto"))) return c;
  throw new Error(`proto directory not found (looked in ${candidates.filter(Boolean).join(", ")})`);
}

function load<T>(file: string): T {
  const def = protoLoader.loadSync(file, { ...LOADER_OPTIONS, includeDirs: [protoDir()] });
  return grpc.loadPackageDefinition(def) as unknown as T;
}

let csi: CsiProto | undefined;
let provider: ProviderProto | undefined;
let health: HealthProto | undefined;

export const loadCsi = (): CsiProto => (csi ??= load<CsiProto>("csi/v1/csi.proto"));
export const loadProviderApi = (): ProviderProto =>
  (provider ??= load<ProviderProto>("provider/v1alpha1/service.proto"));
export const loadHealth = (): HealthProto =>
  (health ??= load<HealthProto>("grpc/health/v1/health.proto"));
