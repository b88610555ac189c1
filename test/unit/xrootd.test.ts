import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseWorkflow } from '../../lib/dataset/workflow.js';
import { InvalidInputError } from '../../lib/errors.js';
import { sourceAllowList } from '../../lib/jobs/submit.js';
import {
  credentials,
  discoverToken,
  parseSecurity,
  unsupportedAuth,
} from '../../lib/root/source/xrootd/auth.js';
import { serverError } from '../../lib/root/source/xrootd/errors.js';
import {
  canonicalXRootD,
  displayName,
  parseXRootDUrl,
  throughRedirector,
} from '../../lib/root/source/xrootd/url.js';

describe('XRootD URLs', () => {
  it('parses host, port, TLS, user, path and opaque part; root://host/p and root://host//p are one file', () => {
    expect(parseXRootDUrl('root://eospublic.cern.ch//eos/opendata/f.root')).toEqual({
      tls: false,
      host: 'eospublic.cern.ch',
      port: 1094,
      user: undefined,
      path: '/eos/opendata/f.root',
      opaque: '',
    });
    expect(parseXRootDUrl('roots://alice@EOS.example:1095/store//mc/f.root?authz=abc&x=1')).toEqual({
      tls: true,
      host: 'eos.example',
      port: 1095,
      user: 'alice',
      path: '/store/mc/f.root',
      opaque: 'authz=abc&x=1',
    });
    expect(parseXRootDUrl('xroot://[::1]:2000//f.root')).toMatchObject({
      host: '::1',
      port: 2000,
      tls: false,
    });
    expect(parseXRootDUrl('xroots://h//f.root').tls).toBe(true);
  });

  it('names a file without its opaque part, which may hold an authorization token', () => {
    expect(displayName(parseXRootDUrl('root://h:1094/a/f.root?authz=secret'))).toBe('root://h//a/f.root?…');
    expect(displayName(parseXRootDUrl('roots://h:1095//a/f.root'))).toBe('roots://h:1095//a/f.root');
  });

  it.each([
    ['root://', /cannot parse/],
    ['root://host', /no file path/],
    ['root://host//', /no file path/],
    ['root://host//store/', /names a folder/],
    ['root://host:0//f.root', /out of range/],
    ['root://host:70000//f.root', /out of range/],
    ['root://a-very-long-user@host//f.root', /user name/],
    ['root://host//f%00.root\n', /cannot parse|control/],
  ])('refuses %j', (spec, message) => {
    expect(() => parseXRootDUrl(spec)).toThrow(InvalidInputError);
    expect(() => parseXRootDUrl(spec)).toThrow(message);
  });

  it('compares URLs in one form: scheme alias, case of the host, default port and runs of "/" do not matter', () => {
    expect(canonicalXRootD('xroot://EOS.example:1094//store//mc/f.root?a=b')).toBe(
      'root://eos.example/store/mc/f.root?a=b',
    );
    expect(canonicalXRootD('roots://h:1095/store/')).toBe('roots://h:1095/store/');
  });
});

describe("MLaaS4HEP's redirector", () => {
  const doc = (files: string[], redirector?: string) => ({
    files,
    labels: files.map((_, i) => i % 2),
    params: redirector === undefined ? {} : { redirector },
  });

  it('reads /store/... names through the redirector, as MLaaS4HEP does, and leaves other names alone', () => {
    const w = parseWorkflow(
      doc(
        ['/store/mc/sig.root', 'root://other//store/b.root', 's3://b/k.root', 'local/x.root'],
        'root://cms-xrd-global.cern.ch',
      ),
    );
    expect(w.files).toEqual([
      'root://cms-xrd-global.cern.ch//store/mc/sig.root',
      'root://other//store/b.root',
      's3://b/k.root',
      'local/x.root',
    ]);
    expect(throughRedirector('/store/x.root', 'roots://eoscms.cern.ch//eos/cms/')).toBe(
      'roots://eoscms.cern.ch//eos/cms//store/x.root',
    );
    expect(parseXRootDUrl(throughRedirector('/store/x.root', 'roots://eoscms.cern.ch//eos/cms/')).path).toBe(
      '/eos/cms/store/x.root',
    );
    expect(parseWorkflow(doc(['/store/a.root', '/store/b.root'])).files).toEqual([
      '/store/a.root',
      '/store/b.root',
    ]);
  });

  it.each([
    ['https://cms-xrd-global.cern.ch'],
    ['cms-xrd-global.cern.ch'],
    ['root://u@host'],
    ['root://host?x=1'],
  ])('refuses the redirector %j, naming the field', (redirector) => {
    expect(() => parseWorkflow(doc(['/store/a.root', '/store/b.root'], redirector))).toThrow(
      /params\.redirector: must be/,
    );
  });

  it('checks the files a redirector makes against the allow-list, in either URL spelling', () => {
    const check = sourceAllowList([
      'root://cms-xrd-global.cern.ch/store/mc/',
      'roots://eos.example:1095//eos/',
    ]);
    const ok = parseWorkflow(
      doc(['/store/mc/a.root', '/store/mc/b.root'], 'root://cms-xrd-global.cern.ch'),
    ).files;
    expect(() => check(ok)).not.toThrow();
    expect(() =>
      check(['xroot://CMS-XRD-GLOBAL.cern.ch:1094//store//mc/c.root', 'roots://eos.example:1095/eos/f.root']),
    ).not.toThrow();
    for (const f of [
      'root://cms-xrd-global.cern.ch//store/data/a.root',
      'roots://cms-xrd-global.cern.ch//store/mc/a.root',
      'root://evil@cms-xrd-global.cern.ch//store/mc/a.root',
      'root://cms-xrd-global.cern.ch.evil//store/mc/a.root',
      'root://cms-xrd-global.cern.ch//store/mc/../data/a.root',
      'root://eos.example:1095//eos/f.root',
    ]) {
      expect(() => check([f]), f).toThrow(expect.objectContaining({ status: 403 }));
    }
  });
});

