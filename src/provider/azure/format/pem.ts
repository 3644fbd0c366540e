// PEM in Go's encoding/pem style: 64-character base64 lines, LF endings, a
// trailing newline, no headers unless the block had some.
export interface PemBlock {
  type: string;
  /** Header lines ("Key: value") in input order. */
  headers: string[];
  bytes: Buffer;
}

export function encodePem(type: string, der: Uint8Array, headers: string[] = []): string {
  const b64 = Buffer.from(der).toString("base64");
  let out = `-----BEGIN ${type}-----\n`;
  if (headers.length > 0) out += headers.join("\n") + "\n\n";
  for (let i = 0; i < b64.length; i += 64) out += b64.slice(i, i + 64) + "\n";
  return out + `-----END ${type}-----\n`;
}

export function encodeBlock(block: PemBlock): string {
  return encodePem(block.type, block.bytes, block.headers);
}

const BLOCK_RE = /-----BEGIN ([^\r\n]*?)-----\r?\n([\s\S]*?)-----END \1-----/g;

/** All well-formed blocks in order, skipping text between them (like repeated pem.Decode). */
export function decodePemBlocks(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (const m of text.matchAll(BLOCK_RE)) {
    const body = m[2]!;
    const headers: string[] = [];
    let rest = body;
    const headerEnd = body.search(/\r?\n\r?\n/);
    if (headerEnd >= 0 && /^[^\r\n]*:/.test(body)) {
      headers.push(...body.slice(0, headerEnd).split(/\r?\n/).filter((l) => l.length > 0));
      rest = body.slice(headerEnd).trimStart();
    }
    const b64 = rest.replace(/[\s]/g, "");
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) continue;
    blocks.push({ type: m[1]!, headers, bytes: Buffer.from(b64, "base64") });
  }
  return blocks;
}
