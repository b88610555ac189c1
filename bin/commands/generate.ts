import { mkdir } from 'node:fs/promises';
import { generateSynth } from '../../lib/root/writer/synth.js';
import { int, parse, required } from './args.js';

const USAGE = 'mlaas4hep generate --out DIR [--events N] [--seed S]';

/** Writes signal.root and background.root with the layout and densities of ../shared/data/synth. */
export async function generate(argv: string[], out: NodeJS.WritableStream): Promise<void> {
  const { values } = parse(
    argv,
    { out: { type: 'string' }, events: { type: 'string' }, seed: { type: 'string' } },
    USAGE,
  );
  const dir = required(values.out, '--out', USAGE);
  await mkdir(dir, { recursive: true });
  const events = int('events', values.events) ?? 250_000;
  const t0 = performance.now();
  const files = await generateSynth({ outDir: dir, events, seed: int('seed', values.seed) ?? 42 });
  const s = ((performance.now() - t0) / 1000).toFixed(2);
  out.write(
    `wrote ${files.signal} and ${files.background} (${events} events each, tree "Events") in ${s} s\n`,
  );
}
