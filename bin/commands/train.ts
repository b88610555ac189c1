import { runTrainingJob } from '../../lib/trainer/job.js';
import { initBackend } from '../../lib/training/backend.js';
import type { Progress } from '../../lib/training/train.js';
import { parse, required } from './args.js';
import { storeAt } from './stores.js';
import { datasetDeps, loadWorkflow } from './workflow.js';

const USAGE = 'mlaas4hep train <workflow.json> --out <dir | s3://bucket/prefix> [--name NAME]';

function progressLine(p: Progress): string {
  return `chunk ${p.chunk}/${p.chunks}  epoch ${p.epoch}/${p.epochs}  ${Math.round(p.samplesPerSecond).toLocaleString('en')} events/s  loss ${p.loss.toFixed(4)}${p.valAuc !== undefined ? `  validation AUC ${p.valAuc.toFixed(4)}` : ''}`;
}

/** Trains the workflow's model; progress on stderr, the bundle in the store, a summary on stdout. */
export async function train(argv: string[], out: NodeJS.WritableStream): Promise<void> {
  const { values, positionals } = parse(argv, { out: { type: 'string' }, name: { type: 'string' } }, USAGE);
  const w = await loadWorkflow(required(positionals[0], 'the workflow file', USAGE));
  const store = storeAt(required(values.out, '--out', USAGE));
  const backend = await initBackend();
  const tty = process.stderr.isTTY;
  process.stderr.write(`TensorFlow.js backend: ${backend}\n`);
  const stop = new AbortController();
  const onSignal = () => {
    process.stderr.write('\nstopping at the next batch (signal received)\n');
    stop.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const outcome = await runTrainingJob(
      w,
      {
        dataset: datasetDeps(),
        store,
        backend,
        signal: stop.signal,
        log: (line) => process.stderr.write(`${tty ? '\n' : ''}${line}\n`),
        onProgress: (p) => process.stderr.write(tty ? `\r${progressLine(p)}   ` : `${progressLine(p)}\n`),
      },
      values.name ?? w.name,
    );
    if (tty) process.stderr.write('\n');
    const m = outcome.metrics;
    out.write(
      `${outcome.interrupted ? 'interrupted: no model written' : `model ${outcome.name} version ${outcome.version} written to ${store.name}`}\n` +
        `features ${outcome.features}, classes ${JSON.stringify(outcome.classes)}, ${Math.round(outcome.samplesPerSecond)} training samples/s\n` +
        `test split: ${m.testEvents} events, AUC ${m.auc?.toFixed(4) ?? 'n/a'}, accuracy ${m.accuracy.toFixed(4)}\n` +
        (outcome.history.some((h) => h.seconds !== undefined)
          ? `seconds per epoch: ${outcome.history.map((h) => h.seconds?.toFixed(1)).join(' ')}\n`
          : ''),
    );
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
