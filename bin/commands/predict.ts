import { createWriteStream } from 'node:fs';
import { readFolder } from '../../lib/bundles/bundle-store.js';
import { transformFile } from '../../lib/dataset/transform.js';
import { InvalidInputError } from '../../lib/errors.js';
import { openRoot } from '../../lib/root/index.js';
import { initBackend } from '../../lib/training/backend.js';
import { loadModel, type ModelJson } from '../../lib/training/model-io.js';
import { predictRows } from '../../lib/training/train.js';
import { parse, required, sourceOptions } from './args.js';
import { storeAt } from './stores.js';

const USAGE = 'mlaas4hep predict --model <bundle dir | s3://...> <source> [--tree NAME] [--out scores.csv]';

/** Scores every event of a ROOT file that passes the bundle's cuts: "entry,score" per line. */
export async function predict(argv: string[], out: NodeJS.WritableStream): Promise<void> {
  const { values, positionals } = parse(
    argv,
    { model: { type: 'string' }, tree: { type: 'string' }, out: { type: 'string' } },
    USAGE,
  );
  await initBackend();
  const where = required(values.model, '--model', USAGE);
  const bundle = await readFolder(storeAt(where), '');
  const { transform } = bundle.params;
  if (!transform)
    throw new InvalidInputError(
      `the bundle in ${where} has no transform (it was uploaded without one), so ROOT files cannot be turned into its inputs`,
    );
  const spec = { ...transform, tree: values.tree ?? transform.tree };
  const model = await loadModel(
    JSON.parse(new TextDecoder().decode(bundle.modelJson)) as ModelJson,
    bundle.weights,
  );
  const file = await openRoot(required(positionals[0], 'the ROOT file to score', USAGE), sourceOptions());
  const sink: NodeJS.WritableStream = values.out ? createWriteStream(values.out) : out;
  const classes = bundle.params.classes;
  const multi = classes.length > 2;
  const write = async (s: string): Promise<void> => {
    if (!sink.write(s)) await new Promise<void>((r) => sink.once('drain', () => r()));
  };
  try {
    await write(multi ? `entry,${classes.map((c) => `p_${c}`).join(',')}\n` : 'entry,score\n');
    const width = bundle.params.features.length;
    for await (const block of transformFile(file, spec)) {
      const scores = predictRows(model, block.x, width);
      const k = multi ? classes.length : 1;
      const lines: string[] = [];
      for (let i = 0; i < block.rows; i++) {
        const row = Array.from(scores.subarray(i * k, (i + 1) * k), (v) => v.toPrecision(7));
        lines.push(`${block.entries[i]},${row.join(',')}`);
      }
      await write(`${lines.join('\n')}\n`);
    }
  } finally {
    await file.close();
    if (values.out) await new Promise<void>((r) => sink.end(() => r()));
  }
}
