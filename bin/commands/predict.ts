import { createWriteStream } from 'node:fs';
import { readFolder } from '../../lib/bundles/bundle-store.js';
import { openRoot } from '../../lib/root/index.js';
import { scoreFile } from '../../lib/serving/score-file.js';
import { parse, required, sourceOptions } from './args.js';
import { storeAt } from './stores.js';

const USAGE = 'mlaas4hep predict --model <bundle dir | s3://...> <source> [--tree NAME] [--out scores.csv]';

/** Scores every event of a ROOT file that passes the bundle's cuts: "entry,score" per line. */
export async function predict(
  argv: string[],
  out: NodeJS.WritableStream,
  log: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): Promise<void> {
  const { values, positionals } = parse(
    argv,
    { model: { type: 'string' }, tree: { type: 'string' }, out: { type: 'string' } },
    USAGE,
  );
  const where = required(values.model, '--model', USAGE);
  const bundle = await readFolder(storeAt(where), '');
  const file = await openRoot(required(positionals[0], 'the ROOT file to score', USAGE), sourceOptions());
  const sink: NodeJS.WritableStream = values.out ? createWriteStream(values.out) : out;
  const classes = bundle.params.classes;
  const write = async (s: string): Promise<void> => {
    if (!sink.write(s)) await new Promise<void>((r) => sink.once('drain', () => r()));
  };
  try {
    let header = false;
    for await (const block of scoreFile(file, bundle, {
      tree: values.tree,
      what: `the model bundle in ${where}`,
      onEngine: (c) => log(`engine: ${c.engine} (${c.reason})`),
    })) {
      const k = block.outputs;
      if (!header) {
        const names = k > 1 && classes.length === k ? classes.map((c) => `p_${c}`) : undefined;
        await write(
          k === 1
            ? 'entry,score\n'
            : `entry,${(names ?? Array.from({ length: k }, (_, i) => `y_${i}`)).join(',')}\n`,
        );
        header = true;
      }
      const lines: string[] = [];
      for (let i = 0; i < block.rows; i++) {
        const row = Array.from(block.scores.subarray(i * k, (i + 1) * k), (v) => v.toPrecision(7));
        lines.push(`${block.entries[i]},${row.join(',')}`);
      }
      if (lines.length) await write(`${lines.join('\n')}\n`);
    }
    if (!header) await write('entry,score\n');
  } finally {
    await file.close();
    if (values.out) await new Promise<void>((r) => sink.end(() => r()));
  }
}
