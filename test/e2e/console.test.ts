import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUCKET, startLocalStack, UPLOAD_CORS } from '../../bin/local-stack.js';
// @ts-expect-error: a plain ES module script (console/build.mjs), without types
import { buildConsole } from '../../console/build.mjs';
import { s3DataAccess } from '../../lib/aws/s3-data-access.js';
import { S3ObjectStore } from '../../lib/aws/s3-object-store.js';
import { openRoot } from '../../lib/root/index.js';
import { generateSynth } from '../../lib/root/writer/synth.js';
import { startStack } from '../../lib/service/stack.js';
import { initBackend } from '../../lib/training/backend.js';
import { launchChromium, SHOTS, seriousViolations, shoot } from '../helpers/browser.js';
import { startS3Emulator } from '../helpers/s3-emulator.js';

/**
 * The web console in a real browser (Debian's headless Chromium) against the local stack: sign-in
 * on the development issuer's page, uploads through presigned PUTs to the S3 emulator, a job
 * submitted from the generated form and watched to the end, the model used and deleted; axe-core
 * on every page; screenshots of every page on a laptop and a phone in SHOTS.
 */
let dir: string;
let stack: Target;
let browser: Browser;
let files: { signal: string; background: string };
const lines: string[] = [];
const checked: Record<string, string[]> = {};

const LAPTOP = { width: 1280, height: 860 };
const PHONE = { width: 390, height: 844 };

interface Target {
  consoleUrl: string;
  loginUrl: string;
  apiUrl: string;
  token(sub: string, scopes: string[]): string;
  stop(): Promise<void>;
}

/**
 * The local stack (`npm start`: serverless-offline, the S3 and SQS emulators, a trainer), as the
 * journey is meant to run. MLAAS4HEP_CONSOLE_E2E=serve runs the same journey against `serve`'s
 * one-process stack on the S3 emulator instead: minutes faster to start on a loaded machine.
 */
async function startTarget(): Promise<Target> {
  if (process.env.MLAAS4HEP_CONSOLE_E2E !== 'serve') {
    const local = await startLocalStack({ dataDir: join(dir, 'stack'), log: (l) => lines.push(l) });
    return { ...local, stop: () => local.stop() };
  }
  const s3 = await startS3Emulator({ buckets: [BUCKET], cors: UPLOAD_CORS });
  const s = await startStack({
    store: new S3ObjectStore(s3.client, BUCKET),
    data: s3DataAccess(s3.client, BUCKET),
    allowedSources: [`s3://${BUCKET}/`],
    consoleConnect: [s3.endpoint],
    worker: {
      dataset: { openFile: (spec) => openRoot(spec, { s3Client: s3.client }) },
      backend: await initBackend(),
      pollMs: 500,
    },
    log: (e) => lines.push(JSON.stringify(e)),
  });
  return {
    consoleUrl: s.consoleUrl,
    loginUrl: s.loginUrl!,
    apiUrl: s.url,
    token: s.token!,
    stop: async () => {
      await s.stop();
      await s3.close();
    },
  };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlaas4hep-console-'));
  await buildConsole();
  stack = await startTarget();
  files = await generateSynth({ outDir: join(dir, 'synth'), events: 20_000, seed: 5 });
  browser = await launchChromium();
}, 420_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** What the page's functions use of the browser (this file is type-checked without the DOM's types). */
interface BrowserGlobals {
  DataTransfer: new () => { items: { add(file: File): void } };
  document: { querySelector(selector: string): { textContent: string | null } | null };
}

