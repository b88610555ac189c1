import { openRoot, statsToJson, treeStats } from '../../lib/root/index.js';
import { list, parse, required, sourceOptions } from './args.js';

const USAGE = 'mlaas4hep stats <source> --tree NAME [--branches a,b,...] [--json]';

export async function stats(argv: string[], out: NodeJS.WritableStream): Promise<void> {
  const { values, positionals } = parse(
    argv,
    { tree: { type: 'string' }, branches: { type: 'string' }, json: { type: 'boolean' } },
    USAGE,
  );
  const file = await openRoot(required(positionals[0], 'the source file', USAGE), sourceOptions());
  try {
    const tree = await file.entrySource(required(values.tree, '--tree', USAGE));
    const result = await treeStats(tree, list(values.branches));
    if (values.json) {
      out.write(`${statsToJson(result, 1)}\n`);
      return;
    }
    out.write(`${tree.name}: ${result.entries} entries\n`);
    for (const [name, s] of Object.entries(result.branches)) {
      const mean = s.values ? s.sum / s.values : Number.NaN;
      out.write(
        `  ${name.padEnd(28)} values ${String(s.values).padStart(10)}  min ${s.min}  max ${s.max}  mean ${mean.toPrecision(6)}${s.jagged ? '  (jagged)' : ''}\n`,
      );
    }
  } finally {
    await file.close();
  }
}
