import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { seededRandom } from '../../lib/dataset/random.js';
import { MlaasError } from '../../lib/errors.js';
import { openRoot } from '../../lib/root/file.js';
import type { RNTuple } from '../../lib/root/rntuple/rntuple.js';
import { MemorySource } from '../../lib/root/source/memory.js';
import { type TreeStats, treeStats } from '../../lib/root/stats.js';
import { hasShared, ROOT_DIR } from '../helpers/reference.js';

const SHARED_FILES = [
  'uproot-HZZ.root',
  'uproot-HZZ-lz4.root',
  'uproot-HZZ-zstd.root',
  'uproot-HZZ-lzma.root',
  'uproot-HZZ-uncompressed.root',
  'uproot-Zmumu.root',
  'uproot-sample-6.20.04-zlib.root',
  'uproot-small-flat-tree.root',
  'nanoAOD_2015_CMS_Open_Data_ttbar.root',
  'Run2012BC_DoubleMuParked_Muons_1000evts_rntuple_v1-0-0-0.root',
];
const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/root');
/** RNTuples (several clusters and cluster groups, deferred columns, an importer's projections) and a ROOT 6.12 tree. */
const FIXTURE_FILES = [
  'cmsopendata2015_ttbar_19980_NANOAOD_RNTupleImporter_rntuple_v1-0-0-1.root',
  'test_multiple_cluster_groups_rntuple_v1-0-0-0.root',
  'test_extension_columns_rntuple_v1-0-0-0.root',
  'test_stl_containers_rntuple_v1-0-0-0.root',
  'uproot-small-dy-nooffsets.root',
];
const FILES = [
  ...(hasShared ? SHARED_FILES.map((file) => ({ dir: ROOT_DIR, file })) : []),
  ...FIXTURE_FILES.map((file) => ({ dir: FIXTURES, file })),
];
const CASES_PER_FILE = 60;
const TIME_BOUND_MS = 10_000;

/**
 * Byte ranges whose corruption the format itself can detect: payloads of records compressed with a
 * checksummed codec (zlib's Adler-32, LZ4's xxHash64, xz's CRC). Raw payloads and ROOT's ZSTD frames
 * (written without a content checksum) carry no check, so a flipped byte there cannot be noticed.
 */
async function protectedRanges(name: string, bytes: Uint8Array): Promise<Array<[number, number]>> {
  const f = await openRoot(new MemorySource(name, bytes));
  const records: Array<[number, number]> = f.keyRecords().map((k) => [k.seek, k.nbytes]);
  for (const t of f.treeNames()) {
    for (const b of (await f.tree(t)).branches)
      for (const r of b.baskets) if (!r.embedded) records.push([r.seek, r.bytes]);
  }
  const out: Array<[number, number]> = [];
  // RNTuples: the anchor's fields and checksum, every envelope (XXH3 over its uncompressed bytes),
  // and pages written with a checksum
  for (const name of f.rntupleNames()) {
    const t = (await f.entrySource(name)) as RNTuple;
    const key = f.keyRecords().find((k) => k.name === name)!;
    out.push([key.seek + key.keylen + 6, key.seek + key.keylen + 6 + 72]);
    const { anchor, footer } = t.meta;
    for (const l of [anchor.header, anchor.footer, ...footer.groups.map((g) => g.pageList)])
      out.push([l.offset, l.offset + l.bytes]);
    for (const c of t.clusters)
      for (const col of c.columns)
        for (const p of col.pages)
          if (p.checksum) out.push([p.locator.offset, p.locator.offset + p.locator.bytes + 8]);
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const [seek, nbytes] of records) {
    const keylen = v.getInt16(seek + 14);
    const objlen = v.getInt32(seek + 6);
    const tag = String.fromCharCode(bytes[seek + keylen], bytes[seek + keylen + 1]);
    if (objlen !== nbytes - keylen && tag !== 'ZS') out.push([seek + keylen, seek + nbytes]);
  }
  return out;
}

async function readEverything(name: string, bytes: Uint8Array): Promise<Record<string, TreeStats>> {
  const f = await openRoot(new MemorySource(name, bytes));
  const out: Record<string, TreeStats> = {};
  for (const t of [...f.treeNames(), ...f.rntupleNames()])
    out[t] = await treeStats(await f.entrySource(t), undefined, 1000);
  return out;
}

function withDeadline<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

describe('corrupted and truncated files', () => {
  beforeAll(() => {
    // jsroot prints its own complaints about broken buffers; the typed errors are what we check
    vi.spyOn(console, 'error').mockImplementation(() => {});
    vi.spyOn(console, 'warn').mockImplementation(() => {});
  });
  afterAll(() => vi.restoreAllMocks());

  for (const [fi, { dir, file }] of FILES.entries()) {
    it(`${file}: ${CASES_PER_FILE} mutated copies each end in a typed error or a correct read, in time`, async () => {
      const clean = readFileSync(join(dir, file));
      const reference = await readEverything(file, clean);
      const guarded = await protectedRanges(file, clean);
      const isProtected = (at: number): boolean => guarded.some(([a, b]) => at >= a && at < b);
      const random = seededRandom(1000 + fi); // a failing case can be replayed from its number
      const outcomes = { error: 0, same: 0, harmless: 0 };
      const problems: string[] = [];
      for (let c = 0; c < CASES_PER_FILE; c++) {
        let bytes: Uint8Array;
        let what: string;
        let flips: number[] = [];
        if (c % 2 === 0) {
          const at = Math.floor(random() * clean.length);
          bytes = clean.subarray(0, at);
          what = `truncated at ${at}`;
        } else {
          bytes = Uint8Array.from(clean);
          flips = [];
          for (let k = 1 + Math.floor(random() * 4); k > 0; k--) {
            const at = Math.floor(random() * clean.length);
            bytes[at] ^= 1 + Math.floor(random() * 255);
            flips.push(at);
          }
          what = `bytes flipped at ${flips.join(',')}`;
        }
        const heapBefore = process.memoryUsage().arrayBuffers;
        try {
          const got = await withDeadline(readEverything(`${file} (${what})`, bytes), TIME_BOUND_MS);
          if (JSON.stringify(got) === JSON.stringify(reference)) outcomes.same++;
          else if (!flips.some(isProtected))
            outcomes.harmless++; // no checksum covers those bytes
          else problems.push(`case ${c} (${what}): read completed with different values`);
        } catch (err) {
          if (err instanceof MlaasError) outcomes.error++;
          else
            problems.push(
              `case ${c} (${what}): ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`,
            );
        }
        const grown = process.memoryUsage().arrayBuffers - heapBefore;
        if (grown > 64 * clean.length + 64 * 1024 * 1024)
          problems.push(`case ${c} (${what}): ${grown} bytes of buffers held`);
      }
      expect(problems).toEqual([]);
      expect(outcomes.error + outcomes.same + outcomes.harmless).toBe(CASES_PER_FILE);
    });
  }
});