describe('XRootD authentication', () => {
  const ctx = (encrypted: boolean, token?: string) => ({
    encrypted,
    username: 'alice',
    token: async () => token,
  });

  it('reads the protocols a server offers, in its order', () => {
    expect(parseSecurity('&P=ztn,TLS:0:4096:&P=gsi,v:10000,c:ssl&P=unix')).toEqual([
      { name: 'ztn', params: 'TLS:0:4096:' },
      { name: 'gsi', params: 'v:10000,c:ssl' },
      { name: 'unix', params: '' },
    ]);
    expect(parseSecurity('')).toEqual([]);
  });

  it('sends unix and host credentials as XRootD clients do', async () => {
    expect(await credentials({ name: 'unix', params: '' }, ctx(false))).toEqual({
      credentials: Buffer.from('unix\0alice\0'),
    });
    expect(await credentials({ name: 'host', params: '' }, ctx(false))).toEqual({
      credentials: Buffer.from('host\0'),
    });
  });

  it('sends a token (ztn) only over TLS, framed with its length, and only as large as the server accepts', async () => {
    const ztn = { name: 'ztn', params: 'TLS:0:4096:' };
    expect(await credentials(ztn, ctx(false, 'tok'))).toEqual({
      why: expect.stringMatching(/only sent over TLS: use roots:/),
    });
    expect(await credentials(ztn, ctx(true))).toEqual({
      why: expect.stringMatching(/no token was found .*BEARER_TOKEN/),
    });
    const c = await credentials(ztn, ctx(true, 'abc.def'));
    expect('credentials' in c && [...c.credentials]).toEqual([
      ...Buffer.from('ztn\0'),
      0,
      0x54,
      0,
      0,
      0,
      8,
      ...Buffer.from('abc.def\0'),
    ]);
    expect(await credentials({ name: 'ztn', params: 'TLS:0:5:' }, ctx(true, 'abcdef'))).toEqual({
      why: expect.stringMatching(/larger than the 5 bytes/),
    });
  });

  it('names every offered protocol, why each cannot be used, and the token alternative', async () => {
    const offered = parseSecurity('&P=gsi,v:1&P=krb5,x');
    const why = await Promise.all(offered.map(async (p) => credentials(p, ctx(false))));
    const e = unsupportedAuth(
      'root://h',
      offered,
      why.map((w) => ('why' in w ? w.why : '')),
    );
    expect(e).toMatchObject({ status: 422, code: 'AuthenticationUnsupported' });
    expect(e.message).toMatch(/root:\/\/h asks for authentication by gsi, krb5/);
    expect(e.message).toMatch(/gsi \(X\.509 proxy certificates\) is not supported; krb5 is not supported/);
    expect(e.message).toMatch(/bearer token \(ztn, over roots:\/\/\)/);
  });

  it('finds WLCG bearer tokens: BEARER_TOKEN, then BEARER_TOKEN_FILE, then XDG_RUNTIME_DIR/bt_u<uid>', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bt-'));
    try {
      await writeFile(join(dir, 'tok'), '  file-token\n');
      await writeFile(join(dir, `bt_u${process.getuid?.() ?? 0}`), 'runtime-token\n');
      expect(await discoverToken({ BEARER_TOKEN: ' direct ', BEARER_TOKEN_FILE: join(dir, 'tok') })()).toBe(
        'direct',
      );
      expect(await discoverToken({ BEARER_TOKEN_FILE: join(dir, 'tok'), XDG_RUNTIME_DIR: dir })()).toBe(
        'file-token',
      );
      expect(await discoverToken({ BEARER_TOKEN_FILE: join(dir, 'none'), XDG_RUNTIME_DIR: dir })()).toBe(
        'runtime-token',
      );
      await writeFile(join(dir, 'big'), 'x'.repeat(70_000));
      await expect(discoverToken({ BEARER_TOKEN_FILE: join(dir, 'big') })()).rejects.toThrow(/larger than/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('XRootD errors', () => {
  const body = (code: number, msg: string) => {
    const b = Buffer.alloc(4);
    b.writeInt32BE(code, 0);
    return Buffer.concat([b, Buffer.from(`${msg}\0`)]);
  };

  it.each([
    [3011, 404, 'FileNotFound', /not found: f \(the server says: \[3011\] no such file/],
    [3010, 404, 'FileNotFound', /access denied: \[3010\]/],
    [3016, 404, 'FileNotFound', /not a file/],
    [3028, 422, 'TLSRequired', /use roots:\/\//],
    [3024, 503, 'Unavailable', /\[3024\]/],
    [3014, 503, 'Unavailable', /\[3014\]/],
    [3000, 422, 'XRootDError', /\[3000\]/],
  ])('maps kXR_error %i to a %i (%s)', (code, status, name, message) => {
    const e = serverError('f', body(code, code === 3011 ? 'no such file' : 'x'));
    expect(e).toMatchObject({ status, code: name });
    expect(e.message).toMatch(message);
  });
});
