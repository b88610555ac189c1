import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve, sep } from 'node:path';

export interface RangeServerOptions {
  /** Directory whose files are served at /<name>. */
  root: string;
  /** Answer multi-range requests with multipart/byteranges; otherwise see `multiRangeFallback`. */
  multiRange: boolean;
  /** Send a strong ETag (content hash) and honour If-Match (default true). */
  etag?: boolean;
  /** Without multi-range support: 'full' answers 200 with the whole file (like S3), 'first' a 206 of the first range. */
  multiRangeFallback?: 'full' | 'first';
  /** Send multipart parts in reverse order, which clients must accept. */
  reverseParts?: boolean;
  /** Ignore Range headers entirely (200 with the whole file), as a plain static server might. */
  ignoreRange?: boolean;
}

export interface RangeServer {
  url: string;
  /** Requests served so far (HEAD included). */
  readonly requests: number;
  /** Method and Range header of each request, in arrival order. */
  readonly log: ReadonlyArray<{ method: string; range?: string }>;
  close(): Promise<void>;
}

type Span = [start: number, end: number];

/** A local HTTP server with range support, bound to 127.0.0.1 only, for source tests. */
export async function startRangeServer(options: RangeServerOptions): Promise<RangeServer> {
  const root = resolve(options.root);
  const log: Array<{ method: string; range?: string }> = [];
  const server = createServer((req, res) => {
    log.push({ method: req.method ?? '', range: req.headers.range });
    serve(root, options, req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((ok, fail) => server.once('error', fail).listen(0, '127.0.0.1', () => ok()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get requests() {
      return log.length;
    },
    log,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

async function serve(root: string, o: RangeServerOptions, req: IncomingMessage, res: ServerResponse) {
  const path = resolve(root, `.${decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)}`);
  const data = path.startsWith(root + sep) ? await readFile(path).catch(() => undefined) : undefined;
  if (!data) return void res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
  const size = data.length;
  const headers: Record<string, string> = { 'Accept-Ranges': 'bytes' };
  if (o.etag !== false) {
    headers.ETag = `"${createHash('sha1').update(data).digest('hex')}"`;
    const ifMatch = req.headers['if-match'];
    if (ifMatch && ifMatch !== '*' && ifMatch !== headers.ETag) return void res.writeHead(412).end();
  }
  const body = (status: number, extra: Record<string, string>, bytes: Uint8Array) => {
    res.writeHead(status, { ...headers, 'Content-Length': String(bytes.length), ...extra });
    res.end(req.method === 'HEAD' ? undefined : bytes);
  };
  const spans = o.ignoreRange ? undefined : parseRange(req.headers.range, size);
  if (!spans) return body(200, { 'Content-Type': 'application/octet-stream' }, data);
  if (spans.length === 0) return body(416, { 'Content-Range': `bytes */${size}` }, new Uint8Array(0));
  const single = ([a, b]: Span) =>
    body(206, { 'Content-Range': `bytes ${a}-${b}/${size}` }, data.subarray(a, b + 1));
  if (spans.length === 1) return single(spans[0]);
  if (!o.multiRange) {
    return o.multiRangeFallback === 'first' ? single(spans[0]) : body(200, {}, data);
  }
  const boundary = randomBytes(12).toString('hex');
  const chunks: Uint8Array[] = [];
  for (const [a, b] of o.reverseParts ? [...spans].reverse() : spans) {
    const head = `\r\n--${boundary}\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes ${a}-${b}/${size}\r\n\r\n`;
    chunks.push(Buffer.from(head, 'latin1'), data.subarray(a, b + 1));
  }
  chunks.push(Buffer.from(`\r\n--${boundary}--\r\n`, 'latin1'));
  body(206, { 'Content-Type': `multipart/byteranges; boundary=${boundary}` }, Buffer.concat(chunks));
}

/** Satisfiable spans of a Range header; undefined when absent or malformed (serve the whole file). */
function parseRange(header: string | undefined, size: number): Span[] | undefined {
  const m = /^bytes=(.+)$/.exec(header ?? '');
  if (!m) return undefined;
  const spans: Span[] = [];
  for (const spec of m[1].split(',')) {
    const r = /^\s*(\d*)-(\d*)\s*$/.exec(spec);
    if (!r || (r[1] === '' && r[2] === '')) return undefined;
    const [a, b] =
      r[1] === '' ? [size - Number(r[2]), size - 1] : [Number(r[1]), r[2] === '' ? size - 1 : Number(r[2])];
    if (a < size && a <= b) spans.push([Math.max(0, a), Math.min(b, size - 1)]);
  }
  return spans;
}
