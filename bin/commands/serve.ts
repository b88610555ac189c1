import cluster from 'node:cluster';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createVerifier, verifierFromEnv } from '../../lib/auth/verifier.js';
import { createSqsClient } from '../../lib/aws/sqs-client.js';
import { SqsJobQueue } from '../../lib/aws/sqs-queue.js';
import { readConfig } from '../../lib/config.js';
import { MisconfiguredError } from '../../lib/errors.js';
import { JobStore } from '../../lib/jobs/job-store.js';
import { bufferedSink, createLog } from '../../lib/log.js';
import type { ServiceConfig } from '../../lib/service/service.js';
import { startStack } from '../../lib/service/stack.js';
import { childTrainer } from '../../lib/trainer/child-trainer.js';
import { trainerLimitsFromEnv } from '../../lib/trainer/trainer-limits.js';
import { int, parse } from './args.js';
import { devTokenLines, keptDevIssuer } from './dev-issuer-key.js';
import { runsTrainer, serveCluster } from './serve-cluster.js';
import { dataAccessAt, storeAt } from './stores.js';

const USAGE =
  'mlaas4hep serve [--store <dir | s3://bucket/prefix>] [--data <dir>] [--queue <sqs queue url>] [--port 8080] [--host 127.0.0.1] [--no-worker] [--workers N] [--dev]';

/** Where `serve --dev` keeps its issuer's key: the store's folder, or ./mlaas4hep-data for S3. */
export function devKeyDir(store: string): string {
  return store.startsWith('s3://') ? './mlaas4hep-data' : store;
}

/**
 * The HTTP functions in one Node process (a VM or a pod), against a local folder or S3, an
 * in-process queue or SQS, and unless --no-worker a queue consumer that trains each job in a child
 * process (memory-limited by MLAAS4HEP_TRAINER_HEAP_MB / _WASM_MB). Tokens are verified
 * against MLAAS4HEP_JWT_ISSUER/AUDIENCE/JWKS_URI, or, with --dev (or MLAAS4HEP_DEV_ISSUER=1),
 * against a development issuer kept in the store's folder: a token is printed, and
 * `mlaas4hep token` mints more. --workers N serves from N processes (see serveCluster).
 */
