/**
 * bench:read's remote lines: the same tree read from disk, over HTTP (the tests' local range server,
 * multi-range) and over XRootD (a local Debian xrootd), interleaved and measured in one run, so the
 * ratios compare like with like. All servers listen on 127.0.0.1 only; XRootD is skipped, with a
 * message, when xrootd is not installed.
 */
import { basename, dirname } from 'node:path';
import type { Tree } from '../lib/root/file.js';
import { openRoot } from '../lib/root/index.js';
import { startRangeServer } from '../test/helpers/range-server.js';
import { startXRootD, xrootdTool } from '../test/helpers/xrootd-server.js';

type Read = (tree: Tree) => Promise<{ seconds: number; events: number }>;

export async function remoteReads(path: string, treeName: string, repeat: number, read: Read) {
  const name = basename(path);
  const http = await startRangeServer({ root: dirname(path), multiRange: true });
  const xrootd = xrootdTool('xrootd') ? await startXRootD({ files: [path] }) : undefined;
  const specs: Record<string, string> = { disk: path, http: `${http.url}/${encodeURIComponent(name)}` };
  if (xrootd) specs.xrootd = `${xrootd.url}//store/${name}`;
  try {
    const files = await Promise.all(Object.values(specs).map((s) => openRoot(s)));
    const trees = await Promise.all(files.map((f) => f.tree(treeName)));
    const best = trees.map(() => Number.POSITIVE_INFINITY);
    for (const t of trees) await read(t); // connections, page cache, JIT
    for (let i = 0; i < repeat; i++) {
      for (const [k, t] of trees.entries()) best[k] = Math.min(best[k], (await read(t)).seconds);
    }
    await Promise.all(files.map((f) => f.close()));
    const events = trees[0].entries;
    const rate = Object.fromEntries(Object.keys(specs).map((k, i) => [k, events / best[i]]));
    const r = (x: number, d = 3) => Number(x.toFixed(d));
    for (const k of Object.keys(specs)) {
      console.error(
        `  ${`${k}, worker threads`.padEnd(36)} ${r(events / rate[k], 4)} s  ${Math.round(rate[k])} events/s`,
      );
    }
    if (!xrootd)
      console.error(
        '  xrootd                               not installed (apt-get install xrootd-server): skipped',
      );
    else {
      console.error(
        `  xrootd / http ${r(rate.xrootd / rate.http)}, xrootd / disk ${r(rate.xrootd / rate.disk)} (events/s ratios)`,
      );
    }
    return {
      disk_events_per_s: Math.round(rate.disk),
      http_events_per_s: Math.round(rate.http),
      xrootd_events_per_s: xrootd ? Math.round(rate.xrootd) : null,
      xrootd_to_http: xrootd ? r(rate.xrootd / rate.http) : null,
      xrootd_to_disk: xrootd ? r(rate.xrootd / rate.disk) : null,
    };
  } finally {
    await http.close();
    await xrootd?.close();
  }
}
