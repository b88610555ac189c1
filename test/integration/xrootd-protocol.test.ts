import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { UnavailableError, UnprocessableError } from '../../lib/errors.js';
import { RootFileNotFoundError, SourceChangedError } from '../../lib/root/errors.js';
import type { ByteRange } from '../../lib/root/source/types.js';
import { XRootDPool } from '../../lib/root/source/xrootd/pool.js';
import { XRootDSource, type XRootDSourceOptions } from '../../lib/root/source/xrootd.js';
import {
  errorBody,
  type FakeServer,
  type Handler,
  redirectBody,
  serveFile,
  startFakeXRootD,
  waitBody,
} from '../helpers/fake-xrootd.js';

// Protocol paths the real server does not produce on demand, against a scripted server on 127.0.0.1.
const DATA = randomBytes(5 * 1024 * 1024 + 123);
const RANGES: ByteRange[] = [
  [0, 4],
  [100, 1000],
  [1200, 50],
  [2_000_000, 3_000_000], // longer than one vector-read element (2 MiB): cut and put back together
  [5_200_000, 300],
  [DATA.length - 10, 10],
  [10, 0],
];
const expected = RANGES.map(([o, l]) => DATA.subarray(o, o + l));

const servers: FakeServer[] = [];
const pools: XRootDPool[] = [];
async function fake(handlers: Handler[], options?: Parameters<typeof startFakeXRootD>[1]) {
  const s = await startFakeXRootD(handlers, options);
  servers.push(s);
  return s;
}
function source(
  url: string,
  options: XRootDSourceOptions & { timeoutMs?: number; connectionsPerHost?: number } = {},
) {
  const pool = new XRootDPool({
    timeoutMs: options.timeoutMs ?? 5000,
    connectionsPerHost: options.connectionsPerHost,
    token: async () => 'secret-token',
  });
  pools.push(pool);
  return new XRootDSource(url, { retryDelayMs: 10, ...options, pool: options.pool ?? pool });
}
const same = (got: Uint8Array[]) => got.map((g, i) => Buffer.compare(Buffer.from(g), expected[i]));
const codes = (s: FakeServer, code: number) => s.requests.filter((r) => r.code === code).length;
/** Answers every request `code` with one frame (status, body). */
const on =
  (code: number, frame: () => [status: number, body?: Buffer]): Handler =>
  (req, reply) => {
    if (req.code !== code) return false;
    reply.send(...frame());
    return true;
  };

afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

