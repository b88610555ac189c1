import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain ES module script (console/build.mjs), without types
import { buildConsole } from '../../console/build.mjs';
import { readTarGz } from '../../lib/serving/tar.js';
import { writeTarGz } from '../../lib/serving/tar-write.js';

/** The budget README states for what a browser loads of the console, gzipped. */
const BUDGET = 200 * 1024;

let dir: string;
let built: { dir: string; gzippedBytes: number };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlaas4hep-console-build-'));
  built = await buildConsole({ outDir: dir });
}, 60_000);

afterAll(() => rm(dir, { recursive: true, force: true }));

describe('the web console build', () => {
  it(`stays under ${BUDGET / 1024} KiB gzipped`, () => {
    process.stdout.write(`console: ${(built.gzippedBytes / 1024).toFixed(1)} KiB gzipped\n`);
    expect(built.gzippedBytes).toBeGreaterThan(10 * 1024);
    expect(built.gzippedBytes).toBeLessThan(BUDGET);
  });

  it('loads nothing from another origin: its page names only its own files', async () => {
    const html = await readFile(join(dir, 'index.html'), 'utf8');
    const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(refs.sort()).toEqual(['/console/app.css', '/console/app.js']);
    const js = await readFile(join(dir, 'app.js'), 'utf8');
    // no import, fetch or script of a URL: the only absolute URLs are SVG/XML namespaces
    expect(js).not.toMatch(/import\s*\(?\s*["']https?:/);
    expect(js).not.toMatch(/fetch\(\s*["']https?:/);
  });
});

describe('bundle downloads (writeTarGz)', () => {
  it('writes a tar.gz that the upload path reads back file for file', async () => {
    const files = [
      ['demo/params.json', new TextEncoder().encode('{"name":"demo"}')],
      ['demo/weights.bin', new Uint8Array(1500).map((_, i) => i % 251)],
      ['demo/plots/roc.svg', new TextEncoder().encode('<svg/>')],
    ] as const;
    const tgz = writeTarGz(files);
    expect(gunzipSync(tgz).length % 512).toBe(0);
    const back = await readTarGz(tgz, { maxEntries: 10, maxBytes: 1 << 20 });
    expect(back.map((f) => f.path)).toEqual(files.map(([p]) => p));
    for (const [i, f] of back.entries()) expect(Buffer.from(f.data)).toEqual(Buffer.from(files[i][1]));
  });
});
