import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const env = { ...process.env, MLAAS4HEP_DEV_ISSUER: '1', MLAAS4HEP_DEV_JWKS: '' };
const children: ChildProcess[] = [];

function serve(args: string[]): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bin/mlaas4hep.ts', 'serve', ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return child;
}

const exitOf = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
});

describe('mlaas4hep serve --workers', () => {
  it('serves one port from several processes that all accept the printed token, and stops on SIGTERM', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mlaas4hep-cluster-'));
    const child = serve(['--store', dir, '--no-worker', '--port', '0', '--workers', '2']);
    const { url, token } = await new Promise<{ url: string; token: string }>((resolve, reject) => {
      let text = '';
      child.stdout!.on('data', (c: Buffer) => {
        text += c.toString();
        const m = /serving on (\S+) \(2 processes\)\ndevelopment token[^\n]*\n(\S+)\n/.exec(text);
        if (m) resolve({ url: m[1], token: m[2] });
      });
      child.once('exit', (code) => reject(new Error(`serve exited (${code}) before listening`)));
    });
    // a new connection per request: node:cluster hands connections to the processes in turn
    const statuses = await Promise.all(
      Array.from({ length: 12 }, () =>
        fetch(`${url}/models`, { headers: { authorization: `Bearer ${token}`, connection: 'close' } }).then(
          async (r) => [r.status, await r.text()] as const,
        ),
      ),
    );
    expect(statuses.map(([s]) => s)).toEqual(Array(12).fill(200));
    expect(new Set(statuses.map(([, body]) => body))).toEqual(new Set(['[]']));
    const exited = exitOf(child);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    await rm(dir, { recursive: true, force: true });
  }, 60_000);

  it('refuses several processes with an in-process queue and trainer, which could not share jobs', async () => {
    const child = serve(['--store', tmpdir(), '--port', '0', '--workers', '2']);
    let err = '';
    child.stderr!.on('data', (c: Buffer) => {
      err += c.toString();
    });
    expect(await exitOf(child)).toBe(2);
    expect(err).toMatch(/--workers N needs a queue every process shares/);
  }, 60_000);
});
