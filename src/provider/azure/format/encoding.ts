// Strict decoders with Go's error texts. Node's Buffer.from(…, "base64" |
// "hex") silently skips bad characters and stops at odd lengths, which would
// write garbage files instead of failing the mount.

/** Go base64.StdEncoding.DecodeString: padding required, CR/LF ignored, nothing else tolerated. */
export function decodeStdBase64(s: string): Buffer {
  const isAlpha = (c: number) =>
    (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 43 || c === 47;
  let quantum = 0; // characters in the current 4-char group
  let quantumStart = 0;
  let padding = 0;
  let clean = "";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 10 || c === 13) continue;
    if (quantum === 0) quantumStart = i;
    if (padding > 0) {
      if (c !== 61 || quantum !== 3) throw illegal(i);
      padding++;
    } else if (c === 61) {
      if (quantum < 2) throw illegal(i);
      padding = 1;
    } else if (!isAlpha(c)) {
      throw illegal(i);
    }
    clean += s[i];
    quantum = (quantum + 1) % 4;
    if (quantum === 0 && padding > 0) {
      // Anything but newlines after the padding is an error.
      for (let j = i + 1; j < s.length; j++) {
        const d = s.charCodeAt(j);
        if (d !== 10 && d !== 13) throw illegal(j);
      }
      break;
    }
  }
  if (quantum !== 0) throw illegal(quantumStart);
  return Buffer.from(clean, "base64");
}

function illegal(offset: number): Error {
  return new Error(`illegal base64 data at input byte ${offset}`);
}

/** Go hex.DecodeString: bad characters are reported first, then odd length. */
export function decodeHex(s: string): Buffer {
  const bytes = Buffer.from(s, "utf8");
  const isHex = (c: number) => (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
  for (const c of bytes) {
    if (!isHex(c)) throw new Error(`encoding/hex: invalid byte: ${goRuneU(c)}`);
  }
  if (bytes.length % 2 === 1) throw new Error("encoding/hex: odd length hex string");
  return Buffer.from(bytes.toString("latin1"), "hex");
}

/** Go's %#U for a byte value. */
function goRuneU(c: number): string {
  const code = `U+${c.toString(16).toUpperCase().padStart(4, "0")}`;
  const printable = (c >= 0x20 && c < 0x7f) || (c >= 0xa1 && c !== 0xad);
  return printable ? `${code} '${String.fromCharCode(c)}'` : code;
}

/** Upstream getContentBytes: objectEncoding applies to `secret` objects only. */
export function applyObjectEncoding(content: string, objectType: string, objectEncoding: string): Buffer {
  const enc = objectEncoding.toLowerCase();
  if (objectType.toLowerCase() !== "secret" || enc === "" || enc === "utf-8") return Buffer.from(content, "utf8");
  if (enc === "base64") return decodeStdBase64(content);
  if (enc === "hex") return decodeHex(content);
  throw new Error("invalid objectEncoding. Should be utf-8, base64, or hex");
}
