import type { BranchSpec } from '../../lib/dataset/features.js';
import { pooled } from '../../lib/dataset/moments.js';
import { parse, required } from './args.js';
import { loadWorkflow, openDataset } from './workflow.js';

const USAGE = 'mlaas4hep specs <workflow.json> [--json]';
const CHUNKS_USAGE = 'mlaas4hep chunks <workflow.json> [--json]';

/** Prints the global specs: features, min/max, mean/std, jdim, NaN/Inf counts, and events per file after cuts. */
export async function specs(argv: string[], out: NodeJS.WritableStream): Promise<void> {
  const { values, positionals } = parse(argv, { json: { type: 'boolean' } }, USAGE);
  const ds = await openDataset(await loadWorkflow(required(positionals[0], 'the workflow file', USAGE)));
  try {
    const report = {
      tree: ds.specs.tree,
      key: ds.specs.key,
      files: ds.specs.files.map((f) => ({ file: f.source, entries: f.entries, events: f.events })),
      classes: ds.classes,
      features: ds.layout.names.length,
      flat: ds.layout.flat,
      jagged: Object.fromEntries(ds.layout.jagged.map((j) => [j.name, j.jdim])),
      branches: ds.specs.branches,
      featureNames: ds.layout.names,
    };
    if (values.json) {
      out.write(`${JSON.stringify(report, null, 2)}\n`);
      return;
    }
    out.write(`tree "${report.tree}", classes ${JSON.stringify(report.classes)}\n`);
    for (const f of report.files) out.write(`  ${f.file}: ${f.entries} entries, ${f.events} after cuts\n`);
    out.write(`${report.features} features: ${report.flat.length} flat, ${ds.layout.jagged.length} jagged\n`);
    for (const [name, s] of Object.entries(ds.specs.branches).sort(([a], [b]) => a.localeCompare(b))) {
      out.write(
        `  ${name.padEnd(28)} min ${s.min.toPrecision(6).padStart(12)}  max ${s.max.toPrecision(6).padStart(12)}${spread(s)}${s.jagged ? `  jdim ${s.jdim}` : ''}${s.nonFinite ? `  ${s.nonFinite} NaN/Inf (treated as missing)` : ''}\n`,
      );
    }
  } finally {
    await ds.close();
  }
}

/** Mean and standard deviation of all the branch's real values (every slot of a jagged one). */
function spread(s: BranchSpec): string {
  if (!s.moments) return '';
  const p = pooled(s.moments);
  if (!p.count) return '  no real values';
  return `  mean ${p.mean.toPrecision(6).padStart(12)}  std ${Math.sqrt(p.m2 / p.count)
    .toPrecision(6)
    .padStart(12)}`;
}

/** Prints the chunk plan: events from each file in each chunk. */
export async function chunks(argv: string[], out: NodeJS.WritableStream): Promise<void> {
  const { values, positionals } = parse(argv, { json: { type: 'boolean' } }, CHUNKS_USAGE);
  const ds = await openDataset(
    await loadWorkflow(required(positionals[0], 'the workflow file', CHUNKS_USAGE)),
  );
  try {
    const { plan } = ds;
    if (values.json) {
      out.write(
        `${JSON.stringify({ files: ds.files, eventsPerFile: plan.eventsPerFile, chunks: plan.chunks, total: plan.total })}\n`,
      );
      return;
    }
    out.write(`${plan.total} events in ${plan.chunks.length} chunks\n`);
    ds.files.forEach((f, i) => {
      out.write(`  file ${i}: ${f}: ${plan.eventsPerFile[i]} events\n`);
    });
    plan.chunks.forEach((c, i) => {
      out.write(`  chunk ${i}: ${c.join(' + ')} = ${c.reduce((a, b) => a + b, 0)}\n`);
    });
  } finally {
    await ds.close();
  }
}
