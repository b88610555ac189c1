import { UnavailableError } from '../../errors.js';

export interface Part {
  start: number;
  end: number;
  total?: number;
  data: Uint8Array;
}

export function parseContentRange(
  value: string | null,
): { start: number; end: number; total?: number } | undefined {
  const m = /^\s*bytes\s+(\d+)-(\d+)\/(\d+|\*)\s*$/i.exec(value ?? '');
  if (!m) return undefined;
  return { start: Number(m[1]), end: Number(m[2]), total: m[3] === '*' ? undefined : Number(m[3]) };
}

/** Reads a body of at most `limit` bytes; beyond that it stops the transfer (throws, or returns undefined). */
export async function readBody(res: Response, limit: number, strict: true): Promise<Uint8Array>;
export async function readBody(res: Response, limit: number, strict: false): Promise<Uint8Array | undefined>;
export async function readBody(
  res: Response,
  limit: number,
  strict: boolean,
): Promise<Uint8Array | undefined> {
  const declared = res.headers.get('content-length');
  const tooLong = () => {
    if (strict) throw new UnavailableError(`the server sent more than the ${limit} bytes asked for`);
    return undefined;
  };
  if (declared !== null && Number(declared) > limit) {
    await res.body?.cancel();
    return tooLong();
  }
  const out = new Uint8Array(declared !== null ? Number(declared) : limit);
  let n = 0;
  if (res.body) {
    for await (const chunk of res.body) {
      if (n + chunk.length > out.length) {
        await res.body.cancel().catch(() => undefined);
        return tooLong();
      }
      out.set(chunk, n);
      n += chunk.length;
    }
  }
  if (strict && n !== limit)
    throw new UnavailableError(`the server sent ${n} bytes where ${limit} were expected`);
  return out.subarray(0, n);
}

/** Parses a multipart/byteranges body; parts may come in any order. Undefined when malformed. */
export function parseMultipart(body: Uint8Array, boundary: string): Part[] | undefined {
  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const delimiter = Buffer.from(`--${boundary}`, 'latin1');
  const parts: Part[] = [];
  let pos = buf.indexOf(delimiter);
  while (pos >= 0) {
    pos += delimiter.length;
    if (buf[pos] === 0x2d && buf[pos + 1] === 0x2d) break;
    const crlf = buf.indexOf('\r\n\r\n', pos);
    const lf = buf.indexOf('\n\n', pos);
    const headEnd = crlf >= 0 && (lf < 0 || crlf < lf) ? crlf + 4 : lf >= 0 ? lf + 2 : -1;
    if (headEnd < 0) return undefined;
    const header = /^content-range:(.*)$/im.exec(buf.toString('latin1', pos, headEnd));
    const cr = parseContentRange(header?.[1].trim() ?? null);
    // Take the data length from Content-Range, not the next delimiter, which could appear inside the data.
    const end = cr ? headEnd + cr.end - cr.start + 1 : -1;
    if (!cr || end > buf.length) return undefined;
    parts.push({ ...cr, data: body.subarray(headEnd, end) });
    pos = buf.indexOf(delimiter, end);
  }
  return parts.length ? parts : undefined;
}
