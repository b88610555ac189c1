import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ForbiddenError } from '../../lib/errors.js';
import { isPrivateAddress, privateHostCheck, sourcePolicy } from '../../lib/jobs/source-policy.js';
import { HttpSource } from '../../lib/root/source/http.js';

describe('private addresses', () => {
  it('are loopback, private, link-local, unspecified and multicast, also inside IPv6', () => {
    const yes = [
      '127.0.0.1',
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '100.64.0.1',
      '169.254.169.254',
      '0.0.0.0',
      '224.0.0.1',
      '::1',
      '::',
      'fe80::1',
      'fd00::1',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
      '64:ff9b::a9fe:a9fe',
      '[::1]',
    ];
    const no = ['8.8.8.8', '172.32.0.1', '188.184.21.108', '2001:1458:201::1', '::ffff:8.8.8.8', 'not-an-ip'];
    expect(yes.filter((a) => !isPrivateAddress(a))).toEqual([]);
    expect(no.filter(isPrivateAddress)).toEqual([]);
  });
});

describe('privateHostCheck', () => {
  const names: Record<string, string[]> = {
    'public.example': ['188.184.21.108'],
    'rebound.example': ['188.184.21.108', '127.0.0.1'],
    'metadata.example': ['169.254.169.254'],
  };
  const lookup = async (h: string) => (names[h] ?? []).map((address) => ({ address }));
  const at = (host: string, port = 80) => ({ protocol: 'http:', host, port });

  it('refuses a name when any address it resolves to is private, and private address literals', async () => {
    const check = privateHostCheck([], lookup);
    await expect(check(at('public.example'))).resolves.toBeUndefined();
    await expect(check(at('rebound.example'))).rejects.toThrow(/resolves to 127\.0\.0\.1/);
    await expect(check(at('metadata.example'))).rejects.toBeInstanceOf(ForbiddenError);
    await expect(check(at('169.254.169.254'))).rejects.toThrow(/link-local/);
    await expect(check(at('[::1]'))).rejects.toThrow(/loopback/);
  });

  it('lets through the hosts the allow-list names, on the port it names', async () => {
    const check = privateHostCheck(['http://127.0.0.1:8080/data/', 'root://metadata.example/'], lookup);
    await expect(check(at('127.0.0.1', 8080))).resolves.toBeUndefined();
    await expect(check(at('127.0.0.1', 8081))).rejects.toThrow(/allow-list/);
    await expect(check(at('metadata.example', 1094))).resolves.toBeUndefined();
  });
});

describe('sourcePolicy on local paths', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mlaas4hep-policy-'));
    await mkdir(join(dir, 'allowed'));
    await mkdir(join(dir, 'secret'));
    await writeFile(join(dir, 'allowed', 'ok.root'), 'x');
    await writeFile(join(dir, 'secret', 'key.root'), 'x');
    await symlink(join(dir, 'secret', 'key.root'), join(dir, 'allowed', 'leak.root'));
    await symlink(join(dir, 'secret'), join(dir, 'allowed', 'dir'));
    // the allowed folder itself reached through a link: its real path is what files are compared with
    await symlink(join(dir, 'allowed'), join(dir, 'alias'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('follows symbolic links before comparing, so a link cannot lead out of an allowed folder', async () => {
    const policy = sourcePolicy([`${dir}/allowed/`]);
    await expect(policy.checkSources([`${dir}/allowed/ok.root`])).resolves.toBeUndefined();
    await expect(policy.checkSources([`${dir}/allowed/leak.root`])).rejects.toThrow(
      /through a symbolic link\), outside the allowed sources/,
    );
    await expect(policy.checkSources([`${dir}/allowed/dir/key.root`])).rejects.toBeInstanceOf(ForbiddenError);
    await expect(policy.checkSources([`file://${dir}/allowed/leak.root`])).rejects.toBeInstanceOf(
      ForbiddenError,
    );
    await expect(policy.checkSources(['/etc/passwd'])).rejects.toThrow(/outside the allowed sources/);
  });

  it('accepts an allowed folder named through a link, and files not there yet (checked again when opened)', async () => {
    const policy = sourcePolicy([`${dir}/alias/`]);
    await expect(
      policy.checkSources([`${dir}/alias/ok.root`, `${dir}/alias/later.root`]),
    ).resolves.toBeUndefined();
    await expect(policy.checkSources([`${dir}/alias/leak.root`])).rejects.toBeInstanceOf(ForbiddenError);
  });
});

describe('HttpSource with a host check', () => {
  let target: Server;
  let redirector: Server;
  let targetPort: number;
  let redirectorPort: number;
  const listen = async (s: Server) => {
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    return (s.address() as AddressInfo).port;
  };
  beforeAll(async () => {
    target = createServer((_req, res) => {
      res.writeHead(200, { 'content-length': '4' });
      res.end('root');
    });
    targetPort = await listen(target);
    redirector = createServer((_req, res) => {
      res.writeHead(302, { location: `http://localhost:${targetPort}/file.root` });
      res.end();
    });
    redirectorPort = await listen(redirector);
  });
  afterAll(() => {
    target.close();
    redirector.close();
  });

  it('asks about every redirect before following it and stops at a refused host', async () => {
    const hops: string[] = [];
    const allowed = privateHostCheck([`http://127.0.0.1:${redirectorPort}/`]);
    const src = new HttpSource(`http://127.0.0.1:${redirectorPort}/file.root`, {
      retries: 0,
      checkHost: async (t) => {
        hops.push(`${t.host}:${t.port}`);
        await allowed(t);
      },
    });
    await expect(src.size()).rejects.toThrow(/localhost resolves to .*allow-list/);
    expect(hops).toEqual([`127.0.0.1:${redirectorPort}`, `localhost:${targetPort}`]);
  });

  it('follows the redirect when the allow-list names the target too', async () => {
    const src = new HttpSource(`http://127.0.0.1:${redirectorPort}/file.root`, {
      retries: 0,
      checkHost: privateHostCheck([`http://127.0.0.1:${redirectorPort}/`, `http://localhost:${targetPort}/`]),
    });
    expect(await src.size()).toBe(4);
  });

  it('refuses a loopback URL nobody allowed before sending anything', async () => {
    const src = new HttpSource(`http://127.0.0.1:${targetPort}/file.root`, {
      retries: 0,
      checkHost: privateHostCheck([]),
    });
    await expect(src.size()).rejects.toBeInstanceOf(ForbiddenError);
  });
});
