import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { s3DataAccess } from '../../lib/aws/s3-data-access.js';
import { S3ObjectStore } from '../../lib/aws/s3-object-store.js';
import { generateSynth } from '../../lib/root/writer/synth.js';
import { type Stack, startStack } from '../../lib/service/stack.js';
import { type S3Emulator, startS3Emulator } from '../helpers/s3-emulator.js';

/**
 * The routes behind the web console, through HTTP against the S3 emulator: training data listed,
 * inspected and uploaded with presigned PUTs, the workflow schema and the expression check, the
 * console's files and its sign-in (the development issuer's PKCE login).
 */
const BUCKET = 'console-data';
let dir: string;
let s3: S3Emulator;
let stack: Stack;
let signal: Uint8Array;

async function call(method: string, path: string, scopes?: string[], body?: unknown) {
  const res = await fetch(`${stack.url}${path}`, {
    method,
    headers: {
      ...(scopes ? { authorization: `Bearer ${stack.token!('alice', scopes)}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json: json as Record<string, unknown> };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlaas4hep-console-api-'));
  s3 = await startS3Emulator({ buckets: [BUCKET] });
  const files = await generateSynth({ outDir: dir, events: 2_000, seed: 11 });
  signal = await readFile(files.signal);
  await s3.put(BUCKET, 'data/signal.root', signal);
  await s3.put(BUCKET, 'data/notes.txt', new TextEncoder().encode('not a ROOT file'));
  await s3.put(BUCKET, 'incoming/run2/background.root', files.background);
  await s3.put(BUCKET, 'private/secret.root', files.background);
  stack = await startStack({
    store: new S3ObjectStore(s3.client, BUCKET),
    data: s3DataAccess(s3.client, BUCKET),
    allowedSources: [`s3://${BUCKET}/data/`, `s3://${BUCKET}/incoming/`],
    log: () => {},
  });
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  await s3?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('training data for the console', () => {
  it('lists the .root files under data/ and incoming/ that workflows may read, and nothing else', async () => {
    const r = await call('GET', '/data/files', ['submit']);
    expect(r.status).toBe(200);
    expect(r.json).toEqual([
      {
        source: `s3://${BUCKET}/data/signal.root`,
        key: 'data/signal.root',
        area: 'data',
        size: signal.length,
      },
      expect.objectContaining({ source: `s3://${BUCKET}/incoming/run2/background.root`, area: 'incoming' }),
    ]);
    expect((await call('GET', '/data/files', ['predict'])).status).toBe(403);
  });

  it("reads a file's trees, branches and types, and refuses files outside the allowed sources", async () => {
    const r = await call('GET', `/data/branches?source=s3://${BUCKET}/data/signal.root`, ['submit']);
    expect(r.status).toBe(200);
    const [tree] = r.json as unknown as Array<{
      name: string;
      entries: number;
      branches: Array<{ name: string; shape: string }>;
    }>;
    expect(tree.name).toBe('Events');
    expect(tree.entries).toBe(2_000);
    expect(tree.branches.find((b) => b.name === 'nJet')).toMatchObject({ shape: 'scalar', type: 'int32' });
    expect(tree.branches.find((b) => b.name === 'Jet_pt')).toMatchObject({ shape: 'jagged' });
    const outside = await call('GET', `/data/branches?source=s3://${BUCKET}/private/secret.root`, ['submit']);
    expect(outside.status).toBe(403);
    expect(outside.json.message).toContain('outside the allowed sources');
    const notRoot = await call('GET', `/data/branches?source=s3://${BUCKET}/data/notes.txt`, ['submit']);
    expect(notRoot.status).toBeGreaterThanOrEqual(400);
    expect(notRoot.status).toBeLessThan(500);
  });

  it("issues an upload URL under the caller's own folder that takes exactly the declared bytes", async () => {
    const bytes = randomBytes(4096);
    const r = await call('POST', '/data/uploads', ['submit'], {
      area: 'data',
      name: 'extra.root',
      bytes: bytes.length,
    });
    expect(r.status).toBe(201);
    expect(r.json).toMatchObject({
      key: 'data/alice/extra.root',
      source: `s3://${BUCKET}/data/alice/extra.root`,
    });
    const url = new URL(r.json.url as string);
    expect(url.searchParams.get('X-Amz-SignedHeaders')).toBe('content-length;host');
    const put = await fetch(url, { method: 'PUT', body: bytes });
    expect(put.status).toBe(200);
    const listed = (await call('GET', '/data/files', ['submit'])).json as unknown as Array<{
      key: string;
      size: number;
    }>;
    expect(listed.find((f) => f.key === 'data/alice/extra.root')?.size).toBe(bytes.length);
  });

  it('refuses uploads that are not .root files, too large, outside data/ and incoming/, or without submit', async () => {
    const bad = (body: unknown, scopes = ['submit']) => call('POST', '/data/uploads', scopes, body);
    const notRoot = await bad({ area: 'data', name: 'x.csv', bytes: 10 });
    expect(notRoot.status).toBe(400);
    expect(notRoot.json.message).toContain('.root');
    const sneaky = await bad({ area: 'data', name: '../models/x.root', bytes: 10 });
    expect(sneaky.status).toBe(400);
    expect((await bad({ area: 'models', name: 'x.root', bytes: 10 })).status).toBe(400);
    const huge = await bad({ area: 'data', name: 'big.root', bytes: 3 * 2 ** 30 });
    expect(huge.status).toBe(413);
    expect(huge.json.message).toContain('MLAAS4HEP_MAX_DATA_UPLOAD_BYTES');
    expect((await bad({ area: 'data', name: 'x.root', bytes: 10 }, ['predict'])).status).toBe(403);
  });
});

describe('workflow help', () => {
  it('exports the JSON Schema of the workflow /submit validates, and /submit agrees with it', async () => {
    const r = await call('GET', '/workflow/schema');
    expect(r.status).toBe(200);
    const params = (
      r.json.properties as Record<string, { properties: Record<string, Record<string, unknown>> }>
    ).params.properties;
    expect(params.epochs).toMatchObject({ type: 'integer', exclusiveMinimum: 0, default: 5 });
    const refused = await call('POST', '/submit', ['submit'], {
      files: [`s3://${BUCKET}/data/signal.root`],
      labels: [1],
      params: { epochs: 0 },
    });
    expect(refused.status).toBe(400);
    expect(refused.json.message).toMatch(/params\.epochs: /);
  });

  it("checks cut and new-branch expressions with the server's parser", async () => {
    const ok = await call('POST', '/workflow/expression', ['submit'], {
      expression: 'abs(Jet_eta) < 2.4 && nJet >= 2',
    });
    expect(ok.json).toEqual({ valid: true, variables: ['Jet_eta', 'nJet'] });
    const typo = await call('POST', '/workflow/expression', ['submit'], {
      expression: 'nJt > 1',
      branches: ['nJet', 'Jet_pt'],
    });
    expect(typo.json).toMatchObject({ valid: false });
    expect(typo.json.message).toContain('did you mean "nJet"');
    const broken = await call('POST', '/workflow/expression', ['submit'], { expression: 'pt > (1' });
    expect(broken.json).toMatchObject({ valid: false });
    expect((await call('POST', '/workflow/expression', ['submit'], { text: 'x' })).status).toBe(400);
  });
});

describe("the console's files and sign-in", () => {
  it('serves the console with a content security policy of its own origin and the sign-in settings', async () => {
    const page = await call('GET', '/console');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(page.text).toContain('/console/app.js');
    const js = await call('GET', '/console/app.js');
    expect(js.headers.get('content-type')).toContain('javascript');
    expect((await call('GET', '/console/nothing.js')).status).toBe(404);
    const config = (await call('GET', '/console/config.json')).json as {
      oidc: { authorizationEndpoint: string; tokenEndpoint: string };
    };
    expect(config.oidc.authorizationEndpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/authorize$/);
    expect(csp).toContain(new URL(config.oidc.tokenEndpoint).origin);
  });

  it('signs in with the authorization code and PKCE: the wrong verifier gets nothing, the right one a working token', async () => {
    const config = (await call('GET', '/console/config.json')).json as {
      oidc: { authorizationEndpoint: string; tokenEndpoint: string; clientId: string };
    };
    const { authorizationEndpoint: authorize, tokenEndpoint: token, clientId } = config.oidc;
    const verifier = randomBytes(32).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const redirect = `${stack.url}/console`;
    const q = new URLSearchParams({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: redirect,
      state: 's1',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    const login = await fetch(`${authorize}?${q}`);
    expect(login.status).toBe(200);
    expect(await login.text()).toContain('<label for="user">');
    const form = new URLSearchParams({
      client_id: clientId,
      redirect_uri: redirect,
      state: 's1',
      code_challenge: challenge,
      user: 'carol',
      grant: 'predict',
    });
    const code = async () => {
      const back = await fetch(authorize, { method: 'POST', body: form, redirect: 'manual' });
      expect(back.status).toBe(302);
      const to = new URL(back.headers.get('location')!);
      expect(to.origin + to.pathname).toBe(redirect);
      expect(to.searchParams.get('state')).toBe('s1');
      return to.searchParams.get('code')!;
    };
    const exchange = (c: string, v: string) =>
      fetch(token, {
        method: 'POST',
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code: c,
          code_verifier: v,
          redirect_uri: redirect,
          client_id: clientId,
        }),
      });
    const wrong = await exchange(await code(), randomBytes(32).toString('base64url'));
    expect(wrong.status).toBe(400);
    const c = await code();
    const right = await exchange(c, verifier);
    expect(right.status).toBe(200);
    const t = (await right.json()) as { access_token: string };
    // a code is good once
    expect((await exchange(c, verifier)).status).toBe(400);
    const models = await fetch(`${stack.url}/models`, {
      headers: { authorization: `Bearer ${t.access_token}` },
    });
    expect(models.status).toBe(200);
    const jobs = await fetch(`${stack.url}/jobs`, { headers: { authorization: `Bearer ${t.access_token}` } });
    expect(jobs.status).toBe(403);
    // redirects go back to this machine only
    const away = await fetch(authorize, {
      method: 'POST',
      body: new URLSearchParams({
        ...Object.fromEntries(form),
        redirect_uri: 'https://evil.example/console',
      }),
      redirect: 'manual',
    });
    expect(away.status).toBe(400);
  });
});
