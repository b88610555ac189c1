import { gzipSync } from 'node:zlib';

const enc = new TextEncoder();

function octal(n: number, width: number): string {
  return `${n.toString(8).padStart(width - 1, '0')}\0`;
}

/** One ustar header: names up to 100 bytes (bundle paths are short and checked), regular files. */
function header(path: string, size: number, mtime: number): Uint8Array {
  const h = new Uint8Array(512);
  const put = (s: string, at: number) => h.set(enc.encode(s), at);
  put(path, 0);
  put(octal(0o644, 8), 100);
  put(octal(0, 8), 108);
  put(octal(0, 8), 116);
  put(octal(size, 12), 124);
  put(octal(mtime, 12), 136);
  put('        ', 148);
  put('0', 156);
  put('ustar\x0000', 257);
  let sum = 0;
  for (const b of h) sum += b;
  put(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return h;
}

/**
 * A gzipped tar of `files` (path → bytes), as the upload route and TFaaS's client read them: the
 * console's "download bundle" gives back what `POST /upload` takes.
 */
export function writeTarGz(
  files: ReadonlyArray<readonly [string, Uint8Array]>,
  mtime = Date.now(),
): Uint8Array {
  const parts: Uint8Array[] = [];
  const seconds = Math.floor(mtime / 1000);
  for (const [path, body] of files) {
    if (enc.encode(path).length > 99) throw new RangeError(`tar path longer than 99 bytes: ${path}`);
    parts.push(header(path, body.length, seconds), body);
    const pad = (512 - (body.length % 512)) % 512;
    if (pad) parts.push(new Uint8Array(pad));
  }
  parts.push(new Uint8Array(1024));
  return gzipSync(Buffer.concat(parts));
}
