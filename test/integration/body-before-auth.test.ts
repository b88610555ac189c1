import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from '../../lib/service/stack.js';
import { LocalObjectStore } from '../../lib/storage/local.js';

/**
 * Issue 13, finding 8: bodies were read (up to 128 MiB each) before the token was checked, and a
 * body over 128 MiB answered 500 with no log line. Each request here sends only the start of the
 * body it declares: an answer proves the server decided without reading the rest (a server that
 * waited for the body would never answer, and the watchdog fails the test instead of hanging it).
 */

const MiB = 1024 * 1024;
let dir: string;
let stack: Stack;
let admin: string;
let submitter: string;
const logs: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlaas4hep-body-'));
  stack = await startStack({ store: new LocalObjectStore(dir), log: (e) => logs.push(e) });
  admin = stack.token!('root', ['admin']);
  submitter = stack.token!('alice', ['submit']);
});
afterAll(async () => {
  await stack.stop();
  await rm(dir, { recursive: true, force: true });
});

interface Sent {
  status: number;
  body: string;
  /** bytes of the body the client had written when the answer came */
  written: number;
}

/**
 * POSTs to `path` declaring `declared` bytes (or chunked, when undefined), writing 64 KiB pieces
 * until the server answers or `sendAtMost` bytes are out; then waits for the answer, for at most
 * `watchdogMs` (the test fails, not hangs, when the server never answers).
 */
function post(
  path: string,
  o: { token?: string; declared?: number; sendAtMost: number; watchdogMs?: number },
): Promise<Sent> {
  const url = new URL(path, stack.url);
  return new Promise((resolve, reject) => {
    let written = 0;
    let answered = false;
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
    if (o.token) headers.authorization = `Bearer ${o.token}`;
    if (o.declared !== undefined) headers['content-length'] = String(o.declared);
    const req = request(url, { method: 'POST', headers, agent: false });
    const watchdog = setTimeout(() => {
      req.destroy();
      reject(
        new Error(
          `no answer from ${path} within ${o.watchdogMs ?? 10_000} ms: the server waited for the body`,
        ),
      );
    }, o.watchdogMs ?? 10_000);
    req.on('response', (res) => {
      answered = true;
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => {
        clearTimeout(watchdog);
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString('utf8'), written });
        req.destroy();
      });
    });
    // the server closing the connection while the client still sends is expected
    req.on('error', () => undefined);
    const piece = Buffer.alloc(64 * 1024, 120);
    const pump = () => {
      while (!answered && written < o.sendAtMost) {
        written += piece.length;
        if (!req.write(piece)) {
          req.once('drain', pump);
          return;
        }
      }
    };
    pump();
  });
}

const logged = (status: number, route: string) =>
  logs.some((l) => l.status === status && l.route === route && typeof l.requestId === 'string');

describe('bodies before authentication (issue 13, finding 8)', () => {
  it('answers 401 to eight parallel 120 MB posts without a token, having read none of them', async () => {
    const sends = Array.from({ length: 8 }, () =>
      post('/upload', { declared: 120 * MiB, sendAtMost: 256 * 1024 }),
    );
    for (const r of await Promise.all(sends)) {
      expect(r.status).toBe(401);
      expect(r.body).toMatch(/missing Authorization header/);
    }
    expect(logged(401, 'POST /upload')).toBe(true);
  });

  it('answers 413, never 500, to a 128 MiB upload from an admin, before reading it, with a log line', async () => {
    const r = await post('/upload', { token: admin, declared: 128 * MiB + 1, sendAtMost: 256 * 1024 });
    expect(r.status).toBe(413);
    expect(JSON.parse(r.body)).toMatchObject({
      error: 'PayloadTooLarge',
      message: `request body of ${128 * MiB + 1} bytes is over this route's limit of ${64 * MiB} bytes`,
    });
    expect(logged(413, 'POST /upload')).toBe(true);
  });

  it("refuses a body over /submit's 1 MiB from its Content-Length, before reading it", async () => {
    const r = await post('/submit', { token: submitter, declared: 2 * MiB, sendAtMost: 64 * 1024 });
    expect(r.status).toBe(413);
    expect(logged(413, 'POST /submit')).toBe(true);
  });

  it('stops reading a chunked body (no Content-Length) at the limit and answers 413', async () => {
    const r = await post('/submit', { token: submitter, sendAtMost: 64 * MiB });
    expect(r.status).toBe(413);
    expect(JSON.parse(r.body).message).toMatch(
      /over this route's limit of 1048576 bytes \(reading stopped there\)/,
    );
    // answered long before the 64 MiB the client was ready to send
    expect(r.written).toBeLessThan(32 * MiB);
  });

  it("refuses a token without the route's scope before reading the body (403)", async () => {
    const r = await post('/upload', { token: submitter, declared: 100 * MiB, sendAtMost: 64 * 1024 });
    expect(r.status).toBe(403);
  });

  it('still serves requests on the same server afterwards, bodies included', async () => {
    const health = await fetch(`${stack.url}/v2/health/live`);
    expect(health.status).toBe(200);
    const res = await fetch(`${stack.url}/submit`, {
      method: 'POST',
      headers: { authorization: `Bearer ${submitter}`, 'content-type': 'application/json' },
      body: JSON.stringify({ files: ['/nonexistent/a.root'], labels: [1], params: { epochs: 1e9 } }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toMatch(/params\.epochs/);
  });
});
