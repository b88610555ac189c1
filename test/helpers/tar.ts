import { gzipSync } from 'node:zlib';

// a hand-written ustar writer for the upload tests
function tarHeader(name: string, size: number, type = '0', link = ''): Uint8Array {
  const h = new Uint8Array(512);
  const put = (s: string, at: number) => h.set(new TextEncoder().encode(s), at);
  put(name, 0);
  put('0000644\0', 100);
  put('0000000\0', 108);
  put('0000000\0', 116);
  put(`${size.toString(8).padStart(11, '0')}\0`, 124);
  put('00000000000\0', 136);
  put('        ', 148);
  put(type, 156);
  put(link, 157);
  put('ustar\0', 257);
  put('00', 263);
  const sum = h.reduce((s, b) => s + b, 0);
  put(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return h;
}

export type TarEntry = { name: string; data?: string | Uint8Array; type?: string; link?: string };

/** A gzipped tar of the entries (files, or links and folders by `type`), as TFaaS bundles come. */
export function tarGz(entries: TarEntry[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const e of entries) {
    const data =
      typeof e.data === 'string' ? new TextEncoder().encode(e.data) : (e.data ?? new Uint8Array(0));
    parts.push(
      tarHeader(e.name, data.length, e.type, e.link),
      data,
      new Uint8Array((512 - (data.length % 512)) % 512),
    );
  }
  parts.push(new Uint8Array(1024));
  return gzipSync(Buffer.concat(parts));
}
