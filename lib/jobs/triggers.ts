import { createHash } from 'node:crypto';
import { z } from 'zod';
import {
  ForbiddenError,
  InvalidInputError,
  issuePath,
  MlaasError,
  NotFoundError,
  truncateName,
} from '../errors.js';
import { throughRedirector } from '../root/source/xrootd/url.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { JobRecord } from './job-store.js';
import { type SubmitDeps, submitJob } from './submit.js';

/**
 * A trigger rule: when a .root object lands under `prefix` (within incoming/), train the workflow
 * template with it. The template's files may name the new object as "{object}"; otherwise it is
 * added to the files, with `label` as its label.
 */
export const TriggerSchema = z
  .object({
    prefix: z
      .string()
      .regex(/^incoming\/([A-Za-z0-9._-]+\/)*$/, 'must be "incoming/" or a folder below it, ending in "/"'),
    workflow: z.record(z.string(), z.unknown()),
    label: z.union([z.number(), z.string()]).optional(),
    owner: z.string().min(1).optional(),
  })
  .strict();

export type Trigger = z.output<typeof TriggerSchema>;

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const key = (name: string): string => {
  if (!NAME.test(name))
    throw new InvalidInputError(
      `invalid trigger name "${truncateName(name)}": use letters, digits, "_", "." and "-" (at most 64)`,
    );
  return `triggers/${name}.json`;
};

export class TriggerStore {
  constructor(private readonly store: ObjectStore) {}

  /**
   * Saves a rule, owned by `owner` (the caller) when new; an existing rule keeps its owner.
   * `claimModel` claims the model the rule's jobs publish for that owner (403 if another's).
   * `checkSources` (the deployment's allow-list) sees the template's own files now,
   * so a rule that could only ever start refused jobs is refused itself.
   */
  async put(
    name: string,
    doc: unknown,
    owner: string,
    checkSources?: (files: string[]) => void,
    claimModel?: (model: string, owner: string) => Promise<unknown>,
  ): Promise<Trigger> {
    const r = TriggerSchema.safeParse(doc);
    if (!r.success) {
      throw new InvalidInputError(
        `invalid trigger: ${r.error.issues.map((i) => `${issuePath(i.path)}: ${i.message}`).join('; ')}`,
      );
    }
    const files = r.data.workflow.files;
    if (checkSources && Array.isArray(files)) {
      // the files as the job will read them: /store/... names through the template's redirector
      const params = r.data.workflow.params as { redirector?: unknown } | undefined;
      const redirector = typeof params?.redirector === 'string' ? params.redirector : undefined;
      checkSources(
        files
          .filter((f): f is string => typeof f === 'string' && f !== '{object}')
          .map((f) => throughRedirector(f, redirector)),
      );
    }
    // the rule's jobs run as its owner: whoever created it. Another admin may change or delete the
    // rule, never make it run as someone else
    const existing = await this.find(name);
    const recorded = existing?.owner ?? owner;
    if (r.data.owner !== undefined && r.data.owner !== recorded)
      throw new ForbiddenError(
        `trigger "${truncateName(name)}" ${existing ? 'is owned by' : 'would be owned by'} "${truncateName(recorded)}", its creator; "owner" cannot name "${truncateName(r.data.owner)}" (leave it out)`,
      );
    // the model the rule's jobs publish, when it names one, must be (or become) its owner's
    const model = r.data.workflow.name;
    if (claimModel && typeof model === 'string') await claimModel(model, recorded);
    const t = { ...r.data, owner: recorded };
    await this.store.put(key(name), JSON.stringify(t, null, 2), { contentType: 'application/json' });
    return t;
  }

  async get(name: string): Promise<Trigger> {
    const t = await this.find(name);
    if (!t) throw new NotFoundError(`no trigger named "${truncateName(name)}"`, 'TriggerNotFound');
    return t;
  }

  private async find(name: string): Promise<Trigger | undefined> {
    const obj = await this.store.get(key(name));
    return obj && (JSON.parse(new TextDecoder().decode(obj.body)) as Trigger);
  }

  async delete(name: string): Promise<void> {
    await this.get(name);
    await this.store.delete(key(name));
  }

  async list(): Promise<Array<{ name: string; trigger: Trigger }>> {
    const keys = (await this.store.list('triggers/')).filter((k) => k.key.endsWith('.json'));
    return Promise.all(
      keys.map(async (k) => ({ name: k.key.slice(9, -5), trigger: await this.get(k.key.slice(9, -5)) })),
    );
  }
}

export interface UploadedObject {
  bucket: string;
  key: string;
  /** the object version (or its ETag where versioning is off): one version starts at most one job per rule */
  version: string;
  /** where the trainer reads it; default s3://bucket/key (a local store's notifier gives its path) */
  url?: string;
}

/** The workflow a rule makes for a new object. */
export function workflowFor(t: Trigger, url: string): unknown {
  const w = structuredClone(t.workflow) as { files?: unknown; labels?: unknown };
  const files = Array.isArray(w.files) ? (w.files as unknown[]) : [];
  if (files.includes('{object}')) return { ...w, files: files.map((f) => (f === '{object}' ? url : f)) };
  const labels = Array.isArray(w.labels) ? [...(w.labels as unknown[]), t.label] : w.labels;
  return { ...w, files: [...files, url], labels };
}

/**
 * Starts a training job for every rule covering a newly uploaded .root object. The object's
 * content is not read here: a file that is not ROOT, or is corrupt, fails its job with a message
 * naming it. A rule that cannot start its job (a refused source, a broken template) does not stop
 * the others; the first such error is thrown once every rule had its turn.
 */
export async function onObjectCreated(
  deps: SubmitDeps & { triggers: TriggerStore },
  obj: UploadedObject,
): Promise<JobRecord[]> {
  if (!obj.key.startsWith('incoming/') || !obj.key.endsWith('.root')) return [];
  const url = obj.url ?? `s3://${obj.bucket}/${obj.key}`;
  const started: JobRecord[] = [];
  const errors: unknown[] = [];
  for (const { name, trigger } of await deps.triggers.list()) {
    if (!obj.key.startsWith(trigger.prefix)) continue;
    // the same object version submitted again finds the job it started the first time, so a
    // retried notification (after an error below) does not start a rule's job twice
    // (hashed: an idempotency key is printable ASCII without spaces, at most 128 characters;
    // object keys may hold spaces and be long)
    const idem = `trigger:${createHash('sha256').update(`${name}\n${url}@${obj.version}`).digest('hex')}`;
    try {
      started.push(await submitJob(deps, trigger.owner ?? 'trigger', workflowFor(trigger, url), idem));
    } catch (err) {
      // the rule's name in the message, the error's class (and so its status) kept
      if (err instanceof MlaasError) err.message = `trigger "${truncateName(name)}": ${err.message}`;
      errors.push(err);
    }
  }
  if (errors.length) throw errors[0];
  return started;
}
