// The same driver ↔ API server suite as test/peers, against the in-memory API
// server: fast feedback on every machine.
import { startMiniApiServer } from "../../src/demo/mini-apiserver.js";
import { driverApiSuite } from "../helpers/driver-api-suite.js";

driverApiSuite("integration: akv-csi driver against the in-memory API server", async () => {
  const api = await startMiniApiServer({ https: true });
  return { kubeconfigPath: api.kubeconfigPath, stop: () => api.close() };
});
