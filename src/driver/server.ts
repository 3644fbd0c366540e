// The CSI gRPC edge: Identity, Controller (capabilities only) and Node. It
// turns wire messages into plain requests for NodeService and back; no
// business logic lives here.
import * as grpc from "@grpc/grpc-js";
import type { ControllerHandlers } from "../generated/csi/v1/Controller.js";
import type { IdentityHandlers } from "../generated/csi/v1/Identity.js";
import type { NodeHandlers } from "../generated/csi/v1/Node.js";
import type { Logger } from "../util/logger.js";
import { loadCsi } from "../util/proto.js";
import { serve, type Serving } from "../util/grpc-server.js";
import type { DriverConfig } from "./config.js";
import { CsiError, invalidArgument } from "./errors.js";
import type { NodeService } from "./node-service.js";
import { wrapUnary } from "./rpc.js";

export interface CsiServerDeps {
  config: DriverConfig;
  node: NodeService;
  log: Logger;
  /** Probe readiness; the driver is ready once its socket serves. */
  ready?: () => boolean;
}

export async function startCsiServer(d: CsiServerDeps): Promise<Serving> {
  const { config, node, log } = d;
  const csi = loadCsi().csi.v1;
  const server = new grpc.Server({ "grpc.max_receive_message_length": 4 * 1024 * 1024 });

  const identity: IdentityHandlers = {
    GetPluginInfo: wrapUnary("/csi.v1.Identity/GetPluginInfo", log, async () => {
      if (!config.driverName) throw new CsiError("Unavailable", "Driver name not configured");
      if (!config.vendorVersion) throw new CsiError("Unavailable", "Driver is missing version");
      return { name: config.driverName, vendor_version: config.vendorVersion, manifest: {} };
    }),
    GetPluginCapabilities: wrapUnary("/csi.v1.Identity/GetPluginCapabilities", log, async () => ({
      capabilities: [{ service: { type: "CONTROLLER_SERVICE" } }],
    })),
    Probe: wrapUnary("/csi.v1.Identity/Probe", log, async () => ({
      ready: { value: d.ready ? d.ready() : true },
    })),
  };

  const controller: ControllerHandlers = {
    ControllerGetCapabilities: wrapUnary(
      "/csi.v1.Controller/ControllerGetCapabilities",
      log,
      async () => ({
        capabilities: [{ rpc: { type: "UNKNOWN" } }],
      }),
    ),
  };

  const nodeHandlers: NodeHandlers = {
    NodeStageVolume: wrapUnary("/csi.v1.Node/NodeStageVolume", log, async (req) => {
      if (!req.volume_id) throw invalidArgument("Volume ID missing in request");
      if (!req.staging_target_path) throw invalidArgument("Target path missing in request");
      if (!req.volume_capability) throw invalidArgument("Volume capability missing in request");
      return {};
    }),
    NodeUnstageVolume: wrapUnary("/csi.v1.Node/NodeUnstageVolume", log, async (req) => {
      if (!req.volume_id) throw invalidArgument("Volume ID missing in request");
      if (!req.staging_target_path) throw invalidArgument("Target path missing in request");
      return {};
    }),
    NodePublishVolume: wrapUnary("/csi.v1.Node/NodePublishVolume", log, async (req, call) => {
      await node.publish(
        {
          volumeId: req.volume_id ?? "",
          targetPath: req.target_path ?? "",
          hasCapability: req.volume_capability != null,
          readonly: req.readonly === true,
          secrets: req.secrets ?? {},
          volumeContext: req.volume_context ?? {},
        },
        call.signal,
      );
      return {};
    }),
    NodeUnpublishVolume: wrapUnary("/csi.v1.Node/NodeUnpublishVolume", log, async (req) => {
      await node.unpublish({ volumeId: req.volume_id ?? "", targetPath: req.target_path ?? "" });
      return {};
    }),
    NodeGetCapabilities: wrapUnary("/csi.v1.Node/NodeGetCapabilities", log, async () => ({
      capabilities: [{ rpc: { type: "STAGE_UNSTAGE_VOLUME" } }],
    })),
    NodeGetInfo: wrapUnary("/csi.v1.Node/NodeGetInfo", log, async () => ({
      node_id: config.nodeId,
    })),
  };

  server.addService(csi.Identity.service, identity);
  server.addService(csi.Controller.service, controller);
  server.addService(csi.Node.service, nodeHandlers);
  return serve(server, config.endpoint, { socketMode: 0o700 });
}
