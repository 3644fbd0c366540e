// A provider on a real unix socket whose answers the test sets: files,
// object versions, an error, or a delay. It records every Mount request.
import * as grpc from "@grpc/grpc-js";
import type { CSIDriverProviderHandlers } from "../../src/generated/v1alpha1/CSIDriverProvider.js";
import type { MountRequest__Output } from "../../src/generated/v1alpha1/MountRequest.js";
import { serve, type Serving } from "../../src/util/grpc-server.js";
import { loadProviderApi } from "../../src/util/proto.js";

export interface FakeProvider {
  requests: MountRequest__Output[];
  files: { path: string; mode: number; contents: Buffer }[];
  versions: { id: string; version: string }[];
  error?: { code: grpc.status; details: string };
  errorCode?: string;
  delayMs: number;
  authorities: string[];
  stop(): Promise<void>;
}

export async function startFakeProvider(socketPath: string): Promise<FakeProvider> {
  const fake: FakeProvider = {
    requests: [],
    files: [],
    versions: [],
    delayMs: 0,
    authorities: [],
    stop: async () => undefined,
  };
  const handlers: CSIDriverProviderHandlers = {
    Version: (_call, cb) => cb(null, { version: "v1alpha1", runtime_name: "fake", runtime_version: "0.0.1" }),
    Mount: (call, cb) => {
      fake.requests.push(call.request);
      fake.authorities.push(String(call.metadata.get(":authority")[0] ?? call.getPeer()));
      setTimeout(() => {
        if (fake.error) return cb({ code: fake.error.code, details: fake.error.details });
        cb(null, {
          files: fake.files,
          object_version: fake.versions,
          error: fake.errorCode ? { code: fake.errorCode } : null,
        });
      }, fake.delayMs);
    },
  };
  const server = new grpc.Server();
  server.addService(loadProviderApi().v1alpha1.CSIDriverProvider.service, handlers);
  const serving: Serving = await serve(server, `unix://${socketPath}`, { socketMode: 0o700 });
  fake.stop = () => serving.stop(100);
  return fake;
}
