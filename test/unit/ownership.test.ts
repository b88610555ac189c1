import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BundleStore } from '../../lib/bundles/bundle-store.js';
import { claimModel } from '../../lib/bundles/ownership.js';
import type { BundleParams } from '../../lib/bundles/params.js';
import { ForbiddenError, MlaasError } from '../../lib/errors.js';
import { MemoryQueue } from '../../lib/jobs/queue.js';
import { type Caller, Service } from '../../lib/service/service.js';
import { LocalObjectStore } from '../../lib/storage/local.js';

const user = (sub: string, scopes: string[] = ['submit', 'predict'], groups: string[] = []): Caller => ({
  sub,
  scopes: new Set(scopes),
  groups,
});
const alice = user('alice');
const bob = user('bob');
const root = user('root', ['submit', 'predict', 'admin']);
const root2 = user('root2', ['submit', 'predict', 'admin']);
const workflow = (name?: string, extra: Record<string, unknown> = {}) => ({
  files: ['/data/private/alice/signal.root', '/data/private/alice/background.root'],
  labels: [1, 0],
  ...(name ? { name } : {}),
  ...extra,
});

let dir: string;
let store: LocalObjectStore;
let service: Service;
let queue: MemoryQueue;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlaas4hep-ownership-'));
  store = new LocalObjectStore(dir);
  queue = new MemoryQueue();
  service = new Service({ store, queue });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function refusal(p: Promise<unknown>): Promise<MlaasError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(MlaasError);
  return err as MlaasError;
}

/** A version as a training job writes it (the model bytes are not read here). */
async function publish(name: string, w: unknown): Promise<void> {
  const bundles = new BundleStore(store);
  const params = {
    name,
    version: `20260101-000000-${Math.random().toString(16).slice(2, 8)}`,
    model: 'model.json',
    labels: 'labels.txt',
    inputNode: '',
    outputNode: '',
    description: '',
    timestamp: new Date().toISOString(),
    features: ['pt', 'eta'],
    classes: [0, 1],
    metrics: { test: { auc: 0.9 } },
    workflow: w,
    datasetFingerprint: '',
    backend: '',
    versions: {},
  } satisfies BundleParams;
  await bundles.write({ params, modelJson: '{}', weights: new Uint8Array(4) });
  await bundles.publish(name, params.version);
}

const garbageForm = [
  { name: 'params', filename: 'params.json', data: Buffer.from('{}') },
  { name: 'model', filename: 'model.onnx', data: Buffer.from('not a model') },
];

describe('model ownership (issue 13, finding 1): a name belongs to whoever first publishes into it', () => {
  it("refuses a job that would publish into another user's model with 403 at submit, recording nothing", async () => {
    await service.submit(alice, workflow('alicejob'));
    const queued = queue.size;
    const err = await refusal(service.submit(bob, workflow('alicejob')));
    expect(err).toBeInstanceOf(ForbiddenError);
    expect(err.status).toBe(403);
    expect(err.message).toMatch(/the model name "alicejob" belongs to another user/);
    expect(queue.size).toBe(queued);
    expect(await service.listJobs(bob)).toEqual([]);
    // the owner keeps publishing new versions under it
    expect((await service.submit(alice, workflow('alicejob'))).status).toBe('queued');
  });

  it("refuses an upload into another owner's model with 403 before the upload is even read, admins included", async () => {
    await service.submit(alice, workflow('alicemodel'));
    const form = await refusal(service.uploadForm(root, garbageForm, false, 'alicemodel'));
    expect([form.status, form.message]).toEqual([403, expect.stringMatching(/belongs to another user/)]);
    const tar = await refusal(service.uploadModel(root, 'alicemodel', new Uint8Array([1, 2, 3])));
    expect(tar.status).toBe(403);
    // a name nobody owns is checked as an upload as usual: here, a bad archive
    expect((await refusal(service.uploadModel(root, 'fresh-name', new Uint8Array([1, 2, 3])))).status).toBe(
      400,
    );
  });

  it('lets members of the owning group publish, and no one else; a group must be one of your own', async () => {
    const carol = user('carol', ['submit'], ['higgs']);
    const dave = user('dave', ['submit'], ['higgs', 'top']);
    await service.submit(carol, workflow('higgs-bdt', { group: 'higgs' }));
    expect((await service.submit(dave, workflow('higgs-bdt'))).status).toBe('queued');
    expect((await refusal(service.submit(bob, workflow('higgs-bdt')))).message).toMatch(
      /belongs to group "higgs"/,
    );
    const notMember = await refusal(service.submit(bob, workflow('bobs', { group: 'higgs' })));
    expect([notMember.status, notMember.message]).toEqual([
      403,
      expect.stringMatching(/not a member of the group "higgs"/),
    ]);
  });

  it('lets exactly one of two simultaneous first claims win', async () => {
    const bundles = new BundleStore(store);
    const results = await Promise.allSettled([
      claimModel(bundles, 'contested', { sub: 'alice' }),
      claimModel(bundles, 'contested', { sub: 'bob' }),
      claimModel(bundles, 'contested', { sub: 'carol' }),
    ]);
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    for (const r of results.filter((x) => x.status === 'rejected'))
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(ForbiddenError);
  });

  it('gives a model published before ownership existed to no user: only an admin may claim it', async () => {
    await publish('legacy', workflow());
    expect((await refusal(service.submit(alice, workflow('legacy')))).message).toMatch(
      /before model names had owners/,
    );
    expect((await service.submit(root, workflow('legacy'))).status).toBe('queued');
    expect((await refusal(service.submit(alice, workflow('legacy')))).status).toBe(403);
  });

  it('frees the name when an admin deletes the whole model', async () => {
    await service.submit(alice, workflow('to-delete'));
    await publish('to-delete', workflow());
    await service.deleteModel('to-delete');
    expect((await service.submit(bob, workflow('to-delete'))).status).toBe('queued');
  });

  it("claims a job's default model name (job-<id>) at submit too", async () => {
    const { job_id } = await service.submit(alice, workflow());
    const name = `job-${job_id.slice(0, 8)}`;
    expect((await refusal(service.submit(bob, workflow(name)))).status).toBe(403);
  });
});

