// Writes a set of files into a directory so that readers only ever see the
// whole old set or the whole new set: the kubelet atomic-writer scheme that
// pods already expect from secret and configMap volumes.
//
//   <dir>/..2026_11_26_23_59_59.123456789/   the files themselves (0755 dir)
//   <dir>/..data -> ..2026_11_26_23_59_59.123456789
//   <dir>/<name> -> ..data/<name>              one link per top-level entry
//
// An update writes a new timestamped directory, points `..data_tmp` at it and
// renames that over `..data` (one atomic rename), then prunes links and the
// old directory. Unchanged content is not rewritten and keeps its mtime.
import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import { dirname, join } from "node:path";
import { validatePayloadPath } from "./paths.js";

export interface FileProjection {
  data: Buffer;
  mode: number;
}

export type Payload = Map<string, FileProjection>;

const DATA = "..data";
const DATA_TMP = "..data_tmp";

export interface WriteResult {
  /** False when the payload matched what was there and nothing was touched. */
  changed: boolean;
  /** Name of the timestamped directory `..data` points at afterwards. */
  dataDir: string;
}

function tsDirName(now = new Date()): string {
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  const stamp =
    `${now.getUTCFullYear()}_${p(now.getUTCMonth() + 1)}_${p(now.getUTCDate())}_` +
    `${p(now.getUTCHours())}_${p(now.getUTCMinutes())}_${p(now.getUTCSeconds())}`;
  return `..${stamp}.${randomBytes(5).readUInt32BE(0)}`;
}

async function readLink(p: string): Promise<string | undefined> {
  try {
    return await fs.readlink(p);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "EINVAL") return undefined;
    throw e;
  }
}

async function sameAsExisting(oldDir: string, payload: Payload): Promise<boolean> {
  const existing = await listFiles(oldDir);
  if (existing.size !== payload.size) return false;
  for (const [rel, f] of payload) {
    if (!existing.has(rel)) return false;
    const st = await fs.stat(join(oldDir, rel));
    if ((st.mode & 0o7777) !== (f.mode & 0o7777)) return false;
    const cur = await fs.readFile(join(oldDir, rel));
    if (!cur.equals(f.data)) return false;
  }
  return true;
}

/** Relative paths of all regular files under `dir` (no symlink following). */
export async function listFiles(dir: string, prefix = ""): Promise<Set<string>> {
  const out = new Set<string>();
  let entries;
  try {
    entries = await fs.readdir(join(dir, prefix), { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return out;
    throw e;
  }
  for (const e of entries) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) for (const r of await listFiles(dir, rel)) out.add(r);
    else out.add(rel);
  }
  return out;
}

function topLevel(p: string): string {
  return p.split("/")[0]!;
}

/**
 * Upstream (#551) removes top-level entries a payload will own that are not
 * our symlinks (left by providers that wrote files themselves).
 */
async function removeLegacyEntries(dir: string, payload: Payload): Promise<void> {
  for (const name of new Set([...payload.keys()].map(topLevel))) {
    const p = join(dir, name);
    try {
      const st = await fs.lstat(p);
      if (!st.isSymbolicLink()) await fs.rm(p, { recursive: true, force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
  }
}

export async function writeAtomic(dir: string, payload: Payload): Promise<WriteResult> {
  for (const p of payload.keys()) validatePayloadPath(p);
  await fs.mkdir(dir, { recursive: true });
  // A crash between creating and renaming `..data_tmp` leaves it behind.
  await fs.rm(join(dir, DATA_TMP), { force: true });

  const oldTs = await readLink(join(dir, DATA));
  if (oldTs && (await sameAsExisting(join(dir, oldTs), payload)))
    return { changed: false, dataDir: oldTs };

  await removeLegacyEntries(dir, payload);

  const newTs = tsDirName();
  const newDir = join(dir, newTs);
  await fs.mkdir(newDir, { mode: 0o755 });
  await fs.chmod(newDir, 0o755);
  try {
    for (const [rel, f] of payload) {
      const file = join(newDir, rel);
      await fs.mkdir(dirname(file), { recursive: true });
      await fs.writeFile(file, f.data, { mode: 0o600 });
      // chmod after write: the mode is taken verbatim (0 means 0000), not masked by umask.
      await fs.chmod(file, f.mode & 0o7777);
    }
    await fs.symlink(newTs, join(dir, DATA_TMP));
    await fs.rename(join(dir, DATA_TMP), join(dir, DATA));
  } catch (e) {
    await fs.rm(newDir, { recursive: true, force: true });
    await fs.rm(join(dir, DATA_TMP), { force: true });
    throw e;
  }

  const newTop = new Set([...payload.keys()].map(topLevel));
  for (const name of newTop) {
    const link = join(dir, name);
    if ((await readLink(link)) !== `${DATA}/${name}`) {
      await fs.rm(link, { force: true, recursive: false }).catch(() => undefined);
      await fs.symlink(`${DATA}/${name}`, link);
    }
  }
  // Prune links for entries that left the payload, and older data dirs.
  for (const e of await fs.readdir(dir, { withFileTypes: true })) {
    if (e.name === DATA || e.name === newTs) continue;
    const p = join(dir, e.name);
    if (e.isSymbolicLink() && !e.name.startsWith("..") && !newTop.has(e.name)) {
      const target = await readLink(p);
      if (target?.startsWith(`${DATA}/`)) await fs.rm(p, { force: true });
    } else if (e.isDirectory() && e.name.startsWith("..") && /^\.\.\d{4}_\d\d_\d\d_/.test(e.name)) {
      await fs.rm(p, { recursive: true, force: true });
    }
  }
  return { changed: true, dataDir: newTs };
}
