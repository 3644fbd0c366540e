// Everything the emulator's handlers share. Built once by startEmulator.
import type { Logger } from "../util/logger.js";
import type { FaultTable, LatencyTable, TokenBucket } from "./faults.js";
import type { IdentityRegistry } from "./identities.js";
import type { TokenSigner } from "./jwt.js";
import type { Counters } from "./stats.js";
import type { EmulatorStore } from "./store.js";

export interface EmulatorContext {
  store: EmulatorStore;
  identities: IdentityRegistry;
  signer: TokenSigner;
  faults: FaultTable;
  latency: LatencyTable;
  throttle?: TokenBucket;
  counters: Counters;
  log: Logger;
  dnsSuffix: string;
  tenantId: string;
  /** https://localhost:<port>, known once the HTTPS server listens. */
  authorityBase(): string;
  /** Token lifetime in seconds. */
  tokenLifetime: number;
}
