#!/usr/bin/env node
import { MlaasError } from '../lib/errors.js';

type Command = (argv: string[], out: NodeJS.WritableStream) => Promise<void>;

/** Commands load on demand, so `inspect` does not pay for TensorFlow.js start-up. */
const COMMANDS: Record<string, [() => Promise<Command>, string]> = {
  demo: [
    async () => (await import('./commands/demo.js')).demo,
    'generate demo ROOT files and read them back (npm start)',
  ],
  inspect: [
    async () => (await import('./commands/inspect.js')).inspect,
    'trees, entries, compression and branch types of a ROOT file',
  ],
  stats: [
    async () => (await import('./commands/stats.js')).stats,
    'per-branch entries, values, sum, min, max, first entries (reference.json shape with --json)',
  ],
  dump: [async () => (await import('./commands/dump.js')).dump, 'entries as CSV or JSON lines'],
  specs: [
    async () => (await import('./commands/specs.js')).specs,
    'global specs of a workflow: features, min/max, jdim, events per file',
  ],
  chunks: [
    async () => (await import('./commands/specs.js')).chunks,
    'the chunk plan of a workflow: events per file per chunk',
  ],
  train: [
    async () => (await import('./commands/train.js')).train,
    "train the workflow's model and write a model bundle",
  ],
  predict: [
    async () => (await import('./commands/predict.js')).predict,
    'score every event of a ROOT file with a model bundle',
  ],
  local: [
    async () => (await import('./commands/local.js')).local,
    'the whole service on this machine with a demo (npm start)',
  ],
  token: [
    async () => (await import('./commands/token.js')).token,
    "a token from the local stack's development issuer (--scope submit,predict,admin)",
  ],
  serve: [
    async () => (await import('./commands/serve.js')).serve,
    'the HTTP API (submit, jobs, models, predict) and a trainer in one process',
  ],
  worker: [
    async () => (await import('./commands/worker.js')).worker,
    'the trainer as an SQS consumer (SIGTERM: interrupted and returned to the queue)',
  ],
  'run-job': [
    async () => (await import('./commands/run-job.js')).runJobCommand,
    'the trainer entry: run one job from a job store (SIGTERM records it as interrupted)',
  ],
  'run-jobs': [
    async () => (await import('./commands/run-jobs.js')).runJobsCommand,
    "serve's trainer process: the jobs its parent sends over IPC, one at a time",
  ],
  generate: [
    async () => (await import('./commands/generate.js')).generate,
    'write signal.root and background.root demo files (the synth layout and densities)',
  ],
};

function help(): string {
  const w = Math.max(...Object.keys(COMMANDS).map((k) => k.length));
  const lines = Object.entries(COMMANDS).map(([k, [, h]]) => `  ${k.padEnd(w)}  ${h}`);
  return `mlaas4hep: machine learning as a service for HEP\n\nusage: mlaas4hep <command> [options]\n\n${lines.join('\n')}\n`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(help());
    return name ? 0 : 2;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    process.stderr.write(`unknown command "${name}"\n\n${help()}`);
    return 2;
  }
  try {
    await (await cmd[0]())(rest, process.stdout);
    return 0;
  } catch (err) {
    if (err instanceof MlaasError) {
      process.stderr.write(`error: ${err.message}\n`);
      return err.status < 500 ? 2 : 1;
    }
    process.stderr.write(
      `internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    return 1;
  }
}

// EPIPE (e.g. `| head`) is a normal way for a reader to stop listening
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
});

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