/** Signs in on the development issuer's login page with the scopes ticked, back on the console. */
async function signIn(context: BrowserContext, user: string, scopes: string[]): Promise<Page> {
  const page = await context.newPage();
  page.on('dialog', (d) => void d.accept());
  await page.goto(stack.consoleUrl);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${stack.loginUrl}/**`);
  checked.login = await seriousViolations(page);
  await shoot(page, 'login-page');
  await page.fill('#user', user);
  for (const s of ['submit', 'predict', 'admin']) {
    const box = page.locator(`input[name=grant][value=${s}]`);
    if (scopes.includes(s)) await box.check();
    else await box.uncheck();
  }
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${stack.consoleUrl}**`);
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
  return page;
}

/** A reload forgets the token (it lives in memory only): sign in again, as a physicist would. */
async function signInAgainIfAsked(page: Page): Promise<void> {
  await page.locator('#page-title').waitFor();
  const signIn = page.getByRole('button', { name: 'Sign in' });
  if (!(await signIn.isVisible())) return;
  await signIn.click();
  await page.waitForURL(`${stack.loginUrl}/**`);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

/** Follows a link of the main navigation. */
const nav = (page: Page, name: string) =>
  page.getByRole('navigation', { name: 'main' }).getByRole('link', { name, exact: true }).click();

/** axe and a screenshot of the page as it stands, under `name`. */
async function look(page: Page, name: string): Promise<void> {
  checked[name] = await seriousViolations(page);
  await shoot(page, name);
}

async function api(path: string, init: RequestInit = {}, scopes = ['submit', 'predict', 'admin']) {
  const res = await fetch(`${stack.apiUrl}${path}`, {
    ...init,
    headers: {
      authorization: `Bearer ${stack.token('alice', scopes)}`,
      'content-type': 'application/json',
      ...init.headers,
    },
  });
  return { status: res.status, json: (await res.json().catch(() => undefined)) as unknown };
}

describe('the web console in Chromium against the local stack', () => {
  it('signs in, uploads the demo files, trains from the form with a live curve, predicts as the API does, deletes as admin', async () => {
    const context = await browser.newContext({ viewport: LAPTOP });
    const page = await signIn(context, 'alice', ['submit', 'predict', 'admin']);
    try {
      await journey(context, page);
    } catch (err) {
      // what the page showed when it went wrong, beside the other screenshots
      await shoot(page, 'failure').catch(() => undefined);
      throw err;
    }
    for (const [name, violations] of Object.entries(checked)) expect(violations, name).toEqual([]);
  }, 300_000);

  async function journey(context: BrowserContext, page: Page): Promise<void> {
    // the token lives in memory: nothing in localStorage, sessionStorage or cookies
    expect(await page.evaluate('localStorage.length')).toBe(0);
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
    expect(await context.cookies()).toEqual([]);
    await page.getByRole('heading', { name: 'Jobs' }).waitFor();
    await look(page, 'jobs-empty');

    // upload: one file dropped on the drop zone (a real drop event carrying the file), the other
    // through the file input (the keyboard's path), both through the same presigned PUTs
    await nav(page, 'Upload data');
    await page.getByRole('heading', { name: 'Upload data' }).waitFor();
    const dropped = await page.evaluateHandle(
      ({ b64, name }) => {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const transfer = new (globalThis as unknown as BrowserGlobals).DataTransfer();
        transfer.items.add(new File([bytes], name));
        return transfer;
      },
      { b64: (await readFile(files.background)).toString('base64'), name: 'background.root' },
    );
    await page.dispatchEvent('.dropzone', 'dragover', { dataTransfer: dropped });
    await page.dispatchEvent('.dropzone', 'drop', { dataTransfer: dropped });
    await page.locator('ul.uploads li[data-state=done], ul.uploads li[data-state=failed]').first().waitFor({
      timeout: 60_000,
    });
    await page.setInputFiles('#pick', [files.signal]);
    await page
      .locator('ul.uploads li[data-state=done], ul.uploads li[data-state=failed]')
      .nth(1)
      .waitFor({ timeout: 60_000 });
    expect(await page.locator('ul.uploads li[data-state=failed]').allTextContents()).toEqual([]);
    await look(page, 'upload');
    const listed = (await api('/data/files')).json as Array<{ key: string; size: number }>;
    expect(listed.map((f) => f.key).sort()).toEqual(['data/alice/background.root', 'data/alice/signal.root']);
    expect(listed.find((f) => f.key.endsWith('signal.root'))!.size).toBe(
      (await readFile(files.signal)).length,
    );

    // the form: files and labels, the tree's branches from inspect, a cut checked as typed
    await nav(page, 'New job');
    await page.getByText('data/alice/signal.root').waitFor();
    await page.getByLabel('data/alice/signal.root').check();
    await page.getByLabel('data/alice/background.root').check();
    await page.locator('#tree').waitFor();
    await page.fill('#wf-name', 'console-demo');
    await page.fill('#cut-0', 'nJet >= 1 &&');
    await page.getByText(/✗ .*malformed expression/).waitFor();
    await page.fill('#cut-0', 'nJt >= 0');
    await page.getByText(/did you mean "nJet"/).waitFor();
    await page.fill('#cut-0', 'nJet >= 0');
    await page.getByText('✓ valid expression').waitFor();
    await page.fill('#params-nevts', '16000');
    await page.fill('#params-chunk_size', '4000');
    await page.fill('#params-epochs', '0');
    await look(page, 'new-job');
    // an API error lands at its field: epochs must be positive
    await page.getByRole('button', { name: 'Submit job' }).click();
    await page.locator('#params-epochs-err').waitFor();
    expect(await page.locator('#params-epochs').getAttribute('aria-invalid')).toBe('true');
    await look(page, 'new-job-field-error');
    await page.fill('#params-epochs', '20');
    const shown = JSON.parse((await page.getByTestId('workflow-json').textContent())!) as Record<
      string,
      unknown
    >;
    expect(shown).toMatchObject({
      name: 'console-demo',
      files: [
        's3://mlaas4hep-local/data/alice/signal.root',
        's3://mlaas4hep-local/data/alice/background.root',
      ],
      labels: [1, 0],
      params: { branch: 'Events', nevts: 16000, chunk_size: 4000, epochs: 20 },
      preproc: { cuts: ['nJet >= 0'] },
    });
    await page.getByRole('button', { name: 'Submit job' }).click();
    await page.waitForURL(/#\/jobs\/[0-9a-f-]+$/);

    // the job page: the curve grows while the job runs, until succeeded
    const drawnWhileRunning = new Set<number>();
    for (;;) {
      const status = (await page.locator('.status').first().textContent()) ?? '';
      const drawn = Number.parseInt((await page.getByTestId('epochs-drawn').textContent()) ?? '0', 10);
      if (status.includes('running')) drawnWhileRunning.add(drawn);
      if (/succeeded|failed|cancelled/.test(status)) break;
      if (drawnWhileRunning.size === 2) await look(page, 'job-running');
      await page.waitForTimeout(250);
    }
    expect(await page.locator('.status').first().textContent()).toContain('succeeded');
    // the curve grew while the job ran (20 epochs: long enough to be seen between polls)
    expect(drawnWhileRunning.size, [...drawnWhileRunning].join(',')).toBeGreaterThanOrEqual(2);
    expect([...drawnWhileRunning].some((n) => n > 0)).toBe(true);
    await page.getByTestId('epochs-drawn').getByText('20 epochs drawn').waitFor();
    await page.locator('img.plot').first().waitFor();
    await look(page, 'job-succeeded');

    // the model: a prediction through the form equals the API's for the same event
    await page.getByRole('link', { name: /console-demo version/ }).click();
    await page.getByRole('heading', { name: 'Model console-demo' }).waitFor();
    const features = (await page.locator('.features').first().textContent())!.split(', ');
    // inside the range the model was trained on (its inputs are scaled to [0, 1])
    const event = features.map((_, i) => ((i * 7) % 10) / 10);
    for (const [i, v] of event.entries()) await page.fill(`#feat-${i}`, String(v));
    await page.getByRole('button', { name: 'Predict' }).click();
    const scores = JSON.parse((await page.getByTestId('scores').textContent())!);
    const shownVersion = await page.locator('#version').inputValue();
    const direct = await api('/json', {
      method: 'POST',
      body: JSON.stringify({
        model: 'console-demo',
        version: shownVersion,
        keys: features,
        values: event,
      }),
    });
    expect(direct.status).toBe(200);
    expect(scores).toEqual(direct.json);

    // a small CSV pasted into the form: one score per line, as the API answers the same rows
    const mirrored = event.map((v) => 1 - v);
    await page.fill('#csv', [features.join(','), event.join(','), mirrored.join(',')].join('\n'));
    await page.getByRole('button', { name: 'Predict' }).click();
    await page.waitForFunction(
      (before) =>
        (globalThis as unknown as BrowserGlobals).document.querySelector('[data-testid=scores]')
          ?.textContent !== before,
      JSON.stringify(scores),
    );
    const csvScores = JSON.parse((await page.getByTestId('scores').textContent())!);
    const directRows = await api('/json', {
      method: 'POST',
      body: JSON.stringify({
        model: 'console-demo',
        version: shownVersion,
        keys: features,
        values: [event, mirrored],
      }),
    });
    expect(directRows.status).toBe(200);
    expect(csvScores).toEqual(directRows.json);
    await page.fill('#csv', '');

    // the downloads are the API's bytes: the bundle (tar.gz) and its model.onnx
    for (const [button, file] of [
      ['Download bundle (.tar.gz)', undefined],
      ['Download model.onnx', 'model.onnx'],
    ] as const) {
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('button', { name: button }).click(),
      ]);
      const got = await readFile((await download.path())!);
      const res = await fetch(
        `${stack.apiUrl}/models/console-demo/${shownVersion}/download${file ? `?file=${file}` : ''}`,
        { headers: { authorization: `Bearer ${stack.token('alice', ['predict'])}` } },
      );
      expect(res.status).toBe(200);
      expect(got.equals(Buffer.from(await res.arrayBuffer())), button).toBe(true);
      expect(download.suggestedFilename()).toBe(file ?? `console-demo-${shownVersion}.tar.gz`);
    }
    expect(await page.getByTestId('model-owner').textContent()).toBe('alice');
    await page.locator('img.plot').first().waitFor();
    await look(page, 'model');

    // a second version (the same workflow, fewer epochs, through the API) to compare with the first
    const second = (
      await api('/submit', {
        method: 'POST',
        body: JSON.stringify({ ...shown, params: { ...(shown.params as object), epochs: 2 } }),
      })
    ).json as { job_id: string };
    for (;;) {
      const j = (await api(`/jobs/${second.job_id}`)).json as { status: string };
      if (['succeeded', 'failed', 'cancelled'].includes(j.status)) {
        expect(j.status).toBe('succeeded');
        break;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    await page.goto(`${stack.consoleUrl}#/compare/console-demo`);
    await page.getByRole('heading', { name: /Compare versions/ }).waitFor();
    await page.getByText('ROC curves on the test split').first().waitFor();
    const [a, b] = await page
      .locator('table')
      .filter({ hasText: 'Test metrics' })
      .locator('tbody tr')
      .first()
      .locator('td')
      .allTextContents();
    expect(a).not.toBe(b);
    await look(page, 'compare');
    await nav(page, 'Models');
    await page.getByRole('link', { name: 'console-demo' }).waitFor();
    // the registry's columns: name, latest version, owner
    const { latest } = (await api('/models/console-demo')).json as { latest: string };
    const row = await page
      .getByRole('row', { name: /console-demo/ })
      .locator('td')
      .allTextContents();
    expect(row.slice(0, 3)).toEqual(['console-demo', latest, 'alice']);
    await look(page, 'models');

    // triggers: create, listed, delete
    await nav(page, 'Triggers');
    await page.fill('#t-name', 'new-signal');
    await page.fill('#t-prefix', 'incoming/alice/');
    await page.fill(
      '#t-wf',
      JSON.stringify({
        files: ['s3://mlaas4hep-local/data/alice/background.root', '{object}'],
        labels: [0, 1],
      }),
    );
    await page.getByRole('button', { name: 'Create trigger' }).click();
    await page.getByRole('button', { name: 'Delete new-signal' }).waitFor();
    await look(page, 'triggers');
    await page.getByRole('button', { name: 'Delete new-signal' }).click();
    await page.getByText('No triggers.').waitFor();

    // the phone layout of the main pages
    await page.setViewportSize(PHONE);
    for (const [hash, name] of [
      ['#/jobs', 'phone-jobs'],
      ['#/new', 'phone-new-job'],
      ['#/models/console-demo', 'phone-model'],
    ]) {
      await page.goto(`${stack.consoleUrl}${hash}`);
      await signInAgainIfAsked(page);
      await page.locator('#page-title').waitFor();
      await page.waitForTimeout(500);
      await look(page, name);
    }
    await page.setViewportSize(LAPTOP);

    // delete as admin: the registry no longer has it
    await page.goto(`${stack.consoleUrl}#/models/console-demo`);
    await signInAgainIfAsked(page);
    await page.getByRole('button', { name: 'Delete model' }).click();
    await page.getByRole('heading', { name: 'Models' }).waitFor();
    expect(((await api('/models')).json as Array<{ name: string }>).map((m) => m.name)).not.toContain(
      'console-demo',
    );
    await context.close();
  }

  it('shows a predict-only user the models but no submit form, upload or jobs', async () => {
    const context = await browser.newContext({ viewport: LAPTOP });
    const page = await signIn(context, 'bob', ['predict']);
    await page.getByRole('heading', { name: 'Models' }).waitFor();
    const nav = page.getByRole('navigation', { name: 'main' });
    expect(await nav.getByRole('link').allTextContents()).toEqual(['Models']);
    await page.goto(`${stack.consoleUrl}#/new`);
    await page.getByRole('heading', { name: 'Not available' }).waitFor();
    expect(await page.locator('form').count()).toBe(0);
    await look(page, 'predict-only');
    expect(checked['predict-only']).toEqual([]);
    await context.close();
    // what the console hides, the API refuses
    expect((await api('/submit', { method: 'POST', body: '{}' }, ['predict'])).status).toBe(403);
    expect(SHOTS).toContain('mlaas4hep-console-shots');
  }, 120_000);
});
