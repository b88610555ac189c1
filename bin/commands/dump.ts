import { InvalidInputError } from '../../lib/errors.js';
import { type Column, iterate, jsonNumber, openRoot } from '../../lib/root/index.js';
import { int, list, parse, required, sourceOptions } from './args.js';

const USAGE =
  'mlaas4hep dump <source> --tree NAME [--branches a,b] [--start N --stop M] [--format csv|jsonl]';

/** One entry's value: a number (int64 as a string, exactly; NaN and ±Infinity as strings), or a list. */
function cell(col: Column, e: number): number | string | Array<number | string> {
  const v = col.values;
  const num = (x: number | bigint): number | string => jsonNumber(Number(x));
  if (col.offsets) return Array.from(v.subarray(col.offsets[e], col.offsets[e + 1]), num);
  if (col.shape === 'fixed') {
    const per = (col.inner ?? [1]).reduce((a, b) => a * b, 1);
    return Array.from(v.subarray(e * per, (e + 1) * per), num);
  }
  return typeof v[e] === 'bigint' ? v[e].toString() : num(v[e]);
}

function csvCell(x: number | string | Array<number | string>): string {
  if (Array.isArray(x)) return `"${x.join(' ')}"`;
  return String(x);
}

/** Writes entries as CSV (jagged values space-separated in one quoted cell) or JSON lines. */
export async function dump(argv: string[], out: NodeJS.WritableStream): Promise<void> {
  const { values, positionals } = parse(
    argv,
    {
      tree: { type: 'string' },
      branches: { type: 'string' },
      start: { type: 'string' },
      stop: { type: 'string' },
      format: { type: 'string', default: 'csv' },
    },
    USAGE,
  );
  const format = values.format;
  if (format !== 'csv' && format !== 'jsonl')
    throw new InvalidInputError(`--format must be csv or jsonl, got "${format}"`);
  const file = await openRoot(required(positionals[0], 'the source file', USAGE), sourceOptions());
  try {
    const tree = await file.entrySource(required(values.tree, '--tree', USAGE));
    let header = false;
    const opts = {
      branches: list(values.branches),
      entryStart: int('start', values.start),
      entryStop: int('stop', values.stop),
      stepSize: 10_000,
    };
    for await (const chunk of iterate(tree, opts)) {
      const cols = Object.values(chunk.columns);
      if (format === 'csv' && !header) {
        out.write(`entry,${cols.map((c) => c.name).join(',')}\n`);
        header = true;
      }
      const lines: string[] = [];
      for (let e = 0; e < chunk.entryStop - chunk.entryStart; e++) {
        const entry = chunk.entryStart + e;
        if (format === 'csv') lines.push(`${entry},${cols.map((c) => csvCell(cell(c, e))).join(',')}`);
        else
          lines.push(JSON.stringify({ entry, ...Object.fromEntries(cols.map((c) => [c.name, cell(c, e)])) }));
      }
      if (!out.write(`${lines.join('\n')}\n`)) await new Promise((r) => out.once('drain', r));
    }
  } finally {
    await file.close();
  }
}
