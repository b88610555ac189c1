import { describeRNTuple, openRoot } from '../../lib/root/index.js';
import { parse, required, sourceOptions } from './args.js';

const USAGE = 'mlaas4hep inspect <file | http(s)://... | s3://bucket/key> [--json]';

export async function inspect(argv: string[], out: NodeJS.WritableStream): Promise<void> {
  const { values, positionals } = parse(argv, { json: { type: 'boolean' } }, USAGE);
  const file = await openRoot(required(positionals[0], 'the file to inspect', USAGE), sourceOptions());
  try {
    const trees = [];
    for (const name of file.treeNames()) {
      const tree = await file.tree(name);
      trees.push({
        name,
        title: tree.title,
        entries: tree.entries,
        branches: tree.branches.map((b) => ({
          name: b.name,
          type: b.typeName,
          ...(b.dtype ? { dtype: b.dtype } : {}),
          jagged: b.shape === 'jagged',
          shape: b.shape,
          ...(b.counter ? { counter: b.counter } : {}),
          ...(b.inner ? { inner: b.inner } : {}),
          ...(b.unsupported ? { unsupported: b.unsupported } : {}),
        })),
      });
    }
    const rntuples = [];
    for (const k of file.keys().filter((k) => k.kind === 'RNTuple')) {
      const d = await describeRNTuple(file, k.name);
      rntuples.push({ name: k.name, entries: d?.entries ?? null, fields: d?.fields ?? [], readable: false });
    }
    const report = {
      file: file.name,
      rootVersion: file.version,
      compression: file.compression,
      trees,
      rntuples,
    };
    if (values.json) {
      out.write(`${JSON.stringify(report, null, 2)}\n`);
      return;
    }
    const c = report.compression;
    out.write(
      `${report.file}\n  ROOT ${report.rootVersion}, compression ${c.algorithm}${c.level ? ` level ${c.level}` : ''}\n`,
    );
    for (const t of trees) {
      out.write(
        `\nTTree "${t.name}"${t.title ? ` (${t.title})` : ''}: ${t.entries} entries, ${t.branches.length} branches\n`,
      );
      const w = Math.max(...t.branches.map((b) => b.name.length), 6);
      for (const b of t.branches) {
        const kind = b.unsupported ? `not readable: ${b.unsupported}` : b.shape;
        out.write(`  ${b.name.padEnd(w)}  ${b.type.padEnd(24)}  ${kind}\n`);
      }
    }
    for (const r of rntuples) {
      out.write(
        `\nRNTuple "${r.name}": ${r.entries ?? '?'} entries, ${r.fields.length} fields (RNTuple not supported yet for reading)\n`,
      );
      for (const f of r.fields) out.write(`  ${f.name}  ${f.type}\n`);
    }
  } finally {
    await file.close();
  }
}
