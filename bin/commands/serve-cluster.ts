import cluster, { type Worker } from 'node:cluster';
import { devIssuerEnv } from '../../lib/auth/dev-issuer.js';
import { InvalidInputError } from '../../lib/errors.js';
import { devTokenLines, keptDevIssuer } from './dev-issuer-key.js';

export interface ClusterOptions {
  workers: number;
  host: string;
  /** a queue every process shares (SQS); without one each process would hold its own */
  sharedQueue: boolean;
  trainer: boolean;
  /** development tokens: the keys are made here, so every process accepts the same tokens */
  dev: boolean;
  /** where the development issuer's key is kept (`mlaas4hep token --data` mints from it) */
  keyDir: string;
}

/** Only the first worker process runs the trainer: one job at a time per machine, as with one process. */
export const runsTrainer = (): boolean => cluster.isPrimary || cluster.worker?.id === 1;

/**
 * `mlaas4hep serve --workers N`: N processes serving the same port (node:cluster hands the
 * connections out in turn), so a VM's cores all answer predictions, as TFaaS used every core of
 * its host. Returns when a signal stopped every worker.
 */
export async function serveCluster(o: ClusterOptions, out: NodeJS.WritableStream): Promise<void> {
  if (o.trainer && !o.sharedQueue)
    throw new InvalidInputError(
      'serve --workers N needs a queue every process shares (--queue <SQS queue url>), or --no-worker: with the in-process queue a job submitted to one process could never reach the trainer of another',
    );
  const env: Record<string, string> = {};
  let tokenLines: string | undefined;
  if (o.dev && !process.env.MLAAS4HEP_DEV_JWKS) {
    const dev = await keptDevIssuer(o.keyDir);
    Object.assign(env, devIssuerEnv(dev));
    tokenLines = devTokenLines(dev, o.keyDir);
  }
  const workers: Worker[] = [];
  const exited = new Set<Worker>();
  const port = await new Promise<number>((resolve, reject) => {
    let listening = 0;
    cluster.on('listening', (_w, address) => {
      if (++listening === o.workers) resolve(address.port);
    });
    cluster.on('exit', (w, code) => {
      exited.add(w);
      if (listening < o.workers) reject(new Error(`a serve worker exited (${code}) before listening`));
    });
    for (let i = 0; i < o.workers; i++) workers.push(cluster.fork(env));
  });
  out.write(
    `mlaas4hep serving on http://${o.host}:${port} (${o.workers} processes${o.trainer ? ', trainer in the first' : ''})\n`,
  );
  if (tokenLines) out.write(tokenLines);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  out.write('stopping\n');
  await Promise.all(
    workers
      .filter((w) => !exited.has(w))
      .map(
        (w) =>
          new Promise<void>((resolve) => {
            w.once('exit', () => resolve());
            w.process.kill('SIGTERM');
          }),
      ),
  );
}
