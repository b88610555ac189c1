import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * S3's conditional writes in front of an emulator that ignores them (s3rver answers 200 to a PUT
 * with `If-None-Match: *` on an existing key and to a stale `If-Match`). Our job store and bundle
 * store rely on them: a replayed submit must find its job instead of writing it again, and two
 * writers of one record must not lose each other's update.
 *
 * A small HTTP proxy: every request goes through unchanged (headers, Host and so the signature
 * included), except that a PutObject carrying a condition is checked first with a HEAD of the key
 * and answered as S3 answers it: 412 PreconditionFailed when `If-None-Match: *` finds an object
 * or `If-Match` another ETag, 404 NoSuchKey when `If-Match` finds none. Writes to one key pass one
 * at a time, so the check and the write cannot be split by another writer of that key.
 */
export interface S3Guard {
  /** the endpoint clients use instead of the emulator's */
  endpoint: string;
  port: number;
  close(): Promise<void>;
}

const unquote = (etag: string): string => etag.replace(/^W\//, '').replace(/^"|"$/g, '');

function s3Error(res: ServerResponse, status: number, code: string, message: string, key: string): void {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><Key>${key}</Key></Error>`;
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** How S3 answers a conditional PutObject given the key's current ETag; undefined: it writes. */
function refused(
  ifNoneMatch: string | undefined,
  ifMatch: string | undefined,
  current: string | undefined,
): { status: number; code: string; message: string } | undefined {
  const failed = {
    status: 412,
    code: 'PreconditionFailed',
    message: 'At least one of the pre-conditions you specified did not hold',
  };
  if (ifNoneMatch?.trim() === '*' && current !== undefined) return failed;
  if (ifMatch === undefined) return undefined;
  if (current === undefined)
    return { status: 404, code: 'NoSuchKey', message: 'The specified key does not exist.' };
  return unquote(ifMatch.trim()) === unquote(current) ? undefined : failed;
}

/** HEAD of the same key on the emulator: its ETag, or undefined when there is no object. */
function currentEtag(upstream: URL, req: IncomingMessage, path: string): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const head = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: 'HEAD',
        path,
        // the Host the client addressed (a virtual-hosted bucket is named there); no credentials:
        // the emulator lets an unsigned HEAD through
        headers: { host: req.headers.host ?? upstream.host },
      },
      (res) => {
        res.resume();
        if (res.statusCode === 404) resolve(undefined);
        else if (res.statusCode === 200) resolve(String(res.headers.etag ?? ''));
        else reject(new Error(`HEAD ${path} answered ${res.statusCode}`));
      },
    );
    head.on('error', reject);
    head.setTimeout(10_000, () => head.destroy(new Error(`HEAD ${path} took more than 10 s`)));
    head.end();
  });
}

/**
 * Passes a request through and settles when its exchange is over: answered in full, or given up
 * by either side (a client that times out must not hold the key's writes forever).
 */
function forward(upstream: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    res.once('close', () => resolve());
    const out = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
        up.once('error', () => res.destroy());
      },
    );
    out.on('error', (err) => {
      if (!res.headersSent) s3Error(res, 503, 'ServiceUnavailable', err.message, req.url ?? '');
      else res.destroy();
    });
    req.once('close', () => {
      if (!req.complete) out.destroy();
    });
    req.pipe(out);
  });
}

/** A PutObject (not a part of a multipart upload) with a condition S3 would check. */
function conditionalPut(req: IncomingMessage): boolean {
  if (req.method !== 'PUT') return false;
  const query = new URL(req.url ?? '/', 'http://x').searchParams;
  if (query.has('partNumber') || query.has('uploadId') || query.has('tagging') || query.has('acl'))
    return false;
  return req.headers['if-none-match'] !== undefined || req.headers['if-match'] !== undefined;
}

export async function startS3Guard(o: { upstream: string; port?: number; host?: string }): Promise<S3Guard> {
  const upstream = new URL(o.upstream);
  // the writes in flight per key: the next write of a key waits for the one before
  const writes = new Map<string, Promise<void>>();

  async function guarded(
    req: IncomingMessage,
    res: ServerResponse,
    key: string,
    path: string,
  ): Promise<void> {
    let current: string | undefined;
    try {
      current = await currentEtag(upstream, req, path);
    } catch (err) {
      req.resume();
      return s3Error(res, 503, 'ServiceUnavailable', (err as Error).message, key);
    }
    const refusal = refused(req.headers['if-none-match'], req.headers['if-match'], current);
    if (refusal) {
      req.resume();
      return s3Error(res, refusal.status, refusal.code, refusal.message, key);
    }
    return forward(upstream, req, res);
  }

  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const key = `${req.headers.host ?? ''}${path}`;
    const isWrite = req.method === 'PUT' || req.method === 'DELETE';
    if (!isWrite) {
      void forward(upstream, req, res);
      return;
    }
    const before = writes.get(key) ?? Promise.resolve();
    const mine = before.then(() =>
      conditionalPut(req) ? guarded(req, res, key, path) : forward(upstream, req, res),
    );
    const settled = mine.catch(() => undefined);
    writes.set(key, settled);
    void settled.then(() => {
      if (writes.get(key) === settled) writes.delete(key);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, o.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://${o.host ?? '127.0.0.1'}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
