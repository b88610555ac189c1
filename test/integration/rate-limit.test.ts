import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rateLimitsFromEnv } from '../../lib/http/rate-limit.js';
import { type Stack, startStack } from '../../lib/service/stack.js';
import { LocalObjectStore } from '../../lib/storage/local.js';

let dir: string;
let stack: Stack;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlaas4hep-limits-'));
  stack = await startStack({
    store: new LocalObjectStore(dir),
    rateLimits: { predict: { perMinute: 3 }, submit: { perMinute: 2 } },
    log: () => {},
  });
});
afterAll(async () => {
  await stack?.stop();
  await rm(dir, { recursive: true, force: true });
});

const post = (path: string, token: string, body: unknown) =>
  fetch(`${stack.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

describe('per-user rate limits on predict and submit', () => {
  it('answers 429 with Retry-After to the user over the limit while another user is still served', async () => {
    const alice = stack.token!('alice', ['submit', 'predict']);
    const bob = stack.token!('bob', ['predict']);
    const predict = { model: 'none-yet', keys: ['a'], values: [1] };
    // under the limit the request goes through (404: no such model)
    for (let i = 0; i < 3; i++) expect((await post('/json', alice, predict)).status).toBe(404);
    const over = await post('/json', alice, predict);
    expect(over.status).toBe(429);
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(((await over.json()) as { message: string }).message).toMatch(/3 per minute/);
    expect((await post('/json', bob, predict)).status).toBe(404);
    // submissions have their own budget
    for (let i = 0; i < 2; i++) expect((await post('/submit', alice, {})).status).toBe(400);
    expect((await post('/submit', alice, {})).status).toBe(429);
  });

  it('reads the limits from the environment: 0 turns one off, garbage is named', () => {
    expect(rateLimitsFromEnv({})).toEqual({ predict: { perMinute: 6000 }, submit: { perMinute: 60 } });
    expect(
      rateLimitsFromEnv({ MLAAS4HEP_RATE_LIMIT_PREDICT: '0', MLAAS4HEP_RATE_LIMIT_SUBMIT: '5' }),
    ).toEqual({ predict: undefined, submit: { perMinute: 5 } });
    expect(() => rateLimitsFromEnv({ MLAAS4HEP_RATE_LIMIT_SUBMIT: 'lots' })).toThrow(
      /MLAAS4HEP_RATE_LIMIT_SUBMIT must be a whole number/,
    );
  });
});
