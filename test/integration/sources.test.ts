import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer as createTcpServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client } from '../../lib/aws/s3-client.js';
import {
  InvalidInputError,
  MisconfiguredError,
  UnavailableError,
  UnprocessableError,
} from '../../lib/errors.js';
import { CorruptFileError, RootFileNotFoundError, SourceChangedError } from '../../lib/root/errors.js';
import { HttpSource } from '../../lib/root/source/http.js';
import { LocalSource } from '../../lib/root/source/local.js';
import { openSource, parseS3Url } from '../../lib/root/source/open.js';
import { S3Source } from '../../lib/root/source/s3.js';
import type { ByteRange } from '../../lib/root/source/types.js';
import { XRootDSource } from '../../lib/root/source/xrootd.js';
import { type RangeServer, type RangeServerOptions, startRangeServer } from '../helpers/range-server.js';
import { type S3Emulator, startS3Emulator } from '../helpers/s3-emulator.js';

const DATA = resolve(import.meta.dirname, '../../../shared/data/root');
const FILE = 'uproot-HZZ.root';
let bytes: Uint8Array;

/** Deterministic pseudo-random ranges (mulberry32), some nearby, some far apart, some overlapping. */
function randomRanges(size: number, count: number, seed: number): ByteRange[] {
  let s = seed;
  const rnd = () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return Array.from({ length: count }, () => {
    const length = Math.floor(rnd() * 5000);
    return [Math.floor(rnd() * (size - length)), length] as const;
  });
}

const expected = (ranges: readonly ByteRange[]) =>
  ranges.map(([o, l]) => Array.from(bytes.subarray(o, o + l)));
const asArrays = (chunks: Uint8Array[]) => chunks.map((c) => Array.from(c));

beforeAll(async () => {
  bytes = await readFile(join(DATA, FILE));
});