describe('model descriptions (issue 13, finding 2): workflows only to their owner and admins, owners to all', () => {
  beforeAll(async () => {
    await service.submit(alice, workflow('described'));
    await publish('described', workflow('described'));
  });

  it('lists every model with its owner, without workflows or file paths, for anyone', async () => {
    const models = await service.listModels();
    expect(models.find((m) => m.name === 'described')).toMatchObject({ owner: 'alice' });
    const list = JSON.stringify(models);
    expect(list).toContain('"described"');
    expect(list).not.toContain('/data/private');
    expect(list).not.toContain('workflow');
  });

  it('describes a model to other users with features, classes, metrics and owner, without its workflow', async () => {
    const d = await service.describeModel(bob, 'described');
    expect(d).toMatchObject({ features: ['pt', 'eta'], classes: [0, 1], metrics: { test: { auc: 0.9 } } });
    expect(d.owner).toMatchObject({ user: 'alice' });
    expect(d.workflow).toBeUndefined();
    expect(JSON.stringify(d)).not.toContain('/data/private');
  });

  it('describes the workflow and owner to the owner and to admins', async () => {
    for (const who of [alice, root]) {
      const d = await service.describeModel(who, 'described');
      expect(d.owner).toMatchObject({ user: 'alice' });
      expect(JSON.stringify(d.workflow)).toContain('/data/private/alice/signal.root');
    }
  });
});

describe('triggers (issue 13, finding 11): the caller is the owner; long names are shortened in messages', () => {
  const rule = (extra: Record<string, unknown> = {}) => ({
    prefix: 'incoming/run3/',
    workflow: { files: ['{object}'], labels: [1] },
    ...extra,
  });

  it('records the admin who creates a rule as its owner, and refuses an owner naming someone else', async () => {
    expect((await service.putTrigger(root, 'r1', rule())).owner).toBe('root');
    const err = await refusal(service.putTrigger(root, 'r2', rule({ owner: 'alice' })));
    expect([err.status, err.message]).toEqual([403, expect.stringMatching(/"owner" cannot name "alice"/)]);
    await expect(service.getTrigger('r2')).rejects.toMatchObject({ status: 404 });
  });

  it("lets another admin change a rule but not re-own it: the rule's jobs still run as its creator", async () => {
    const changed = await service.putTrigger(root2, 'r1', rule({ label: 0 }));
    expect(changed).toMatchObject({ owner: 'root', label: 0 });
    expect((await refusal(service.putTrigger(root2, 'r1', rule({ owner: 'root2' })))).status).toBe(403);
    expect((await service.getTrigger('r1')).owner).toBe('root');
  });

  it("refuses a rule whose jobs would publish into another owner's model", async () => {
    await service.submit(alice, workflow('alices-trigger-target'));
    const err = await refusal(
      service.putTrigger(
        root,
        'r3',
        rule({ workflow: { files: ['{object}'], labels: [1], name: 'alices-trigger-target' } }),
      ),
    );
    expect([err.status, err.message]).toEqual([403, expect.stringMatching(/belongs to another user/)]);
    expect(
      (
        await service.putTrigger(
          root,
          'r4',
          rule({ workflow: { files: ['{object}'], labels: [1], name: 'roots-model' } }),
        )
      ).owner,
    ).toBe('root');
  });

  it('shortens a 10,000-character name in every 400 it causes', async () => {
    const long = 'a'.repeat(10_000);
    const errors = [
      await refusal(service.putTrigger(root, long, rule())),
      await refusal(service.describeModel(alice, long)),
      await refusal(service.deleteModel(long)),
      await refusal(service.getJob(alice, long)),
      await refusal(service.submit(alice, workflow(undefined, { [long]: 1 }))),
      await refusal(service.predictJson({ model: long, values: [1] })),
    ];
    for (const e of errors) {
      expect(e.status).toBeGreaterThanOrEqual(400);
      expect(e.status).toBeLessThan(500);
      expect(e.message.length).toBeLessThan(400);
      expect(e.message).not.toContain('a'.repeat(200));
    }
    expect(errors[0].message).toMatch(/\(10000 characters\)/);
  });
});
