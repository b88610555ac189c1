import { execFile } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasShared, SYNTH_DIR } from '../helpers/reference.js';
import {
  serverDir,
  startXRootDCluster,
  type XRootDCluster,
  xrootdMissing,
} from '../helpers/xrootd-server.js';

const missing = xrootdMissing();
const ROOT = resolve(import.meta.dirname, '../..');

/** The command line as a user runs it, in its own process (which must also exit: no socket keeps it alive). */
async function cli(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return promisify(execFile)(process.execPath, ['--import', 'tsx', 'bin/mlaas4hep.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, MLAAS4HEP_TF_BACKEND: process.env.MLAAS4HEP_TF_BACKEND ?? 'wasm' },
    timeout: 240_000,
    maxBuffer: 64 * 1024 * 1024,
  });
}

describe.skipIf(!!missing || !hasShared)(
  `a training workflow over root:// from the command line${missing ? ` (skipped: ${missing})` : ''}`,
  () => {
    let cluster: XRootDCluster;
    let dir: string;
    let cleanup: () => Promise<void>;
    beforeAll(async () => {
      cluster = await startXRootDCluster({
        files: [join(SYNTH_DIR, 'signal.root'), join(SYNTH_DIR, 'background.root')],
      });
      ({ dir, cleanup } = await serverDir());
    });
    afterAll(async () => {
      await cluster?.close();
      await cleanup?.();
    });

    it('trains on /store/... names read through the redirector, then predicts a root:// file as it predicts the local one', async () => {
      // MLaaS4HEP's params.json: logical file names and a redirector (here the manager of a local cluster)
      const workflow = join(dir, 'workflow.json');
      await writeFile(
        workflow,
        JSON.stringify({
          name: 'xrootd-e2e',
          files: ['/store/signal.root', '/store/background.root'],
          labels: [1, 0],
          params: {
            redirector: cluster.url,
            branch: 'Events',
            nevts: 20_000,
            chunk_size: 10_000,
            epochs: 1,
            batch_size: 256,
          },
        }),
      );
      const out = join(dir, 'out');
      const trained = await cli('train', workflow, '--out', out);
      expect(trained.stdout).toMatch(/model xrootd-e2e version \S+ written/);
      expect(trained.stdout).toMatch(/test split: \d+ events, AUC 0\.\d+/);
      const [version] = await readdir(join(out, 'models', 'xrootd-e2e'));
      const bundle = join(out, 'models', 'xrootd-e2e', version);
      const params = JSON.parse(await readFile(join(bundle, 'params.json'), 'utf8'));
      expect(params.transform.tree).toBe('Events');

      const remote = join(dir, 'remote.csv');
      const local = join(dir, 'local.csv');
      await cli(
        'predict',
        '--model',
        bundle,
        `${cluster.server.url}//store/background.root`,
        '--out',
        remote,
      );
      await cli('predict', '--model', bundle, join(SYNTH_DIR, 'background.root'), '--out', local);
      const scores = await readFile(remote, 'utf8');
      expect(scores.split('\n')[0]).toBe('entry,score');
      expect(scores.trim().split('\n')).toHaveLength(250_001);
      expect(scores).toBe(await readFile(local, 'utf8'));
    }, 300_000);
  },
);
