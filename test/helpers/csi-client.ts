// A CSI client on a unix socket, promisified: what kubelet does, minus kubelet.
import * as grpc from "@grpc/grpc-js";
import { loadCsi } from "../../src/util/proto.js";

type Unary = (req: unknown, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void;

export interface CsiClient {
  call<T = Record<string, unknown>>(service: "Identity" | "Node" | "Controller", method: string, req?: unknown): Promise<T>;
  close(): void;
}

export function csiClient(socketPath: string): CsiClient {
  const csi = loadCsi().csi.v1;
  const creds = grpc.credentials.createInsecure();
  const target = `unix://${socketPath}`;
  const clients = {
    Identity: new csi.Identity(target, creds),
    Node: new csi.Node(target, creds),
    Controller: new csi.Controller(target, creds),
  };
  return {
    call<T>(service: keyof typeof clients, method: string, req: unknown = {}) {
      const c = clients[service] as unknown as Record<string, Unary>;
      return new Promise<T>((resolve, reject) =>
        c[method]!.call(c, req, (err, res) => (err ? reject(err) : resolve(res as T))),
      );
    },
    close() {
      for (const c of Object.values(clients)) c.close();
    },
  };
}
