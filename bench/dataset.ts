/**
 * Preprocessing against raw reading, measured in one run:
 *   npm run bench:dataset [-- <signal.root> <background.root> --chunk 10000]
 * Streams every event of both files through the dataset layer (specs pass, then the chunk pass:
 * cuts, normalisation, padding, mixing, shuffling, split) and prints, last, one JSON line with the
 * throughput ratios against a raw read of the same branches and the process's peak RSS.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { MemorySpecsCache } from '../lib/dataset/cache.js';
import { prepareDataset } from '../lib/dataset/dataset.js';
import { parseWorkflow } from '../lib/dataset/workflow.js';
import { openRoot } from '../lib/root/file.js';
import { iterate } from '../lib/root/iterate.js';

const { positionals, values } = parseArgs({
  args: process.argv.slice(2),
  allowPositionals: true,
  options: { chunk: { type: 'string', default: '10000' }, tree: { type: 'string', default: 'Events' } },
});
// npm runs scripts from the package root; the shared data sits beside it
const synth = join(process.cwd(), '../shared/data/synth');
const files = positionals.length ? positionals : [join(synth, 'signal.root'), join(synth, 'background.root')];
const chunkSize = Number(values.chunk);
const tree = values.tree;
const rss = (): number => Math.round(process.memoryUsage().rss / 2 ** 20);
const rssStart = rss();

const workflow = parseWorkflow({
  files,
  labels: files.map((_, i) => (i === 0 ? 1 : 0)),
  params: { branch: tree, nevts: -1, chunk_size: chunkSize },
});

// raw read: the same branches the dataset reads, in the same step
let t0 = performance.now();
let rawEvents = 0;
for (const f of files) {
  const file = await openRoot(f);
  const t = await file.tree(tree);
  const branches = t
    .numericBranches()
    .map((b) => b.name)
    .filter((b) => !workflow.params.identifier.includes(b));
  for await (const c of iterate(t, { branches, stepSize: chunkSize }))
    rawEvents += c.entryStop - c.entryStart;
  await file.close();
}
const rawSeconds = (performance.now() - t0) / 1000;

t0 = performance.now();
const ds = await prepareDataset(workflow, { openFile: (s) => openRoot(s), cache: new MemorySpecsCache() });
const specsSeconds = (performance.now() - t0) / 1000;
t0 = performance.now();
let rows = 0;
let peak = rss();
for await (const chunk of ds.chunks()) {
  rows += chunk.rows;
  peak = Math.max(peak, rss());
}
const chunkSeconds = (performance.now() - t0) / 1000;
await ds.close();

const rate = (n: number, s: number): number => Math.round(n / s);
const r3 = (x: number): number => Number(x.toFixed(3));
const raw = rawEvents / rawSeconds;
console.error(
  `raw read            ${rawEvents} events in ${r3(rawSeconds)} s (${rate(rawEvents, rawSeconds)} events/s)`,
);
console.error(`specs pass          ${r3(specsSeconds)} s (${rate(rows, specsSeconds)} events/s)`);
console.error(
  `chunk pass          ${rows} rows × ${ds.layout.names.length} features in ${ds.plan.chunks.length} chunks, ${r3(chunkSeconds)} s`,
);
console.error(
  `peak RSS            ${Math.max(peak, Math.round(process.resourceUsage().maxRSS / 1024))} MB (at start ${rssStart} MB)`,
);
console.log(
  JSON.stringify({
    events: rows,
    features: ds.layout.names.length,
    raw_events_per_s: Math.round(raw),
    specs_pass_events_per_s: rate(rows, specsSeconds),
    chunk_pass_events_per_s: rate(rows, chunkSeconds),
    chunk_pass_ratio_to_raw: r3(rows / chunkSeconds / raw),
    specs_pass_ratio_to_raw: r3(rows / specsSeconds / raw),
    both_passes_ratio_to_raw: r3(rows / (specsSeconds + chunkSeconds) / raw),
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    truncated_events: ds.counters.truncatedEvents,
  }),
);
