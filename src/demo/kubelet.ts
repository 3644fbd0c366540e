// The part of kubelet the demo plays: a CSI client on the driver's socket.
import * as grpc from "@grpc/grpc-js";
import { loadCsi } from "../util/proto.js";

type Unary = (
  req: unknown,
  opts: grpc.CallOptions,
  cb: (err: grpc.ServiceError | null, res: unknown) => void,
) => void;

export interface Kubelet {
  call<T>(service: "Identity" | "Node", method: string, req?: unknown): Promise<T>;
  close(): void;
}

export function kubeletFor(socketPath: string): Kubelet {
  const csi = loadCsi().csi.v1;
  const creds = grpc.credentials.createInsecure();
  const clients = {
    Identity: new csi.Identity(`unix://${socketPath}`, creds),
    Node: new csi.Node(`unix://${socketPath}`, creds),
  };
  return {
    call<T>(service: "Identity" | "Node", method: string, req: unknown = {}) {
      const c = clients[service] as unknown as Record<string, Unary>;
      // kubelet's CSI deadline is about two minutes.
      const deadline = new Date(Date.now() + 120_000);
      return new Promise<T>((resolve, reject) =>
        c[method]!.call(c, req, { deadline }, (err, res) =>
          err ? reject(err) : resolve(res as T),
        ),
      );
    },
    close() {
      clients.Identity.close();
      clients.Node.close();
    },
  };
}
