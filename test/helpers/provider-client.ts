// Promise wrappers around a v1alpha1 provider client, for tests.
import * as grpc from "@grpc/grpc-js";
import type { MountRequest } from "../../src/generated/v1alpha1/MountRequest.js";
import type { MountResponse__Output } from "../../src/generated/v1alpha1/MountResponse.js";
import type { VersionResponse__Output } from "../../src/generated/v1alpha1/VersionResponse.js";
import { providerClient } from "../../src/provider/server.js";

export interface ProviderTestClient {
  mount(req: MountRequest, timeoutMs?: number): Promise<MountResponse__Output>;
  version(): Promise<VersionResponse__Output>;
  close(): void;
}

export function connectProvider(socketPath: string): ProviderTestClient {
  const c = providerClient(`unix://${socketPath}`);
  return {
    mount: (req, timeoutMs = 30_000) =>
      new Promise((resolve, reject) =>
        c.Mount(req, { deadline: Date.now() + timeoutMs }, (err, res) => (err ? reject(err) : resolve(res!))),
      ),
    version: () =>
      new Promise((resolve, reject) =>
        c.Version({ version: "v1alpha1" }, { deadline: Date.now() + 10_000 }, (err, res) => (err ? reject(err) : resolve(res!))),
      ),
    close: () => c.close(),
  };
}

export function isServiceError(e: unknown): e is grpc.ServiceError {
  return typeof e === "object" && e !== null && "code" in e && "details" in e;
}