export async function serve(argv: string[], out: NodeJS.WritableStream): Promise<void> {
  const { values } = parse(
    argv,
    {
      store: { type: 'string', default: './mlaas4hep-data' },
      queue: { type: 'string' },
      port: { type: 'string', default: '8080' },
      host: { type: 'string', default: '127.0.0.1' },
      'no-worker': { type: 'boolean' },
      workers: { type: 'string', default: '1' },
      dev: { type: 'boolean' },
      data: { type: 'string' },
    },
    USAGE,
  );
  // read (and checked) before anything starts: a bad MLAAS4HEP_* value is named at once
  const config = readConfig();
  const dev = values.dev === true || config.devIssuer;
  const keyDir = devKeyDir(values.store!);
  const processes = int('workers', values.workers) ?? 1;
  if (processes > 1 && cluster.isPrimary) {
    return serveCluster(
      {
        workers: processes,
        host: values.host!,
        sharedQueue: !!values.queue,
        trainer: !values['no-worker'],
        dev,
        keyDir,
      },
      out,
    );
  }
  // development keys from the environment: a cluster's primary (or the local stack) made them
  const issuer = dev && !process.env.MLAAS4HEP_DEV_JWKS ? await keptDevIssuer(keyDir) : undefined;
  const verifier = issuer ? createVerifier(issuer.config, { jwks: issuer.jwks }) : verifierFromEnv();
  const queue = values.queue
    ? new SqsJobQueue(createSqsClient({ endpoint: config.endpoints.sqs }), values.queue)
    : undefined;
  const log = createLog({ sink: bufferedSink() }).log;
  const store = storeAt(values.store!);
  const location = storeLocation(values.store!);
  // without an allow-list, workflows read the store's incoming/ (where triggers watch) and one data
  // folder, both named on the start line; never the store's records, models or keys
  const data = values.data ? resolve(values.data) : isUrl(location) ? undefined : join(location, 'data');
  const sources = config.allowedSources ?? [`${location.replace(/\/$/, '')}/incoming/`];
  if (!config.allowedSources && data) {
    await mkdir(data, { recursive: true });
    sources.push(`${data}/`);
  }
  // jobs train in a child process (run-jobs, kept warm between jobs), never on this event loop
  const limits = trainerLimits();
  const worker =
    values['no-worker'] || !runsTrainer()
      ? undefined
      : {
          run: childTrainer(new JobStore(store), {
            entry: process.argv[1],
            execArgv: process.execArgv,
            args: ['run-jobs', '--store', location],
            ...limits,
            // the child holds every file it opens to the same sources as submit did
            env: {
              // one training thread unless the operator says otherwise: the trainer shares the
              // machine with the API, and its worker threads start per job (2-4 s each time on the
              // shared 2-core machine, more than a small job trains: bench:load's job trained in
              // 0.5-1.2 s with one thread, 2.9-5.3 s with two, and a 2 x 50k-event one in 4.8-6.9 s
              // vs 8-16 s, at load 7-13)
              MLAAS4HEP_TRAIN_WORKERS: '1',
              // glibc's malloc as the trainer image sets it (Dockerfile; README, Training: peak RSS)
              MALLOC_ARENA_MAX: '2',
              MALLOC_MMAP_THRESHOLD_: '262144',
              ...process.env,
              MLAAS4HEP_ALLOWED_SOURCES: sources.join(','),
            },
            log,
          }),
        };
  const stack = await startStack({
    store,
    data: dataAccessAt(values.store!),
    // the console uploads to an s3:// store's endpoint from the browser
    consoleConnect: values.store!.startsWith('s3://')
      ? [config.endpoints.s3 ?? 'https://*.amazonaws.com']
      : undefined,
    queue,
    verifier,
    // the console signs in on the development issuer's login page
    devLogin: issuer,
    port: int('port', values.port),
    host: values.host,
    worker,
    rateLimits: config.rateLimits,
    allowedSources: sources,
    log,
  });
  if (cluster.isWorker) return waitForSignal(stack);
  out.write(
    `mlaas4hep serving on ${stack.url} (web console ${stack.consoleUrl}; store ${values.store}, ${queue ? 'SQS' : 'in-process'} queue, ${worker ? `trainer: a child process, replaced after a failed job or ${limits.jobsPerChild} jobs, ${limits.heapMb} MiB heap, ${limits.wasmMb} MiB for tensors` : 'no trainer'})\n${policy(config, sources, data)}\n`,
  );
  if (issuer) out.write(devTokenLines(issuer, keyDir));
  await waitForSignal(stack);
  out.write('stopping\n');
}

/** The trainer's memory limits, named as a configuration error when malformed. */
function trainerLimits() {
  try {
    return trainerLimitsFromEnv();
  } catch (err) {
    throw new MisconfiguredError(`configuration: ${(err as Error).message}`, { cause: err });
  }
}

const isUrl = (s: string) => /^[a-z][a-z0-9+.-]*:\/\//i.test(s);
/** A local store as an absolute path: the trainer's child process may not share our folder's meaning. */
const storeLocation = (s: string) => (isUrl(s) ? s : resolve(s));

/** The limits in force, on the start line: an operator sees what MLAAS4HEP_* made of them. */
function policy(c: ServiceConfig, sources: string[], data: string | undefined): string {
  const rate = (l: { perMinute: number } | undefined) => (l ? `${l.perMinute}/min` : 'unlimited');
  const why = c.allowedSources
    ? 'MLAAS4HEP_ALLOWED_SOURCES'
    : `the store's incoming/${data ? ` and the data folder ${data}` : ''}; MLAAS4HEP_ALLOWED_SOURCES names others`;
  const l = c.limits;
  const workflows = `workflow limits: ${l.maxParameters} parameters, ${Math.round(l.maxTrainingBytes / 2 ** 20)} MiB training memory, ${l.maxEpochs} epochs, batch ${l.maxBatchSize}, chunk ${l.maxChunkSize}, ${l.maxFiles} files, expressions ${l.maxExpressionLength} characters and ${l.maxExpressionDepth} levels`;
  return `per-user rate limits: predict ${rate(c.rateLimits.predict)}, submit ${rate(c.rateLimits.submit)}; sources: ${sources.join(', ')} (${why}); loopback, private and link-local hosts refused unless named there\n${workflows}`;
}

async function waitForSignal(stack: { stop(): Promise<void> }): Promise<void> {
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await stack.stop();
  // a cluster worker's channel to the primary would keep it alive
  cluster.worker?.disconnect();
}
