import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { generate } from './generate.js';
import { inspect } from './inspect.js';
import { stats } from './stats.js';

/**
 * The "main job" of a fresh clone: writes demo signal/background files with our TTree writer and
 * reads them back with the streaming reader. Runs with no ../shared and no network.
 */
export async function demo(argv: string[], out: NodeJS.WritableStream): Promise<void> {
  const dir = argv[0] ?? join(process.cwd(), 'demo-data');
  await mkdir(dir, { recursive: true });
  const step = (title: string) => out.write(`\n== ${title}\n`);
  step(`mlaas4hep generate --out ${dir} --events 50000`);
  await generate(['--out', dir, '--events', '50000'], out);
  const signal = join(dir, 'signal.root');
  step(`mlaas4hep inspect ${signal}`);
  await inspect([signal], out);
  step(`mlaas4hep stats ${signal} --tree Events --branches f0,nJet,Jet_pt`);
  await stats([signal, '--tree', 'Events', '--branches', 'f0,nJet,Jet_pt'], out);
  out.write('\nThe reader works. Next: point a workflow at these files (see README.md).\n');
}
