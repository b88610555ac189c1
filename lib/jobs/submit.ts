import { createHash, randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import type { BundleStore } from '../bundles/bundle-store.js';
import { type Actor, claimModel } from '../bundles/ownership.js';
import { parseWorkflow } from '../dataset/workflow.js';
import { checkWorkflowLimits } from '../dataset/workflow-limits.js';
import { ForbiddenError, InvalidInputError, PreconditionFailedError } from '../errors.js';
import { DEFAULT_LIMITS, type Limits } from '../limits.js';
import { canonicalXRootD, isXRootDUrl } from '../root/source/xrootd/url.js';
import { checkModelBudget, parseModelDefinition } from '../training/model-schema.js';
import type { JobRecord, JobStore } from './job-store.js';
import type { JobQueue } from './queue.js';

export interface SubmitDeps {
  jobs: JobStore;
  queue: JobQueue;
  /** refuses sources outside an allow-list, in a deployment */
  checkSources?(files: string[]): void;
  /** the deployment's limits on epochs, sizes, files, expressions and the model (default DEFAULT_LIMITS) */
  limits?: Limits;
  /** the model store: the job's model name is claimed for its owner at submit (403 if another's) */
  models?: BundleStore;
}

/** The name a job's model gets when its workflow names none. */
export const defaultModelName = (jobId: string): string => `job-${jobId.slice(0, 8)}`;

const URL_PREFIX = /^([a-z][a-z0-9+.-]*):\/\/([^/]*)(\/.*)?$/i;
// "." and ".." segments (also percent-encoded, also after a backslash, which URL parsers treat as
// "/"): resolved by the file system or the remote server, they could climb out of an allowed folder
const DOT_SEGMENT = /(^|[/\\])(\.|%2e){1,2}([/\\?#]|$)/i;

/**
 * One allow-list entry as a prefix to compare with: a URL naming only its bucket or host gets its
 * "/" (so s3://data does not also allow s3://data-other/), a local folder is made absolute and ends
 * in "/". Anything else (a relative path, "..") is a configuration error, named.
 */
function prefixOf(entry: string): string {
  const e = entry.trim();
  const bad = (why: string) => new TypeError(`allowed source "${entry}" ${why}`);
  if (DOT_SEGMENT.test(e)) throw bad('has a "." or ".." segment');
  const url = URL_PREFIX.exec(e);
  if (url) {
    if (!url[2]) throw bad('names no bucket or host');
    return comparable(`${url[1].toLowerCase()}://${url[2]}${url[3] ?? '/'}`);
  }
  if (!e.startsWith('/')) {
    throw bad(
      'is neither a URL prefix (s3://bucket/prefix/, https://host/path/, root://host/path/) nor an absolute folder',
    );
  }
  const folder = resolve(e);
  return folder.endsWith('/') ? folder : `${folder}/`;
}

/** XRootD URLs compared in one form: root://host/path and root://host:1094//path are the same file. */
const comparable = (s: string) => (isXRootDUrl(s) ? canonicalXRootD(s) : s);

/**
 * The deployment's allow-list of sources as a `checkSources`: every file of a workflow must start
 * with one of `prefixes` (s3://bucket/prefix/, https://host/path/, root://host/path/, or an absolute local folder),
 * so a caller cannot make the trainer read the server's own files or any URL it likes. A refused
 * file is a 403 that names it and the allowed prefixes.
 */
export function sourceAllowList(prefixes: readonly string[]): (files: string[]) => void {
  const allowed = prefixes.map(prefixOf);
  if (!allowed.length) throw new TypeError('the allow-list of sources is empty: nothing could be read');
  const listed = allowed.join(', ');
  return (files) => {
    for (const f of files) {
      if (DOT_SEGMENT.test(f)) {
        throw new ForbiddenError(
          `source "${f}" has a "." or ".." path segment; name files by their plain path under the allowed sources (${listed})`,
        );
      }
      if (!allowed.some((p) => comparable(f).startsWith(p))) {
        throw new ForbiddenError(`source "${f}" is outside the allowed sources (${listed})`);
      }
    }
  };
}

/**
 * MLAAS4HEP_ALLOWED_SOURCES: comma-separated prefixes workflows may read; undefined when unset or
 * empty (no restriction: the CLI and `serve` on a workstation read any path).
 */
export function allowedSourcesFromEnv(env: NodeJS.ProcessEnv = process.env): string[] | undefined {
  const list = (env.MLAAS4HEP_ALLOWED_SOURCES ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (!list.length) return undefined;
  try {
    // checked now, so a bad entry fails the start instead of every submission
    sourceAllowList(list);
  } catch (err) {
    throw new TypeError(`MLAAS4HEP_ALLOWED_SOURCES: ${(err as Error).message}`);
  }
  return list;
}

/** A stable job id for (owner, idempotency key): a retried submit finds the same job. */
function idFor(owner: string, key: string): string {
  const h = createHash('sha256').update(`${owner}\n${key}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/**
 * Validates a workflow, records a queued job and puts it on the queue. With an idempotency key
 * a retried submit returns the first job (and enqueues it if the first attempt failed to).
 */
export async function submitJob(
  deps: SubmitDeps,
  submitter: string | Actor,
  doc: unknown,
  idempotencyKey?: string,
): Promise<JobRecord> {
  const actor: Actor = typeof submitter === 'string' ? { sub: submitter } : submitter;
  const owner = actor.sub;
  const w = parseWorkflow(doc);
  const limits = deps.limits ?? DEFAULT_LIMITS;
  checkWorkflowLimits(w, limits);
  // the model section too (422 naming the field), by a schema that loads no TensorFlow.js, and its
  // size for the narrowest input the workflow allows (the trainer checks again with the real width)
  const def = parseModelDefinition(w.model);
  checkModelBudget(
    def,
    {
      inputs: w.params.selected_branches?.length ?? 1,
      classes: Array.isArray(w.labels) ? new Set(w.labels).size : 2,
      batchSize: w.params.batch_size,
    },
    limits,
  );
  deps.checkSources?.(w.files);
  if (idempotencyKey !== undefined && !/^[\x21-\x7e]{1,128}$/.test(idempotencyKey)) {
    throw new InvalidInputError('Idempotency-Key must be 1 to 128 printable characters');
  }
  const id = idempotencyKey ? idFor(owner, idempotencyKey) : randomUUID();
  // the model this job will publish: someone else's is a 403 now, not a surprise when it finishes
  if (deps.models) await claimModel(deps.models, w.name ?? defaultModelName(id), actor, w.group);
  let rec: JobRecord;
  if (idempotencyKey) {
    try {
      rec = await deps.jobs.create(owner, w, id);
    } catch (err) {
      if (!(err instanceof PreconditionFailedError)) throw err;
      rec = await deps.jobs.get(id);
      if (rec.enqueuedAt) return rec;
    }
  } else rec = await deps.jobs.create(owner, w, id);
  await deps.queue.send({ jobId: rec.id });
  return deps.jobs.update(rec.id, (r) => ({ ...r, enqueuedAt: new Date().toISOString() }));
}