describe('XRootD protocol paths (scripted server)', () => {
  it('reads ranges with vector reads whose answers are split into kXR_oksofar parts at arbitrary bytes', async () => {
    const s = await fake([serveFile(DATA, { part: 1000 })]);
    const src = source(`${s.url}//store/f.root`);
    expect(await src.size()).toBe(DATA.length);
    expect(same(await src.read(RANGES))).toEqual(RANGES.map(() => 0));
    expect(codes(s, 3025)).toBeGreaterThan(0);
    // one range: a plain kXR_read, split into parts too
    expect(Buffer.compare(Buffer.from((await src.read([[7, 300_000]]))[0]), DATA.subarray(7, 300_007))).toBe(
      0,
    );
    await src.close();
    expect(codes(s, 3003)).toBe(1);
  });

  it('keeps several requests in flight on one connection and matches answers that come back in reverse order', async () => {
    const held: Array<() => void> = [];
    const file = serveFile(DATA);
    const reverse: Handler = (req, reply) => {
      if (req.code !== 3025) return false;
      held.push(() => file(req, reply));
      if (held.length === 3) for (const answer of held.splice(0).reverse()) answer();
      return true;
    };
    const s = await fake([reverse, file]);
    const src = source(`${s.url}//store/f.root`, { maxRequestBytes: 1_500_000, gap: 0, concurrency: 3 });
    const ranges: ByteRange[] = [
      [0, 1_000_000],
      [2_000_000, 1_000_000],
      [4_000_000, 1_000_000],
    ];
    const got = await src.read(ranges);
    for (const [i, [o, l]] of ranges.entries()) {
      expect(Buffer.compare(Buffer.from(got[i]), DATA.subarray(o, o + l))).toBe(0);
    }
    expect(s.connections).toBe(1);
  });

  it('honours kXR_wait: the request is sent again after the given seconds', async () => {
    let first = true;
    const busy: Handler = (req, reply) => {
      if (req.code !== 3010 || !first) return false;
      first = false;
      reply.send(4005, waitBody(1, 'staging'));
      return true;
    };
    const s = await fake([busy, serveFile(DATA)]);
    const t0 = Date.now();
    expect(await source(`${s.url}//store/f.root`).size()).toBe(DATA.length);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(codes(s, 3010)).toBe(2);
  });

  it('gives up on kXR_wait beyond maxWaitSeconds with a 503 that quotes the server', async () => {
    const s = await fake([on(3010, () => [4005, waitBody(30, 'tape recall')])]);
    const err = await source(`${s.url}//store/f.root`, { maxWaitSeconds: 10, retries: 0 })
      .size()
      .catch((e) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect(err.message).toMatch(/keeps asking us to wait \(tape recall\)/);
  });

  it('takes an answer announced by kXR_waitresp and delivered later as kXR_attn (asynresp)', async () => {
    const file = serveFile(DATA);
    const later: Handler = (req, reply) => {
      if (req.code !== 3013) return false;
      reply.send(4006, waitBody(2));
      setTimeout(() => {
        const offset = Number(req.header.readBigInt64BE(8));
        const length = req.header.readInt32BE(16);
        reply.asyncAnswer(req.streamId, 0, DATA.subarray(offset, offset + length));
      }, 300);
      return true;
    };
    const s = await fake([later, file]);
    // a request timeout shorter than the wait: kXR_waitresp extends it by the announced seconds
    const src = source(`${s.url}//store/f.root`, { timeoutMs: 200 });
    const [got] = await src.read([[1000, 5000]]);
    expect(Buffer.compare(Buffer.from(got), DATA.subarray(1000, 6000))).toBe(0);
  });

  it('follows a redirect to the data server, asking checkHost about every hop, with the opaque part merged', async () => {
    const data = await fake([serveFile(DATA)]);
    const redirector = await fake([on(3010, () => [4004, redirectBody('127.0.0.1?tried=x&a=2', data.port)])]);
    const hops: string[] = [];
    const src = source(`${redirector.url}//store/f.root?a=1&b=2`, {
      checkHost: (t) => void hops.push(`${t.protocol}//${t.host}:${t.port}`),
    });
    expect(await src.size()).toBe(DATA.length);
    expect(hops).toEqual([`root://127.0.0.1:${redirector.port}`, `root://127.0.0.1:${data.port}`]);
    expect(data.requests.find((r) => r.code === 3010)?.payload.toString()).toBe(
      '/store/f.root?a=2&b=2&tried=x',
    );
  });

  it('lets checkHost refuse a redirect target before anything is sent there', async () => {
    const data = await fake([serveFile(DATA)]);
    const redirector = await fake([on(3010, () => [4004, redirectBody('127.0.0.1', data.port)])]);
    const src = source(`${redirector.url}//store/f.root`, {
      checkHost: (t) => {
        if (t.port === data.port)
          throw new UnprocessableError(`${t.host}:${t.port} is not allowed`, 'HostNotAllowed');
      },
    });
    await expect(src.size()).rejects.toThrow(/is not allowed/);
    expect(data.requests).toHaveLength(0);
  });

  it('stops a redirect loop after maxRedirects, naming the hops', async () => {
    const loop = await fake([on(3010, () => [4004, redirectBody('127.0.0.1', loop.port)])]);
    const err = await source(`${loop.url}//store/f.root`, { maxRedirects: 3, retries: 0 })
      .size()
      .catch((e) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect(err.message).toMatch(/more than 3 redirects \(127\.0\.0\.1:\d+ → /);
    expect(codes(loop, 3010)).toBe(4);
  });

  it.each([
    [3011, RootFileNotFoundError, /not found.*no such file/, 1],
    [3010, RootFileNotFoundError, /access denied/, 1],
    [3024, UnavailableError, /\[3024\] overloaded/, 3],
  ])(
    'maps kXR_error %i on open to %O and retries only transient errors',
    async (code, type, message, opens) => {
      const msg = code === 3011 ? 'no such file' : code === 3024 ? 'overloaded' : 'denied';
      const s = await fake([on(3010, () => [4003, errorBody(code, msg)])]);
      const err = await source(`${s.url}//store/f.root`, { retries: 2 })
        .size()
        .catch((e) => e);
      expect(err).toBeInstanceOf(type);
      expect(err.message).toMatch(message);
      expect(codes(s, 3010)).toBe(opens);
    },
  );

  it('breaks off a read the server never answers, retries on a new connection, then fails with a 503 (never hangs)', async () => {
    const s = await fake([(req) => req.code === 3013, serveFile(DATA)]);
    const src = source(`${s.url}//store/f.root`, { timeoutMs: 300, retries: 1 });
    const t0 = Date.now();
    const err = await src.read([[0, 100]]).catch((e) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect(err.message).toMatch(/no answer to kXR_read within 300 ms/);
    expect(codes(s, 3013)).toBe(2);
    expect(codes(s, 3010)).toBe(2); // reopened after the broken connection
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('recovers from a connection closed mid-read by reopening the file', async () => {
    let dropped = false;
    const drop: Handler = (req, reply) => {
      if (req.code !== 3025 || dropped) return false;
      dropped = true;
      reply.close();
      return true;
    };
    const s = await fake([drop, serveFile(DATA)]);
    expect(same(await source(`${s.url}//store/f.root`).read(RANGES))).toEqual(RANGES.map(() => 0));
    expect(codes(s, 3010)).toBe(2);
    // the new connection ends the broken session (id 1), so the server frees what it held at once
    const ends = s.requests.filter((r) => r.code === 3023);
    expect(ends.map((r) => [...r.header.subarray(4, 20)])).toEqual([Array(16).fill(1)]);
  });

  it('asks kXR_stat for the size when the open answer carries no stat information', async () => {
    const s = await fake([serveFile(DATA, { retstat: false })]);
    const src = source(`${s.url}//store/f.root`);
    expect(await src.fingerprint()).toBe(`size=${DATA.length};mtime=1700000000`);
    const stat = s.requests.find((r) => r.code === 3017);
    expect(stat?.header.subarray(16, 20)).toEqual(Buffer.from([0, 0, 0, 1]));
  });

  it('refuses to mix versions: a reopen that finds another size is a SourceChangedError', async () => {
    let opens = 0;
    const other = serveFile(DATA.subarray(0, 1000));
    const file = serveFile(DATA);
    const drop: Handler = (req, reply) => {
      if (req.code === 3010) return ++opens > 1 ? other(req, reply) : false;
      if (req.code !== 3013) return false;
      reply.close();
      return true;
    };
    const s = await fake([drop, file]);
    const err = await source(`${s.url}//store/f.root`)
      .read([[0, 10]])
      .catch((e) => e);
    expect(err).toBeInstanceOf(SourceChangedError);
    expect(err.message).toMatch(/size 5243003 → 1000/);
  });

  it('refuses an answer larger than asked for without buffering it', async () => {
    const huge: Handler = (req, reply) => {
      if (req.code !== 3013) return false;
      const h = Buffer.alloc(8);
      h.writeUInt16BE(req.streamId, 0);
      h.writeInt32BE(1 << 30, 4);
      reply.raw(h);
      return true;
    };
    const s = await fake([huge, serveFile(DATA)]);
    const err = await source(`${s.url}//store/f.root`, { retries: 0 })
      .read([[0, 100]])
      .catch((e) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect(err.message).toMatch(/malformed or oversized answer \(1073741824 bytes\)/);
  });

  it('never sends a token over a connection without TLS', async () => {
    const s = await fake([serveFile(DATA)], { security: '&P=ztn,TLS:0:4096:' });
    const err = await source(`${s.url}//store/f.root`)
      .size()
      .catch((e) => e);
    expect(err).toBeInstanceOf(UnprocessableError);
    expect(err.message).toMatch(/asks for authentication by ztn.*only sent over TLS: use roots:\/\//);
    expect(codes(s, 3000)).toBe(0);
  });

  it('authenticates with unix when the server asks for it', async () => {
    const s = await fake([on(3000, () => [0]), serveFile(DATA)], {
      security: '&P=gsi,v:10000&P=unix',
    });
    expect(await source(`${s.url}//store/f.root`).size()).toBe(DATA.length);
    const auth = s.requests.find((r) => r.code === 3000);
    expect(auth?.header.subarray(16, 20).toString()).toBe('unix');
    expect(auth?.payload.toString('latin1')).toMatch(/^unix\0[^\0]+\0$/);
  });

  it('shares one logged-in connection between files on the same server', async () => {
    const s = await fake([serveFile(DATA)]);
    const pool = new XRootDPool({ connectionsPerHost: 1 });
    pools.push(pool);
    const a = new XRootDSource(`${s.url}//store/a.root`, { pool });
    const b = new XRootDSource(`${s.url}//store/b.root`, { pool });
    await Promise.all([a.size(), b.size(), a.read([[0, 10]]), b.read([[5, 10]])]);
    expect(s.connections).toBe(1);
    await Promise.all([a.close(), b.close()]);
  });
});
