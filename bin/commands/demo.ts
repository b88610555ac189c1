import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { generate } from './generate.js';
import { inspect } from './inspect.js';
import { predict } from './predict.js';
import { chunks, specs } from './specs.js';
import { stats } from './stats.js';
import { train } from './train.js';

/**
 * The "main job" of a fresh clone, with no ../shared and no network: writes demo signal and
 * background files with our TTree writer, reads them back, computes the dataset specs and chunk
 * plan of a workflow, trains a small model and scores a file with it.
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

  const workflow = join(dir, 'workflow.json');
  await writeFile(
    workflow,
    `${JSON.stringify(
      {
        name: 'demo',
        files: ['signal.root', 'background.root'],
        labels: [1, 0],
        params: { branch: 'Events', nevts: 40000, chunk_size: 10000, epochs: 3, batch_size: 256 },
        preproc: { flat_cut: { nJet: { cut: 'nJet <= 12', remove: 'False' } } },
      },
      null,
      2,
    )}\n`,
  );
  step(`mlaas4hep chunks ${workflow}`);
  await chunks([workflow], out);
  step(`mlaas4hep specs ${workflow}`);
  await specs([workflow], out);
  const models = join(dir, 'models');
  step(`mlaas4hep train ${workflow} --out ${models}`);
  await train([workflow, '--out', models], out);

  step(`mlaas4hep predict --model ${models}/models/demo/<latest> ${signal} (first lines)`);
  const { readFile } = await import('node:fs/promises');
  const latest = (await readFile(join(models, 'models', 'demo', 'latest'), 'utf8')).trim();
  let shown = 0;
  const head = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) {
        if (line && shown++ < 6) out.write(`${line}\n`);
      }
      done();
    },
  });
  await predict(['--model', join(models, 'models', 'demo', latest), signal], head);
  out.write(
    `\nDone. The model bundle, with its ROC and score plots, is in ${join(models, 'models', 'demo', latest)}\n`,
  );
}
