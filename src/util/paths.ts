// Path rules for files a provider asks us to write, matching the kubelet
// atomic writer's validation (and its error texts), plus a NUL check the
// kernel would otherwise turn into a confusing error.
import { posix } from "node:path";

const MAX_PATH_LENGTH = 4096;
const MAX_FILE_NAME_LENGTH = 255;

export class PathError extends Error {
  override name = "PathError";
}

/** Throws PathError unless `p` is a safe, clean, relative payload path. */
export function validatePayloadPath(p: string): void {
  if (p === "") throw new PathError(`invalid path: must not be empty: ${JSON.stringify(p)}`);
  if (p.includes("\0"))
    throw new PathError(`invalid path: must not contain NUL: ${JSON.stringify(p)}`);
  if (posix.isAbsolute(p)) throw new PathError(`invalid path: must be relative path: ${p}`);
  if (Buffer.byteLength(p) > MAX_PATH_LENGTH)
    throw new PathError(
      `invalid path: must be less than or equal to ${MAX_PATH_LENGTH} characters`,
    );
  const items = p.split("/");
  for (const item of items) {
    if (item === "..") throw new PathError(`invalid path: must not contain '..': ${p}`);
    if (Buffer.byteLength(item) > MAX_FILE_NAME_LENGTH)
      throw new PathError(
        `invalid path: filenames must be less than or equal to ${MAX_FILE_NAME_LENGTH} characters`,
      );
  }
  if (items[0]!.startsWith(".."))
    throw new PathError(`invalid path: must not start with '..': ${p}`);
  if (posix.normalize(p) !== p || p.endsWith("/"))
    throw new PathError(`invalid filepath: ${JSON.stringify(p)}`);
}

/**
 * The kubelet layout for a CSI volume of a pod:
 * `<kubelet root>/pods/<pod uid>/volumes/kubernetes.io~csi/<volume>/mount`.
 * Returns the parts, or undefined when `target` does not have that shape.
 */
export function parseKubeletTargetPath(
  target: string,
): { podUid: string; volume: string } | undefined {
  const m = /\/pods\/([^/]+)\/volumes\/kubernetes\.io~csi\/([^/]+)\/mount$/.exec(target);
  return m ? { podUid: m[1]!, volume: m[2]! } : undefined;
}
