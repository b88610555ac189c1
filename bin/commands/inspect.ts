import { type EntrySource, openRoot } from '../../lib/root/index.js';
import { parse, required, sourceOptions } from './args.js';

const USAGE = 'mlaas4hep inspect <file | http(s)://... | s3://bucket/key> [--json]';

export async function inspect(argv: string[], out: NodeJS.WritableStream): Promise<void> {
  const { values, positionals } = parse(argv, { json: { type: 'boolean' } }, USAGE);
  const file = await openRoot(required(positionals[0], 'the file to inspect', USAGE), sourceOptions());
  try {
    const describe = (t: EntrySource) => ({
      name: t.name,
      title: t.title,
      entries: t.entries,
      branches: t.branches.map((b) => ({
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
    const trees: Array<ReturnType<typeof describe>> = [];
    for (const name of file.treeNames()) trees.push(describe(await file.entrySource(name)));
    const rntuples: Array<ReturnType<typeof describe>> = [];
    for (const name of file.rntupleNames()) rntuples.push(describe(await file.entrySource(name)));
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
    const list = (kind: string, t: (typeof trees)[number], what: string): void => {
      out.write(
        `\n${kind} "${t.name}"${t.title ? ` (${t.title})` : ''}: ${t.entries} entries, ${t.branches.length} ${what}\n`,
      );
      const w = Math.max(...t.branches.map((b) => b.name.length), 6);
      for (const b of t.branches) {
        const kind = b.unsupported ? `not readable: ${b.unsupported}` : b.shape;
        out.write(`  ${b.name.padEnd(w)}  ${b.type.padEnd(24)}  ${kind}\n`);
      }
    };
    for (const t of trees) list('TTree', t, 'branches');
    for (const r of rntuples) list('RNTuple', r, 'fields');
  } finally {
    await file.close();
  }
}