describe('HttpSource', () => {
  const servers: RangeServer[] = [];
  const start = async (o: Partial<RangeServerOptions> = {}) => {
    const server = await startRangeServer({ root: DATA, multiRange: true, ...o });
    servers.push(server);
    return server;
  };
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });

  it.each([
    ['multi-range', { multiRange: true }],
    ['multi-range, parts in reverse order', { multiRange: true, reverseParts: true }],
    ['no multi-range (200 with the whole file)', { multiRange: false, multiRangeFallback: 'full' as const }],
    [
      'no multi-range (206 with the first range)',
      { multiRange: false, multiRangeFallback: 'first' as const },
    ],
    ['no ETag', { multiRange: true, etag: false }],
  ])('returns the same bytes as the local file for random ranges (%s)', async (_, o) => {
    const server = await start(o);
    const src = new HttpSource(`${server.url}/${FILE}`, { gap: 1024 });
    const local = new LocalSource(join(DATA, FILE));
    for (const seed of [1, 2, 3]) {
      const ranges = randomRanges(bytes.length, 40, seed);
      const got = await src.read(ranges);
      expect(asArrays(got)).toEqual(expected(ranges));
      expect(asArrays(got)).toEqual(asArrays(await local.read(ranges)));
    }
    await local.close();
  });

  it('coalesces nearby ranges into a single request', async () => {
    const server = await start({ multiRange: false });
    const src = new HttpSource(`${server.url}/${FILE}`);
    const ranges: ByteRange[] = Array.from({ length: 100 }, (_, i) => [i * 1000, 100]);
    expect(asArrays(await src.read(ranges))).toEqual(expected(ranges));
    expect(server.log.map((r) => r.method)).toEqual(['HEAD', 'GET']);
  });

  it('fetches far-apart ranges with one multi-range request when the server supports it', async () => {
    const server = await start({ multiRange: true });
    const src = new HttpSource(`${server.url}/${FILE}`);
    const ranges: ByteRange[] = [0, 1, 2, 3].map((i) => [i * 50_000, 100]);
    expect(asArrays(await src.read(ranges))).toEqual(expected(ranges));
    expect(server.requests).toBe(2);
  });

  it('falls back to single ranges for good once the server ignores a multi-range request', async () => {
    const server = await start({ multiRange: false });
    const src = new HttpSource(`${server.url}/${FILE}`);
    const ranges: ByteRange[] = [0, 1, 2, 3].map((i) => [i * 50_000, 100]);
    expect(asArrays(await src.read(ranges))).toEqual(expected(ranges));
    expect(server.requests).toBe(1 + 1 + 4); // HEAD, the multi-range probe, four single ranges
    await src.read(ranges);
    const later = server.log.slice(6);
    expect(later).toHaveLength(4);
    expect(later.every((r) => r.range && !r.range.includes(','))).toBe(true);
  });

  it('reports a missing file as RootFileNotFoundError', async () => {
    const server = await start();
    const src = new HttpSource(`${server.url}/missing.root`);
    await expect(src.size()).rejects.toBeInstanceOf(RootFileNotFoundError);
    await expect(src.read([[0, 4]])).rejects.toThrow(/ROOT file not found: .*missing\.root/);
  });

  it('gives the size from HEAD and the ETag as fingerprint, else the size', async () => {
    const withTag = await start({ etag: true });
    const a = new HttpSource(`${withTag.url}/${FILE}`);
    expect(await a.size()).toBe(bytes.length);
    expect(await a.fingerprint()).toMatch(/^"[0-9a-f]{40}"$/);
    expect(await a.fingerprint()).toBe(await new HttpSource(`${withTag.url}/${FILE}`).fingerprint());
    const withoutTag = await start({ etag: false });
    expect(await new HttpSource(`${withoutTag.url}/${FILE}`).fingerprint()).toBe(`size=${bytes.length}`);
  });

  it('rejects ranges beyond the end of the file with CorruptFileError, without a request', async () => {
    const server = await start();
    const src = new HttpSource(`${server.url}/${FILE}`);
    await src.size();
    await expect(src.read([[bytes.length - 2, 4]])).rejects.toBeInstanceOf(CorruptFileError);
    expect(server.requests).toBe(1);
  });

  it('reports a file replaced during the read as SourceChangedError', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'range-'));
    try {
      await copyFile(join(DATA, FILE), join(dir, FILE));
      const server = await start({ root: dir });
      const src = new HttpSource(`${server.url}/${FILE}`);
      await src.read([[0, 100]]);
      await writeFile(
        join(dir, FILE),
        bytes.map((b) => b ^ 0xff),
      );
      await expect(src.read([[0, 100]])).rejects.toBeInstanceOf(SourceChangedError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a server that ignores Range instead of downloading the whole file', async () => {
    const server = await start({ ignoreRange: true });
    const src = new HttpSource(`${server.url}/${FILE}`);
    const err = await src.read([[100, 10]]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnprocessableError);
    expect(String(err)).toMatch(/range requests/);
  });

  it('times out a server that never answers with UnavailableError within the configured timeout', async () => {
    const sockets = new Set<Socket>();
    const silent = createTcpServer((s) => sockets.add(s));
    await new Promise<void>((ok) => silent.listen(0, '127.0.0.1', ok));
    const { port } = silent.address() as AddressInfo;
    try {
      const src = new HttpSource(`http://127.0.0.1:${port}/${FILE}`, {
        timeoutMs: 300,
        retries: 1,
        retryDelayMs: 10,
      });
      const t0 = performance.now();
      const err = await src.size().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UnavailableError);
      expect(String(err)).toMatch(/no answer within 300 ms \(2 attempts\)/);
      expect(performance.now() - t0).toBeLessThan(2_000);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((ok) => silent.close(ok));
    }
  });

  it('retries a 5xx answer before reporting the final status', async () => {
    let calls = 0;
    const flaky = createHttpServer((_, res) => {
      calls++;
      res.writeHead(calls === 1 ? 503 : 404).end();
    });
    await new Promise<void>((ok) => flaky.listen(0, '127.0.0.1', ok));
    const { port } = flaky.address() as AddressInfo;
    try {
      const src = new HttpSource(`http://127.0.0.1:${port}/x.root`, { retryDelayMs: 10 });
      await expect(src.size()).rejects.toBeInstanceOf(RootFileNotFoundError);
      expect(calls).toBe(2);
    } finally {
      await new Promise((ok) => flaky.close(ok));
    }
  });

  it('keeps the query string of a presigned URL out of its name', () => {
    const src = new HttpSource('https://example.org/a/b.root?X-Amz-Signature=secret');
    expect(src.name).toBe('https://example.org/a/b.root?…');
  });
});

