// The plain-object contract between the provider gRPC edge (server.ts) and a
// provider implementation (azure/). No gRPC types cross this line.

export interface MountInput {
  /** SPC parameters overlaid with the volume context (decoded `attributes`). */
  attributes: Record<string, string>;
  /** nodePublishSecretRef data (decoded `secrets`); empty when JSON null. */
  secrets: Record<string, string>;
  targetPath: string;
  /** Default file mode (decoded `permission`, e.g. 0o644). */
  permission: number;
  currentObjectVersions: ObjectVersion[];
  /** Aborted when the caller cancels or the deadline passes. */
  signal?: AbortSignal;
  /** The caller's deadline (epoch ms), to fail fast instead of waiting out a throttle window. */
  deadline?: number;
}

export interface ObjectVersion {
  id: string;
  version: string;
}

export interface MountedFile {
  /** Relative path inside the volume. */
  path: string;
  mode: number;
  contents: Buffer;
}

export interface MountOutput {
  files: MountedFile[];
  objectVersions: ObjectVersion[];
}

export interface VersionInfo {
  version: string;
  runtimeName: string;
  runtimeVersion: string;
}

export interface SecretsProvider {
  mount(input: MountInput): Promise<MountOutput>;
  version(): VersionInfo;
}
