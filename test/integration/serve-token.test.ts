import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, stat, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_KEY_FILE, findDevIssuer, keptDevIssuer } from '../../bin/commands/dev-issuer-key.js';
import { token } from '../../bin/commands/token.js';

/** The environment of a workstation: no token issuer configured, no development switch. */
const env = Object.fromEntries(
  Object.entries(process.env).filter(
    ([k]) => !k.startsWith('MLAAS4HEP_JWT') && !k.startsWith('MLAAS4HEP_DEV'),
  ),
);

let dir: string;
let child: ChildProcess | undefined;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlaas4hep-serve-token-'));
});
afterAll(async () => {
  child?.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

async function mint(args: string[]): Promise<string> {
  let text = '';
  const out = new Writable({
    write(c: Buffer, _e, done) {
      text += c.toString();
      done();
    },
  });
  await token(args, out);
  return text.trim();
}

describe('mlaas4hep token for `serve --dev`', () => {
  it('mints tokens that the running serve accepts, from the key serve keeps and names on start', async () => {
    const store = join(dir, 'store');
    child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'bin/mlaas4hep.ts',
        'serve',
        '--dev',
        '--store',
        store,
        '--no-worker',
        '--port',
        '0',
      ],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const started = await new Promise<{ url: string; printed: string; hint: string }>((resolve, reject) => {
      let text = '';
      child!.stdout!.on('data', (c: Buffer) => {
        text += c.toString();
        const m = /serving on (\S+) [^\n]*\n[\s\S]*?development token[^\n]*\n(\S+)\n(more: [^\n]*)\n/.exec(
          text,
        );
        if (m) resolve({ url: m[1], printed: m[2], hint: m[3] });
      });
      child!.once('exit', (code) => reject(new Error(`serve exited (${code}) before listening: ${text}`)));
    });
    expect(started.hint).toBe(`more: mlaas4hep token --data ${store} --scope submit,predict [--sub NAME]`);
    const minted = await mint(['--data', store, '--scope', 'predict', '--sub', 'physicist']);
    expect(minted).not.toBe(started.printed);
    const get = (t: string) =>
      fetch(`${started.url}/models`, { headers: { authorization: `Bearer ${t}` } }).then((r) => r.status);
    expect(await get(minted)).toBe(200);
    expect(await get(started.printed)).toBe(200);
    // a token of another issuer is refused: serve checks signatures, not only the format
    const stranger = (await keptDevIssuer(join(dir, 'elsewhere'))).mintToken({
      sub: 'x',
      scopes: ['predict'],
    });
    expect(await get(stranger)).toBe(401);
    // the key is the store folder's own file, readable by its owner only
    expect((await stat(join(store, DEV_KEY_FILE))).mode & 0o077).toBe(0);
  }, 90_000);
});

describe('finding the development issuer', () => {
  it('keeps one key per folder across restarts, so earlier tokens still verify', async () => {
    const a = await keptDevIssuer(join(dir, 'kept'));
    const b = await keptDevIssuer(join(dir, 'kept'));
    expect(b.kid).toBe(a.kid);
  });

  it('takes the most recently started of the default folders, and names them when there is none', async () => {
    const local = join(dir, 'local');
    const data = join(dir, 'data');
    const older = await keptDevIssuer(local);
    const newer = await keptDevIssuer(data);
    await utimes(join(local, DEV_KEY_FILE), new Date(2026, 0, 1), new Date(2026, 0, 1));
    expect((await findDevIssuer(undefined, [local, data])).kid).toBe(newer.kid);
    await utimes(join(data, DEV_KEY_FILE), new Date(2025, 0, 1), new Date(2025, 0, 1));
    expect((await findDevIssuer(undefined, [local, data])).kid).toBe(older.kid);
    await expect(findDevIssuer(undefined, [join(dir, 'none-1'), join(dir, 'none-2')])).rejects.toThrow(
      /no development issuer in .*none-1 or .*none-2: start the local stack \(npm start\) or `mlaas4hep serve --dev` first/,
    );
  });
});
