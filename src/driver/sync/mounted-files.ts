// The files a volume shows a pod, keyed by their relative path, the way the
// upstream sync reads them: skip `..*` entries, follow the top-level links
// into `..data`, walk directories.
import { promises as fs } from "node:fs";
import { join } from "node:path";

export async function mountedFiles(target: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  async function walk(abs: string, rel: string): Promise<void> {
    const st = await fs.stat(abs); // follows symlinks
    if (st.isDirectory()) {
      for (const name of await fs.readdir(abs))
        await walk(join(abs, name), rel ? `${rel}/${name}` : name);
    } else {
      out.set(rel, abs);
    }
  }
  for (const name of await fs.readdir(target)) {
    if (name.startsWith("..")) continue;
    await walk(join(target, name), name);
  }
  return out;
}
