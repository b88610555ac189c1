import { gunzip } from 'node:zlib';
import { BundleTooLargeError, InvalidInputError } from '../errors.js';

/** One regular file of a tar archive: its normalised relative path and its bytes. */
export interface TarFile {
  path: string;
  data: Uint8Array;
}

export interface TarLimits {
  /** most bytes of file content in total */
  maxBytes: number;
  /** most entries (files, folders, headers) */
  maxEntries?: number;
}

const BLOCK = 512;
const dec = new TextDecoder();

function text(b: Uint8Array, at: number, len: number): string {
  let end = at;
  while (end < at + len && b[end] !== 0) end++;
  return dec.decode(b.subarray(at, end));
}

/** Octal (NUL/space terminated) or GNU base-256 numeric field. */
function num(b: Uint8Array, at: number, len: number, what: string): number {
  if (b[at] & 0x80) {
    let v = b[at] & 0x7f;
    for (let i = at + 1; i < at + len; i++) v = v * 256 + b[i];
    return v;
  }
  const s = text(b, at, len).trim();
  if (!/^[0-7]*$/.test(s)) throw new InvalidInputError(`not a tar archive: bad ${what} field "${s}"`);
  return s ? Number.parseInt(s, 8) : 0;
}

function checksumOk(h: Uint8Array): boolean {
  const stored = num(h, 148, 8, 'checksum');
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const c = i >= 148 && i < 156 ? 32 : h[i];
    unsigned += c;
    signed += c > 127 ? c - 256 : c;
  }
  return stored === unsigned || stored === signed;
}

/** pax extended header records: "<len> <key>=<value>\n" */
function paxRecords(data: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {};
  const s = dec.decode(data);
  let at = 0;
  while (at < s.length) {
    const sp = s.indexOf(' ', at);
    const len = Number.parseInt(s.slice(at, sp), 10);
    if (sp < 0 || !(len > 0)) throw new InvalidInputError('not a tar archive: malformed pax header');
    const rec = s.slice(sp + 1, at + len - 1);
    const eq = rec.indexOf('=');
    if (eq > 0) out[rec.slice(0, eq)] = rec.slice(eq + 1);
    at += len;
  }
  return out;
}

/** Refuses absolute paths, ".." segments and backslashes; drops "." and empty segments. */
export function safeRelativePath(raw: string): string {
  if (raw.startsWith('/') || /^[A-Za-z]:/.test(raw))
    throw new InvalidInputError(
      `the archive holds an absolute path "${raw}"; use paths relative to the bundle`,
    );
  if (raw.includes('\\'))
    throw new InvalidInputError(`the archive holds a path with a backslash "${raw}"; use "/" as separator`);
  const parts = raw.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..'))
    throw new InvalidInputError(`the archive holds a path leaving its folder "${raw}"`);
  return parts.join('/');
}

const KIND: Record<string, string> = {
  '1': 'a hard link',
  '2': 'a symbolic link',
  '3': 'a character device',
  '4': 'a block device',
  '6': 'a FIFO',
};

/**
 * Reads a ustar/pax/GNU tar archive held in memory. Only regular files and folders are allowed:
 * links, devices, absolute paths and ".." refuse the whole archive, so does content beyond the limits.
 */
export function readTar(tar: Uint8Array, limits: TarLimits): TarFile[] {
  const maxEntries = limits.maxEntries ?? 1000;
  const files: TarFile[] = [];
  const seen = new Set<string>();
  let total = 0;
  let entries = 0;
  let at = 0;
  let pax: Record<string, string> = {};
  let longName: string | undefined;
  while (at + BLOCK <= tar.length) {
    const h = tar.subarray(at, at + BLOCK);
    if (h.every((b) => b === 0)) break; // end of archive
    if (++entries > maxEntries)
      throw new BundleTooLargeError(`the archive holds more than ${maxEntries} entries`);
    if (!checksumOk(h)) throw new InvalidInputError(`not a tar archive: bad header checksum at byte ${at}`);
    const type = String.fromCharCode(h[156] || 48);
    const size = pax.size !== undefined ? Number(pax.size) : num(h, 124, 12, 'size');
    if (!Number.isSafeInteger(size) || size < 0)
      throw new InvalidInputError(`not a tar archive: bad size at byte ${at}`);
    const start = at + BLOCK;
    const end = start + size;
    if (end > tar.length) throw new InvalidInputError('the archive is truncated');
    at = start + Math.ceil(size / BLOCK) * BLOCK;
    const data = tar.subarray(start, end);
    if (type === 'x') {
      pax = paxRecords(data);
      continue;
    }
    if (type === 'g') continue; // global pax header: nothing we use
    if (type === 'L') {
      longName = text(data, 0, data.length);
      continue;
    }
    const ustar = text(h, 257, 5) === 'ustar';
    const prefix = ustar ? text(h, 345, 155) : '';
    const name = pax.path ?? longName ?? (prefix ? `${prefix}/${text(h, 0, 100)}` : text(h, 0, 100));
    pax = {};
    longName = undefined;
    if (KIND[type])
      throw new InvalidInputError(`the archive entry "${name}" is ${KIND[type]}; only files are allowed`);
    const path = safeRelativePath(name);
    if (type === '5') continue; // a folder
    if (type !== '0' && type !== '7')
      throw new InvalidInputError(`the archive entry "${name}" has unsupported type "${type}"`);
    total += size;
    if (total > limits.maxBytes)
      throw new BundleTooLargeError(`the archive unpacks to more than ${limits.maxBytes} bytes`);
    if (!path) continue;
    if (seen.has(path)) throw new InvalidInputError(`the archive holds "${path}" twice`);
    seen.add(path);
    files.push({ path, data });
  }
  return files;
}

/** Gunzips (when gzip-compressed) without ever holding more than the limit allows, then reads the tar. */
export async function readTarGz(bytes: Uint8Array, limits: TarLimits): Promise<TarFile[]> {
  const maxEntries = limits.maxEntries ?? 1000;
  if (bytes.length < 2 || bytes[0] !== 0x1f || bytes[1] !== 0x8b) return readTar(bytes, limits);
  // headers, pax records and padding: at most ~2 KiB per entry on top of the content
  const maxOutputLength = limits.maxBytes + maxEntries * 2048 + 64 * 1024;
  const tar = await new Promise<Uint8Array>((resolve, reject) =>
    gunzip(bytes, { maxOutputLength }, (err, out) => {
      if (!err) resolve(out);
      else if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError)
        reject(new BundleTooLargeError(`the archive unpacks to more than ${limits.maxBytes} bytes`));
      else reject(new InvalidInputError(`not a gzip file: ${err.message}`));
    }),
  );
  return readTar(tar, { ...limits, maxEntries });
}
