// Parser for /proc/self/mountinfo (proc(5)): fields are space separated and
// octal-escaped (\040 for a space), with optional fields ended by "-".
import type { MountEntry } from "./mounter.js";

function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
}

export function parseMountInfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    const f = line.split(" ");
    const sep = f.indexOf("-", 6);
    if (sep < 0 || f.length < sep + 3) continue;
    const perMount = (f[5] ?? "").split(",");
    const superOpts = (f[sep + 3] ?? "").split(",");
    out.push({
      mountPoint: unescape(f[4]!),
      fsType: f[sep + 1]!,
      source: unescape(f[sep + 2]!),
      options: [...new Set([...perMount, ...superOpts].filter(Boolean))],
    });
  }
  return out;
}
