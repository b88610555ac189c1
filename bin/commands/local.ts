import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { generateSynth } from '../../lib/root/writer/synth.js';
import { startLocalStack } from '../local-stack.js';
import { parse } from './args.js';

/**
 * `npm start`: the whole service on this machine (S3 and SQS emulators, the functions under
 * serverless-offline, a trainer, a development token issuer), demo data written by our own TTree
 * writer, a demo training job submitted over HTTP, and what to type next. Ctrl-C stops it.
 */
export async function local(argv: string[], out: NodeJS.WritableStream): Promise<void> {
  const { values } = parse(
    argv,
    { data: { type: 'string', default: './mlaas4hep-local' }, verbose: { type: 'boolean' } },
    'mlaas4hep local [--data DIR] [--verbose]',
  );
  const dir = resolve(values.data!);
  const say = (s: string) => out.write(`${s}\n`);
  say('starting the local stack (S3 and SQS emulators, serverless-offline, trainer) ...');
  const stack = await startLocalStack({ dataDir: dir, log: values.verbose ? (l) => say(l) : undefined });
  const token = stack.token('demo', ['submit', 'predict', 'admin']);
  say(
    `\nconsole    ${stack.consoleUrl} (sign in on the development issuer's page)\nAPI        ${stack.apiUrl}\nS3         ${stack.s3Endpoint} (bucket ${stack.bucket})\nSQS queue  ${stack.queueUrl}`,
  );
  say(
    `token      (submit, predict, admin; 1 h; more with: npx mlaas4hep token --scope submit,predict --data ${values.data})\n${token}\n`,
  );

  say('writing demo data (signal.root, background.root: 50,000 events each) and uploading it ...');
  const files = await generateSynth({ outDir: join(dir, 'demo'), events: 50_000, seed: 7 });
  await stack.put('data/signal.root', await readFile(files.signal));
  await stack.put('data/background.root', await readFile(files.background));
  const workflow = {
    name: 'demo',
    files: [`s3://${stack.bucket}/data/signal.root`, `s3://${stack.bucket}/data/background.root`],
    labels: [1, 0],
    params: { branch: 'Events', nevts: 40_000, chunk_size: 10_000, epochs: 3, batch_size: 256 },
  };
  const api = (path: string, init: RequestInit = {}) =>
    fetch(`${stack.apiUrl}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...init.headers },
    }).then((r) => r.json());
  const sub = (await api('/submit', { method: 'POST', body: JSON.stringify(workflow) })) as {
    job_id: string;
  };
  say(`submitted the demo job ${sub.job_id}`);
  let last = '';
  for (;;) {
    const job = (await api(`/jobs/${sub.job_id}`)) as {
      status: string;
      progress?: { chunk: number; chunks: number; epoch: number; epochs: number; loss: number };
      error?: string;
      metrics?: { auc?: number };
    };
    if (!job.status) {
      // a transient answer (503 while a record is being written): ask again
      await new Promise((r) => setTimeout(r, 1000));
      continue;
    }
    const p = job.progress;
    const line = `  ${job.status}${p ? `: chunk ${p.chunk}/${p.chunks}, epoch ${p.epoch}/${p.epochs}, loss ${p.loss.toFixed(4)}` : ''}`;
    if (line !== last) say(line);
    last = line;
    if (['succeeded', 'failed', 'cancelled'].includes(job.status)) {
      if (job.error) say(`  ${job.error}`);
      if (job.metrics?.auc) say(`  test AUC ${job.metrics.auc.toFixed(4)}`);
      break;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  const keys = '["f0","f1","f2","f3","f4","f5","f6","f7","nJet","Jet_eta","Jet_pt"]';
  const row = '[0.4,0.3,0.2,0.1,0,0,0,0,2,[0.5,-1.2],[55.0,31.0]]';
  const prediction = await api('/json', {
    method: 'POST',
    body: JSON.stringify({ model: 'demo', keys: JSON.parse(keys), values: JSON.parse(row) }),
  });
  say(`\nthe demo model answers: ${JSON.stringify(prediction)}\n\ntry it (export TOKEN=<the token above>):`);
  say(`  curl -s -H "Authorization: Bearer $TOKEN" ${stack.apiUrl}/models`);
  say(
    `  curl -s -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' -d '{"model":"demo","keys":${keys},"values":${row}}' ${stack.apiUrl}/json`,
  );
  say(
    `  curl -s -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' -d '${JSON.stringify(workflow)}' ${stack.apiUrl}/submit`,
  );
  say(`  curl -s -H "Authorization: Bearer $TOKEN" ${stack.apiUrl}/jobs/${sub.job_id}`);
  say('\nrunning; Ctrl-C stops everything');
  await new Promise<void>((done) => {
    process.once('SIGINT', () => done());
    process.once('SIGTERM', () => done());
  });
  say('stopping ...');
  await stack.stop();
}
