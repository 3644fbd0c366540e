// Public surface of the Kubernetes client; other folders import from here.
export * from "./config.js";
export * from "./errors.js";
export * from "./client.js";
export * from "./types.js";
export * from "./watch.js";