describe('S3Source', () => {
  let s3: S3Emulator;
  beforeAll(async () => {
    s3 = await startS3Emulator({ buckets: ['data'] });
    await s3.put('data', `root/${FILE}`, join(DATA, FILE));
  });
  afterAll(async () => {
    await s3?.close();
  });

  it('returns the same bytes as the local file for random ranges', async () => {
    const src = new S3Source(s3.client, 'data', `root/${FILE}`, { gap: 1024 });
    for (const seed of [4, 5, 6]) {
      const ranges = randomRanges(bytes.length, 40, seed);
      expect(asArrays(await src.read(ranges))).toEqual(expected(ranges));
    }
  });

  it('gives the size and the ETag from HeadObject', async () => {
    const src = new S3Source(s3.client, 'data', `root/${FILE}`);
    expect(await src.size()).toBe(bytes.length);
    expect(await src.fingerprint()).toMatch(/^"[0-9a-f]{32}"$/);
  });

  it('reports a missing key as RootFileNotFoundError', async () => {
    const src = new S3Source(s3.client, 'data', 'nope.root');
    await expect(src.size()).rejects.toBeInstanceOf(RootFileNotFoundError);
    await expect(src.read([[0, 4]])).rejects.toThrow(/ROOT file not found: s3:\/\/data\/nope\.root/);
  });

  it('reports a missing bucket as RootFileNotFoundError', async () => {
    const src = new S3Source(s3.client, 'no-such-bucket', `root/${FILE}`);
    await expect(src.size()).rejects.toBeInstanceOf(RootFileNotFoundError);
  });

  it('rejects ranges beyond the end of the object with CorruptFileError', async () => {
    const src = new S3Source(s3.client, 'data', `root/${FILE}`);
    await expect(src.read([[bytes.length, 1]])).rejects.toBeInstanceOf(CorruptFileError);
  });

  it('reports an object replaced during the read as SourceChangedError', async () => {
    await s3.put('data', 'changing.root', bytes);
    const src = new S3Source(s3.client, 'data', 'changing.root');
    await src.read([[0, 100]]);
    await s3.put(
      'data',
      'changing.root',
      bytes.map((b) => b ^ 0xff),
    );
    await expect(src.read([[0, 100]])).rejects.toBeInstanceOf(SourceChangedError);
  });

  it('is what openSource returns for s3:// with an injected client', async () => {
    const src = openSource(`s3://data/root/${FILE}`, { s3Client: s3.client });
    expect(src).toBeInstanceOf(S3Source);
    expect(asArrays(await src.read([[0, 4]]))).toEqual([Array.from(Buffer.from('root'))]);
  });
});

describe('openSource', () => {
  it('dispatches http(s), s3, root(s), file:// and plain paths to the matching source', () => {
    expect(openSource('root://eospublic.cern.ch//eos/f.root')).toBeInstanceOf(XRootDSource);
    expect(openSource('roots://eospublic.cern.ch:1095/eos/f.root?authz=secret').name).toBe(
      'roots://eospublic.cern.ch:1095//eos/f.root?…',
    );
    expect(openSource('https://example.org/f.root')).toBeInstanceOf(HttpSource);
    expect(openSource('http://127.0.0.1:1/f.root')).toBeInstanceOf(HttpSource);
    const s3Client = createS3Client({ region: 'us-east-1' });
    expect(openSource('s3://bucket/dir/f.root', { s3Client }).name).toBe('s3://bucket/dir/f.root');
    s3Client.destroy();
    expect(openSource('file:///tmp/f.root').name).toBe('/tmp/f.root');
    expect(openSource('data/f.root')).toBeInstanceOf(LocalSource);
  });

  it('needs an injected client for s3:// (clients are built once, in lib/aws)', () => {
    expect(() => openSource('s3://bucket/f.root')).toThrow(MisconfiguredError);
  });

  it('refuses local files when allowLocal is false', () => {
    expect(() => openSource('/etc/passwd', { allowLocal: false })).toThrow(InvalidInputError);
    expect(() => openSource('file:///etc/passwd', { allowLocal: false })).toThrow(
      /local files cannot be read/,
    );
  });

  it.each([
    ['', /no file given/],
    ['ftp://host/f.root', /unsupported URL scheme "ftp:\/\/"/],
    ['root://eospublic.cern.ch//eos/', /names a folder/],
    ['root://eospublic.cern.ch', /no file path/],
    ['s3://', /valid bucket/],
    ['s3://bucket', /no object key/],
    ['s3://bucket/', /no object key/],
    ['s3://bucket/dir/', /names a folder/],
    ['https://', /not a valid URL/],
    ['file://otherhost/f.root', /not a local file URL/],
  ])('rejects %j with InvalidInputError', (spec, message) => {
    expect(() => openSource(spec)).toThrow(InvalidInputError);
    expect(() => openSource(spec)).toThrow(message);
  });

  it('parses s3 URLs keeping the key verbatim', () => {
    expect(parseS3Url('s3://my-bucket/a b/c%20d.root')).toEqual({
      bucket: 'my-bucket',
      key: 'a b/c%20d.root',
    });
    expect(() => parseS3Url('https://bucket/key')).toThrow(InvalidInputError);
  });
});
